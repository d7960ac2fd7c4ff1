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
//! is closed, never reused; one idle past the idle timeout is closed by the
//! lane's own reaper task, which lives as long as the lane.

use super::{Result, StoreError};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError, Weak};
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

/// How often the reaper looks for idle connections past the idle timeout:
/// a quarter of it, between 1 s and 60 s (at the default 10 min, a
/// connection closes 10–11 min after its last use).
fn reap_every(idle_timeout: Duration) -> Duration {
    (idle_timeout / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

type IdleList = Mutex<Vec<Idle>>;

pub(super) struct PgDirect {
    options: PgConnectOptions,
    /// Shared with the reaper task, which holds it weakly.
    idle: Arc<IdleList>,
    reaper: tokio::task::AbortHandle,
    /// One permit per connection out of `idle` (leased or being opened).
    open: Semaphore,
    ping_after_idle: Duration,
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
        let idle = Arc::new(Mutex::new(Vec::new()));
        let reaper = tokio::spawn(reap(Arc::downgrade(&idle), idle_timeout)).abort_handle();
        let lane = PgDirect {
            options,
            idle,
            reaper,
            open: Semaphore::new(MAX_CONNECTIONS),
            ping_after_idle,
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
        lock(&self.idle).pop()
    }

    fn lease_of<'a>(&'a self, conn: PgConnection, permit: SemaphorePermit<'a>) -> Lease<'a> {
        Lease {
            conn,
            lane: self,
            _permit: permit,
        }
    }

    /// The lane's connections now: leased (or being opened) and idle.
    pub(super) fn counts(&self) -> super::Connections {
        super::Connections {
            in_use: MAX_CONNECTIONS.saturating_sub(self.open.available_permits()) as u64,
            idle: lock(&self.idle).len() as u64,
        }
    }

    /// Close the idle connections and refuse new leases.
    pub(super) async fn close(&self) {
        self.open.close();
        self.reaper.abort();
        let idle = std::mem::take(&mut *lock(&self.idle));
        for idle in idle {
            let _ = idle.conn.close().await;
        }
    }
}

impl Drop for PgDirect {
    fn drop(&mut self) {
        self.reaper.abort();
    }
}

impl Lease<'_> {
    /// The statement finished: the connection goes back for the next call.
    /// Calls take the most recently kept one, so under a steady load the
    /// oldest idle connection ages until the reaper closes it.
    pub(super) fn keep(self) {
        let Lease { conn, lane, .. } = self;
        lock(&lane.idle).push(Idle {
            conn,
            since: Instant::now(),
        });
    }
}

fn lock(idle: &IdleList) -> std::sync::MutexGuard<'_, Vec<Idle>> {
    idle.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The lane's reaper: every [`reap_every`], close the idle connections past
/// `idle_timeout`, so that a server gone quiet after a burst gives its
/// connections back to the database. Ends with the lane (aborted on drop,
/// and the list is only held weakly).
async fn reap(idle: Weak<IdleList>, idle_timeout: Duration) {
    let mut tick = tokio::time::interval(reap_every(idle_timeout));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(idle) = idle.upgrade() else {
            return;
        };
        let stale: Vec<Idle> = {
            let mut idle = lock(&idle);
            let (stale, fresh) = std::mem::take(&mut *idle)
                .into_iter()
                .partition(|c| c.since.elapsed() >= idle_timeout);
            *idle = fresh;
            stale
        };
        for stale in stale {
            let _ = stale.conn.close().await;
        }
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
        super::lock(&store.direct_pg.as_ref().expect("a lane").idle).len()
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
        use super::super::direct::tests::calls_batch;
        use std::sync::Arc;
        let Some(mut store) = seeded().await else {
            return;
        };
        store
            .insert_decisions(Arc::new(calls_batch(&["c1", "c2"])))
            .await
            .expect("insert");
        let again = calls_batch(&["c3", "c1"]);
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

    /// The reaper closes the connections idle past the idle timeout, with
    /// no further calls (a server gone quiet gives them back), and leaves
    /// the others alone.
    #[tokio::test]
    async fn idle_connections_past_the_idle_timeout_are_closed_by_the_reaper() {
        let Some(url) = fresh_database().await else {
            return;
        };
        let backends = |lane: &PgDirect| super::lock(&lane.idle).len();
        let quick = PgDirect::open(&url, Duration::from_secs(3600), Duration::ZERO)
            .await
            .unwrap();
        let patient = PgDirect::open(&url, Duration::from_secs(3600), Duration::from_secs(3600))
            .await
            .unwrap();
        for lane in [&quick, &patient] {
            let first = lane.lease().await.unwrap(); // the one opened at start
            let second = lane.lease().await.unwrap(); // opened now
            first.keep();
            second.keep();
            assert_eq!(backends(lane), 2);
        }
        // The reaper's first look is at once, the next 1 s later: wait for
        // the quick lane's list to empty (bounded, not timed).
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while backends(&quick) > 0 {
            assert!(std::time::Instant::now() < deadline, "the reaper never ran");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            backends(&patient),
            2,
            "a connection within its timeout was closed"
        );
        assert_eq!(
            super::reap_every(super::IDLE_TIMEOUT),
            Duration::from_secs(60)
        );
        assert_eq!(super::reap_every(Duration::ZERO), Duration::from_secs(1));
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
