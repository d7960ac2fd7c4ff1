//! `precheck` plugin — example rule 1: a customer may hold at most one
//! active (or suspended) subscription of a service. Checked on
//! Subscriptions/Create; answers Code -101.
//!
//! Config (all optional):
//!
//! ```json
//! { "per": "service_type",            // or "product"
//!   "service_types": ["cloudbackup"], // only these (default: all)
//!   "message": "Only one {service} subscription per customer." }
//! ```

use tollgate_plugin::{Context, Operation, Precheck, Request, Result, Verdict, codes};

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct Config<'a> {
    /// An enum, so a wrong value is refused when the binding is saved.
    per: Per,
    #[serde(borrow)]
    service_types: Vec<&'a str>,
    message: Option<String>,
}

#[derive(serde::Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Per {
    #[default]
    ServiceType,
    Product,
}

pub struct OneActiveSubscription;

impl Precheck for OneActiveSubscription {
    fn check(request: &Request, context: &Context) -> Result<Verdict> {
        if request.operation != Operation::SubscriptionCreate {
            return Ok(Verdict::Accept);
        }
        let config: Config = context.config_borrowed()?;
        if !config.service_types.is_empty()
            && !config
                .service_types
                .contains(&request.service_type.as_str())
        {
            return Ok(Verdict::Accept);
        }
        let by_product = config.per == Per::Product;
        let held = tollgate_plugin::customer_subscriptions()
            .into_iter()
            .find(|s| {
                s.is_held()
                    && if by_product {
                        s.product_id == request.product_id
                    } else {
                        s.service_type == request.service_type
                    }
            });
        Ok(match held {
            None => Verdict::Accept,
            Some(existing) => {
                let service = if by_product {
                    &request.product_id
                } else {
                    &request.service_type
                };
                let message = match config.message {
                    Some(template) => template
                        .replace("{service}", service)
                        .replace("{existing}", &existing.subscription_id),
                    None => format!(
                        "The customer already has an active {service} subscription ({}); only one is allowed.",
                        existing.subscription_id
                    ),
                };
                Verdict::reject(codes::ONE_ACTIVE_SUBSCRIPTION, message)
            }
        })
    }
}

tollgate_plugin::export_precheck!(OneActiveSubscription, config = Config<'_>);

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_plugin::SubscriptionStatus;
    use tollgate_plugin::testing::*;

    fn create(service_type: &str) -> Request {
        let mut r = request("cb_basic", 5);
        r.service_type = service_type.into();
        r
    }

    #[test]
    fn second_active_subscription_is_rejected() {
        set_customer_subscriptions(vec![subscription(
            "cb_basic",
            "cloudbackup",
            SubscriptionStatus::Active,
            1,
        )]);
        let v = OneActiveSubscription::check(&create("cloudbackup"), &context(0, "{}")).unwrap();
        assert!(
            matches!(v, Verdict::Reject(r) if r.code == -101 && r.message.contains("SUB-cb_basic-1"))
        );
    }

    #[test]
    fn cancelled_ones_and_other_services_do_not_count() {
        set_customer_subscriptions(vec![
            subscription("cb_basic", "cloudbackup", SubscriptionStatus::Cancelled, 1),
            subscription("mail", "email", SubscriptionStatus::Active, 2),
        ]);
        assert!(
            OneActiveSubscription::check(&create("cloudbackup"), &context(0, "{}"))
                .unwrap()
                .is_accept()
        );
    }

    #[test]
    fn only_listed_service_types() {
        set_customer_subscriptions(vec![subscription(
            "cb_basic",
            "cloudbackup",
            SubscriptionStatus::Active,
            1,
        )]);
        let cfg = r#"{"service_types": ["email"]}"#;
        assert!(
            OneActiveSubscription::check(&create("cloudbackup"), &context(0, cfg))
                .unwrap()
                .is_accept()
        );
    }
}
