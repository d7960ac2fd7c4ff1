//! Tenants: the allow-list of platform installations and their secrets
//! (stored as SHA-256 digests, never in clear).

use super::{Columns, Result, Store, StoreError};
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRecord {
    pub id: String,
    pub name: String,
    /// Normalized GUID (lower case, hyphenated).
    pub application_id: String,
    pub api_key_hash: String,
    /// Still accepted during a key rotation.
    pub previous_api_key_hash: Option<String>,
    pub admin_token_hash: String,
    /// Per-tenant limit overrides (JSON), if any.
    pub limits: Option<String>,
    /// Changes whenever the tenant's bindings or documents change.
    pub config_revision: i64,
    pub created_at: i64,
}

pub struct NewTenant {
    pub id: String,
    pub name: String,
    pub application_id: String,
    pub api_key_hash: String,
    pub admin_token_hash: String,
    pub created_at: i64,
}

const COLUMNS: &str = "id, name, application_id, api_key_hash, previous_api_key_hash, admin_token_hash, limits, config_revision, created_at";

fn record(row: &AnyRow) -> Result<TenantRecord> {
    prefixed_record(row, "")
}

/// A tenant row whose columns are named `{prefix}{column}`.
pub(super) fn prefixed_record<R: Columns>(row: &R, prefix: &str) -> Result<TenantRecord> {
    let column = |name: &str| format!("{prefix}{name}");
    Ok(TenantRecord {
        id: row.field(&column("id"))?,
        name: row.field(&column("name"))?,
        application_id: row.field(&column("application_id"))?,
        api_key_hash: row.field(&column("api_key_hash"))?,
        previous_api_key_hash: row.field(&column("previous_api_key_hash"))?,
        admin_token_hash: row.field(&column("admin_token_hash"))?,
        limits: row.field(&column("limits"))?,
        config_revision: row.field(&column("config_revision"))?,
        created_at: row.field(&column("created_at"))?,
    })
}

impl Store {
    /// Add a tenant. A second tenant with the same application id is a
    /// conflict.
    pub async fn create_tenant(&self, t: &NewTenant) -> Result<()> {
        let _guard = self.write_lock().await;
        let result = sqlx::query(
            "INSERT INTO tenants (id, name, application_id, api_key_hash, admin_token_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&t.id)
        .bind(&t.name)
        .bind(&t.application_id)
        .bind(&t.api_key_hash)
        .bind(&t.admin_token_hash)
        .bind(t.created_at)
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = StoreError::from(e);
                if e.is_unique_violation() {
                    Err(StoreError::Conflict(format!(
                        "a tenant with application id {} already exists",
                        t.application_id
                    )))
                } else {
                    Err(e)
                }
            }
        }
    }

    pub async fn tenant_by_application_id(
        &self,
        application_id: &str,
    ) -> Result<Option<TenantRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM tenants WHERE application_id = $1"
        ))
        .bind(application_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(record).transpose()
    }

    pub async fn tenant_by_admin_token_hash(&self, hash: &str) -> Result<Option<TenantRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM tenants WHERE admin_token_hash = $1"
        ))
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(record).transpose()
    }

    pub async fn tenant(&self, id: &str) -> Result<Option<TenantRecord>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM tenants WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(record).transpose()
    }

    pub async fn tenants(&self) -> Result<Vec<TenantRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM tenants ORDER BY created_at, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record).collect()
    }

    /// Replace the API key; the old one stays valid (as the previous key)
    /// when `keep_previous`, so a key regenerated in BSS rolls out without
    /// downtime.
    pub async fn rotate_api_key(
        &self,
        tenant_id: &str,
        new_hash: &str,
        keep_previous: bool,
    ) -> Result<bool> {
        let _guard = self.write_lock().await;
        let sql = if keep_previous {
            "UPDATE tenants SET previous_api_key_hash = api_key_hash, api_key_hash = $2 WHERE id = $1"
        } else {
            "UPDATE tenants SET previous_api_key_hash = NULL, api_key_hash = $2 WHERE id = $1"
        };
        let done = sqlx::query(sql)
            .bind(tenant_id)
            .bind(new_hash)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn rotate_admin_token(&self, tenant_id: &str, new_hash: &str) -> Result<bool> {
        let _guard = self.write_lock().await;
        let done = sqlx::query("UPDATE tenants SET admin_token_hash = $2 WHERE id = $1")
            .bind(tenant_id)
            .bind(new_hash)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_tenant_limits(&self, tenant_id: &str, limits: Option<&str>) -> Result<bool> {
        let _guard = self.write_lock().await;
        let done = sqlx::query("UPDATE tenants SET limits = $2 WHERE id = $1")
            .bind(tenant_id)
            .bind(limits)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// Mark the tenant's configuration changed, inside a write transaction.
pub(super) async fn bump_config(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant_id: &str,
) -> Result<()> {
    sqlx::query("UPDATE tenants SET config_revision = config_revision + 1 WHERE id = $1")
        .bind(tenant_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
