//! Loops forever: stopped by fuel, or by the deadline when fuel is unlimited.
use tollgate_plugin::{Context, Precheck, Request, Result, Verdict};
struct Spin;
impl Precheck for Spin {
    fn check(request: &Request, _: &Context) -> Result<Verdict> {
        let mut n = request.quantity as u64;
        loop {
            n = std::hint::black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}
tollgate_plugin::export_precheck!(Spin);
