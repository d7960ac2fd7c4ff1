//! Panics: a trap carrying the guest message.
use tollgate_plugin::{Context, Precheck, Request, Result, Verdict};
struct Boom;
impl Precheck for Boom {
    fn check(request: &Request, _: &Context) -> Result<Verdict> {
        panic!("deliberate panic for product {}", request.product_id)
    }
}
tollgate_plugin::export_precheck!(Boom);
