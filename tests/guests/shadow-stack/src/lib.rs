//! Exhausts the 64 KiB shadow stack (address-taken locals live in linear
//! memory): with the stack first in memory, the overflow runs below address
//! 0 and traps, it never overwrites the plugin's data.
use tollgate_plugin::{Context, Precheck, Request, Result, Verdict};
struct Shadow;
#[inline(never)]
fn frame(depth: u64) -> u64 {
    let mut page = [0u8; 4096];
    page[(depth % 4096) as usize] = depth as u8;
    let page = std::hint::black_box(&mut page);
    if depth == 0 {
        page[7] as u64
    } else {
        frame(depth - 1).wrapping_add(page[0] as u64)
    }
}
impl Precheck for Shadow {
    fn check(request: &Request, _: &Context) -> Result<Verdict> {
        let total = frame(1000 + request.quantity as u64);
        Ok(Verdict::reject(-150, format!("survived with {total}")))
    }
}
tollgate_plugin::export_precheck!(Shadow);
