//! The built-in resource calculation (spec §7): from a call's payload alone,
//! the absolute total of every vendor resource. Used when no `resources`
//! plugin is bound, and in check mode to validate the attributes.
//!
//! ```text
//! owners      = [(Quantity, AttributeList) of the parent]
//!             + [(a.Quantity, a.AttributeList) for a in Addons where a.ActionType != Cancel]
//! numeric c:  total(c) = Σ over owners holding c of (QuantityLinked ? value × quantity : value)
//! boolean f:  on(f)    = any owner holding f says "1" or "true"
//! drop-down d: choice(d) = Code (Value when Code is empty)
//! ```
//!
//! How an attribute is read comes from the catalogue's `Kind` when the
//! tenant published one; otherwise from the values: `QuantityLinked` values
//! and numbers are summed, a non-empty `Code` makes a drop-down, `true`/`false` are features, anything
//! else is text. Text and drop-downs take the parent's value, else the
//! smallest add-on value, so the add-ons' order never matters.

use super::catalog::{AttributeKind, Catalog};
use super::hook::{ActionType, Attribute, ResourceTotal, ResourceValue};
use super::interworks::{AddonItem, InvalidRequest};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;

/// One holder of characteristics: the subscription or an add-on.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub quantity: i64,
    pub attributes: &'a [Attribute],
    /// True for the subscription itself (it wins for text values).
    pub is_parent: bool,
}

/// The owners of a call: the parent, then every add-on not being cancelled.
pub fn owners<'a>(
    quantity: i64,
    attributes: &'a [Attribute],
    addons: &'a [AddonItem],
) -> Vec<Owner<'a>> {
    std::iter::once(Owner {
        quantity,
        attributes,
        is_parent: true,
    })
    .chain(
        addons
            .iter()
            .filter(|a| a.action() != ActionType::Cancel)
            .map(|a| Owner {
                quantity: a.quantity,
                attributes: &a.attributes,
                is_parent: false,
            }),
    )
    .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    Amount,
    Feature,
    Choice,
    Text,
}

/// True is `"1"` or `"true"` (any case); anything else is false (spec §7.2).
pub fn is_true(value: &str) -> bool {
    let v = value.trim();
    v == "1" || v.eq_ignore_ascii_case("true")
}

fn reading(kind: Option<AttributeKind>, values: &[&Attribute]) -> Reading {
    match kind {
        Some(AttributeKind::Numeric | AttributeKind::Slider) => Reading::Amount,
        Some(AttributeKind::Boolean) => Reading::Feature,
        Some(AttributeKind::PredefinedChooseOne) => Reading::Choice,
        Some(_) => Reading::Text,
        None => {
            // A value per unit of quantity can only be a number.
            if values.iter().any(|a| a.quantity_linked) {
                Reading::Amount
            } else if values.iter().any(|a| !a.code.trim().is_empty()) {
                Reading::Choice
            } else if values
                .iter()
                .all(|a| a.value.trim().is_empty() || Decimal::from_str(a.value.trim()).is_ok())
            {
                Reading::Amount
            } else if values.iter().all(|a| {
                let v = a.value.trim();
                v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false")
            }) {
                Reading::Feature
            } else {
                Reading::Text
            }
        }
    }
}

fn amount(attribute: &Attribute) -> Result<Decimal, InvalidRequest> {
    let text = attribute.value.trim();
    if text.is_empty() {
        return Ok(Decimal::ZERO);
    }
    let value = Decimal::from_str(text).map_err(|_| {
        InvalidRequest(format!(
            "The value {:?} of attribute {} is not a number.",
            attribute.value, attribute.id
        ))
    })?;
    if value.is_sign_negative() && !value.is_zero() {
        return Err(InvalidRequest(format!(
            "The value {} of attribute {} is negative.",
            attribute.value, attribute.id
        )));
    }
    Ok(value)
}

/// Compute every resource total for `owners`. Fails (Code -2) on a numeric
/// attribute that is not a non-negative number, or a total too large to hold.
pub fn calculate(
    owners: &[Owner<'_>],
    service_type: &str,
    catalog: Option<&Catalog>,
) -> Result<Vec<ResourceTotal>, InvalidRequest> {
    // attribute id -> (owner index, attribute) in owner order.
    let mut by_id: BTreeMap<&str, Vec<(usize, &Attribute)>> = BTreeMap::new();
    for (i, owner) in owners.iter().enumerate() {
        for attribute in owner.attributes {
            by_id
                .entry(attribute.id.as_str())
                .or_default()
                .push((i, attribute));
        }
    }
    let mut totals = Vec::with_capacity(by_id.len());
    for (id, held) in by_id {
        let attributes: Vec<&Attribute> = held.iter().map(|(_, a)| *a).collect();
        let kind = catalog.and_then(|c| c.attribute_kind(service_type, id));
        let value = match reading(kind, &attributes) {
            Reading::Amount => {
                let mut total = Decimal::ZERO;
                for (i, attribute) in &held {
                    let value = amount(attribute)?;
                    let contribution = if attribute.quantity_linked {
                        value.checked_mul(Decimal::from(owners[*i].quantity))
                    } else {
                        Some(value)
                    };
                    total = contribution
                        .and_then(|c| total.checked_add(c))
                        .ok_or_else(|| {
                            InvalidRequest(format!("The total of attribute {id} is too large."))
                        })?;
                }
                ResourceValue::Amount(total.normalize())
            }
            Reading::Feature => {
                ResourceValue::Feature(attributes.iter().any(|a| is_true(&a.value)))
            }
            Reading::Choice => ResourceValue::Text(pick(owners, &held, |a| {
                if a.code.trim().is_empty() {
                    a.value.trim()
                } else {
                    a.code.trim()
                }
            })),
            Reading::Text => ResourceValue::Text(pick(owners, &held, |a| a.value.as_str())),
        };
        totals.push(ResourceTotal {
            id: id.to_string(),
            value,
        });
    }
    Ok(totals)
}

/// The parent's value, else the smallest add-on value (order-independent).
fn pick<'a>(
    owners: &[Owner<'_>],
    held: &[(usize, &'a Attribute)],
    value: impl Fn(&'a Attribute) -> &'a str,
) -> String {
    held.iter()
        .find(|(i, _)| owners[*i].is_parent)
        .map(|(_, a)| value(a))
        .or_else(|| held.iter().map(|(_, a)| value(a)).min())
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::ProductType;
    use crate::domain::interworks::ServiceDefinition;
    use proptest::prelude::*;

    fn attr(id: &str, value: &str, code: &str, linked: bool) -> Attribute {
        Attribute {
            id: id.into(),
            name: id.into(),
            value: value.into(),
            code: code.into(),
            quantity_linked: linked,
        }
    }

    fn addon(
        product: &str,
        action: ActionType,
        quantity: i64,
        attributes: Vec<Attribute>,
    ) -> AddonItem {
        AddonItem {
            product_id: product.into(),
            action: Some(action),
            quantity,
            attributes,
            ..Default::default()
        }
    }

    /// The catalogue of spec §5.7.
    fn catalog() -> Catalog {
        Catalog {
            product_types: vec![ProductType {
                id: "cloudbackup".into(),
                attributes: [
                    ("storage_gb".to_string(), AttributeKind::Numeric),
                    ("immutable_backup".to_string(), AttributeKind::Boolean),
                    ("datacenter".to_string(), AttributeKind::PredefinedChooseOne),
                ]
                .into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn plan(
        quantity: i64,
        attributes: &[Attribute],
        addons: &[AddonItem],
    ) -> BTreeMap<String, ResourceValue> {
        calculate(
            &owners(quantity, attributes, addons),
            "cloudbackup",
            Some(&catalog()),
        )
        .unwrap()
        .into_iter()
        .map(|t| (t.id, t.value))
        .collect()
    }

    fn amount_of(p: &BTreeMap<String, ResourceValue>, id: &str) -> Decimal {
        match &p[id] {
            ResourceValue::Amount(d) => *d,
            other => panic!("{id} is {other:?}"),
        }
    }

    fn parent() -> Vec<Attribute> {
        vec![
            attr("storage_gb", "20", "", true),
            attr("immutable_backup", "0", "", false),
        ]
    }

    fn vault(action: ActionType) -> AddonItem {
        addon(
            "cb_vault_pack",
            action,
            3,
            vec![
                attr("storage_gb", "40", "", true),
                attr("immutable_backup", "1", "", false),
            ],
        )
    }

    // The worked examples of spec §7.3.
    #[test]
    fn example_1_create() {
        let p = plan(12, &parent(), &[]);
        assert_eq!(amount_of(&p, "storage_gb"), Decimal::from(240));
        assert_eq!(p["immutable_backup"], ResourceValue::Feature(false));
    }

    #[test]
    fn example_2_addon_create() {
        let p = plan(12, &parent(), &[vault(ActionType::Provision)]);
        assert_eq!(amount_of(&p, "storage_gb"), Decimal::from(360));
        assert_eq!(p["immutable_backup"], ResourceValue::Feature(true));
    }

    #[test]
    fn example_3_update_sets_the_absolute_total() {
        let p = plan(15, &parent(), &[vault(ActionType::None)]);
        assert_eq!(amount_of(&p, "storage_gb"), Decimal::from(420));
    }

    #[test]
    fn example_4_cancelled_addon_contributes_nothing() {
        let p = plan(15, &parent(), &[vault(ActionType::Cancel)]);
        assert_eq!(amount_of(&p, "storage_gb"), Decimal::from(300));
        assert_eq!(p["immutable_backup"], ResourceValue::Feature(false));
    }

    #[test]
    fn example_5_unlinked_once_and_dropdown_by_code() {
        let attributes = vec![
            attr("storage_gb", "75", "", true),
            attr("immutable_backup", "1", "", false),
            attr("datacenter", "US East (Virginia)", "us-east", false),
        ];
        let archive = addon(
            "archive",
            ActionType::Provision,
            2,
            vec![attr("archive_gb", "500", "", false)],
        );
        let p = plan(4, &attributes, &[archive]);
        assert_eq!(amount_of(&p, "storage_gb"), Decimal::from(300));
        assert_eq!(amount_of(&p, "archive_gb"), Decimal::from(500));
        assert_eq!(p["immutable_backup"], ResourceValue::Feature(true));
        assert_eq!(p["datacenter"], ResourceValue::Text("us-east".into()));
    }

    #[test]
    fn empty_counts_as_zero_and_garbage_is_refused() {
        let p = plan(3, &[attr("storage_gb", "", "", true)], &[]);
        assert_eq!(amount_of(&p, "storage_gb"), Decimal::ZERO);
        let err = calculate(
            &owners(3, &[attr("storage_gb", "lots", "", true)], &[]),
            "cloudbackup",
            Some(&catalog()),
        )
        .unwrap_err();
        assert!(
            err.0.contains("storage_gb") && err.0.contains("not a number"),
            "{err}"
        );
        let err = calculate(
            &owners(3, &[attr("storage_gb", "-4", "", true)], &[]),
            "cloudbackup",
            Some(&catalog()),
        )
        .unwrap_err();
        assert!(err.0.contains("negative"), "{err}");
    }

    #[test]
    fn without_a_catalogue_values_decide() {
        let attributes = vec![
            attr("seats", "2", "", true),
            attr("sso", "true", "", false),
            attr("region", "Frankfurt", "eu-central", false),
            attr("note", "gold customer", "", false),
        ];
        let p: BTreeMap<_, _> = calculate(&owners(5, &attributes, &[]), "x", None)
            .unwrap()
            .into_iter()
            .map(|t| (t.id, t.value))
            .collect();
        assert_eq!(p["seats"], ResourceValue::Amount(Decimal::from(10)));
        assert_eq!(p["sso"], ResourceValue::Feature(true));
        assert_eq!(p["region"], ResourceValue::Text("eu-central".into()));
        assert_eq!(p["note"], ResourceValue::Text("gold customer".into()));
    }

    fn arb_attributes() -> impl Strategy<Value = Vec<Attribute>> {
        proptest::collection::vec(
            (
                prop_oneof![
                    Just("storage_gb"),
                    Just("immutable_backup"),
                    Just("datacenter"),
                    Just("extra_gb")
                ],
                0u32..10_000,
                any::<bool>(),
                any::<bool>(),
            )
                .prop_map(|(id, n, linked, flag)| match id {
                    "immutable_backup" => attr(id, if flag { "1" } else { "0" }, "", false),
                    "datacenter" => {
                        attr(id, "label", if flag { "eu-west" } else { "us-east" }, false)
                    }
                    _ => attr(id, &n.to_string(), "", linked),
                }),
            0..4,
        )
        .prop_map(|mut v| {
            v.sort_by(|a, b| a.id.cmp(&b.id));
            v.dedup_by(|a, b| a.id == b.id);
            v
        })
    }

    fn arb_addons() -> impl Strategy<Value = Vec<AddonItem>> {
        proptest::collection::vec(
            (
                0..1000i64,
                prop_oneof![
                    Just(ActionType::None),
                    Just(ActionType::Provision),
                    Just(ActionType::Cancel)
                ],
                arb_attributes(),
            ),
            0..5,
        )
        .prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (q, action, attributes))| {
                    addon(&format!("addon{i}"), action, q, attributes)
                })
                .collect()
        })
    }

    /// What the platform may send as a number: negative values, negative
    /// zero, blanks and padding included.
    fn arb_signed_value() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u32..10_000).prop_map(|n| n.to_string()),
            (1u32..10_000).prop_map(|n| format!("-{n}")),
            (1u32..10_000).prop_map(|n| format!("-{}.{:02}", n / 100, n % 100)),
            Just("-0".to_string()),
            Just(" -3 ".to_string()),
            Just(String::new()),
        ]
    }

    /// Attributes of any kind with signed values, for any owner.
    fn arb_signed_attributes() -> impl Strategy<Value = Vec<Attribute>> {
        proptest::collection::vec(
            (
                prop_oneof![Just("storage_gb"), Just("extra_gb"), Just("seats")],
                arb_signed_value(),
                any::<bool>(),
            )
                .prop_map(|(id, value, linked)| attr(id, &value, "", linked)),
            0..4,
        )
        .prop_map(|mut v| {
            v.sort_by(|a, b| a.id.cmp(&b.id));
            v.dedup_by(|a, b| a.id == b.id);
            v
        })
    }

    /// A create call as parsing hands it over: quantities of any sign.
    fn arb_signed_call() -> impl Strategy<Value = ServiceDefinition> {
        (
            -1000..100_000i64,
            arb_signed_attributes(),
            proptest::collection::vec(
                (
                    -1000..1000i64,
                    prop_oneof![Just(ActionType::Provision), Just(ActionType::Cancel)],
                    arb_signed_attributes(),
                ),
                0..4,
            ),
        )
            .prop_map(|(quantity, attributes, addons)| ServiceDefinition {
                platform_subscription_id: "p-1".into(),
                service_type: "cloudbackup".into(),
                product_id: "cb_basic".into(),
                quantity,
                account: crate::domain::interworks::Account {
                    id: "20417".into(),
                    ..Default::default()
                },
                attributes,
                addons: addons
                    .into_iter()
                    .enumerate()
                    .map(|(i, (q, action, attributes))| {
                        addon(&format!("addon{i}"), action, q, attributes)
                    })
                    .collect(),
                ..Default::default()
            })
    }

    proptest! {
        /// Whatever the platform sends, a plan the service would commit
        /// (the call validated, then calculated) holds no negative amount:
        /// a negative quantity or value is refused (Code -2) instead.
        #[test]
        fn totals_are_never_negative(call in arb_signed_call(), with_catalog in any::<bool>()) {
            let catalog = catalog();
            let catalog = with_catalog.then_some(&catalog);
            if let Err(e) = call.validate(crate::domain::hook::Operation::SubscriptionCreate) {
                prop_assert!(e.0.contains("is negative."), "{e}");
                return Ok(());
            }
            let owners = owners(call.quantity, &call.attributes, &call.addons);
            match calculate(&owners, &call.service_type, catalog) {
                Ok(totals) => {
                    for total in totals {
                        if let ResourceValue::Amount(d) = total.value {
                            prop_assert!(!d.is_sign_negative() || d.is_zero(), "{}: {d}", total.id);
                        }
                    }
                }
                Err(e) => prop_assert!(
                    e.0.contains("is negative.") && owners.iter().any(|o| o.attributes.iter().any(|a| {
                        a.value.trim().starts_with('-') && a.value.trim() != "-0"
                    })),
                    "{e}"
                ),
            }
        }

        #[test]
        fn linked_parent_attributes_scale_with_quantity(v in 0u32..10_000, q in 0..10_000i64, k in 1..20i64) {
            let attributes = vec![attr("storage_gb", &v.to_string(), "", true)];
            let one = amount_of(&plan(q, &attributes, &[]), "storage_gb");
            let scaled = amount_of(&plan(q * k, &attributes, &[]), "storage_gb");
            prop_assert_eq!(scaled, one * Decimal::from(k));
        }

        #[test]
        fn cancelling_an_addon_never_increases_a_total(
            q in 0..10_000i64, attributes in arb_attributes(), addons in arb_addons(), pick in any::<prop::sample::Index>()
        ) {
            prop_assume!(!addons.is_empty());
            let before = plan(q, &attributes, &addons);
            let mut cancelled = addons.clone();
            let i = pick.index(cancelled.len());
            cancelled[i].action = Some(ActionType::Cancel);
            let after = plan(q, &attributes, &cancelled);
            for (id, value) in &after {
                match (value, before.get(id)) {
                    (ResourceValue::Amount(a), Some(ResourceValue::Amount(b))) => prop_assert!(a <= b, "{id}: {a} > {b}"),
                    (ResourceValue::Feature(true), Some(ResourceValue::Feature(b))) => prop_assert!(*b, "{id} turned on"),
                    _ => {}
                }
            }
        }

        #[test]
        fn order_of_addons_is_irrelevant(q in 0..10_000i64, attributes in arb_attributes(), addons in arb_addons(), seed in any::<u64>()) {
            let mut shuffled = addons.clone();
            // A deterministic shuffle from the seed.
            let mut s = seed | 1;
            for i in (1..shuffled.len()).rev() {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                shuffled.swap(i, (s % (i as u64 + 1)) as usize);
            }
            prop_assert_eq!(plan(q, &attributes, &addons), plan(q, &attributes, &shuffled));
        }
    }
}
