//! Tenants and their secrets: platform authentication (spec §2.5), admin
//! tokens, creation and rotation. Secrets are stored as SHA-256 digests and
//! compared in constant time.

use super::budgets::{Quotas, TenantLimits};
use super::{App, Result, ServiceError};
use crate::runtime::Limits;
use crate::store::{NewTenant, StoreError, TenantRecord};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

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
    fn tenant_from(&self, record: TenantRecord) -> Result<Tenant> {
        let own: TenantLimits = match &record.limits {
            Some(json) => serde_json::from_str(json).map_err(|e| {
                ServiceError::Internal(format!("tenant {} has unreadable limits: {e}", record.id))
            })?,
            None => TenantLimits::default(),
        };
        Ok(Tenant {
            id: record.id,
            name: record.name,
            application_id: record.application_id,
            limits: own.call(&self.config.limits),
            quotas: own.quotas(&self.config.quotas),
            config_revision: record.config_revision,
        })
    }

    /// Spec §2.5 steps 1–8.
    pub async fn authenticate(
        &self,
        application_id: Option<&str>,
        api_key: Option<&str>,
    ) -> Result<Result<Tenant, AuthError>> {
        let Some(application_id) = application_id.filter(|a| !a.trim().is_empty()) else {
            return Ok(Err(AuthError::MissingApplicationId));
        };
        let Some(application_id) = normalize_guid(application_id) else {
            return Ok(Err(AuthError::MalformedApplicationId));
        };
        let Some(record) = self.store.tenant_by_application_id(&application_id).await? else {
            return Ok(Err(AuthError::UnknownApplication));
        };
        let Some(header) = api_key.map(str::trim).filter(|k| !k.is_empty()) else {
            return Ok(Err(AuthError::MissingApiKey));
        };
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(header) else {
            return Ok(Err(AuthError::MalformedApiKey));
        };
        let Ok(key) = String::from_utf8(bytes) else {
            return Ok(Err(AuthError::ApiKeyNotUtf8));
        };
        let digest = sha256_hex(&key);
        let current = same(&digest, &record.api_key_hash);
        let previous = record
            .previous_api_key_hash
            .as_deref()
            .is_some_and(|p| same(&digest, p));
        if !(current | previous) {
            return Ok(Err(AuthError::WrongApiKey));
        }
        Ok(Ok(self.tenant_from(record)?))
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
                Ok(Ok(self.tenant_from(record)?))
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
