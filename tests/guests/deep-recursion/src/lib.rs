//! Recurses without bound: stopped by the wasm stack limit.
use tollgate_plugin::{Context, Precheck, Request, Result, Verdict};
struct Deep;
#[inline(never)]
fn dive(n: u64) -> u64 {
    if n == 0 {
        return 1;
    }
    // Not a tail call (the rotate/xor happens after), so every level keeps a frame.
    dive(n - 1).rotate_left(5) ^ n
}
impl Precheck for Deep {
    fn check(request: &Request, _: &Context) -> Result<Verdict> {
        let depth = u64::MAX - request.quantity as u64;
        Ok(if dive(depth) == 7 {
            Verdict::Accept
        } else {
            Verdict::reject(-150, "unreachable")
        })
    }
}
tollgate_plugin::export_precheck!(Deep);
