//! `precheck` plugin — example rule 2: a service may be bought only when a
//! prerequisite service is already active for the customer. Checked on
//! Subscriptions/Create; answers Code -102.
//!
//! Config: for each service type (or product id), the service types of
//! which one must be active:
//!
//! ```json
//! { "requires": { "cloudbackup-vault": ["cloudbackup"] } }
//! ```

use std::collections::BTreeMap;
use tollgate_plugin::{
    Context, Operation, Precheck, Request, Result, SubscriptionStatus, Verdict, codes,
};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config<'a> {
    #[serde(borrow)]
    requires: BTreeMap<&'a str, Vec<&'a str>>,
}

pub struct PrerequisiteService;

impl Precheck for PrerequisiteService {
    fn check(request: &Request, context: &Context) -> Result<Verdict> {
        if request.operation != Operation::SubscriptionCreate {
            return Ok(Verdict::Accept);
        }
        let config: Config = context.config_borrowed()?;
        let Some(needed) = config
            .requires
            .get(request.product_id.as_str())
            .or_else(|| config.requires.get(request.service_type.as_str()))
        else {
            return Ok(Verdict::Accept);
        };
        let active = tollgate_plugin::customer_subscriptions()
            .into_iter()
            .any(|s| {
                s.status == SubscriptionStatus::Active && needed.contains(&s.service_type.as_str())
            });
        Ok(if active {
            Verdict::Accept
        } else {
            Verdict::reject(
                codes::PREREQUISITE_MISSING,
                format!(
                    "{} can only be ordered by a customer with an active {} subscription.",
                    request.product_id,
                    needed.join(" or ")
                ),
            )
        })
    }
}

tollgate_plugin::export_precheck!(PrerequisiteService, config = Config<'_>);

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_plugin::testing::*;

    const CFG: &str = r#"{"requires": {"vault": ["cloudbackup"]}}"#;

    fn create() -> Request {
        let mut r = request("vault_plan", 1);
        r.service_type = "vault".into();
        r
    }

    #[test]
    fn missing_prerequisite_is_rejected() {
        set_customer_subscriptions(vec![subscription(
            "cb",
            "cloudbackup",
            SubscriptionStatus::Suspended,
            1,
        )]);
        let v = PrerequisiteService::check(&create(), &context(0, CFG)).unwrap();
        assert!(
            matches!(v, Verdict::Reject(r) if r.code == -102 && r.message.contains("active cloudbackup"))
        );
    }

    #[test]
    fn active_prerequisite_passes() {
        set_customer_subscriptions(vec![subscription(
            "cb",
            "cloudbackup",
            SubscriptionStatus::Active,
            1,
        )]);
        assert!(
            PrerequisiteService::check(&create(), &context(0, CFG))
                .unwrap()
                .is_accept()
        );
    }

    #[test]
    fn services_without_requirements_pass() {
        set_customer_subscriptions(vec![]);
        let mut r = create();
        r.service_type = "other".into();
        r.product_id = "other".into();
        assert!(
            PrerequisiteService::check(&r, &context(0, CFG))
                .unwrap()
                .is_accept()
        );
    }
}
