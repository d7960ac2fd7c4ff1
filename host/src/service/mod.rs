//! The application core: what Tollgate does for the platform and for
//! tenants, independent of HTTP. It orchestrates the domain rules, the
//! sandbox runtime and the store; the HTTP layer only translates.

mod admin;
mod compile;
mod decisions;
mod hooks;
pub mod metrics;
mod platform;
mod tenants;

pub use admin::{
    BindingSpec, BindingView, DryRunRequest, DryRunResult, InvocationView, ReplayResult,
    SubscriptionView, UploadResult,
};
pub use compile::{Compiler, WorkerError as CompileWorkerError};
pub use metrics::Metrics;
pub use platform::{Answer, CallContext};
pub use tenants::{AuthError, NewTenantRequest, Tenant, TenantSecrets};

use crate::codec::documents::{CatalogDoc, SetupDoc};
use crate::domain::catalog::Catalog;
use crate::domain::setup::SetupFields;
use crate::runtime::{CompiledPlugin, EngineConfig, Limits, LoadError, Runtime, RuntimeError};
use crate::store::{Store, StoreError};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::Semaphore;

/// How the application runs: limits, concurrency, retention, compilation.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub engine: EngineConfig,
    /// Default per-call limits (a tenant may have its own).
    pub limits: Limits,
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
            retention_days: 30,
            retention_per_tenant: 100_000,
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
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
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
    /// Compiled plugins by content hash (immutable, so never stale).
    compiled: Mutex<HashMap<String, Arc<CompiledPlugin>>>,
    /// Indexed documents by (tenant, kind), with the revision they came from.
    documents: Mutex<DocumentCache>,
    /// Per-tenant plugin slots.
    gates: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Process-wide plugin slots: never more calls than the pool holds.
    slots: Arc<Semaphore>,
    /// One real call per subscription at a time in this process (others
    /// queue instead of losing optimistic races); across instances the
    /// version check still decides.
    subscription_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// (tenant, kind) → (revision, indexed document).
type DocumentCache = HashMap<(String, &'static str), (i64, Arc<Indexed>)>;

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

pub(crate) enum Indexed {
    Catalog(CatalogDoc, Catalog),
    Setup(SetupDoc, SetupFields),
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
        let decisions = decisions::DecisionLog::start(store.clone(), metrics.clone());
        let slots = Arc::new(Semaphore::new(config.engine.pool_instances.max(1) as usize));
        Ok(Arc::new(App {
            store,
            runtime,
            config,
            clock,
            metrics,
            decisions,
            compiled: Mutex::new(HashMap::new()),
            documents: Mutex::new(HashMap::new()),
            gates: Mutex::new(HashMap::new()),
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

    pub fn config(&self) -> &AppConfig {
        &self.config
    }

    pub(crate) fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Plugin calls running right now (taken pool slots).
    pub fn plugin_calls_running(&self) -> usize {
        (self.config.engine.pool_instances.max(1) as usize).saturating_sub(self.slots.available_permits())
    }

    /// Wait until every decision record handed over so far is written.
    pub async fn flush_decisions(&self) {
        self.decisions.flush().await;
    }

    /// Finish: write pending decision records.
    pub async fn shutdown(&self) {
        self.decisions.flush().await;
    }

    /// Prune decision records per the retention settings; run periodically.
    pub async fn prune(&self) -> Result<u64> {
        let cutoff = self.now() - self.config.retention_days.max(0) * 86_400_000;
        Ok(self
            .store
            .prune_decisions(cutoff, self.config.retention_per_tenant.max(0))
            .await?)
    }

    /// The tenant's indexed catalogue and setup fields, re-read when their
    /// revision changed (one cheap query per call, so every instance sees an
    /// update on its next call).
    async fn indexed(&self, tenant_id: &str, kind: &'static str) -> Result<Option<Arc<Indexed>>> {
        let Some(revision) = self.store.document_revision(tenant_id, kind).await? else {
            return Ok(None);
        };
        let key = (tenant_id.to_string(), kind);
        if let Some((cached, doc)) = self
            .documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            && *cached == revision
        {
            return Ok(Some(doc.clone()));
        }
        let Some(record) = self.store.document(tenant_id, kind).await? else {
            return Ok(None);
        };
        let indexed = match kind {
            "catalog" => {
                let doc =
                    CatalogDoc::parse(&record.body).map_err(|e| ServiceError::Internal(e.0))?;
                let index = doc.index();
                Indexed::Catalog(doc, index)
            }
            _ => {
                let doc = SetupDoc::parse(&record.body).map_err(|e| ServiceError::Internal(e.0))?;
                let index = doc.index();
                Indexed::Setup(doc, index)
            }
        };
        let indexed = Arc::new(indexed);
        self.documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, (record.revision, indexed.clone()));
        Ok(Some(indexed))
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

    pub(crate) async fn catalog(&self, tenant_id: &str) -> Result<Option<(CatalogDoc, Catalog)>> {
        Ok(match self.indexed(tenant_id, "catalog").await?.as_deref() {
            Some(Indexed::Catalog(doc, index)) => Some((doc.clone(), index.clone())),
            _ => None,
        })
    }

    pub(crate) async fn catalog_index(&self, tenant_id: &str) -> Result<Option<Arc<Indexed>>> {
        self.indexed(tenant_id, "catalog").await
    }

    pub(crate) async fn setup(&self, tenant_id: &str) -> Result<Option<(SetupDoc, SetupFields)>> {
        Ok(
            match self.indexed(tenant_id, "setup-fields").await?.as_deref() {
                Some(Indexed::Setup(doc, index)) => Some((doc.clone(), index.clone())),
                _ => None,
            },
        )
    }
}
