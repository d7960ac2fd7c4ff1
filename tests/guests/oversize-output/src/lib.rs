//! Answers a 1 MiB rejection message: over the output limit.
use tollgate_plugin::{Context, Precheck, Request, Result, Verdict};
struct Big;
impl Precheck for Big {
    fn check(_: &Request, _: &Context) -> Result<Verdict> {
        Ok(Verdict::reject(-150, "x".repeat(1 << 20)))
    }
}
tollgate_plugin::export_precheck!(Big);
