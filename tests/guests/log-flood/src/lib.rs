//! Logs megabytes (log lines, stdout, stderr), then accepts: the log is
//! truncated with a marker and the call still succeeds.
use std::io::Write;
use tollgate_plugin::{Context, LogLevel, Precheck, Request, Result, Verdict};
struct Flood;
impl Precheck for Flood {
    fn check(_: &Request, _: &Context) -> Result<Verdict> {
        let line = "flood ".repeat(170) + "\n";
        let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
        // 3 × 1000 × 1 KiB: 3 MiB of output.
        for _ in 0..1000 {
            tollgate_plugin::log(LogLevel::Info, &line);
            let _ = out.write_all(line.as_bytes());
            let _ = err.write_all(line.as_bytes());
        }
        Ok(Verdict::Accept)
    }
}
tollgate_plugin::export_precheck!(Flood);
