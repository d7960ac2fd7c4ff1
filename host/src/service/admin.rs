//! The tenant's self-service: upload plugin versions, bind and roll back,
//! dry-run, read and replay the decision log, manage the catalogue and
//! setup fields, read the event feed and a subscription's state. Every
//! lookup is scoped to the calling tenant: another tenant's object is
//! "not found".

use super::budgets::Budget;
use super::hooks::FailurePolicy;
use super::{App, Result, ServiceError, Tenant};
use crate::codec::documents::{CatalogDoc, SetupDoc};
use crate::codec::{self, InputDoc, OutputDoc, Scope};
use crate::domain::hook::{Hook, HookInput};
use crate::runtime::{ConfigCheck, LoadError, PluginError};
use crate::store::{
    BindingHistoryRecord, BindingRecord, BindingWrite, DeleteVersionOutcome, EventRecord,
    HistoryRecord, InsertOutcome, InvocationFilter, InvocationRecord, PlanRecord, PluginMeta,
    PluginRecord, PluginSummary, ShadowChange, StoreError, UploadQuota,
};
use std::sync::Arc;

/// Why an upload produced no plugin.
enum UploadError {
    Load(LoadError),
    Busy,
}
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A binding config (or a shadow's) as stored text, within its size bound.
fn config_text(config: &Value, field: &str) -> Result<String> {
    let text = config.to_string();
    if text.len() > MAX_CONFIG_BYTES {
        return Err(ServiceError::TooLarge(format!(
            "the binding's {field} is {} bytes; at most {MAX_CONFIG_BYTES} are allowed",
            text.len()
        )));
    }
    Ok(text)
}

/// A page of a history list: the newest `limit` entries below `before`.
#[derive(Debug, Clone, Copy, Default)]
pub struct HistoryPage {
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

impl HistoryPage {
    /// Entries per page: 100 by default, at most 1000.
    pub fn limit(&self) -> i64 {
        self.limit.unwrap_or(100).clamp(1, 1000)
    }
}

/// Largest binding config, in bytes of JSON.
pub const MAX_CONFIG_BYTES: usize = 64 * 1024;

/// Plugin and binding names: `[a-z0-9][a-z0-9._-]{0,63}`.
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-')
        })
}

fn check_name(what: &str, name: &str) -> Result<()> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(ServiceError::Invalid(format!(
            "{what} name {name:?} is invalid: use 1 to 64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"
        )))
    }
}

/// A stored upload: what `upload_plugin` did.
#[derive(Debug, Clone)]
pub struct UploadResult {
    pub name: String,
    /// SHA-256 of the bytes, hex.
    pub version: String,
    pub hook: Hook,
    pub size: usize,
    /// False when these bytes were already stored under this name.
    pub created: bool,
}

/// A stored plugin version and the bindings (`hook/name`) using it, active
/// or as their shadow.
#[derive(Debug, Clone)]
pub struct PluginVersion {
    pub record: PluginRecord,
    pub bound_by: Vec<String>,
}

/// What a binding activation asks for.
#[derive(Debug, Clone)]
pub struct BindingSpec {
    pub plugin: String,
    /// Defaults to the binding's current version (a new binding: the
    /// plugin's newest).
    pub version: Option<String>,
    pub scope: Scope,
    pub priority: i64,
    pub config: Value,
    /// `reject` or `allow`.
    pub on_failure: String,
    /// A candidate version (of the same plugin) to run beside the active
    /// one without deciding; its config defaults to the binding's.
    pub shadow: Option<ShadowSpec>,
}

/// The shadow a binding activation asks for.
#[derive(Debug, Clone)]
pub struct ShadowSpec {
    pub version: String,
    pub config: Option<Value>,
}

/// How a shadow fared since it started.
#[derive(Debug, Clone)]
pub struct ShadowReport {
    pub version: String,
    pub config: Value,
    pub since: i64,
    pub calls: i64,
    pub agreed: i64,
    pub disagreed: i64,
    pub failed: i64,
    /// Invocation ids of recent disagreements (shadow runs), newest first.
    pub samples: Vec<String>,
}

/// Another plugin, version or config than the logged ones, for a replay.
#[derive(Debug, Clone, Default)]
pub struct ReplayRequest {
    pub plugin: Option<String>,
    pub version: Option<String>,
    pub config: Option<Value>,
}

/// A tenant's calls and plugin failures over a window.
#[derive(Debug, Clone)]
pub struct Overview {
    pub window_seconds: i64,
    pub since: i64,
    pub bucket_seconds: i64,
    pub buckets: Vec<OverviewBucket>,
    pub calls: Vec<EndpointCount>,
    pub plugin_failures: Vec<FailureCount>,
    pub limit_hits: Vec<FailureCount>,
}

#[derive(Debug, Clone, Default)]
pub struct OverviewBucket {
    pub at: i64,
    pub calls: i64,
    /// Calls answered with a business refusal (Codes -100…-199).
    pub rejected: i64,
    /// Plugin failures (any error kind).
    pub failures: i64,
    /// Plugin runs stopped by a limit.
    pub limit_hits: i64,
}

#[derive(Debug, Clone)]
pub struct EndpointCount {
    pub endpoint: String,
    pub code: i64,
    pub count: i64,
}

#[derive(Debug, Clone)]
pub struct FailureCount {
    pub binding: String,
    pub hook: String,
    pub kind: String,
    pub count: i64,
}

/// Error kinds that are limit hits (`PluginError::is_limit`).
const LIMIT_KINDS: &[&str] = &[
    "fuel-exhausted",
    "deadline-exceeded",
    "memory-limit",
    "stack-overflow",
    "oversize-output",
    "oversize-input",
    "call-budget",
];

/// A dry run: a plugin version (default: the bound one) on an input.
#[derive(Debug, Clone)]
pub struct DryRunRequest {
    pub plugin: String,
    pub version: Option<String>,
    pub input: InputDoc,
    /// Overrides `input.config`.
    pub config: Option<Value>,
}

/// A plugin failure: its kind and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct RunError {
    pub kind: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct DryRunResult {
    pub plugin: String,
    pub version: String,
    pub hook: Hook,
    pub output: Option<OutputDoc>,
    pub error: Option<RunError>,
    pub logs: String,
    pub fuel: u64,
    pub peak_memory: u64,
    pub duration_us: u64,
    pub read_subscriptions: bool,
}

/// One decision-log entry, its input and output decoded.
#[derive(Debug, Clone)]
pub struct LoggedInvocation {
    pub id: String,
    pub hook: String,
    pub binding: String,
    pub plugin: String,
    pub version: String,
    pub track_id: String,
    pub outcome: String,
    pub input: Value,
    pub output: Option<Value>,
    pub error: Option<RunError>,
    pub fuel: i64,
    pub peak_memory: i64,
    pub duration_us: i64,
    pub logs: String,
    pub at: i64,
    /// The same case as a fixture file for `tollgate plugin test`.
    pub fixture: Value,
    /// For a shadow run: the active invocation it ran beside, and whether
    /// it decided as that one did (`None` when it failed).
    pub shadow: Option<(String, Option<bool>)>,
}

impl From<InvocationRecord> for LoggedInvocation {
    fn from(r: InvocationRecord) -> Self {
        let input: Value = serde_json::from_str(&r.input).unwrap_or(Value::Null);
        // Through the codec, so an output logged in an older form (a plan's
        // `plan_error`) shows, replays and compares as today's.
        let output: Option<Value> =
            r.output
                .as_deref()
                .and_then(|o| match codec::output_from_json(o) {
                    Ok(output) => serde_json::to_value(OutputDoc::from_output(&output)).ok(),
                    Err(_) => serde_json::from_str(o).ok(),
                });
        let error = r.error_kind.clone().map(|kind| RunError {
            kind,
            message: r.error_message.clone().unwrap_or_default(),
        });
        let expect = match (&output, &error) {
            (Some(o), _) => o.clone(),
            (None, Some(e)) => serde_json::json!({"error": e.kind}),
            (None, None) => Value::Null,
        };
        let fixture = serde_json::json!({
            "description": format!("{} {} ({}), logged {}", r.hook, r.binding, r.outcome, r.id),
            "hook": r.hook,
            "input": input,
            "expect": expect,
        });
        LoggedInvocation {
            id: r.id,
            hook: r.hook,
            binding: r.binding,
            plugin: r.plugin_name,
            version: r.plugin_version,
            track_id: r.track_id,
            outcome: r.outcome,
            input,
            output,
            error,
            fuel: r.fuel,
            peak_memory: r.peak_memory,
            duration_us: r.duration_us,
            logs: r.logs,
            at: r.at,
            fixture,
            shadow: r.shadow.map(|s| (s.invocation, s.agreed)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReplayOutcome {
    pub outcome: String,
    pub output: Option<Value>,
    pub error: Option<RunError>,
}

#[derive(Debug, Clone)]
pub struct ReplayResult {
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

/// A subscription with its add-ons, its latest resource plans and a page
/// of its history.
#[derive(Debug, Clone)]
pub struct SubscriptionDetails {
    pub subscription: crate::domain::rules::StoredSubscription,
    pub plans: Vec<PlanRecord>,
    pub history: Vec<HistoryRecord>,
}

fn run_error(e: &PluginError) -> RunError {
    RunError {
        kind: e.kind().to_string(),
        message: e.to_string(),
    }
}

impl App {
    /// Upload a plugin version: checked (size, component, one hook world
    /// type-checked against the linker), compiled under a deadline and the
    /// compile queue, stored content-addressed within the tenant's quotas.
    /// Same bytes twice: same version, no change. Refused bytes never reach
    /// the compiled-code cache.
    pub async fn upload_plugin(
        &self,
        tenant: &Tenant,
        name: &str,
        bytes: Vec<u8>,
        actor: &str,
    ) -> Result<UploadResult> {
        check_name("plugin", name)?;
        let version = hex::encode(Sha256::digest(&bytes));
        let size = bytes.len();
        if let Some(stored) = self.store.plugin(&tenant.id, name, &version).await? {
            let hook = stored.hook.parse::<Hook>().map_err(|e| {
                ServiceError::Store(crate::store::StoreError::Corrupt(e.to_string()))
            })?;
            return Ok(UploadResult {
                name: name.to_string(),
                version,
                hook,
                size,
                created: false,
            });
        }
        self.check_upload_quota(tenant, size).await?;
        let (plugin, native) = match self.compile_upload(tenant, bytes.clone()).await {
            Ok(loaded) => loaded,
            Err(e) => return Err(self.upload_refused(tenant, name, e)),
        };
        let hook = plugin.hook();
        if let Some(existing) = self.store.plugin_versions(&tenant.id, name).await?.first()
            && existing.hook != hook.as_str()
        {
            return Err(ServiceError::Conflict(format!(
                "plugin {name} implements {}; this component implements {hook}: upload it under another name",
                existing.hook
            )));
        }
        let quota = UploadQuota {
            max_versions: i64::try_from(tenant.quotas.max_plugin_versions).unwrap_or(i64::MAX),
            max_bytes: i64::try_from(tenant.quotas.max_plugin_bytes).unwrap_or(i64::MAX),
        };
        let outcome = self
            .store
            .insert_plugin(
                &tenant.id,
                name,
                &version,
                PluginMeta {
                    hook: hook.as_str(),
                    language: plugin.language(),
                    contract: plugin.contract(),
                },
                &bytes,
                actor,
                self.now(),
                quota,
            )
            .await?;
        let created = match outcome {
            InsertOutcome::Created => true,
            InsertOutcome::Existing => false,
            InsertOutcome::TooManyVersions { limit } => {
                return Err(self.quota_refusal(Budget::PluginVersions, limit, None));
            }
            InsertOutcome::TooManyBytes { used, limit } => {
                return Err(self.quota_refusal(Budget::PluginBytes, limit, Some((used, size))));
            }
        };
        self.cache_compiled(&version, Arc::new(plugin), native)
            .await;
        Ok(UploadResult {
            name: name.to_string(),
            version,
            hook,
            size,
            created,
        })
    }

    /// A refused upload: counted by reason, logged, and answered as what
    /// the uploader can act on (retry, smaller, or the component's fault).
    fn upload_refused(&self, tenant: &Tenant, name: &str, e: UploadError) -> ServiceError {
        let reason = match &e {
            UploadError::Load(load) => load.kind(),
            UploadError::Busy => "busy",
        };
        self.metrics.upload_rejected(reason);
        tracing::info!(tenant = %tenant.id, plugin = name, reason, "upload refused");
        match e {
            UploadError::Busy => ServiceError::Unavailable(
                "Too many uploads are compiling right now; please retry shortly.".into(),
            ),
            UploadError::Load(e @ LoadError::TooLarge { .. }) => {
                ServiceError::TooLarge(e.to_string())
            }
            UploadError::Load(other) => ServiceError::Refused(other),
        }
    }

    /// Compile and load an upload without caching it.
    async fn compile_upload(
        &self,
        tenant: &Tenant,
        bytes: Vec<u8>,
    ) -> std::result::Result<(crate::runtime::CompiledPlugin, Vec<u8>), UploadError> {
        let native = self
            .compile_untrusted(&tenant.id, bytes)
            .await
            .map_err(|e| match e {
                super::compile::CompileError::Busy => UploadError::Busy,
                super::compile::CompileError::Load(e) => UploadError::Load(e),
            })?;
        let plugin = self
            .load_native(native.clone())
            .await
            .map_err(UploadError::Load)?;
        Ok((plugin, native))
    }

    /// Refuse early (before compiling) an upload the quotas would refuse;
    /// the insert checks again in its transaction.
    async fn check_upload_quota(&self, tenant: &Tenant, size: usize) -> Result<()> {
        let versions = self.store.plugin_usage(&tenant.id).await?;
        let limit_versions = i64::try_from(tenant.quotas.max_plugin_versions).unwrap_or(i64::MAX);
        let limit_bytes = i64::try_from(tenant.quotas.max_plugin_bytes).unwrap_or(i64::MAX);
        if versions.0 >= limit_versions {
            return Err(self.quota_refusal(Budget::PluginVersions, limit_versions, None));
        }
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        if versions.1.saturating_add(size) > limit_bytes {
            return Err(self.quota_refusal(
                Budget::PluginBytes,
                limit_bytes,
                Some((versions.1, size as usize)),
            ));
        }
        Ok(())
    }

    fn quota_refusal(
        &self,
        budget: Budget,
        limit: i64,
        bytes: Option<(i64, usize)>,
    ) -> ServiceError {
        self.metrics.budget_refused(budget);
        self.metrics.upload_rejected("quota");
        let detail = match (budget, bytes) {
            (Budget::PluginBytes, Some((used, size))) => format!(
                "Quota max_plugin_bytes exceeded: the tenant's plugin versions take {used} bytes and this upload {size} more, over the limit of {limit} bytes. Delete unused versions (DELETE /admin/v1/plugins/{{name}}/versions/{{version}}) or ask the operator for a larger quota."
            ),
            _ => format!(
                "Quota max_plugin_versions exceeded: the tenant already stores {limit} plugin versions. Delete unused versions (DELETE /admin/v1/plugins/{{name}}/versions/{{version}}) or ask the operator for a larger quota."
            ),
        };
        ServiceError::Quota { budget, detail }
    }

    /// Remove a version no binding uses (active, shadow, or the revision a
    /// rollback would restore), and free its compiled code when no other
    /// upload has the same bytes.
    pub async fn delete_plugin_version(
        &self,
        tenant: &Tenant,
        name: &str,
        version: &str,
    ) -> Result<()> {
        match self
            .store
            .delete_plugin_version(&tenant.id, name, version)
            .await?
        {
            DeleteVersionOutcome::NotFound => Err(ServiceError::NotFound(format!(
                "plugin {name} has no version {version}"
            ))),
            DeleteVersionOutcome::InUse(users) => Err(ServiceError::Conflict(format!(
                "plugin {name} version {version} is used by binding(s) {}: bind another version (or end the shadow) first",
                users.join(", ")
            ))),
            DeleteVersionOutcome::Deleted {
                content_still_stored,
            } => {
                if !content_still_stored {
                    self.evict_compiled(version).await;
                }
                Ok(())
            }
        }
    }

    pub async fn plugins(&self, tenant: &Tenant) -> Result<Vec<PluginSummary>> {
        Ok(self.store.plugins(&tenant.id).await?)
    }

    pub async fn plugin_versions(&self, tenant: &Tenant, name: &str) -> Result<Vec<PluginVersion>> {
        let versions = self.store.plugin_versions(&tenant.id, name).await?;
        if versions.is_empty() {
            return Err(ServiceError::NotFound(format!("no plugin named {name}")));
        }
        let mut users = self.store.version_users(&tenant.id, name).await?;
        Ok(versions
            .into_iter()
            .map(|record| PluginVersion {
                bound_by: users.remove(&record.version).unwrap_or_default(),
                record,
            })
            .collect())
    }

    /// A stored version of `name` (the newest when `version` is none).
    async fn resolve_version(
        &self,
        tenant: &Tenant,
        name: &str,
        version: Option<&str>,
    ) -> Result<PluginRecord> {
        match version {
            Some(v) => self
                .store
                .plugin(&tenant.id, name, v)
                .await?
                .ok_or_else(|| ServiceError::NotFound(format!("plugin {name} has no version {v}"))),
            None => self
                .store
                .plugin_versions(&tenant.id, name)
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| ServiceError::NotFound(format!("no plugin named {name}"))),
        }
    }

    /// Activate a plugin version on a binding: atomic, effective for the
    /// next call, recorded in the binding's history. Without `version` a
    /// binding keeps its current version (of the same plugin); a new
    /// binding takes the plugin's newest. The config (and a shadow's) is
    /// checked by the plugin first: a config it cannot use changes nothing.
    /// Activating the shadow's version promotes it (the shadow ends).
    pub async fn put_binding(
        &self,
        tenant: &Tenant,
        hook: Hook,
        name: &str,
        spec: &BindingSpec,
        actor: &str,
    ) -> Result<BindingRecord> {
        check_name("binding", name)?;
        let current = self.store.binding(&tenant.id, hook.as_str(), name).await?;
        let version = match (&spec.version, &current) {
            (Some(v), _) => Some(v.as_str()),
            (None, Some(c)) if c.plugin_name == spec.plugin => Some(c.plugin_version.as_str()),
            (None, _) => None,
        };
        let plugin = self.resolve_version(tenant, &spec.plugin, version).await?;
        self.check_plugin_hook(&plugin, hook)?;
        let policy = FailurePolicy::parse(&spec.on_failure).ok_or_else(|| {
            ServiceError::Invalid(format!(
                "on_failure is {:?}; expected \"reject\" or \"allow\"",
                spec.on_failure
            ))
        })?;
        let config = config_text(&spec.config, "config")?;
        spec.scope.validate().map_err(ServiceError::Invalid)?;
        let baseline = current.as_ref().map(|c| c.config.as_str());
        self.check_binding_config(tenant, hook, &plugin, &config, baseline, "config")
            .await?;
        let shadow = self
            .shadow_change(tenant, hook, spec, &plugin, &config, &current)
            .await?;
        let promotes = current
            .as_ref()
            .and_then(|c| c.shadow.as_ref())
            .is_some_and(|s| s.version == plugin.version && spec.shadow.is_none());
        let write = BindingWrite {
            plugin_name: &plugin.name,
            plugin_version: &plugin.version,
            scope: &spec.scope,
            priority: spec.priority,
            config: &config,
            on_failure: policy,
            shadow: match (&shadow, promotes) {
                (Some((version, config)), _) => ShadowChange::Set { version, config },
                (None, true) => ShadowChange::Clear,
                (None, false) => ShadowChange::Keep,
            },
        };
        let action = if promotes { "promote" } else { "activate" };
        self.put_binding_retrying(tenant, hook, name, &write, action, None, actor)
            .await
    }

    fn check_plugin_hook(&self, plugin: &PluginRecord, hook: Hook) -> Result<()> {
        if plugin.hook != hook.as_str() {
            return Err(ServiceError::Invalid(format!(
                "plugin {} implements the {} hook, not {hook}",
                plugin.name, plugin.hook
            )));
        }
        Ok(())
    }

    /// The shadow a binding body asks for: a version of the same plugin and
    /// its config (the binding's by default), checked like the active one.
    async fn shadow_change(
        &self,
        tenant: &Tenant,
        hook: Hook,
        spec: &BindingSpec,
        plugin: &PluginRecord,
        config: &str,
        _current: &Option<BindingRecord>,
    ) -> Result<Option<(String, String)>> {
        let Some(shadow) = &spec.shadow else {
            return Ok(None);
        };
        let candidate = self
            .resolve_version(tenant, &plugin.name, Some(&shadow.version))
            .await?;
        self.check_plugin_hook(&candidate, hook)?;
        let shadow_config = match &shadow.config {
            Some(value) => config_text(value, "shadow.config")?,
            None => config.to_string(),
        };
        self.check_binding_config(
            tenant,
            hook,
            &candidate,
            &shadow_config,
            Some(config),
            "shadow.config",
        )
        .await?;
        Ok(Some((candidate.version, shadow_config)))
    }

    /// Check a config with the plugin that will read it, before anything
    /// changes: a v2 plugin's `validate-config`; a v1 plugin (which has no
    /// such export) is run on the tenant's most recent logged input for the
    /// hook, and refused when it fails there with this config but not with
    /// `baseline` (the config in use): a failure the config change causes.
    /// `field` names the body field in the error.
    async fn check_binding_config(
        &self,
        tenant: &Tenant,
        hook: Hook,
        plugin: &PluginRecord,
        config: &str,
        baseline: Option<&str>,
        field: &str,
    ) -> Result<()> {
        let compiled = self.compiled(&tenant.id, &plugin.version).await?;
        let limits = tenant
            .limits
            .for_language(compiled.language(), &self.config.engine);
        let refused = |path: String, message: String| ServiceError::InvalidConfig {
            field: field.to_string(),
            path,
            message,
        };
        match self
            .validate_config(&tenant.id, compiled.clone(), config.to_string(), limits)
            .await?
        {
            ConfigCheck::Valid => Ok(()),
            ConfigCheck::Invalid { path, message } => Err(refused(path, message)),
            // A limit says nothing about the config (the tenant's limits
            // may simply be too tight): the binding's calls will show it.
            ConfigCheck::Failed(e) if e.is_limit() => {
                tracing::warn!(tenant = %tenant.id, plugin = %plugin.name, error = %e,
                    "could not check a binding config within the limits; accepted unchecked");
                Ok(())
            }
            ConfigCheck::Failed(e) => Err(refused(
                "$".into(),
                format!("the plugin failed while checking the config: it {e}"),
            )),
            ConfigCheck::NotSupported => {
                let Some(baseline) = baseline else {
                    return Ok(());
                };
                let filter = InvocationFilter {
                    hook: Some(hook.as_str().to_string()),
                    shadow: Some(false),
                    limit: 1,
                    ..Default::default()
                };
                let Some(latest) = self.store.invocations(&tenant.id, &filter).await?.pop() else {
                    return Ok(());
                };
                let Ok(input) = codec::input_from_json(&latest.input) else {
                    return Ok(());
                };
                let run = |config: &str| {
                    let mut input = input.clone();
                    input.context.config = config.to_string();
                    self.execute(&tenant.id, compiled.clone(), input, limits)
                };
                let failure = |outcome: std::result::Result<_, PluginError>| match outcome {
                    Err(e) if !e.is_limit() => Some(e),
                    _ => None,
                };
                let Some(e) = failure(run(config).await?.0.outcome) else {
                    return Ok(());
                };
                if failure(run(baseline).await?.0.outcome).is_some() {
                    return Ok(());
                }
                Err(refused(
                    "$".into(),
                    format!(
                        "with this config the plugin fails on the latest logged {hook} call ({}), which it decides with the config in use: it {e}",
                        latest.id
                    ),
                ))
            }
        }
    }

    /// End a binding's shadow.
    pub async fn delete_shadow(
        &self,
        tenant: &Tenant,
        hook: Hook,
        name: &str,
        actor: &str,
    ) -> Result<()> {
        if self
            .store
            .clear_shadow(&tenant.id, hook.as_str(), name, actor, self.now())
            .await?
        {
            Ok(())
        } else {
            Err(ServiceError::NotFound(format!(
                "binding {hook}/{name} has no shadow"
            )))
        }
    }

    /// How a binding's shadow fares: runs, agreements, disagreements,
    /// failures since it started, and recent disagreements.
    pub async fn shadow_report(
        &self,
        tenant: &Tenant,
        hook: Hook,
        name: &str,
    ) -> Result<ShadowReport> {
        self.flush_decisions().await;
        let shadow = self
            .store
            .binding(&tenant.id, hook.as_str(), name)
            .await?
            .and_then(|b| b.shadow)
            .ok_or_else(|| {
                ServiceError::NotFound(format!("binding {hook}/{name} has no shadow"))
            })?;
        let stats = self
            .store
            .shadow_stats(&tenant.id, hook.as_str(), name, shadow.since)
            .await?;
        Ok(ShadowReport {
            version: shadow.version,
            config: serde_json::from_str(&shadow.config).unwrap_or(Value::Null),
            since: shadow.since,
            calls: stats.runs,
            agreed: stats.agreed,
            disagreed: stats.disagreed,
            failed: stats.failed,
            samples: stats.samples,
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn put_binding_retrying(
        &self,
        tenant: &Tenant,
        hook: Hook,
        name: &str,
        write: &BindingWrite<'_>,
        action: &str,
        restores: Option<i64>,
        actor: &str,
    ) -> Result<BindingRecord> {
        let max_bindings = i64::try_from(tenant.quotas.max_bindings).unwrap_or(i64::MAX);
        let mut last = None;
        for _ in 0..10 {
            match self
                .store
                .put_binding(
                    &tenant.id,
                    hook.as_str(),
                    name,
                    write,
                    action,
                    restores,
                    actor,
                    self.now(),
                    max_bindings,
                )
                .await
            {
                Ok(record) => return Ok(record),
                Err(StoreError::Conflict(m)) => last = Some(m),
                Err(StoreError::TooManyBindings(limit)) => {
                    self.metrics.budget_refused(Budget::Bindings);
                    return Err(ServiceError::Quota {
                        budget: Budget::Bindings,
                        detail: format!(
                            "Quota max_bindings exceeded: the tenant already has {limit} bindings. Delete one or ask the operator for a larger quota."
                        ),
                    });
                }
                Err(e) if e.is_unique_violation() => last = Some(e.to_string()),
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Conflict(last.unwrap_or_else(|| {
            "the binding keeps changing; retry".into()
        })))
    }

    /// A binding with a page of its history (the newest `page.limit`
    /// revisions below `page.before`).
    pub async fn binding(
        &self,
        tenant: &Tenant,
        hook: Hook,
        name: &str,
        page: HistoryPage,
    ) -> Result<(BindingRecord, Vec<BindingHistoryRecord>)> {
        let record = self
            .store
            .binding(&tenant.id, hook.as_str(), name)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no binding {hook}/{name}")))?;
        let history = self
            .store
            .binding_history(&tenant.id, hook.as_str(), name, page.before, page.limit())
            .await?;
        Ok((record, history))
    }

    pub async fn bindings(&self, tenant: &Tenant) -> Result<Vec<BindingRecord>> {
        Ok(self.store.bindings(&tenant.id).await?)
    }

    pub async fn delete_binding(
        &self,
        tenant: &Tenant,
        hook: Hook,
        name: &str,
        actor: &str,
    ) -> Result<()> {
        if self
            .store
            .delete_binding(&tenant.id, hook.as_str(), name, actor, self.now())
            .await?
        {
            Ok(())
        } else {
            Err(ServiceError::NotFound(format!("no binding {hook}/{name}")))
        }
    }

    /// Bring back an earlier revision (by default the one before the active
    /// one): a new revision, atomic like any activation.
    pub async fn rollback_binding(
        &self,
        tenant: &Tenant,
        hook: Hook,
        name: &str,
        to: Option<i64>,
        actor: &str,
    ) -> Result<BindingRecord> {
        let current = self
            .store
            .binding(&tenant.id, hook.as_str(), name)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no binding {hook}/{name}")))?;
        let target = match to {
            Some(revision) => self
                .store
                .binding_revision(&tenant.id, hook.as_str(), name, revision)
                .await?
                .ok_or_else(|| {
                    ServiceError::NotFound(format!(
                        "binding {hook}/{name} has no revision {revision} to roll back to"
                    ))
                })?,
            None => self
                .store
                .rollback_target(&tenant.id, hook.as_str(), name, current.based_on)
                .await?
                .ok_or_else(|| {
                    ServiceError::Conflict(format!(
                        "binding {hook}/{name} has no earlier revision to roll back to"
                    ))
                })?,
        };
        if self
            .store
            .plugin(&tenant.id, &target.plugin_name, &target.plugin_version)
            .await?
            .is_none()
        {
            return Err(ServiceError::Conflict(format!(
                "revision {} uses plugin {} {}, which is no longer stored",
                target.revision, target.plugin_name, target.plugin_version
            )));
        }
        let write = BindingWrite {
            plugin_name: &target.plugin_name,
            plugin_version: &target.plugin_version,
            scope: &target.scope,
            priority: target.priority,
            config: &target.config,
            on_failure: target.on_failure,
            shadow: ShadowChange::Keep,
        };
        self.put_binding_retrying(
            tenant,
            hook,
            name,
            &write,
            "rollback",
            Some(target.revision),
            actor,
        )
        .await
    }

    async fn run_version(
        &self,
        tenant: &Tenant,
        plugin: &PluginRecord,
        input: HookInput,
    ) -> Result<(crate::runtime::Invocation, HookInput, Hook)> {
        let compiled = self.compiled(&tenant.id, &plugin.version).await?;
        let hook = compiled.hook();
        if hook == Hook::QuantityLimits && input.target.is_none() {
            return Err(ServiceError::Invalid(
                "a quantity-limits input needs a `target`".into(),
            ));
        }
        let limits = tenant
            .limits
            .for_language(compiled.language(), &self.config.engine);
        let (invocation, input) = self.execute(&tenant.id, compiled, input, limits).await?;
        Ok((invocation, input, hook))
    }

    /// Evaluate any of the tenant's plugin versions on an input, bound or
    /// not. Writes nothing.
    /// Evaluate a plugin version on an input. Without `version`: the
    /// version a binding of the plugin runs (the newest upload only when
    /// none is bound), so a dry run shows what production does.
    pub async fn dry_run(&self, tenant: &Tenant, request: DryRunRequest) -> Result<DryRunResult> {
        let bound = match &request.version {
            Some(_) => None,
            None => self
                .store
                .bindings(&tenant.id)
                .await?
                .into_iter()
                .filter(|b| b.plugin_name == request.plugin)
                // A binding named after the plugin first, then the first.
                .min_by_key(|b| b.name != request.plugin)
                .map(|b| b.plugin_version),
        };
        let version = request.version.as_deref().or(bound.as_deref());
        let plugin = self
            .resolve_version(tenant, &request.plugin, version)
            .await?;
        let mut doc = request.input;
        if let Some(config) = request.config {
            doc.config = config;
        }
        let (invocation, _, hook) = self.run_version(tenant, &plugin, doc.into_input()).await?;
        let (output, error) = match &invocation.outcome {
            Ok(o) => (Some(OutputDoc::from_output(o)), None),
            Err(e) => (None, Some(run_error(e))),
        };
        Ok(DryRunResult {
            plugin: plugin.name,
            version: plugin.version,
            hook,
            output,
            error,
            logs: invocation.logs,
            fuel: invocation.fuel_used,
            peak_memory: invocation.peak_memory,
            duration_us: invocation.duration.as_micros() as u64,
            read_subscriptions: invocation.read_subscriptions,
        })
    }

    pub async fn invocations(
        &self,
        tenant: &Tenant,
        filter: &InvocationFilter,
    ) -> Result<Vec<LoggedInvocation>> {
        self.flush_decisions().await;
        Ok(self
            .store
            .invocations(&tenant.id, filter)
            .await?
            .into_iter()
            .map(LoggedInvocation::from)
            .collect())
    }

    pub async fn invocation(&self, tenant: &Tenant, id: &str) -> Result<LoggedInvocation> {
        self.flush_decisions().await;
        Ok(self
            .store
            .invocation(&tenant.id, id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no invocation {id}")))?
            .into())
    }

    /// Re-run a logged invocation, with the same input (host-import answers
    /// and random seed included), against `version` (default: the logged
    /// one) of `plugin` (default: the logged plugin).
    pub async fn replay(
        &self,
        tenant: &Tenant,
        id: &str,
        request: ReplayRequest,
    ) -> Result<ReplayResult> {
        let ReplayRequest {
            plugin,
            version,
            config,
        } = request;
        let (plugin, version) = (plugin.as_deref(), version.as_deref());
        let logged = self.invocation(tenant, id).await?;
        let record = self
            .store
            .invocation(&tenant.id, id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no invocation {id}")))?;
        let mut input = codec::input_from_json(&record.input).map_err(|_| {
            ServiceError::Invalid(format!(
                "invocation {id} cannot be replayed: its input was too large to keep whole in the decision log"
            ))
        })?;
        if let Some(config) = config {
            input.context.config = config_text(&config, "config")?;
        }
        let name = plugin.unwrap_or(&logged.plugin);
        let target = self
            .resolve_version(tenant, name, Some(version.unwrap_or(&logged.version)))
            .await?;
        if target.hook != logged.hook {
            return Err(ServiceError::Invalid(format!(
                "invocation {id} is a {} decision; plugin {name} implements {}",
                logged.hook, target.hook
            )));
        }
        let (invocation, _, _) = self.run_version(tenant, &target, input).await?;
        let replayed = match &invocation.outcome {
            Ok(o) => ReplayOutcome {
                outcome: codec::outcome_label(o).to_string(),
                output: serde_json::from_str(&codec::output_to_json(o)).ok(),
                error: None,
            },
            Err(e) => ReplayOutcome {
                outcome: "error".into(),
                output: None,
                error: Some(run_error(e)),
            },
        };
        let original = ReplayOutcome {
            outcome: logged.outcome,
            output: logged.output,
            error: logged.error,
        };
        let changed = original.outcome != replayed.outcome
            || original.output != replayed.output
            || original.error.as_ref().map(|e| &e.kind) != replayed.error.as_ref().map(|e| &e.kind);
        Ok(ReplayResult {
            invocation: id.to_string(),
            plugin: target.name,
            version: target.version,
            original,
            replayed,
            changed,
            logs: invocation.logs,
            fuel: invocation.fuel_used,
            duration_us: invocation.duration.as_micros() as u64,
        })
    }

    /// A tenant's calls and plugin failures over the last `window_seconds`
    /// (at most a day), in 5-minute buckets, from the decision log (so every
    /// instance's calls count).
    pub async fn overview(&self, tenant: &Tenant, window_seconds: i64) -> Result<Overview> {
        self.flush_decisions().await;
        let window = window_seconds.clamp(300, 86_400);
        let bucket_seconds = 300;
        // Buckets end at now (inclusive): the last one holds this instant.
        let since = self.now() - window * 1000 + 1;
        let counts = self
            .store
            .overview(&tenant.id, since, bucket_seconds * 1000)
            .await?;
        let n = usize::try_from(window / bucket_seconds).unwrap_or(1);
        let mut buckets: Vec<OverviewBucket> = (0..n)
            .map(|i| OverviewBucket {
                at: since + i as i64 * bucket_seconds * 1000,
                ..Default::default()
            })
            .collect();
        let bucket = |i: i64| usize::try_from(i).ok().filter(|i| *i < n);
        let mut calls: BTreeMap<(String, i64), i64> = BTreeMap::new();
        for c in &counts.calls {
            if let Some(b) = bucket(c.bucket) {
                buckets[b].calls += c.count;
                if (-199..=-100).contains(&c.code) {
                    buckets[b].rejected += c.count;
                }
            }
            *calls.entry((c.endpoint.clone(), c.code)).or_default() += c.count;
        }
        let mut failures: BTreeMap<(String, String, String), i64> = BTreeMap::new();
        for f in &counts.failures {
            let limit = LIMIT_KINDS.contains(&f.kind.as_str());
            if let Some(b) = bucket(f.bucket) {
                buckets[b].failures += f.count;
                buckets[b].limit_hits += if limit { f.count } else { 0 };
            }
            *failures
                .entry((f.binding.clone(), f.hook.clone(), f.kind.clone()))
                .or_default() += f.count;
        }
        let failure_views = |limits: bool| -> Vec<FailureCount> {
            failures
                .iter()
                .filter(|((_, _, kind), _)| {
                    LIMIT_KINDS.contains(&kind.as_str()) == limits || !limits
                })
                .map(|((binding, hook, kind), count)| FailureCount {
                    binding: binding.clone(),
                    hook: hook.clone(),
                    kind: kind.clone(),
                    count: *count,
                })
                .collect()
        };
        Ok(Overview {
            window_seconds: window,
            since,
            bucket_seconds,
            buckets,
            calls: calls
                .into_iter()
                .map(|((endpoint, code), count)| EndpointCount {
                    endpoint,
                    code,
                    count,
                })
                .collect(),
            plugin_failures: failure_views(false),
            limit_hits: failure_views(true),
        })
    }

    pub async fn put_catalog(&self, tenant: &Tenant, body: &str) -> Result<CatalogDoc> {
        let doc = CatalogDoc::parse(body).map_err(|e| ServiceError::Invalid(e.0))?;
        self.store
            .put_document(&tenant.id, "catalog", &doc.to_json(), self.now())
            .await?;
        Ok(doc)
    }

    pub async fn put_setup_fields(&self, tenant: &Tenant, body: &str) -> Result<SetupDoc> {
        let doc = SetupDoc::parse(body).map_err(|e| ServiceError::Invalid(e.0))?;
        self.store
            .put_document(&tenant.id, "setup-fields", &doc.to_json(), self.now())
            .await?;
        Ok(doc)
    }

    pub async fn events(
        &self,
        tenant: &Tenant,
        after: i64,
        limit: i64,
    ) -> Result<Vec<EventRecord>> {
        Ok(self
            .store
            .events(&tenant.id, after, limit.clamp(1, 1000))
            .await?)
    }

    /// A subscription with its add-ons, its latest plans and a page of its
    /// history.
    pub async fn subscription_details(
        &self,
        tenant: &Tenant,
        external_id: &str,
        page: HistoryPage,
    ) -> Result<SubscriptionDetails> {
        let (subscription, _) = self
            .store
            .subscription(&tenant.id, external_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no subscription {external_id}")))?;
        let plans = self.store.plans(&tenant.id, external_id, 50).await?;
        let history = self
            .store
            .subscription_history(&tenant.id, external_id, page.before, page.limit())
            .await?;
        Ok(SubscriptionDetails {
            subscription,
            plans,
            history,
        })
    }
}
