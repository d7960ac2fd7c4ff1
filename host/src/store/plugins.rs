//! Uploaded plugin versions: immutable, content-addressed (the version is
//! the SHA-256 of the bytes), kept in the database so any instance can
//! compile any version.

use super::{Backend, Result, Store};
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginRecord {
    pub name: String,
    pub version: String,
    pub hook: String,
    pub size: i64,
    pub uploaded_by: String,
    pub uploaded_at: i64,
    /// `rust`, `javascript`, `python`, `unknown`.
    pub language: String,
    /// The contract version it implements, e.g. `2.0.0` (`unknown` for
    /// versions stored before this was recorded).
    pub contract: String,
}

/// What [`Store::insert_plugin`] stores besides the bytes.
#[derive(Debug, Clone, Copy)]
pub struct PluginMeta<'a> {
    pub hook: &'a str,
    pub language: &'a str,
    pub contract: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginSummary {
    pub name: String,
    pub hook: String,
    pub versions: i64,
    pub latest_version: String,
    pub latest_at: i64,
}

/// What [`Store::insert_plugin`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    Created,
    /// These bytes were already stored under this name.
    Existing,
    /// Refused: the tenant already holds `limit` versions.
    TooManyVersions {
        limit: i64,
    },
    /// Refused: the tenant's versions would take more than `limit` bytes
    /// (`used` now).
    TooManyBytes {
        used: i64,
        limit: i64,
    },
}

/// Per-tenant upload quotas, checked inside the insert's transaction so
/// concurrent uploads cannot both squeeze under them.
#[derive(Debug, Clone, Copy)]
pub struct UploadQuota {
    pub max_versions: i64,
    pub max_bytes: i64,
}

/// What [`Store::delete_plugin_version`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteVersionOutcome {
    /// Gone. `content_still_stored` tells whether the same bytes remain
    /// under another name or tenant (compiled code is shared by content).
    Deleted {
        content_still_stored: bool,
    },
    NotFound,
    /// Refused: these bindings (`hook/name`) use it.
    InUse(Vec<String>),
}

impl Store {
    /// Store a version within `quota`. Uploading the same bytes again
    /// changes nothing and answers `Existing`.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_plugin(
        &self,
        tenant_id: &str,
        name: &str,
        version: &str,
        meta: PluginMeta<'_>,
        bytes: &[u8],
        uploaded_by: &str,
        now: i64,
        quota: UploadQuota,
    ) -> Result<InsertOutcome> {
        let _guard = self.write_lock().await;
        let mut tx = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            // Uploads of one tenant queue on its row, so two concurrent
            // uploads never take the same `seq` (the newest-first order)
            // nor both pass the quota.
            sqlx::query("SELECT id FROM tenants WHERE id = $1 FOR UPDATE")
                .bind(tenant_id)
                .execute(&mut *tx)
                .await?;
        }
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM plugins WHERE tenant_id = $1 AND name = $2 AND version = $3",
        )
        .bind(tenant_id)
        .bind(name)
        .bind(version)
        .fetch_optional(&mut *tx)
        .await?;
        if exists.is_some() {
            return Ok(InsertOutcome::Existing);
        }
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(size), 0) AS BIGINT) AS used FROM plugins WHERE tenant_id = $1",
        )
        .bind(tenant_id)
        .fetch_one(&mut *tx)
        .await?;
        let (count, used): (i64, i64) = (row.try_get("n")?, row.try_get("used")?);
        if count >= quota.max_versions {
            return Ok(InsertOutcome::TooManyVersions {
                limit: quota.max_versions,
            });
        }
        if used.saturating_add(size) > quota.max_bytes {
            return Ok(InsertOutcome::TooManyBytes {
                used,
                limit: quota.max_bytes,
            });
        }
        sqlx::query(
            "INSERT INTO plugins (tenant_id, name, version, hook, size, bytes, uploaded_by, uploaded_at, seq,
                                  language, contract)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, COALESCE(MAX(seq), 0) + 1, $9, $10 FROM plugins WHERE tenant_id = $1",
        )
        .bind(tenant_id)
        .bind(name)
        .bind(version)
        .bind(meta.hook)
        .bind(size)
        .bind(bytes)
        .bind(uploaded_by)
        .bind(now)
        .bind(meta.language)
        .bind(meta.contract)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(InsertOutcome::Created)
    }

    /// Remove a version no binding uses: not as its active version, not as
    /// its shadow, not as the revision a rollback would restore.
    pub async fn delete_plugin_version(
        &self,
        tenant_id: &str,
        name: &str,
        version: &str,
    ) -> Result<DeleteVersionOutcome> {
        let _guard = self.write_lock().await;
        let mut tx = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            // Binding changes lock the tenant row too: no binding can pick
            // this version up between the check and the delete.
            sqlx::query("SELECT id FROM tenants WHERE id = $1 FOR UPDATE")
                .bind(tenant_id)
                .execute(&mut *tx)
                .await?;
        }
        let users = super::bindings::users_of_version(&mut tx, tenant_id, name, version).await?;
        if !users.is_empty() {
            return Ok(DeleteVersionOutcome::InUse(users));
        }
        let done =
            sqlx::query("DELETE FROM plugins WHERE tenant_id = $1 AND name = $2 AND version = $3")
                .bind(tenant_id)
                .bind(name)
                .bind(version)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            return Ok(DeleteVersionOutcome::NotFound);
        }
        let others: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM plugins WHERE version = $1")
            .bind(version)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(DeleteVersionOutcome::Deleted {
            content_still_stored: others > 0,
        })
    }

    /// The bindings (`hook/name`) using each version of a plugin, active or
    /// as a shadow.
    pub async fn version_users(
        &self,
        tenant_id: &str,
        plugin: &str,
    ) -> Result<std::collections::BTreeMap<String, Vec<String>>> {
        let rows = sqlx::query(
            "SELECT hook, name, plugin_version, shadow_version FROM bindings
             WHERE tenant_id = $1 AND plugin_name = $2 ORDER BY hook, name",
        )
        .bind(tenant_id)
        .bind(plugin)
        .fetch_all(&self.pool)
        .await?;
        let mut users: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for r in &rows {
            let binding = format!(
                "{}/{}",
                r.try_get::<String, _>("hook")?,
                r.try_get::<String, _>("name")?
            );
            let active: String = r.try_get("plugin_version")?;
            users.entry(active).or_default().push(binding.clone());
            if let Some(shadow) = r.try_get::<Option<String>, _>("shadow_version")? {
                users.entry(shadow).or_default().push(binding);
            }
        }
        Ok(users)
    }

    /// How many versions a tenant stores, and their bytes.
    pub async fn plugin_usage(&self, tenant_id: &str) -> Result<(i64, i64)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(size), 0) AS BIGINT) AS used FROM plugins WHERE tenant_id = $1",
        )
        .bind(tenant_id)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("n")?, row.try_get("used")?))
    }

    /// The recorded SHA-256 (hex) of a compiled artifact, if any.
    pub async fn artifact_digest(&self, compat_key: &str, version: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT sha256 FROM compiled_artifacts WHERE compat_key = $1 AND version = $2",
        )
        .bind(compat_key)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Record the digest of a compiled artifact about to be written.
    pub async fn record_artifact_digest(
        &self,
        compat_key: &str,
        version: &str,
        sha256: &str,
        bytes: i64,
        now: i64,
    ) -> Result<()> {
        let _guard = self.write_lock().await;
        sqlx::query(
            "INSERT INTO compiled_artifacts (compat_key, version, sha256, bytes, at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (compat_key, version) DO UPDATE SET sha256 = excluded.sha256, bytes = excluded.bytes,
                at = excluded.at",
        )
        .bind(compat_key)
        .bind(version)
        .bind(sha256)
        .bind(bytes)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forget the digests of a version no tenant stores any more.
    pub async fn forget_artifact(&self, version: &str) -> Result<()> {
        let _guard = self.write_lock().await;
        sqlx::query("DELETE FROM compiled_artifacts WHERE version = $1")
            .bind(version)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn plugin(
        &self,
        tenant_id: &str,
        name: &str,
        version: &str,
    ) -> Result<Option<PluginRecord>> {
        let row = sqlx::query(
            "SELECT name, version, hook, size, uploaded_by, uploaded_at, language, contract FROM plugins
             WHERE tenant_id = $1 AND name = $2 AND version = $3",
        )
        .bind(tenant_id)
        .bind(name)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| record(&r)).transpose()
    }

    /// The bytes of a version (any name: the same content compiles once).
    pub async fn plugin_bytes(&self, tenant_id: &str, version: &str) -> Result<Option<Vec<u8>>> {
        let bytes: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT bytes FROM plugins WHERE tenant_id = $1 AND version = $2 LIMIT 1",
        )
        .bind(tenant_id)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        Ok(bytes)
    }

    /// A plugin's versions, newest first.
    pub async fn plugin_versions(&self, tenant_id: &str, name: &str) -> Result<Vec<PluginRecord>> {
        let rows = sqlx::query(
            "SELECT name, version, hook, size, uploaded_by, uploaded_at, language, contract FROM plugins
             WHERE tenant_id = $1 AND name = $2 ORDER BY seq DESC",
        )
        .bind(tenant_id)
        .bind(name)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record).collect()
    }

    pub async fn plugins(&self, tenant_id: &str) -> Result<Vec<PluginSummary>> {
        let rows = sqlx::query(
            "SELECT name, version, hook, size, uploaded_by, uploaded_at, language, contract FROM plugins
             WHERE tenant_id = $1 ORDER BY name, seq DESC",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<PluginSummary> = Vec::new();
        for row in &rows {
            let r = record(row)?;
            match out.last_mut() {
                Some(last) if last.name == r.name => last.versions += 1,
                _ => out.push(PluginSummary {
                    name: r.name,
                    hook: r.hook,
                    versions: 1,
                    latest_version: r.version,
                    latest_at: r.uploaded_at,
                }),
            }
        }
        Ok(out)
    }
}

fn record(r: &sqlx::any::AnyRow) -> Result<PluginRecord> {
    Ok(PluginRecord {
        name: r.try_get("name")?,
        version: r.try_get("version")?,
        hook: r.try_get("hook")?,
        size: r.try_get("size")?,
        uploaded_by: r.try_get("uploaded_by")?,
        uploaded_at: r.try_get("uploaded_at")?,
        language: r
            .try_get::<Option<String>, _>("language")?
            .unwrap_or_else(|| "unknown".into()),
        contract: r
            .try_get::<Option<String>, _>("contract")?
            .unwrap_or_else(|| "unknown".into()),
    })
}
