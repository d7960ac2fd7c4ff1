//! Running bindings: which apply to a call, in what order, under which
//! limits and fairness gates, and what a failure means (the binding's
//! policy). Every invocation is recorded in the decision log.

use super::budgets::Budget;
use super::decisions::{CallLog, OwnInput};
use super::{App, Result, ServiceError, Tenant};
use crate::codec::{self, Scope};
use crate::domain::hook::{Hook, HookInput, HookOutput};
use crate::runtime::{CompiledPlugin, Invocation, Limits};
use crate::store::{BindingRecord, InvocationRecord};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};
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
            self.metrics.budget_refused(Budget::PluginQueue);
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

    /// Run a binding on `input` within the call's plugin-time budget and
    /// record the decision in the call's log. `input` is completed here with
    /// the binding's config and name.
    pub(crate) async fn run_binding(
        &self,
        tenant: &Tenant,
        binding: &ActiveBinding,
        mut input: HookInput,
        call: &CallRun<'_>,
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
        let limits = tenant
            .limits
            .for_language(plugin.language(), &self.config.engine);
        let Some(limits) = call.limits(&limits) else {
            self.metrics.budget_refused(Budget::CallPluginTime);
            self.metrics.invocation(
                binding.hook.as_str(),
                "error",
                Some("call-budget"),
                true,
                0.0,
                0,
            );
            return Ok(Ran::Failed(format!(
                "the call's plugin time budget of {} ms is used up",
                call.budget_ms
            )));
        };
        if !plugin.reads_subscriptions() {
            input.subscriptions.clear();
        }
        let (invocation, input) = self.execute(&tenant.id, plugin, input, limits).await?;
        call.spend(invocation.duration);
        self.record_invocation(tenant, call, binding, &input, &invocation);
        Ok(match invocation.outcome {
            Ok(output) if output.hook() == binding.hook => Ran::Output(output),
            Ok(_) => Ran::Failed("it answered for another hook".into()),
            Err(e) => Ran::Failed(format!("it {}", e.platform_reason())),
        })
    }

    /// Count an invocation, log it, and keep its decision record in the
    /// call's log.
    fn record_invocation(
        &self,
        tenant: &Tenant,
        call: &CallRun<'_>,
        binding: &ActiveBinding,
        input: &HookInput,
        invocation: &Invocation,
    ) {
        let hook = binding.hook;
        let record = &binding.record;
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
                Some(e.kind()),
                Some(e.to_string()),
                e.is_limit(),
            ),
        };
        self.metrics.invocation(
            hook.as_str(),
            outcome,
            error_kind,
            is_limit,
            invocation.duration.as_secs_f64(),
            invocation.fuel_used,
        );
        let duration_us = invocation.duration.as_micros() as u64;
        if tracing::enabled!(tracing::Level::INFO) {
            match &invocation.outcome {
                Ok(_) => {
                    tracing::info!(tenant = %tenant.id, track_id = %input.context.track_id, hook = %hook,
                    binding = %record.name, plugin = %record.plugin_name, version = %record.plugin_version,
                    outcome, fuel = invocation.fuel_used, duration_us, "hook invoked")
                }
                Err(e) => {
                    tracing::warn!(tenant = %tenant.id, track_id = %input.context.track_id, hook = %hook,
                    binding = %record.name, plugin = %record.plugin_name, version = %record.plugin_version,
                    outcome, error_kind = e.kind(), error = %e, fuel = invocation.fuel_used, duration_us,
                    "plugin failed")
                }
            }
        }
        let (own, input_id) = call.log.own_input(&OwnInput {
            shared: call.shared,
            binding: &record.name,
            config: &input.context.config,
            target: input.target.as_ref(),
            seed: invocation.seed,
        });
        call.log.push(InvocationRecord {
            // Time-ordered, so "newest first" holds within one millisecond.
            id: uuid::Uuid::now_v7().simple().to_string(),
            tenant_id: tenant.id.clone(),
            call_id: Some(call.log.id.clone()),
            hook: hook.as_str().to_string(),
            binding: record.name.clone(),
            plugin_name: record.plugin_name.clone(),
            plugin_version: record.plugin_version.clone(),
            track_id: input.context.track_id.clone(),
            outcome: outcome.to_string(),
            input: own,
            input_id,
            output,
            error_kind: error_kind.map(str::to_string),
            error_message,
            fuel: i64::try_from(invocation.fuel_used).unwrap_or(i64::MAX),
            peak_memory: i64::try_from(invocation.peak_memory).unwrap_or(i64::MAX),
            duration_us: i64::try_from(duration_us).unwrap_or(i64::MAX),
            logs: invocation.logs.clone(),
            at: self.now(),
        });
    }
}

/// What the plugin runs of one platform call attempt share: the call's
/// decision log (and the shared input registered in it), the call's
/// plugin-time budget, and the answer deadline.
pub(crate) struct CallRun<'a> {
    pub log: &'a CallLog,
    pub shared: usize,
    pub budget_ms: u64,
    /// Plugin time left in the call, in microseconds.
    pub left_us: &'a AtomicU64,
    pub deadline: Instant,
}

impl CallRun<'_> {
    /// The limits of the next run: the tenant's, with the deadline cut to
    /// what is left of the call's budget and answer deadline. `None` when
    /// nothing is left.
    fn limits(&self, limits: &Limits) -> Option<Limits> {
        let budget_ms = self.left_us.load(Ordering::SeqCst) / 1000;
        let answer_ms = self
            .deadline
            .saturating_duration_since(Instant::now())
            .as_millis() as u64;
        let left = budget_ms.min(answer_ms);
        (left > 0).then(|| Limits {
            deadline_ms: limits.deadline_ms.min(left),
            ..*limits
        })
    }

    fn spend(&self, took: Duration) {
        let took = took.as_micros() as u64;
        let _ = self
            .left_us
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                Some(left.saturating_sub(took))
            });
    }
}
