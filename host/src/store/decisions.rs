//! Decision records: one row per platform call, one per hook invocation,
//! and one per distinct input a call's plugins shared (stored once, its
//! invocations refer to it). Written in batches off the request path, read
//! by the admin API, pruned by age, count and bytes per tenant.

use super::{Result, Store, StoreError, flag};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::sync::Arc;

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
    /// Invocation records of this call that were not stored (budget).
    pub records_dropped: i64,
    pub at: i64,
}

impl CallRecord {
    /// Stored size, for byte-bounded retention.
    pub fn bytes(&self) -> i64 {
        let text = self.id.len()
            + self.tenant_id.len()
            + self.track_id.len()
            + self.endpoint.len()
            + self.message.as_deref().map_or(0, str::len)
            + self.result.as_deref().map_or(0, str::len);
        i64::try_from(text + 48).unwrap_or(i64::MAX)
    }
}

/// The part of the hook input every invocation of one call shares (JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInputRecord {
    pub id: String,
    pub tenant_id: String,
    pub call_id: String,
    pub body: String,
    pub at: i64,
}

impl CallInputRecord {
    pub fn bytes(&self) -> i64 {
        i64::try_from(self.body.len() + self.id.len() + self.call_id.len() + 48).unwrap_or(i64::MAX)
    }
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
    /// `accept`, `reject`, `limits`, `plan`, `refuse`, `error`…
    pub outcome: String,
    /// JSON of the hook input. When `input_id` is set, only this
    /// invocation's own part; reads merge the shared part back in.
    pub input: String,
    /// The shared input this invocation's `input` completes.
    pub input_id: Option<String>,
    /// JSON of the output, if any.
    pub output: Option<String>,
    pub error_kind: Option<String>,
    pub error_message: Option<String>,
    pub fuel: i64,
    pub peak_memory: i64,
    pub duration_us: i64,
    pub logs: String,
    pub at: i64,
    /// A shadow run: the active invocation it ran beside, and whether both
    /// decided the same (`None` when the shadow failed).
    pub shadow: Option<ShadowOf>,
}

/// What a shadow run's record says about the active run it shadowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShadowOf {
    pub invocation: String,
    pub agreed: Option<bool>,
}

impl InvocationRecord {
    /// Stored size of the record's variable parts.
    pub fn bytes(&self) -> i64 {
        let text = self.id.len()
            + self.tenant_id.len()
            + self.call_id.as_deref().map_or(0, str::len)
            + self.hook.len()
            + self.binding.len()
            + self.plugin_name.len()
            + self.plugin_version.len()
            + self.track_id.len()
            + self.outcome.len()
            + self.input.len()
            + self.input_id.as_deref().map_or(0, str::len)
            + self.output.as_deref().map_or(0, str::len)
            + self.error_kind.as_deref().map_or(0, str::len)
            + self.error_message.as_deref().map_or(0, str::len)
            + self.logs.len();
        i64::try_from(text + 40).unwrap_or(i64::MAX)
    }
}

#[derive(Debug, Clone, Default)]
pub struct InvocationFilter {
    pub hook: Option<String>,
    pub binding: Option<String>,
    pub outcome: Option<String>,
    pub error_kind: Option<String>,
    pub track_id: Option<String>,
    /// Only shadow runs (`Some(true)`) or only active ones (`Some(false)`).
    pub shadow: Option<bool>,
    /// Only records at or after this time (ms).
    pub since: Option<i64>,
    /// Only records strictly older than this time (ms), for paging.
    pub before: Option<i64>,
    pub limit: i64,
}

/// A binding's shadow runs since it started (see [`Store::shadow_stats`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShadowStats {
    pub runs: i64,
    pub agreed: i64,
    pub disagreed: i64,
    pub failed: i64,
    /// Ids of the latest disagreeing shadow runs, newest first.
    pub samples: Vec<String>,
}

/// Counts for the console's overview (see [`Store::overview`]).
#[derive(Debug, Clone, Default)]
pub struct Overview {
    pub calls: Vec<CallCount>,
    pub failures: Vec<FailureCount>,
}

#[derive(Debug, Clone)]
pub struct CallCount {
    pub bucket: i64,
    pub endpoint: String,
    pub code: i64,
    pub count: i64,
}

#[derive(Debug, Clone)]
pub struct FailureCount {
    pub bucket: i64,
    pub binding: String,
    pub hook: String,
    pub kind: String,
    pub count: i64,
}

/// One batch for [`Store::insert_decisions`].
#[derive(Debug, Default)]
pub struct DecisionBatch {
    pub calls: Vec<CallRecord>,
    pub inputs: Vec<CallInputRecord>,
    pub invocations: Vec<InvocationRecord>,
}

impl DecisionBatch {
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty() && self.inputs.is_empty() && self.invocations.is_empty()
    }

    pub fn len(&self) -> usize {
        self.calls.len() + self.inputs.len() + self.invocations.len()
    }

    pub fn clear(&mut self) {
        self.calls.clear();
        self.inputs.clear();
        self.invocations.clear();
    }
}

/// What one retention pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Rows deleted.
    pub rows: u64,
    /// Tenants whose records were cut by the byte bound.
    pub tenants_over_bytes: u64,
}

/// What retention removes (see [`Store::prune_decisions`]).
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Records older than this time (ms) go.
    pub before: i64,
    /// At most this many invocations (and calls) per tenant are kept.
    pub keep_records: i64,
    /// At most this many bytes of records per tenant are kept.
    pub keep_bytes: i64,
    /// Events older than this time (ms) go.
    pub events_before: i64,
}

const COLUMNS: &str = "i.id, i.tenant_id, i.call_id, i.hook, i.binding, i.plugin_name, i.plugin_version, i.track_id, i.outcome, i.input, i.input_id, i.output, i.error_kind, i.error_message, i.fuel, i.peak_memory, i.duration_us, i.logs, i.at, i.shadow, i.shadow_of, i.agreed, c.body AS shared_input";

/// Rows deleted per statement while pruning: the writer lock is released
/// between batches so calls never wait behind a long delete.
const PRUNE_BATCH: i64 = 1000;

/// Parameters per multi-row insert, at most. Far below SQLite's (32,766)
/// and PostgreSQL's (65,535) limits, and small on purpose: binding a
/// parameter by its `$N` name is a linear search in SQLite
/// (`sqlite3_bind_parameter_name`), so a statement's binding cost grows
/// with the square of its parameters (measured: 1,472 parameters per
/// statement took 9 % of the server's CPU under load).
const PARAMS_PER_INSERT: usize = 192;

/// Rows of `columns` columns per multi-row insert.
const fn rows_per_insert(columns: usize) -> usize {
    let rows = PARAMS_PER_INSERT / columns;
    if rows == 0 { 1 } else { rows }
}

/// The decision tables and the columns every insert (either driver) fills.
const CALLS: &str = "calls (id, tenant_id, track_id, endpoint, check_only, code, message, result,
                    duration_us, at, bytes, records_dropped)";
const CALL_INPUTS: &str = "call_inputs (id, tenant_id, call_id, body, bytes, at)";
const INVOCATIONS: &str = "invocations (id, tenant_id, call_id, hook, binding, plugin_name,
        plugin_version, track_id, outcome, input, input_id, output, error_kind, error_message,
        fuel, peak_memory, duration_us, logs, at, bytes, shadow, shadow_of, agreed)";

/// [`Store::insert_decisions`] on SQLite without sqlx: one cached
/// statement per table, one row per execution (no parameter-name search,
/// no per-statement thread hand-off).
fn insert_direct(tx: &rusqlite::Transaction<'_>, batch: &DecisionBatch) -> Result<()> {
    use rusqlite::params;
    // One row's statement: `$1…$N` in order, so positional binds match.
    let mut calls = tx.prepare_cached(&insert_sql(CALLS, 12, 1))?;
    for c in &batch.calls {
        calls.execute(params![
            c.id,
            c.tenant_id,
            c.track_id,
            c.endpoint,
            flag(c.check_only),
            c.code,
            c.message,
            c.result,
            c.duration_us,
            c.at,
            c.bytes(),
            c.records_dropped,
        ])?;
    }
    let mut inputs = tx.prepare_cached(&insert_sql(CALL_INPUTS, 6, 1))?;
    for i in &batch.inputs {
        inputs.execute(params![
            i.id,
            i.tenant_id,
            i.call_id,
            i.body,
            i.bytes(),
            i.at
        ])?;
    }
    let mut invocations = tx.prepare_cached(&insert_sql(INVOCATIONS, 23, 1))?;
    for i in &batch.invocations {
        invocations.execute(params![
            i.id,
            i.tenant_id,
            i.call_id,
            i.hook,
            i.binding,
            i.plugin_name,
            i.plugin_version,
            i.track_id,
            i.outcome,
            i.input,
            i.input_id,
            i.output,
            i.error_kind,
            i.error_message,
            i.fuel,
            i.peak_memory,
            i.duration_us,
            i.logs,
            i.at,
            i.bytes(),
            flag(i.shadow.is_some()),
            i.shadow.as_ref().map(|s| s.invocation.as_str()),
            i.shadow.as_ref().and_then(|s| s.agreed).map(flag),
        ])?;
    }
    Ok(())
}

/// `INSERT INTO table (columns) VALUES ($1, …), (…)` for `rows` rows.
fn insert_sql(table_and_columns: &str, columns: usize, rows: usize) -> String {
    use std::fmt::Write as _;
    let mut sql = format!("INSERT INTO {table_and_columns} VALUES ");
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            let sep = if column == 0 { "" } else { ", " };
            let _ = write!(sql, "{sep}${}", row * columns + column + 1);
        }
        sql.push(')');
    }
    sql
}

/// Merge an invocation's own input part into the shared part of its call.
fn merged_input(own: &str, shared: Option<&str>) -> Result<String> {
    let Some(shared) = shared else {
        return Ok(own.to_string());
    };
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("a stored input: {e}"));
    let mut whole: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(shared).map_err(corrupt)?;
    let own: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(own).map_err(corrupt)?;
    // The shared part holds every binding's config; keep the one that ran.
    let configs = whole.remove("configs");
    whole.extend(own);
    if let Some(flag) = whole.remove(crate::codec::REQUEST_ATTRIBUTES) {
        request_attributes_into_target(&mut whole, &flag)?;
    }
    if !whole.contains_key("config")
        && let (Some(serde_json::Value::Object(configs)), Some(serde_json::Value::String(b))) =
            (configs, whole.get("binding"))
        && let Some(config) = configs.get(b)
    {
        whole.insert("config".into(), config.clone());
    }
    serde_json::to_string(&whole).map_err(corrupt)
}

/// A target stored without its attributes gets the request's back (see
/// `codec::OwnInputDoc::request_attributes`).
fn request_attributes_into_target(
    whole: &mut serde_json::Map<String, serde_json::Value>,
    flag: &serde_json::Value,
) -> Result<()> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("a stored input: {what}"));
    if flag != &serde_json::Value::Bool(true) {
        return Err(corrupt("`request_attributes` is not `true`"));
    }
    // A shared part cut to its budget has no request: nothing to restore,
    // the input reads as cut.
    if whole.contains_key("cut") {
        return Ok(());
    }
    let attributes = whole
        .get("request")
        .and_then(|r| r.get("attributes"))
        .cloned()
        .ok_or_else(|| corrupt("its request has no attributes for its target"))?;
    let target = whole
        .get_mut("target")
        .and_then(serde_json::Value::as_object_mut)
        .ok_or_else(|| corrupt("`request_attributes` without a target"))?;
    target.insert("attributes".into(), attributes);
    Ok(())
}

fn invocation(r: &AnyRow) -> Result<InvocationRecord> {
    let own: String = r.try_get("input")?;
    let shared: Option<String> = r.try_get("shared_input")?;
    let input_id: Option<String> = r.try_get("input_id")?;
    if input_id.is_some() && shared.is_none() {
        return Err(StoreError::Corrupt(format!(
            "invocation {} refers to a missing shared input",
            r.try_get::<String, _>("id")?
        )));
    }
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
        input: merged_input(&own, shared.as_deref())?,
        input_id,
        output: r.try_get("output")?,
        error_kind: r.try_get("error_kind")?,
        error_message: r.try_get("error_message")?,
        fuel: r.try_get("fuel")?,
        peak_memory: r.try_get("peak_memory")?,
        duration_us: r.try_get("duration_us")?,
        logs: r.try_get("logs")?,
        at: r.try_get("at")?,
        shadow: match (
            r.try_get::<i64, _>("shadow")? != 0,
            r.try_get::<Option<String>, _>("shadow_of")?,
        ) {
            (false, None) => None,
            (true, Some(invocation)) => Some(ShadowOf {
                invocation,
                agreed: r.try_get::<Option<i64>, _>("agreed")?.map(|a| a != 0),
            }),
            _ => {
                return Err(StoreError::Corrupt(
                    "an invocation's shadow columns disagree".into(),
                ));
            }
        },
    })
}

type Query<'q, DB> = sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>;

/// One call row's values, in [`CALLS`]' column order.
fn bind_call<'q, DB>(q: Query<'q, DB>, c: &'q CallRecord) -> Query<'q, DB>
where
    DB: sqlx::Database,
    &'q String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    q.bind(&c.id)
        .bind(&c.tenant_id)
        .bind(&c.track_id)
        .bind(&c.endpoint)
        .bind(flag(c.check_only))
        .bind(c.code)
        .bind(c.message.as_deref())
        .bind(c.result.as_deref())
        .bind(c.duration_us)
        .bind(c.at)
        .bind(c.bytes())
        .bind(c.records_dropped)
}

/// One shared input row's values, in [`CALL_INPUTS`]' column order.
fn bind_input<'q, DB>(q: Query<'q, DB>, i: &'q CallInputRecord) -> Query<'q, DB>
where
    DB: sqlx::Database,
    &'q String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    q.bind(&i.id)
        .bind(&i.tenant_id)
        .bind(&i.call_id)
        .bind(&i.body)
        .bind(i.bytes())
        .bind(i.at)
}

/// One invocation row's values, in [`INVOCATIONS`]' column order.
fn bind_invocation<'q, DB>(q: Query<'q, DB>, i: &'q InvocationRecord) -> Query<'q, DB>
where
    DB: sqlx::Database,
    &'q String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    q.bind(&i.id)
        .bind(&i.tenant_id)
        .bind(i.call_id.as_deref())
        .bind(&i.hook)
        .bind(&i.binding)
        .bind(&i.plugin_name)
        .bind(&i.plugin_version)
        .bind(&i.track_id)
        .bind(&i.outcome)
        .bind(&i.input)
        .bind(i.input_id.as_deref())
        .bind(i.output.as_deref())
        .bind(i.error_kind.as_deref())
        .bind(i.error_message.as_deref())
        .bind(i.fuel)
        .bind(i.peak_memory)
        .bind(i.duration_us)
        .bind(&i.logs)
        .bind(i.at)
        .bind(i.bytes())
        .bind(flag(i.shadow.is_some()))
        .bind(i.shadow.as_ref().map(|s| s.invocation.as_str()))
        .bind(i.shadow.as_ref().and_then(|s| s.agreed).map(flag))
}

/// Insert `batch`'s rows within the transaction `tx` (either driver):
/// multi-row inserts, a handful of statements per batch rather than one per
/// record (each statement is a round trip to the database).
macro_rules! insert_rows {
    ($tx:ident, $batch:ident) => {
        for rows in $batch.calls.chunks(rows_per_insert(12)) {
            let sql = insert_sql(CALLS, 12, rows.len());
            let q = rows.iter().fold(sqlx::query(&sql), bind_call);
            q.execute(&mut *$tx).await?;
        }
        for rows in $batch.inputs.chunks(rows_per_insert(6)) {
            let sql = insert_sql(CALL_INPUTS, 6, rows.len());
            let q = rows.iter().fold(sqlx::query(&sql), bind_input);
            q.execute(&mut *$tx).await?;
        }
        for rows in $batch.invocations.chunks(rows_per_insert(23)) {
            let sql = insert_sql(INVOCATIONS, 23, rows.len());
            let q = rows.iter().fold(sqlx::query(&sql), bind_invocation);
            q.execute(&mut *$tx).await?;
        }
    };
}

impl Store {
    /// Write a batch of decision records in one transaction.
    pub async fn insert_decisions(&self, batch: Arc<DecisionBatch>) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        if let Some(direct) = &self.direct {
            // One blocking-pool hop for the whole batch, under the store's
            // write lock like any other SQLite write.
            let guard = self.write_lock_owned().await;
            let direct = direct.clone();
            return tokio::task::spawn_blocking(move || {
                let _guard = guard;
                direct.write_decisions(|tx| insert_direct(tx, &batch))
            })
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?;
        }
        if let Some(lane) = &self.direct_pg {
            // On the call path's own connections, like the state read: no
            // pool ping, no `Any` conversion of 23 values per invocation.
            let mut lease = lane.lease().await?;
            let mut tx = sqlx::Connection::begin(&mut lease.conn).await?;
            insert_rows!(tx, batch);
            tx.commit().await?;
            lease.keep();
            return Ok(());
        }
        let _guard = self.write_lock().await;
        let mut tx = self.begin_write().await?;
        insert_rows!(tx, batch);
        tx.commit().await?;
        Ok(())
    }

    pub async fn invocation(&self, tenant_id: &str, id: &str) -> Result<Option<InvocationRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM invocations i LEFT JOIN call_inputs c ON c.id = i.input_id
             WHERE i.tenant_id = $1 AND i.id = $2"
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
        let rows = sqlx::query(&invocations_sql())
            .bind(tenant_id)
            .bind(f.hook.as_deref().unwrap_or(""))
            .bind(f.binding.as_deref().unwrap_or(""))
            .bind(f.outcome.as_deref().unwrap_or(""))
            .bind(f.track_id.as_deref().unwrap_or(""))
            .bind(f.error_kind.as_deref().unwrap_or(""))
            .bind(f.since.unwrap_or(i64::MIN))
            .bind(f.before.unwrap_or(i64::MAX))
            .bind(f.limit)
            .bind(f.shadow.map_or(-1, flag))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(invocation).collect()
    }

    pub async fn calls(&self, tenant_id: &str, limit: i64) -> Result<Vec<CallRecord>> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, track_id, endpoint, check_only, code, message, result, duration_us,
                    records_dropped, at
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
                    records_dropped: r.try_get("records_dropped")?,
                    at: r.try_get("at")?,
                })
            })
            .collect()
    }

    /// How a binding's shadow fared since `since`: (runs, agreed,
    /// disagreed, failed) and the ids of its latest disagreements.
    pub async fn shadow_stats(
        &self,
        tenant_id: &str,
        hook: &str,
        binding: &str,
        since: i64,
    ) -> Result<ShadowStats> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS runs,
                    CAST(COALESCE(SUM(CASE WHEN agreed = 1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS agreed,
                    CAST(COALESCE(SUM(CASE WHEN agreed = 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS disagreed,
                    CAST(COALESCE(SUM(CASE WHEN agreed IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS failed
             FROM invocations WHERE tenant_id = $1 AND hook = $2 AND binding = $3 AND shadow = 1 AND at >= $4",
        )
        .bind(tenant_id)
        .bind(hook)
        .bind(binding)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        let samples: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM invocations WHERE tenant_id = $1 AND hook = $2 AND binding = $3 AND shadow = 1
               AND agreed = 0 AND at >= $4 ORDER BY at DESC, id DESC LIMIT 20",
        )
        .bind(tenant_id)
        .bind(hook)
        .bind(binding)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        Ok(ShadowStats {
            runs: row.try_get("runs")?,
            agreed: row.try_get("agreed")?,
            disagreed: row.try_get("disagreed")?,
            failed: row.try_get("failed")?,
            samples,
        })
    }

    /// A tenant's calls and plugin outcomes since `since`, counted per
    /// `bucket_ms` and in all (the console's overview).
    pub async fn overview(&self, tenant_id: &str, since: i64, bucket_ms: i64) -> Result<Overview> {
        let calls = sqlx::query(
            "SELECT (at - $2) / $3 AS bucket, endpoint, code, COUNT(*) AS n FROM calls
             WHERE tenant_id = $1 AND at >= $2 GROUP BY (at - $2) / $3, endpoint, code",
        )
        .bind(tenant_id)
        .bind(since)
        .bind(bucket_ms.max(1))
        .fetch_all(&self.pool)
        .await?;
        let failures = sqlx::query(
            "SELECT (at - $2) / $3 AS bucket, binding, hook, error_kind, COUNT(*) AS n FROM invocations
             WHERE tenant_id = $1 AND at >= $2 AND shadow = 0 AND error_kind IS NOT NULL
             GROUP BY (at - $2) / $3, binding, hook, error_kind",
        )
        .bind(tenant_id)
        .bind(since)
        .bind(bucket_ms.max(1))
        .fetch_all(&self.pool)
        .await?;
        let mut overview = Overview::default();
        for r in &calls {
            overview.calls.push(CallCount {
                bucket: r.try_get("bucket")?,
                endpoint: r.try_get("endpoint")?,
                code: r.try_get("code")?,
                count: r.try_get("n")?,
            });
        }
        for r in &failures {
            overview.failures.push(FailureCount {
                bucket: r.try_get("bucket")?,
                binding: r.try_get("binding")?,
                hook: r.try_get("hook")?,
                kind: r.try_get("error_kind")?,
                count: r.try_get("n")?,
            });
        }
        Ok(overview)
    }

    /// Bytes of decision records a tenant holds (calls, shared inputs,
    /// invocations).
    pub async fn decision_bytes(&self, tenant_id: &str) -> Result<i64> {
        let mut total = 0;
        for table in ["calls", "call_inputs", "invocations"] {
            let bytes: Option<i64> = sqlx::query_scalar(&format!(
                "SELECT CAST(SUM(bytes) AS BIGINT) FROM {table} WHERE tenant_id = $1"
            ))
            .bind(tenant_id)
            .fetch_one(&self.pool)
            .await?;
            total += bytes.unwrap_or(0);
        }
        Ok(total)
    }

    /// Apply `retention` to every tenant. Deletes in batches of
    /// [`PRUNE_BATCH`] rows, taking the writer lock per batch, so platform
    /// calls keep committing meanwhile.
    pub async fn prune_decisions(&self, retention: &Retention) -> Result<PruneReport> {
        let mut report = PruneReport::default();
        let mut gone = 0;
        for table in ["invocations", "call_inputs", "calls"] {
            gone += self
                .delete_batched(
                    &format!(
                        "DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE at < $1 LIMIT {PRUNE_BATCH})"
                    ),
                    &[],
                    retention.before,
                )
                .await?;
        }
        gone += self
            .delete_batched(
                &format!(
                    "DELETE FROM events WHERE (tenant_id, cursor) IN (
                       SELECT tenant_id, cursor FROM events WHERE at < $1 LIMIT {PRUNE_BATCH})"
                ),
                &[],
                retention.events_before,
            )
            .await?;
        let tenants: Vec<String> = sqlx::query_scalar("SELECT id FROM tenants")
            .fetch_all(&self.pool)
            .await?;
        for tenant in tenants {
            let (rows, cut_by_bytes) = self.prune_tenant(&tenant, retention).await?;
            gone += rows;
            report.tenants_over_bytes += u64::from(cut_by_bytes);
        }
        report.rows = gone;
        Ok(report)
    }

    /// Keep a tenant's newest records within the count and byte bounds;
    /// answers the rows removed and whether the byte bound cut.
    async fn prune_tenant(&self, tenant: &str, retention: &Retention) -> Result<(u64, bool)> {
        let mut gone = 0;
        for table in ["invocations", "calls"] {
            gone += self
                .keep_newest(tenant, table, retention.keep_records)
                .await?;
        }
        // Bytes: drop the oldest records, just enough of them (by running
        // total, oldest first) to get under the bound.
        let excess = self.decision_bytes(tenant).await? - retention.keep_bytes;
        if excess > 0 {
            let cutoff: Option<i64> = sqlx::query_scalar(
                "SELECT at FROM (
                   SELECT at, SUM(bytes) OVER (ORDER BY at ROWS UNBOUNDED PRECEDING) AS running FROM (
                     SELECT at, bytes FROM calls WHERE tenant_id = $1
                     UNION ALL SELECT at, bytes FROM call_inputs WHERE tenant_id = $1
                     UNION ALL SELECT at, bytes FROM invocations WHERE tenant_id = $1) u) t
                 WHERE running >= $2 ORDER BY at LIMIT 1",
            )
            .bind(tenant)
            .bind(excess)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(cutoff) = cutoff {
                gone += self.prune_tenant_before(tenant, cutoff + 1).await?;
            }
        }
        gone += self
            .delete_batched(
                &format!(
                    "DELETE FROM call_inputs WHERE id IN (
                       SELECT c.id FROM call_inputs c WHERE c.tenant_id = $2 AND c.at < $1 AND NOT EXISTS (
                         SELECT 1 FROM invocations i WHERE i.input_id = c.id) LIMIT {PRUNE_BATCH})"
                ),
                &[tenant],
                i64::MAX,
            )
            .await?;
        Ok((gone, excess > 0))
    }

    /// Delete a tenant's oldest rows of `table` (by time, then the
    /// time-ordered UUID v7 id) until `keep` remain.
    async fn keep_newest(&self, tenant: &str, table: &str, keep: i64) -> Result<u64> {
        let mut gone = 0;
        loop {
            let count: i64 = sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM {table} WHERE tenant_id = $1"
            ))
            .bind(tenant)
            .fetch_one(&self.pool)
            .await?;
            let excess = (count - keep).min(PRUNE_BATCH);
            if excess <= 0 {
                return Ok(gone);
            }
            let _guard = self.write_lock().await;
            gone += sqlx::query(&format!(
                "DELETE FROM {table} WHERE id IN (
                   SELECT id FROM {table} WHERE tenant_id = $1 ORDER BY at, id LIMIT $2)"
            ))
            .bind(tenant)
            .bind(excess)
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
    }

    async fn prune_tenant_before(&self, tenant: &str, before: i64) -> Result<u64> {
        let mut gone = 0;
        for table in ["invocations", "call_inputs", "calls"] {
            gone += self
                .delete_batched(
                    &format!(
                        "DELETE FROM {table} WHERE id IN (
                           SELECT id FROM {table} WHERE tenant_id = $2 AND at < $1 LIMIT {PRUNE_BATCH})"
                    ),
                    &[tenant],
                    before,
                )
                .await?;
        }
        Ok(gone)
    }

    /// Run a `DELETE … LIMIT`-shaped statement until it deletes nothing.
    /// `$1` is `at`, `$2…` the text arguments.
    async fn delete_batched(&self, sql: &str, args: &[&str], at: i64) -> Result<u64> {
        let mut gone = 0;
        loop {
            let _guard = self.write_lock().await;
            let mut query = sqlx::query(sql).bind(at);
            for arg in args {
                query = query.bind(*arg);
            }
            let n = query.execute(&self.pool).await?.rows_affected();
            gone += n;
            if n < PRUNE_BATCH as u64 {
                return Ok(gone);
            }
        }
    }
}

/// The decisions query. Empty filter values match everything; binding them
/// keeps one statement for every combination. The tenant's time index
/// holds the track id too, so a track filter is checked without reading
/// the rows (migration 0003).
fn invocations_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM invocations i LEFT JOIN call_inputs c ON c.id = i.input_id
         WHERE i.tenant_id = $1
           AND ($2 = '' OR i.hook = $2) AND ($3 = '' OR i.binding = $3)
           AND ($4 = '' OR i.outcome = $4) AND ($5 = '' OR i.track_id = $5)
           AND ($6 = '' OR i.error_kind = $6)
           AND i.at >= $7 AND i.at < $8 AND ($10 < 0 OR i.shadow = $10)
         ORDER BY i.at DESC, i.id DESC LIMIT $9"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No index of the decision log is keyed by a random value right after
    /// the tenant: each new record would land on a random leaf page, one
    /// page written per record (the platform's track ids are random GUIDs;
    /// `invocations_by_track` cost ≈ 18 % of a bound pre-check). Track
    /// lookups go through the time index, which carries the track id.
    #[tokio::test]
    async fn the_decision_log_has_no_random_keyed_index_and_tracks_use_the_time_index() {
        use sqlx::Row;
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = crate::store::Store::open(&url).await.expect("open");
        let indexes: Vec<(String, String)> = sqlx::query(
            "SELECT m.name, group_concat(i.name, ',') FROM sqlite_master m,
                 pragma_index_info(m.name) i
             WHERE m.type = 'index' AND m.tbl_name IN ('invocations', 'call_inputs', 'calls')
             GROUP BY m.name ORDER BY m.name",
        )
        .fetch_all(&store.pool)
        .await
        .expect("indexes")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
        let expected = [
            ("call_inputs_by_tenant", "tenant_id,at"),
            ("calls_by_tenant", "tenant_id,at"),
            ("invocations_by_binding", "tenant_id,binding,at"),
            ("invocations_by_input", "input_id"),
            ("invocations_by_tenant", "tenant_id,at,track_id"),
        ];
        let named: Vec<(String, String)> = indexes
            .into_iter()
            .filter(|(name, _)| !name.starts_with("sqlite_autoindex"))
            .collect();
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(named, expected);
        let plan: Vec<String> = sqlx::query(&format!("EXPLAIN QUERY PLAN {}", invocations_sql()))
            .bind("t1")
            .bind("")
            .bind("")
            .bind("")
            .bind("a-track")
            .bind("")
            .bind(0_i64)
            .bind(i64::MAX)
            .bind(50_i64)
            .bind(-1_i64)
            .fetch_all(&store.pool)
            .await
            .expect("plan")
            .iter()
            .map(|r| r.get::<String, _>(3))
            .collect();
        assert!(
            plan.iter()
                .any(|p| p.contains("USING INDEX invocations_by_tenant")),
            "{plan:?}"
        );
    }

    #[test]
    fn an_invocation_input_merges_with_its_calls_shared_part() {
        let shared = r#"{"request":{"quantity":2},"now":5,"configs":{"a":{"min":3},"b":{}}}"#;
        let own = r#"{"binding":"a","seed":7,"target":{"quantity":2}}"#;
        let merged: serde_json::Value =
            serde_json::from_str(&merged_input(own, Some(shared)).unwrap()).unwrap();
        assert_eq!(merged["config"], serde_json::json!({"min": 3}));
        assert_eq!(merged["now"], 5);
        assert_eq!(merged["seed"], 7);
        assert!(merged.get("configs").is_none());
        assert!(merge_fails_loudly());
    }

    fn merge_fails_loudly() -> bool {
        matches!(merged_input("{", Some("{}")), Err(StoreError::Corrupt(_)))
    }

    #[test]
    fn a_target_stored_without_its_attributes_gets_the_requests_back() {
        let shared = r#"{"request":{"attributes":[{"id":"seats"}]},"configs":{"a":{}}}"#;
        let own = r#"{"binding":"a","seed":1,"target":{"quantity":2},"request_attributes":true}"#;
        let merged: serde_json::Value =
            serde_json::from_str(&merged_input(own, Some(shared)).unwrap()).unwrap();
        assert_eq!(
            merged["target"]["attributes"],
            serde_json::json!([{"id": "seats"}])
        );
        assert!(merged.get("request_attributes").is_none());
        // A target with its own attributes keeps them.
        let own = r#"{"binding":"a","seed":1,"target":{"attributes":[]}}"#;
        let merged: serde_json::Value =
            serde_json::from_str(&merged_input(own, Some(shared)).unwrap()).unwrap();
        assert_eq!(merged["target"]["attributes"], serde_json::json!([]));
        // A shared part cut to its byte budget: the input reads as cut.
        let own = r#"{"binding":"a","seed":1,"target":{},"request_attributes":true}"#;
        let merged: serde_json::Value =
            serde_json::from_str(&merged_input(own, Some(r#"{"cut":true}"#)).unwrap()).unwrap();
        assert_eq!(merged["cut"], true);
        assert!(merged.get("request_attributes").is_none());
        // The flag without a target, or with a request lacking attributes,
        // is corrupt rather than an input with made-up attributes.
        for (own, shared) in [
            (
                r#"{"binding":"a","seed":1,"request_attributes":true}"#,
                shared,
            ),
            (
                r#"{"binding":"a","seed":1,"target":{},"request_attributes":true}"#,
                r#"{"request":{}}"#,
            ),
            (
                r#"{"binding":"a","seed":1,"target":{},"request_attributes":1}"#,
                shared,
            ),
        ] {
            assert!(
                matches!(merged_input(own, Some(shared)), Err(StoreError::Corrupt(_))),
                "{own}"
            );
        }
    }
}
