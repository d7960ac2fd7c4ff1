//! Host bindings of the plugin contract (`wit/v1`) and the conversions
//! between WIT values and the domain's hook types. The only place that knows
//! the generated types.

use crate::domain::hook as d;
use rust_decimal::Decimal;
use std::str::FromStr;

pub mod precheck {
    wasmtime::component::bindgen!({
        path: "../wit/v1",
        world: "precheck",
    });
}

pub mod quantity_limits {
    wasmtime::component::bindgen!({
        path: "../wit/v1",
        world: "quantity-limits",
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
        with: {
            "tollgate:plugin/types@1.0.0": super::precheck::tollgate::plugin::types,
            "tollgate:plugin/host@1.0.0": super::precheck::tollgate::plugin::host,
        },
    });
}

pub use precheck::tollgate::plugin::host as wit_host;
pub use precheck::tollgate::plugin::types as wit;

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
        account: wit::Account {
            id: r.account.id.clone(),
            external_id: r.account.external_id.clone(),
            reseller_id: r.account.reseller_id.clone(),
            reseller_external_id: r.account.reseller_external_id.clone(),
            name: r.account.name.clone(),
            code: r.account.code.clone(),
            email: r.account.email.clone(),
            country_code: r.account.country_code.clone(),
            is_test: r.account.is_test,
            sync_options: r.account.sync_options.clone(),
        },
        settings: r.settings.clone(),
        custom_fields: r.custom_fields.clone(),
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

/// Output validation failure: what is wrong with what the plugin returned.
pub type Invalid = String;

pub fn verdict(v: wit::Verdict) -> Result<d::Verdict, Invalid> {
    match v {
        wit::Verdict::Accept => Ok(d::Verdict::Accept),
        wit::Verdict::Reject(r) => {
            if !(-199..=-100).contains(&r.code) {
                return Err(format!(
                    "rejection code {} is outside the business-rule range -199..=-100",
                    r.code
                ));
            }
            if r.message.trim().is_empty() {
                return Err("rejection has an empty message".into());
            }
            Ok(d::Verdict::Reject(d::Rejection {
                code: r.code,
                message: r.message,
            }))
        }
    }
}

pub fn limits(l: Option<wit::Limits>) -> Result<Option<d::Limits>, Invalid> {
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
    Ok(Some(d::Limits {
        min: l.min,
        max: l.max,
        step: l.step,
    }))
}

/// Most resource totals one plan may hold.
pub const MAX_RESOURCES: usize = 1000;

pub fn plan(
    p: Result<Vec<wit::ResourceTotal>, String>,
) -> Result<Result<Vec<d::ResourceTotal>, String>, Invalid> {
    let list = match p {
        Ok(list) => list,
        Err(message) if message.trim().is_empty() => {
            return Err("plan error has an empty message".into());
        }
        Err(message) => return Ok(Err(message)),
    };
    if list.len() > MAX_RESOURCES {
        return Err(format!(
            "plan has {} resources; at most {MAX_RESOURCES} are allowed",
            list.len()
        ));
    }
    let mut seen = std::collections::HashSet::with_capacity(list.len());
    let mut out = Vec::with_capacity(list.len());
    for r in list {
        if r.id.is_empty() || r.id.len() > 256 {
            return Err("a resource id is empty or longer than 256 bytes".into());
        }
        if !seen.insert(r.id.clone()) {
            return Err(format!("resource `{}` appears twice", r.id));
        }
        let value = match r.value {
            wit::ResourceValue::Amount(text) => {
                let amount = Decimal::from_str(text.trim()).map_err(|_| {
                    format!(
                        "resource `{}` has amount {text:?}, which is not a decimal number",
                        r.id
                    )
                })?;
                if amount.is_sign_negative() && !amount.is_zero() {
                    return Err(format!(
                        "resource `{}` has a negative amount {amount}",
                        r.id
                    ));
                }
                d::ResourceValue::Amount(amount.normalize())
            }
            wit::ResourceValue::Feature(on) => d::ResourceValue::Feature(on),
            wit::ResourceValue::Text(text) => d::ResourceValue::Text(text),
        };
        out.push(d::ResourceTotal { id: r.id, value });
    }
    Ok(Ok(out))
}
