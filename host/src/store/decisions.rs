//! Decision records: one row per platform call and one per hook
//! invocation. Written in batches off the request path, read by the admin
//! API, pruned by retention.

use super::{Result, Store, flag};
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    pub id: String,
    pub tenant_id: String,
    pub track_id: String,
    pub endpoint: String,
    pub check_only: bool,
    pub code: i64,
    pub message: Option<String>,
    pub result: Option<String>,
    pub duration_us: i64,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvocationRecord {
    pub id: String,
    pub tenant_id: String,
    pub call_id: Option<String>,
    pub hook: String,
    pub binding: String,
    pub plugin_name: String,
    pub plugin_version: String,
    pub track_id: String,
    /// `accept`, `reject`, `limits`, `plan`, `error`…
    pub outcome: String,
    /// JSON of the hook input (replayable).
    pub input: String,
    /// JSON of the output, if any.
    pub output: Option<String>,
    pub error_kind: Option<String>,
    pub error_message: Option<String>,
    pub fuel: i64,
    pub peak_memory: i64,
    pub duration_us: i64,
    pub logs: String,
    pub at: i64,
}

#[derive(Debug, Clone, Default)]
pub struct InvocationFilter {
    pub hook: Option<String>,
    pub binding: Option<String>,
    pub outcome: Option<String>,
    pub track_id: Option<String>,
    /// Only records strictly older than this time (ms), for paging.
    pub before: Option<i64>,
    pub limit: i64,
}

const COLUMNS: &str = "id, tenant_id, call_id, hook, binding, plugin_name, plugin_version, track_id, outcome, input, output, error_kind, error_message, fuel, peak_memory, duration_us, logs, at";

fn invocation(r: &AnyRow) -> Result<InvocationRecord> {
    Ok(InvocationRecord {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        call_id: r.try_get("call_id")?,
        hook: r.try_get("hook")?,
        binding: r.try_get("binding")?,
        plugin_name: r.try_get("plugin_name")?,
        plugin_version: r.try_get("plugin_version")?,
        track_id: r.try_get("track_id")?,
        outcome: r.try_get("outcome")?,
        input: r.try_get("input")?,
        output: r.try_get("output")?,
        error_kind: r.try_get("error_kind")?,
        error_message: r.try_get("error_message")?,
        fuel: r.try_get("fuel")?,
        peak_memory: r.try_get("peak_memory")?,
        duration_us: r.try_get("duration_us")?,
        logs: r.try_get("logs")?,
        at: r.try_get("at")?,
    })
}

impl Store {
    /// Write a batch of decision records in one transaction.
    pub async fn insert_decisions(
        &self,
        calls: &[CallRecord],
        invocations: &[InvocationRecord],
    ) -> Result<()> {
        if calls.is_empty() && invocations.is_empty() {
            return Ok(());
        }
        let _guard = self.write_lock().await;
        let mut tx = self.begin_write().await?;
        for c in calls {
            sqlx::query(
                "INSERT INTO calls (id, tenant_id, track_id, endpoint, check_only, code, message, result, duration_us, at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&c.id)
            .bind(&c.tenant_id)
            .bind(&c.track_id)
            .bind(&c.endpoint)
            .bind(flag(c.check_only))
            .bind(c.code)
            .bind(c.message.as_deref())
            .bind(c.result.as_deref())
            .bind(c.duration_us)
            .bind(c.at)
            .execute(&mut *tx)
            .await?;
        }
        for i in invocations {
            sqlx::query(&format!(
                "INSERT INTO invocations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
            ))
            .bind(&i.id)
            .bind(&i.tenant_id)
            .bind(i.call_id.as_deref())
            .bind(&i.hook)
            .bind(&i.binding)
            .bind(&i.plugin_name)
            .bind(&i.plugin_version)
            .bind(&i.track_id)
            .bind(&i.outcome)
            .bind(&i.input)
            .bind(i.output.as_deref())
            .bind(i.error_kind.as_deref())
            .bind(i.error_message.as_deref())
            .bind(i.fuel)
            .bind(i.peak_memory)
            .bind(i.duration_us)
            .bind(&i.logs)
            .bind(i.at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn invocation(&self, tenant_id: &str, id: &str) -> Result<Option<InvocationRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM invocations WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(invocation).transpose()
    }

    /// Newest first, filtered.
    pub async fn invocations(
        &self,
        tenant_id: &str,
        f: &InvocationFilter,
    ) -> Result<Vec<InvocationRecord>> {
        // Empty filter values match everything; binding them keeps one
        // statement for every combination.
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM invocations WHERE tenant_id = $1
               AND ($2 = '' OR hook = $2) AND ($3 = '' OR binding = $3)
               AND ($4 = '' OR outcome = $4) AND ($5 = '' OR track_id = $5)
               AND at < $6
             ORDER BY at DESC, id DESC LIMIT $7"
        ))
        .bind(tenant_id)
        .bind(f.hook.as_deref().unwrap_or(""))
        .bind(f.binding.as_deref().unwrap_or(""))
        .bind(f.outcome.as_deref().unwrap_or(""))
        .bind(f.track_id.as_deref().unwrap_or(""))
        .bind(f.before.unwrap_or(i64::MAX))
        .bind(f.limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(invocation).collect()
    }

    pub async fn calls(&self, tenant_id: &str, limit: i64) -> Result<Vec<CallRecord>> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, track_id, endpoint, check_only, code, message, result, duration_us, at
             FROM calls WHERE tenant_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(tenant_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CallRecord {
                    id: r.try_get("id")?,
                    tenant_id: r.try_get("tenant_id")?,
                    track_id: r.try_get("track_id")?,
                    endpoint: r.try_get("endpoint")?,
                    check_only: r.try_get::<i64, _>("check_only")? != 0,
                    code: r.try_get("code")?,
                    message: r.try_get("message")?,
                    result: r.try_get("result")?,
                    duration_us: r.try_get("duration_us")?,
                    at: r.try_get("at")?,
                })
            })
            .collect()
    }

    /// Drop decision records older than `before` (ms), and beyond the newest
    /// `keep` invocations of each tenant. Returns how many rows went.
    pub async fn prune_decisions(&self, before: i64, keep: i64) -> Result<u64> {
        let _guard = self.write_lock().await;
        let mut gone = sqlx::query("DELETE FROM invocations WHERE at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?
            .rows_affected();
        gone += sqlx::query("DELETE FROM calls WHERE at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?
            .rows_affected();
        let tenants: Vec<String> = sqlx::query_scalar("SELECT id FROM tenants")
            .fetch_all(&self.pool)
            .await?;
        for tenant in tenants {
            for table in ["invocations", "calls"] {
                // Ids are time-ordered (UUID v7): the newest `keep` stay.
                gone += sqlx::query(&format!(
                    "DELETE FROM {table} WHERE tenant_id = $1 AND id IN (
                        SELECT id FROM {table} WHERE tenant_id = $1
                        ORDER BY at DESC, id DESC LIMIT 9223372036854775807 OFFSET $2)"
                ))
                .bind(&tenant)
                .bind(keep)
                .execute(&self.pool)
                .await?
                .rows_affected();
            }
        }
        Ok(gone)
    }
}
