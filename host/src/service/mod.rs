//! The application core: what Tollgate does for the platform and for
//! tenants, independent of HTTP. It orchestrates the domain rules, the
//! sandbox runtime and the store; the HTTP layer only translates.

mod admin;
pub mod budgets;
mod compile;
mod decisions;
mod hooks;
pub mod metrics;
mod platform;
mod tenants;

pub use admin::{
    BindingSpec, DryRunRequest, DryRunResult, EndpointCount, FailureCount, HistoryPage,
    LoggedInvocation, Overview, OverviewBucket, PluginVersion, ReplayOutcome, ReplayRequest,
    ReplayResult, RunError, ShadowReport, ShadowSpec, SubscriptionDetails, UploadResult,
};
pub use budgets::{Budget, Quotas, TenantLimits};
pub use compile::{Compiler, WorkerError as CompileWorkerError, WorkerLimits};
pub use metrics::Metrics;
pub use platform::{Answer, CallContext};
pub use tenants::{AuthError, Claim, NewTenantRequest, Tenant, TenantSecrets};

use crate::codec::documents::{CatalogDoc, SetupDoc};
use crate::domain::catalog::Catalog;
use crate::domain::setup::SetupFields;
use crate::runtime::{EngineConfig, Limits, LoadError, Runtime, RuntimeError};
use crate::store::{Store, StoreError};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Bounds of the decision log (see `service::decisions`).
#[derive(Debug, Clone, Copy)]
pub struct DecisionBounds {
    /// Largest stored decision record; bigger parts are cut with a marker.
    pub record_bytes: usize,
    /// Most bytes of records one platform call writes; beyond, its
    /// remaining invocation records are dropped (and counted).
    pub call_bytes: usize,
    /// Most bytes waiting to be written; beyond, records are dropped.
    pub queue_bytes: usize,
}

impl Default for DecisionBounds {
    fn default() -> Self {
        DecisionBounds {
            record_bytes: 64 * 1024,
            call_bytes: 1024 * 1024,
            queue_bytes: 64 * 1024 * 1024,
        }
    }
}

/// How the application runs: limits, concurrency, retention, compilation.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub engine: EngineConfig,
    /// Default per-call limits (a tenant may have its own).
    pub limits: Limits,
    /// Default per-tenant quotas (a tenant may have its own).
    pub quotas: Quotas,
    pub decisions: DecisionBounds,
    /// A platform call not decided within this time answers Code -4 (the
    /// platform gives up after 10 s, spec §9); nothing is half written.
    pub answer_deadline: Duration,
    /// Plugin calls one tenant may run at once; more wait their turn, so one
    /// tenant's slow plugin cannot take every core.
    pub tenant_concurrency: usize,
    /// How long a call may wait for a plugin slot before answering
    /// "temporarily unavailable".
    pub queue_timeout: Duration,
    /// Decision records older than this are pruned.
    pub retention_days: i64,
    /// At most this many decision records are kept per tenant.
    pub retention_per_tenant: i64,
    /// At most this many bytes of decision records are kept per tenant.
    pub retention_bytes_per_tenant: i64,
    /// Provisioning events older than this many days are pruned.
    pub event_retention_days: i64,
    /// Uploads compiled at once (each may use several cores).
    pub compile_concurrency: usize,
    /// How long an upload waits for a compile slot before answering 503.
    pub compile_queue_wait: Duration,
    /// Compiled code kept in memory, in bytes (least recently used goes).
    pub compiled_cache_bytes: u64,
    /// Compiled code kept in the disk cache, in bytes.
    pub disk_cache_bytes: u64,
    /// Where compiled plugins are cached; `None` keeps them in memory only.
    pub cache_dir: Option<PathBuf>,
    pub compiler: Compiler,
    /// Bearer token of the operator endpoints; `None` disables them.
    pub operator_token: Option<String>,
}

impl Default for AppConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        AppConfig {
            engine: EngineConfig::default(),
            limits: Limits::default(),
            tenant_concurrency: cores.saturating_sub(1).max(1),
            queue_timeout: Duration::from_secs(2),
            quotas: Quotas::default(),
            decisions: DecisionBounds::default(),
            answer_deadline: Duration::from_secs(8),
            retention_days: 30,
            retention_per_tenant: 100_000,
            retention_bytes_per_tenant: 1 << 30,
            event_retention_days: 90,
            compile_concurrency: (cores / 2).max(1),
            compile_queue_wait: Duration::from_secs(30),
            compiled_cache_bytes: 512 * 1024 * 1024,
            disk_cache_bytes: 2 * 1024 * 1024 * 1024,
            cache_dir: None,
            compiler: Compiler::InProcess,
            operator_token: None,
        }
    }
}

/// A failure the caller must turn into a 4xx/5xx answer.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Refused(#[from] LoadError),
    #[error("{0}")]
    Unavailable(String),
    /// A plugin refused a binding's config: which body field, where in it
    /// (a JSON path) and why.
    #[error("the plugin refuses the binding's {field} at {path}: {message}")]
    InvalidConfig {
        field: String,
        path: String,
        message: String,
    },
    /// A per-tenant quota refused the request.
    #[error("{detail}")]
    Quota { budget: Budget, detail: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
    /// A platform call whose credentials the tenant's current row no longer
    /// accepts (a key rotated since this process cached it): HTTP 401.
    #[error("unauthorized: {0}")]
    Unauthorized(AuthError),
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Milliseconds since the Unix epoch; injectable so tests can move time.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(crate::store::now_ms)
}

/// Tollgate's application state, shared by every request.
pub struct App {
    pub(crate) store: Arc<Store>,
    pub(crate) runtime: Arc<Runtime>,
    pub(crate) config: AppConfig,
    pub(crate) clock: Clock,
    pub(crate) metrics: Arc<Metrics>,
    decisions: decisions::DecisionLog,
    /// Compiled plugins by content hash (immutable, so never stale),
    /// bounded by bytes of native code.
    compiled: compile::CompiledCache,
    /// Uploads compiling now: no more than `compile_concurrency`.
    compiling: Arc<Semaphore>,
    /// One compile per tenant at a time.
    compile_gates: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Shadow runs still going after their calls were answered.
    pub(crate) shadows_running: Arc<InFlight>,
    /// Per tenant: the last row read (authentication), the plugin gate and
    /// the bindings and documents tagged with their config revision.
    pub(crate) tenants: tenants::Directory,
    /// Process-wide plugin slots: never more calls than the pool holds.
    slots: Arc<Semaphore>,
    /// One real call per subscription at a time in this process (others
    /// queue instead of losing optimistic races); across instances the
    /// version check still decides.
    subscription_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Background work still running (counted by [`InFlight::enter`] guards),
/// so shutdown can wait for it.
#[derive(Default)]
pub(crate) struct InFlight {
    count: std::sync::atomic::AtomicUsize,
    done: tokio::sync::Notify,
}

pub(crate) struct Entered(Arc<InFlight>);

impl Drop for Entered {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering;
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.done.notify_waiters();
        }
    }
}

impl InFlight {
    pub(crate) fn enter(self: &Arc<Self>) -> Entered {
        self.count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Entered(self.clone())
    }

    /// Wait until nothing runs, for at most `limit`.
    pub(crate) async fn idle(&self, limit: Duration) {
        let wait = async {
            loop {
                let notified = self.done.notified();
                if self.count.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(limit, wait).await;
    }
}

/// Held while a real call changes a subscription; forgets the lock when
/// nobody else waits on it.
pub(crate) struct SubscriptionGuard<'a> {
    app: &'a App,
    key: String,
    lock: Arc<tokio::sync::Mutex<()>>,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

impl Drop for SubscriptionGuard<'_> {
    fn drop(&mut self) {
        let mut locks = self
            .app
            .subscription_locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // The map's reference, ours and the guard's: nobody else waits.
        if Arc::strong_count(&self.lock) <= 3 {
            locks.remove(&self.key);
        }
    }
}

/// A tenant's configuration as one call needs it.
pub(crate) struct TenantConfig {
    pub revision: i64,
    pub bindings: Vec<crate::store::BindingRecord>,
    pub catalog: Option<(CatalogDoc, Catalog)>,
    pub setup: Option<(SetupDoc, SetupFields)>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl App {
    pub fn new(store: Arc<Store>, config: AppConfig, clock: Clock) -> Result<Arc<App>, StartError> {
        config
            .limits
            .validate(&config.engine)
            .map_err(StartError::Config)?;
        let runtime = Arc::new(Runtime::new(config.engine.clone())?);
        let metrics = Arc::new(Metrics::new());
        let decisions =
            decisions::DecisionLog::start(store.clone(), metrics.clone(), config.decisions);
        let slots = Arc::new(Semaphore::new(config.engine.pool_instances.max(1) as usize));
        let compiled = compile::CompiledCache::new(config.compiled_cache_bytes);
        let compiling = Arc::new(Semaphore::new(config.compile_concurrency.max(1)));
        let tenants = tenants::Directory::new(config.tenant_concurrency);
        Ok(Arc::new(App {
            store,
            runtime,
            config,
            clock,
            metrics,
            decisions,
            compiled,
            compiling,
            compile_gates: Mutex::new(HashMap::new()),
            shadows_running: Arc::new(InFlight::default()),
            tenants,
            slots,
            subscription_locks: Mutex::new(HashMap::new()),
        }))
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The metrics text, with the gauges read from elsewhere (the store's
    /// connections) brought up to date first.
    pub fn render_metrics(&self) -> String {
        self.metrics
            .set_store_connections(&self.store.connection_counts());
        self.metrics.render()
    }

    pub fn config(&self) -> &AppConfig {
        &self.config
    }

    pub(crate) fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Plugin calls running right now (taken pool slots).
    pub fn plugin_calls_running(&self) -> usize {
        (self.config.engine.pool_instances.max(1) as usize)
            .saturating_sub(self.slots.available_permits())
    }

    /// Wait until every decision record handed over so far is written.
    pub async fn flush_decisions(&self) {
        self.decisions.flush().await;
    }

    /// Finish: let shadow runs end (at most 10 s), then write pending
    /// decision records.
    pub async fn shutdown(&self) {
        self.shadows_running.idle(Duration::from_secs(10)).await;
        self.decisions.flush().await;
    }

    /// Prune decision records and events per the retention settings; run
    /// periodically.
    pub async fn prune(&self) -> Result<u64> {
        let now = self.now();
        let retention = crate::store::Retention {
            before: now - self.config.retention_days.max(0) * 86_400_000,
            keep_records: self.config.retention_per_tenant.max(0),
            keep_bytes: self.config.retention_bytes_per_tenant.max(0),
            events_before: now - self.config.event_retention_days.max(0) * 86_400_000,
        };
        let report = self.store.prune_decisions(&retention).await?;
        for _ in 0..report.tenants_over_bytes {
            self.metrics.budget_refused(Budget::RetentionBytes);
        }
        Ok(report.rows)
    }

    /// The tenant's bindings, catalogue and setup fields. Read again only
    /// when the tenant's config revision (read with the tenant on every
    /// call) moved, so every instance sees a change on its next call.
    pub(crate) async fn tenant_config(&self, tenant: &Tenant) -> Result<Arc<TenantConfig>> {
        let entry = self.tenants.entry(&tenant.id);
        if let Some(cached) = entry.config.load_full()
            && cached.revision == tenant.config_revision
        {
            return Ok(cached);
        }
        let bindings = self.store.bindings(&tenant.id).await?;
        let catalog = match self.store.document(&tenant.id, "catalog").await? {
            Some(record) => {
                let doc =
                    CatalogDoc::parse(&record.body).map_err(|e| ServiceError::Internal(e.0))?;
                let index = doc.index();
                Some((doc, index))
            }
            None => None,
        };
        let setup = match self.store.document(&tenant.id, "setup-fields").await? {
            Some(record) => {
                let doc = SetupDoc::parse(&record.body).map_err(|e| ServiceError::Internal(e.0))?;
                let index = doc.index();
                Some((doc, index))
            }
            None => None,
        };
        // Tagged with the revision seen at authentication: if it moved
        // meanwhile, the next call reads again (never serves stale data).
        let config = Arc::new(TenantConfig {
            revision: tenant.config_revision,
            bindings,
            catalog,
            setup,
        });
        entry.config.store(Some(config.clone()));
        Ok(config)
    }

    /// Serialize real calls about one subscription (`key`) in this process.
    pub(crate) async fn lock_subscription(&self, key: String) -> SubscriptionGuard<'_> {
        let lock = self
            .subscription_locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key.clone())
            .or_default()
            .clone();
        let guard = lock.clone().lock_owned().await;
        SubscriptionGuard {
            app: self,
            key,
            lock,
            _guard: guard,
        }
    }
}
