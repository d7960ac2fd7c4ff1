//! The tenant admin API (`/admin/v1`, DESIGN §8) and the operator
//! endpoints. Bearer tokens; JSON in and out; errors as
//! `application/problem+json` with a specific title and detail. Another
//! tenant's object is always 404.

use super::wire::admin as wire;
use super::{AppState, Body};
use crate::codec::documents::{CatalogDoc, SetupDoc};
use crate::domain::hook::Hook;
use crate::service::{AuthError, HistoryPage, NewTenantRequest, ServiceError, Tenant};
use crate::store::InvocationFilter;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    problem_with(status, title, detail, None)
}

fn problem_with(status: StatusCode, title: &str, detail: &str, reason: Option<&str>) -> Response {
    problem_response(wire::Problem {
        kind: "about:blank".into(),
        title: title.into(),
        status: status.as_u16(),
        detail: detail.into(),
        reason: reason.map(str::to_string),
        field: None,
        path: None,
    })
}

fn problem_response(body: wire::Problem) -> Response {
    let status = StatusCode::from_u16(body.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let mut response = (status, bytes).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// An admin API failure (answered as a problem document).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Auth(AuthError),
    #[error("invalid request: {0}")]
    BadRequest(String),
    #[error("not found: {0}")]
    NotFound(String),
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
                    problem_response(wire::Problem {
                        kind: "about:blank".into(),
                        title: "Invalid config".into(),
                        status: 422,
                        detail,
                        reason: Some("invalid-config".into()),
                        field: Some(field),
                        path: Some(path),
                    })
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

/// The admin API's routes with their OpenAPI operations: each handler's
/// `#[utoipa::path]` gives both its route and its documentation, so the
/// two cannot disagree. `upload_limit` bounds the plugin upload's body.
pub fn openapi_router(upload_limit: usize) -> OpenApiRouter<AppState> {
    let (schemas, paths, uploads) = routes!(upload, list_plugins);
    let uploads = uploads.layer(axum::Extension(super::BodyLimit(upload_limit)));
    OpenApiRouter::new()
        .routes((schemas, paths, uploads))
        .routes(routes!(plugin_versions))
        .routes(routes!(delete_plugin_version))
        .routes(routes!(list_bindings))
        .routes(routes!(get_binding, put_binding, delete_binding))
        .routes(routes!(rollback))
        .routes(routes!(get_shadow, delete_shadow))
        .routes(routes!(overview))
        .routes(routes!(dry_run))
        .routes(routes!(invocations))
        .routes(routes!(invocation))
        .routes(routes!(replay))
        .routes(routes!(get_catalog, put_catalog))
        .routes(routes!(get_setup, put_setup))
        .routes(routes!(events))
        .routes(routes!(subscription))
        .routes(routes!(create_tenant))
        .routes(routes!(rotate_api_key))
        .routes(routes!(rotate_admin_token))
        .routes(routes!(set_limits))
}

pub fn routes(state: &AppState) -> axum::Router<AppState> {
    let upload_limit = state.app.config().engine.max_upload_bytes() + 1;
    let (router, _) = openapi_router(upload_limit).split_for_parts();
    router.layer(middleware::from_fn_with_state(state.clone(), count))
}

async fn count(State(state): State<AppState>, req: axum::extract::Request, next: Next) -> Response {
    let response = next.run(req).await;
    state
        .app
        .metrics()
        .admin_request(response.status().as_u16());
    response
}

fn ok<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    super::envelope::json_response(status, body)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct NameQuery {
    /// The plugin's name: 1 to 64 of `a-z 0-9 . _ -`, starting with a
    /// letter or digit.
    #[param(pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")]
    name: Option<String>,
}

/// Upload a plugin version.
///
/// The body is the WebAssembly component. It must implement exactly one
/// hook world of `tollgate:plugin` (1.0.0 or 2.0.0) and compile within the
/// time limit. Stored content-addressed (version = SHA-256); the same bytes
/// again answer 200 with `created: false`.
#[utoipa::path(
    post,
    path = "/admin/v1/plugins",
    tag = "Plugins",
    operation_id = "upload_plugin",
    params(NameQuery),
    request_body(
        description = "The component's bytes.",
        content(
            (Vec<u8> = "application/wasm"),
            (Vec<u8> = "application/octet-stream"),
        ),
    ),
    responses(
        (status = 201, description = "Stored.", body = wire::Upload),
        (status = 200, description = "These bytes were already stored under this name.", body = wire::Upload),
        (status = 409, description = "The name is used by a plugin of another hook, or a quota is exceeded (`reason: quota`).", body = wire::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over the size limit (4 MiB by default; more for JavaScript and Python components).", body = wire::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Refused: not WebAssembly, a core module, no or several hooks, a wrong signature, too slow to compile… (`reason` names it).", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many uploads are compiling; retry shortly (Retry-After).", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
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
    Ok(ok(status, &wire::Upload::from(result)))
}

/// List plugins.
#[utoipa::path(
    get,
    path = "/admin/v1/plugins",
    tag = "Plugins",
    operation_id = "list_plugins",
    responses((status = 200, description = "Every plugin with its newest version.", body = Vec<wire::Plugin>))
)]
async fn list_plugins(State(state): State<AppState>, admin: Admin) -> Result<Response> {
    let plugins: Vec<wire::Plugin> = state
        .app
        .plugins(&admin.tenant)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(ok(StatusCode::OK, &plugins))
}

/// A plugin's versions, newest first.
#[utoipa::path(
    get,
    path = "/admin/v1/plugins/{name}/versions",
    tag = "Plugins",
    operation_id = "plugin_versions",
    params(("name" = String, Path, description = "The plugin's name.")),
    responses(
        (status = 200, description = "Its versions, newest first.", body = Vec<wire::PluginVersion>),
        (status = 404, description = "No plugin of this name.", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn plugin_versions(
    State(state): State<AppState>,
    admin: Admin,
    P(name): P<String>,
) -> Result<Response> {
    let versions: Vec<wire::PluginVersion> = state
        .app
        .plugin_versions(&admin.tenant, &name)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(ok(StatusCode::OK, &versions))
}

/// Delete a plugin version no binding uses.
#[utoipa::path(
    delete,
    path = "/admin/v1/plugins/{name}/versions/{version}",
    tag = "Plugins",
    operation_id = "delete_plugin_version",
    params(
        ("name" = String, Path, description = "The plugin's name."),
        ("version" = String, Path, description = "The version (SHA-256, hex)."),
    ),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such version.", body = wire::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A binding (active, shadow, or its rollback target) still uses it; the detail names them.", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
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
#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    /// Only entries below this revision (version).
    history_before: Option<i64>,
    /// Entries per page: 100 by default, at most 1000.
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

/// List bindings.
#[utoipa::path(
    get,
    path = "/admin/v1/bindings",
    tag = "Bindings",
    operation_id = "list_bindings",
    responses((status = 200, description = "Every binding (without history).", body = Vec<wire::Binding>))
)]
async fn list_bindings(State(state): State<AppState>, admin: Admin) -> Result<Response> {
    let bindings: Vec<wire::Binding> = state
        .app
        .bindings(&admin.tenant)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(ok(StatusCode::OK, &bindings))
}

/// A binding with a page of its history.
#[utoipa::path(
    get,
    path = "/admin/v1/bindings/{hook}/{binding}",
    tag = "Bindings",
    operation_id = "get_binding",
    params(
        ("hook" = Hook, Path, description = "The hook."),
        ("binding" = String, Path, description = "The binding's name."),
        HistoryQuery,
    ),
    responses(
        (status = 200, description = "The binding with its history, newest first.", body = wire::Binding),
        (status = 404, description = "No such binding (or hook).", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn get_binding(
    State(state): State<AppState>,
    admin: Admin,
    P((h, name)): P<(String, String)>,
    Q(q): Q<HistoryQuery>,
) -> Result<Response> {
    let (record, history) = state
        .app
        .binding(&admin.tenant, hook(&h)?, &name, q.page())
        .await?;
    let mut binding = wire::Binding::from(record);
    binding.history = Some(history.into_iter().map(Into::into).collect());
    Ok(ok(StatusCode::OK, &binding))
}

/// Activate a plugin version on a binding.
///
/// Atomic and effective for the next call. Without `version` a binding
/// keeps its current version (a new binding takes the plugin's newest). The
/// plugin checks the config (and a shadow's) first: a config it refuses
/// answers 422 with the JSON `path` and changes nothing. Activating the
/// shadow's version promotes it.
#[utoipa::path(
    put,
    path = "/admin/v1/bindings/{hook}/{binding}",
    tag = "Bindings",
    operation_id = "put_binding",
    params(
        ("hook" = Hook, Path, description = "The hook."),
        ("binding" = String, Path, description = "The binding's name: 1 to 64 of `a-z 0-9 . _ -`."),
    ),
    request_body(content = wire::BindingRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The binding as now active.", body = wire::Binding),
        (status = 404, description = "No such hook, plugin or version.", body = wire::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Quota of bindings exceeded (`reason: quota`), or concurrent changes.", body = wire::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The plugin refuses the config (`reason: invalid-config`, `field`, `path`).", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn put_binding(
    State(state): State<AppState>,
    admin: Admin,
    P((h, name)): P<(String, String)>,
    Body(body): Body,
) -> Result<Response> {
    let hook = hook(&h)?;
    let request: wire::BindingRequest = json_body(&body, "binding")?;
    let record = state
        .app
        .put_binding(&admin.tenant, hook, &name, &request.into(), &admin.actor)
        .await?;
    Ok(ok(StatusCode::OK, &wire::Binding::from(record)))
}

/// Remove a binding (its history is kept).
#[utoipa::path(
    delete,
    path = "/admin/v1/bindings/{hook}/{binding}",
    tag = "Bindings",
    operation_id = "delete_binding",
    params(
        ("hook" = Hook, Path, description = "The hook."),
        ("binding" = String, Path, description = "The binding's name."),
    ),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "No such binding.", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
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

/// Roll back to an earlier revision (default: the previous one).
#[utoipa::path(
    post,
    path = "/admin/v1/bindings/{hook}/{binding}/rollback",
    tag = "Bindings",
    operation_id = "rollback_binding",
    params(
        ("hook" = Hook, Path, description = "The hook."),
        ("binding" = String, Path, description = "The binding's name."),
    ),
    request_body(content = Option<wire::RollbackRequest>, description = "Optional.", content_type = "application/json"),
    responses(
        (status = 200, description = "The binding as now active.", body = wire::Binding),
        (status = 404, description = "No such binding or revision.", body = wire::Problem, content_type = "application/problem+json"),
        (status = 409, description = "No earlier revision, or its plugin version is no longer stored.", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn rollback(
    State(state): State<AppState>,
    admin: Admin,
    P((h, name)): P<(String, String)>,
    Body(body): Body,
) -> Result<Response> {
    let hook = hook(&h)?;
    let body: wire::RollbackRequest = optional_json_body(&body, "rollback request")?;
    let record = state
        .app
        .rollback_binding(&admin.tenant, hook, &name, body.revision, &admin.actor)
        .await?;
    Ok(ok(StatusCode::OK, &wire::Binding::from(record)))
}

/// Evaluate a plugin version on an input; writes nothing.
///
/// Without `version`: the version a binding of the plugin runs (the newest
/// upload only when none is bound), so a dry run shows what production does.
#[utoipa::path(
    post,
    path = "/admin/v1/dry-run",
    tag = "Decision log",
    operation_id = "dry_run",
    request_body(content = wire::DryRunRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The output or the error, and the costs.", body = wire::DryRun),
        (status = 404, description = "No such plugin or version.", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn dry_run(
    State(state): State<AppState>,
    admin: Admin,
    Body(body): Body,
) -> Result<Response> {
    let request: wire::DryRunRequest = json_body(&body, "dry-run request")?;
    let result = state.app.dry_run(&admin.tenant, request.into()).await?;
    Ok(ok(StatusCode::OK, &wire::DryRun::from(result)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct InvocationQuery {
    /// Only shadow runs (`true`) or only deciding runs (`false`).
    shadow: Option<bool>,
    #[param(value_type = Option<Hook>)]
    hook: Option<String>,
    /// The binding's name.
    binding: Option<String>,
    /// `accept`, `reject`, `limits`, `no-limits`, `plan`, `plan-error`, `error`.
    outcome: Option<String>,
    /// A plugin failure's kind (`trap`, `fuel-exhausted`…).
    error_kind: Option<String>,
    track_id: Option<String>,
    /// At or after (milliseconds since the Unix epoch).
    since: Option<i64>,
    /// Before (milliseconds since the Unix epoch).
    before: Option<i64>,
    /// At most this many (default 100, at most 1000).
    limit: Option<i64>,
}

/// The decision log, newest first.
#[utoipa::path(
    get,
    path = "/admin/v1/invocations",
    tag = "Decision log",
    operation_id = "list_invocations",
    params(InvocationQuery),
    responses((status = 200, description = "Invocations, newest first.", body = Vec<wire::Invocation>))
)]
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
    let list: Vec<wire::Invocation> = state
        .app
        .invocations(&admin.tenant, &filter)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(ok(StatusCode::OK, &list))
}

/// One logged invocation, with its fixture form.
#[utoipa::path(
    get,
    path = "/admin/v1/invocations/{id}",
    tag = "Decision log",
    operation_id = "get_invocation",
    params(("id" = String, Path, description = "The invocation's id.")),
    responses(
        (status = 200, description = "The invocation.", body = wire::Invocation),
        (status = 404, description = "No such invocation.", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn invocation(
    State(state): State<AppState>,
    admin: Admin,
    P(id): P<String>,
) -> Result<Response> {
    let invocation = state.app.invocation(&admin.tenant, &id).await?;
    Ok(ok(StatusCode::OK, &wire::Invocation::from(invocation)))
}

/// Replay a logged invocation against any version (or config).
#[utoipa::path(
    post,
    path = "/admin/v1/invocations/{id}/replay",
    tag = "Decision log",
    operation_id = "replay_invocation",
    params(("id" = String, Path, description = "The invocation's id.")),
    request_body(content = Option<wire::ReplayRequest>, description = "Optional.", content_type = "application/json"),
    responses(
        (status = 200, description = "Both outcomes and whether they differ.", body = wire::Replay),
        (status = 404, description = "No such invocation, plugin or version.", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn replay(
    State(state): State<AppState>,
    admin: Admin,
    P(id): P<String>,
    Body(body): Body,
) -> Result<Response> {
    let body: wire::ReplayRequest = optional_json_body(&body, "replay request")?;
    let result = state.app.replay(&admin.tenant, &id, body.into()).await?;
    Ok(ok(StatusCode::OK, &wire::Replay::from(result)))
}

/// How a binding's shadow fares.
#[utoipa::path(
    get,
    path = "/admin/v1/bindings/{hook}/{binding}/shadow",
    tag = "Bindings",
    operation_id = "get_shadow",
    params(
        ("hook" = Hook, Path, description = "The hook."),
        ("binding" = String, Path, description = "The binding's name."),
    ),
    responses(
        (status = 200, description = "Runs, agreements, disagreements and failures since it started.", body = wire::ShadowReport),
        (status = 404, description = "No such binding, or it has no shadow.", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn get_shadow(
    State(state): State<AppState>,
    admin: Admin,
    P((h, name)): P<(String, String)>,
) -> Result<Response> {
    let report = state
        .app
        .shadow_report(&admin.tenant, hook(&h)?, &name)
        .await?;
    Ok(ok(StatusCode::OK, &wire::ShadowReport::from(report)))
}

/// End a binding's shadow.
#[utoipa::path(
    delete,
    path = "/admin/v1/bindings/{hook}/{binding}/shadow",
    tag = "Bindings",
    operation_id = "delete_shadow",
    params(
        ("hook" = Hook, Path, description = "The hook."),
        ("binding" = String, Path, description = "The binding's name."),
    ),
    responses(
        (status = 204, description = "Ended."),
        (status = 404, description = "No such binding, or it has no shadow.", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct OverviewQuery {
    /// Seconds (default 3600; 300 to 86400).
    window: Option<i64>,
}

/// Calls, refusals, plugin failures and limit hits over a window.
#[utoipa::path(
    get,
    path = "/admin/v1/overview",
    tag = "Decision log",
    operation_id = "overview",
    params(OverviewQuery),
    responses((status = 200, description = "The overview, in 5-minute buckets.", body = wire::Overview))
)]
async fn overview(
    State(state): State<AppState>,
    admin: Admin,
    Q(q): Q<OverviewQuery>,
) -> Result<Response> {
    let overview = state
        .app
        .overview(&admin.tenant, q.window.unwrap_or(3600))
        .await?;
    Ok(ok(StatusCode::OK, &wire::Overview::from(overview)))
}

fn utf8(body: &[u8]) -> Result<&str> {
    std::str::from_utf8(body).map_err(|_| AdminError::BadRequest("the body is not UTF-8".into()))
}

/// The catalogue.
#[utoipa::path(
    get,
    path = "/admin/v1/catalog",
    tag = "Documents",
    operation_id = "get_catalog",
    responses((status = 200, description = "The catalogue (a `ProductTypeCollection`).", body = CatalogDoc))
)]
async fn get_catalog(State(state): State<AppState>, admin: Admin) -> Result<Response> {
    let doc: CatalogDoc = state.app.service_definition(&admin.tenant).await?;
    Ok(ok(StatusCode::OK, &doc))
}

/// Replace the catalogue (a `ProductTypeCollection`).
#[utoipa::path(
    put,
    path = "/admin/v1/catalog",
    tag = "Documents",
    operation_id = "put_catalog",
    request_body(content = CatalogDoc, content_type = "application/json", example = json!({"ProductTypes": [{"ID": "cloudbackup", "Name": "Cloud Backup", "ProductsCollection": {"Products": [{"ID": "cb_basic", "Code": "cb_basic", "Name": "Cloud Backup Basic"}]}}]})),
    responses((status = 200, description = "The catalogue as stored: normalized, every key present.", body = CatalogDoc))
)]
async fn put_catalog(
    State(state): State<AppState>,
    admin: Admin,
    Body(body): Body,
) -> Result<Response> {
    let doc = state.app.put_catalog(&admin.tenant, utf8(&body)?).await?;
    Ok(ok(StatusCode::OK, &doc))
}

/// The setup fields and sync options.
#[utoipa::path(
    get,
    path = "/admin/v1/setup-fields",
    tag = "Documents",
    operation_id = "get_setup_fields",
    responses((status = 200, description = "The setup fields and sync options.", body = SetupDoc))
)]
async fn get_setup(State(state): State<AppState>, admin: Admin) -> Result<Response> {
    let doc: SetupDoc = state.app.setup_document(&admin.tenant).await?;
    Ok(ok(StatusCode::OK, &doc))
}

/// Replace the setup fields and sync options.
#[utoipa::path(
    put,
    path = "/admin/v1/setup-fields",
    tag = "Documents",
    operation_id = "put_setup_fields",
    request_body(content = SetupDoc, content_type = "application/json", example = json!({"Fields": [{"ID": "FieldUsername", "Name": "Username", "Kind": "Text", "MaxLength": 100, "IsRequired": true}], "SyncOptions": [{"ID": "username", "Name": "Username"}]})),
    responses((status = 200, description = "The document as stored: normalized, every key present.", body = SetupDoc))
)]
async fn put_setup(
    State(state): State<AppState>,
    admin: Admin,
    Body(body): Body,
) -> Result<Response> {
    let doc = state
        .app
        .put_setup_fields(&admin.tenant, utf8(&body)?)
        .await?;
    Ok(ok(StatusCode::OK, &doc))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct EventsQuery {
    /// The cursor after which to read (default 0: from the start).
    after: Option<i64>,
    /// At most this many (default 100, at most 1000).
    limit: Option<i64>,
}

/// The provisioning event feed after a cursor.
#[utoipa::path(
    get,
    path = "/admin/v1/events",
    tag = "Provisioning",
    operation_id = "list_events",
    params(EventsQuery),
    responses((status = 200, description = "Events in cursor order and the next cursor.", body = wire::Events))
)]
async fn events(
    State(state): State<AppState>,
    admin: Admin,
    Q(q): Q<EventsQuery>,
) -> Result<Response> {
    let after = q.after.unwrap_or(0);
    let events: Vec<wire::Event> = state
        .app
        .events(&admin.tenant, after, q.limit.unwrap_or(100))
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let next = events.last().map(|e| e.cursor).unwrap_or(after);
    Ok(ok(StatusCode::OK, &wire::Events { events, next }))
}

/// A subscription with its add-ons, resource plans and history.
#[utoipa::path(
    get,
    path = "/admin/v1/subscriptions/{external_id}",
    tag = "Provisioning",
    operation_id = "get_subscription",
    params(
        ("external_id" = String, Path, description = "The external subscription id (Tollgate's)."),
        HistoryQuery,
    ),
    responses(
        (status = 200, description = "The subscription.", body = wire::Subscription),
        (status = 404, description = "No such subscription.", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn subscription(
    State(state): State<AppState>,
    admin: Admin,
    P(id): P<String>,
    Q(q): Q<HistoryQuery>,
) -> Result<Response> {
    let details = state
        .app
        .subscription_details(&admin.tenant, &id, q.page())
        .await?;
    Ok(ok(StatusCode::OK, &wire::Subscription::from(details)))
}

/// Create a tenant; its secrets are answered once.
#[utoipa::path(
    post,
    path = "/admin/v1/tenants",
    tag = "Operator",
    operation_id = "create_tenant",
    request_body(content = wire::NewTenant, content_type = "application/json"),
    responses(
        (status = 201, description = "Created: the secrets, shown this once.", body = wire::TenantSecrets),
        (status = 409, description = "A tenant with this application id exists.", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn create_tenant(
    State(state): State<AppState>,
    _: Operator,
    Body(body): Body,
) -> Result<Response> {
    let b: wire::NewTenant = json_body(&body, "tenant")?;
    let secrets = state
        .app
        .create_tenant(&NewTenantRequest {
            name: b.name,
            application_id: b.application_id,
            api_key: b.api_key,
        })
        .await?;
    Ok(ok(StatusCode::CREATED, &wire::TenantSecrets::from(secrets)))
}

/// Rotate a tenant's API key.
#[utoipa::path(
    post,
    path = "/admin/v1/tenants/{id}/api-key",
    tag = "Operator",
    operation_id = "rotate_api_key",
    params(("id" = String, Path, description = "The tenant's id.")),
    request_body(content = Option<wire::ApiKeyRotation>, description = "Optional.", content_type = "application/json"),
    responses(
        (status = 200, description = "The new key.", body = wire::RotatedApiKey),
        (status = 404, description = "No such tenant.", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn rotate_api_key(
    State(state): State<AppState>,
    _: Operator,
    P(id): P<String>,
    Body(body): Body,
) -> Result<Response> {
    let b: wire::ApiKeyRotation = optional_json_body(&body, "rotation request")?;
    let key = state
        .app
        .rotate_api_key(&id, b.api_key.as_deref(), b.keep_previous)
        .await?;
    Ok(ok(
        StatusCode::OK,
        &wire::RotatedApiKey {
            tenant_id: id,
            api_key: key,
            previous_key_valid: b.keep_previous,
        },
    ))
}

/// Rotate a tenant's admin token.
#[utoipa::path(
    post,
    path = "/admin/v1/tenants/{id}/admin-token",
    tag = "Operator",
    operation_id = "rotate_admin_token",
    params(("id" = String, Path, description = "The tenant's id.")),
    responses(
        (status = 200, description = "The new token.", body = wire::RotatedAdminToken),
        (status = 404, description = "No such tenant.", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn rotate_admin_token(
    State(state): State<AppState>,
    _: Operator,
    P(id): P<String>,
) -> Result<Response> {
    let token = state.app.rotate_admin_token(&id).await?;
    Ok(ok(
        StatusCode::OK,
        &wire::RotatedAdminToken {
            tenant_id: id,
            admin_token: token,
        },
    ))
}

/// Set a tenant's per-call limits and quotas (an empty body: the defaults).
#[utoipa::path(
    put,
    path = "/admin/v1/tenants/{id}/limits",
    tag = "Operator",
    operation_id = "set_tenant_limits",
    params(("id" = String, Path, description = "The tenant's id.")),
    request_body(content = Option<wire::TenantLimits>, description = "Optional: absent or `null` restores the defaults.", content_type = "application/json"),
    responses(
        (status = 200, description = "The limits now in force.", body = wire::TenantLimitsSet),
        (status = 404, description = "No such tenant.", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn set_limits(
    State(state): State<AppState>,
    _: Operator,
    P(id): P<String>,
    Body(body): Body,
) -> Result<Response> {
    let limits: Option<wire::TenantLimits> = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        json_body(&body, "limits")?
    };
    state
        .app
        .set_tenant_limits(&id, limits.map(Into::into))
        .await?;
    Ok(ok(
        StatusCode::OK,
        &wire::TenantLimitsSet {
            tenant_id: id,
            limits,
        },
    ))
}
