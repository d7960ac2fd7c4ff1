//! The admin API's bodies (`/admin/v1/...`) as they travel: requests are
//! deserialized into these types, the service's data is mapped onto them
//! and serialized. Their `ToSchema` derives are the OpenAPI document's
//! schemas, so the document cannot drift from what the server reads and
//! writes.

use crate::codec::{InputDoc, OutputDoc, Scope};
use crate::domain::hook::{Attribute, Hook};
use crate::service;
use crate::store::{
    BindingHistoryRecord, BindingRecord, EventRecord, HistoryRecord, PlanRecord, PluginSummary,
    ShadowRecord,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

fn empty_object() -> Value {
    Value::Object(Default::default())
}

fn reject() -> String {
    "reject".into()
}

/// JSON text as a value (`null` when it is not JSON).
fn json_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// An error (RFC 9457 problem details), `application/problem+json`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"type": "about:blank", "title": "Not found", "status": 404, "detail": "no binding precheck/min-max"}))]
pub struct Problem {
    /// Always `about:blank`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    /// The HTTP status, repeated.
    pub status: u16,
    /// What went wrong, specifically.
    pub detail: String,
    /// A machine-readable cause: a refused upload's kind (`not-wasm`,
    /// `core-module`, `no-hook`, `compile-timeout`…), `quota`, `invalid-config`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `invalid-config` only: the body field the plugin refuses (`config`,
    /// `shadow.config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// `invalid-config` only: the JSON path of the refused value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// A stored plugin version (`POST /admin/v1/plugins`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"name": "min-max", "version": "9f2c…", "hook": "quantity-limits", "size": 171520, "created": true}))]
pub struct Upload {
    pub name: String,
    /// SHA-256 of the bytes, hex.
    pub version: String,
    pub hook: Hook,
    /// Bytes.
    pub size: u64,
    /// False when these bytes were already stored under this name (HTTP 200).
    pub created: bool,
}

impl From<service::UploadResult> for Upload {
    fn from(u: service::UploadResult) -> Self {
        Upload {
            name: u.name,
            version: u.version,
            hook: u.hook,
            size: u.size as u64,
            created: u.created,
        }
    }
}

/// A plugin: its name, hook and newest version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Plugin {
    pub name: String,
    #[schema(value_type = Hook)]
    pub hook: String,
    /// How many versions are stored.
    pub versions: i64,
    pub latest_version: String,
    /// Milliseconds since the Unix epoch.
    pub latest_uploaded_at: i64,
}

impl From<PluginSummary> for Plugin {
    fn from(s: PluginSummary) -> Self {
        Plugin {
            name: s.name,
            hook: s.hook,
            versions: s.versions,
            latest_version: s.latest_version,
            latest_uploaded_at: s.latest_at,
        }
    }
}

/// The language a component was written in.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Rust,
    Javascript,
    Python,
    Unknown,
}

/// One stored version of a plugin.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PluginVersion {
    pub name: String,
    /// SHA-256 of the component, hex.
    pub version: String,
    #[schema(value_type = Hook)]
    pub hook: String,
    pub size: i64,
    pub uploaded_by: String,
    /// Milliseconds since the Unix epoch.
    pub uploaded_at: i64,
    /// `rust`, `javascript`, `python` or `unknown`.
    #[schema(value_type = Language)]
    pub language: String,
    /// The contract version it implements (`1.0.0`, `2.0.0`; `unknown` for
    /// versions stored before it was recorded).
    #[schema(example = "2.0.0")]
    pub contract: String,
    /// The bindings (`hook/name`) using it, active or as their shadow.
    pub bound_by: Vec<String>,
}

impl From<service::PluginVersion> for PluginVersion {
    fn from(v: service::PluginVersion) -> Self {
        let r = v.record;
        PluginVersion {
            name: r.name,
            version: r.version,
            hook: r.hook,
            size: r.size,
            uploaded_by: r.uploaded_by,
            uploaded_at: r.uploaded_at,
            language: r.language,
            contract: r.contract,
            bound_by: v.bound_by,
        }
    }
}

/// What a binding does when its plugin fails: refuse the call (Code -1)
/// or skip the rule.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    Reject,
    Allow,
}

/// The body of `PUT /admin/v1/bindings/{hook}/{binding}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"plugin": "min-max", "config": {"products": {"cb_basic": {"min": 3, "max": 50}}}}))]
pub struct BindingRequest {
    pub plugin: String,
    /// Default: the binding's current version when it already runs this
    /// plugin, else the plugin's newest. The shadow's version promotes it.
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub scope: Scope,
    /// Higher runs first.
    #[serde(default)]
    pub priority: i64,
    /// The plugin's configuration (checked by the plugin before activation).
    #[serde(default = "empty_object")]
    pub config: Value,
    #[serde(default = "reject")]
    #[schema(value_type = OnFailure, default = "reject")]
    pub on_failure: String,
    /// A candidate version of the same plugin, run beside the active one
    /// after each answer without deciding.
    #[serde(default)]
    pub shadow: Option<ShadowRequest>,
}

/// The shadow of a binding request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShadowRequest {
    pub version: String,
    /// Default: the binding's config.
    #[serde(default)]
    pub config: Option<Value>,
}

impl From<BindingRequest> for service::BindingSpec {
    fn from(b: BindingRequest) -> Self {
        service::BindingSpec {
            plugin: b.plugin,
            version: b.version,
            scope: b.scope,
            priority: b.priority,
            config: b.config,
            on_failure: b.on_failure,
            shadow: b.shadow.map(|s| service::ShadowSpec {
                version: s.version,
                config: s.config,
            }),
        }
    }
}

/// A binding's shadow candidate.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Shadow {
    pub version: String,
    pub config: Value,
    /// Milliseconds since the Unix epoch.
    pub since: i64,
}

impl From<ShadowRecord> for Shadow {
    fn from(s: ShadowRecord) -> Self {
        Shadow {
            version: s.version,
            config: json_value(&s.config),
            since: s.since,
        }
    }
}

/// A binding: which plugin version runs for a hook, where, and how.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Binding {
    pub hook: Hook,
    pub name: String,
    pub plugin: String,
    pub version: String,
    pub scope: Scope,
    pub priority: i64,
    pub config: Value,
    #[schema(value_type = OnFailure)]
    pub on_failure: String,
    pub revision: i64,
    /// The history revision whose content is active.
    pub active_revision: i64,
    pub updated_by: String,
    /// Milliseconds since the Unix epoch.
    pub updated_at: i64,
    pub shadow: Option<Shadow>,
    /// Only on `GET /admin/v1/bindings/{hook}/{binding}`: a page of the
    /// history, newest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<BindingRevision>>,
}

impl From<BindingRecord> for Binding {
    fn from(r: BindingRecord) -> Self {
        Binding {
            hook: r.hook,
            name: r.name,
            plugin: r.plugin_name,
            version: r.plugin_version,
            scope: r.scope,
            priority: r.priority,
            config: json_value(&r.config),
            on_failure: r.on_failure.as_str().to_string(),
            revision: r.revision,
            active_revision: r.based_on,
            updated_by: r.updated_by,
            updated_at: r.updated_at,
            shadow: r.shadow.map(Shadow::from),
            history: None,
        }
    }
}

/// What a binding revision did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BindingAction {
    Activate,
    Rollback,
    Delete,
    ShadowStart,
    ShadowStop,
    Promote,
}

/// One revision of a binding's history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BindingRevision {
    pub revision: i64,
    #[schema(value_type = BindingAction)]
    pub action: String,
    pub plugin: String,
    pub version: String,
    pub scope: Scope,
    pub priority: i64,
    pub config: Value,
    #[schema(value_type = OnFailure)]
    pub on_failure: String,
    pub actor: String,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
}

impl From<BindingHistoryRecord> for BindingRevision {
    fn from(h: BindingHistoryRecord) -> Self {
        BindingRevision {
            revision: h.revision,
            action: h.action,
            plugin: h.plugin_name,
            version: h.plugin_version,
            scope: h.scope,
            priority: h.priority,
            config: json_value(&h.config),
            on_failure: h.on_failure.as_str().to_string(),
            actor: h.actor,
            at: h.at,
        }
    }
}

/// The body of `POST …/rollback` (optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    /// The revision to bring back; default: the one before the active one.
    #[serde(default)]
    pub revision: Option<i64>,
}

/// How a binding's shadow fares since it started.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ShadowReport {
    pub version: String,
    pub config: Value,
    /// Milliseconds since the Unix epoch.
    pub since: i64,
    pub calls: i64,
    pub agreed: i64,
    pub disagreed: i64,
    pub failed: i64,
    /// Invocation ids of recent disagreements (shadow runs), newest first.
    pub samples: Vec<String>,
}

impl From<service::ShadowReport> for ShadowReport {
    fn from(r: service::ShadowReport) -> Self {
        ShadowReport {
            version: r.version,
            config: r.config,
            since: r.since,
            calls: r.calls,
            agreed: r.agreed,
            disagreed: r.disagreed,
            failed: r.failed,
            samples: r.samples,
        }
    }
}

/// A tenant's calls and plugin failures over a window, in 5-minute buckets.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Overview {
    pub window_seconds: i64,
    /// Milliseconds since the Unix epoch.
    pub since: i64,
    pub bucket_seconds: i64,
    /// Oldest first, one per bucket.
    pub buckets: Vec<OverviewBucket>,
    pub calls: Vec<EndpointCount>,
    pub plugin_failures: Vec<FailureCount>,
    pub limit_hits: Vec<FailureCount>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OverviewBucket {
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    pub calls: i64,
    /// Calls answered with a business refusal (Codes -100…-199).
    pub rejected: i64,
    /// Plugin failures (any error kind).
    pub failures: i64,
    /// Plugin runs stopped by a limit.
    pub limit_hits: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EndpointCount {
    pub endpoint: String,
    pub code: i64,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FailureCount {
    pub binding: String,
    #[schema(value_type = Hook)]
    pub hook: String,
    pub kind: String,
    pub count: i64,
}

impl From<service::FailureCount> for FailureCount {
    fn from(f: service::FailureCount) -> Self {
        FailureCount {
            binding: f.binding,
            hook: f.hook,
            kind: f.kind,
            count: f.count,
        }
    }
}

impl From<service::Overview> for Overview {
    fn from(o: service::Overview) -> Self {
        Overview {
            window_seconds: o.window_seconds,
            since: o.since,
            bucket_seconds: o.bucket_seconds,
            buckets: o
                .buckets
                .into_iter()
                .map(|b| OverviewBucket {
                    at: b.at,
                    calls: b.calls,
                    rejected: b.rejected,
                    failures: b.failures,
                    limit_hits: b.limit_hits,
                })
                .collect(),
            calls: o
                .calls
                .into_iter()
                .map(|c| EndpointCount {
                    endpoint: c.endpoint,
                    code: c.code,
                    count: c.count,
                })
                .collect(),
            plugin_failures: o.plugin_failures.into_iter().map(Into::into).collect(),
            limit_hits: o.limit_hits.into_iter().map(Into::into).collect(),
        }
    }
}

/// The body of `POST /admin/v1/dry-run`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DryRunRequest {
    pub plugin: String,
    /// Default: the version a binding of the plugin runs, else the newest.
    #[serde(default)]
    pub version: Option<String>,
    pub input: InputDoc,
    /// Overrides `input.config`.
    #[serde(default)]
    pub config: Option<Value>,
}

impl From<DryRunRequest> for service::DryRunRequest {
    fn from(d: DryRunRequest) -> Self {
        service::DryRunRequest {
            plugin: d.plugin,
            version: d.version,
            input: d.input,
            config: d.config,
        }
    }
}

/// A plugin failure.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunError {
    /// `trap`, `fuel-exhausted`, `deadline-exceeded`, `memory-limit`,
    /// `invalid-output`, `plugin-error`, `invalid-config`…
    pub kind: String,
    pub message: String,
}

impl From<service::RunError> for RunError {
    fn from(e: service::RunError) -> Self {
        RunError {
            kind: e.kind,
            message: e.message,
        }
    }
}

/// What a dry run did: an output or an error, and what it cost.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DryRun {
    pub plugin: String,
    pub version: String,
    pub hook: Hook,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RunError>,
    pub logs: String,
    pub fuel: u64,
    /// Bytes.
    pub peak_memory: u64,
    pub duration_us: u64,
    /// Whether the plugin asked for the customer's subscriptions.
    pub read_subscriptions: bool,
}

impl From<service::DryRunResult> for DryRun {
    fn from(d: service::DryRunResult) -> Self {
        DryRun {
            plugin: d.plugin,
            version: d.version,
            hook: d.hook,
            output: d.output,
            error: d.error.map(Into::into),
            logs: d.logs,
            fuel: d.fuel,
            peak_memory: d.peak_memory,
            duration_us: d.duration_us,
            read_subscriptions: d.read_subscriptions,
        }
    }
}

/// One decision-log entry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Invocation {
    pub id: String,
    #[schema(value_type = Hook)]
    pub hook: String,
    pub binding: String,
    pub plugin: String,
    pub version: String,
    pub track_id: String,
    /// `accept`, `reject`, `limits`, `no-limits`, `plan`, `plan-error`, `error`.
    pub outcome: String,
    /// The hook input (the fixture input format; see PLUGINS.md).
    pub input: Value,
    pub output: Option<Value>,
    pub error: Option<RunError>,
    pub fuel: i64,
    pub peak_memory: i64,
    pub duration_us: i64,
    pub logs: String,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    /// The same case as a fixture file for `tollgate plugin test`.
    pub fixture: Value,
    /// A shadow run (never decided anything).
    pub shadow: bool,
    /// For a shadow run: the active invocation it ran beside.
    pub shadow_of: Option<String>,
    /// For a shadow run: whether it decided as the active one did (`null`
    /// when it failed).
    pub agreed: Option<bool>,
}

impl From<service::LoggedInvocation> for Invocation {
    fn from(i: service::LoggedInvocation) -> Self {
        Invocation {
            id: i.id,
            hook: i.hook,
            binding: i.binding,
            plugin: i.plugin,
            version: i.version,
            track_id: i.track_id,
            outcome: i.outcome,
            input: i.input,
            output: i.output,
            error: i.error.map(Into::into),
            fuel: i.fuel,
            peak_memory: i.peak_memory,
            duration_us: i.duration_us,
            logs: i.logs,
            at: i.at,
            fixture: i.fixture,
            shadow: i.shadow.is_some(),
            shadow_of: i.shadow.as_ref().map(|s| s.0.clone()),
            agreed: i.shadow.and_then(|s| s.1),
        }
    }
}

/// The body of `POST /admin/v1/invocations/{id}/replay` (optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// Default: the logged plugin.
    #[serde(default)]
    pub plugin: Option<String>,
    /// Default: the logged version.
    #[serde(default)]
    pub version: Option<String>,
    /// Default: the logged config.
    #[serde(default)]
    pub config: Option<Value>,
}

impl From<ReplayRequest> for service::ReplayRequest {
    fn from(r: ReplayRequest) -> Self {
        service::ReplayRequest {
            plugin: r.plugin,
            version: r.version,
            config: r.config,
        }
    }
}

/// One side of a replay.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReplayOutcome {
    pub outcome: String,
    pub output: Option<Value>,
    pub error: Option<RunError>,
}

impl From<service::ReplayOutcome> for ReplayOutcome {
    fn from(o: service::ReplayOutcome) -> Self {
        ReplayOutcome {
            outcome: o.outcome,
            output: o.output,
            error: o.error.map(Into::into),
        }
    }
}

/// A logged case decided again.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Replay {
    pub invocation: String,
    pub plugin: String,
    pub version: String,
    pub original: ReplayOutcome,
    pub replayed: ReplayOutcome,
    /// Whether the replayed version decides differently.
    pub changed: bool,
    pub logs: String,
    pub fuel: u64,
    pub duration_us: u64,
}

impl From<service::ReplayResult> for Replay {
    fn from(r: service::ReplayResult) -> Self {
        Replay {
            invocation: r.invocation,
            plugin: r.plugin,
            version: r.version,
            original: r.original.into(),
            replayed: r.replayed.into(),
            changed: r.changed,
            logs: r.logs,
            fuel: r.fuel,
            duration_us: r.duration_us,
        }
    }
}

/// A page of the provisioning feed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Events {
    pub events: Vec<Event>,
    /// The cursor to ask `after` next.
    pub next: i64,
}

/// One provisioning event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Event {
    pub cursor: i64,
    /// `subscription.created`, `subscription.updated`, `account.deleted`…
    pub kind: String,
    pub subscription_id: Option<String>,
    pub account_id: Option<String>,
    pub payload: Value,
    pub track_id: String,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
}

impl From<EventRecord> for Event {
    fn from(e: EventRecord) -> Self {
        Event {
            cursor: e.cursor,
            kind: e.kind,
            subscription_id: e.subscription_id,
            account_id: e.account_id,
            payload: json_value(&e.payload),
            track_id: e.track_id,
            at: e.at,
        }
    }
}

/// A subscription with its add-ons, resource plans and a page of history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Subscription {
    pub external_id: String,
    pub platform_subscription_id: String,
    pub account_id: String,
    pub product_id: String,
    pub service_type: String,
    pub name: String,
    pub quantity: i64,
    #[schema(value_type = crate::domain::hook::SubscriptionStatus)]
    pub status: String,
    pub is_trial: bool,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub attributes: Vec<Attribute>,
    pub addons: Vec<SubscriptionAddon>,
    /// The current resource plan (absolute totals), if any was computed.
    pub resources: Option<ResourcePlan>,
    /// The latest plans, newest first.
    pub plans: Vec<ResourcePlan>,
    /// A page of the history, newest first.
    pub history: Vec<SubscriptionRevision>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubscriptionAddon {
    pub product_id: String,
    pub name: String,
    pub quantity: i64,
    pub active: bool,
}

/// A resource plan: `resources` is `[{"id", "value": {"amount": "240"}}]`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResourcePlan {
    pub version: i64,
    /// `plugin:<binding>` or `builtin`.
    pub source: String,
    pub resources: Value,
    pub track_id: String,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
}

impl From<PlanRecord> for ResourcePlan {
    fn from(p: PlanRecord) -> Self {
        ResourcePlan {
            version: p.version,
            source: p.source,
            resources: json_value(&p.plan),
            track_id: p.track_id,
            at: p.at,
        }
    }
}

/// One change in a subscription's history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubscriptionRevision {
    pub version: i64,
    /// The endpoint, e.g. `Subscriptions/Update`.
    pub operation: String,
    pub status: String,
    pub quantity: i64,
    pub product_id: String,
    pub track_id: String,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
}

impl From<HistoryRecord> for SubscriptionRevision {
    fn from(h: HistoryRecord) -> Self {
        SubscriptionRevision {
            version: h.version,
            operation: h.operation,
            status: h.status,
            quantity: h.quantity,
            product_id: h.product_id,
            track_id: h.track_id,
            at: h.at,
        }
    }
}

impl From<service::SubscriptionDetails> for Subscription {
    fn from(d: service::SubscriptionDetails) -> Self {
        let s = d.subscription;
        let plans: Vec<ResourcePlan> = d.plans.into_iter().map(Into::into).collect();
        Subscription {
            external_id: s.external_id,
            platform_subscription_id: s.platform_subscription_id,
            account_id: s.account_id,
            product_id: s.product_id,
            service_type: s.service_type,
            name: s.name,
            quantity: s.quantity,
            status: s.status.as_str().to_string(),
            is_trial: s.is_trial,
            created_at: s.created_at,
            attributes: s.attributes,
            addons: s
                .addons
                .into_iter()
                .map(|a| SubscriptionAddon {
                    product_id: a.product_id,
                    name: a.name,
                    quantity: a.quantity,
                    active: a.active,
                })
                .collect(),
            resources: plans.first().cloned(),
            plans,
            history: d.history.into_iter().map(Into::into).collect(),
        }
    }
}

/// The body of `POST /admin/v1/tenants`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    pub name: String,
    /// Default: a new GUID.
    #[serde(default)]
    pub application_id: Option<String>,
    /// Default: a new random key.
    #[serde(default)]
    pub api_key: Option<String>,
}

/// A new tenant's secrets, answered once (only their hashes are kept).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TenantSecrets {
    pub tenant_id: String,
    pub name: String,
    pub application_id: String,
    /// The key to enter in BSS; the platform sends its Base64.
    pub api_key: String,
    /// Bearer token of the tenant's admin API.
    pub admin_token: String,
}

impl From<service::TenantSecrets> for TenantSecrets {
    fn from(s: service::TenantSecrets) -> Self {
        TenantSecrets {
            tenant_id: s.tenant_id,
            name: s.name,
            application_id: s.application_id,
            api_key: s.api_key,
            admin_token: s.admin_token,
        }
    }
}

/// The body of `POST /admin/v1/tenants/{id}/api-key` (optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRotation {
    /// Default: a new random key.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Keep accepting the previous key too (until the next rotation).
    #[serde(default)]
    pub keep_previous: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RotatedApiKey {
    pub tenant_id: String,
    pub api_key: String,
    pub previous_key_valid: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RotatedAdminToken {
    pub tenant_id: String,
    pub admin_token: String,
}

/// A tenant's overrides of the per-call limits and quotas (absent: the
/// server's defaults).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_plugin_versions: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_plugin_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bindings: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_budget_ms: Option<u64>,
}

impl From<TenantLimits> for service::TenantLimits {
    fn from(l: TenantLimits) -> Self {
        service::TenantLimits {
            fuel: l.fuel,
            deadline_ms: l.deadline_ms,
            memory_bytes: l.memory_bytes,
            input_bytes: l.input_bytes,
            output_bytes: l.output_bytes,
            log_bytes: l.log_bytes,
            max_plugin_versions: l.max_plugin_versions,
            max_plugin_bytes: l.max_plugin_bytes,
            max_bindings: l.max_bindings,
            call_budget_ms: l.call_budget_ms,
        }
    }
}

/// The limits a tenant now has (`null`: the server's defaults).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TenantLimitsSet {
    pub tenant_id: String,
    pub limits: Option<TenantLimits>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wire limits and the service's are the same JSON shape (every
    /// field set both ways), so neither can gain a field alone.
    #[test]
    fn tenant_limits_match_the_service_type() {
        let wire = TenantLimits {
            fuel: Some(1),
            deadline_ms: Some(2),
            memory_bytes: Some(3),
            input_bytes: Some(4),
            output_bytes: Some(5),
            log_bytes: Some(6),
            max_plugin_versions: Some(7),
            max_plugin_bytes: Some(8),
            max_bindings: Some(9),
            call_budget_ms: Some(10),
        };
        let text = serde_json::to_string(&wire).unwrap();
        let service: service::TenantLimits = serde_json::from_str(&text).unwrap();
        assert_eq!(service, wire.into());
        let back: TenantLimits =
            serde_json::from_str(&serde_json::to_string(&service).unwrap()).unwrap();
        assert_eq!(back, wire);
    }
}
