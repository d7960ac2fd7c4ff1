//! `quantity-limits` plugin: the allowed quantity per product id, else per
//! service type, else a default, from the binding config:
//!
//! ```json
//! { "default": { "min": 1 },
//!   "products": { "cb_basic": { "min": 3, "max": 50, "step": 1 } },
//!   "service_types": { "cloudbackup": { "max": 500 } } }
//! ```
//!
//! Add-on quantities are looked up by the add-on's product id in `products`
//! only (a service-type entry is about the subscription). The host enforces
//! the answer: below `min` is Code -105, above `max` -106, off `step` -108.

use std::collections::BTreeMap;
use tollgate_plugin::{
    Context, Limits, QuantityLimits, QuantityTarget, Request, Result, TargetKind,
};

/// Keys borrow from the config text: no allocation per product.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Config<'a> {
    #[serde(default)]
    default: Option<Range>,
    #[serde(default, borrow)]
    products: BTreeMap<&'a str, Range>,
    #[serde(default, borrow)]
    service_types: BTreeMap<&'a str, Range>,
}

#[derive(serde::Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
struct Range {
    min: Option<i64>,
    max: Option<i64>,
    step: Option<i64>,
}

pub struct MinMaxQuantity;

impl QuantityLimits for MinMaxQuantity {
    fn limits(
        request: &Request,
        target: &QuantityTarget,
        context: &Context,
    ) -> Result<Option<Limits>> {
        let config: Config = context.config_borrowed()?;
        let by_service_type = match target.kind {
            TargetKind::Subscription => config.service_types.get(request.service_type.as_str()),
            TargetKind::Addon => None,
        };
        let range = config
            .products
            .get(target.product_id.as_str())
            .or(by_service_type)
            .or(config.default.as_ref());
        Ok(range.map(|r| Limits {
            min: r.min,
            max: r.max,
            step: r.step,
        }))
    }
}

tollgate_plugin::export_quantity_limits!(MinMaxQuantity, config = Config<'_>);

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_plugin::testing::{context, request, target};

    const CONFIG: &str = r#"{"default": {"min": 1}, "products": {"P1": {"min": 3, "max": 50, "step": 1}},
        "service_types": {"backup": {"max": 9}}}"#;

    fn limits_for(product: &str, service_type: &str) -> Option<Limits> {
        let mut req = request(product, 2);
        req.service_type = service_type.into();
        MinMaxQuantity::limits(&req, &target(product, 2), &context(0, CONFIG)).unwrap()
    }

    #[test]
    fn product_entry_wins_over_service_type_and_default() {
        let l = limits_for("P1", "backup").unwrap();
        assert_eq!((l.min, l.max, l.step), (Some(3), Some(50), Some(1)));
    }

    #[test]
    fn service_type_then_default() {
        assert_eq!(limits_for("P2", "backup").unwrap().max, Some(9));
        assert_eq!(limits_for("P2", "other").unwrap().min, Some(1));
    }

    #[test]
    fn empty_config_means_no_limits() {
        let req = request("P1", 2);
        let out = MinMaxQuantity::limits(&req, &target("P1", 2), &context(0, "{}")).unwrap();
        assert!(out.is_none());
    }

    #[test]
    fn a_typo_in_the_config_is_a_clear_error() {
        let req = request("P1", 2);
        let err = MinMaxQuantity::limits(&req, &target("P1", 2), &context(0, r#"{"produts": {}}"#))
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `produts`"), "{err}");
    }
}
