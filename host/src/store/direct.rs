//! SQLite driven directly (rusqlite) for the statements every platform call
//! makes: the call's state read and the decision log's inserts.
//!
//! sqlx runs each SQLite statement on its connection's own thread: two
//! thread hand-offs per statement, which cost more CPU than the statement
//! itself (ARCHITECTURE.md §Performance). Here the state read runs on the
//! calling task — a WAL reader never waits for the writer and the read takes
//! microseconds — and a decision batch takes one blocking-pool hop for the
//! whole batch. Everything else, and all of PostgreSQL, stays on sqlx; both
//! drivers link the same bundled SQLite and open the same file.

use super::{Result, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Idle read connections kept open. A read never awaits, so at most one
/// connection per runtime thread is out at a time: beyond this many threads
/// a read opens (and then closes) its own rather than waiting.
const IDLE_READERS: usize = 8;
/// The decision writer waits for another process's write lock as long as
/// sqlx's connections do.
const WRITER_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// WAL pages the decision writer lets accumulate before it checkpoints
/// (SQLite's default is 1,000): consecutive batches rewrite the same index
/// and table tail pages, and a checkpoint copies each page back once, so a
/// longer interval copies far fewer pages per record (a bound pre-check
/// ≈ 10 % cheaper, ARCHITECTURE.md §Performance). The WAL file grows to
/// about this many pages (64 MiB) and is then reused, not grown.
const WRITER_CHECKPOINT_PAGES: i64 = 16_384;
/// A read runs on an async worker thread, so it must not wait long: a WAL
/// reader waits only while another process holds an exclusive lock (WAL
/// recovery, a `VACUUM`), never for a writer or a passive checkpoint. Past
/// this the call fails (`SQLITE_BUSY`) rather than stall the thread's tasks.
const READER_BUSY_TIMEOUT: Duration = Duration::from_millis(500);

/// Connections of one SQLite database file.
pub(super) struct Direct {
    path: PathBuf,
    readers: Mutex<Vec<Connection>>,
    /// The decision writer's connection (one batch at a time: the store's
    /// write lock is held around its use).
    writer: Mutex<Option<Connection>>,
}

impl Direct {
    /// Connect to the database file at `path` (already created and migrated
    /// through sqlx); fails now rather than on the first call.
    pub(super) fn open(path: &Path) -> Result<Self> {
        let direct = Direct {
            path: path.to_path_buf(),
            readers: Mutex::new(Vec::new()),
            writer: Mutex::new(None),
        };
        let reader = direct.connect(Role::Reader)?;
        lock(&direct.readers).push(reader);
        Ok(direct)
    }

    fn connect(&self, role: Role) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.set_prepared_statement_cache_capacity(16);
        match role {
            Role::Reader => {
                conn.busy_timeout(READER_BUSY_TIMEOUT)?;
                conn.pragma_update(None, "query_only", true)?;
            }
            // Decision records are a log, not provisioning state: a commit
            // is durable at the next checkpoint (or the next provisioning
            // commit's sync) rather than at once; the file stays consistent
            // after a power loss either way (WAL).
            Role::DecisionWriter => {
                conn.busy_timeout(WRITER_BUSY_TIMEOUT)?;
                conn.pragma_update(None, "synchronous", "NORMAL")?;
                conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)?;
            }
        }
        Ok(conn)
    }

    /// Run `read` on an idle read connection (or a new one).
    pub(super) fn read<T>(&self, read: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let idle = lock(&self.readers).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.connect(Role::Reader)?,
        };
        let out = read(&conn);
        let mut readers = lock(&self.readers);
        if readers.len() < IDLE_READERS {
            readers.push(conn);
        }
        out
    }

    /// Run `write` on the decision writer's connection, in one immediate
    /// transaction. Blocking: call it off the async workers.
    pub(super) fn write_decisions(
        &self,
        write: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<()>,
    ) -> Result<()> {
        let mut slot = lock(&self.writer);
        let conn = match &mut *slot {
            Some(conn) => conn,
            none => none.insert(self.connect(Role::DecisionWriter)?),
        };
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        write(&tx)?;
        tx.commit()?;
        Ok(())
    }
}

enum Role {
    Reader,
    DecisionWriter,
}

/// A panic while a connection was out cannot leave the list inconsistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The file behind a `sqlite:` URL; `None` for an in-memory database (it
/// lives in sqlx's connections only, so everything stays on sqlx).
pub(super) fn file_of(url: &str) -> Result<Option<PathBuf>> {
    use std::str::FromStr;
    let options =
        sqlx::sqlite::SqliteConnectOptions::from_str(url).map_err(|e| StoreError::Open {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
    let file = options.get_filename();
    let memory = file.as_os_str().is_empty()
        || file.as_os_str() == ":memory:"
        || url.contains("mode=memory");
    Ok((!memory).then(|| file.to_path_buf()))
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::{CallRecord, DecisionBatch, Store, StoreError};
    use sqlx::Executor;
    use std::sync::Arc;

    /// A file store (statements run direct) and a second handle on the
    /// same file with the direct path switched off (everything on sqlx),
    /// holding [`SEED`].
    async fn both(dir: &tempfile::TempDir) -> (Store, Store) {
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let direct = Store::open(&url).await.expect("open");
        assert!(direct.direct.is_some(), "a file database runs direct");
        let mut sqlx_only = Store::open(&url).await.expect("open again");
        sqlx_only.direct = None;
        direct.pool.execute(SEED).await.expect("seed");
        (direct, sqlx_only)
    }

    /// A call record of tenant `t1` from [`SEED`], answered -105.
    pub(in crate::store) fn call(id: &str) -> CallRecord {
        CallRecord {
            id: id.into(),
            tenant_id: "t1".into(),
            track_id: format!("track-{id}"),
            endpoint: "Subscriptions/Create".into(),
            check_only: true,
            code: -105,
            message: Some("too many".into()),
            result: None,
            duration_us: 42,
            records_dropped: 0,
            at: 1_000,
        }
    }

    /// A batch of only call records, one per id ([`call`]).
    pub(in crate::store) fn calls_batch(ids: &[&str]) -> DecisionBatch {
        DecisionBatch {
            calls: ids.iter().map(|id| call(id)).collect(),
            ..DecisionBatch::default()
        }
    }

    pub(in crate::store) const SEED: &str = "
        INSERT INTO tenants (id, name, application_id, api_key_hash, previous_api_key_hash,
                             admin_token_hash, limits, config_revision, created_at)
        VALUES ('t1', 'One', 'app-1', 'key', 'old-key', 'admin', '{\"max_bindings\": 3}', 7, 11);
        INSERT INTO tenants (id, name, application_id, api_key_hash, admin_token_hash, created_at)
        VALUES ('t2', 'Two', 'app-2', 'key2', 'admin2', 12);
        INSERT INTO accounts (tenant_id, platform_id, external_id, name, document, created_at, updated_at)
        VALUES ('t1', 'p-acc', 'acc', 'Acc', '{}', 1, 1);
        INSERT INTO subscriptions (tenant_id, external_id, platform_subscription_id, account_id,
            product_id, service_type, name, quantity, status, is_trial, attributes, version,
            created_at, updated_at)
        VALUES ('t1', 'sub', 'p-sub', 'acc', 'prod', 'svc', 'Sub', 5, 'suspended', 1,
            '[{\"id\":\"a\",\"name\":\"A\",\"value\":\"1\",\"code\":\"\",\"quantity_linked\":true}]', 4, 13, 14);
        INSERT INTO addons (tenant_id, subscription_id, product_id, name, quantity, active, attributes, updated_at)
        VALUES ('t1', 'sub', 'z-addon', 'Z', 2, 0, '[]', 1);
        INSERT INTO addons (tenant_id, subscription_id, product_id, name, quantity, active, attributes, updated_at)
        VALUES ('t1', 'sub', 'a-addon', 'A', 1, 1, '[{\"id\":\"x\"}]', 1);
    ";

    #[tokio::test]
    async fn the_direct_state_read_answers_as_sqlx_does() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (direct, sqlx_only) = both(&dir).await;
        let cases = [
            ("t1", true, "p-sub"),
            ("t1", false, "sub"),
            ("t1", true, "sub"),
            ("t1", false, "missing"),
            ("t2", true, "p-sub"),
            ("nobody", false, "sub"),
        ];
        for (tenant, by_platform_id, id) in cases {
            let fast = direct.call_state(tenant, by_platform_id, id).await;
            let slow = sqlx_only.call_state(tenant, by_platform_id, id).await;
            let (fast, slow) = (format!("{fast:?}"), format!("{slow:?}"));
            assert_eq!(fast, slow, "{tenant}/{by_platform_id}/{id}");
        }
        let state = direct
            .call_state("t1", true, "p-sub")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            state.tenant.previous_api_key_hash.as_deref(),
            Some("old-key")
        );
        assert_eq!(state.tenant.config_revision, 7);
        let (sub, version) = state.subscription.expect("the subscription");
        assert_eq!((sub.quantity, version, sub.is_trial), (5, 4, true));
        let addons: Vec<_> = sub
            .addons
            .iter()
            .map(|a| (a.product_id.as_str(), a.active))
            .collect();
        assert_eq!(addons, [("a-addon", true), ("z-addon", false)]);
        assert!(
            direct
                .call_state("nobody", true, "x")
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn corrupt_stored_state_fails_loudly_on_both_paths() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (direct, sqlx_only) = both(&dir).await;
        let corruptions = [
            (
                "UPDATE addons SET attributes = '{not json' WHERE product_id = 'z-addon'",
                "attributes",
            ),
            ("UPDATE subscriptions SET status = 'gone'", "gone"),
        ];
        for (sql, named) in corruptions {
            direct.pool.execute(sql).await.expect(sql);
            for store in [&direct, &sqlx_only] {
                match store.call_state("t1", false, "sub").await {
                    Err(StoreError::Corrupt(message)) => assert!(message.contains(named)),
                    other => panic!("after {sql}: expected Corrupt, got {other:?}"),
                }
            }
        }
    }

    #[test]
    fn only_lock_errors_count_as_busy() {
        let failure = |code| {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(code),
                None,
            ))
        };
        assert!(failure(rusqlite::ffi::SQLITE_BUSY).is_busy());
        assert!(failure(rusqlite::ffi::SQLITE_LOCKED).is_busy());
        assert!(!failure(rusqlite::ffi::SQLITE_CORRUPT).is_busy());
        assert!(!StoreError::Corrupt("x".into()).is_busy());
    }

    #[tokio::test]
    async fn decision_batches_written_direct_read_back_through_sqlx() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (direct, sqlx_only) = both(&dir).await;
        direct
            .insert_decisions(Arc::new(calls_batch(&["c1", "c2"])))
            .await
            .expect("insert");
        let rows = sqlx_only.dump_table("calls").await.expect("dump");
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(
            rows[0].contains("id=c1") && rows[0].contains("code=-105"),
            "{rows:?}"
        );
        assert!(rows[1].contains("track_id=track-c2") && rows[1].contains("check_only=1"));
        // The same ids again: the whole batch fails and nothing half-lands.
        let again = calls_batch(&["c3", "c1"]);
        assert!(direct.insert_decisions(Arc::new(again)).await.is_err());
        assert_eq!(sqlx_only.dump_table("calls").await.expect("dump").len(), 2);
    }

    /// The writer checkpoints at its own interval, not SQLite's default
    /// 1,000 pages: after ≈ 2,500 pages of records the WAL still holds
    /// them all (a default checkpoint would have restarted it at ≈ 4 MiB).
    #[tokio::test]
    async fn the_decision_writer_checkpoints_at_its_own_interval() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (direct, _) = both(&dir).await;
        let wal = dir.path().join("t.db-wal");
        let page: u64 = 4096;
        let big = |n: usize| CallRecord {
            result: Some("x".repeat(100_000)),
            ..call(&format!("c{n}"))
        };
        for batch in 0..10 {
            let calls = (0..10).map(|i| big(batch * 10 + i)).collect();
            let batch = DecisionBatch {
                calls,
                ..DecisionBatch::default()
            };
            direct
                .insert_decisions(Arc::new(batch))
                .await
                .expect("insert");
        }
        let size = std::fs::metadata(&wal).expect("the WAL file").len();
        assert!(
            size > 2_000 * page && size < super::WRITER_CHECKPOINT_PAGES as u64 * page,
            "WAL of {size} bytes"
        );
    }
}
