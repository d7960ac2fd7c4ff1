//! A contract v1 resources plugin answering `err(text)` above 100 seats:
//! served unchanged, as a Code -2 refusal.
use tollgate_plugin::{Context, Error, Request, ResourceTotal, Resources, Result};
struct Seats;
impl Resources for Seats {
    fn plan(request: &Request, _: &Context) -> Result<Vec<ResourceTotal>> {
        if request.quantity > 100 {
            return Err(Error::invalid_request(
                "More than 100 seats cannot be provisioned.",
            ));
        }
        Ok(vec![ResourceTotal::amount("seats", request.quantity)])
    }
}
tollgate_plugin::export_resources!(Seats);
