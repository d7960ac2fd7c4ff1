//! Answers a rejection with a code outside -199..=-100: invalid output.
use tollgate_plugin::{Context, Precheck, Request, Result, Verdict};
struct Bad;
impl Precheck for Bad {
    fn check(_: &Request, _: &Context) -> Result<Verdict> {
        Ok(Verdict::reject(0, "looks like success but is not"))
    }
}
tollgate_plugin::export_precheck!(Bad);
