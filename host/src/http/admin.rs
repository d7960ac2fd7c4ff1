//! The tenant admin API (`/admin/v1`, DESIGN §8) and the operator
//! endpoints. Bearer tokens; JSON in and out; errors as
//! `application/problem+json` with a specific title and detail. Another
//! tenant's object is always 404.

use super::{AppState, Body};
use crate::codec::documents::{CatalogDoc, SetupDoc};
use crate::domain::hook::Hook;
use crate::service::{
    AuthError, BindingSpec, DryRunRequest, HistoryPage, NewTenantRequest, ReplayRequest,
    ServiceError, Tenant, TenantLimits,
};
use crate::store::InvocationFilter;
use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    problem_with(status, title, detail, None)
}

fn problem_with(status: StatusCode, title: &str, detail: &str, reason: Option<&str>) -> Response {
    let mut body =
        json!({"type": "about:blank", "title": title, "status": status.as_u16(), "detail": detail});
    if let Some(reason) = reason {
        body["reason"] = Value::String(reason.to_string());
    }
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

fn ok(status: StatusCode, body: &impl serde::Serialize) -> Response {
    super::envelope::json_response(status, body)
}

/// An admin API failure.
pub enum AdminError {
    Service(ServiceError),
    Auth(AuthError),
    BadRequest(String),
    NotFound(String),
}

impl From<ServiceError> for AdminError {
    fn from(e: ServiceError) -> Self {
        AdminError::Service(e)
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        match self {
            AdminError::Auth(AuthError::BadOperatorToken) => problem(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "A valid operator token is required (Authorization: Bearer …).",
            ),
            AdminError::Auth(_) => problem(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "A valid admin token is required (Authorization: Bearer …).",
            ),
            AdminError::BadRequest(detail) => {
                problem(StatusCode::BAD_REQUEST, "Invalid request", &detail)
            }
            AdminError::NotFound(detail) => problem(StatusCode::NOT_FOUND, "Not found", &detail),
            AdminError::Service(e) => match e {
                ServiceError::NotFound(d) => problem(StatusCode::NOT_FOUND, "Not found", &d),
                ServiceError::Invalid(d) => problem(StatusCode::BAD_REQUEST, "Invalid request", &d),
                ServiceError::Conflict(d) => problem(StatusCode::CONFLICT, "Conflict", &d),
                ServiceError::TooLarge(d) => {
                    problem(StatusCode::PAYLOAD_TOO_LARGE, "Too large", &d)
                }
                ServiceError::Refused(load) => problem_with(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Plugin refused",
                    &load.to_string(),
                    Some(load.kind()),
                ),
                ServiceError::InvalidConfig {
                    field,
                    path,
                    message,
                } => {
                    let detail =
                        format!("The plugin refuses the binding's {field} at {path}: {message}");
                    let body = json!({"type": "about:blank", "title": "Invalid config", "status": 422,
                        "detail": detail, "reason": "invalid-config", "field": field, "path": path});
                    let mut r =
                        (StatusCode::UNPROCESSABLE_ENTITY, body.to_string()).into_response();
                    r.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/problem+json"),
                    );
                    r
                }
                ServiceError::Quota { detail, .. } => problem_with(
                    StatusCode::CONFLICT,
                    "Quota exceeded",
                    &detail,
                    Some("quota"),
                ),
                ServiceError::Unavailable(d) => {
                    let mut r = problem(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Temporarily unavailable",
                        &d,
                    );
                    r.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                    r
                }
                other => {
                    tracing::error!(error = %other, "admin API internal error");
                    problem(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Internal error",
                        "An internal error occurred; it has been logged.",
                    )
                }
            },
        }
    }
}

type Result<T> = std::result::Result<T, AdminError>;

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The tenant behind the admin bearer token, and who acts (for history).
pub struct Admin {
    pub tenant: Tenant,
    pub actor: String,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let tenant = state
            .app
            .authenticate_admin(bearer(&parts.headers))
            .await?
            .map_err(AdminError::Auth)?;
        // Free text for the audit trail; the token decides the tenant.
        let actor = parts
            .headers
            .get("x-tollgate-actor")
            .and_then(|v| v.to_str().ok())
            .map(|a| a.trim().chars().take(100).collect::<String>())
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| "admin".to_string());
        Ok(Admin { tenant, actor })
    }
}

/// The operator (creates tenants, rotates secrets, sets limits).
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        state
            .app
            .authenticate_operator(bearer(&parts.headers))
            .map_err(AdminError::Auth)?;
        Ok(Operator)
    }
}

/// `Query` with problem+json rejections.
pub struct Q<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Q<T> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> std::result::Result<Self, Response> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(t)| Q(t))
            .map_err(|e| problem(StatusCode::BAD_REQUEST, "Invalid request", &e.body_text()))
    }
}

/// `Path` with problem+json rejections.
pub struct P<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for P<T> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> std::result::Result<Self, Response> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(t)| P(t))
            .map_err(|e| problem(StatusCode::BAD_REQUEST, "Invalid request", &e.body_text()))
    }
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(body)
        .map_err(|e| AdminError::BadRequest(format!("the {what} is not valid: {e}")))
}

fn optional_json_body<T: serde::de::DeserializeOwned + Default>(
    body: &[u8],
    what: &str,
) -> Result<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        json_body(body, what)
    }
}

fn hook(text: &str) -> Result<Hook> {
    text.parse::<Hook>()
        .map_err(|e| AdminError::NotFound(e.to_string()))
}

pub fn routes(state: &AppState) -> Router<AppState> {
    let upload_limit = state.app.config().engine.max_upload_bytes() + 1;
    Router::new()
        .route(
            "/admin/v1/plugins",
            post(upload)
                .layer(axum::Extension(super::BodyLimit(upload_limit)))
                .get(list_plugins),
        )
        .route("/admin/v1/plugins/{name}/versions", get(plugin_versions))
        .route(
            "/admin/v1/plugins/{name}/versions/{version}",
            axum::routing::delete(delete_plugin_version),
        )
        .route("/admin/v1/bindings", get(list_bindings))
        .route(
            "/admin/v1/bindings/{hook}/{binding}",
            get(get_binding).put(put_binding).delete(delete_binding),
        )
        .route(
            "/admin/v1/bindings/{hook}/{binding}/rollback",
            post(rollback),
        )
        .route(
            "/admin/v1/bindings/{hook}/{binding}/shadow",
            get(get_shadow).delete(delete_shadow),
        )
        .route("/admin/v1/overview", get(overview))
        .route("/admin/v1/dry-run", post(dry_run))
        .route("/admin/v1/invocations", get(invocations))
        .route("/admin/v1/invocations/{id}", get(invocation))
        .route("/admin/v1/invocations/{id}/replay", post(replay))
        .route("/admin/v1/catalog", get(get_catalog).put(put_catalog))
        .route("/admin/v1/setup-fields", get(get_setup).put(put_setup))
        .route("/admin/v1/events", get(events))
        .route("/admin/v1/subscriptions/{external_id}", get(subscription))
        .route("/admin/v1/tenants", post(create_tenant))
        .route("/admin/v1/tenants/{id}/api-key", post(rotate_api_key))
        .route(
            "/admin/v1/tenants/{id}/admin-token",
            post(rotate_admin_token),
        )
        .route(
            "/admin/v1/tenants/{id}/limits",
            axum::routing::put(set_limits),
        )
        .layer(middleware::from_fn_with_state(state.clone(), count))
}

async fn count(State(state): State<AppState>, req: axum::extract::Request, next: Next) -> Response {
    let response = next.run(req).await;
    state
        .app
        .metrics()
        .admin_request(response.status().as_u16());
    response
}

#[derive(Deserialize)]
struct NameQuery {
    name: Option<String>,
}

/// `POST /admin/v1/plugins?name=N`, body: the component bytes.
async fn upload(
    State(state): State<AppState>,
    admin: Admin,
    Q(q): Q<NameQuery>,
    Body(body): Body,
) -> Result<Response> {
    let name = q.name.filter(|n| !n.is_empty()).ok_or_else(|| {
        AdminError::BadRequest(
            "the plugin name is missing: POST /admin/v1/plugins?name=NAME".into(),
        )
    })?;
    let result = state
        .app
        .upload_plugin(&admin.tenant, &name, body.to_vec(), &admin.actor)
        .await?;
    let status = if result.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(ok(status, &result))
}

async fn list_plugins(State(state): State<AppState>, admin: Admin) -> Result<Response> {
    Ok(ok(StatusCode::OK, &state.app.plugins(&admin.tenant).await?))
}

async fn plugin_versions(
    State(state): State<AppState>,
    admin: Admin,
    P(name): P<String>,
) -> Result<Response> {
    Ok(ok(
        StatusCode::OK,
        &state.app.plugin_versions(&admin.tenant, &name).await?,
    ))
}

async fn delete_plugin_version(
    State(state): State<AppState>,
    admin: Admin,
    P((name, version)): P<(String, String)>,
) -> Result<Response> {
    state
        .app
        .delete_plugin_version(&admin.tenant, &name, &version)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `?history_before=N&history_limit=M`: a page of a history list.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    history_before: Option<i64>,
    history_limit: Option<i64>,
}

impl HistoryQuery {
    fn page(&self) -> HistoryPage {
        HistoryPage {
            before: self.history_before,
            limit: self.history_limit,
        }
    }
}

async fn list_bindings(State(state): State<AppState>, admin: Admin) -> Result<Response> {
    Ok(ok(
        StatusCode::OK,
        &state.app.bindings(&admin.tenant).await?,
    ))
}

async fn get_binding(
    State(state): State<AppState>,
    admin: Admin,
    P((h, name)): P<(String, String)>,
    Q(q): Q<HistoryQuery>,
) -> Result<Response> {
    Ok(ok(
        StatusCode::OK,
        &state
            .app
            .binding(&admin.tenant, hook(&h)?, &name, q.page())
            .await?,
    ))
}

async fn put_binding(
    State(state): State<AppState>,
    admin: Admin,
    P((h, name)): P<(String, String)>,
    Body(body): Body,
) -> Result<Response> {
    let hook = hook(&h)?;
    let spec: BindingSpec = json_body(&body, "binding")?;
    Ok(ok(
        StatusCode::OK,
        &state
            .app
            .put_binding(&admin.tenant, hook, &name, &spec, &admin.actor)
            .await?,
    ))
}

async fn delete_binding(
    State(state): State<AppState>,
    admin: Admin,
    P((h, name)): P<(String, String)>,
) -> Result<Response> {
    state
        .app
        .delete_binding(&admin.tenant, hook(&h)?, &name, &admin.actor)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    revision: Option<i64>,
}

async fn rollback(
    State(state): State<AppState>,
    admin: Admin,
    P((h, name)): P<(String, String)>,
    Body(body): Body,
) -> Result<Response> {
    let hook = hook(&h)?;
    let body: RollbackBody = optional_json_body(&body, "rollback request")?;
    Ok(ok(
        StatusCode::OK,
        &state
            .app
            .rollback_binding(&admin.tenant, hook, &name, body.revision, &admin.actor)
            .await?,
    ))
}

async fn dry_run(
    State(state): State<AppState>,
    admin: Admin,
    Body(body): Body,
) -> Result<Response> {
    let request: DryRunRequest = json_body(&body, "dry-run request")?;
    Ok(ok(
        StatusCode::OK,
        &state.app.dry_run(&admin.tenant, request).await?,
    ))
}

#[derive(Deserialize)]
struct InvocationQuery {
    shadow: Option<bool>,
    hook: Option<String>,
    binding: Option<String>,
    outcome: Option<String>,
    error_kind: Option<String>,
    track_id: Option<String>,
    since: Option<i64>,
    before: Option<i64>,
    limit: Option<i64>,
}

async fn invocations(
    State(state): State<AppState>,
    admin: Admin,
    Q(q): Q<InvocationQuery>,
) -> Result<Response> {
    let filter = InvocationFilter {
        hook: q.hook,
        binding: q.binding,
        outcome: q.outcome,
        error_kind: q.error_kind,
        shadow: q.shadow,
        track_id: q.track_id,
        since: q.since,
        before: q.before,
        limit: q.limit.unwrap_or(100).clamp(1, 1000),
    };
    Ok(ok(
        StatusCode::OK,
        &state.app.invocations(&admin.tenant, &filter).await?,
    ))
}

async fn invocation(
    State(state): State<AppState>,
    admin: Admin,
    P(id): P<String>,
) -> Result<Response> {
    Ok(ok(
        StatusCode::OK,
        &state.app.invocation(&admin.tenant, &id).await?,
    ))
}

async fn replay(
    State(state): State<AppState>,
    admin: Admin,
    P(id): P<String>,
    Body(body): Body,
) -> Result<Response> {
    let body: ReplayRequest = optional_json_body(&body, "replay request")?;
    let result = state.app.replay(&admin.tenant, &id, body).await?;
    Ok(ok(StatusCode::OK, &result))
}

async fn get_shadow(
    State(state): State<AppState>,
    admin: Admin,
    P((h, name)): P<(String, String)>,
) -> Result<Response> {
    Ok(ok(
        StatusCode::OK,
        &state
            .app
            .shadow_report(&admin.tenant, hook(&h)?, &name)
            .await?,
    ))
}

async fn delete_shadow(
    State(state): State<AppState>,
    admin: Admin,
    P((h, name)): P<(String, String)>,
) -> Result<Response> {
    state
        .app
        .delete_shadow(&admin.tenant, hook(&h)?, &name, &admin.actor)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverviewQuery {
    window: Option<i64>,
}

async fn overview(
    State(state): State<AppState>,
    admin: Admin,
    Q(q): Q<OverviewQuery>,
) -> Result<Response> {
    Ok(ok(
        StatusCode::OK,
        &state
            .app
            .overview(&admin.tenant, q.window.unwrap_or(3600))
            .await?,
    ))
}

fn utf8(body: &[u8]) -> Result<&str> {
    std::str::from_utf8(body).map_err(|_| AdminError::BadRequest("the body is not UTF-8".into()))
}

async fn get_catalog(State(state): State<AppState>, admin: Admin) -> Result<Response> {
    let doc: CatalogDoc = state.app.service_definition(&admin.tenant).await?;
    Ok(ok(StatusCode::OK, &doc))
}

async fn put_catalog(
    State(state): State<AppState>,
    admin: Admin,
    Body(body): Body,
) -> Result<Response> {
    Ok(ok(
        StatusCode::OK,
        &state.app.put_catalog(&admin.tenant, utf8(&body)?).await?,
    ))
}

async fn get_setup(State(state): State<AppState>, admin: Admin) -> Result<Response> {
    let doc: SetupDoc = state.app.setup_document(&admin.tenant).await?;
    Ok(ok(StatusCode::OK, &doc))
}

async fn put_setup(
    State(state): State<AppState>,
    admin: Admin,
    Body(body): Body,
) -> Result<Response> {
    Ok(ok(
        StatusCode::OK,
        &state
            .app
            .put_setup_fields(&admin.tenant, utf8(&body)?)
            .await?,
    ))
}

#[derive(Deserialize)]
struct EventsQuery {
    after: Option<i64>,
    limit: Option<i64>,
}

async fn events(
    State(state): State<AppState>,
    admin: Admin,
    Q(q): Q<EventsQuery>,
) -> Result<Response> {
    let events = state
        .app
        .events(&admin.tenant, q.after.unwrap_or(0), q.limit.unwrap_or(100))
        .await?;
    let next = events
        .last()
        .map(|e| e.cursor)
        .unwrap_or(q.after.unwrap_or(0));
    Ok(ok(StatusCode::OK, &json!({"events": events, "next": next})))
}

async fn subscription(
    State(state): State<AppState>,
    admin: Admin,
    P(id): P<String>,
    Q(q): Q<HistoryQuery>,
) -> Result<Response> {
    Ok(ok(
        StatusCode::OK,
        &state
            .app
            .subscription_view(&admin.tenant, &id, q.page())
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTenantBody {
    name: String,
    application_id: Option<String>,
    api_key: Option<String>,
}

async fn create_tenant(
    State(state): State<AppState>,
    _: Operator,
    Body(body): Body,
) -> Result<Response> {
    let b: NewTenantBody = json_body(&body, "tenant")?;
    let secrets = state
        .app
        .create_tenant(&NewTenantRequest {
            name: b.name,
            application_id: b.application_id,
            api_key: b.api_key,
        })
        .await?;
    Ok(ok(StatusCode::CREATED, &secrets))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RotateKeyBody {
    api_key: Option<String>,
    #[serde(default)]
    keep_previous: bool,
}

async fn rotate_api_key(
    State(state): State<AppState>,
    _: Operator,
    P(id): P<String>,
    Body(body): Body,
) -> Result<Response> {
    let b: RotateKeyBody = optional_json_body(&body, "rotation request")?;
    let key = state
        .app
        .rotate_api_key(&id, b.api_key.as_deref(), b.keep_previous)
        .await?;
    Ok(ok(
        StatusCode::OK,
        &json!({"tenant_id": id, "api_key": key, "previous_key_valid": b.keep_previous}),
    ))
}

async fn rotate_admin_token(
    State(state): State<AppState>,
    _: Operator,
    P(id): P<String>,
) -> Result<Response> {
    let token = state.app.rotate_admin_token(&id).await?;
    Ok(ok(
        StatusCode::OK,
        &json!({"tenant_id": id, "admin_token": token}),
    ))
}

async fn set_limits(
    State(state): State<AppState>,
    _: Operator,
    P(id): P<String>,
    Body(body): Body,
) -> Result<Response> {
    let limits: Option<TenantLimits> = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        json_body(&body, "limits")?
    };
    state.app.set_tenant_limits(&id, limits).await?;
    Ok(ok(
        StatusCode::OK,
        &json!({"tenant_id": id, "limits": limits}),
    ))
}
