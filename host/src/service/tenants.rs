//! Tenants and their secrets: platform authentication (spec §2.5), admin
//! tokens, creation and rotation. Secrets are stored as SHA-256 digests and
//! compared in constant time.

use super::budgets::{Quotas, TenantLimits};
use super::{App, Result, ServiceError, TenantConfig};
use crate::runtime::Limits;
use crate::store::{NewTenant, StoreError, TenantRecord};
use arc_swap::{ArcSwap, ArcSwapOption};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

/// An authenticated tenant, as a request sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub application_id: String,
    /// Effective per-call limits (the tenant's own, else the defaults).
    pub limits: Limits,
    /// Effective quotas (the tenant's own, else the defaults).
    pub quotas: Quotas,
    /// Moves whenever bindings or documents change (cache key).
    pub config_revision: i64,
}

/// A tenant as this process last read it: its row and what follows from it.
pub(crate) struct Snapshot {
    pub record: TenantRecord,
    pub tenant: Tenant,
}

/// What the process keeps per tenant: the last row it read (platform
/// authentication checks cached secrets against it), the plugin gate and
/// the cached configuration. Readers never lock: the snapshot and the
/// config are swapped atomically (`arc-swap`).
pub(crate) struct TenantEntry {
    snapshot: ArcSwapOption<Snapshot>,
    /// Plugin calls of this tenant running at once (`--tenant-concurrency`).
    pub gate: Semaphore,
    /// Bindings and documents, tagged with the config revision they were
    /// read at.
    pub config: ArcSwapOption<TenantConfig>,
}

#[derive(Default, Clone)]
struct Maps {
    by_id: HashMap<String, Arc<TenantEntry>>,
    /// Application id → tenant id, for the tenants seen at authentication.
    by_application: HashMap<String, String>,
}

/// Every tenant entry of the process, behind one atomically swapped map:
/// a lookup is a lock-free load; adding a tenant (once per tenant and
/// process) copies the map.
pub(crate) struct Directory {
    maps: ArcSwap<Maps>,
    tenant_concurrency: usize,
}

impl Directory {
    pub(crate) fn new(tenant_concurrency: usize) -> Self {
        Directory {
            maps: ArcSwap::from_pointee(Maps::default()),
            tenant_concurrency: tenant_concurrency.max(1),
        }
    }

    /// The tenant's entry, created on first use.
    pub(crate) fn entry(&self, tenant_id: &str) -> Arc<TenantEntry> {
        if let Some(entry) = self.maps.load().by_id.get(tenant_id) {
            return entry.clone();
        }
        let fresh = Arc::new(TenantEntry {
            snapshot: ArcSwapOption::empty(),
            gate: Semaphore::new(self.tenant_concurrency),
            config: ArcSwapOption::empty(),
        });
        let mut found = None;
        self.maps.rcu(|maps| {
            let mut maps = Maps::clone(maps);
            found = Some(
                maps.by_id
                    .entry(tenant_id.to_string())
                    .or_insert_with(|| fresh.clone())
                    .clone(),
            );
            maps
        });
        found.unwrap_or(fresh)
    }

    /// The last snapshot of the tenant with this (normalized) application id.
    fn by_application(&self, application_id: &str) -> Option<Arc<Snapshot>> {
        let maps = self.maps.load();
        let entry = maps.by_id.get(maps.by_application.get(application_id)?)?;
        entry.snapshot.load_full()
    }

    /// Remember a row just read; answers the snapshot to use (the stored
    /// one when nothing changed).
    fn remember(
        &self,
        record: TenantRecord,
        tenant: impl FnOnce(&TenantRecord) -> Result<Tenant>,
    ) -> Result<Arc<Snapshot>> {
        let entry = self.entry(&record.id);
        if let Some(current) = entry.snapshot.load_full()
            && current.record == record
        {
            return Ok(current);
        }
        let snapshot = Arc::new(Snapshot {
            tenant: tenant(&record)?,
            record,
        });
        entry.snapshot.store(Some(snapshot.clone()));
        let known = self
            .maps
            .load()
            .by_application
            .get(&snapshot.record.application_id)
            .is_some_and(|id| *id == snapshot.record.id);
        if !known {
            self.maps.rcu(|maps| {
                let mut maps = Maps::clone(maps);
                maps.by_application.insert(
                    snapshot.record.application_id.clone(),
                    snapshot.record.id.clone(),
                );
                maps
            });
        }
        Ok(snapshot)
    }
}

/// A platform caller whose credentials matched the tenant as this process
/// last read it, before any body byte is read. Cheap: no database round
/// trip when the tenant is cached. The call's one state read re-checks the
/// secrets against the current row ([`App::verify`]) before anything is
/// decided, so a rotated key is refused by the first call that reads after
/// the rotation committed.
pub struct Claim {
    pub(crate) snapshot: Arc<Snapshot>,
    /// SHA-256 (hex) of the presented API key.
    digest: String,
}

impl Claim {
    pub fn tenant(&self) -> &Tenant {
        &self.snapshot.tenant
    }
}

/// Why authentication failed. Logged with the TrackId; the platform only
/// ever sees the same 401 (spec §2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the X-CloudPlatform-ApplicationId header is missing")]
    MissingApplicationId,
    #[error("the application id is not a GUID")]
    MalformedApplicationId,
    #[error("no tenant has this application id")]
    UnknownApplication,
    #[error("the X-CloudPlatform-APIKey header is missing")]
    MissingApiKey,
    #[error("the API key header is not valid Base64")]
    MalformedApiKey,
    #[error("the API key is not UTF-8")]
    ApiKeyNotUtf8,
    #[error("the API key does not match")]
    WrongApiKey,
    #[error("the admin token is missing or unknown")]
    BadAdminToken,
    #[error("the operator token is missing or wrong, or operator access is disabled")]
    BadOperatorToken,
}

/// What `tenant create` hands out, once: the secrets are not kept in clear.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TenantSecrets {
    pub tenant_id: String,
    pub name: String,
    pub application_id: String,
    /// The key to enter in BSS; the platform sends its Base64.
    pub api_key: String,
    /// Bearer token of the tenant's admin API.
    pub admin_token: String,
}

#[derive(Debug, Clone, Default)]
pub struct NewTenantRequest {
    pub name: String,
    pub application_id: Option<String>,
    pub api_key: Option<String>,
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// The credentials a platform call presents: the normalized application
/// id and the SHA-256 (hex) of the API key.
struct Presented {
    application_id: String,
    digest: String,
}

/// Spec §2.5's checks of the headers themselves (no database).
fn presented(application_id: Option<&str>, api_key: Option<&str>) -> Result<Presented, AuthError> {
    let application_id = application_id
        .filter(|a| !a.trim().is_empty())
        .ok_or(AuthError::MissingApplicationId)?;
    let application_id = normalize_guid(application_id).ok_or(AuthError::MalformedApplicationId)?;
    let header = api_key
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or(AuthError::MissingApiKey)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(header)
        .map_err(|_| AuthError::MalformedApiKey)?;
    let key = String::from_utf8(bytes).map_err(|_| AuthError::ApiKeyNotUtf8)?;
    Ok(Presented {
        application_id,
        digest: sha256_hex(&key),
    })
}

/// Whether the row accepts a key with this digest: the current key, or the
/// previous one during a rotation. Constant time in the digest.
fn accepts(record: &TenantRecord, digest: &str) -> bool {
    let current = same(digest, &record.api_key_hash);
    let previous = record
        .previous_api_key_hash
        .as_deref()
        .is_some_and(|p| same(digest, p));
    current | previous
}

/// Parse a GUID: 32 hex digits, hyphenated 8-4-4-4-12 or plain, optionally
/// in braces, any case. The all-zero GUID is refused. Answers the canonical
/// lower-case hyphenated form.
pub fn normalize_guid(text: &str) -> Option<String> {
    let t = text.trim();
    let t = t
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(t);
    let hex: String = if t.len() == 36 {
        let parts: Vec<&str> = t.split('-').collect();
        if parts.iter().map(|p| p.len()).collect::<Vec<_>>() != [8, 4, 4, 4, 12] {
            return None;
        }
        parts.concat()
    } else if t.len() == 32 {
        t.to_string()
    } else {
        return None;
    };
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) || hex.bytes().all(|b| b == b'0') {
        return None;
    }
    let h = hex.to_ascii_lowercase();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf)
        .map_err(|e| ServiceError::Internal(format!("no randomness available: {e}")))?;
    Ok(buf)
}

fn new_api_key() -> Result<String> {
    Ok(base64::engine::general_purpose::STANDARD.encode(random_bytes::<32>()?))
}

fn new_admin_token() -> Result<String> {
    Ok(format!("tga_{}", hex::encode(random_bytes::<32>()?)))
}

impl App {
    fn tenant_from(&self, record: &TenantRecord) -> Result<Tenant> {
        let own: TenantLimits = match &record.limits {
            Some(json) => serde_json::from_str(json).map_err(|e| {
                ServiceError::Internal(format!("tenant {} has unreadable limits: {e}", record.id))
            })?,
            None => TenantLimits::default(),
        };
        Ok(Tenant {
            id: record.id.clone(),
            name: record.name.clone(),
            application_id: record.application_id.clone(),
            limits: own.call(&self.config.limits),
            quotas: own.quotas(&self.config.quotas),
            config_revision: record.config_revision,
        })
    }

    /// Spec §2.5 steps 1–8, with the tenant read from the database.
    pub async fn authenticate(
        &self,
        application_id: Option<&str>,
        api_key: Option<&str>,
    ) -> Result<Result<Tenant, AuthError>> {
        Ok(self
            .authenticate_read(application_id, api_key)
            .await?
            .map(|claim| claim.snapshot.tenant.clone()))
    }

    /// Spec §2.5 for a Subscriptions/* or Addons/* call: against the
    /// tenant as this process last read it when it is cached (no round
    /// trip), else read. The call's state read verifies the claim
    /// ([`App::verify`]) before anything is decided.
    pub async fn claim(
        &self,
        application_id: Option<&str>,
        api_key: Option<&str>,
    ) -> Result<Result<Claim, AuthError>> {
        let Ok(presented) = presented(application_id, api_key) else {
            // Refused either way; the read names the cause in spec order.
            return self.authenticate_read(application_id, api_key).await;
        };
        if let Some(snapshot) = self.tenants.by_application(&presented.application_id)
            && accepts(&snapshot.record, &presented.digest)
        {
            return Ok(Ok(Claim {
                snapshot,
                digest: presented.digest,
            }));
        }
        self.authenticate_read(application_id, api_key).await
    }

    async fn authenticate_read(
        &self,
        application_id: Option<&str>,
        api_key: Option<&str>,
    ) -> Result<Result<Claim, AuthError>> {
        // The application id is checked before the key (spec §2.5 order).
        let Some(application_id) = application_id.filter(|a| !a.trim().is_empty()) else {
            return Ok(Err(AuthError::MissingApplicationId));
        };
        let Some(normalized) = normalize_guid(application_id) else {
            return Ok(Err(AuthError::MalformedApplicationId));
        };
        let Some(record) = self.store.tenant_by_application_id(&normalized).await? else {
            return Ok(Err(AuthError::UnknownApplication));
        };
        let presented = match presented(Some(application_id), api_key) {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        let ok = accepts(&record, &presented.digest);
        let snapshot = self.tenants.remember(record, |r| self.tenant_from(r))?;
        if !ok {
            return Ok(Err(AuthError::WrongApiKey));
        }
        Ok(Ok(Claim {
            snapshot,
            digest: presented.digest,
        }))
    }

    /// Check a claim against the tenant's row as the call's state read
    /// found it: the presented key must still be accepted. Answers the
    /// tenant to decide with (refreshed when the row changed: limits,
    /// quotas, config revision).
    pub(crate) fn verify(
        &self,
        claim: &Claim,
        record: TenantRecord,
    ) -> Result<Result<Arc<Snapshot>, AuthError>> {
        let ok = accepts(&record, &claim.digest);
        let snapshot = self.tenants.remember(record, |r| self.tenant_from(r))?;
        Ok(if ok {
            Ok(snapshot)
        } else {
            Err(AuthError::WrongApiKey)
        })
    }

    /// The tenant owning an admin bearer token.
    pub async fn authenticate_admin(
        &self,
        token: Option<&str>,
    ) -> Result<Result<Tenant, AuthError>> {
        let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(Err(AuthError::BadAdminToken));
        };
        let digest = sha256_hex(token);
        match self.store.tenant_by_admin_token_hash(&digest).await? {
            Some(record) if same(&record.admin_token_hash, &digest) => {
                Ok(Ok(self.tenant_from(&record)?))
            }
            _ => Ok(Err(AuthError::BadAdminToken)),
        }
    }

    /// Operator endpoints: the configured operator token, in constant time.
    pub fn authenticate_operator(&self, token: Option<&str>) -> Result<(), AuthError> {
        match (&self.config.operator_token, token) {
            (Some(expected), Some(given))
                if !expected.is_empty()
                    && same(&sha256_hex(expected), &sha256_hex(given.trim())) =>
            {
                Ok(())
            }
            _ => Err(AuthError::BadOperatorToken),
        }
    }

    /// Register an installation. The API key and admin token are returned
    /// here only.
    pub async fn create_tenant(&self, request: &NewTenantRequest) -> Result<TenantSecrets> {
        let name = request.name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(ServiceError::Invalid(
                "the tenant name must be 1 to 200 characters".into(),
            ));
        }
        let application_id = match &request.application_id {
            Some(given) => normalize_guid(given).ok_or_else(|| {
                ServiceError::Invalid(format!(
                    "application id {given:?} is not a GUID (or is the all-zero GUID)"
                ))
            })?,
            None => uuid::Uuid::new_v4().hyphenated().to_string(),
        };
        let api_key = match &request.api_key {
            Some(key) if key.trim().len() < 16 => {
                return Err(ServiceError::Invalid(
                    "an API key must be at least 16 characters".into(),
                ));
            }
            Some(key) => key.clone(),
            None => new_api_key()?,
        };
        let admin_token = new_admin_token()?;
        let tenant_id = uuid::Uuid::new_v4().simple().to_string();
        let result = self
            .store
            .create_tenant(&NewTenant {
                id: tenant_id.clone(),
                name: name.to_string(),
                application_id: application_id.clone(),
                api_key_hash: sha256_hex(&api_key),
                admin_token_hash: sha256_hex(&admin_token),
                created_at: self.now(),
            })
            .await;
        match result {
            Ok(()) => {}
            Err(StoreError::Conflict(message)) => return Err(ServiceError::Conflict(message)),
            Err(e) => return Err(e.into()),
        }
        Ok(TenantSecrets {
            tenant_id,
            name: name.to_string(),
            application_id,
            api_key,
            admin_token,
        })
    }

    /// Replace a tenant's API key. With `keep_previous` the old key stays
    /// valid until the next rotation, so BSS can be updated without downtime.
    pub async fn rotate_api_key(
        &self,
        tenant_id: &str,
        new_key: Option<&str>,
        keep_previous: bool,
    ) -> Result<String> {
        let key = match new_key {
            Some(k) if k.trim().len() < 16 => {
                return Err(ServiceError::Invalid(
                    "an API key must be at least 16 characters".into(),
                ));
            }
            Some(k) => k.to_string(),
            None => new_api_key()?,
        };
        if !self
            .store
            .rotate_api_key(tenant_id, &sha256_hex(&key), keep_previous)
            .await?
        {
            return Err(ServiceError::NotFound(format!("no tenant {tenant_id}")));
        }
        Ok(key)
    }

    pub async fn rotate_admin_token(&self, tenant_id: &str) -> Result<String> {
        let token = new_admin_token()?;
        if !self
            .store
            .rotate_admin_token(tenant_id, &sha256_hex(&token))
            .await?
        {
            return Err(ServiceError::NotFound(format!("no tenant {tenant_id}")));
        }
        Ok(token)
    }

    /// Set (or clear) a tenant's own limits: the fields given override the
    /// server's defaults.
    pub async fn set_tenant_limits(
        &self,
        tenant_id: &str,
        limits: Option<TenantLimits>,
    ) -> Result<()> {
        if let Some(l) = &limits {
            l.validate(&self.config.limits, &self.config.engine)
                .map_err(ServiceError::Invalid)?;
        }
        let json = limits.map(|l| serde_json::to_string(&l).unwrap_or_default());
        if !self
            .store
            .set_tenant_limits(tenant_id, json.as_deref())
            .await?
        {
            return Err(ServiceError::NotFound(format!("no tenant {tenant_id}")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_in_every_accepted_spelling() {
        let canonical = "9c292077-6907-4a95-bde0-681b36cc7e86";
        for t in [
            "9C292077-6907-4A95-BDE0-681B36CC7E86",
            "{9c292077-6907-4a95-bde0-681b36cc7e86}",
            "9c29207769074a95bde0681b36cc7e86",
            " 9c292077-6907-4a95-bde0-681b36cc7e86 ",
        ] {
            assert_eq!(normalize_guid(t).as_deref(), Some(canonical), "{t}");
        }
        for bad in [
            "",
            "00000000-0000-0000-0000-000000000000",
            "9c292077-6907-4a95-bde0",
            "9c292077x6907-4a95-bde0-681b36cc7e86",
            "zz292077-6907-4a95-bde0-681b36cc7e86",
        ] {
            assert_eq!(normalize_guid(bad), None, "{bad}");
        }
    }
}
