//! The Service Manager API the platform calls (spec §4): authentication
//! from headers, the body read by the reading rules, the answer in its
//! envelope. Business outcomes are always HTTP 200.

use super::envelope::{self, ApiError, Kind, json_response};
use super::{AppState, Body, TrackId};
use crate::domain::codes;
use crate::domain::hook::Operation;
use crate::http::json::Json;
use crate::http::lenient::{self, FieldError};
use crate::service::{Answer, CallContext, Claim, Tenant};
use axum::Router;
use axum::extract::{Extension, FromRequestParts, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

const SETTING_PREFIX: &str = "x-cloudplatform-setting-";

pub fn routes() -> Router<AppState> {
    let mut r = Router::new()
        .route("/api/fields/get", get(fields_get))
        .route("/api/fields/validate", post(fields_validate))
        .route("/api/fields/servicedefinition", get(service_definition))
        .route("/api/fields/additionalinfo", get(additional_info))
        .route("/api/accounts/syncoptions", get(sync_options))
        .route("/api/accounts/synchronize", post(synchronize))
        .route("/api/accounts/exists", post(exists))
        .route("/api/accounts/delete", post(delete))
        .route("/api/accounts/isreseller", post(is_reseller))
        .route("/api/ppu/usages", post(ppu))
        .route("/api/ppu/billingitems", post(ppu))
        .route("/api/users/{*rest}", post(users))
        .route("/api/assets/create", post(assets))
        .route("/api/assets/update", post(assets))
        .route("/api/assets/cancel", post(assets));
    for (path, op) in [
        ("/api/subscriptions/create", Operation::SubscriptionCreate),
        ("/api/subscriptions/update", Operation::SubscriptionUpdate),
        ("/api/subscriptions/cancel", Operation::SubscriptionCancel),
        ("/api/subscriptions/suspend", Operation::SubscriptionSuspend),
        (
            "/api/subscriptions/activate",
            Operation::SubscriptionActivate,
        ),
        (
            "/api/subscriptions/upgradetopaid",
            Operation::SubscriptionUpgradeToPaid,
        ),
        (
            "/api/subscriptions/upgradedowngrade",
            Operation::SubscriptionUpgradeDowngrade,
        ),
        ("/api/addons/create", Operation::AddonCreate),
        ("/api/addons/update", Operation::AddonUpdate),
        ("/api/addons/cancel", Operation::AddonCancel),
        ("/api/addon/create", Operation::AddonCreate),
        ("/api/addon/update", Operation::AddonUpdate),
        ("/api/addon/cancel", Operation::AddonCancel),
    ] {
        r = r.route(
            path,
            post(
                move |state: State<AppState>,
                      track: Extension<TrackId>,
                      headers: HeaderMap,
                      query: RawQuery,
                      caller: ServiceCaller,
                      body: Body| {
                    service_call(state, track, headers, query, caller, body, op)
                },
            ),
        );
    }
    r
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The calling tenant, authenticated from the headers before any body is
/// read (spec §2.5): the same 401 for every cause; the cause is logged with
/// the TrackId, the key never is.
pub struct Caller(pub Tenant);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let headers = &parts.headers;
        let result = state
            .app
            .authenticate(
                header(headers, "x-cloudplatform-applicationid"),
                header(headers, "x-cloudplatform-apikey"),
            )
            .await?;
        result.map(Caller).map_err(|cause| {
            let track = parts
                .extensions
                .get::<TrackId>()
                .map_or("", |t| t.0.as_str());
            tracing::warn!(track_id = %track, %cause, "platform call refused");
            ApiError::Unauthorized
        })
    }
}

/// The caller of a Subscriptions/* or Addons/* call, checked before any
/// body byte is read against the tenant as this process last read it (no
/// database round trip when cached); the call's state read confirms it
/// against the current row before anything is decided
/// (`App::service_call`). Same 401 for every cause.
pub struct ServiceCaller(pub Claim);

impl FromRequestParts<AppState> for ServiceCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let headers = &parts.headers;
        let result = state
            .app
            .claim(
                header(headers, "x-cloudplatform-applicationid"),
                header(headers, "x-cloudplatform-apikey"),
            )
            .await?;
        result.map(ServiceCaller).map_err(|cause| {
            let track = parts
                .extensions
                .get::<TrackId>()
                .map_or("", |t| t.0.as_str());
            tracing::warn!(track_id = %track, %cause, "platform call refused");
            ApiError::Unauthorized
        })
    }
}

/// Setting headers (spec §2.6): values are UTF-8 (any script); a value
/// that is not UTF-8 counts as absent.
fn settings(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            let id = name.as_str().strip_prefix(SETTING_PREFIX)?;
            let value = std::str::from_utf8(value.as_bytes()).ok()?;
            Some((id.to_string(), value.to_string()))
        })
        .collect()
}

/// The `checkonly` query parameter (spec §6.2): name in any case,
/// `true`/`false`/`1`/`0`.
fn query_check_only(query: Option<&str>) -> bool {
    query
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .any(|(k, v)| {
            k.eq_ignore_ascii_case("checkonly") && (v.eq_ignore_ascii_case("true") || v == "1")
        })
}

fn parse_json(body: &[u8]) -> Result<Json<'_>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(
            "The request body is empty; a JSON object is expected.".into(),
        ));
    }
    Json::parse(body)
        .map_err(|e| ApiError::BadRequest(format!("The request body is not valid JSON: {e}.")))
}

/// A field error: wrong types are HTTP 400, absences a Code -2 answer.
fn field_error(kind: Kind, e: FieldError) -> Result<Response, ApiError> {
    match e {
        FieldError::Type { .. } => Err(ApiError::BadRequest(e.to_string())),
        FieldError::Missing { .. } => Ok(envelope::answer(
            kind,
            &Answer::fail(codes::INVALID, e.to_string()),
        )),
    }
}

fn context(headers: &HeaderMap, query: Option<&str>, track: &TrackId) -> CallContext {
    CallContext {
        track_id: track.0.clone(),
        settings: settings(headers),
        check_only: query_check_only(query),
    }
}

async fn service_call(
    State(state): State<AppState>,
    Extension(track): Extension<TrackId>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    ServiceCaller(claim): ServiceCaller,
    Body(body): Body,
    operation: Operation,
) -> Result<Response, ApiError> {
    let value = parse_json(&body)?;
    let def = match lenient::service_definition(&value, operation != Operation::SubscriptionCreate)
    {
        Ok(d) => d,
        Err(e) => return field_error(Kind::Service, e),
    };
    let ctx = context(&headers, query.as_deref(), &track);
    // Run to completion even if the platform hangs up: a real call is
    // never cut off halfway, and its decision records are written. The
    // answer comes back as soon as it is decided; the call's bookkeeping
    // goes on in its task.
    let app = state.app.clone();
    let (reply, answer) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        app.service_call(&claim, operation, def, &ctx, reply).await;
    });
    let answer = answer
        .await
        .map_err(|_| ApiError::Internal("a call's task failed".into()))??;
    Ok(envelope::answer(Kind::Service, &answer))
}

/// Await a call spawned so it outlives its connection.
async fn finish(
    task: tokio::task::JoinHandle<crate::service::Result<Answer>>,
) -> Result<Answer, ApiError> {
    match task.await {
        Ok(answer) => Ok(answer?),
        Err(e) => Err(ApiError::Internal(format!("a call's task failed: {e}"))),
    }
}

/// An authenticated Accounts/* call with its `AccountDefinition` body.
struct AccountCall {
    tenant: Tenant,
    account: crate::domain::interworks::Account,
    ctx: CallContext,
    /// Body `CheckOnly` or the query parameter.
    check_only: bool,
}

/// Authenticate and read the account; a missing required key is answered
/// in `kind`'s envelope (the `Err` response).
fn account_call(
    tenant: Tenant,
    headers: &HeaderMap,
    track: &TrackId,
    query: Option<&str>,
    body: &[u8],
    require_id: bool,
    kind: Kind,
) -> Result<Result<AccountCall, Response>, ApiError> {
    let value = parse_json(body)?;
    let (account, body_check) = match lenient::account_body(&value, require_id) {
        Ok(a) => a,
        Err(e) => return field_error(kind, e).map(Err),
    };
    let ctx = context(headers, query, track);
    let check_only = body_check || ctx.check_only;
    Ok(Ok(AccountCall {
        tenant,
        account,
        ctx,
        check_only,
    }))
}

async fn synchronize(
    State(state): State<AppState>,
    Extension(track): Extension<TrackId>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    Caller(tenant): Caller,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let call = match account_call(
        tenant,
        &headers,
        &track,
        query.as_deref(),
        &body,
        true,
        Kind::Account,
    )? {
        Ok(call) => call,
        Err(answered) => return Ok(answered),
    };
    let app = state.app.clone();
    let answer = finish(tokio::spawn(async move {
        app.synchronize_account(&call.tenant, &call.account, &call.ctx, call.check_only)
            .await
    }))
    .await?;
    Ok(envelope::answer(Kind::Account, &answer))
}

async fn exists(
    State(state): State<AppState>,
    Extension(track): Extension<TrackId>,
    headers: HeaderMap,
    Caller(tenant): Caller,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let call = match account_call(tenant, &headers, &track, None, &body, false, Kind::Result)? {
        Ok(call) => call,
        Err(answered) => return Ok(answered),
    };
    Ok(envelope::answer(
        Kind::Result,
        &state
            .app
            .account_exists(&call.tenant, &call.account, &call.ctx)
            .await?,
    ))
}

async fn delete(
    State(state): State<AppState>,
    Extension(track): Extension<TrackId>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    Caller(tenant): Caller,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let call = match account_call(
        tenant,
        &headers,
        &track,
        query.as_deref(),
        &body,
        false,
        Kind::Result,
    )? {
        Ok(call) => call,
        Err(answered) => return Ok(answered),
    };
    let app = state.app.clone();
    let answer = finish(tokio::spawn(async move {
        app.delete_account(&call.tenant, &call.account, &call.ctx, call.check_only)
            .await
    }))
    .await?;
    Ok(envelope::answer(Kind::Result, &answer))
}

/// A bare `true`/`false` endpoint: a missing key is a 400 (no envelope).
async fn is_reseller(
    State(state): State<AppState>,
    Caller(tenant): Caller,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let value = parse_json(&body)?;
    let (account, _) =
        lenient::account_body(&value, false).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(json_response(
        StatusCode::OK,
        &state.app.is_reseller(&tenant, &account).await?,
    ))
}

async fn fields_get(
    State(state): State<AppState>,
    Caller(tenant): Caller,
) -> Result<Response, ApiError> {
    let doc = state.app.setup_document(&tenant).await?;
    let fields: Vec<Value> = doc
        .fields
        .iter()
        .map(|f| json!({"ID": f.id, "Value": null, "Definition": f}))
        .collect();
    Ok(json_response(StatusCode::OK, &json!({"Fields": fields})))
}

async fn fields_validate(
    State(state): State<AppState>,
    Caller(tenant): Caller,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let value = parse_json(&body)?;
    let values = lenient::field_values(&value).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(json_response(
        StatusCode::OK,
        &state.app.validate_fields(&tenant, &values).await?,
    ))
}

async fn service_definition(
    State(state): State<AppState>,
    Caller(tenant): Caller,
) -> Result<Response, ApiError> {
    Ok(json_response(
        StatusCode::OK,
        &state.app.service_definition(&tenant).await?,
    ))
}

async fn additional_info(Caller(_): Caller) -> Result<Response, ApiError> {
    Ok(json_response(StatusCode::OK, &json!({})))
}

async fn sync_options(
    State(state): State<AppState>,
    Caller(tenant): Caller,
) -> Result<Response, ApiError> {
    let options = state.app.sync_options(&tenant).await?;
    let fields: Vec<Value> = options
        .iter()
        .map(|o| json!({"ID": o.id, "Definition": o}))
        .collect();
    Ok(json_response(StatusCode::OK, &json!({"Fields": fields})))
}

/// Pay-per-use is not offered: a documented "not supported" answer in the
/// PPU response shape.
async fn ppu(Caller(_): Caller) -> Result<Response, ApiError> {
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "Code": codes::FAILURE, "Message": "Pay-per-use is not supported by this service.", "Result": null,
            "Currency": "", "LastUpdateAt": null, "Usages": [], "Items": [],
            "Totals": {"Items": 0, "CostPrice": 0, "SellPrice": 0},
        }),
    ))
}

async fn users(Caller(_): Caller) -> Result<Response, ApiError> {
    Ok(envelope::answer(
        Kind::Result,
        &Answer::fail(
            codes::FAILURE,
            "Users management is not supported by this service.",
        ),
    ))
}

async fn assets(Caller(_): Caller) -> Result<Response, ApiError> {
    Ok(envelope::answer(
        Kind::Service,
        &Answer::fail(codes::FAILURE, "Assets are not supported by this service."),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setting_values_are_utf8_of_any_script() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-cloudplatform-setting-fieldusername",
            axum::http::HeaderValue::from_bytes("Ελένη".as_bytes()).unwrap(),
        );
        headers.insert(
            "x-cloudplatform-setting-fieldregion",
            axum::http::HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        );
        let read = settings(&headers);
        assert_eq!(
            read,
            vec![("fieldusername".to_string(), "Ελένη".to_string())]
        );
    }

    #[test]
    fn checkonly_query_parameter() {
        assert!(query_check_only(Some("CheckOnly=true")));
        assert!(query_check_only(Some("a=b&checkonly=1")));
        assert!(!query_check_only(Some("checkonly=false")));
        assert!(!query_check_only(Some("checkonlyx=true")));
        assert!(!query_check_only(None));
    }
}
