//! Persistence: the one module that knows SQL.
//!
//! One code path and one set of migrations for the embedded SQLite default
//! and for PostgreSQL (`sqlx::Any`). The SQL sticks to what both speak:
//! `$n` parameters, `ON CONFLICT … DO UPDATE … RETURNING`, BIGINT/TEXT/BYTEA.
//! Concurrency is handled the same way on both: unique keys for idempotency,
//! a version column for optimistic updates, and a per-tenant counter row for
//! a gap-free event cursor. SQLite has a single writer; an in-process lock
//! serializes write transactions so they never fail with `SQLITE_BUSY`.

mod accounts;
mod bindings;
mod decisions;
mod direct;
mod direct_pg;
mod documents;
mod plugins;
mod subscriptions;
mod tenants;

pub use accounts::{AccountRecord, AccountWrite, DeleteOutcome, SyncOutcome};
pub use bindings::{
    BindingHistoryRecord, BindingRecord, BindingWrite, HISTORY_KEPT, ShadowChange, ShadowRecord,
};
pub use decisions::{
    CallCount, CallInputRecord, CallRecord, DecisionBatch, FailureCount, InvocationFilter,
    InvocationRecord, Overview, PruneReport, Retention, ShadowOf, ShadowStats,
};
pub use documents::DocumentRecord;
pub use plugins::{
    DeleteVersionOutcome, InsertOutcome, PluginMeta, PluginRecord, PluginSummary, UploadQuota,
};
pub use subscriptions::{
    CallState, CreateOutcome, EventRecord, EventWrite, HistoryRecord, PlanRecord, SubscriptionWrite,
};
pub use tenants::{NewTenant, TenantRecord};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Connection, Executor};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, MutexGuard, OwnedMutexGuard};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {url}: {reason}")]
    Open { url: String, reason: String },
    #[error("database migration {version} failed: {reason}")]
    Migration { version: i64, reason: String },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// From the statements run without sqlx (see `direct`).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A concurrent change won; the caller may retry from a fresh read.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// A new binding beyond the tenant's quota of this many.
    #[error("the tenant already has {0} bindings")]
    TooManyBindings(i64),
    /// A blocking database task panicked or was cancelled.
    #[error("a database task failed: {0}")]
    Task(String),
    /// A subscription write for an account that `Accounts/Delete` removed.
    #[error("account {0} was deleted")]
    AccountDeleted(String),
}

impl StoreError {
    /// Another connection held a lock past the busy timeout: nothing was
    /// read or written, and the same call may succeed when retried.
    pub fn is_busy(&self) -> bool {
        use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
        match self {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                matches!(e.code, DatabaseBusy | DatabaseLocked)
            }
            _ => false,
        }
    }

    /// A unique-key violation (e.g. a duplicate id).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => e.is_unique_violation(),
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database behind Tollgate.
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite only: one write transaction at a time.
    writer: Option<Arc<Mutex<()>>>,
    /// SQLite file only: the call path's statements without sqlx.
    direct: Option<Arc<direct::Direct>>,
    /// PostgreSQL only: the call's state read and the decision batches
    /// outside sqlx's pool.
    direct_pg: Option<direct_pg::PgDirect>,
}

/// Database connections of one kind held now (for the operator's metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Connections {
    pub in_use: u64,
    pub idle: u64,
}

/// The store's connections now: its sqlx pool, and on PostgreSQL the call
/// path's own connections (`direct_pg`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionCounts {
    pub shared: Connections,
    pub call_path: Option<Connections>,
}

/// A pooled connection idle this long is pinged before it is used again.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_initial.sql")),
    (2, include_str!("migrations/0002_budgets.sql")),
    (3, include_str!("migrations/0003_track_lookup.sql")),
];

impl Store {
    /// The embedded default: `tollgate.db` under `data_dir`, created on
    /// first use.
    pub async fn open_data_dir(data_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Open {
            url: data_dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let path = data_dir.join("tollgate.db");
        Self::open(&format!("sqlite://{}?mode=rwc", path.display())).await
    }

    /// Open `url` (`sqlite://…` or `postgres://…`) and apply migrations.
    pub async fn open(url: &str) -> Result<Self> {
        Self::open_with(url, PING_AFTER_IDLE).await
    }

    /// [`Store::open`], pinging a pooled connection before its use only
    /// when it has been idle for `ping_after_idle` (tests vary it).
    #[doc(hidden)]
    pub async fn open_with(url: &str, ping_after_idle: Duration) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let open_err = |reason: String| StoreError::Open {
            url: redact(url),
            reason,
        };
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(open_err(
                "the URL must start with sqlite:// or postgres://".into(),
            ));
        };
        let options = AnyConnectOptions::from_str(url).map_err(|e| open_err(e.to_string()))?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(10))
            // sqlx checks a connection when it goes back to the pool (a round
            // trip on PostgreSQL, every time); checking it again when it is
            // taken out doubled that. Only a connection idle for a while can
            // have broken unnoticed (a server restart, a network's idle
            // timeout): ping those, and hand the others out as they are.
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                Box::pin(async move {
                    if meta.idle_for < ping_after_idle {
                        return Ok(true);
                    }
                    Ok(conn.ping().await.is_ok())
                })
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| open_err(e.to_string()))?;
        let mut store = Store {
            pool,
            backend,
            writer: (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(()))),
            direct: None,
            direct_pg: None,
        };
        store.migrate().await?;
        if backend == Backend::Postgres {
            let lane = direct_pg::PgDirect::open(url, ping_after_idle, direct_pg::IDLE_TIMEOUT)
                .await
                .map_err(|e| open_err(e.to_string()))?;
            store.direct_pg = Some(lane);
        }
        if backend == Backend::Sqlite
            && let Some(file) = direct::file_of(url)?
        {
            let direct = direct::Direct::open(&file).map_err(|e| open_err(e.to_string()))?;
            store.direct = Some(Arc::new(direct));
        }
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Check the database answers (readiness).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub fn connection_counts(&self) -> ConnectionCounts {
        let (open, idle) = (u64::from(self.pool.size()), self.pool.num_idle() as u64);
        ConnectionCounts {
            shared: Connections {
                in_use: open.saturating_sub(idle),
                idle,
            },
            call_path: self.direct_pg.as_ref().map(|lane| lane.counts()),
        }
    }

    pub async fn close(&self) {
        if let Some(lane) = &self.direct_pg {
            lane.close().await;
        }
        self.pool.close().await;
    }

    /// Serialize writers on SQLite; PostgreSQL relies on row locks.
    async fn write_lock(&self) -> Option<MutexGuard<'_, ()>> {
        match &self.writer {
            Some(m) => Some(m.lock().await),
            None => None,
        }
    }

    /// The write lock, owned (for work handed to a blocking thread).
    async fn write_lock_owned(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.writer {
            Some(m) => Some(m.clone().lock_owned().await),
            None => None,
        }
    }

    /// A write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so a transaction that reads before it writes
    /// waits for another process's writer (busy timeout) instead of failing
    /// with `SQLITE_BUSY` when it upgrades. Callers hold `write_lock` too.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    async fn migrate(&self) -> Result<()> {
        let _guard = self.write_lock().await;
        let mut tx = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            // Instances starting together take turns.
            sqlx::query("SELECT pg_advisory_xact_lock(7243361)")
                .execute(&mut *tx)
                .await?;
        }
        tx.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")
            .await?;
        let applied: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
            .fetch_one(&mut *tx)
            .await?;
        let applied = applied.unwrap_or(0);
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > applied) {
            for statement in statements(sql) {
                tx.execute(statement.as_str())
                    .await
                    .map_err(|e| StoreError::Migration {
                        version: *version,
                        reason: e.to_string(),
                    })?;
            }
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(*version)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every row of `table`, as text, ordered: for tests that check a call
    /// changed nothing.
    pub async fn dump_table(&self, table: &str) -> Result<Vec<String>> {
        if !table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StoreError::Corrupt(format!("bad table name {table}")));
        }
        use sqlx::{Column, Row, TypeInfo, ValueRef};
        let rows = sqlx::query(&format!("SELECT * FROM {table}"))
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut line = Vec::new();
            for (i, column) in row.columns().iter().enumerate() {
                let raw = row.try_get_raw(i)?;
                let text = if raw.is_null() {
                    "NULL".to_string()
                } else {
                    let ty = raw.type_info().name().to_ascii_uppercase();
                    if ty.contains("INT") {
                        row.try_get::<i64, _>(i)?.to_string()
                    } else if ty.contains("BLOB") || ty.contains("BYTEA") {
                        format!("{} bytes", row.try_get::<Vec<u8>, _>(i)?.len())
                    } else {
                        row.try_get::<String, _>(i)?
                    }
                };
                line.push(format!("{}={text}", column.name()));
            }
            out.push(line.join(","));
        }
        out.sort();
        Ok(out)
    }

    /// The tables a check-mode call must leave untouched.
    pub const STATE_TABLES: &'static [&'static str] = &[
        "tenants",
        "accounts",
        "subscriptions",
        "addons",
        "subscription_history",
        "resource_plans",
        "events",
        "plugins",
        "bindings",
        "binding_history",
        "documents",
    ];
}

/// Split a migration into statements (no `;` inside string literals here).
fn statements(sql: &str) -> Vec<String> {
    let without_comments: String = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    without_comments
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Hide a password in a database URL before it reaches a message.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// A column read by name from either driver's row, so that one decoder
/// serves both and fails the same way on a missing column or a wrong type.
trait Field<T> {
    fn field(&self, name: &str) -> Result<T>;
}

impl<T> Field<T> for sqlx::any::AnyRow
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    fn field(&self, name: &str) -> Result<T> {
        Ok(sqlx::Row::try_get(self, name)?)
    }
}

impl<T> Field<T> for sqlx::postgres::PgRow
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    fn field(&self, name: &str) -> Result<T> {
        Ok(sqlx::Row::try_get(self, name)?)
    }
}

impl<T: rusqlite::types::FromSql> Field<T> for rusqlite::Row<'_> {
    fn field(&self, name: &str) -> Result<T> {
        Ok(self.get(name)?)
    }
}

/// The columns the shared decoders read.
trait Columns: Field<String> + Field<Option<String>> + Field<i64> + Field<Option<i64>> {}
impl<R: Field<String> + Field<Option<String>> + Field<i64> + Field<Option<i64>>> Columns for R {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://tg:secret@db:5432/tg"),
            "postgres://tg:***@db:5432/tg"
        );
        assert_eq!(redact("sqlite://./x.db"), "sqlite://./x.db");
    }

    #[test]
    fn migrations_split_into_statements() {
        let s = statements("-- c\nCREATE TABLE a (x BIGINT);\n\nCREATE INDEX i ON a (x);\n");
        assert_eq!(
            s,
            vec!["CREATE TABLE a (x BIGINT)", "CREATE INDEX i ON a (x)"]
        );
    }
}
