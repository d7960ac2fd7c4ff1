//! Reads the WASI clocks and random sources (after trying to sleep for
//! 30 s) and reports what it saw in its rejection message.
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tollgate_plugin::{Context, Precheck, Request, Result, Verdict};
struct Probe;
impl Precheck for Probe {
    fn check(_: &Request, context: &Context) -> Result<Verdict> {
        let before = Instant::now();
        std::thread::sleep(Duration::from_secs(30));
        let slept = before.elapsed().as_nanos();
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let random = RandomState::new().hash_one(42u64);
        Ok(Verdict::reject(
            -150,
            format!(
                "wall={wall} now={} slept={slept} random={random:016x}",
                context.now
            ),
        ))
    }
}
tollgate_plugin::export_precheck!(Probe);
