//! Tollgate's own JSON formats (not the platform's wire format, which only
//! `http` parses): hook inputs and outputs as stored in the decision log and
//! written in fixture files, binding scopes, and the tenant documents
//! (catalogue and setup fields) indexed for the rules.

pub mod documents;
pub mod fixture;

use crate::domain::hook::{
    Hook, HookContext, HookInput, HookOutput, HookRequest, Limits, PlanOutcome, QuantityTarget,
    Rejection, ResourceTotal, SubscriptionInfo, V1_PLAN_ERROR_CODE, Verdict,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(pub String);

/// A hook input in its JSON form. `config` is the binding's configuration as
/// a JSON value (not text); `now` defaults to 0.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InputDoc {
    pub request: HookRequest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<QuantityTarget>,
    #[serde(default)]
    pub now: i64,
    #[serde(default = "empty_object")]
    pub config: Value,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub binding: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub track_id: String,
    /// What `customer-subscriptions` answers.
    #[serde(default)]
    pub subscriptions: Vec<SubscriptionInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

impl InputDoc {
    pub fn from_input(input: &HookInput) -> Self {
        InputDoc {
            request: input.request.clone(),
            target: input.target.clone(),
            now: input.context.now,
            config: serde_json::from_str(&input.context.config)
                .unwrap_or(Value::String(input.context.config.clone())),
            binding: input.context.binding.clone(),
            track_id: input.context.track_id.clone(),
            subscriptions: input.subscriptions.clone(),
            seed: input.seed,
        }
    }

    pub fn into_input(self) -> HookInput {
        let config = match self.config {
            Value::String(text) => text,
            other => other.to_string(),
        };
        HookInput {
            request: self.request,
            target: self.target,
            context: HookContext {
                now: self.now,
                config,
                binding: self.binding,
                track_id: self.track_id,
            },
            subscriptions: self.subscriptions,
            seed: self.seed,
        }
    }
}

/// A binding config (JSON text) as a JSON value; text that is not JSON
/// stays a string.
pub fn config_value(config: &str) -> Value {
    serde_json::from_str(config).unwrap_or_else(|_| Value::String(config.to_string()))
}

/// The part of an input that one invocation adds to its call's shared
/// part (decision log). `config` only when it differs from the one stored
/// for its binding in the shared part.
#[derive(Debug, Serialize)]
pub struct OwnInputDoc<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<&'a QuantityTarget>,
    /// The target's attributes are the shared request's (stored once):
    /// merging copies them back; see [`REQUEST_ATTRIBUTES`].
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub request_attributes: bool,
    pub binding: &'a str,
    pub seed: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
}

/// The own part's flag that its target's attributes are the request's.
pub const REQUEST_ATTRIBUTES: &str = "request_attributes";

/// The part of the inputs that every invocation of one call shares,
/// stored once: the request, `now`, the TrackId, the customer's
/// subscriptions and each binding's config. An invocation's [`OwnInputDoc`]
/// merged into it gives an [`InputDoc`].
pub fn shared_input_json(
    request: &HookRequest,
    now: i64,
    track_id: &str,
    subscriptions: &[SubscriptionInfo],
    configs: &std::collections::BTreeMap<String, String>,
) -> String {
    let configs: serde_json::Map<String, Value> = configs
        .iter()
        .map(|(binding, config)| (binding.clone(), config_value(config)))
        .collect();
    serde_json::json!({
        "request": request,
        "now": now,
        "track_id": track_id,
        "subscriptions": subscriptions,
        "configs": configs,
    })
    .to_string()
}

pub fn input_to_json(input: &HookInput) -> String {
    serde_json::to_string(&InputDoc::from_input(input)).unwrap_or_else(|_| "{}".into())
}

pub fn input_from_json(text: &str) -> Result<HookInput, CodecError> {
    serde_json::from_str::<InputDoc>(text)
        .map(InputDoc::into_input)
        .map_err(|e| CodecError(format!("invalid hook input: {e}")))
}

/// A hook output in its JSON form, one shape per hook:
/// `{"verdict": "accept"}`, `{"verdict": {"reject": {"code": -105, "message": "…"}}}`,
/// `{"limits": {"min": 3}}` (or `{"limits": null}`),
/// `{"plan": [{"id": "storage_gb", "value": {"amount": "240"}}]}`,
/// `{"refuse": {"code": -110, "message": "…"}}`; the older
/// `{"plan_error": "…"}` (logs and fixtures from before refusals had codes)
/// still reads, as a Code -2 refusal.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum OutputDoc {
    Verdict(Verdict),
    Limits(Option<Limits>),
    Plan(Vec<ResourceTotal>),
    Refuse(Rejection),
    /// Read only: never written any more.
    PlanError(String),
}

/// Equal when they mean the same output, so `{"plan_error": "x"}` equals
/// `{"refuse": {"code": -2, "message": "x"}}` (a fixture written before
/// refusals had codes still passes).
impl PartialEq for OutputDoc {
    fn eq(&self, other: &Self) -> bool {
        self.clone().into_output() == other.clone().into_output()
    }
}

impl OutputDoc {
    pub fn from_output(output: &HookOutput) -> Self {
        match output {
            HookOutput::Verdict(v) => OutputDoc::Verdict(v.clone()),
            HookOutput::Limits(l) => OutputDoc::Limits(*l),
            HookOutput::Plan(PlanOutcome::Totals(p)) => OutputDoc::Plan(p.clone()),
            HookOutput::Plan(PlanOutcome::Refuse(r)) => OutputDoc::Refuse(r.clone()),
        }
    }

    pub fn into_output(self) -> HookOutput {
        match self {
            OutputDoc::Verdict(v) => HookOutput::Verdict(v),
            OutputDoc::Limits(l) => HookOutput::Limits(l),
            OutputDoc::Plan(p) => HookOutput::Plan(PlanOutcome::Totals(p)),
            OutputDoc::Refuse(r) => HookOutput::Plan(PlanOutcome::Refuse(r)),
            OutputDoc::PlanError(message) => HookOutput::Plan(PlanOutcome::Refuse(Rejection {
                code: V1_PLAN_ERROR_CODE,
                message,
            })),
        }
    }
}

pub fn output_to_json(output: &HookOutput) -> String {
    serde_json::to_string(&OutputDoc::from_output(output)).unwrap_or_else(|_| "null".into())
}

pub fn output_from_json(text: &str) -> Result<HookOutput, CodecError> {
    serde_json::from_str::<OutputDoc>(text)
        .map(OutputDoc::into_output)
        .map_err(|e| CodecError(format!("invalid hook output: {e}")))
}

/// The outcome label of an output, for the decision log's `outcome` column
/// and its filter. A plan refusal keeps the label `plan-error` it had
/// before refusals had codes, so stored rows and filters stay comparable.
pub fn outcome_label(output: &HookOutput) -> &'static str {
    match output {
        HookOutput::Verdict(Verdict::Accept) => "accept",
        HookOutput::Verdict(Verdict::Reject(_)) => "reject",
        HookOutput::Limits(Some(_)) => "limits",
        HookOutput::Limits(None) => "no-limits",
        HookOutput::Plan(PlanOutcome::Totals(_)) => "plan",
        HookOutput::Plan(PlanOutcome::Refuse(_)) => "plan-error",
    }
}

/// What a fixture expects: an output, or a plugin failure of a given kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Expectation {
    Error { error: String },
    Output(OutputDoc),
}

/// A fixture file: one input and what the plugin must answer. The decision
/// log hands out the same shape for any logged invocation
/// (`GET /admin/v1/invocations/{id}` → `fixture`), so a production case
/// becomes a regression test by saving it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub hook: Hook,
    pub input: InputDoc,
    pub expect: Expectation,
}

/// A fixture file, read strictly: an unknown field is an error naming its
/// JSON path (see [`fixture::fixture_from_json`]).
pub fn fixture_from_json(text: &str) -> Result<Fixture, CodecError> {
    fixture::fixture_from_json(text)
}

/// Where a binding applies: the operations it concerns (empty: all), and
/// the service types and products it is for (both empty: all).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Scope {
    pub service_types: Vec<String>,
    pub product_ids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<crate::domain::hook::Operation>,
}

/// What a scope is matched against.
#[derive(Debug, Clone, Copy)]
pub struct ScopeSubject<'a> {
    pub operation: crate::domain::hook::Operation,
    pub service_type: &'a str,
    /// Every identity of the products concerned: each `ProductID` as sent
    /// and, through the catalogue, the product's `ID` and `Code` (spec §9).
    pub products: &'a [String],
}

impl Scope {
    /// How specifically this scope covers a subject: 2 by product, 1 by
    /// service type, 0 for a binding scoped only by operation (or not at
    /// all); `None` when it does not apply.
    pub fn specificity(&self, subject: &ScopeSubject<'_>) -> Option<u8> {
        if !self.operations.is_empty() && !self.operations.contains(&subject.operation) {
            return None;
        }
        if self.service_types.is_empty() && self.product_ids.is_empty() {
            return Some(0);
        }
        if self
            .product_ids
            .iter()
            .any(|p| subject.products.iter().any(|q| q == p))
        {
            return Some(2);
        }
        if self.service_types.iter().any(|s| s == subject.service_type) {
            return Some(1);
        }
        None
    }

    /// Entries must be non-empty.
    pub fn validate(&self) -> Result<(), String> {
        for list in [&self.service_types, &self.product_ids] {
            if list.iter().any(|s| s.trim().is_empty()) {
                return Err("scope entries cannot be empty strings".into());
            }
        }
        Ok(())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    pub fn from_json(text: &str) -> Result<Self, CodecError> {
        serde_json::from_str(text).map_err(|e| CodecError(format!("invalid scope: {e}")))
    }
}

/// A resource plan as stored and shown: `[{"id": …, "value": {"amount": "240"}}]`.
pub fn plan_to_json(plan: &[ResourceTotal]) -> String {
    serde_json::to_string(plan).unwrap_or_else(|_| "[]".into())
}

pub fn plan_from_json(text: &str) -> Result<Vec<ResourceTotal>, CodecError> {
    serde_json::from_str(text).map_err(|e| CodecError(format!("invalid resource plan: {e}")))
}

/// The payload of a subscription or add-on event in the provisioning feed.
pub fn subscription_event(
    external_id: &str,
    platform_subscription_id: &str,
    account_id: &str,
    operation: crate::domain::hook::Operation,
    state: &crate::domain::rules::NewState,
    plan: Option<&[ResourceTotal]>,
) -> String {
    let addons: Vec<Value> = state
        .addons
        .iter()
        .map(|a| serde_json::json!({"product_id": a.product_id, "quantity": a.quantity, "active": a.active}))
        .collect();
    serde_json::json!({
        "subscription_id": external_id,
        "platform_subscription_id": platform_subscription_id,
        "account_id": account_id,
        "operation": operation.endpoint(),
        "product_id": state.product_id,
        "service_type": state.service_type,
        "quantity": state.quantity,
        "status": state.status.as_str(),
        "is_trial": state.is_trial,
        "addons": addons,
        "resources": plan.map(|p| serde_json::to_value(p).unwrap_or(Value::Null)),
    })
    .to_string()
}

/// An account as stored after Accounts/Synchronize (and in its event).
/// Its own `ExternalID` is left out: it is ours, and a re-sync that only
/// echoes it back changes nothing.
pub fn account_document(a: &crate::domain::interworks::Account) -> String {
    serde_json::json!({
        "id": a.id,
        "reseller_id": a.reseller_id,
        "reseller_external_id": a.reseller_external_id,
        "name": a.name,
        "code": a.code,
        "phone": a.phone,
        "fax": a.fax,
        "website": a.website,
        "email": a.email,
        "is_test": a.is_test,
        "description": a.description,
        "extra_details": a.extra_details,
        "sync_options": a.sync_options,
        "contact": {
            "id": a.contact.id, "first_name": a.contact.first_name, "last_name": a.contact.last_name,
            "phone": a.contact.phone, "fax": a.contact.fax, "email": a.contact.email,
        },
        "address": {
            "address1": a.address.address1, "address2": a.address.address2, "city": a.address.city,
            "post_code": a.address.post_code, "state_code": a.address.state_code, "state_name": a.address.state_name,
            "country_code": a.address.country_code, "country_name": a.address.country_name,
        },
    })
    .to_string()
}

/// An account event's payload: the stored document with the external id.
pub fn account_event(external_id: &str, document: &str) -> String {
    let mut doc: Value = serde_json::from_str(document).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut doc {
        map.insert("external_id".into(), Value::String(external_id.to_string()));
    }
    doc.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::hook::Rejection;

    #[test]
    fn outputs_round_trip() {
        for output in [
            HookOutput::Verdict(Verdict::Accept),
            HookOutput::Verdict(Verdict::Reject(Rejection {
                code: -105,
                message: "no".into(),
            })),
            HookOutput::Limits(Some(Limits {
                min: Some(3),
                max: None,
                step: None,
            })),
            HookOutput::Limits(None),
            HookOutput::Plan(PlanOutcome::Refuse(Rejection {
                code: -110,
                message: "bad".into(),
            })),
            HookOutput::Plan(PlanOutcome::Totals(vec![])),
        ] {
            assert_eq!(output_from_json(&output_to_json(&output)).unwrap(), output);
        }
        assert_eq!(
            output_to_json(&HookOutput::Plan(PlanOutcome::Refuse(Rejection {
                code: -110,
                message: "No.".into()
            }))),
            r#"{"refuse":{"code":-110,"message":"No."}}"#
        );
        assert_eq!(
            output_to_json(&HookOutput::Verdict(Verdict::Accept)),
            r#"{"verdict":"accept"}"#
        );
    }

    #[test]
    fn plan_error_of_older_logs_reads_as_an_invalid_request_refusal() {
        let refusal = HookOutput::Plan(PlanOutcome::Refuse(Rejection {
            code: -2,
            message: "Vault needs a region.".into(),
        }));
        assert_eq!(
            output_from_json(r#"{"plan_error": "Vault needs a region."}"#).unwrap(),
            refusal
        );
        let old: Expectation =
            serde_json::from_str(r#"{"plan_error": "Vault needs a region."}"#).unwrap();
        let new = Expectation::Output(OutputDoc::from_output(&refusal));
        assert_eq!(old, new, "a fixture in the old form matches the refusal");
        let other: Expectation = serde_json::from_str(
            r#"{"refuse": {"code": -110, "message": "Vault needs a region."}}"#,
        )
        .unwrap();
        assert_ne!(other, new);
    }

    #[test]
    fn expectation_reads_errors_and_outputs() {
        let e: Expectation = serde_json::from_str(r#"{"error": "fuel-exhausted"}"#).unwrap();
        assert_eq!(
            e,
            Expectation::Error {
                error: "fuel-exhausted".into()
            }
        );
        let e: Expectation = serde_json::from_str(r#"{"limits": {"min": 3}}"#).unwrap();
        assert_eq!(
            e,
            Expectation::Output(OutputDoc::Limits(Some(Limits {
                min: Some(3),
                ..Default::default()
            })))
        );
    }

    #[test]
    fn scope_specificity() {
        use crate::domain::hook::Operation;
        let at = |service_type: &'static str, products: &'static [&'static str]| {
            let products: Vec<String> = products.iter().map(|p| p.to_string()).collect();
            (service_type, products)
        };
        let matches = |scope: &Scope, (service_type, products): (&str, Vec<String>), operation| {
            scope.specificity(&ScopeSubject {
                operation,
                service_type,
                products: &products,
            })
        };
        let create = Operation::SubscriptionCreate;
        let s = Scope {
            service_types: vec!["backup".into()],
            product_ids: vec!["P1".into()],
            operations: Vec::new(),
        };
        assert_eq!(matches(&s, at("backup", &["P1"]), create), Some(2));
        assert_eq!(matches(&s, at("backup", &["P2"]), create), Some(1));
        assert_eq!(matches(&s, at("mail", &["P2"]), create), None);
        // Any identity of the products concerned (an add-on's, a code).
        assert_eq!(matches(&s, at("mail", &["P2", "P1"]), create), Some(2));
        assert_eq!(matches(&Scope::default(), at("x", &["y"]), create), Some(0));
        let cancels = Scope {
            operations: vec![Operation::SubscriptionCancel],
            ..Scope::default()
        };
        assert_eq!(matches(&cancels, at("x", &["y"]), create), None);
        assert_eq!(
            matches(&cancels, at("x", &["y"]), Operation::SubscriptionCancel),
            Some(0)
        );
        let parsed: Scope =
            serde_json::from_str(r#"{"operations": ["subscription-cancel"]}"#).unwrap();
        assert_eq!(parsed, cancels);
        assert!(serde_json::from_str::<Scope>(r#"{"operations": ["cancel"]}"#).is_err());
    }
}
