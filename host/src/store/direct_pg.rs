//! PostgreSQL connections held outside sqlx's pool for what every platform
//! call does: its state read and, in batches, its decision records.
//!
//! sqlx's pool (0.8) pings every connection it takes back — a round trip
//! per statement, which cannot be turned off — and its `Any` driver copies
//! every value into a driver-independent form. Here a statement leases a
//! connection of its own, runs with sqlx's PostgreSQL driver (same SQL, same
//! binders and decoders as the pool path) and hands it back. The pool's rules are
//! kept: a connection idle past the ping threshold is pinged before it is
//! used, and one whose statement failed or was abandoned (a cancelled call)
//! is closed, never reused.

use super::{Result, StoreError};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, SemaphorePermit};

/// Connections the lane may hold open; a call past them waits for one.
const MAX_CONNECTIONS: usize = 16;
/// How long a call waits for a connection (to be freed or opened), like
/// the pool's acquire timeout.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection idle this long is closed (sqlx's pool default), so that
/// after a burst the lane shrinks back to what the load needs.
pub(super) const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

pub(super) struct PgDirect {
    options: PgConnectOptions,
    idle: Mutex<Vec<Idle>>,
    /// One permit per connection out of `idle` (leased or being opened).
    open: Semaphore,
    ping_after_idle: Duration,
    idle_timeout: Duration,
}

struct Idle {
    conn: PgConnection,
    since: Instant,
}

/// A connection taken from the lane: [`Lease::keep`] hands it back; a lease
/// dropped without it (the statement failed, or the call was cancelled
/// mid-statement) drops, and so closes, the connection.
pub(super) struct Lease<'a> {
    pub(super) conn: PgConnection,
    lane: &'a PgDirect,
    _permit: SemaphorePermit<'a>,
}

impl PgDirect {
    /// The lane for `url`, with one connection opened now so that a bad URL
    /// fails at start rather than on the first call.
    pub(super) async fn open(
        url: &str,
        ping_after_idle: Duration,
        idle_timeout: Duration,
    ) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)?;
        let lane = PgDirect {
            options,
            idle: Mutex::new(Vec::new()),
            open: Semaphore::new(MAX_CONNECTIONS),
            ping_after_idle,
            idle_timeout,
        };
        lane.lease().await?.keep();
        Ok(lane)
    }

    pub(super) async fn lease(&self) -> Result<Lease<'_>> {
        tokio::time::timeout(ACQUIRE_TIMEOUT, self.take())
            .await
            .map_err(|_| StoreError::Database(sqlx::Error::PoolTimedOut))?
    }

    async fn take(&self) -> Result<Lease<'_>> {
        let permit = self
            .open
            .acquire()
            .await
            .map_err(|_| StoreError::Database(sqlx::Error::PoolClosed))?;
        while let Some(mut idle) = self.pop_idle() {
            if idle.since.elapsed() < self.ping_after_idle || idle.conn.ping().await.is_ok() {
                return Ok(self.lease_of(idle.conn, permit));
            }
        }
        let conn = PgConnection::connect_with(&self.options).await?;
        Ok(self.lease_of(conn, permit))
    }

    fn pop_idle(&self) -> Option<Idle> {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }

    fn lease_of<'a>(&'a self, conn: PgConnection, permit: SemaphorePermit<'a>) -> Lease<'a> {
        Lease {
            conn,
            lane: self,
            _permit: permit,
        }
    }

    /// Close the idle connections and refuse new leases.
    pub(super) async fn close(&self) {
        self.open.close();
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(PoisonError::into_inner));
        for idle in idle {
            let _ = idle.conn.close().await;
        }
    }
}

impl Lease<'_> {
    /// The statement finished: the connection goes back for the next call.
    /// Calls take the most recently kept one, so under a steady load the
    /// oldest idle connection ages; past the idle timeout it is closed here.
    pub(super) fn keep(self) {
        let Lease { conn, lane, .. } = self;
        let stale = {
            let mut idle = lane.idle.lock().unwrap_or_else(PoisonError::into_inner);
            idle.push(Idle {
                conn,
                since: Instant::now(),
            });
            let oldest_stale = idle.len() > 1 && idle[0].since.elapsed() >= lane.idle_timeout;
            oldest_stale.then(|| idle.remove(0))
        };
        if let Some(stale) = stale {
            close_later(stale.conn);
        }
    }
}

/// Close `conn` politely (a `Terminate` message) on a task of its own, or
/// drop it (closing the socket) outside a runtime.
fn close_later(conn: PgConnection) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(async move {
                let _ = conn.close().await;
            });
        }
        Err(_) => drop(conn),
    }
}

/// PostgreSQL only (`TOLLGATE_TEST_POSTGRES_URL`, as in CI's PostgreSQL
/// pass); without it each test returns at once.
#[cfg(test)]
mod tests {
    use super::super::{Store, StoreError, direct::tests::SEED};
    use super::PgDirect;
    use sqlx::{Connection, Executor};
    use std::time::Duration;

    /// The URL of a fresh database, or `None` without a test PostgreSQL.
    async fn fresh_database() -> Option<String> {
        let admin = std::env::var("TOLLGATE_TEST_POSTGRES_URL").ok()?;
        if admin.is_empty() {
            return None;
        }
        let name = format!("tg_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect");
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create database");
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        Some(format!("{base}/{name}"))
    }

    /// A store on a fresh database holding [`SEED`], or `None` without a
    /// test PostgreSQL.
    async fn seeded() -> Option<Store> {
        let store = Store::open(&fresh_database().await?).await.expect("open");
        store.pool.execute(SEED).await.expect("seed");
        Some(store)
    }

    fn idle(store: &Store) -> usize {
        store
            .direct_pg
            .as_ref()
            .expect("a lane")
            .idle
            .lock()
            .unwrap()
            .len()
    }

    #[tokio::test]
    async fn the_lane_reads_the_call_state_as_the_pool_does() {
        let Some(mut store) = seeded().await else {
            return;
        };
        let cases = [
            ("t1", true, "p-sub"),
            ("t1", false, "sub"),
            ("t1", true, "sub"),
            ("t1", false, "missing"),
            ("t2", true, "p-sub"),
            ("nobody", false, "sub"),
        ];
        let mut lane = Vec::new();
        for (tenant, by_platform_id, id) in cases {
            lane.push(format!(
                "{:?}",
                store.call_state(tenant, by_platform_id, id).await
            ));
        }
        assert!(
            lane[0].contains("old-key") && lane[0].contains("a-addon"),
            "{}",
            lane[0]
        );
        let taken = store
            .direct_pg
            .take()
            .expect("a PostgreSQL store has the lane");
        for ((tenant, by_platform_id, id), lane) in cases.into_iter().zip(lane) {
            let pool = format!("{:?}", store.call_state(tenant, by_platform_id, id).await);
            assert_eq!(lane, pool, "{tenant}/{by_platform_id}/{id}");
        }
        store.direct_pg = Some(taken);
        // Corrupt stored state fails loudly on the lane too.
        store
            .pool
            .execute("UPDATE subscriptions SET status = 'gone'")
            .await
            .unwrap();
        match store.call_state("t1", false, "sub").await {
            Err(StoreError::Corrupt(message)) => assert!(message.contains("gone"), "{message}"),
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    /// The decision writer's batches go through the lane too (PostgreSQL's
    /// own types, one transaction): read back through the pool, and a batch
    /// that fails lands nothing.
    #[tokio::test]
    async fn decision_batches_written_on_the_lane_read_back_through_the_pool() {
        use super::super::{DecisionBatch, direct::tests::call};
        use std::sync::Arc;
        let Some(mut store) = seeded().await else {
            return;
        };
        let batch = DecisionBatch {
            calls: vec![call("c1"), call("c2")],
            ..DecisionBatch::default()
        };
        store
            .insert_decisions(Arc::new(batch))
            .await
            .expect("insert");
        let again = DecisionBatch {
            calls: vec![call("c3"), call("c1")],
            ..DecisionBatch::default()
        };
        assert!(store.insert_decisions(Arc::new(again)).await.is_err());
        assert_eq!(idle(&store), 0, "the failed batch's connection was closed");
        let lane = store.direct_pg.take();
        let rows = store.dump_table("calls").await.expect("dump");
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(
            rows[0].contains("id=c1") && rows[0].contains("code=-105"),
            "{rows:?}"
        );
        assert!(rows[1].contains("track_id=track-c2") && rows[1].contains("check_only=1"));
        store.direct_pg = lane;
    }

    /// An idle connection past the idle timeout is closed when another one
    /// is handed back (calls take the most recent, so the oldest ages).
    #[tokio::test]
    async fn an_idle_connection_past_the_idle_timeout_is_closed() {
        let Some(url) = fresh_database().await else {
            return;
        };
        for (timeout, kept) in [(Duration::ZERO, 1), (Duration::from_secs(3600), 2)] {
            let lane = PgDirect::open(&url, Duration::from_secs(3600), timeout)
                .await
                .unwrap();
            let other = lane.lease().await.unwrap(); // the one opened at start
            let second = lane.lease().await.unwrap(); // opened now
            other.keep();
            second.keep();
            let idle = lane.idle.lock().unwrap().len();
            assert_eq!(idle, kept, "idle timeout {timeout:?}");
        }
    }

    /// At most `MAX_CONNECTIONS` are out at once: one more call waits until
    /// one is handed back, and then gets that one.
    #[tokio::test]
    async fn calls_past_the_connection_cap_wait_for_a_connection() {
        let Some(store) = seeded().await else {
            return;
        };
        let lane = store.direct_pg.as_ref().unwrap();
        let mut held = Vec::new();
        for _ in 0..super::MAX_CONNECTIONS {
            held.push(lane.lease().await.unwrap());
        }
        let mut waiting = Box::pin(lane.lease());
        let short = std::time::Duration::from_millis(100);
        assert!(
            tokio::time::timeout(short, &mut waiting).await.is_err(),
            "a lease past the cap was granted"
        );
        held.pop().unwrap().keep();
        let lease = waiting.await.expect("a handed-back connection");
        lease.keep();
        assert_eq!(idle(&store), 1, "no connection beyond the cap was opened");
    }

    /// A connection goes back to the lane only after a statement that
    /// finished: one that failed, or whose call was cancelled mid-statement,
    /// is closed (it may be mid-protocol), and the next call gets another.
    #[tokio::test]
    async fn a_failed_or_abandoned_statement_never_returns_its_connection() {
        let Some(store) = seeded().await else {
            return;
        };
        let lane = store.direct_pg.as_ref().unwrap();
        let backend = |lane: &'static str| format!("SELECT pg_backend_pid() AS pid -- {lane}");
        let pid = |sql: String| async move {
            let mut lease = lane.lease().await.unwrap();
            let pid: i32 = sqlx::query_scalar(&sql)
                .fetch_one(&mut lease.conn)
                .await
                .unwrap();
            lease.keep();
            pid
        };
        let first = pid(backend("a")).await;
        assert_eq!(
            pid(backend("b")).await,
            first,
            "a finished statement's connection is reused"
        );
        assert_eq!(idle(&store), 1);

        let mut lease = lane.lease().await.unwrap();
        assert!(
            sqlx::query("SELECT * FROM no_such_table")
                .execute(&mut lease.conn)
                .await
                .is_err()
        );
        drop(lease);
        assert_eq!(
            idle(&store),
            0,
            "a failed statement's connection is not kept"
        );
        let second = pid(backend("c")).await;
        assert_ne!(second, first);

        let slow = async {
            let mut lease = lane.lease().await.unwrap();
            sqlx::query("SELECT pg_sleep(10)")
                .execute(&mut lease.conn)
                .await
                .unwrap();
            lease.keep();
        };
        // Cancelled while the statement runs (the sleep cannot finish first).
        let cancelled = tokio::time::timeout(std::time::Duration::from_millis(200), slow).await;
        assert!(cancelled.is_err());
        assert_eq!(
            idle(&store),
            0,
            "an abandoned statement's connection is not kept"
        );
        assert_ne!(pid(backend("d")).await, second);
    }
}
