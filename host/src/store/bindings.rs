//! Bindings (tenant, hook, name) → plugin version + scope + priority +
//! config + failure policy, with their full history. Every change is one
//! atomic upsert plus a history row; the revision counter makes concurrent
//! activations of one binding serialize.

use super::{Result, Store, StoreError};
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingRecord {
    pub hook: String,
    pub name: String,
    pub plugin_name: String,
    pub plugin_version: String,
    /// JSON `{"service_types": [...], "product_ids": [...]}`.
    pub scope: String,
    pub priority: i64,
    /// JSON text.
    pub config: String,
    pub on_failure: String,
    pub revision: i64,
    /// The history revision whose content is active (a rollback points it
    /// back).
    pub based_on: i64,
    pub updated_by: String,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingHistoryRecord {
    pub revision: i64,
    pub action: String,
    pub plugin_name: String,
    pub plugin_version: String,
    pub scope: String,
    pub priority: i64,
    pub config: String,
    pub on_failure: String,
    pub actor: String,
    pub at: i64,
}

/// The content of a binding activation.
#[derive(Debug, Clone)]
pub struct BindingWrite<'a> {
    pub plugin_name: &'a str,
    pub plugin_version: &'a str,
    pub scope: &'a str,
    pub priority: i64,
    pub config: &'a str,
    pub on_failure: &'a str,
}

const COLUMNS: &str = "hook, name, plugin_name, plugin_version, scope, priority, config, on_failure, revision, based_on, updated_by, updated_at";

fn record(r: &AnyRow) -> Result<BindingRecord> {
    Ok(BindingRecord {
        hook: r.try_get("hook")?,
        name: r.try_get("name")?,
        plugin_name: r.try_get("plugin_name")?,
        plugin_version: r.try_get("plugin_version")?,
        scope: r.try_get("scope")?,
        priority: r.try_get("priority")?,
        config: r.try_get("config")?,
        on_failure: r.try_get("on_failure")?,
        revision: r.try_get("revision")?,
        based_on: r.try_get("based_on")?,
        updated_by: r.try_get("updated_by")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn history(r: &AnyRow) -> Result<BindingHistoryRecord> {
    Ok(BindingHistoryRecord {
        revision: r.try_get("revision")?,
        action: r.try_get("action")?,
        plugin_name: r.try_get("plugin_name")?,
        plugin_version: r.try_get("plugin_version")?,
        scope: r.try_get("scope")?,
        priority: r.try_get("priority")?,
        config: r.try_get("config")?,
        on_failure: r.try_get("on_failure")?,
        actor: r.try_get("actor")?,
        at: r.try_get("at")?,
    })
}

impl Store {
    /// Every binding of a tenant (read on every platform call, so an
    /// activation is enforced by the next call on any instance).
    pub async fn bindings(&self, tenant_id: &str) -> Result<Vec<BindingRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM bindings WHERE tenant_id = $1 ORDER BY hook, priority, name"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record).collect()
    }

    pub async fn binding(
        &self,
        tenant_id: &str,
        hook: &str,
        name: &str,
    ) -> Result<Option<BindingRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM bindings WHERE tenant_id = $1 AND hook = $2 AND name = $3"
        ))
        .bind(tenant_id)
        .bind(hook)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(record).transpose()
    }

    /// Activate `w` on the binding (creating it if needed): one atomic
    /// change plus its history row. `restores` is the history revision a
    /// rollback brings back.
    #[allow(clippy::too_many_arguments)]
    pub async fn put_binding(
        &self,
        tenant_id: &str,
        hook: &str,
        name: &str,
        w: &BindingWrite<'_>,
        action: &str,
        restores: Option<i64>,
        actor: &str,
        now: i64,
    ) -> Result<BindingRecord> {
        let _guard = self.write_lock().await;
        let mut tx = self.begin_write().await?;
        // Bumping the tenant's config revision first locks its row until
        // commit: on PostgreSQL concurrent binding changes of one tenant
        // queue here, so the revision read below is the committed latest.
        super::tenants::bump_config(&mut tx, tenant_id).await?;
        // The revision counter survives deletes: history rows are never
        // overwritten.
        let last: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(revision) FROM binding_history WHERE tenant_id = $1 AND hook = $2 AND name = $3",
        )
        .bind(tenant_id)
        .bind(hook)
        .bind(name)
        .fetch_one(&mut *tx)
        .await?;
        let next = last.unwrap_or(0) + 1;
        let row = sqlx::query(&format!(
            "INSERT INTO bindings (tenant_id, hook, name, plugin_name, plugin_version, scope, priority, config,
                                   on_failure, revision, based_on, updated_by, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (tenant_id, hook, name) DO UPDATE SET
                plugin_name = excluded.plugin_name, plugin_version = excluded.plugin_version,
                scope = excluded.scope, priority = excluded.priority, config = excluded.config,
                on_failure = excluded.on_failure, revision = bindings.revision + 1,
                based_on = excluded.based_on, updated_by = excluded.updated_by, updated_at = excluded.updated_at
             RETURNING {COLUMNS}"
        ))
        .bind(tenant_id)
        .bind(hook)
        .bind(name)
        .bind(w.plugin_name)
        .bind(w.plugin_version)
        .bind(w.scope)
        .bind(w.priority)
        .bind(w.config)
        .bind(w.on_failure)
        .bind(next)
        .bind(restores.unwrap_or(next))
        .bind(actor)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let mut record = record(&row)?;
        // Keep the live revision equal to its history row's revision.
        if record.revision != next {
            sqlx::query("UPDATE bindings SET revision = $4, based_on = $5 WHERE tenant_id = $1 AND hook = $2 AND name = $3")
                .bind(tenant_id)
                .bind(hook)
                .bind(name)
                .bind(next)
                .bind(restores.unwrap_or(next))
                .execute(&mut *tx)
                .await?;
            record.revision = next;
            record.based_on = restores.unwrap_or(next);
        }
        insert_history(&mut tx, tenant_id, hook, name, next, action, w, actor, now).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Remove a binding (its history stays). False if there was none.
    pub async fn delete_binding(
        &self,
        tenant_id: &str,
        hook: &str,
        name: &str,
        actor: &str,
        now: i64,
    ) -> Result<bool> {
        let _guard = self.write_lock().await;
        let mut tx = self.begin_write().await?;
        // Lock the tenant row first, as `put_binding` does.
        super::tenants::bump_config(&mut tx, tenant_id).await?;
        let row = sqlx::query(&format!(
            "DELETE FROM bindings WHERE tenant_id = $1 AND hook = $2 AND name = $3 RETURNING {COLUMNS}"
        ))
        .bind(tenant_id)
        .bind(hook)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(false) };
        let gone = record(&row)?;
        let last: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(revision) FROM binding_history WHERE tenant_id = $1 AND hook = $2 AND name = $3",
        )
        .bind(tenant_id)
        .bind(hook)
        .bind(name)
        .fetch_one(&mut *tx)
        .await?;
        let w = BindingWrite {
            plugin_name: &gone.plugin_name,
            plugin_version: &gone.plugin_version,
            scope: &gone.scope,
            priority: gone.priority,
            config: &gone.config,
            on_failure: &gone.on_failure,
        };
        insert_history(
            &mut tx,
            tenant_id,
            hook,
            name,
            last.unwrap_or(0) + 1,
            "delete",
            &w,
            actor,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A binding's history, oldest first.
    pub async fn binding_history(
        &self,
        tenant_id: &str,
        hook: &str,
        name: &str,
    ) -> Result<Vec<BindingHistoryRecord>> {
        let rows = sqlx::query(
            "SELECT revision, action, plugin_name, plugin_version, scope, priority, config, on_failure, actor, at
             FROM binding_history WHERE tenant_id = $1 AND hook = $2 AND name = $3 ORDER BY revision",
        )
        .bind(tenant_id)
        .bind(hook)
        .bind(name)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(history).collect()
    }
}

#[allow(clippy::too_many_arguments)]
async fn insert_history(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant_id: &str,
    hook: &str,
    name: &str,
    revision: i64,
    action: &str,
    w: &BindingWrite<'_>,
    actor: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO binding_history (tenant_id, hook, name, revision, action, plugin_name, plugin_version, scope,
                                      priority, config, on_failure, actor, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(tenant_id)
    .bind(hook)
    .bind(name)
    .bind(revision)
    .bind(action)
    .bind(w.plugin_name)
    .bind(w.plugin_version)
    .bind(w.scope)
    .bind(w.priority)
    .bind(w.config)
    .bind(w.on_failure)
    .bind(actor)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(|e| {
        let e = StoreError::from(e);
        if e.is_unique_violation() {
            StoreError::Conflict(format!("binding {hook}/{name} changed concurrently"))
        } else {
            e
        }
    })?;
    Ok(())
}
