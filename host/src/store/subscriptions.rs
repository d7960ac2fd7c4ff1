//! Subscriptions, add-ons, their history, resource plans and the per-tenant
//! provisioning event feed. A real call's changes commit in one transaction.

use super::{Columns, Field, Result, Store, StoreError, flag};
use crate::domain::hook::{Attribute, SubscriptionInfo, SubscriptionStatus};
use crate::domain::rules::{NewState, StoredAddon, StoredSubscription};
use sqlx::{Any, Row, Transaction};

/// The tenant and the subscription one call is about (see
/// [`Store::call_state`]).
#[derive(Debug, Clone)]
pub struct CallState {
    pub tenant: super::TenantRecord,
    /// The subscription with its add-ons, and its version.
    pub subscription: Option<(StoredSubscription, i64)>,
}

/// One event to append to the tenant's feed.
#[derive(Debug, Clone)]
pub struct EventWrite {
    pub kind: String,
    pub subscription_id: Option<String>,
    pub account_id: Option<String>,
    /// JSON.
    pub payload: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub cursor: i64,
    pub kind: String,
    pub subscription_id: Option<String>,
    pub account_id: Option<String>,
    pub payload: String,
    pub track_id: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRecord {
    pub version: i64,
    pub source: String,
    /// JSON.
    pub plan: String,
    pub track_id: String,
    pub at: i64,
}

/// One change in a subscription's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRecord {
    pub version: i64,
    /// The endpoint, e.g. `Subscriptions/Update`.
    pub operation: String,
    pub status: String,
    pub quantity: i64,
    pub product_id: String,
    pub track_id: String,
    pub at: i64,
}

/// Everything one real call writes about a subscription.
pub struct SubscriptionWrite<'a> {
    pub tenant_id: &'a str,
    pub external_id: &'a str,
    pub platform_subscription_id: &'a str,
    pub account_id: &'a str,
    pub operation: &'a str,
    pub state: &'a NewState,
    /// (source, plan JSON) when the call recomputed the resources.
    pub plan: Option<(&'a str, String)>,
    pub event: EventWrite,
    pub track_id: &'a str,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    Created,
    /// The platform subscription was already provisioned (a retry, or a
    /// concurrent create that won): its external id.
    Existing(String),
}

fn attributes_json(attributes: &[Attribute]) -> Result<String> {
    serde_json::to_string(attributes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn parse_attributes(text: &str) -> Result<Vec<Attribute>> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("attributes: {e}")))
}

fn status(text: &str) -> Result<SubscriptionStatus> {
    SubscriptionStatus::parse(text)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown status {text}")))
}

const COLUMNS: &str = "external_id, platform_subscription_id, account_id, product_id, service_type, name, quantity, status, is_trial, attributes, version, created_at";

fn subscription<R: Columns>(row: &R) -> Result<(StoredSubscription, i64)> {
    Ok((
        StoredSubscription {
            external_id: row.field("external_id")?,
            platform_subscription_id: row.field("platform_subscription_id")?,
            account_id: row.field("account_id")?,
            product_id: row.field("product_id")?,
            service_type: row.field("service_type")?,
            name: row.field("name")?,
            quantity: row.field("quantity")?,
            status: status(&Field::<String>::field(row, "status")?)?,
            is_trial: Field::<i64>::field(row, "is_trial")? != 0,
            attributes: parse_attributes(&Field::<String>::field(row, "attributes")?)?,
            addons: Vec::new(),
            created_at: row.field("created_at")?,
        },
        row.field("version")?,
    ))
}

/// [`Store::call_state`]'s query: one row per add-on (at least one row
/// while the tenant exists).
fn call_state_sql(by_platform_id: bool) -> String {
    let column = if by_platform_id {
        "platform_subscription_id"
    } else {
        "external_id"
    };
    format!(
        "SELECT t.id AS t_id, t.name AS t_name, t.application_id AS t_application_id,
                t.api_key_hash AS t_api_key_hash, t.previous_api_key_hash AS t_previous_api_key_hash,
                t.admin_token_hash AS t_admin_token_hash, t.limits AS t_limits,
                t.config_revision AS t_config_revision, t.created_at AS t_created_at,
                s.external_id, s.platform_subscription_id, s.account_id, s.product_id,
                s.service_type, s.name, s.quantity, s.status, s.is_trial, s.attributes,
                s.version, s.created_at,
                a.product_id AS a_product_id, a.name AS a_name, a.quantity AS a_quantity,
                a.active AS a_active, a.attributes AS a_attributes
         FROM tenants t
         LEFT JOIN subscriptions s ON s.tenant_id = t.id AND s.{column} = $2
         LEFT JOIN addons a ON a.tenant_id = t.id AND a.subscription_id = s.external_id
         WHERE t.id = $1
         ORDER BY a.product_id"
    )
}

/// The call state of [`call_state_sql`]'s rows.
fn fold_call_state<R: Columns>(rows: &[R]) -> Result<Option<CallState>> {
    let mut state = None;
    for row in rows {
        add_call_state_row(&mut state, row)?;
    }
    Ok(state)
}

/// Fold one row of [`call_state_sql`] into `state`: the first gives the
/// tenant and the subscription, every row its add-on (if any).
fn add_call_state_row<R: Columns>(state: &mut Option<CallState>, row: &R) -> Result<()> {
    let state = match state {
        Some(state) => state,
        None => {
            let tenant = super::tenants::prefixed_record(row, "t_")?;
            let subscription = match Field::<Option<String>>::field(row, "external_id")? {
                None => None,
                Some(_) => Some(subscription(row)?),
            };
            state.insert(CallState {
                tenant,
                subscription,
            })
        }
    };
    let Some((sub, _)) = &mut state.subscription else {
        return Ok(());
    };
    let Some(product_id) = Field::<Option<String>>::field(row, "a_product_id")? else {
        return Ok(());
    };
    sub.addons.push(StoredAddon {
        product_id,
        name: row.field("a_name")?,
        quantity: row.field("a_quantity")?,
        active: Field::<i64>::field(row, "a_active")? != 0,
        attributes: parse_attributes(&Field::<String>::field(row, "a_attributes")?)?,
    });
    Ok(())
}

/// Append an event inside `tx`. The cursor comes from the tenant's counter
/// row, which the update locks until commit: cursors are gap-free and
/// commit in order, on SQLite and PostgreSQL alike.
pub(super) async fn append_event(
    tx: &mut Transaction<'_, Any>,
    tenant_id: &str,
    event: &EventWrite,
    track_id: &str,
    now: i64,
) -> Result<i64> {
    let cursor: i64 = sqlx::query_scalar(
        "UPDATE tenants SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq",
    )
    .bind(tenant_id)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO events (tenant_id, cursor, kind, subscription_id, account_id, payload, track_id, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant_id)
    .bind(cursor)
    .bind(&event.kind)
    .bind(event.subscription_id.as_deref())
    .bind(event.account_id.as_deref())
    .bind(&event.payload)
    .bind(track_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(cursor)
}

impl Store {
    async fn load_addons(&self, tenant_id: &str, external_id: &str) -> Result<Vec<StoredAddon>> {
        let rows = sqlx::query(
            "SELECT product_id, name, quantity, active, attributes FROM addons
             WHERE tenant_id = $1 AND subscription_id = $2 ORDER BY product_id",
        )
        .bind(tenant_id)
        .bind(external_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredAddon {
                    product_id: r.try_get("product_id")?,
                    name: r.try_get("name")?,
                    quantity: r.try_get("quantity")?,
                    active: r.try_get::<i64, _>("active")? != 0,
                    attributes: parse_attributes(&r.try_get::<String, _>("attributes")?)?,
                })
            })
            .collect()
    }

    async fn subscription_where(
        &self,
        tenant_id: &str,
        column: &str,
        value: &str,
    ) -> Result<Option<(StoredSubscription, i64)>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM subscriptions WHERE tenant_id = $1 AND {column} = $2"
        ))
        .bind(tenant_id)
        .bind(value)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let (mut sub, version) = subscription(&row)?;
        sub.addons = self.load_addons(tenant_id, &sub.external_id).await?;
        Ok(Some((sub, version)))
    }

    /// What a Subscriptions/* or Addons/* call reads, in one query: the
    /// tenant's row (its secrets and config revision, so that a call checks
    /// its authentication and its cached bindings against the database in
    /// the same round trip) and the subscription the call is about, by
    /// platform id (`by_platform_id`) or external id, with its add-ons and
    /// version. `None` when the tenant no longer exists.
    pub async fn call_state(
        &self,
        tenant_id: &str,
        by_platform_id: bool,
        id: &str,
    ) -> Result<Option<CallState>> {
        let sql = call_state_sql(by_platform_id);
        if let Some(direct) = &self.direct {
            return direct.read(|conn| {
                let mut statement = conn.prepare_cached(&sql)?;
                let mut rows = statement.query(&[("$1", tenant_id), ("$2", id)])?;
                let mut state = None;
                while let Some(row) = rows.next()? {
                    add_call_state_row(&mut state, row)?;
                }
                Ok(state)
            });
        }
        if let Some(lane) = &self.direct_pg {
            let mut lease = lane.lease().await?;
            let rows = sqlx::query(&sql)
                .bind(tenant_id)
                .bind(id)
                .fetch_all(&mut lease.conn)
                .await?;
            lease.keep();
            return fold_call_state(&rows);
        }
        let rows = sqlx::query(&sql)
            .bind(tenant_id)
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        fold_call_state(&rows)
    }

    /// A subscription by Tollgate's external id, with its add-ons and its
    /// version (for optimistic updates).
    pub async fn subscription(
        &self,
        tenant_id: &str,
        external_id: &str,
    ) -> Result<Option<(StoredSubscription, i64)>> {
        self.subscription_where(tenant_id, "external_id", external_id)
            .await
    }

    /// A subscription by the platform's subscription id.
    pub async fn subscription_by_platform_id(
        &self,
        tenant_id: &str,
        platform_id: &str,
    ) -> Result<Option<(StoredSubscription, i64)>> {
        self.subscription_where(tenant_id, "platform_subscription_id", platform_id)
            .await
    }

    /// The customer's subscriptions, newest first (the plugins' host import).
    pub async fn customer_subscriptions(
        &self,
        tenant_id: &str,
        account_id: &str,
        limit: i64,
    ) -> Result<Vec<SubscriptionInfo>> {
        let rows = sqlx::query(
            "SELECT external_id, product_id, service_type, status, quantity, is_trial, created_at
             FROM subscriptions WHERE tenant_id = $1 AND account_id = $2
             ORDER BY created_at DESC, external_id DESC LIMIT $3",
        )
        .bind(tenant_id)
        .bind(account_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SubscriptionInfo {
                    subscription_id: r.try_get("external_id")?,
                    product_id: r.try_get("product_id")?,
                    service_type: r.try_get("service_type")?,
                    status: status(&r.try_get::<String, _>("status")?)?,
                    quantity: r.try_get("quantity")?,
                    is_trial: r.try_get::<i64, _>("is_trial")? != 0,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Provision a new subscription, idempotently per platform subscription.
    pub async fn create_subscription(&self, w: &SubscriptionWrite<'_>) -> Result<CreateOutcome> {
        let _guard = self.write_lock().await;
        let mut tx = self.begin_write().await?;
        self.lock_live_account(&mut tx, w.tenant_id, w.account_id)
            .await?;
        let inserted: Option<String> = sqlx::query_scalar(
            "INSERT INTO subscriptions (tenant_id, external_id, platform_subscription_id, account_id, product_id,
                                        service_type, name, quantity, status, is_trial, attributes, version,
                                        created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12)
             ON CONFLICT (tenant_id, platform_subscription_id) DO NOTHING
             RETURNING external_id",
        )
        .bind(w.tenant_id)
        .bind(w.external_id)
        .bind(w.platform_subscription_id)
        .bind(w.account_id)
        .bind(&w.state.product_id)
        .bind(&w.state.service_type)
        .bind(&w.state.name)
        .bind(w.state.quantity)
        .bind(w.state.status.as_str())
        .bind(flag(w.state.is_trial))
        .bind(attributes_json(&w.state.attributes)?)
        .bind(w.now)
        .fetch_optional(&mut *tx)
        .await?;
        if inserted.is_none() {
            drop(tx);
            let existing: Option<String> = sqlx::query_scalar(
                "SELECT external_id FROM subscriptions WHERE tenant_id = $1 AND platform_subscription_id = $2",
            )
            .bind(w.tenant_id)
            .bind(w.platform_subscription_id)
            .fetch_optional(&self.pool)
            .await?;
            return existing.map(CreateOutcome::Existing).ok_or_else(|| {
                StoreError::Conflict("the subscription vanished during its creation".into())
            });
        }
        self.write_rest(&mut tx, w, 1).await?;
        tx.commit().await?;
        Ok(CreateOutcome::Created)
    }

    /// Apply a change to a subscription last read at `expected_version`.
    /// `Conflict` means another call changed it first: re-read and retry.
    pub async fn change_subscription(
        &self,
        w: &SubscriptionWrite<'_>,
        expected_version: i64,
    ) -> Result<()> {
        let _guard = self.write_lock().await;
        let mut tx = self.begin_write().await?;
        self.lock_live_account(&mut tx, w.tenant_id, w.account_id)
            .await?;
        let version: Option<i64> = sqlx::query_scalar(
            "UPDATE subscriptions SET product_id = $4, service_type = $5, name = $6, quantity = $7, status = $8,
                    is_trial = $9, attributes = $10, version = version + 1, updated_at = $11
             WHERE tenant_id = $1 AND external_id = $2 AND version = $3
             RETURNING version",
        )
        .bind(w.tenant_id)
        .bind(w.external_id)
        .bind(expected_version)
        .bind(&w.state.product_id)
        .bind(&w.state.service_type)
        .bind(&w.state.name)
        .bind(w.state.quantity)
        .bind(w.state.status.as_str())
        .bind(flag(w.state.is_trial))
        .bind(attributes_json(&w.state.attributes)?)
        .bind(w.now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(version) = version else {
            return Err(StoreError::Conflict(format!(
                "subscription {} changed concurrently",
                w.external_id
            )));
        };
        self.write_rest(&mut tx, w, version).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Inside a subscription write: lock the customer's account row (on
    /// PostgreSQL; SQLite has one writer) so an `Accounts/Delete` and this
    /// write take turns, and refuse to provision for a deleted account. An
    /// account never synchronized is fine (the platform may skip it).
    async fn lock_live_account(
        &self,
        tx: &mut Transaction<'_, Any>,
        tenant_id: &str,
        account_id: &str,
    ) -> Result<()> {
        let lock = if self.backend == super::Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let deleted: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT deleted FROM accounts WHERE tenant_id = $1 AND platform_id = $2{lock}"
        ))
        .bind(tenant_id)
        .bind(account_id)
        .fetch_optional(&mut **tx)
        .await?;
        if deleted.is_some_and(|d| d != 0) {
            return Err(StoreError::AccountDeleted(account_id.to_string()));
        }
        Ok(())
    }

    /// Add-ons, history, plan and event of a write, inside its transaction.
    async fn write_rest(
        &self,
        tx: &mut Transaction<'_, Any>,
        w: &SubscriptionWrite<'_>,
        version: i64,
    ) -> Result<()> {
        for addon in &w.state.addons {
            sqlx::query(
                "INSERT INTO addons (tenant_id, subscription_id, product_id, name, quantity, active, attributes, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (tenant_id, subscription_id, product_id) DO UPDATE SET
                    name = excluded.name, quantity = excluded.quantity, active = excluded.active,
                    attributes = excluded.attributes, updated_at = excluded.updated_at",
            )
            .bind(w.tenant_id)
            .bind(w.external_id)
            .bind(&addon.product_id)
            .bind(&addon.name)
            .bind(addon.quantity)
            .bind(flag(addon.active))
            .bind(attributes_json(&addon.attributes)?)
            .bind(w.now)
            .execute(&mut **tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO subscription_history (tenant_id, subscription_id, version, operation, status, quantity,
                                               product_id, track_id, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(w.tenant_id)
        .bind(w.external_id)
        .bind(version)
        .bind(w.operation)
        .bind(w.state.status.as_str())
        .bind(w.state.quantity)
        .bind(&w.state.product_id)
        .bind(w.track_id)
        .bind(w.now)
        .execute(&mut **tx)
        .await?;
        if let Some((source, plan)) = &w.plan {
            sqlx::query(
                "INSERT INTO resource_plans (tenant_id, subscription_id, version, source, plan, track_id, at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(w.tenant_id)
            .bind(w.external_id)
            .bind(version)
            .bind(*source)
            .bind(plan)
            .bind(w.track_id)
            .bind(w.now)
            .execute(&mut **tx)
            .await?;
        }
        append_event(tx, w.tenant_id, &w.event, w.track_id, w.now).await?;
        Ok(())
    }

    /// Resource plans of a subscription, newest first.
    pub async fn plans(
        &self,
        tenant_id: &str,
        external_id: &str,
        limit: i64,
    ) -> Result<Vec<PlanRecord>> {
        let rows = sqlx::query(
            "SELECT version, source, plan, track_id, at FROM resource_plans
             WHERE tenant_id = $1 AND subscription_id = $2 ORDER BY version DESC LIMIT $3",
        )
        .bind(tenant_id)
        .bind(external_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PlanRecord {
                    version: r.try_get("version")?,
                    source: r.try_get("source")?,
                    plan: r.try_get("plan")?,
                    track_id: r.try_get("track_id")?,
                    at: r.try_get("at")?,
                })
            })
            .collect()
    }

    /// A page of the subscription's status history: the newest `limit`
    /// versions below `before` (all when none), oldest first.
    pub async fn subscription_history(
        &self,
        tenant_id: &str,
        external_id: &str,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<HistoryRecord>> {
        let rows = sqlx::query(
            "SELECT version, operation, status, quantity, product_id, track_id, at FROM subscription_history
             WHERE tenant_id = $1 AND subscription_id = $2 AND version < $3 ORDER BY version DESC LIMIT $4",
        )
        .bind(tenant_id)
        .bind(external_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .rev()
            .map(|r| {
                Ok(HistoryRecord {
                    version: r.try_get("version")?,
                    operation: r.try_get("operation")?,
                    status: r.try_get("status")?,
                    quantity: r.try_get("quantity")?,
                    product_id: r.try_get("product_id")?,
                    track_id: r.try_get("track_id")?,
                    at: r.try_get("at")?,
                })
            })
            .collect()
    }

    /// Events after `cursor`, in cursor order.
    pub async fn events(
        &self,
        tenant_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<EventRecord>> {
        let rows = sqlx::query(
            "SELECT cursor, kind, subscription_id, account_id, payload, track_id, at FROM events
             WHERE tenant_id = $1 AND cursor > $2 ORDER BY cursor LIMIT $3",
        )
        .bind(tenant_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(EventRecord {
                    cursor: r.try_get("cursor")?,
                    kind: r.try_get("kind")?,
                    subscription_id: r.try_get("subscription_id")?,
                    account_id: r.try_get("account_id")?,
                    payload: r.try_get("payload")?,
                    track_id: r.try_get("track_id")?,
                    at: r.try_get("at")?,
                })
            })
            .collect()
    }
}
