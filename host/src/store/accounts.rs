//! Customer and reseller accounts (Accounts/Synchronize and friends).

use super::subscriptions::{EventWrite, append_event};
use super::{Result, Store, flag};
use crate::domain::hook::SubscriptionStatus;
use sqlx::Row;
use sqlx::any::AnyRow;

/// What `delete_account` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted,
    /// No such live account (never synchronized, or already deleted).
    NotFound,
    /// Refused: this many subscriptions are not cancelled.
    HasLiveSubscriptions(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub platform_id: String,
    pub external_id: String,
    pub reseller_platform_id: Option<String>,
    pub reseller_external_id: Option<String>,
    pub name: String,
    /// The account as last synchronized (JSON).
    pub document: String,
    pub deleted: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

pub struct AccountWrite<'a> {
    pub tenant_id: &'a str,
    pub platform_id: &'a str,
    /// Used only if the account is new.
    pub new_external_id: &'a str,
    pub reseller_platform_id: Option<&'a str>,
    pub reseller_external_id: Option<&'a str>,
    pub name: &'a str,
    pub document: &'a str,
    pub track_id: &'a str,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    Created(String),
    Updated(String),
    Unchanged(String),
}

impl SyncOutcome {
    pub fn external_id(&self) -> &str {
        match self {
            SyncOutcome::Created(id) | SyncOutcome::Updated(id) | SyncOutcome::Unchanged(id) => id,
        }
    }
}

const COLUMNS: &str = "platform_id, external_id, reseller_platform_id, reseller_external_id, name, document, deleted, created_at, updated_at";

fn record(row: &AnyRow) -> Result<AccountRecord> {
    Ok(AccountRecord {
        platform_id: row.try_get("platform_id")?,
        external_id: row.try_get("external_id")?,
        reseller_platform_id: row.try_get("reseller_platform_id")?,
        reseller_external_id: row.try_get("reseller_external_id")?,
        name: row.try_get("name")?,
        document: row.try_get("document")?,
        deleted: row.try_get::<i64, _>("deleted")? != 0,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Store {
    pub async fn account(
        &self,
        tenant_id: &str,
        platform_id: &str,
    ) -> Result<Option<AccountRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM accounts WHERE tenant_id = $1 AND platform_id = $2"
        ))
        .bind(tenant_id)
        .bind(platform_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(record).transpose()
    }

    pub async fn account_by_external_id(
        &self,
        tenant_id: &str,
        external_id: &str,
    ) -> Result<Option<AccountRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM accounts WHERE tenant_id = $1 AND external_id = $2"
        ))
        .bind(tenant_id)
        .bind(external_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(record).transpose()
    }

    /// Create or update an account, keyed by its platform id: the same id
    /// always maps to the same external id. Appends an event when something
    /// changed.
    pub async fn synchronize_account(
        &self,
        w: &AccountWrite<'_>,
        event_kind: &str,
        payload: &(dyn Fn(&str) -> String + Sync),
    ) -> Result<SyncOutcome> {
        let _guard = self.write_lock().await;
        let mut tx = self.begin_write().await?;
        let before = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM accounts WHERE tenant_id = $1 AND platform_id = $2"
        ))
        .bind(w.tenant_id)
        .bind(w.platform_id)
        .fetch_optional(&mut *tx)
        .await?;
        let before = before.as_ref().map(record).transpose()?;
        if let Some(b) = &before
            && !b.deleted
            && b.document == w.document
            && b.reseller_platform_id.as_deref() == w.reseller_platform_id
            && b.reseller_external_id.as_deref() == w.reseller_external_id
        {
            return Ok(SyncOutcome::Unchanged(b.external_id.clone()));
        }
        let external_id: String = sqlx::query_scalar(
            "INSERT INTO accounts (tenant_id, platform_id, external_id, reseller_platform_id, reseller_external_id,
                                   name, document, deleted, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8)
             ON CONFLICT (tenant_id, platform_id) DO UPDATE SET
                reseller_platform_id = excluded.reseller_platform_id,
                reseller_external_id = excluded.reseller_external_id,
                name = excluded.name, document = excluded.document, deleted = 0,
                updated_at = excluded.updated_at
             RETURNING external_id",
        )
        .bind(w.tenant_id)
        .bind(w.platform_id)
        .bind(w.new_external_id)
        .bind(w.reseller_platform_id)
        .bind(w.reseller_external_id)
        .bind(w.name)
        .bind(w.document)
        .bind(w.now)
        .fetch_one(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            w.tenant_id,
            &EventWrite {
                kind: event_kind.to_string(),
                subscription_id: None,
                account_id: Some(external_id.clone()),
                payload: payload(&external_id),
            },
            w.track_id,
            w.now,
        )
        .await?;
        tx.commit().await?;
        Ok(if before.is_some() {
            SyncOutcome::Updated(external_id)
        } else {
            SyncOutcome::Created(external_id)
        })
    }

    /// Mark an account deleted, unless it still holds subscriptions that
    /// are not cancelled: deleting it then would orphan provisioned
    /// services, so nothing changes and the caller is told how many.
    pub async fn delete_account(
        &self,
        tenant_id: &str,
        external_id: &str,
        track_id: &str,
        now: i64,
        payload: &str,
    ) -> Result<DeleteOutcome> {
        let _guard = self.write_lock().await;
        let mut tx = self.begin_write().await?;
        if self.backend == super::Backend::Postgres {
            // Subscription writes lock this row too: a create racing this
            // delete either commits first (and is counted below) or waits
            // and then finds the account deleted.
            sqlx::query(
                "SELECT 1 FROM accounts WHERE tenant_id = $1 AND external_id = $2 FOR UPDATE",
            )
            .bind(tenant_id)
            .bind(external_id)
            .execute(&mut *tx)
            .await?;
        }
        let live: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM subscriptions s JOIN accounts a
               ON a.tenant_id = s.tenant_id AND a.platform_id = s.account_id
             WHERE a.tenant_id = $1 AND a.external_id = $2 AND s.status <> $3",
        )
        .bind(tenant_id)
        .bind(external_id)
        .bind(SubscriptionStatus::Cancelled.as_str())
        .fetch_one(&mut *tx)
        .await?;
        if live > 0 {
            return Ok(DeleteOutcome::HasLiveSubscriptions(live));
        }
        let done = sqlx::query(
            "UPDATE accounts SET deleted = $3, updated_at = $4 WHERE tenant_id = $1 AND external_id = $2 AND deleted = 0",
        )
        .bind(tenant_id)
        .bind(external_id)
        .bind(flag(true))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(DeleteOutcome::NotFound);
        }
        append_event(
            &mut tx,
            tenant_id,
            &EventWrite {
                kind: "account.deleted".into(),
                subscription_id: None,
                account_id: Some(external_id.to_string()),
                payload: payload.to_string(),
            },
            track_id,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(DeleteOutcome::Deleted)
    }

    /// Whether `platform_id` is a reseller: some live account names it as
    /// its reseller.
    pub async fn is_reseller(
        &self,
        tenant_id: &str,
        platform_id: &str,
        external_id: Option<&str>,
    ) -> Result<bool> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM accounts WHERE tenant_id = $1 AND deleted = 0
               AND (reseller_platform_id = $2 OR ($3 <> '' AND reseller_external_id = $3))",
        )
        .bind(tenant_id)
        .bind(platform_id)
        .bind(external_id.unwrap_or(""))
        .fetch_one(&self.pool)
        .await?;
        Ok(count > 0)
    }
}
