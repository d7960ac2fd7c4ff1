//! Running bindings: which apply to a call, in what order, under which
//! limits and fairness gates, and what a failure means (the binding's
//! policy). Every invocation is recorded in the decision log.

use super::budgets::Budget;
use super::decisions::{CallLog, OwnInput, PendingInvocation};
use super::tenants::TenantEntry;
use super::{App, Result, ServiceError, Tenant};
use crate::codec::{self, ScopeSubject};
pub use crate::domain::hook::FailurePolicy;
use crate::domain::hook::{Hook, HookInput, HookOutput};
use crate::runtime::{CompiledPlugin, Invocation, Limits, Spent};
use crate::store::{BindingRecord, InvocationRecord, ShadowOf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, SemaphorePermit};

/// A binding that applies to the call at hand, with its plugin loaded.
pub(crate) struct ActiveBinding {
    pub record: BindingRecord,
    pub hook: Hook,
    pub specificity: u8,
    pub policy: FailurePolicy,
    /// `Err` when the stored version cannot be loaded: a failure like any
    /// other, handled by the policy.
    pub plugin: Result<Arc<CompiledPlugin>, String>,
    /// The shadow candidate's plugin, when the binding has one.
    pub shadow: Option<Result<Arc<CompiledPlugin>, String>>,
}

impl ActiveBinding {
    pub fn reads_subscriptions(&self) -> bool {
        self.plugin.as_ref().is_ok_and(|p| p.reads_subscriptions())
    }
}

/// The result of running one binding.
pub(crate) enum Ran {
    Output(HookOutput),
    Failed(Failure),
}

/// Why a binding gave no usable answer: a stable kind (the plugin error
/// kinds, plus `unavailable`, `call-budget` and `wrong-hook`) and the
/// detail, which stays in the decision log and the tenant's logs.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub kind: &'static str,
    pub detail: String,
}

impl Failure {
    /// What the platform's user reads: a fixed sentence per kind, naming
    /// the rule and the TrackId, never a file path, config, log line or
    /// the plugin's own words.
    pub fn customer_message(&self, binding: &str, track_id: &str) -> String {
        let what = match self.kind {
            "fuel-exhausted" | "deadline-exceeded" | "call-budget" => "took too long to decide",
            "memory-limit" | "stack-overflow" => "ran out of memory",
            "invalid-config" => "is not configured correctly",
            "plugin-error" => "could not decide",
            "invalid-output" | "oversize-output" | "wrong-hook" => {
                "gave an answer that could not be used"
            }
            "unavailable" | "instantiate" => "is not available",
            "oversize-input" => "could not be given this request",
            _ => "stopped with an error",
        };
        format!(
            "The request could not be checked: rule \"{binding}\" {what}. Please contact the service provider and quote TrackId {track_id}."
        )
    }
}

impl App {
    /// The tenant's bindings whose scope covers `subject`, in evaluation
    /// order: by hook, then priority, then name. A binding scoped to
    /// operations the call is not is never instantiated.
    pub(crate) async fn applicable_bindings(
        &self,
        tenant: &Tenant,
        bindings: &[BindingRecord],
        subject: &ScopeSubject<'_>,
    ) -> Result<Vec<ActiveBinding>> {
        let mut active = Vec::new();
        for record in bindings.iter().cloned() {
            let Some(specificity) = record.scope.specificity(subject) else {
                continue;
            };
            let plugin = self.loaded(tenant, &record.plugin_version).await?;
            let shadow = match &record.shadow {
                Some(s) => Some(self.loaded(tenant, &s.version).await?),
                None => None,
            };
            active.push(ActiveBinding {
                hook: record.hook,
                policy: record.on_failure,
                record,
                specificity,
                plugin,
                shadow,
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

    /// A stored version's compiled plugin, or why it cannot be loaded (a
    /// failure the binding's policy handles); store errors propagate.
    async fn loaded(
        &self,
        tenant: &Tenant,
        version: &str,
    ) -> Result<Result<Arc<CompiledPlugin>, String>> {
        match self.compiled(&tenant.id, version).await {
            Ok(p) => Ok(Ok(p)),
            Err(ServiceError::Store(e)) => Err(e.into()),
            Err(e) => Ok(Err(e.to_string())),
        }
    }

    /// Run a compiled plugin under the tenant's gate and the process's slot
    /// limit (dry-run, replay: the instance is released at once). See
    /// [`App::run_plugin`].
    pub(crate) async fn execute(
        &self,
        tenant_id: &str,
        plugin: Arc<CompiledPlugin>,
        input: HookInput,
        limits: Limits,
    ) -> Result<(Invocation, HookInput)> {
        let (invocation, spent, input) = self.run_plugin(tenant_id, &plugin, input, limits).await?;
        drop(spent);
        Ok((invocation, input))
    }

    /// Run a compiled plugin under the tenant's gate and the process's slot
    /// limit. A short call runs on the calling task (no thread hand-off);
    /// one still running at the first epoch tick (≤ 1 ms) finishes on a
    /// blocking thread, so a long plugin never holds an async worker (nor
    /// delays the I/O of other calls). Answers the spent instance too: the
    /// caller releases it once the call is answered.
    pub(crate) async fn run_plugin(
        &self,
        tenant_id: &str,
        plugin: &Arc<CompiledPlugin>,
        input: HookInput,
        limits: Limits,
    ) -> Result<(Invocation, SpentInstance, HookInput)> {
        let entry = self.tenants.entry(tenant_id);
        let (_tenant, slot) = self.plugin_permits(&entry).await?;
        let (runtime, plugin) = (self.runtime.clone(), plugin.clone());
        let (invocation, spent, input) = inline_then_blocking(async move {
            let (invocation, spent) = runtime.invoke_async(&plugin, &input, &limits).await;
            (invocation, spent, input)
        })
        .await?;
        Ok((
            invocation,
            SpentInstance {
                _spent: spent,
                _slot: slot,
            },
            input,
        ))
    }

    /// Check a binding config with a v2 plugin's `validate-config`, under
    /// the same gates and limits as a call.
    pub(crate) async fn validate_config(
        &self,
        tenant_id: &str,
        plugin: Arc<CompiledPlugin>,
        config: String,
        limits: Limits,
    ) -> Result<crate::runtime::ConfigCheck> {
        let entry = self.tenants.entry(tenant_id);
        let _permits = self.plugin_permits(&entry).await?;
        let runtime = self.runtime.clone();
        inline_then_blocking(async move {
            runtime
                .validate_config_async(&plugin, &config, &limits)
                .await
        })
        .await
    }

    /// The tenant's gate and a pool slot, each waited for at most the
    /// queue timeout. Uncontended, both are one atomic operation.
    async fn plugin_permits<'a>(
        &'a self,
        entry: &'a TenantEntry,
    ) -> Result<(SemaphorePermit<'a>, OwnedSemaphorePermit)> {
        let busy = || {
            self.metrics.budget_refused(Budget::PluginQueue);
            ServiceError::Unavailable(
                "Too many rule evaluations are waiting for this installation; please retry shortly.".into(),
            )
        };
        let wait = self.config.queue_timeout;
        let tenant = match entry.gate.try_acquire() {
            Ok(permit) => permit,
            Err(_) => tokio::time::timeout(wait, entry.gate.acquire())
                .await
                .map_err(|_| busy())?
                .map_err(|_| busy())?,
        };
        let slot = match self.slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => tokio::time::timeout(wait, self.slots.clone().acquire_owned())
                .await
                .map_err(|_| busy())?
                .map_err(|_| busy())?,
        };
        Ok((tenant, slot))
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
                let failure = Failure {
                    kind: "unavailable",
                    detail: format!("its plugin version cannot be loaded ({reason})"),
                };
                return Ok(self.not_run(tenant, call, binding, &input, failure, false));
            }
        };
        let limits = tenant
            .limits
            .for_language(plugin.language(), &self.config.engine);
        let Some(limits) = call.limits(&limits) else {
            self.metrics.budget_refused(Budget::CallPluginTime);
            let failure = Failure {
                kind: "call-budget",
                detail: format!(
                    "the call's plugin time budget of {} ms (or its answer deadline) is used up",
                    call.budget_ms
                ),
            };
            return Ok(self.not_run(tenant, call, binding, &input, failure, true));
        };
        if !plugin.reads_subscriptions() {
            input.subscriptions.clear();
        }
        // The call's earlier instance (if any) goes back to the pool before
        // this run waits for a slot.
        drop(call.log.take_spent());
        let (invocation, spent, input) =
            self.run_plugin(&tenant.id, &plugin, input, limits).await?;
        call.log.release_later(spent);
        call.spend(invocation.duration);
        let active_id = self.record_invocation(tenant, call, binding, &input, &invocation, None);
        if let (Some(shadow), Some(candidate)) = (&binding.shadow, &binding.record.shadow) {
            let mut input = input.clone();
            input.context.config = candidate.config.clone();
            input.seed = None;
            call.log.add_shadow(ShadowJob {
                binding: binding.clone_for_shadow(),
                plugin: shadow.clone(),
                input,
                shared: call.shared,
                active_id,
                active: invocation.outcome.clone().map_err(|e| e.kind()),
            });
        }
        Ok(match invocation.outcome {
            Ok(output) if output.hook() == binding.hook => Ran::Output(output),
            Ok(_) => Ran::Failed(Failure {
                kind: "wrong-hook",
                detail: "it answered for another hook".into(),
            }),
            Err(e) => Ran::Failed(Failure {
                kind: e.kind(),
                detail: format!("it {e}"),
            }),
        })
    }

    /// A binding that could not run at all: counted, logged once and
    /// recorded (so the tenant's decision log says why the call failed, as
    /// the platform's user was told to quote the TrackId).
    fn not_run(
        &self,
        tenant: &Tenant,
        call: &CallRun<'_>,
        binding: &ActiveBinding,
        input: &HookInput,
        failure: Failure,
        is_limit: bool,
    ) -> Ran {
        self.metrics.invocation(
            binding.hook.as_str(),
            "error",
            Some(failure.kind),
            is_limit,
            0.0,
            0,
        );
        tracing::warn!(tenant = %tenant.id, track_id = %input.context.track_id, hook = %binding.hook,
            binding = %binding.record.name, error_kind = failure.kind, error = %failure.detail,
            policy = binding.policy.as_str(), "plugin failed");
        self.push_record(
            tenant,
            call,
            binding,
            input,
            Recorded {
                outcome: "error",
                output: None,
                error_kind: Some(failure.kind),
                error_message: Some(format!("not run: {}", failure.detail)),
                fuel: 0,
                peak_memory: 0,
                duration_us: 0,
                logs: String::new(),
                seed: input.effective_seed(),
                shadow: None,
            },
        );
        Ran::Failed(failure)
    }

    /// Run a call's shadow candidates after the call was answered: each on
    /// the input its active run had, under the tenant's gate and its own
    /// limits, recorded with whether it agreed. Never decides anything.
    pub(crate) async fn run_shadows(&self, tenant: &Tenant, log: &CallLog) {
        for job in log.take_shadows() {
            let plugin = match &job.plugin {
                Ok(plugin) => plugin.clone(),
                Err(_) => {
                    self.metrics.shadow_run(
                        job.binding.hook.as_str(),
                        &job.binding.record.name,
                        "failed",
                    );
                    continue;
                }
            };
            let limits = tenant
                .limits
                .for_language(plugin.language(), &self.config.engine);
            let Ok((invocation, _spent, input)) = self
                .run_plugin(&tenant.id, &plugin, job.input, limits)
                .await
            else {
                // Busy: a shadow never waits long nor retries.
                self.metrics.shadow_run(
                    job.binding.hook.as_str(),
                    &job.binding.record.name,
                    "failed",
                );
                continue;
            };
            let agreed = match (&job.active, &invocation.outcome) {
                (_, Err(_)) => None,
                (Ok(active), Ok(shadow)) => Some(same_decision(active, shadow)),
                (Err(_), Ok(_)) => Some(false),
            };
            let outcome = match agreed {
                Some(true) => "agreed",
                Some(false) => "disagreed",
                None => "failed",
            };
            self.metrics
                .shadow_run(job.binding.hook.as_str(), &job.binding.record.name, outcome);
            let run = CallRun {
                log,
                shared: job.shared,
                budget_ms: 0,
                left_us: &AtomicU64::new(0),
                deadline: Instant::now(),
            };
            let shadow_of = ShadowOf {
                invocation: job.active_id,
                agreed,
            };
            self.record_invocation(
                tenant,
                &run,
                &job.binding,
                &input,
                &invocation,
                Some(shadow_of),
            );
        }
    }

    /// Count an invocation, log it, and keep its decision record in the
    /// call's log; answers the record's id.
    fn record_invocation(
        &self,
        tenant: &Tenant,
        call: &CallRun<'_>,
        binding: &ActiveBinding,
        input: &HookInput,
        invocation: &Invocation,
        shadow: Option<ShadowOf>,
    ) -> String {
        let hook = binding.hook;
        let record = &binding.record;
        let (outcome, output, error_kind, error_message, is_limit) = match &invocation.outcome {
            Ok(output) => (
                codec::outcome_label(output),
                Some(output.clone()),
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
        self.push_record(
            tenant,
            call,
            binding,
            input,
            Recorded {
                outcome,
                output,
                error_kind,
                error_message,
                fuel: invocation.fuel_used,
                peak_memory: invocation.peak_memory,
                duration_us,
                logs: invocation.logs.clone(),
                seed: invocation.seed,
                shadow,
            },
        )
    }

    /// Queue one decision record in the call's log; answers its id.
    fn push_record(
        &self,
        tenant: &Tenant,
        call: &CallRun<'_>,
        binding: &ActiveBinding,
        input: &HookInput,
        run: Recorded,
    ) -> String {
        let record = &binding.record;
        let (own, input_id) = call.log.own_input(&OwnInput {
            shared: call.shared,
            binding: &record.name,
            config: &input.context.config,
            target: input.target.as_ref(),
            seed: run.seed,
        });
        // Time-ordered, so "newest first" holds within one millisecond.
        let id = uuid::Uuid::now_v7().simple().to_string();
        call.log.push(PendingInvocation {
            record: InvocationRecord {
                id: id.clone(),
                tenant_id: tenant.id.clone(),
                call_id: Some(call.log.id.clone()),
                hook: binding.hook.as_str().to_string(),
                binding: record.name.clone(),
                plugin_name: record.plugin_name.clone(),
                plugin_version: record.plugin_version.clone(),
                track_id: input.context.track_id.clone(),
                outcome: run.outcome.to_string(),
                input: String::new(),
                input_id,
                output: None,
                error_kind: run.error_kind.map(str::to_string),
                error_message: run.error_message,
                fuel: i64::try_from(run.fuel).unwrap_or(i64::MAX),
                peak_memory: i64::try_from(run.peak_memory).unwrap_or(i64::MAX),
                duration_us: i64::try_from(run.duration_us).unwrap_or(i64::MAX),
                logs: run.logs,
                at: self.now(),
                shadow: run.shadow,
            },
            output: run.output,
            own,
        });
        id
    }
}

/// What one binding's run (or refusal to run) leaves in the decision log.
struct Recorded {
    outcome: &'static str,
    output: Option<HookOutput>,
    error_kind: Option<&'static str>,
    error_message: Option<String>,
    fuel: u64,
    peak_memory: u64,
    duration_us: u64,
    logs: String,
    seed: u64,
    shadow: Option<ShadowOf>,
}

/// Poll a plugin call once on this task: a short call (most are a few µs)
/// is done there. One that yielded at an epoch tick is past a millisecond
/// of work: it is finished on a blocking thread (the suspended guest moves
/// with its future), so long plugins never occupy the async workers.
async fn inline_then_blocking<F>(future: F) -> Result<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut future = Box::pin(future);
    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(future.as_mut().poll(cx))).await;
    match first {
        std::task::Poll::Ready(output) => Ok(output),
        std::task::Poll::Pending => {
            tokio::task::spawn_blocking(move || crate::runtime::block_on(future))
                .await
                .map_err(|_| ServiceError::Internal("a plugin worker thread died".into()))
        }
    }
}

/// A finished plugin instance and its pool slot, given back together (the
/// instance first) once the call is answered: dropping the instance resets
/// its memory, work the answer need not wait for.
pub(crate) struct SpentInstance {
    _spent: Spent,
    _slot: OwnedSemaphorePermit,
}

/// A shadow run waiting for its call to be answered.
pub(crate) struct ShadowJob {
    /// The binding as the shadow runs it (its version and config).
    binding: ActiveBinding,
    plugin: Result<Arc<CompiledPlugin>, String>,
    input: HookInput,
    shared: usize,
    /// The active run it shadows, and what that decided (or its error kind).
    active_id: String,
    active: std::result::Result<HookOutput, &'static str>,
}

/// Whether two runs decided the same: accept vs reject and the rejection's
/// Code, the same limits, the same totals or refusal Code. Message wording
/// may differ.
fn same_decision(a: &HookOutput, b: &HookOutput) -> bool {
    use crate::domain::hook::{PlanOutcome, Verdict};
    match (a, b) {
        (HookOutput::Verdict(Verdict::Reject(x)), HookOutput::Verdict(Verdict::Reject(y))) => {
            x.code == y.code
        }
        (HookOutput::Plan(PlanOutcome::Refuse(x)), HookOutput::Plan(PlanOutcome::Refuse(y))) => {
            x.code == y.code
        }
        _ => a == b,
    }
}

impl ActiveBinding {
    /// This binding as its shadow runs: the shadow's version, recorded
    /// under the same binding name.
    fn clone_for_shadow(&self) -> ActiveBinding {
        let mut record = self.record.clone();
        if let Some(shadow) = &record.shadow {
            record.plugin_version = shadow.version.clone();
            record.config = shadow.config.clone();
        }
        ActiveBinding {
            record,
            hook: self.hook,
            specificity: self.specificity,
            policy: self.policy,
            plugin: self
                .shadow
                .clone()
                .unwrap_or_else(|| Err("no shadow".into())),
            shadow: None,
        }
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
