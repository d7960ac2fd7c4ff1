//! Strict reading of fixture files and hook inputs written by people: an
//! unknown field is an error naming its JSON path (a misspelt
//! `quantitty` would otherwise be ignored and the fixture test something
//! else than its author meant). The domain types stay lenient for what the
//! host itself stored; these mirrors of them refuse what they do not know.
//!
//! The list-of-pairs fields (`settings`, `custom_fields`,
//! `account.sync_options`) also read as an object: `{"vip": "1"}`.

use super::{CodecError, Expectation, Fixture, InputDoc, OutputDoc};
use crate::domain::hook::{
    AccountView, ActionType, AddonView, Attribute, Hook, HookRequest, Limits, Operation,
    QuantityTarget, Rejection, ResourceTotal, ResourceValue, SubscriptionInfo, SubscriptionStatus,
    TargetKind, Verdict,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Parse a fixture file's text strictly.
pub fn fixture_from_json(text: &str) -> Result<Fixture, CodecError> {
    let doc: StrictFixture = parse(text)?;
    Ok(Fixture {
        description: doc.description,
        hook: doc.hook,
        input: doc.input.into(),
        expect: doc.expect.into(),
    })
}

/// Parse a hook input (the `input` of a fixture) strictly.
pub fn input_doc_from_json(text: &str) -> Result<InputDoc, CodecError> {
    parse::<StrictInput>(text).map(Into::into)
}

/// Deserialize, naming the JSON path of the first problem:
/// `input.request.quantitty: unknown field (expected one of …)`.
fn parse<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, CodecError> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        // serde names an unknown field in its message; the path may end
        // with it already.
        if let Some(rest) = message.strip_prefix("unknown field `")
            && let Some((field, expected)) = rest.split_once('`')
        {
            let full = if path == "." {
                field.to_string()
            } else if path == field || path.ends_with(&format!(".{field}")) {
                path
            } else {
                format!("{path}.{field}")
            };
            let expected = expected.trim_start_matches(", ");
            return CodecError(format!("{full}: unknown field ({expected})"));
        }
        if path == "." {
            CodecError(message)
        } else {
            CodecError(format!("{path}: {message}"))
        }
    })
}

/// A list of `[key, value]` pairs, or an object of string values.
fn pairs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Pairs {
        List(Vec<(String, String)>),
        Object(std::collections::BTreeMap<String, String>),
    }
    match Pairs::deserialize(d) {
        Ok(Pairs::List(list)) => Ok(list),
        Ok(Pairs::Object(map)) => Ok(map.into_iter().collect()),
        Err(_) => Err(serde::de::Error::custom(
            "expected a list of [key, value] pairs or an object of strings",
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StrictFixture {
    #[serde(default)]
    description: String,
    hook: Hook,
    input: StrictInput,
    expect: StrictExpectation,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StrictInput {
    request: StrictRequest,
    #[serde(default)]
    target: Option<StrictTarget>,
    #[serde(default)]
    now: i64,
    #[serde(default = "empty_object")]
    config: Value,
    #[serde(default)]
    binding: String,
    #[serde(default)]
    track_id: String,
    #[serde(default)]
    subscriptions: Vec<StrictSubscription>,
    #[serde(default)]
    seed: Option<u64>,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

impl From<StrictInput> for InputDoc {
    fn from(i: StrictInput) -> Self {
        InputDoc {
            request: i.request.into(),
            target: i.target.map(Into::into),
            now: i.now,
            config: i.config,
            binding: i.binding,
            track_id: i.track_id,
            subscriptions: i.subscriptions.into_iter().map(Into::into).collect(),
            seed: i.seed,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StrictRequest {
    operation: Operation,
    #[serde(default)]
    check_only: bool,
    #[serde(default)]
    subscription_id: String,
    #[serde(default)]
    platform_subscription_id: String,
    product_id: String,
    #[serde(default)]
    service_type: String,
    #[serde(default = "provision")]
    action: ActionType,
    #[serde(default)]
    action_text: String,
    quantity: i64,
    #[serde(default)]
    previous_quantity: Option<i64>,
    #[serde(default)]
    is_trial: bool,
    #[serde(default)]
    attributes: Vec<StrictAttribute>,
    #[serde(default)]
    addons: Vec<StrictAddon>,
    #[serde(default)]
    account: StrictAccount,
    #[serde(default, deserialize_with = "pairs")]
    settings: Vec<(String, String)>,
    #[serde(default, deserialize_with = "pairs")]
    custom_fields: Vec<(String, String)>,
}

fn provision() -> ActionType {
    ActionType::Provision
}

impl From<StrictRequest> for HookRequest {
    fn from(r: StrictRequest) -> Self {
        HookRequest {
            operation: r.operation,
            check_only: r.check_only,
            subscription_id: r.subscription_id,
            platform_subscription_id: r.platform_subscription_id,
            product_id: r.product_id,
            service_type: r.service_type,
            action: r.action,
            action_text: r.action_text,
            quantity: r.quantity,
            previous_quantity: r.previous_quantity,
            is_trial: r.is_trial,
            attributes: r.attributes.into_iter().map(Into::into).collect(),
            addons: r.addons.into_iter().map(Into::into).collect(),
            account: r.account.into(),
            settings: r.settings,
            custom_fields: r.custom_fields,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StrictAttribute {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    quantity_linked: bool,
}

impl From<StrictAttribute> for Attribute {
    fn from(a: StrictAttribute) -> Self {
        Attribute {
            id: a.id,
            name: a.name,
            value: a.value,
            code: a.code,
            quantity_linked: a.quantity_linked,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StrictAddon {
    product_id: String,
    #[serde(default)]
    name: String,
    action: ActionType,
    #[serde(default)]
    action_text: String,
    quantity: i64,
    #[serde(default)]
    previous_quantity: Option<i64>,
    #[serde(default)]
    attributes: Vec<StrictAttribute>,
}

impl From<StrictAddon> for AddonView {
    fn from(a: StrictAddon) -> Self {
        AddonView {
            product_id: a.product_id,
            name: a.name,
            action: a.action,
            action_text: a.action_text,
            quantity: a.quantity,
            previous_quantity: a.previous_quantity,
            attributes: a.attributes.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct StrictAccount {
    id: String,
    external_id: Option<String>,
    reseller_id: Option<String>,
    reseller_external_id: Option<String>,
    name: String,
    code: String,
    email: String,
    country_code: String,
    is_test: bool,
    #[serde(deserialize_with = "pairs")]
    sync_options: Vec<(String, String)>,
}

impl From<StrictAccount> for AccountView {
    fn from(a: StrictAccount) -> Self {
        AccountView {
            id: a.id,
            external_id: a.external_id,
            reseller_id: a.reseller_id,
            reseller_external_id: a.reseller_external_id,
            name: a.name,
            code: a.code,
            email: a.email,
            country_code: a.country_code,
            is_test: a.is_test,
            sync_options: a.sync_options,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StrictTarget {
    kind: TargetKind,
    product_id: String,
    quantity: i64,
    #[serde(default)]
    previous_quantity: Option<i64>,
    #[serde(default)]
    attributes: Vec<StrictAttribute>,
}

impl From<StrictTarget> for QuantityTarget {
    fn from(t: StrictTarget) -> Self {
        QuantityTarget {
            kind: t.kind,
            product_id: t.product_id,
            quantity: t.quantity,
            previous_quantity: t.previous_quantity,
            attributes: t.attributes.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StrictSubscription {
    subscription_id: String,
    product_id: String,
    #[serde(default)]
    service_type: String,
    status: SubscriptionStatus,
    quantity: i64,
    #[serde(default)]
    is_trial: bool,
    created_at: i64,
}

impl From<StrictSubscription> for SubscriptionInfo {
    fn from(s: StrictSubscription) -> Self {
        SubscriptionInfo {
            subscription_id: s.subscription_id,
            product_id: s.product_id,
            service_type: s.service_type,
            status: s.status,
            quantity: s.quantity,
            is_trial: s.is_trial,
            created_at: s.created_at,
        }
    }
}

/// `expect`: an output of one of the hooks' shapes, or `{"error": KIND}`.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum StrictExpectation {
    Error(String),
    Verdict(StrictVerdict),
    Limits(Option<StrictLimits>),
    Plan(Vec<StrictTotal>),
    Refuse(StrictRejection),
    PlanError(String),
}

impl From<StrictExpectation> for Expectation {
    fn from(e: StrictExpectation) -> Self {
        let output = match e {
            StrictExpectation::Error(error) => return Expectation::Error { error },
            StrictExpectation::Verdict(StrictVerdict::Accept) => {
                OutputDoc::Verdict(Verdict::Accept)
            }
            StrictExpectation::Verdict(StrictVerdict::Reject(r)) => {
                OutputDoc::Verdict(Verdict::Reject(r.into()))
            }
            StrictExpectation::Limits(l) => OutputDoc::Limits(l.map(|l| Limits {
                min: l.min,
                max: l.max,
                step: l.step,
            })),
            StrictExpectation::Plan(totals) => {
                OutputDoc::Plan(totals.into_iter().map(Into::into).collect())
            }
            StrictExpectation::Refuse(r) => OutputDoc::Refuse(r.into()),
            StrictExpectation::PlanError(message) => OutputDoc::PlanError(message),
        };
        Expectation::Output(output)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum StrictVerdict {
    Accept,
    Reject(StrictRejection),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StrictRejection {
    code: i32,
    message: String,
}

impl From<StrictRejection> for Rejection {
    fn from(r: StrictRejection) -> Self {
        Rejection {
            code: r.code,
            message: r.message,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StrictLimits {
    #[serde(default)]
    min: Option<i64>,
    #[serde(default)]
    max: Option<i64>,
    #[serde(default)]
    step: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StrictTotal {
    id: String,
    value: StrictValue,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum StrictValue {
    Amount(Decimal),
    Feature(bool),
    Text(String),
}

impl From<StrictTotal> for ResourceTotal {
    fn from(t: StrictTotal) -> Self {
        ResourceTotal {
            id: t.id,
            value: match t.value {
                StrictValue::Amount(a) => ResourceValue::Amount(a),
                StrictValue::Feature(f) => ResourceValue::Feature(f),
                StrictValue::Text(t) => ResourceValue::Text(t),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST: &str = r#""request": {"operation": "subscription-create", "product_id": "cb_basic", "quantity": 5"#;

    fn fixture(request_extra: &str, expect: &str) -> String {
        format!(
            r#"{{"hook": "precheck", "input": {{{REQUEST}{request_extra}}}}}, "expect": {expect}}}"#
        )
    }

    #[test]
    fn an_unknown_field_is_refused_with_its_path() {
        let e = fixture_from_json(&fixture(r#", "quantitty": 6"#, r#"{"verdict": "accept"}"#))
            .unwrap_err();
        assert!(
            e.0.starts_with("input.request.quantitty: unknown field (expected one of"),
            "{e}"
        );
        let e = fixture_from_json(&fixture(
            r#", "account": {"id": "1", "nmae": "x"}"#,
            r#"{"verdict": "accept"}"#,
        ))
        .unwrap_err();
        assert!(
            e.0.starts_with("input.request.account.nmae: unknown field"),
            "{e}"
        );
        let e = fixture_from_json(&fixture("", r#"{"limits": {"min": 3, "mx": 5}}"#)).unwrap_err();
        assert!(e.0.starts_with("expect.limits.mx: unknown field"), "{e}");
        let e =
            fixture_from_json(&fixture("", r#"{"verdict": "accept"}, "comment": 1"#)).unwrap_err();
        assert!(e.0.starts_with("comment: unknown field"), "{e}");
        let e = fixture_from_json(&fixture("", r#"{"error": "trap", "why": 1}"#)).unwrap_err();
        assert!(e.0.contains("expect"), "{e}");
    }

    #[test]
    fn a_wrong_type_names_its_path() {
        let e = fixture_from_json(&fixture(
            r#", "is_trial": "yes""#,
            r#"{"verdict": "accept"}"#,
        ))
        .unwrap_err();
        assert!(
            e.0.starts_with("input.request.is_trial: invalid type"),
            "{e}"
        );
    }

    #[test]
    fn pairs_read_as_lists_or_objects() {
        let list = fixture_from_json(&fixture(
            r#", "settings": [["vip", "1"]], "account": {"sync_options": [["tier", "gold"]]}"#,
            r#"{"verdict": "accept"}"#,
        ))
        .unwrap();
        let object = fixture_from_json(&fixture(
            r#", "settings": {"vip": "1"}, "account": {"sync_options": {"tier": "gold"}}"#,
            r#"{"verdict": "accept"}"#,
        ))
        .unwrap();
        assert_eq!(list.input.request, object.input.request);
        assert_eq!(
            object.input.request.settings,
            vec![("vip".into(), "1".into())]
        );
        let e = fixture_from_json(&fixture(
            r#", "custom_fields": 3"#,
            r#"{"verdict": "accept"}"#,
        ))
        .unwrap_err();
        assert!(
            e.0.starts_with("input.request.custom_fields: expected a list"),
            "{e}"
        );
    }

    #[test]
    fn expectations_read_as_before() {
        for (expect, wanted) in [
            (
                r#"{"error": "fuel-exhausted"}"#,
                r#"{"error":"fuel-exhausted"}"#,
            ),
            (r#"{"verdict": "accept"}"#, r#"{"verdict":"accept"}"#),
            (
                r#"{"verdict": {"reject": {"code": -150, "message": "No."}}}"#,
                r#"{"verdict":{"reject":{"code":-150,"message":"No."}}}"#,
            ),
            (r#"{"limits": null}"#, r#"{"limits":null}"#),
            (
                r#"{"limits": {"min": 3}}"#,
                r#"{"limits":{"min":3,"max":null,"step":null}}"#,
            ),
            (
                r#"{"plan": [{"id": "gb", "value": {"amount": "240"}}]}"#,
                r#"{"plan":[{"id":"gb","value":{"amount":"240"}}]}"#,
            ),
            (
                r#"{"refuse": {"code": -110, "message": "No."}}"#,
                r#"{"refuse":{"code":-110,"message":"No."}}"#,
            ),
        ] {
            let f = fixture_from_json(&fixture("", expect)).unwrap();
            assert_eq!(serde_json::to_string(&f.expect).unwrap(), wanted);
        }
    }
}
