use tollgate_plugin::{Context, Limits, QuantityLimits, QuantityTarget, Request, Result};
struct FixedMin;
impl QuantityLimits for FixedMin {
    fn limits(_: &Request, _: &QuantityTarget, _: &Context) -> Result<Option<Limits>> {
        Ok(Some(Limits::min(MIN)))
    }
}
tollgate_plugin::export_quantity_limits!(FixedMin);
