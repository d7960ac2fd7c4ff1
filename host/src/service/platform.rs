//! What the platform calls: Subscriptions/*, Addons/*, Accounts/* and the
//! setup endpoints. The lifecycle of DESIGN §5: authenticate (HTTP layer) →
//! validate → state rules → quantity limits → pre-check rules → in check
//! mode answer now (only decision records are written) → otherwise the
//! resource plan and one transaction with state, plan and event.

use super::decisions::Record;
use super::hooks::{ActiveBinding, FailurePolicy, Ran};
use super::{App, Result, ServiceError, Tenant};
use crate::codec;
use crate::codec::documents::{CatalogDoc, CustomFieldDefinitionDoc, SetupDoc};
use crate::domain::catalog::Catalog;
use crate::domain::codes;
use crate::domain::hook::{
    Hook, HookContext, HookInput, HookOutput, HookRequest, Limits, Operation, PlanOutcome,
    QuantityTarget, ResourceTotal, TargetKind, Verdict,
};
use crate::domain::interworks::{Account, ServiceDefinition};
use crate::domain::rules::{self, Decision};
use crate::domain::{quantity, resources};
use crate::store::{
    AccountWrite, CallRecord, CreateOutcome, DeleteOutcome, EventWrite, StoreError,
    SubscriptionWrite, SyncOutcome,
};
use std::collections::BTreeMap;
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

impl App {
    fn record_call(&self, tenant: &Tenant, call: &Call<'_>, ctx: &CallContext, answer: &Answer) {
        let Call {
            id: call_id,
            endpoint,
            check_only,
            started,
        } = *call;
        let elapsed = started.elapsed();
        self.metrics
            .request(endpoint, check_only, answer.code, elapsed.as_secs_f64());
        self.decisions.record(Record::Call(CallRecord {
            id: call_id.to_string(),
            tenant_id: tenant.id.clone(),
            track_id: ctx.track_id.clone(),
            endpoint: endpoint.to_string(),
            check_only,
            code: i64::from(answer.code),
            message: answer.message.clone(),
            result: answer.result.clone(),
            duration_us: i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX),
            at: self.now(),
        }));
    }

    /// A Subscriptions/* or Addons/* call.
    pub async fn service_call(
        &self,
        tenant: &Tenant,
        operation: Operation,
        def: ServiceDefinition,
        ctx: &CallContext,
    ) -> Result<Answer> {
        let started = Instant::now();
        let call_id = uuid::Uuid::now_v7().simple().to_string();
        let check_only = ctx.check_only || def.check_only;
        let answer = self
            .serve(tenant, operation, &def, ctx, check_only, &call_id)
            .await;
        match &answer {
            Ok(answer) => {
                tracing::info!(tenant = %tenant.id, track_id = %ctx.track_id, endpoint = operation.endpoint(),
                    check_only, code = answer.code, answer = answer.message.as_deref().unwrap_or(""),
                    result = answer.result.as_deref().unwrap_or(""), "call answered");
                self.record_call(
                    tenant,
                    &Call {
                        id: &call_id,
                        endpoint: operation.endpoint(),
                        check_only,
                        started,
                    },
                    ctx,
                    answer,
                );
            }
            Err(e) => {
                let code = if matches!(e, ServiceError::Unavailable(_)) {
                    codes::UNAVAILABLE
                } else {
                    codes::FAILURE
                };
                let call = Call {
                    id: &call_id,
                    endpoint: operation.endpoint(),
                    check_only,
                    started,
                };
                self.record_call(tenant, &call, ctx, &Answer::fail(code, e.to_string()));
            }
        }
        answer
    }

    async fn serve(
        &self,
        tenant: &Tenant,
        operation: Operation,
        def: &ServiceDefinition,
        ctx: &CallContext,
        check_only: bool,
        call_id: &str,
    ) -> Result<Answer> {
        if let Err(e) = def.validate(operation) {
            return Ok(Answer::fail(codes::INVALID, e.0));
        }
        let config = self.tenant_config(tenant).await?;
        let setup = &config.setup;
        if let Some((_, fields)) = setup
            && let Some(missing) = fields.missing_required(&ctx.settings)
        {
            return Ok(Answer::fail(
                codes::INVALID,
                format!(
                    "The setting {} ({}) is required but was not sent.",
                    missing.name, missing.id
                ),
            ));
        }
        let settings = match setup {
            Some((_, fields)) => fields.visible_to_plugins(&ctx.settings),
            // Without declared fields, nothing says which values are
            // passwords: hold back anything that looks like one.
            None => ctx
                .settings
                .iter()
                .filter(|(k, _)| {
                    let k = k.to_ascii_lowercase();
                    !(k.contains("password") || k.contains("secret") || k.contains("token"))
                })
                .cloned()
                .collect(),
        };
        let catalog = config.catalog.as_ref().map(|(_, index)| index);

        // Real calls about one subscription take turns in this process.

        let _turn = if check_only {
            None
        } else {
            let key = if operation == Operation::SubscriptionCreate {
                format!("{}/p/{}", tenant.id, def.platform_subscription_id)
            } else {
                format!("{}/s/{}", tenant.id, def.external_id)
            };

            Some(self.lock_subscription(key).await)
        };

        for _ in 0..RETRIES {
            let found = if operation == Operation::SubscriptionCreate {
                self.store
                    .subscription_by_platform_id(&tenant.id, &def.platform_subscription_id)
                    .await?
            } else {
                self.store
                    .subscription(&tenant.id, &def.external_id)
                    .await?
            };
            let (existing, version) = match found {
                Some((s, v)) => (Some(s), v),
                None => (None, 0),
            };
            let decision = match rules::decide(operation, def, existing.as_ref()) {
                Ok(d) => d,
                Err(rejection) => return Ok(Answer::fail(rejection.code, rejection.message)),
            };
            match decision {
                Decision::NoChange => {
                    let id = existing.map(|s| s.external_id);
                    return Ok(Answer::ok(if check_only { None } else { id }));
                }
                Decision::AlreadyCreated { external_id } => {
                    return Ok(Answer::ok(if check_only {
                        None
                    } else {
                        Some(external_id)
                    }));
                }
                Decision::Create | Decision::Change => {}
            }
            let external_id = existing
                .as_ref()
                .map(|s| s.external_id.clone())
                .unwrap_or_default();
            let request = def.hook_request(
                operation,
                check_only,
                &external_id,
                existing.as_ref().map(|s| s.quantity),
                &|product| {
                    existing
                        .as_ref()
                        .and_then(|s| s.addon(product))
                        .filter(|a| a.active)
                        .map(|a| a.quantity)
                },
                settings.clone(),
            );
            let bindings = self
                .applicable_bindings(tenant, &config.bindings, &def.service_type, &def.product_id)
                .await?;
            let subscriptions = if bindings.iter().any(ActiveBinding::reads_subscriptions) {
                // Includes the subscription a call is about (a cancellation
                // rule needs its creation time); a create's is not stored yet.
                self.store
                    .customer_subscriptions(
                        &tenant.id,
                        &def.account.id,
                        crate::runtime::MAX_SUBSCRIPTIONS as i64,
                    )
                    .await?
            } else {
                Vec::new()
            };
            let rules = Rules {
                tenant,
                bindings: &bindings,
                request: &request,
                subscriptions: &subscriptions,
                track_id: &ctx.track_id,
                call_id,
                now: self.now(),
            };

            // 1. Quantity limits, then 2. pre-check rules.
            for target in rules::quantity_targets(operation, def, existing.as_ref()) {
                if let Some(refused) = self.check_quantity(&rules, &target, def, catalog).await? {
                    return Ok(refused);
                }
            }
            if let Some(refused) = self.check_prechecks(&rules).await? {
                return Ok(refused);
            }
            // The built-in calculation validates the attributes in both
            // modes, so check and real mode agree.
            let owners = resources::owners(def.quantity, &def.attributes, &def.addons);
            let builtin = match resources::calculate(&owners, &def.service_type, catalog) {
                Ok(plan) => plan,
                Err(e) => return Ok(Answer::fail(codes::INVALID, e.0)),
            };
            // 3. Check mode answers here: nothing but decision records.
            if check_only {
                return Ok(Answer::ok(None));
            }
            // 4. The resource plan.
            let plan: Option<(String, Vec<ResourceTotal>)> =
                if operation == Operation::SubscriptionCancel {
                    Some(("cancel".into(), Vec::new()))
                } else if rules::recomputes_resources(operation) {
                    match self.plan_from_plugin(&rules).await? {
                        PlanChoice::Plugin(source, plan) => Some((source, plan)),
                        PlanChoice::Builtin => Some(("builtin".into(), builtin)),
                        PlanChoice::Refused(answer) => return Ok(answer),
                    }
                } else {
                    None
                };
            // 5. One transaction: state, add-ons, history, plan, event.
            let state = rules::apply(operation, def, existing.as_ref());
            // Spec §4.4: a stored add-on missing from the payload stays, but
            // is an anomaly worth a line in the log.
            if let Some(stored) = &existing {
                for addon in stored.addons.iter().filter(|a| a.active) {
                    if !def.addons.iter().any(|x| x.product_id == addon.product_id) {
                        tracing::warn!(tenant = %tenant.id, track_id = %ctx.track_id, subscription = %stored.external_id,
                            addon = %addon.product_id, "an active add-on is missing from the call's Addons; kept as it is");
                    }
                }
            }
            let external_id = if operation == Operation::SubscriptionCreate {
                new_id("TGS")
            } else {
                external_id
            };
            let platform_id = existing
                .as_ref()
                .map(|s| s.platform_subscription_id.clone())
                .unwrap_or_else(|| def.platform_subscription_id.clone());
            let account_id = existing
                .as_ref()
                .map(|s| s.account_id.clone())
                .unwrap_or_else(|| def.account.id.clone());
            let payload = codec::subscription_event(
                &external_id,
                &platform_id,
                &account_id,
                operation,
                &state,
                plan.as_ref().map(|(_, p)| p.as_slice()),
            );
            let write = SubscriptionWrite {
                tenant_id: &tenant.id,
                external_id: &external_id,
                platform_subscription_id: &platform_id,
                account_id: &account_id,
                operation: operation.endpoint(),
                state: &state,
                plan: plan
                    .as_ref()
                    .map(|(source, p)| (source.as_str(), codec::plan_to_json(p))),
                event: EventWrite {
                    kind: rules::event_kind(operation).to_string(),
                    subscription_id: Some(external_id.clone()),
                    account_id: Some(account_id.clone()),
                    payload,
                },
                track_id: &ctx.track_id,
                now: self.now(),
            };
            if operation == Operation::SubscriptionCreate {
                return Ok(match self.store.create_subscription(&write).await? {
                    CreateOutcome::Created => Answer::ok(Some(external_id)),
                    CreateOutcome::Existing(id) => Answer::ok(Some(id)),
                });
            }
            match self.store.change_subscription(&write, version).await {
                Ok(()) => return Ok(Answer::ok(Some(external_id))),
                // Someone changed it since we read it: decide again on the
                // fresh state, rules included.
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Unavailable(
            "The subscription is being changed by other calls at the same time; please retry."
                .into(),
        ))
    }

    fn failure(&self, binding: &ActiveBinding, reason: &str) -> Option<Answer> {
        tracing::warn!(binding = %binding.record.name, hook = %binding.hook, reason, policy = binding.policy.as_str(), "plugin failure");
        match binding.policy {
            FailurePolicy::Allow => None,
            FailurePolicy::Reject => Some(Answer::fail(
                codes::FAILURE,
                format!(
                    "The request could not be checked: rule \"{}\" ({}) failed: {reason}. Please contact the service provider.",
                    binding.record.name, binding.hook
                ),
            )),
        }
    }

    async fn check_quantity(
        &self,
        rules: &Rules<'_>,
        target: &QuantityTarget,
        def: &ServiceDefinition,
        catalog: Option<&Catalog>,
    ) -> Result<Option<Answer>> {
        let what = catalog.map_or_else(
            || target.product_id.clone(),
            |c| c.describe(&target.product_id),
        );
        if target.kind == TargetKind::Subscription
            && let Some(t) = catalog.and_then(|c| c.product_type(&def.service_type))
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
        for binding in rules
            .bindings
            .iter()
            .filter(|b| b.hook == Hook::QuantityLimits)
        {
            let ran = self
                .run_binding(
                    rules.tenant,
                    binding,
                    rules.input(Some(target.clone())),
                    rules.call_id,
                )
                .await?;
            let refusal = self.refusal(binding, ran, |output| match output {
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
                .run_binding(rules.tenant, binding, rules.input(None), rules.call_id)
                .await?;
            let refusal = self.refusal(binding, ran, |output| match output {
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
        binding: &ActiveBinding,
        ran: Ran,
        refuses: impl FnOnce(HookOutput) -> Option<crate::domain::hook::Rejection>,
    ) -> Option<Answer> {
        match ran {
            Ran::Output(output) => refuses(output).map(|r| Answer::fail(r.code, r.message)),
            Ran::Failed(reason) => self.failure(binding, &reason),
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
                .run_binding(rules.tenant, binding, rules.input(None), rules.call_id)
                .await?
            {
                Ran::Output(HookOutput::Plan(PlanOutcome::Totals(plan))) => {
                    PlanChoice::Plugin(format!("plugin:{}", binding.record.name), plan)
                }
                Ran::Output(HookOutput::Plan(PlanOutcome::Refuse(r))) => {
                    PlanChoice::Refused(Answer::fail(r.code, r.message))
                }
                Ran::Output(_) => PlanChoice::Builtin,
                Ran::Failed(reason) => match self.failure(binding, &reason) {
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
        let call_id = uuid::Uuid::now_v7().simple().to_string();
        let answer = if check_only {
            Answer::ok(None)
        } else if account.id.trim().is_empty() {
            Answer::fail(codes::INVALID, "The account has no ID.")
        } else {
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
            Answer::ok(Some(outcome.external_id().to_string()))
        };
        self.record_call(
            tenant,
            &Call {
                id: &call_id,
                endpoint: "Accounts/Synchronize",
                check_only,
                started,
            },
            ctx,
            &answer,
        );
        Ok(answer)
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

    /// Accounts/Exists: Code 1 with the id when the account is known, else 0.
    pub async fn account_exists(&self, tenant: &Tenant, account: &Account) -> Result<Answer> {
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
        let call_id = uuid::Uuid::now_v7().simple().to_string();
        let answer = if check_only {
            Answer::ok(None)
        } else {
            match self.find_account(tenant, account).await? {
                None => Answer::fail(
                    codes::UNKNOWN,
                    format!(
                        "Account {} is unknown: it was never synchronized with this service.",
                        account
                            .external_id
                            .as_deref()
                            .filter(|s| !s.is_empty())
                            .unwrap_or(&account.id)
                    ),
                ),
                Some(found) if found.deleted => Answer::ok(Some(found.external_id)),
                Some(found) => {
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
                    match outcome {
                        DeleteOutcome::HasLiveSubscriptions(n) => Answer::fail(
                            codes::ACCOUNT_IN_USE,
                            format!(
                                "Account {} still has {n} subscription(s) that are not cancelled; \
                                 cancel them before deleting the account.",
                                found.external_id
                            ),
                        ),
                        // Deleted now, or by a concurrent call just before.
                        DeleteOutcome::Deleted | DeleteOutcome::NotFound => {
                            Answer::ok(Some(found.external_id))
                        }
                    }
                }
            }
        };
        self.record_call(
            tenant,
            &Call {
                id: &call_id,
                endpoint: "Accounts/Delete",
                check_only,
                started,
            },
            ctx,
            &answer,
        );
        Ok(answer)
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

/// One platform call, for its decision record.
#[derive(Clone, Copy)]
struct Call<'a> {
    id: &'a str,
    endpoint: &'a str,
    check_only: bool,
    started: Instant,
}

enum PlanChoice {
    Plugin(String, Vec<ResourceTotal>),
    Builtin,
    Refused(Answer),
}

/// What every binding of one call is given.
struct Rules<'a> {
    tenant: &'a Tenant,
    bindings: &'a [ActiveBinding],
    request: &'a HookRequest,
    subscriptions: &'a [crate::domain::hook::SubscriptionInfo],
    track_id: &'a str,
    call_id: &'a str,
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
