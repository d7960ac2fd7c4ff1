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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginSummary {
    pub name: String,
    pub hook: String,
    pub versions: i64,
    pub latest_version: String,
    pub latest_at: i64,
}

impl Store {
    /// Store a version. Uploading the same bytes again changes nothing and
    /// answers false.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_plugin(
        &self,
        tenant_id: &str,
        name: &str,
        version: &str,
        hook: &str,
        bytes: &[u8],
        uploaded_by: &str,
        now: i64,
    ) -> Result<bool> {
        let _guard = self.write_lock().await;
        let mut tx = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            // Uploads of one tenant queue on its row, so two concurrent
            // uploads never take the same `seq` (the newest-first order).
            sqlx::query("SELECT id FROM tenants WHERE id = $1 FOR UPDATE")
                .bind(tenant_id)
                .execute(&mut *tx)
                .await?;
        }
        let done = sqlx::query(
            "INSERT INTO plugins (tenant_id, name, version, hook, size, bytes, uploaded_by, uploaded_at, seq)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, COALESCE(MAX(seq), 0) + 1 FROM plugins WHERE tenant_id = $1
             ON CONFLICT (tenant_id, name, version) DO NOTHING",
        )
        .bind(tenant_id)
        .bind(name)
        .bind(version)
        .bind(hook)
        .bind(i64::try_from(bytes.len()).unwrap_or(i64::MAX))
        .bind(bytes)
        .bind(uploaded_by)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn plugin(
        &self,
        tenant_id: &str,
        name: &str,
        version: &str,
    ) -> Result<Option<PluginRecord>> {
        let row = sqlx::query(
            "SELECT name, version, hook, size, uploaded_by, uploaded_at FROM plugins
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
            "SELECT name, version, hook, size, uploaded_by, uploaded_at FROM plugins
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
            "SELECT name, version, hook, size, uploaded_by, uploaded_at FROM plugins
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
    })
}
