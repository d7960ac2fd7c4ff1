//! Calls exit(3) in the middle of a decision (WASI p2 reports any non-zero
//! status as 1).
use tollgate_plugin::{Context, Precheck, Request, Result, Verdict};
struct Quit;
impl Precheck for Quit {
    fn check(_: &Request, _: &Context) -> Result<Verdict> {
        std::process::exit(3)
    }
}
tollgate_plugin::export_precheck!(Quit);
