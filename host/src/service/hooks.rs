//! Running bindings: which apply to a call, in what order, under which
//! limits and fairness gates, and what a failure means (the binding's
//! policy). Every invocation is recorded in the decision log.

use super::decisions::Record;
use super::{App, Result, ServiceError, Tenant};
use crate::codec::{self, Scope};
use crate::domain::hook::{Hook, HookInput, HookOutput};
use crate::runtime::{CompiledPlugin, Invocation, Limits};
use crate::store::{BindingRecord, InvocationRecord};
use std::sync::{Arc, PoisonError};
use tokio::sync::Semaphore;

/// What happens when a plugin fails (traps, hits a limit, answers garbage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailurePolicy {
    /// The call is refused (Code -1) with a message naming the binding.
    Reject,
    /// The rule is skipped.
    Allow,
}

impl FailurePolicy {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "reject" => Some(FailurePolicy::Reject),
            "allow" => Some(FailurePolicy::Allow),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FailurePolicy::Reject => "reject",
            FailurePolicy::Allow => "allow",
        }
    }
}

/// A binding that applies to the call at hand, with its plugin loaded.
pub(crate) struct ActiveBinding {
    pub record: BindingRecord,
    pub hook: Hook,
    pub specificity: u8,
    pub policy: FailurePolicy,
    /// `Err` when the stored version cannot be loaded: a failure like any
    /// other, handled by the policy.
    pub plugin: Result<Arc<CompiledPlugin>, String>,
}

impl ActiveBinding {
    pub fn reads_subscriptions(&self) -> bool {
        self.plugin.as_ref().is_ok_and(|p| p.reads_subscriptions())
    }
}

/// The result of running one binding.
pub(crate) enum Ran {
    Output(HookOutput),
    Failed(String),
}

impl App {
    fn gate(&self, tenant_id: &str) -> Arc<Semaphore> {
        let mut gates = self.gates.lock().unwrap_or_else(PoisonError::into_inner);
        gates
            .entry(tenant_id.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.config.tenant_concurrency.max(1))))
            .clone()
    }

    /// The tenant's bindings that apply to a call on (service type,
    /// product), in evaluation order: by hook, then priority, then name.
    pub(crate) async fn applicable_bindings(
        &self,
        tenant: &Tenant,
        bindings: &[BindingRecord],
        service_type: &str,
        product_id: &str,
    ) -> Result<Vec<ActiveBinding>> {
        let mut active = Vec::new();
        for record in bindings.iter().cloned() {
            let Ok(hook) = record.hook.parse::<Hook>() else {
                continue;
            };
            let scope = Scope::from_json(&record.scope).unwrap_or_default();
            let Some(specificity) = scope.specificity(service_type, product_id) else {
                continue;
            };
            let policy = FailurePolicy::parse(&record.on_failure).unwrap_or(FailurePolicy::Reject);
            let plugin = match self.compiled(&tenant.id, &record.plugin_version).await {
                Ok(p) => Ok(p),
                Err(ServiceError::Store(e)) => return Err(e.into()),
                Err(e) => Err(e.to_string()),
            };
            active.push(ActiveBinding {
                record,
                hook,
                specificity,
                policy,
                plugin,
            });
        }
        active.sort_by(|a, b| {
            (a.hook, a.record.priority, &a.record.name).cmp(&(
                b.hook,
                b.record.priority,
                &b.record.name,
            ))
        });
        Ok(active)
    }

    /// Run a compiled plugin under the tenant's gate and the process's slot
    /// limit, on a blocking thread. The instance is released after the
    /// answer is handed back.
    pub(crate) async fn execute(
        &self,
        tenant_id: &str,
        plugin: Arc<CompiledPlugin>,
        input: HookInput,
        limits: Limits,
    ) -> Result<(Invocation, HookInput)> {
        let wait = self.config.queue_timeout;
        let busy = || {
            ServiceError::Unavailable(
                "Too many rule evaluations are waiting for this installation; please retry shortly.".into(),
            )
        };
        let tenant_permit = tokio::time::timeout(wait, self.gate(tenant_id).acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        let slot = tokio::time::timeout(wait, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        let runtime = self.runtime.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::task::spawn_blocking(move || {
            let (invocation, spent) = runtime.invoke_deferred(&plugin, &input, &limits);
            let _ = tx.send((invocation, input));
            drop(spent);
            drop(slot);
            drop(tenant_permit);
        });
        rx.await
            .map_err(|_| ServiceError::Internal("a plugin worker thread died".into()))
    }

    /// Run a binding on `input` and record the decision. `input` is
    /// completed here with the binding's config and name.
    pub(crate) async fn run_binding(
        &self,
        tenant: &Tenant,
        binding: &ActiveBinding,
        mut input: HookInput,
        call_id: &str,
    ) -> Result<Ran> {
        input.context.config = binding.record.config.clone();
        input.context.binding = binding.record.name.clone();
        let plugin = match &binding.plugin {
            Ok(p) => p.clone(),
            Err(reason) => {
                self.metrics.invocation(
                    binding.hook.as_str(),
                    "error",
                    Some("unavailable"),
                    false,
                    0.0,
                    0,
                );
                return Ok(Ran::Failed(format!(
                    "its plugin version cannot be loaded ({reason})"
                )));
            }
        };
        if !plugin.reads_subscriptions() {
            input.subscriptions.clear();
        }
        let (invocation, input) = self
            .execute(&tenant.id, plugin, input, tenant.limits)
            .await?;
        self.record_invocation(
            tenant,
            Some(call_id),
            &binding.record.name,
            &binding.record.plugin_name,
            &binding.record.plugin_version,
            binding.hook,
            &input,
            &invocation,
        );
        Ok(match invocation.outcome {
            Ok(output) if output.hook() == binding.hook => Ran::Output(output),
            Ok(_) => Ran::Failed("it answered for another hook".into()),
            Err(e) => Ran::Failed(format!("it {}", e.platform_reason())),
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record_invocation(
        &self,
        tenant: &Tenant,
        call_id: Option<&str>,
        binding: &str,
        plugin_name: &str,
        plugin_version: &str,
        hook: Hook,
        input: &HookInput,
        invocation: &Invocation,
    ) {
        let mut logged = input.clone();
        logged.seed = Some(invocation.seed);
        let (outcome, output, error_kind, error_message, is_limit) = match &invocation.outcome {
            Ok(output) => (
                codec::outcome_label(output),
                Some(codec::output_to_json(output)),
                None,
                None,
                false,
            ),
            Err(e) => (
                "error",
                None,
                Some(e.kind().to_string()),
                Some(e.to_string()),
                e.is_limit(),
            ),
        };
        self.metrics.invocation(
            hook.as_str(),
            outcome,
            error_kind.as_deref(),
            is_limit,
            invocation.duration.as_secs_f64(),
            invocation.fuel_used,
        );
        let duration_us = invocation.duration.as_micros() as u64;
        match &invocation.outcome {
            Ok(_) => {
                tracing::info!(tenant = %tenant.id, track_id = %input.context.track_id, hook = %hook, binding,
                plugin = plugin_name, version = plugin_version, outcome, fuel = invocation.fuel_used, duration_us, "hook invoked")
            }
            Err(e) => {
                tracing::warn!(tenant = %tenant.id, track_id = %input.context.track_id, hook = %hook, binding,
                plugin = plugin_name, version = plugin_version, outcome, error_kind = e.kind(), error = %e,
                fuel = invocation.fuel_used, duration_us, "plugin failed")
            }
        }
        self.decisions
            .record(Record::Invocation(Box::new(InvocationRecord {
                // Time-ordered, so "newest first" holds within one millisecond.
                id: uuid::Uuid::now_v7().simple().to_string(),
                tenant_id: tenant.id.clone(),
                call_id: call_id.map(str::to_string),
                hook: hook.as_str().to_string(),
                binding: binding.to_string(),
                plugin_name: plugin_name.to_string(),
                plugin_version: plugin_version.to_string(),
                track_id: input.context.track_id.clone(),
                outcome: outcome.to_string(),
                input: codec::input_to_json(&logged),
                output,
                error_kind,
                error_message,
                fuel: i64::try_from(invocation.fuel_used).unwrap_or(i64::MAX),
                peak_memory: i64::try_from(invocation.peak_memory).unwrap_or(i64::MAX),
                duration_us: i64::try_from(invocation.duration.as_micros()).unwrap_or(i64::MAX),
                logs: invocation.logs.clone(),
                at: self.now(),
            })));
    }
}
