//! A contract v2 quantity-limits probe: `{min, max}` per product id from
//! the config.
use std::collections::BTreeMap;
use tollgate_plugin::{Context, Limits, QuantityLimits, QuantityTarget, Request, Result};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    products: BTreeMap<String, Range>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Range {
    min: Option<i64>,
    max: Option<i64>,
}

struct PerProduct;

impl QuantityLimits for PerProduct {
    fn limits(_: &Request, target: &QuantityTarget, context: &Context) -> Result<Option<Limits>> {
        let config: Config = context.config()?;
        Ok(config.products.get(&target.product_id).map(|r| Limits {
            min: r.min,
            max: r.max,
            step: None,
        }))
    }
}

tollgate_plugin::export_quantity_limits!(PerProduct, config = Config);
