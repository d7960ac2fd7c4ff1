//! Per-tenant documents: the catalogue (`catalog`) and the setup fields
//! (`setup-fields`), each stored whole with a revision.

use super::{Result, Store};
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRecord {
    pub revision: i64,
    pub body: String,
    pub updated_at: i64,
}

impl Store {
    pub async fn document(&self, tenant_id: &str, kind: &str) -> Result<Option<DocumentRecord>> {
        let row = sqlx::query(
            "SELECT revision, body, updated_at FROM documents WHERE tenant_id = $1 AND kind = $2",
        )
        .bind(tenant_id)
        .bind(kind)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(DocumentRecord {
                revision: r.try_get("revision")?,
                body: r.try_get("body")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .transpose()
    }

    /// Only the revision: cheap enough to ask on every call.
    pub async fn document_revision(&self, tenant_id: &str, kind: &str) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT revision FROM documents WHERE tenant_id = $1 AND kind = $2")
                .bind(tenant_id)
                .bind(kind)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Replace a document; answers its new revision.
    pub async fn put_document(
        &self,
        tenant_id: &str,
        kind: &str,
        body: &str,
        now: i64,
    ) -> Result<i64> {
        let _guard = self.write_lock().await;
        let mut tx = self.begin_write().await?;
        let revision: i64 = sqlx::query_scalar(
            "INSERT INTO documents (tenant_id, kind, revision, body, updated_at) VALUES ($1, $2, 1, $3, $4)
             ON CONFLICT (tenant_id, kind) DO UPDATE SET revision = documents.revision + 1,
                body = excluded.body, updated_at = excluded.updated_at
             RETURNING revision",
        )
        .bind(tenant_id)
        .bind(kind)
        .bind(body)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        super::tenants::bump_config(&mut tx, tenant_id).await?;
        tx.commit().await?;
        Ok(revision)
    }
}
