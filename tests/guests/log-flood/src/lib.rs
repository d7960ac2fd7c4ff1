//! Logs megabytes (log lines, stdout, stderr), then accepts: the log is
//! truncated with a marker and the call still succeeds.
use tollgate_plugin::{Context, Precheck, Request, Result, Verdict};
struct Flood;
impl Precheck for Flood {
    fn check(_: &Request, _: &Context) -> Result<Verdict> {
        let line = "flood ".repeat(170);
        for i in 0..2000 {
            tollgate_plugin::info!("{i} {line}");
            println!("{i} {line}");
            eprintln!("{i} {line}");
        }
        Ok(Verdict::Accept)
    }
}
tollgate_plugin::export_precheck!(Flood);
