//! Tollgate's own state rules for subscriptions and add-ons: what each
//! Service Manager operation does to the stored state, which calls are
//! refused (unknown object, cancelled subscription) and which are retries of
//! something already in effect (answered with success, changing nothing,
//! because the platform may retry).

use super::codes;
use super::hook::{
    ActionType, Attribute, Operation, QuantityTarget, Rejection, SubscriptionStatus, TargetKind,
};
use super::interworks::ServiceDefinition;

/// An add-on as Tollgate stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAddon {
    pub product_id: String,
    pub name: String,
    pub quantity: i64,
    pub active: bool,
    pub attributes: Vec<Attribute>,
}

/// A subscription as Tollgate stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSubscription {
    pub external_id: String,
    pub platform_subscription_id: String,
    pub account_id: String,
    pub product_id: String,
    pub service_type: String,
    pub name: String,
    pub quantity: i64,
    pub status: SubscriptionStatus,
    pub is_trial: bool,
    pub attributes: Vec<Attribute>,
    pub addons: Vec<StoredAddon>,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

impl StoredSubscription {
    pub fn addon(&self, product_id: &str) -> Option<&StoredAddon> {
        self.addons.iter().find(|a| a.product_id == product_id)
    }
}

/// What a call will do, decided before any rule runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Create a new subscription.
    Create,
    /// Subscriptions/Create for a platform subscription already provisioned:
    /// answer its external id, change nothing.
    AlreadyCreated { external_id: String },
    /// The call repeats something already in effect: answer success, change
    /// nothing, run no rules.
    NoChange,
    /// Change the stored subscription.
    Change,
}

/// The new stored state after a real call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewState {
    pub product_id: String,
    pub service_type: String,
    pub name: String,
    pub quantity: i64,
    pub status: SubscriptionStatus,
    pub is_trial: bool,
    pub attributes: Vec<Attribute>,
    pub addons: Vec<StoredAddon>,
}

fn refuse(code: i32, message: String) -> Result<Decision, Rejection> {
    Err(Rejection { code, message })
}

/// Decide what `operation` does given the stored subscription (`existing`:
/// looked up by `ID`, or by `SubscriptionID` for a create).
pub fn decide(
    operation: Operation,
    def: &ServiceDefinition,
    existing: Option<&StoredSubscription>,
) -> Result<Decision, Rejection> {
    use Operation::*;
    if operation == SubscriptionCreate {
        return Ok(match existing {
            Some(s) => Decision::AlreadyCreated {
                external_id: s.external_id.clone(),
            },
            None => Decision::Create,
        });
    }
    let Some(sub) = existing else {
        return refuse(
            codes::UNKNOWN,
            format!(
                "Subscription {} is unknown: it was never created through this service.",
                def.external_id
            ),
        );
    };
    let cancelled = sub.status == SubscriptionStatus::Cancelled;
    let refuse_cancelled = || {
        refuse(
            codes::CANCELLED,
            format!(
                "Subscription {} is cancelled: {} is not possible any more.",
                sub.external_id,
                operation.endpoint()
            ),
        )
    };
    match operation {
        SubscriptionCancel if cancelled => Ok(Decision::NoChange),
        SubscriptionCancel => Ok(Decision::Change),
        _ if cancelled && operation == AddonCancel => Ok(Decision::NoChange),
        _ if cancelled => refuse_cancelled(),
        SubscriptionSuspend if sub.status == SubscriptionStatus::Suspended => {
            Ok(Decision::NoChange)
        }
        SubscriptionActivate if sub.status == SubscriptionStatus::Active => Ok(Decision::NoChange),
        SubscriptionUpgradeToPaid if !sub.is_trial => Ok(Decision::NoChange),
        AddonUpdate | AddonCancel => decide_addons(operation, def, sub),
        _ => Ok(Decision::Change),
    }
}

/// `AddonUpdate` / `AddonCancel` on a live subscription: every acted add-on
/// must be provisioned (an update also needs it active); a cancel of add-ons
/// all cancelled already changes nothing.
fn decide_addons(
    operation: Operation,
    def: &ServiceDefinition,
    sub: &StoredSubscription,
) -> Result<Decision, Rejection> {
    let mut all_in_effect = true;
    for addon in def.acted_addons(operation) {
        match sub.addon(&addon.product_id) {
            None => {
                return refuse(
                    codes::UNKNOWN,
                    format!(
                        "Add-on {} is not provisioned on subscription {}.",
                        addon.product_id, sub.external_id
                    ),
                );
            }
            Some(stored) if operation == Operation::AddonUpdate && !stored.active => {
                return refuse(
                    codes::UNKNOWN,
                    format!(
                        "Add-on {} of subscription {} was cancelled; create it again instead of updating it.",
                        addon.product_id, sub.external_id
                    ),
                );
            }
            Some(stored) => {
                all_in_effect &= operation == Operation::AddonCancel && !stored.active;
            }
        }
    }
    Ok(if all_in_effect {
        Decision::NoChange
    } else {
        Decision::Change
    })
}

/// The stored state a real call converges to. Add-ons follow the payload
/// (state-based provisioning, spec §7.1): `Cancel` cancels, anything else
/// sets the sent quantity; stored add-ons absent from the payload are kept.
pub fn apply(
    operation: Operation,
    def: &ServiceDefinition,
    existing: Option<&StoredSubscription>,
) -> NewState {
    use Operation::*;
    let addons = converged_addons(operation, def, existing);
    let from_payload = NewState {
        product_id: def.product_id.clone(),
        service_type: def.service_type.clone(),
        name: def.name.clone(),
        quantity: def.quantity,
        status: SubscriptionStatus::Active,
        is_trial: def.is_trial,
        attributes: def.attributes.clone(),
        addons: addons.clone(),
    };
    let Some(sub) = existing else {
        return from_payload;
    };
    let kept = NewState {
        product_id: sub.product_id.clone(),
        service_type: sub.service_type.clone(),
        name: sub.name.clone(),
        quantity: sub.quantity,
        status: sub.status,
        is_trial: sub.is_trial,
        attributes: sub.attributes.clone(),
        addons,
    };
    match operation {
        SubscriptionCreate => from_payload,
        SubscriptionUpdate
        | SubscriptionUpgradeDowngrade
        | AddonCreate
        | AddonUpdate
        | AddonCancel => NewState {
            status: sub.status,
            is_trial: sub.is_trial,
            ..from_payload
        },
        SubscriptionUpgradeToPaid => NewState {
            status: sub.status,
            is_trial: false,
            ..from_payload
        },
        SubscriptionSuspend => NewState {
            status: SubscriptionStatus::Suspended,
            ..kept
        },
        SubscriptionActivate => NewState {
            status: SubscriptionStatus::Active,
            ..kept
        },
        SubscriptionCancel => NewState {
            status: SubscriptionStatus::Cancelled,
            addons: kept
                .addons
                .into_iter()
                .map(|a| StoredAddon { active: false, ..a })
                .collect(),
            ..kept
        },
    }
}

/// The add-ons after `operation`, ordered by product: the stored ones,
/// with the payload's applied unless the operation only changes the
/// subscription's status.
fn converged_addons(
    operation: Operation,
    def: &ServiceDefinition,
    existing: Option<&StoredSubscription>,
) -> Vec<StoredAddon> {
    use Operation::*;
    let mut addons: Vec<StoredAddon> = existing.map(|s| s.addons.clone()).unwrap_or_default();
    let converge = !matches!(
        operation,
        SubscriptionSuspend | SubscriptionActivate | SubscriptionCancel
    );
    if converge {
        for item in &def.addons {
            let active = item.action() != ActionType::Cancel;
            match addons.iter_mut().find(|a| a.product_id == item.product_id) {
                Some(stored) => {
                    stored.active = active;
                    if active {
                        stored.quantity = item.quantity;
                        stored.attributes = item.attributes.clone();
                        stored.name = item.name.clone();
                    }
                }
                None if active => addons.push(StoredAddon {
                    product_id: item.product_id.clone(),
                    name: item.name.clone(),
                    quantity: item.quantity,
                    active: true,
                    attributes: item.attributes.clone(),
                }),
                None => {}
            }
        }
    }
    addons.sort_by(|a, b| a.product_id.cmp(&b.product_id));
    addons
}

/// The quantities a call sets, for the `quantity-limits` hook: the
/// subscription's on calls that set it, and every add-on being provisioned.
pub fn quantity_targets(
    operation: Operation,
    def: &ServiceDefinition,
    existing: Option<&StoredSubscription>,
) -> Vec<QuantityTarget> {
    use Operation::*;
    let mut targets = Vec::new();
    if matches!(
        operation,
        SubscriptionCreate
            | SubscriptionUpdate
            | SubscriptionUpgradeToPaid
            | SubscriptionUpgradeDowngrade
    ) {
        targets.push(QuantityTarget {
            kind: TargetKind::Subscription,
            product_id: def.product_id.clone(),
            quantity: def.quantity,
            previous_quantity: existing.map(|s| s.quantity),
            attributes: def.attributes.clone(),
        });
    }
    if matches!(operation, SubscriptionCreate | AddonCreate | AddonUpdate) {
        for addon in def
            .addons
            .iter()
            .filter(|a| a.action() == ActionType::Provision)
        {
            targets.push(QuantityTarget {
                kind: TargetKind::Addon,
                product_id: addon.product_id.clone(),
                quantity: addon.quantity,
                previous_quantity: existing
                    .and_then(|s| s.addon(&addon.product_id))
                    .filter(|a| a.active)
                    .map(|a| a.quantity),
                attributes: addon.attributes.clone(),
            });
        }
    }
    targets
}

/// The provisioning event a change emits.
pub fn event_kind(operation: Operation) -> &'static str {
    match operation {
        Operation::SubscriptionCreate => "subscription.created",
        Operation::SubscriptionUpdate => "subscription.updated",
        Operation::SubscriptionCancel => "subscription.cancelled",
        Operation::SubscriptionSuspend => "subscription.suspended",
        Operation::SubscriptionActivate => "subscription.activated",
        Operation::SubscriptionUpgradeToPaid => "subscription.upgraded-to-paid",
        Operation::SubscriptionUpgradeDowngrade => "subscription.product-changed",
        Operation::AddonCreate => "addon.created",
        Operation::AddonUpdate => "addon.updated",
        Operation::AddonCancel => "addon.cancelled",
    }
}

/// Whether the call recomputes the resource plan (spec §7.2): Suspend and
/// Activate leave totals as they are.
pub fn recomputes_resources(operation: Operation) -> bool {
    !matches!(
        operation,
        Operation::SubscriptionSuspend | Operation::SubscriptionActivate
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::interworks::{Account, AddonItem};

    fn def(external_id: &str) -> ServiceDefinition {
        ServiceDefinition {
            external_id: external_id.into(),
            platform_subscription_id: "p1".into(),
            product_id: "cb_basic".into(),
            quantity: 5,
            account: Account {
                id: "a".into(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn stored(status: SubscriptionStatus) -> StoredSubscription {
        StoredSubscription {
            external_id: "S1".into(),
            platform_subscription_id: "p1".into(),
            account_id: "a".into(),
            product_id: "cb_basic".into(),
            service_type: "cloudbackup".into(),
            name: String::new(),
            quantity: 5,
            status,
            is_trial: false,
            attributes: vec![],
            addons: vec![StoredAddon {
                product_id: "vault".into(),
                name: String::new(),
                quantity: 3,
                active: true,
                attributes: vec![],
            }],
            created_at: 0,
        }
    }

    fn addon(product: &str, action: ActionType) -> AddonItem {
        AddonItem {
            product_id: product.into(),
            action: Some(action),
            quantity: 4,
            ..Default::default()
        }
    }

    #[test]
    fn create_is_idempotent_per_platform_subscription() {
        assert_eq!(
            decide(Operation::SubscriptionCreate, &def(""), None),
            Ok(Decision::Create)
        );
        let s = stored(SubscriptionStatus::Active);
        assert_eq!(
            decide(Operation::SubscriptionCreate, &def(""), Some(&s)),
            Ok(Decision::AlreadyCreated {
                external_id: "S1".into()
            })
        );
    }

    #[test]
    fn unknown_subscription_is_code_minus_3() {
        let err = decide(Operation::SubscriptionUpdate, &def("nope"), None).unwrap_err();
        assert_eq!(err.code, -3);
        assert!(err.message.contains("nope"));
    }

    #[test]
    fn a_cancelled_subscription_cannot_change() {
        let s = stored(SubscriptionStatus::Cancelled);
        for op in [
            Operation::SubscriptionUpdate,
            Operation::SubscriptionActivate,
            Operation::SubscriptionSuspend,
            Operation::AddonCreate,
        ] {
            assert_eq!(
                decide(op, &def("S1"), Some(&s)).unwrap_err().code,
                -5,
                "{op:?}"
            );
        }
        assert_eq!(
            decide(Operation::SubscriptionCancel, &def("S1"), Some(&s)),
            Ok(Decision::NoChange)
        );
    }

    #[test]
    fn retries_of_what_is_in_effect_change_nothing() {
        let active = stored(SubscriptionStatus::Active);
        assert_eq!(
            decide(Operation::SubscriptionActivate, &def("S1"), Some(&active)),
            Ok(Decision::NoChange)
        );
        let suspended = stored(SubscriptionStatus::Suspended);
        assert_eq!(
            decide(Operation::SubscriptionSuspend, &def("S1"), Some(&suspended)),
            Ok(Decision::NoChange)
        );
        assert_eq!(
            decide(
                Operation::SubscriptionUpgradeToPaid,
                &def("S1"),
                Some(&active)
            ),
            Ok(Decision::NoChange)
        );
    }

    #[test]
    fn addon_update_and_cancel_need_a_known_addon() {
        let s = stored(SubscriptionStatus::Active);
        let mut d = def("S1");
        d.addons = vec![addon("other", ActionType::Provision)];
        assert_eq!(
            decide(Operation::AddonUpdate, &d, Some(&s))
                .unwrap_err()
                .code,
            -3
        );
        d.addons = vec![addon("vault", ActionType::Cancel)];
        assert_eq!(
            decide(Operation::AddonCancel, &d, Some(&s)),
            Ok(Decision::Change)
        );
        let state = apply(Operation::AddonCancel, &d, Some(&s));
        assert!(!state.addons[0].active);
        let mut after = s.clone();
        after.addons = state.addons;
        assert_eq!(
            decide(Operation::AddonCancel, &d, Some(&after)),
            Ok(Decision::NoChange)
        );
    }

    #[test]
    fn cancel_cancels_every_addon_and_suspend_keeps_quantities() {
        let s = stored(SubscriptionStatus::Active);
        let state = apply(Operation::SubscriptionCancel, &def("S1"), Some(&s));
        assert_eq!(state.status, SubscriptionStatus::Cancelled);
        assert!(state.addons.iter().all(|a| !a.active));
        let mut d = def("S1");
        d.quantity = 99;
        let state = apply(Operation::SubscriptionSuspend, &d, Some(&s));
        assert_eq!(
            (state.status, state.quantity),
            (SubscriptionStatus::Suspended, 5)
        );
    }

    #[test]
    fn targets_cover_the_subscription_and_provisioned_addons() {
        let s = stored(SubscriptionStatus::Active);
        let mut d = def("S1");
        d.addons = vec![
            addon("vault", ActionType::Provision),
            addon("x", ActionType::None),
        ];
        let t = quantity_targets(Operation::AddonUpdate, &d, Some(&s));
        assert_eq!(t.len(), 1);
        assert_eq!(
            (t[0].kind, t[0].previous_quantity),
            (TargetKind::Addon, Some(3))
        );
        let t = quantity_targets(Operation::SubscriptionUpdate, &d, Some(&s));
        assert_eq!((t.len(), t[0].previous_quantity), (1, Some(5)));
    }
}
