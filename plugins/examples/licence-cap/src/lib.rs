//! `quantity-limits` plugin — example rule 3: the licences a customer holds
//! must not exceed a cap. For a service type, the cap counts every other
//! active or suspended subscription of that type the customer holds; for an
//! add-on, it caps that add-on's quantity. The host enforces the maximum
//! (Code -106).
//!
//! ```json
//! { "service_types": { "cloudbackup": 100 }, "addons": { "cb_vault_pack": 10 } }
//! ```

use std::collections::BTreeMap;
use tollgate_plugin::{
    Context, Limits, QuantityLimits, QuantityTarget, Request, Result, TargetKind,
};

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct Config<'a> {
    #[serde(borrow)]
    service_types: BTreeMap<&'a str, i64>,
    #[serde(borrow)]
    addons: BTreeMap<&'a str, i64>,
}

pub struct LicenceCap;

impl QuantityLimits for LicenceCap {
    fn limits(
        request: &Request,
        target: &QuantityTarget,
        context: &Context,
    ) -> Result<Option<Limits>> {
        let config: Config = context.config_borrowed()?;
        match target.kind {
            TargetKind::Addon => Ok(config
                .addons
                .get(target.product_id.as_str())
                .map(|cap| Limits::max(*cap))),
            TargetKind::Subscription => {
                let Some(cap) = config.service_types.get(request.service_type.as_str()) else {
                    return Ok(None);
                };
                let elsewhere: i64 = tollgate_plugin::customer_subscriptions()
                    .iter()
                    .filter(|s| {
                        s.is_held()
                            && s.service_type == request.service_type
                            && s.subscription_id != request.subscription_id
                    })
                    .map(|s| s.quantity)
                    .sum();
                tollgate_plugin::info!("cap {cap}, {elsewhere} licences held elsewhere");
                Ok(Some(Limits::max((cap - elsewhere).max(0))))
            }
        }
    }
}

tollgate_plugin::export_quantity_limits!(LicenceCap, config = Config<'_>);

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_plugin::SubscriptionStatus;
    use tollgate_plugin::testing::*;

    const CFG: &str = r#"{"service_types": {"cloudbackup": 100}, "addons": {"vault": 10}}"#;

    #[test]
    fn the_cap_counts_other_subscriptions() {
        let mut held = subscription("cb", "cloudbackup", SubscriptionStatus::Active, 1);
        held.quantity = 70;
        set_customer_subscriptions(vec![held]);
        let mut r = request("cb", 40);
        r.service_type = "cloudbackup".into();
        let l = LicenceCap::limits(&r, &target("cb", 40), &context(0, CFG))
            .unwrap()
            .unwrap();
        assert_eq!(l.max, Some(30));
    }

    #[test]
    fn addons_have_their_own_cap() {
        set_customer_subscriptions(vec![]);
        let mut t = target("vault", 12);
        t.kind = TargetKind::Addon;
        let l = LicenceCap::limits(&request("cb", 1), &t, &context(0, CFG))
            .unwrap()
            .unwrap();
        assert_eq!(l.max, Some(10));
    }
}
