//! Allocates without bound: stopped by the memory limit.
use tollgate_plugin::{Context, Precheck, Request, Result, Verdict};
struct Bomb;
impl Precheck for Bomb {
    fn check(_: &Request, _: &Context) -> Result<Verdict> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            // Reserve without touching: growth, not fuel, is what this costs.
            hoard.push(Vec::with_capacity(1 << 20));
            std::hint::black_box(&hoard);
        }
    }
}
tollgate_plugin::export_precheck!(Bomb);
