//! A resources plugin whose plan does not match its declared shape: a
//! negative amount and an amount that is not a number.
use tollgate_plugin::{Context, Request, ResourceTotal, Resources, Result};
struct Bad;
impl Resources for Bad {
    fn plan(request: &Request, _: &Context) -> Result<Vec<ResourceTotal>> {
        Ok(if request.quantity % 2 == 0 {
            vec![ResourceTotal::amount("storage_gb", -5)]
        } else {
            vec![ResourceTotal::amount("storage_gb", "a lot")]
        })
    }
}
tollgate_plugin::export_resources!(Bad);
