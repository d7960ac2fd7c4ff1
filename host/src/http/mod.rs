//! The HTTP layer: the one module that knows HTTP and the platform's JSON.
//! It authenticates, parses, calls the service layer and renders answers:
//! the Service Manager API (`/api/...`, spec envelopes), the tenant admin
//! API (`/admin/v1/...`, problem+json), health, metrics and the docs.

mod admin;
mod envelope;
pub mod lenient;
mod openapi;

/// The OpenAPI document served at `/openapi.json`.
pub fn openapi_spec() -> serde_json::Value {
    openapi::spec()
}
mod sm;

use crate::service::App;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Router, body::Bytes};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tower::Layer;

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest request body of the Service Manager and admin JSON APIs.
    pub body_limit: usize,
    /// A prefix the server is mounted under (e.g. `/backup`), stripped
    /// before routing.
    pub base_path: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            body_limit: 1024 * 1024,
            base_path: String::new(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    pub config: HttpConfig,
}

/// The platform's `X-CloudPlatform-TrackId`, or a fresh one (spec §2.7).
#[derive(Debug, Clone)]
pub struct TrackId(pub String);

/// The raw body, with size and read failures mapped to the envelope.
///
/// An oversize body is read on (and discarded) up to [`DRAIN_FACTOR`] times
/// the limit before the 413 goes out: a client that sends the whole body
/// then reads a clean answer instead of a reset connection.
pub struct Body(pub Bytes);

const DRAIN_FACTOR: usize = 8;

impl<S: Send + Sync> FromRequest<S> for Body {
    /// The envelope under `/api`, problem+json under `/admin`.
    type Rejection = Response;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        use http_body_util::BodyExt;
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map_or(1024 * 1024, |l| l.0);
        let admin = req.uri().path().starts_with("/admin");
        let too_large = || {
            if admin {
                admin::problem(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Too large",
                    &format!(
                        "The request body is larger than the {limit}-byte limit of this endpoint."
                    ),
                )
            } else {
                envelope::ApiError::TooLarge(limit).into_response()
            }
        };
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > limit.saturating_mul(DRAIN_FACTOR)) {
            return Err(too_large());
        }
        let mut body = req.into_body();
        let mut bytes = Vec::new();
        let mut seen = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                let detail = format!("The request body could not be read: {e}");
                if admin {
                    admin::problem(StatusCode::BAD_REQUEST, "Invalid request", &detail)
                } else {
                    envelope::ApiError::BadRequest(detail).into_response()
                }
            })?;
            if let Ok(data) = frame.into_data() {
                seen = seen.saturating_add(data.len());
                if seen > limit.saturating_mul(DRAIN_FACTOR) {
                    return Err(too_large());
                }
                if seen <= limit {
                    bytes.extend_from_slice(&data);
                }
            }
        }
        if seen > limit {
            return Err(too_large());
        }
        Ok(Body(Bytes::from(bytes)))
    }
}

/// The body limit `Body` enforces; set for every route, overridden by a
/// route that needs its own (uploads).
#[derive(Clone, Copy)]
pub(crate) struct BodyLimit(pub usize);

/// The whole HTTP application, with path normalization in front of the
/// router (so it applies before routing).
pub fn router(app: Arc<App>, config: HttpConfig) -> Router {
    let state = AppState {
        app,
        config: config.clone(),
    };
    let api = sm::routes().layer(middleware::from_fn(track_id));
    let admin = admin::routes(&state);
    let inner = Router::new()
        .merge(api)
        .merge(admin)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi::document))
        .route("/docs", get(openapi::docs))
        .fallback(not_found)
        .layer(middleware::from_fn(errors_in_body))
        .layer(middleware::from_fn_with_state(
            BodyLimit(config.body_limit),
            set_body_limit,
        ))
        .with_state(state);
    let base = config.base_path.trim_end_matches('/').to_string();
    Router::new().fallback_service(
        tower::util::MapRequestLayer::new(move |req| normalize(req, &base)).layer(inner),
    )
}

async fn set_body_limit(
    axum::extract::State(limit): axum::extract::State<BodyLimit>,
    mut req: Request,
    next: Next,
) -> Response {
    req.extensions_mut().insert(limit);
    next.run(req).await
}

/// Spec §2.2: strip the base path, tolerate one trailing slash, and match
/// `/api/...` paths ignoring case.
fn normalize(mut req: Request, base: &str) -> Request {
    let path = req.uri().path();
    let mut p = path;
    if !base.is_empty()
        && p.len() >= base.len()
        && p[..base.len()].eq_ignore_ascii_case(base)
        && (p.len() == base.len() || p.as_bytes()[base.len()] == b'/')
    {
        p = &p[base.len()..];
    }
    let p = if p.len() > 1 && p.ends_with('/') {
        &p[..p.len() - 1]
    } else {
        p
    };
    let p = if p.is_empty() { "/" } else { p };
    let is_api = p.len() >= 4
        && p[..4].eq_ignore_ascii_case("/api")
        && (p.len() == 4 || p.as_bytes()[4] == b'/');
    let new_path = if is_api {
        p.to_ascii_lowercase()
    } else {
        p.to_string()
    };
    if new_path != path {
        let uri = match req.uri().query() {
            Some(q) => format!("{new_path}?{q}"),
            None => new_path,
        };
        if let Ok(uri) = uri.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    req
}

async fn track_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-cloudplatform-trackid")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().hyphenated().to_string());
    req.extensions_mut().insert(TrackId(id.clone()));
    let span = tracing::info_span!("call", track_id = %id, path = %req.uri().path());
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let mut response = tracing::Instrument::instrument(next.run(req), span).await;
    tracing::info!(track_id = %id, %method, %path, status = response.status().as_u16(),
        duration_us = started.elapsed().as_micros() as u64, "platform call");
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert("x-cloudplatform-trackid", value);
    }
    response
}

/// Unknown paths and wrong methods get a body in the right shape: the
/// envelope under `/api`, problem+json elsewhere.
async fn errors_in_body(req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api");
    let response = next.run(req).await;
    let status = response.status();
    let empty = response.headers().get(header::CONTENT_TYPE).is_none();
    if !(empty && (status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED)) {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut replaced = if is_api {
        if status == StatusCode::NOT_FOUND {
            envelope::ApiError::NotFound
        } else {
            envelope::ApiError::MethodNotAllowed
        }
        .into_response()
    } else if status == StatusCode::NOT_FOUND {
        admin::problem(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such endpoint.",
        )
    } else {
        admin::problem(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed",
            "This endpoint does not accept this HTTP method.",
        )
    };
    if let Some(allow) = allow {
        replaced.headers_mut().insert(header::ALLOW, allow);
    }
    replaced
}

async fn not_found() -> StatusCode {
    StatusCode::NOT_FOUND
}

async fn healthz() -> Response {
    envelope::json_response(StatusCode::OK, &serde_json::json!({"status": "ok"}))
}

/// Ready when the database answers.
async fn readyz(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    match tokio::time::timeout(Duration::from_secs(2), state.app.store().ping()).await {
        Ok(Ok(())) => {
            envelope::json_response(StatusCode::OK, &serde_json::json!({"status": "ready"}))
        }
        Ok(Err(e)) => envelope::json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({"status": "not ready", "reason": e.to_string()}),
        ),
        Err(_) => envelope::json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({"status": "not ready", "reason": "the database did not answer within 2 s"}),
        ),
    }
}

async fn metrics(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    let mut response = state.app.metrics().render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// Serve until `shutdown` resolves, then finish in-flight requests and
/// write pending decision records (mini-redis style: the caller owns the
/// listener and the shutdown signal, so tests run on `127.0.0.1:0`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    config: HttpConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router(app.clone(), config);
    let pruning = {
        let app = app.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(3600));
            loop {
                tick.tick().await;
                match app.prune().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(records = n, "pruned old decision records"),
                    Err(e) => tracing::warn!(error = %e, "pruning decision records failed"),
                }
            }
        })
    };
    let result = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await;
    pruning.abort();
    app.shutdown().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_of(uri: &str, base: &str) -> String {
        let req = Request::builder()
            .uri(uri)
            .body(axum::body::Body::empty())
            .unwrap();
        normalize(req, base).uri().to_string()
    }

    #[test]
    fn api_paths_ignore_case_base_path_and_one_trailing_slash() {
        assert_eq!(
            path_of("/API/Subscriptions/Create", ""),
            "/api/subscriptions/create"
        );
        assert_eq!(
            path_of("/api/accounts/synchronize/?checkonly=true", ""),
            "/api/accounts/synchronize?checkonly=true"
        );
        assert_eq!(
            path_of("/backup/api/Accounts/Synchronize", "/backup"),
            "/api/accounts/synchronize"
        );
        assert_eq!(
            path_of("/admin/v1/plugins/MyPlugin/versions", ""),
            "/admin/v1/plugins/MyPlugin/versions"
        );
        assert_eq!(path_of("/apix/Thing", ""), "/apix/Thing");
    }
}
