//! What the platform calls: Subscriptions/*, Addons/*, Accounts/* and the
//! setup endpoints. A Subscriptions/* or Addons/* call runs the lifecycle
//! of DESIGN §5 in three steps: *prepare* (validate, the tenant's config,
//! settings, the subscription's turn) → *evaluate* (state rules → quantity
//! limits → pre-check rules → in check mode answer now → the resource plan;
//! only decision records are written) → *commit* (one transaction with
//! state, plan and event). Evaluation runs under the answer deadline; the
//! commit is never cut short, so nothing is ever half written.

use super::budgets::Budget;
use super::decisions::CallLog;
use super::hooks::{ActiveBinding, CallRun, Failure, FailurePolicy, Ran};
use super::tenants::{Claim, Snapshot};
use super::{App, AuthError, Result, ServiceError, Tenant, TenantConfig};
use crate::codec::documents::{CatalogDoc, CustomFieldDefinitionDoc, SetupDoc};
use crate::codec::{self, ScopeSubject};
use crate::domain::catalog::Catalog;
use crate::domain::codes;
use crate::domain::hook::{
    Hook, HookContext, HookInput, HookOutput, HookRequest, Limits, Operation, PlanOutcome,
    QuantityTarget, ResourceTotal, SubscriptionInfo, TargetKind, Verdict,
};
use crate::domain::interworks::{Account, ServiceDefinition};
use crate::domain::rules::{self, Decision, NewState, StoredSubscription};
use crate::domain::{quantity, resources};
use crate::store::{
    AccountWrite, CallRecord, CallState, CreateOutcome, DeleteOutcome, EventWrite, StoreError,
    SubscriptionWrite, SyncOutcome,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

/// Per-call facts from the HTTP request.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    pub track_id: String,
    /// `X-CloudPlatform-Setting-*` headers: (field id, value).
    pub settings: Vec<(String, String)>,
    /// The `checkonly` query parameter (the body's `CheckOnly` is in the
    /// definition); either one true means check mode.
    pub check_only: bool,
}

/// A business outcome: what goes in the envelope (always HTTP 200).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub code: i32,
    pub message: Option<String>,
    pub result: Option<String>,
}

impl Answer {
    pub fn ok(result: Option<String>) -> Self {
        Answer {
            code: codes::SUCCESS,
            message: None,
            result,
        }
    }

    pub fn fail(code: i32, message: impl Into<String>) -> Self {
        Answer {
            code,
            message: Some(message.into()),
            result: None,
        }
    }
}

/// How many times a real call re-reads and retries after losing a race
/// with a concurrent change of the same subscription.
const RETRIES: usize = 16;

fn new_id(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .to_ascii_uppercase();
    format!("{prefix}-{}", &id[..20])
}

/// Everything one Subscriptions/* or Addons/* call decides on.
struct ServiceCall<'a> {
    tenant: &'a Tenant,
    operation: Operation,
    def: &'a ServiceDefinition,
    ctx: &'a CallContext,
    check_only: bool,
    log: &'a CallLog,
    deadline: Instant,
    config: Arc<TenantConfig>,
    /// The setting values plugins may see.
    settings: Vec<(String, String)>,
    /// Plugin time left in the call, in microseconds.
    plugin_time_us: AtomicU64,
    /// Every identity of the subscription's product (spec §9).
    parent_products: Vec<String>,
}

impl ServiceCall<'_> {
    fn catalog(&self) -> Option<&Catalog> {
        self.config.catalog.as_ref().map(|(_, index)| index)
    }

    /// What a binding's scope is matched against for one quantity target:
    /// the subscription's product, and an add-on target's own product.
    fn target_products(&self, target: &QuantityTarget) -> Vec<String> {
        let mut products = self.parent_products.clone();
        if target.kind == TargetKind::Addon {
            products.extend(Catalog::identities(self.catalog(), &target.product_id));
        }
        products
    }
}

/// What evaluation decided: an answer now, or a change to commit.
enum Step {
    Answer(Answer),
    Commit(Box<Planned>),
}

/// A real call's change, decided and ready to commit.
struct Planned {
    create: bool,
    /// The subscription's version when it was read (optimistic update).
    version: i64,
    external_id: String,
    platform_id: String,
    account_id: String,
    state: NewState,
    plan: Option<(String, Vec<ResourceTotal>)>,
}

impl App {
    /// Bookkeeping every platform endpoint shares, whatever the outcome (a
    /// store failure included): metrics and the log line now, and the
    /// call's record, which `finish_call` hands over with its decision
    /// records.
    fn answered(
        &self,
        tenant: &Tenant,
        log: &CallLog,
        call: Served<'_>,
        outcome: &Result<Answer>,
    ) -> CallRecord {
        let Served {
            endpoint,
            ctx,
            check_only,
            started,
        } = call;
        let answer = match outcome {
            Ok(answer) => answer.clone(),
            Err(e) => {
                let code = if matches!(e, ServiceError::Unavailable(_)) {
                    codes::UNAVAILABLE
                } else {
                    codes::FAILURE
                };
                Answer::fail(code, e.to_string())
            }
        };
        let elapsed = started.elapsed();
        self.metrics
            .request(endpoint, check_only, answer.code, elapsed.as_secs_f64());
        tracing::info!(tenant = %tenant.id, track_id = %ctx.track_id, endpoint, check_only,
            code = answer.code, answer = answer.message.as_deref().unwrap_or(""),
            result = answer.result.as_deref().unwrap_or(""), "call answered");
        CallRecord {
            id: log.id.clone(),
            tenant_id: tenant.id.clone(),
            track_id: ctx.track_id.clone(),
            endpoint: endpoint.to_string(),
            check_only,
            code: i64::from(answer.code),
            message: answer.message,
            result: answer.result,
            duration_us: i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX),
            records_dropped: 0,
            at: self.now(),
        }
    }

    fn finish_call(
        &self,
        tenant: &Tenant,
        log: CallLog,
        call: Served<'_>,
        outcome: &Result<Answer>,
    ) {
        let record = self.answered(tenant, &log, call, outcome);
        log.finish(&self.decisions, record);
    }

    /// A Subscriptions/* or Addons/* call. The outcome goes to `reply` as
    /// soon as it is decided; the call's bookkeeping follows it on this
    /// task: its plugin instances are released, its decision records are
    /// handed to the writer, and its shadow runs (if any) run — none of it
    /// delays the answer.
    pub async fn service_call(
        self: &Arc<Self>,
        claim: &Claim,
        operation: Operation,
        def: ServiceDefinition,
        ctx: &CallContext,
        reply: tokio::sync::oneshot::Sender<Result<Answer>>,
    ) {
        let started = Instant::now();
        let check_only = ctx.check_only || def.check_only;
        let log = CallLog::new(&claim.tenant().id, &ctx.track_id);
        let mut verified = None;
        let outcome = self
            .serve(
                claim,
                &mut verified,
                operation,
                &def,
                ctx,
                check_only,
                &log,
                started,
            )
            .await;
        if let Err(ServiceError::Unauthorized(cause)) = &outcome {
            // Like a refusal at the door: no record, the same 401.
            tracing::warn!(track_id = %ctx.track_id, %cause, "platform call refused");
            let _ = reply.send(outcome);
            return;
        }
        let snapshot = verified.unwrap_or_else(|| claim.snapshot.clone());
        let tenant = &snapshot.tenant;
        let served = Served {
            endpoint: operation.endpoint(),
            ctx,
            check_only,
            started,
        };
        let record = self.answered(tenant, &log, served, &outcome);
        // The instances are released after the answer; the records are
        // handed over before it (cheap: they are serialized by the writer),
        // so whoever has the answer can flush them.
        let spent = log.take_spent();
        if !log.has_shadows() {
            log.finish(&self.decisions, record);
            let _ = reply.send(outcome);
            // Let the answer go out first: the woken handler runs before
            // the rest of this task.
            tokio::task::yield_now().await;
            drop(spent);
            return;
        }
        // Shadow runs count as running from before the answer.
        let _running = self.shadows_running.enter();
        let _ = reply.send(outcome);
        tokio::task::yield_now().await;
        drop(spent);
        self.run_shadows(tenant, &log).await;
        log.finish(&self.decisions, record);
    }

    /// [`App::service_call`], awaited to its end (bookkeeping included):
    /// for tools and tests that want the answer as a value.
    pub async fn answer_call(
        self: &Arc<Self>,
        claim: &Claim,
        operation: Operation,
        def: ServiceDefinition,
        ctx: &CallContext,
    ) -> Result<Answer> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.service_call(claim, operation, def, ctx, reply).await;
        answer
            .await
            .map_err(|_| ServiceError::Internal("a call ended without an answer".into()))?
    }

    #[allow(clippy::too_many_arguments)]
    async fn serve(
        &self,
        claim: &Claim,
        verified: &mut Option<Arc<Snapshot>>,
        operation: Operation,
        def: &ServiceDefinition,
        ctx: &CallContext,
        check_only: bool,
        log: &CallLog,
        started: Instant,
    ) -> Result<Answer> {
        let tenant_id = &claim.tenant().id;
        let by_platform_id = operation == Operation::SubscriptionCreate;
        // Real calls about one subscription take turns in this process.
        let _turn = match check_only {
            true => None,
            false => Some(
                self.lock_subscription(subscription_key(tenant_id, by_platform_id, def))
                    .await,
            ),
        };
        let deadline = started + self.config.answer_deadline;
        // The call's one read: the tenant's row (secrets, config revision)
        // and the subscription. A key rotated since this process cached the
        // tenant is refused here, before anything is decided.
        let state = self
            .call_state(tenant_id, by_platform_id, def, deadline)
            .await?;
        let Some(state) = state else {
            return Err(ServiceError::Unauthorized(AuthError::UnknownApplication));
        };
        let snapshot = self
            .verify(claim, state.tenant)?
            .map_err(ServiceError::Unauthorized)?;
        *verified = Some(snapshot.clone());
        let tenant = &snapshot.tenant;
        // Only a caller the current row accepts learns anything of the call.
        if let Err(e) = def.check_addon_count() {
            self.metrics.budget_refused(Budget::CallAddons);
            return Ok(Answer::fail(codes::INVALID, e.0));
        }
        if let Err(e) = def.validate(operation) {
            return Ok(Answer::fail(codes::INVALID, e.0));
        }
        let call = match self
            .prepare(tenant, operation, def, ctx, check_only, log, started)
            .await?
        {
            Ok(call) => call,
            Err(refused) => return Ok(refused),
        };
        let mut first = Some(state.subscription);
        for _ in 0..RETRIES {
            let evaluated =
                tokio::time::timeout_at(call.deadline.into(), self.evaluate(&call, first.take()))
                    .await;
            let planned = match evaluated {
                Err(_) => return Err(self.too_late()),
                Ok(step) => match step? {
                    Step::Answer(answer) => return Ok(answer),
                    Step::Commit(planned) => planned,
                },
            };
            match self.commit(&call, &planned).await {
                // Someone changed it since we read it: decide again on the
                // fresh state, rules included.
                Err(ServiceError::Store(StoreError::Conflict(_))) => continue,
                other => return other,
            }
        }
        Err(ServiceError::Unavailable(
            "The subscription is being changed by other calls at the same time; please retry."
                .into(),
        ))
    }

    fn too_late(&self) -> ServiceError {
        self.metrics.budget_refused(Budget::AnswerDeadline);
        ServiceError::Unavailable(format!(
            "The request could not be decided within {} ms; please retry.",
            self.config.answer_deadline.as_millis()
        ))
    }

    /// The tenant's row and the subscription, under the answer deadline.
    async fn call_state(
        &self,
        tenant_id: &str,
        by_platform_id: bool,
        def: &ServiceDefinition,
        deadline: Instant,
    ) -> Result<Option<CallState>> {
        let id = match by_platform_id {
            true => &def.platform_subscription_id,
            false => &def.external_id,
        };
        match tokio::time::timeout_at(
            deadline.into(),
            self.store.call_state(tenant_id, by_platform_id, id),
        )
        .await
        {
            // A direct SQLite read gives up early rather than hold its
            // worker thread: the platform retries a -4.
            Ok(Err(e)) if e.is_busy() => Err(ServiceError::Unavailable(
                "The database is busy; please retry.".into(),
            )),
            Ok(state) => Ok(state?),
            Err(_) => Err(self.too_late()),
        }
    }

    /// Gather what the call decides on; `Err` is an answer refusing the
    /// call before any rule runs.
    #[allow(clippy::too_many_arguments)]
    async fn prepare<'a>(
        &self,
        tenant: &'a Tenant,
        operation: Operation,
        def: &'a ServiceDefinition,
        ctx: &'a CallContext,
        check_only: bool,
        log: &'a CallLog,
        started: Instant,
    ) -> Result<std::result::Result<ServiceCall<'a>, Answer>> {
        let config = self.tenant_config(tenant).await?;
        let settings = match self.plugin_settings(&config, ctx) {
            Ok(settings) => settings,
            Err(refused) => return Ok(Err(refused)),
        };
        let parent_products = Catalog::identities(
            config.catalog.as_ref().map(|(_, index)| index),
            &def.product_id,
        );
        Ok(Ok(ServiceCall {
            tenant,
            operation,
            def,
            ctx,
            check_only,
            log,
            deadline: started + self.config.answer_deadline,
            config,
            settings,
            plugin_time_us: AtomicU64::new(tenant.quotas.call_budget_ms.saturating_mul(1000)),
            parent_products,
        }))
    }

    /// The setting values plugins may see; a required one missing is a
    /// refusal (spec §2.6).
    fn plugin_settings(
        &self,
        config: &TenantConfig,
        ctx: &CallContext,
    ) -> std::result::Result<Vec<(String, String)>, Answer> {
        match &config.setup {
            Some((_, fields)) => {
                if let Some(missing) = fields.missing_required(&ctx.settings) {
                    return Err(Answer::fail(
                        codes::INVALID,
                        format!(
                            "The setting {} ({}) is required but was not sent.",
                            missing.name, missing.id
                        ),
                    ));
                }
                Ok(fields.visible_to_plugins(&ctx.settings))
            }
            // Without declared fields, nothing says which values are
            // passwords: hold back anything that looks like one.
            None => Ok(ctx
                .settings
                .iter()
                .filter(|(k, _)| {
                    let k = k.to_ascii_lowercase();
                    !(k.contains("password") || k.contains("secret") || k.contains("token"))
                })
                .cloned()
                .collect()),
        }
    }

    /// The stored subscription the call is about, with its version.
    async fn load(&self, c: &ServiceCall<'_>) -> Result<(Option<StoredSubscription>, i64)> {
        let found = if c.operation == Operation::SubscriptionCreate {
            self.store
                .subscription_by_platform_id(&c.tenant.id, &c.def.platform_subscription_id)
                .await?
        } else {
            self.store
                .subscription(&c.tenant.id, &c.def.external_id)
                .await?
        };
        Ok(match found {
            Some((s, v)) => (Some(s), v),
            None => (None, 0),
        })
    }

    /// State rules, quantity limits, pre-checks and the plan: everything
    /// but the commit. Writes nothing but decision records.
    async fn evaluate(
        &self,
        c: &ServiceCall<'_>,
        read: Option<Option<(StoredSubscription, i64)>>,
    ) -> Result<Step> {
        let (existing, version) = match read {
            Some(Some((s, v))) => (Some(s), v),
            Some(None) => (None, 0),
            None => self.load(c).await?,
        };
        if let Some(answer) = state_answer(c, existing.as_ref()) {
            return Ok(Step::Answer(answer));
        }
        let request = self.hook_request(c, existing.as_ref());
        let bindings = self.bindings_for(c).await?;
        let subscriptions = self.subscriptions_for(c, &bindings).await?;
        let now = self.now();
        // Only an attempt that runs a plugin has an input to record.
        let shared = match bindings.is_empty() {
            true => usize::MAX,
            false => c.log.share(request.clone(), subscriptions.clone(), now),
        };
        let run = CallRun {
            log: c.log,
            shared,
            budget_ms: c.tenant.quotas.call_budget_ms,
            left_us: &c.plugin_time_us,
            deadline: c.deadline,
        };
        let rules = Rules {
            tenant: c.tenant,
            bindings: &bindings,
            request: &request,
            subscriptions: &subscriptions,
            track_id: &c.ctx.track_id,
            run: &run,
            now,
        };
        // 1. Quantity limits, then 2. pre-check rules.
        for target in rules::quantity_targets(c.operation, c.def, existing.as_ref()) {
            if let Some(refused) = self.check_quantity(&rules, &target, c).await? {
                return Ok(Step::Answer(refused));
            }
        }
        if let Some(refused) = self.check_prechecks(&rules).await? {
            return Ok(Step::Answer(refused));
        }
        // 3. Check mode answers here: nothing but decision records.
        if c.check_only {
            return Ok(Step::Answer(match self.check_builtin_plan(c, &rules) {
                Some(refused) => refused,
                None => Answer::ok(None),
            }));
        }
        // 4. The resource plan.
        let plan = match self.plan(c, &rules).await? {
            Ok(plan) => plan,
            Err(refused) => return Ok(Step::Answer(refused)),
        };
        Ok(Step::Commit(Box::new(planned(c, existing, version, plan))))
    }

    /// The tenant's bindings that apply to this call: its operation, its
    /// service type, and the products it is about (the subscription's and
    /// those of the add-ons it provisions or cancels — a binding scoped to
    /// an add-on product is for them).
    async fn bindings_for(&self, c: &ServiceCall<'_>) -> Result<Vec<ActiveBinding>> {
        use crate::domain::hook::ActionType;
        let mut products = c.parent_products.clone();
        for addon in c
            .def
            .addons
            .iter()
            .filter(|a| matches!(a.action(), ActionType::Provision | ActionType::Cancel))
        {
            products.extend(Catalog::identities(c.catalog(), &addon.product_id));
        }
        let subject = ScopeSubject {
            operation: c.operation,
            service_type: &c.def.service_type,
            products: &products,
        };
        self.applicable_bindings(c.tenant, &c.config.bindings, &subject)
            .await
    }

    fn hook_request(
        &self,
        c: &ServiceCall<'_>,
        existing: Option<&StoredSubscription>,
    ) -> HookRequest {
        let external_id = existing.map(|s| s.external_id.clone()).unwrap_or_default();
        c.def.hook_request(
            c.operation,
            c.check_only,
            &external_id,
            existing.map(|s| s.quantity),
            &|product| {
                existing
                    .and_then(|s| s.addon(product))
                    .filter(|a| a.active)
                    .map(|a| a.quantity)
            },
            c.settings.clone(),
        )
    }

    /// The customer's subscriptions, fetched only when a bound plugin can
    /// read them. They include the subscription the call is about (a
    /// cancellation rule needs its creation time); a create's is not stored
    /// yet.
    async fn subscriptions_for(
        &self,
        c: &ServiceCall<'_>,
        bindings: &[ActiveBinding],
    ) -> Result<Vec<SubscriptionInfo>> {
        if !bindings.iter().any(ActiveBinding::reads_subscriptions) {
            return Ok(Vec::new());
        }
        Ok(self
            .store
            .customer_subscriptions(
                &c.tenant.id,
                &c.def.account.id,
                crate::runtime::MAX_SUBSCRIPTIONS as i64,
            )
            .await?)
    }

    /// In check mode, the built-in calculation validates the attributes the
    /// real call will compute from, so both modes agree (spec §7.2). Not
    /// when a `resources` plugin applies (it reads the raw values) or the
    /// operation computes no plan.
    fn check_builtin_plan(&self, c: &ServiceCall<'_>, rules: &Rules<'_>) -> Option<Answer> {
        let computes = c.operation != Operation::SubscriptionCancel
            && rules::recomputes_resources(c.operation)
            && !rules.bindings.iter().any(|b| b.hook == Hook::Resources);
        if !computes {
            return None;
        }
        self.builtin_plan(c).err()
    }

    fn builtin_plan(&self, c: &ServiceCall<'_>) -> std::result::Result<Vec<ResourceTotal>, Answer> {
        let owners = resources::owners(c.def.quantity, &c.def.attributes, &c.def.addons);
        resources::calculate(&owners, &c.def.service_type, c.catalog())
            .map_err(|e| Answer::fail(codes::INVALID, e.0))
    }

    /// The plan a real call commits: none (Suspend/Activate), empty
    /// (Cancel: everything goes, whatever the attribute values), a
    /// `resources` plugin's, or the built-in calculation's.
    async fn plan(
        &self,
        c: &ServiceCall<'_>,
        rules: &Rules<'_>,
    ) -> Result<std::result::Result<Option<(String, Vec<ResourceTotal>)>, Answer>> {
        if c.operation == Operation::SubscriptionCancel {
            return Ok(Ok(Some(("cancel".into(), Vec::new()))));
        }
        if !rules::recomputes_resources(c.operation) {
            return Ok(Ok(None));
        }
        Ok(match self.plan_from_plugin(rules).await? {
            PlanChoice::Plugin(source, plan) => Ok(Some((source, plan))),
            PlanChoice::Refused(answer) => Err(answer),
            PlanChoice::Builtin => self
                .builtin_plan(c)
                .map(|plan| Some(("builtin".into(), plan))),
        })
    }

    /// Write a planned change in one transaction: state, add-ons, history,
    /// plan and event.
    async fn commit(&self, c: &ServiceCall<'_>, p: &Planned) -> Result<Answer> {
        // Spec §4.4: a stored add-on missing from the payload stays, but is
        // an anomaly worth a line in the log.
        for addon in p.state.addons.iter().filter(|a| a.active) {
            if !c
                .def
                .addons
                .iter()
                .any(|x| x.product_id == addon.product_id)
            {
                tracing::warn!(tenant = %c.tenant.id, track_id = %c.ctx.track_id, subscription = %p.external_id,
                    addon = %addon.product_id, "an active add-on is missing from the call's Addons; kept as it is");
            }
        }
        let write = SubscriptionWrite {
            tenant_id: &c.tenant.id,
            external_id: &p.external_id,
            platform_subscription_id: &p.platform_id,
            account_id: &p.account_id,
            operation: c.operation.endpoint(),
            state: &p.state,
            plan: p
                .plan
                .as_ref()
                .map(|(source, plan)| (source.as_str(), codec::plan_to_json(plan))),
            event: EventWrite {
                kind: rules::event_kind(c.operation).to_string(),
                subscription_id: Some(p.external_id.clone()),
                account_id: Some(p.account_id.clone()),
                payload: codec::subscription_event(
                    &p.external_id,
                    &p.platform_id,
                    &p.account_id,
                    c.operation,
                    &p.state,
                    p.plan.as_ref().map(|(_, plan)| plan.as_slice()),
                ),
            },
            track_id: &c.ctx.track_id,
            now: self.now(),
        };
        let written = if p.create {
            self.store
                .create_subscription(&write)
                .await
                .map(|outcome| match outcome {
                    CreateOutcome::Created => p.external_id.clone(),
                    CreateOutcome::Existing(id) => id,
                })
        } else {
            self.store
                .change_subscription(&write, p.version)
                .await
                .map(|()| p.external_id.clone())
        };
        match written {
            Ok(id) => Ok(Answer::ok(Some(id))),
            Err(StoreError::AccountDeleted(account)) => Ok(Answer::fail(
                codes::UNKNOWN,
                format!(
                    "Account {account} was deleted from this service; synchronize it again (Accounts/Synchronize) before provisioning for it."
                ),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// A binding's failure under its policy: skipped (`allow`), or a
    /// customer-safe refusal (`reject`; the detail stays in the decision
    /// log, already logged once by the run).
    fn failure(
        &self,
        rules: &Rules<'_>,
        binding: &ActiveBinding,
        failure: &Failure,
    ) -> Option<Answer> {
        match binding.policy {
            FailurePolicy::Allow => None,
            FailurePolicy::Reject => Some(Answer::fail(
                codes::FAILURE,
                failure.customer_message(&binding.record.name, rules.track_id),
            )),
        }
    }

    async fn check_quantity(
        &self,
        rules: &Rules<'_>,
        target: &QuantityTarget,
        c: &ServiceCall<'_>,
    ) -> Result<Option<Answer>> {
        let catalog = c.catalog();
        let what = catalog.map_or_else(
            || target.product_id.clone(),
            |cat| cat.describe(&target.product_id),
        );
        if target.kind == TargetKind::Subscription
            && let Some(t) = catalog.and_then(|cat| cat.product_type(&c.def.service_type))
            && t.quantity_limit > 0
            && let Err(r) = quantity::enforce(
                target.quantity,
                &Limits {
                    max: Some(t.quantity_limit),
                    ..Default::default()
                },
                &what,
            )
        {
            return Ok(Some(Answer::fail(r.code, r.message)));
        }
        let products = c.target_products(target);
        let subject = ScopeSubject {
            operation: c.operation,
            service_type: &c.def.service_type,
            products: &products,
        };
        for binding in rules.bindings.iter().filter(|b| {
            b.hook == Hook::QuantityLimits && b.record.scope.specificity(&subject).is_some()
        }) {
            let ran = self
                .run_binding(
                    rules.tenant,
                    binding,
                    rules.input(Some(target.clone())),
                    rules.run,
                )
                .await?;
            let refusal = self.refusal(rules, binding, ran, |output| match output {
                HookOutput::Limits(Some(limits)) => {
                    quantity::enforce(target.quantity, &limits, &what).err()
                }
                _ => None,
            });
            if refusal.is_some() {
                return Ok(refusal);
            }
        }
        Ok(None)
    }

    async fn check_prechecks(&self, rules: &Rules<'_>) -> Result<Option<Answer>> {
        for binding in rules.bindings.iter().filter(|b| b.hook == Hook::Precheck) {
            let ran = self
                .run_binding(rules.tenant, binding, rules.input(None), rules.run)
                .await?;
            let refusal = self.refusal(rules, binding, ran, |output| match output {
                HookOutput::Verdict(Verdict::Reject(r)) => Some(r),
                _ => None,
            });
            if refusal.is_some() {
                return Ok(refusal);
            }
        }
        Ok(None)
    }

    /// What a binding's run means for the call: the rejection its output
    /// implies (`refuses`), or its failure under the binding's policy.
    fn refusal(
        &self,
        rules: &Rules<'_>,
        binding: &ActiveBinding,
        ran: Ran,
        refuses: impl FnOnce(HookOutput) -> Option<crate::domain::hook::Rejection>,
    ) -> Option<Answer> {
        match ran {
            Ran::Output(output) => refuses(output).map(|r| Answer::fail(r.code, r.message)),
            Ran::Failed(failure) => self.failure(rules, binding, &failure),
        }
    }

    /// At most one `resources` binding applies: the most specific scope,
    /// then the lowest priority value.
    async fn plan_from_plugin(&self, rules: &Rules<'_>) -> Result<PlanChoice> {
        let Some(binding) = rules
            .bindings
            .iter()
            .filter(|b| b.hook == Hook::Resources)
            .min_by_key(|b| {
                (
                    std::cmp::Reverse(b.specificity),
                    b.record.priority,
                    b.record.name.clone(),
                )
            })
        else {
            return Ok(PlanChoice::Builtin);
        };
        Ok(
            match self
                .run_binding(rules.tenant, binding, rules.input(None), rules.run)
                .await?
            {
                Ran::Output(HookOutput::Plan(PlanOutcome::Totals(plan))) => {
                    PlanChoice::Plugin(format!("plugin:{}", binding.record.name), plan)
                }
                Ran::Output(HookOutput::Plan(PlanOutcome::Refuse(r))) => {
                    PlanChoice::Refused(Answer::fail(r.code, r.message))
                }
                Ran::Output(_) => PlanChoice::Builtin,
                Ran::Failed(failure) => match self.failure(rules, binding, &failure) {
                    Some(answer) => PlanChoice::Refused(answer),
                    None => PlanChoice::Builtin,
                },
            },
        )
    }

    /// Accounts/Synchronize: create or update the customer (or reseller);
    /// the same platform `ID` always answers the same external id.
    pub async fn synchronize_account(
        &self,
        tenant: &Tenant,
        account: &Account,
        ctx: &CallContext,
        check_only: bool,
    ) -> Result<Answer> {
        let started = Instant::now();
        let log = CallLog::new(&tenant.id, &ctx.track_id);
        let outcome = match self.missing_setting(tenant, ctx).await {
            Ok(Some(refused)) => Ok(refused),
            Err(e) => Err(e),
            Ok(None) if check_only => Ok(Answer::ok(None)),
            Ok(None) => self.synchronize(tenant, account, ctx).await,
        };
        self.finish_call(
            tenant,
            log,
            Served {
                endpoint: "Accounts/Synchronize",
                ctx,
                check_only,
                started,
            },
            &outcome,
        );
        outcome
    }

    async fn synchronize(
        &self,
        tenant: &Tenant,
        account: &Account,
        ctx: &CallContext,
    ) -> Result<Answer> {
        if account.id.trim().is_empty() {
            return Ok(Answer::fail(codes::INVALID, "The account has no ID."));
        }
        let document = codec::account_document(account);
        let new_external_id = new_id("TGA");
        let reseller_external_id = match (&account.reseller_external_id, &account.reseller_id) {
            (Some(id), _) if !id.is_empty() => Some(id.clone()),
            (_, Some(platform)) if !platform.is_empty() => self
                .store
                .account(&tenant.id, platform)
                .await?
                .map(|r| r.external_id),
            _ => None,
        };
        let write = AccountWrite {
            tenant_id: &tenant.id,
            platform_id: &account.id,
            new_external_id: &new_external_id,
            reseller_platform_id: account.reseller_id.as_deref().filter(|s| !s.is_empty()),
            reseller_external_id: reseller_external_id.as_deref(),
            name: &account.name,
            document: &document,
            track_id: &ctx.track_id,
            now: self.now(),
        };
        let outcome = self
            .store
            .synchronize_account(&write, "account.synchronized", &|id| {
                codec::account_event(id, &document)
            })
            .await?;
        if let SyncOutcome::Created(id) = &outcome {
            tracing::info!(tenant = %tenant.id, track_id = %ctx.track_id, account = %id, "account created");
        }
        Ok(Answer::ok(Some(outcome.external_id().to_string())))
    }

    async fn find_account(
        &self,
        tenant: &Tenant,
        account: &Account,
    ) -> Result<Option<crate::store::AccountRecord>> {
        if let Some(external) = account.external_id.as_deref().filter(|s| !s.is_empty())
            && let Some(found) = self
                .store
                .account_by_external_id(&tenant.id, external)
                .await?
        {
            return Ok(Some(found));
        }
        if account.id.is_empty() {
            return Ok(None);
        }
        Ok(self.store.account(&tenant.id, &account.id).await?)
    }

    /// A required setting missing from an Accounts/* call (settings travel
    /// on every call, spec §2.6): the refusal to answer.
    async fn missing_setting(&self, tenant: &Tenant, ctx: &CallContext) -> Result<Option<Answer>> {
        let config = self.tenant_config(tenant).await?;
        Ok(self.plugin_settings(&config, ctx).err())
    }

    /// Accounts/Exists: Code 1 with the id when the account is known, else 0.
    pub async fn account_exists(
        &self,
        tenant: &Tenant,
        account: &Account,
        ctx: &CallContext,
    ) -> Result<Answer> {
        if let Some(refused) = self.missing_setting(tenant, ctx).await? {
            return Ok(refused);
        }
        Ok(match self.find_account(tenant, account).await? {
            Some(found) if !found.deleted => Answer {
                code: codes::EXISTS,
                message: None,
                result: Some(found.external_id),
            },
            _ => Answer::ok(None),
        })
    }

    /// Accounts/Delete: a retried delete succeeds without a second change.
    pub async fn delete_account(
        &self,
        tenant: &Tenant,
        account: &Account,
        ctx: &CallContext,
        check_only: bool,
    ) -> Result<Answer> {
        let started = Instant::now();
        let log = CallLog::new(&tenant.id, &ctx.track_id);
        let outcome = match self.missing_setting(tenant, ctx).await {
            Ok(Some(refused)) => Ok(refused),
            Err(e) => Err(e),
            Ok(None) if check_only => Ok(Answer::ok(None)),
            Ok(None) => self.delete(tenant, account, ctx).await,
        };
        self.finish_call(
            tenant,
            log,
            Served {
                endpoint: "Accounts/Delete",
                ctx,
                check_only,
                started,
            },
            &outcome,
        );
        outcome
    }

    async fn delete(
        &self,
        tenant: &Tenant,
        account: &Account,
        ctx: &CallContext,
    ) -> Result<Answer> {
        let Some(found) = self.find_account(tenant, account).await? else {
            return Ok(Answer::fail(
                codes::UNKNOWN,
                format!(
                    "Account {} is unknown: it was never synchronized with this service.",
                    account
                        .external_id
                        .as_deref()
                        .filter(|s| !s.is_empty())
                        .unwrap_or(&account.id)
                ),
            ));
        };
        if found.deleted {
            return Ok(Answer::ok(Some(found.external_id)));
        }
        let payload = codec::account_event(&found.external_id, &found.document);
        let outcome = self
            .store
            .delete_account(
                &tenant.id,
                &found.external_id,
                &ctx.track_id,
                self.now(),
                &payload,
            )
            .await?;
        Ok(match outcome {
            DeleteOutcome::HasLiveSubscriptions(n) => Answer::fail(
                codes::ACCOUNT_IN_USE,
                format!(
                    "Account {} still has {n} subscription(s) that are not cancelled; \
                     cancel them before deleting the account.",
                    found.external_id
                ),
            ),
            // Deleted now, or by a concurrent call just before.
            DeleteOutcome::Deleted | DeleteOutcome::NotFound => Answer::ok(Some(found.external_id)),
        })
    }

    /// Accounts/IsReseller: does any account of ours name this one as its
    /// reseller?
    pub async fn is_reseller(&self, tenant: &Tenant, account: &Account) -> Result<bool> {
        let external = account.external_id.as_deref().filter(|s| !s.is_empty());
        Ok(self
            .store
            .is_reseller(&tenant.id, &account.id, external)
            .await?)
    }

    /// Fields/Get and Accounts/SyncOptions: the tenant's setup document.
    pub async fn setup_document(&self, tenant: &Tenant) -> Result<SetupDoc> {
        Ok(self
            .tenant_config(tenant)
            .await?
            .setup
            .as_ref()
            .map(|(doc, _)| doc.clone())
            .unwrap_or_default())
    }

    pub async fn sync_options(&self, tenant: &Tenant) -> Result<Vec<CustomFieldDefinitionDoc>> {
        Ok(self.setup_document(tenant).await?.sync_options)
    }

    /// Fields/Validate: the problems with the submitted values.
    pub async fn validate_fields(
        &self,
        tenant: &Tenant,
        values: &BTreeMap<String, String>,
    ) -> Result<Vec<String>> {
        Ok(match &self.tenant_config(tenant).await?.setup {
            Some((_, fields)) => fields.validate(values),
            None => Vec::new(),
        })
    }

    /// Fields/ServiceDefinition: the tenant's catalogue.
    pub async fn service_definition(&self, tenant: &Tenant) -> Result<CatalogDoc> {
        Ok(self
            .tenant_config(tenant)
            .await?
            .catalog
            .as_ref()
            .map(|(doc, _)| doc.clone())
            .unwrap_or_default())
    }
}

/// What every platform endpoint's record says about the call.
struct Served<'a> {
    endpoint: &'static str,
    ctx: &'a CallContext,
    check_only: bool,
    started: Instant,
}

/// Real calls about one subscription take turns under this key.
fn subscription_key(tenant_id: &str, by_platform_id: bool, def: &ServiceDefinition) -> String {
    if by_platform_id {
        format!("{tenant_id}/p/{}", def.platform_subscription_id)
    } else {
        format!("{tenant_id}/s/{}", def.external_id)
    }
}

/// The change a real call commits, from the decided state and plan.
/// What the state rules answer before any plugin runs; `None` when the
/// call goes on to its rules.
fn state_answer(c: &ServiceCall<'_>, existing: Option<&StoredSubscription>) -> Option<Answer> {
    let id = |id: String| Some(id).filter(|_| !c.check_only);
    match rules::decide(c.operation, c.def, existing) {
        Err(rejection) => Some(Answer::fail(rejection.code, rejection.message)),
        Ok(Decision::NoChange) => {
            Some(Answer::ok(existing.and_then(|s| id(s.external_id.clone()))))
        }
        Ok(Decision::AlreadyCreated { external_id }) => Some(Answer::ok(id(external_id))),
        Ok(Decision::Create | Decision::Change) => None,
    }
}

fn planned(
    c: &ServiceCall<'_>,
    existing: Option<StoredSubscription>,
    version: i64,
    plan: Option<(String, Vec<ResourceTotal>)>,
) -> Planned {
    let state = rules::apply(c.operation, c.def, existing.as_ref());
    let create = c.operation == Operation::SubscriptionCreate;
    let (external_id, platform_id, account_id) = match existing {
        Some(s) if !create => (s.external_id, s.platform_subscription_id, s.account_id),
        Some(s) => (new_id("TGS"), s.platform_subscription_id, s.account_id),
        None => (
            new_id("TGS"),
            c.def.platform_subscription_id.clone(),
            c.def.account.id.clone(),
        ),
    };
    Planned {
        create,
        version,
        external_id,
        platform_id,
        account_id,
        state,
        plan,
    }
}

enum PlanChoice {
    Plugin(String, Vec<ResourceTotal>),
    Builtin,
    Refused(Answer),
}

/// What every binding of one call attempt is given.
struct Rules<'a> {
    tenant: &'a Tenant,
    bindings: &'a [ActiveBinding],
    request: &'a HookRequest,
    subscriptions: &'a [SubscriptionInfo],
    track_id: &'a str,
    run: &'a CallRun<'a>,
    now: i64,
}

impl Rules<'_> {
    fn input(&self, target: Option<QuantityTarget>) -> HookInput {
        HookInput {
            request: self.request.clone(),
            target,
            context: HookContext {
                now: self.now,
                config: String::new(),
                binding: String::new(),
                track_id: self.track_id.to_string(),
            },
            subscriptions: self.subscriptions.to_vec(),
            seed: None,
        }
    }
}
