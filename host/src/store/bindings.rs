//! Bindings (tenant, hook, name) → plugin version + scope + priority +
//! config + failure policy, with their full history. Every change is one
//! atomic upsert plus a history row; the revision counter makes concurrent
//! activations of one binding serialize.

use super::{Result, Store, StoreError};
use crate::codec::Scope;
use crate::domain::hook::{FailurePolicy, Hook};
use sqlx::Row;
use sqlx::any::AnyRow;

/// A binding, decoded: a stored value that does not decode (an unknown
/// hook, an unreadable scope, an unknown policy) fails loudly as
/// `Corrupt`, never falls back to a default (a scope read as "everything"
/// would widen the binding to every call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingRecord {
    pub hook: Hook,
    pub name: String,
    pub plugin_name: String,
    pub plugin_version: String,
    pub scope: Scope,
    pub priority: i64,
    /// JSON text.
    pub config: String,
    pub on_failure: FailurePolicy,
    pub revision: i64,
    /// The history revision whose content is active (a rollback points it
    /// back).
    pub based_on: i64,
    pub updated_by: String,
    pub updated_at: i64,
    /// The shadow candidate, if any.
    pub shadow: Option<ShadowRecord>,
}

/// A shadow candidate of a binding: a version of the same plugin and a
/// config, run beside the active one without deciding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShadowRecord {
    pub version: String,
    /// JSON text.
    pub config: String,
    pub since: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingHistoryRecord {
    pub revision: i64,
    pub action: String,
    pub plugin_name: String,
    pub plugin_version: String,
    pub scope: Scope,
    pub priority: i64,
    pub config: String,
    pub on_failure: FailurePolicy,
    pub actor: String,
    pub at: i64,
}

/// The content of a binding activation.
#[derive(Debug, Clone)]
pub struct BindingWrite<'a> {
    pub plugin_name: &'a str,
    pub plugin_version: &'a str,
    pub scope: &'a Scope,
    pub priority: i64,
    pub config: &'a str,
    pub on_failure: FailurePolicy,
    pub shadow: ShadowChange<'a>,
}

/// What a binding write does to the binding's shadow.
#[derive(Debug, Clone, Copy)]
pub enum ShadowChange<'a> {
    Keep,
    Set { version: &'a str, config: &'a str },
    Clear,
}

const COLUMNS: &str = "hook, name, plugin_name, plugin_version, scope, priority, config, on_failure, revision, based_on, updated_by, updated_at, shadow_version, shadow_config, shadow_since";

/// Revisions kept per binding; older history rows are pruned on write.
pub const HISTORY_KEPT: i64 = 200;

fn hook(r: &AnyRow) -> Result<Hook> {
    r.try_get::<String, _>("hook")?
        .parse()
        .map_err(|e: crate::domain::hook::UnknownHook| StoreError::Corrupt(e.to_string()))
}

fn scope(r: &AnyRow) -> Result<Scope> {
    Scope::from_json(&r.try_get::<String, _>("scope")?)
        .map_err(|e| StoreError::Corrupt(format!("a binding's scope: {e}")))
}

fn policy(r: &AnyRow) -> Result<FailurePolicy> {
    let text: String = r.try_get("on_failure")?;
    FailurePolicy::parse(&text)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown failure policy {text:?}")))
}

fn record(r: &AnyRow) -> Result<BindingRecord> {
    Ok(BindingRecord {
        hook: hook(r)?,
        name: r.try_get("name")?,
        plugin_name: r.try_get("plugin_name")?,
        plugin_version: r.try_get("plugin_version")?,
        scope: scope(r)?,
        priority: r.try_get("priority")?,
        config: r.try_get("config")?,
        on_failure: policy(r)?,
        revision: r.try_get("revision")?,
        based_on: r.try_get("based_on")?,
        updated_by: r.try_get("updated_by")?,
        updated_at: r.try_get("updated_at")?,
        shadow: shadow(r)?,
    })
}

fn shadow(r: &AnyRow) -> Result<Option<ShadowRecord>> {
    let version: Option<String> = r.try_get("shadow_version")?;
    let config: Option<String> = r.try_get("shadow_config")?;
    let since: Option<i64> = r.try_get("shadow_since")?;
    match (version, config, since) {
        (None, None, None) => Ok(None),
        (Some(version), Some(config), Some(since)) => Ok(Some(ShadowRecord {
            version,
            config,
            since,
        })),
        _ => Err(StoreError::Corrupt(
            "a binding's shadow is half stored".into(),
        )),
    }
}

fn history(r: &AnyRow) -> Result<BindingHistoryRecord> {
    Ok(BindingHistoryRecord {
        revision: r.try_get("revision")?,
        action: r.try_get("action")?,
        plugin_name: r.try_get("plugin_name")?,
        plugin_version: r.try_get("plugin_version")?,
        scope: scope(r)?,
        priority: r.try_get("priority")?,
        config: r.try_get("config")?,
        on_failure: policy(r)?,
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
        max_bindings: i64,
    ) -> Result<BindingRecord> {
        let _guard = self.write_lock().await;
        let mut tx = self.begin_write().await?;
        // Bumping the tenant's config revision first locks its row until
        // commit: on PostgreSQL concurrent binding changes of one tenant
        // queue here, so the revision read below is the committed latest
        // and the quota check below cannot be raced.
        super::tenants::bump_config(&mut tx, tenant_id).await?;
        check_quota(&mut tx, tenant_id, hook, name, max_bindings).await?;
        // The revision counter survives deletes: history rows are never
        // overwritten.
        let next = next_revision(&mut tx, tenant_id, hook, name).await?;
        let upsert = format!(
            "INSERT INTO bindings (tenant_id, hook, name, plugin_name, plugin_version, scope, priority, config,
                                   on_failure, revision, based_on, updated_by, updated_at,
                                   shadow_version, shadow_config, shadow_since)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $15, $16, $17)
             ON CONFLICT (tenant_id, hook, name) DO UPDATE SET
                plugin_name = excluded.plugin_name, plugin_version = excluded.plugin_version,
                scope = excluded.scope, priority = excluded.priority, config = excluded.config,
                on_failure = excluded.on_failure, revision = bindings.revision + 1,
                based_on = excluded.based_on, updated_by = excluded.updated_by, updated_at = excluded.updated_at,
                shadow_version = CASE WHEN $14 = 1 THEN excluded.shadow_version ELSE bindings.shadow_version END,
                shadow_config = CASE WHEN $14 = 1 THEN excluded.shadow_config ELSE bindings.shadow_config END,
                shadow_since = CASE WHEN $14 = 1 THEN excluded.shadow_since ELSE bindings.shadow_since END
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&upsert)
            .bind(tenant_id)
            .bind(hook)
            .bind(name)
            .bind(w.plugin_name)
            .bind(w.plugin_version)
            .bind(w.scope.to_json())
            .bind(w.priority)
            .bind(w.config)
            .bind(w.on_failure.as_str())
            .bind(next)
            .bind(restores.unwrap_or(next))
            .bind(actor)
            .bind(now);
        let (mode, shadow_version, shadow_config, shadow_since) = match w.shadow {
            ShadowChange::Keep => (0i64, None, None, None),
            ShadowChange::Set { version, config } => (1, Some(version), Some(config), Some(now)),
            ShadowChange::Clear => (1, None, None, None),
        };
        let row = row
            .bind(mode)
            .bind(shadow_version)
            .bind(shadow_config)
            .bind(shadow_since)
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

    /// End a binding's shadow (a history row records it). False if it had
    /// none.
    pub async fn clear_shadow(
        &self,
        tenant_id: &str,
        hook: &str,
        name: &str,
        actor: &str,
        now: i64,
    ) -> Result<bool> {
        let _guard = self.write_lock().await;
        let mut tx = self.begin_write().await?;
        super::tenants::bump_config(&mut tx, tenant_id).await?;
        let next = next_revision(&mut tx, tenant_id, hook, name).await?;
        let row = sqlx::query(&format!(
            "UPDATE bindings SET shadow_version = NULL, shadow_config = NULL, shadow_since = NULL,
                revision = $4, updated_by = $5, updated_at = $6
             WHERE tenant_id = $1 AND hook = $2 AND name = $3 AND shadow_version IS NOT NULL
             RETURNING {COLUMNS}"
        ))
        .bind(tenant_id)
        .bind(hook)
        .bind(name)
        .bind(next)
        .bind(actor)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(false) };
        let b = record(&row)?;
        let w = BindingWrite {
            plugin_name: &b.plugin_name,
            plugin_version: &b.plugin_version,
            scope: &b.scope,
            priority: b.priority,
            config: &b.config,
            on_failure: b.on_failure,
            shadow: ShadowChange::Keep,
        };
        insert_history(
            &mut tx,
            tenant_id,
            hook,
            name,
            next,
            "shadow-stop",
            &w,
            actor,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
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
        let next = next_revision(&mut tx, tenant_id, hook, name).await?;
        let w = BindingWrite {
            plugin_name: &gone.plugin_name,
            plugin_version: &gone.plugin_version,
            scope: &gone.scope,
            priority: gone.priority,
            config: &gone.config,
            on_failure: gone.on_failure,
            shadow: ShadowChange::Keep,
        };
        insert_history(
            &mut tx, tenant_id, hook, name, next, "delete", &w, actor, now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A page of a binding's history: the newest `limit` revisions below
    /// `before` (all when none), oldest first.
    pub async fn binding_history(
        &self,
        tenant_id: &str,
        hook: &str,
        name: &str,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<BindingHistoryRecord>> {
        let rows = sqlx::query(
            "SELECT revision, action, plugin_name, plugin_version, scope, priority, config, on_failure, actor, at
             FROM binding_history WHERE tenant_id = $1 AND hook = $2 AND name = $3 AND revision < $4
             ORDER BY revision DESC LIMIT $5",
        )
        .bind(tenant_id)
        .bind(hook)
        .bind(name)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut page = rows.iter().map(history).collect::<Result<Vec<_>>>()?;
        page.reverse();
        Ok(page)
    }

    /// The revision a rollback without a target restores: the newest one
    /// before the active content that activated something.
    pub async fn rollback_target(
        &self,
        tenant_id: &str,
        hook: &str,
        name: &str,
        based_on: i64,
    ) -> Result<Option<BindingHistoryRecord>> {
        let row = sqlx::query(&format!(
            "SELECT revision, action, plugin_name, plugin_version, scope, priority, config, on_failure, actor, at
             FROM binding_history WHERE tenant_id = $1 AND hook = $2 AND name = $3 AND revision < $4
               AND action IN {ACTIVATING} ORDER BY revision DESC LIMIT 1"
        ))
        .bind(tenant_id)
        .bind(hook)
        .bind(name)
        .bind(based_on)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(history).transpose()
    }

    /// One history revision that activated something.
    pub async fn binding_revision(
        &self,
        tenant_id: &str,
        hook: &str,
        name: &str,
        revision: i64,
    ) -> Result<Option<BindingHistoryRecord>> {
        let row = sqlx::query(&format!(
            "SELECT revision, action, plugin_name, plugin_version, scope, priority, config, on_failure, actor, at
             FROM binding_history WHERE tenant_id = $1 AND hook = $2 AND name = $3 AND revision = $4
               AND action IN {ACTIVATING}"
        ))
        .bind(tenant_id)
        .bind(hook)
        .bind(name)
        .bind(revision)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(history).transpose()
    }
}

/// A new binding must fit the tenant's quota (a change of an existing one
/// always may); run after the tenant's row is locked.
async fn check_quota(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant_id: &str,
    hook: &str,
    name: &str,
    max_bindings: i64,
) -> Result<()> {
    let exists: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM bindings WHERE tenant_id = $1 AND hook = $2 AND name = $3",
    )
    .bind(tenant_id)
    .bind(hook)
    .bind(name)
    .fetch_optional(&mut **tx)
    .await?;
    if exists.is_none() {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bindings WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_one(&mut **tx)
            .await?;
        if count >= max_bindings {
            return Err(StoreError::TooManyBindings(max_bindings));
        }
    }
    Ok(())
}

/// The next history revision of a binding. The revision counter survives
/// deletes: history rows are never overwritten.
async fn next_revision(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant_id: &str,
    hook: &str,
    name: &str,
) -> Result<i64> {
    let last: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(revision) FROM binding_history WHERE tenant_id = $1 AND hook = $2 AND name = $3",
    )
    .bind(tenant_id)
    .bind(hook)
    .bind(name)
    .fetch_one(&mut **tx)
    .await?;
    Ok(last.unwrap_or(0) + 1)
}

/// History actions that make their content active (a rollback may
/// restore them).
const ACTIVATING: &str = "('activate', 'rollback', 'promote')";

/// The bindings (`hook/name`) of a tenant that use a plugin version: as
/// the active version, as the shadow, or as the revision a rollback
/// without a target would restore.
pub(super) async fn users_of_version(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant_id: &str,
    plugin: &str,
    version: &str,
) -> Result<Vec<String>> {
    let rows = sqlx::query(&format!(
        "SELECT b.hook, b.name FROM bindings b WHERE b.tenant_id = $1 AND b.plugin_name = $2 AND (
            b.plugin_version = $3 OR b.shadow_version = $3 OR EXISTS (
              SELECT 1 FROM binding_history h WHERE h.tenant_id = b.tenant_id AND h.hook = b.hook
                AND h.name = b.name AND h.plugin_version = $3 AND h.plugin_name = $2
                AND h.revision = (SELECT MAX(h2.revision) FROM binding_history h2
                    WHERE h2.tenant_id = b.tenant_id AND h2.hook = b.hook AND h2.name = b.name
                      AND h2.revision < b.based_on AND h2.action IN {ACTIVATING})))
         ORDER BY b.hook, b.name"
    ))
    .bind(tenant_id)
    .bind(plugin)
    .bind(version)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(format!(
                "{}/{}",
                r.try_get::<String, _>("hook")?,
                r.try_get::<String, _>("name")?
            ))
        })
        .collect()
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
    .bind(w.scope.to_json())
    .bind(w.priority)
    .bind(w.config)
    .bind(w.on_failure.as_str())
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
    // History is bounded: the newest HISTORY_KEPT revisions stay.
    sqlx::query(
        "DELETE FROM binding_history WHERE tenant_id = $1 AND hook = $2 AND name = $3 AND revision <= $4",
    )
    .bind(tenant_id)
    .bind(hook)
    .bind(name)
    .bind(revision - HISTORY_KEPT)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
