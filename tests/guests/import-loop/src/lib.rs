//! Calls host imports in a loop forever: cheap in fuel per call, so the
//! deadline (or fuel) must stop it.
use tollgate_plugin::{Context, LogLevel, Precheck, Request, Result, Verdict};
struct Chatty;
impl Precheck for Chatty {
    fn check(_: &Request, _: &Context) -> Result<Verdict> {
        let mut seen = 0usize;
        loop {
            seen = seen.wrapping_add(tollgate_plugin::customer_subscriptions().len());
            tollgate_plugin::log(LogLevel::Trace, "");
            std::hint::black_box(seen);
        }
    }
}
tollgate_plugin::export_precheck!(Chatty);
