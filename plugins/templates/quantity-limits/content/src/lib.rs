//! {{name}}: a `quantity-limits` rule. Called for the subscription's
//! quantity (Subscriptions/Create, Update, UpgradeToPaid, UpgradeDowngrade)
//! and for each add-on being provisioned. Return the allowed range; the host
//! rejects below `min` (-105), above `max` (-106) and off `step` (-108).

use std::collections::BTreeMap;
use tollgate_plugin::{Context, Limits, QuantityLimits, QuantityTarget, Request, Result};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Range {
    min: Option<i64>,
    max: Option<i64>,
    step: Option<i64>,
}

/// `{"products": {"cb_basic": {"min": 3, "max": 50}}}`; keys borrow from
/// the config text, so parsing allocates little.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config<'a> {
    #[serde(borrow, default)]
    products: BTreeMap<&'a str, Range>,
}

pub struct Rule;

impl QuantityLimits for Rule {
    fn limits(_request: &Request, target: &QuantityTarget, context: &Context) -> Result<Option<Limits>> {
        let config: Config = context.config_borrowed()?;
        Ok(config
            .products
            .get(target.product_id.as_str())
            .map(|r| Limits { min: r.min, max: r.max, step: r.step }))
    }
}

// `config = Config`: a binding whose config does not parse into `Config` is
// refused when it is saved, naming the JSON path of the problem.
tollgate_plugin::export_quantity_limits!(Rule, config = Config<'_>);

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_plugin::testing::{context, request, target};

    #[test]
    fn configured_products_get_their_range() {
        let cfg = r#"{"products": {"cb_basic": {"min": 3, "max": 50}}}"#;
        let limits = Rule::limits(&request("cb_basic", 2), &target("cb_basic", 2), &context(0, cfg)).unwrap();
        assert_eq!(limits, Some(Limits::range(3, 50)));
        assert_eq!(Rule::limits(&request("x", 2), &target("x", 2), &context(0, cfg)).unwrap(), None);
    }
}
