//! Host bindings of the plugin contracts (`wit/v1`, `wit/v2`) and the
//! conversions between WIT values and the domain's hook types. The only
//! place that knows the generated types. Each version's three worlds share
//! one set of `types`/`host` bindings (`with:`), so one `Host`
//! implementation per version serves every hook.

use crate::domain::hook as d;
use rust_decimal::Decimal;
use std::str::FromStr;

/// The conversions whose WIT shape is the same in every contract version,
/// expanded once per version module (each has its own generated types).
macro_rules! common_conversions {
    () => {
        pub fn operation(o: d::Operation) -> wit::Operation {
            use d::Operation as D;
            use wit::Operation as W;
            match o {
                D::SubscriptionCreate => W::SubscriptionCreate,
                D::SubscriptionUpdate => W::SubscriptionUpdate,
                D::SubscriptionCancel => W::SubscriptionCancel,
                D::SubscriptionSuspend => W::SubscriptionSuspend,
                D::SubscriptionActivate => W::SubscriptionActivate,
                D::SubscriptionUpgradeToPaid => W::SubscriptionUpgradeToPaid,
                D::SubscriptionUpgradeDowngrade => W::SubscriptionUpgradeDowngrade,
                D::AddonCreate => W::AddonCreate,
                D::AddonUpdate => W::AddonUpdate,
                D::AddonCancel => W::AddonCancel,
            }
        }

        fn attributes(list: &[d::Attribute]) -> Vec<wit::Attribute> {
            list.iter()
                .map(|a| wit::Attribute {
                    id: a.id.clone(),
                    name: a.name.clone(),
                    value: a.value.clone(),
                    code: a.code.clone(),
                    quantity_linked: a.quantity_linked,
                })
                .collect()
        }

        fn account(a: &d::AccountView) -> wit::Account {
            wit::Account {
                id: a.id.clone(),
                external_id: a.external_id.clone(),
                reseller_id: a.reseller_id.clone(),
                reseller_external_id: a.reseller_external_id.clone(),
                name: a.name.clone(),
                code: a.code.clone(),
                email: a.email.clone(),
                country_code: a.country_code.clone(),
                is_test: a.is_test,
                sync_options: a.sync_options.clone(),
            }
        }

        pub fn context(c: &d::HookContext) -> wit::Context {
            wit::Context {
                now: c.now,
                config: c.config.clone(),
                binding: c.binding.clone(),
                track_id: c.track_id.clone(),
            }
        }

        pub fn target(t: &d::QuantityTarget) -> wit::QuantityTarget {
            wit::QuantityTarget {
                kind: match t.kind {
                    d::TargetKind::Subscription => wit::TargetKind::Subscription,
                    d::TargetKind::Addon => wit::TargetKind::Addon,
                },
                product_id: t.product_id.clone(),
                quantity: t.quantity,
                previous_quantity: t.previous_quantity,
                attributes: attributes(&t.attributes),
            }
        }

        pub fn subscription(s: &d::SubscriptionInfo) -> wit::SubscriptionInfo {
            wit::SubscriptionInfo {
                subscription_id: s.subscription_id.clone(),
                product_id: s.product_id.clone(),
                service_type: s.service_type.clone(),
                status: match s.status {
                    d::SubscriptionStatus::Active => wit::SubscriptionStatus::Active,
                    d::SubscriptionStatus::Suspended => wit::SubscriptionStatus::Suspended,
                    d::SubscriptionStatus::Cancelled => wit::SubscriptionStatus::Cancelled,
                },
                quantity: s.quantity,
                is_trial: s.is_trial,
                created_at: s.created_at,
            }
        }

        pub fn log_level(l: wit::LogLevel) -> &'static str {
            match l {
                wit::LogLevel::Trace => "trace",
                wit::LogLevel::Debug => "debug",
                wit::LogLevel::Info => "info",
                wit::LogLevel::Warn => "warn",
                wit::LogLevel::Error => "error",
            }
        }

        fn rejection(r: wit::Rejection) -> Result<d::Rejection, Invalid> {
            super::check_rejection(r.code, &r.message)?;
            Ok(d::Rejection {
                code: r.code,
                message: r.message,
            })
        }

        pub fn verdict(v: wit::Verdict) -> Result<d::Verdict, Invalid> {
            match v {
                wit::Verdict::Accept => Ok(d::Verdict::Accept),
                wit::Verdict::Reject(r) => rejection(r).map(d::Verdict::Reject),
            }
        }

        pub fn verdict_size(v: &wit::Verdict) -> u64 {
            match v {
                wit::Verdict::Accept => 1,
                wit::Verdict::Reject(r) => 4 + r.message.len() as u64,
            }
        }

        pub fn limits(l: Option<wit::Limits>) -> Result<Option<d::Limits>, Invalid> {
            super::limits(l.map(|l| d::Limits {
                min: l.min,
                max: l.max,
                step: l.step,
            }))
        }

        fn totals(list: Vec<wit::ResourceTotal>) -> Result<Vec<d::ResourceTotal>, Invalid> {
            super::totals(list.into_iter().map(|r| {
                let value = match r.value {
                    wit::ResourceValue::Amount(text) => super::RawValue::Amount(text),
                    wit::ResourceValue::Feature(on) => super::RawValue::Feature(on),
                    wit::ResourceValue::Text(text) => super::RawValue::Text(text),
                };
                (r.id, value)
            }))
        }

        fn totals_size(list: &[wit::ResourceTotal]) -> u64 {
            list.iter()
                .map(|r| {
                    r.id.len() as u64
                        + match &r.value {
                            wit::ResourceValue::Amount(s) | wit::ResourceValue::Text(s) => {
                                s.len() as u64
                            }
                            wit::ResourceValue::Feature(_) => 1,
                        }
                })
                .sum()
        }
    };
}
use common_conversions;

/// `tollgate:plugin@1.0.0`: served unchanged for plugins built against it.
pub mod v1 {
    pub mod precheck {
        wasmtime::component::bindgen!({
            path: "../wit/v1",
            world: "precheck",
            exports: { default: async },
        });
    }

    pub mod quantity_limits {
        wasmtime::component::bindgen!({
            path: "../wit/v1",
            world: "quantity-limits",
            exports: { default: async },
            with: {
                "tollgate:plugin/types@1.0.0": super::precheck::tollgate::plugin::types,
                "tollgate:plugin/host@1.0.0": super::precheck::tollgate::plugin::host,
            },
        });
    }

    pub mod resources {
        wasmtime::component::bindgen!({
            path: "../wit/v1",
            world: "resources",
            exports: { default: async },
            with: {
                "tollgate:plugin/types@1.0.0": super::precheck::tollgate::plugin::types,
                "tollgate:plugin/host@1.0.0": super::precheck::tollgate::plugin::host,
            },
        });
    }

    pub use precheck::tollgate::plugin::host as wit_host;
    pub use precheck::tollgate::plugin::types as wit;

    use super::{Invalid, d};

    super::common_conversions!();

    /// Contract v1 has no `other` action: such a value reaches a v1 plugin
    /// as `none` (the endpoint, not the action, says what a call does).
    pub fn action(a: d::ActionType) -> wit::ActionType {
        use d::ActionType as D;
        use wit::ActionType as W;
        match a {
            D::None | D::Other => W::None,
            D::Provision => W::Provision,
            D::Cancel => W::Cancel,
            D::Suspend => W::Suspend,
            D::Activate => W::Activate,
            D::Upgrade => W::Upgrade,
            D::Downgrade => W::Downgrade,
            D::UpgradeToPaid => W::UpgradeToPaid,
        }
    }

    pub fn request(r: &d::HookRequest) -> wit::Request {
        wit::Request {
            operation: operation(r.operation),
            check_only: r.check_only,
            subscription_id: r.subscription_id.clone(),
            platform_subscription_id: r.platform_subscription_id.clone(),
            product_id: r.product_id.clone(),
            service_type: r.service_type.clone(),
            action: action(r.action),
            quantity: r.quantity,
            previous_quantity: r.previous_quantity,
            is_trial: r.is_trial,
            attributes: attributes(&r.attributes),
            addons: r
                .addons
                .iter()
                .map(|a| wit::Addon {
                    product_id: a.product_id.clone(),
                    name: a.name.clone(),
                    action: action(a.action),
                    quantity: a.quantity,
                    previous_quantity: a.previous_quantity,
                    attributes: attributes(&a.attributes),
                })
                .collect(),
            account: account(&r.account),
            settings: r.settings.clone(),
            custom_fields: r.custom_fields.clone(),
        }
    }

    /// v1's `err(text)` is a refusal with Code -2 (invalid request).
    pub fn plan(p: Result<Vec<wit::ResourceTotal>, String>) -> Result<d::PlanOutcome, Invalid> {
        match p {
            Ok(list) => totals(list).map(d::PlanOutcome::Totals),
            Err(message) if message.trim().is_empty() => {
                Err("plan error has an empty message".into())
            }
            Err(message) => Ok(d::PlanOutcome::Refuse(d::Rejection {
                code: d::V1_PLAN_ERROR_CODE,
                message,
            })),
        }
    }

    pub fn plan_size(p: &Result<Vec<wit::ResourceTotal>, String>) -> u64 {
        match p {
            Err(message) => message.len() as u64,
            Ok(list) => totals_size(list),
        }
    }
}

/// `tollgate:plugin@2.0.0`: results with an error channel, plan refusals,
/// `validate-config`, the `other` action.
pub mod v2 {
    pub mod precheck {
        wasmtime::component::bindgen!({
            path: "../wit/v2",
            world: "precheck",
            exports: { default: async },
        });
    }

    pub mod quantity_limits {
        wasmtime::component::bindgen!({
            path: "../wit/v2",
            world: "quantity-limits",
            exports: { default: async },
            with: {
                "tollgate:plugin/types@2.0.0": super::precheck::tollgate::plugin::types,
                "tollgate:plugin/host@2.0.0": super::precheck::tollgate::plugin::host,
            },
        });
    }

    pub mod resources {
        wasmtime::component::bindgen!({
            path: "../wit/v2",
            world: "resources",
            exports: { default: async },
            with: {
                "tollgate:plugin/types@2.0.0": super::precheck::tollgate::plugin::types,
                "tollgate:plugin/host@2.0.0": super::precheck::tollgate::plugin::host,
            },
        });
    }

    pub use precheck::tollgate::plugin::host as wit_host;
    pub use precheck::tollgate::plugin::types as wit;

    use super::{Invalid, d};

    super::common_conversions!();

    pub fn action(a: d::ActionType) -> wit::ActionType {
        use d::ActionType as D;
        use wit::ActionType as W;
        match a {
            D::None => W::None,
            D::Provision => W::Provision,
            D::Cancel => W::Cancel,
            D::Suspend => W::Suspend,
            D::Activate => W::Activate,
            D::Upgrade => W::Upgrade,
            D::Downgrade => W::Downgrade,
            D::UpgradeToPaid => W::UpgradeToPaid,
            D::Other => W::Other,
        }
    }

    pub fn request(r: &d::HookRequest) -> wit::Request {
        wit::Request {
            operation: operation(r.operation),
            check_only: r.check_only,
            subscription_id: r.subscription_id.clone(),
            platform_subscription_id: r.platform_subscription_id.clone(),
            product_id: r.product_id.clone(),
            service_type: r.service_type.clone(),
            action: action(r.action),
            action_text: r.action_text.clone(),
            quantity: r.quantity,
            previous_quantity: r.previous_quantity,
            is_trial: r.is_trial,
            attributes: attributes(&r.attributes),
            addons: r
                .addons
                .iter()
                .map(|a| wit::Addon {
                    product_id: a.product_id.clone(),
                    name: a.name.clone(),
                    action: action(a.action),
                    action_text: a.action_text.clone(),
                    quantity: a.quantity,
                    previous_quantity: a.previous_quantity,
                    attributes: attributes(&a.attributes),
                })
                .collect(),
            account: account(&r.account),
            settings: r.settings.clone(),
            custom_fields: r.custom_fields.clone(),
        }
    }

    pub fn plan(p: wit::PlanOutcome) -> Result<d::PlanOutcome, Invalid> {
        match p {
            wit::PlanOutcome::Totals(list) => totals(list).map(d::PlanOutcome::Totals),
            wit::PlanOutcome::Refuse(r) => rejection(r).map(d::PlanOutcome::Refuse),
        }
    }

    pub fn plan_size(p: &wit::PlanOutcome) -> u64 {
        match p {
            wit::PlanOutcome::Totals(list) => totals_size(list),
            wit::PlanOutcome::Refuse(r) => 4 + r.message.len() as u64,
        }
    }

    /// Size of a plugin error, for the output limit.
    pub fn error_size(e: &wit::PluginError) -> u64 {
        match e {
            wit::PluginError::Failed(message) => message.len() as u64,
            wit::PluginError::InvalidConfig(c) => (c.path.len() + c.message.len()) as u64,
        }
    }
}

/// Output validation failure: what is wrong with what the plugin returned.
pub type Invalid = String;

/// A refusal's code is a business-rule code and its message a sentence.
fn check_rejection(code: i32, message: &str) -> Result<(), Invalid> {
    if !(-199..=-100).contains(&code) {
        return Err(format!(
            "rejection code {code} is outside the business-rule range -199..=-100"
        ));
    }
    if message.trim().is_empty() {
        return Err("rejection has an empty message".into());
    }
    Ok(())
}

fn limits(l: Option<d::Limits>) -> Result<Option<d::Limits>, Invalid> {
    let Some(l) = l else { return Ok(None) };
    if let (Some(min), Some(max)) = (l.min, l.max)
        && min > max
    {
        return Err(format!("limits have min {min} above max {max}"));
    }
    if let Some(step) = l.step
        && step <= 0
    {
        return Err(format!("limits have a step of {step}; it must be positive"));
    }
    Ok(Some(l))
}

/// Most resource totals one plan may hold.
pub const MAX_RESOURCES: usize = 1000;

/// A resource value as the plugin wrote it, before validation.
enum RawValue {
    Amount(String),
    Feature(bool),
    Text(String),
}

fn totals(
    list: impl ExactSizeIterator<Item = (String, RawValue)>,
) -> Result<Vec<d::ResourceTotal>, Invalid> {
    if list.len() > MAX_RESOURCES {
        return Err(format!(
            "plan has {} resources; at most {MAX_RESOURCES} are allowed",
            list.len()
        ));
    }
    let mut seen = std::collections::HashSet::with_capacity(list.len());
    let mut out = Vec::with_capacity(list.len());
    for (id, value) in list {
        if id.is_empty() || id.len() > 256 {
            return Err("a resource id is empty or longer than 256 bytes".into());
        }
        if !seen.insert(id.clone()) {
            return Err(format!("resource `{id}` appears twice"));
        }
        let value = match value {
            RawValue::Amount(text) => {
                let amount = Decimal::from_str(text.trim()).map_err(|_| {
                    format!("resource `{id}` has amount {text:?}, which is not a decimal number")
                })?;
                if amount.is_sign_negative() && !amount.is_zero() {
                    return Err(format!("resource `{id}` has a negative amount {amount}"));
                }
                d::ResourceValue::Amount(amount.normalize())
            }
            RawValue::Feature(on) => d::ResourceValue::Feature(on),
            RawValue::Text(text) => d::ResourceValue::Text(text),
        };
        out.push(d::ResourceTotal { id, value });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(action: d::ActionType, text: &str) -> d::HookRequest {
        d::HookRequest {
            operation: d::Operation::AddonUpdate,
            check_only: false,
            subscription_id: "TGS-1".into(),
            platform_subscription_id: String::new(),
            product_id: "p".into(),
            service_type: String::new(),
            action,
            action_text: text.into(),
            quantity: 1,
            previous_quantity: None,
            is_trial: false,
            attributes: vec![],
            addons: vec![d::AddonView {
                product_id: "a".into(),
                name: String::new(),
                action,
                action_text: text.into(),
                quantity: 1,
                previous_quantity: None,
                attributes: vec![],
            }],
            account: Default::default(),
            settings: vec![],
            custom_fields: vec![],
        }
    }

    #[test]
    fn other_action_is_none_for_v1_and_other_with_its_text_for_v2() {
        let r = request(d::ActionType::Other, "Transfer");
        let old = v1::request(&r);
        assert_eq!(old.action, v1::wit::ActionType::None);
        assert_eq!(old.addons[0].action, v1::wit::ActionType::None);
        let new = v2::request(&r);
        assert_eq!(new.action, v2::wit::ActionType::Other);
        assert_eq!(new.action_text, "Transfer");
        assert_eq!(new.addons[0].action, v2::wit::ActionType::Other);
        assert_eq!(new.addons[0].action_text, "Transfer");
        let named = v1::request(&request(d::ActionType::Provision, "Provision"));
        assert_eq!(named.action, v1::wit::ActionType::Provision);
    }

    #[test]
    fn v1_plan_error_is_an_invalid_request_refusal() {
        assert_eq!(
            v1::plan(Err("Vault needs a region.".into())),
            Ok(d::PlanOutcome::Refuse(d::Rejection {
                code: -2,
                message: "Vault needs a region.".into()
            }))
        );
        assert!(v1::plan(Err("  ".into())).is_err());
    }

    #[test]
    fn v2_refusal_is_checked_like_a_verdict() {
        let refuse = |code, message: &str| {
            v2::plan(v2::wit::PlanOutcome::Refuse(v2::wit::Rejection {
                code,
                message: message.into(),
            }))
        };
        assert_eq!(
            refuse(-110, "No."),
            Ok(d::PlanOutcome::Refuse(d::Rejection {
                code: -110,
                message: "No.".into()
            }))
        );
        assert!(refuse(-2, "No.").unwrap_err().contains("-199..=-100"));
        assert!(refuse(-99, "No.").is_err());
        assert!(refuse(-110, " ").unwrap_err().contains("empty"));
    }

    #[test]
    fn totals_are_validated() {
        let amount = |id: &str, text: &str| v2::wit::ResourceTotal {
            id: id.into(),
            value: v2::wit::ResourceValue::Amount(text.into()),
        };
        let plan = |list| v2::plan(v2::wit::PlanOutcome::Totals(list));
        assert!(plan(vec![amount("a", "-1")]).is_err());
        assert!(plan(vec![amount("a", "x")]).is_err());
        assert!(plan(vec![amount("a", "1"), amount("a", "2")]).is_err());
        assert_eq!(
            plan(vec![amount("a", "12.50")]),
            Ok(d::PlanOutcome::Totals(vec![d::ResourceTotal {
                id: "a".into(),
                value: d::ResourceValue::Amount(Decimal::from_str("12.5").unwrap())
            }]))
        );
    }
}
