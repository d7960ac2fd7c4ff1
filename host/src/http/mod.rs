//! The HTTP layer: the one module that knows HTTP and the platform's JSON.
//! It authenticates, parses, calls the service layer and renders answers:
//! the Service Manager API (`/api/...`, spec envelopes), the tenant admin
//! API (`/admin/v1/...`, problem+json), health, metrics and the docs.

mod admin;
mod console;
mod envelope;
pub mod json;
pub mod lenient;
mod openapi;
mod sm_docs;
pub mod wire;

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
    /// Time a client has to send a request's headers; also how long an
    /// idle keep-alive connection stays open.
    pub header_timeout: Duration,
    /// Time a client has to send a request's body.
    pub body_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            body_limit: 1024 * 1024,
            base_path: String::new(),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
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
        let limits = req
            .extensions()
            .get::<BodyLimits>()
            .cloned()
            .unwrap_or_default();
        // A route's own limit (uploads) wins.
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map_or(limits.bytes, |l| l.0);
        let admin = req.uri().path().starts_with("/admin");
        match read_body(req, limit, limits.timeout).await {
            Ok(bytes) => Ok(Body(bytes)),
            Err(refusal) => {
                if let (Refusal::Timeout(_), Some(metrics)) = (&refusal, &limits.metrics) {
                    metrics.budget_refused(crate::service::Budget::BodyTimeout);
                }
                Err(refusal.into_response(admin))
            }
        }
    }
}

/// Why a body was not accepted.
enum Refusal {
    /// Over this many bytes.
    TooLarge(usize),
    /// Not all there within this long.
    Timeout(Duration),
    /// The connection failed while reading it.
    Unreadable(String),
}

impl Refusal {
    /// problem+json under `/admin`, the platform's envelope elsewhere.
    fn into_response(self, admin: bool) -> Response {
        match self {
            Refusal::TooLarge(limit) if admin => admin::problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too large",
                &format!(
                    "The request body is larger than the {limit}-byte limit of this endpoint."
                ),
            ),
            Refusal::TooLarge(limit) => envelope::ApiError::TooLarge(limit).into_response(),
            Refusal::Timeout(timeout) => {
                let detail = format!(
                    "The request body was not received within {} s.",
                    timeout.as_secs()
                );
                if admin {
                    admin::problem(StatusCode::REQUEST_TIMEOUT, "Request timeout", &detail)
                } else {
                    envelope::ApiError::Timeout(detail).into_response()
                }
            }
            Refusal::Unreadable(e) => {
                let detail = format!("The request body could not be read: {e}");
                if admin {
                    admin::problem(StatusCode::BAD_REQUEST, "Invalid request", &detail)
                } else {
                    envelope::ApiError::BadRequest(detail).into_response()
                }
            }
        }
    }
}

/// Read at most `limit` bytes within `timeout`. A body a little over the
/// limit is drained (up to `DRAIN_FACTOR` times it) so the client reads
/// the refusal instead of a reset connection.
async fn read_body(req: Request, limit: usize, timeout: Duration) -> Result<Bytes, Refusal> {
    use http_body_util::BodyExt;
    let drain_limit = limit.saturating_mul(DRAIN_FACTOR);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > drain_limit) {
        return Err(Refusal::TooLarge(limit));
    }
    let mut body = req.into_body();
    let mut bytes = Vec::new();
    let mut seen = 0usize;
    let deadline = tokio::time::Instant::now() + timeout;
    while let Some(frame) = tokio::time::timeout_at(deadline, body.frame())
        .await
        .map_err(|_| Refusal::Timeout(timeout))?
    {
        let frame = frame.map_err(|e| Refusal::Unreadable(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            seen = seen.saturating_add(data.len());
            if seen > drain_limit {
                return Err(Refusal::TooLarge(limit));
            }
            if seen <= limit {
                bytes.extend_from_slice(&data);
            }
        }
    }
    if seen > limit {
        return Err(Refusal::TooLarge(limit));
    }
    Ok(Bytes::from(bytes))
}

/// The limits `Body` enforces: set for every route; a route that needs a
/// bigger body (uploads) sets its own `BodyLimit`.
#[derive(Clone)]
pub(crate) struct BodyLimits {
    bytes: usize,
    timeout: Duration,
    metrics: Option<Arc<crate::service::Metrics>>,
}

impl Default for BodyLimits {
    fn default() -> Self {
        BodyLimits {
            bytes: 1024 * 1024,
            timeout: Duration::from_secs(30),
            metrics: None,
        }
    }
}

/// A route's own body size limit (uploads).
#[derive(Clone, Copy)]
pub(crate) struct BodyLimit(pub usize);

/// The whole HTTP application, with path normalization in front of the
/// router (so it applies before routing).
pub fn router(app: Arc<App>, config: HttpConfig) -> Router {
    let state = AppState {
        app,
        config: config.clone(),
    };
    let inner = routes(admin::routes(&state))
        .fallback(not_found)
        .layer(middleware::from_fn(errors_in_body))
        .layer(middleware::from_fn_with_state(
            BodyLimits {
                bytes: config.body_limit,
                timeout: config.body_timeout,
                metrics: Some(state.app.metrics().clone()),
            },
            set_body_limits,
        ))
        .with_state(state);
    let base = config.base_path.trim_end_matches('/').to_string();
    Router::new().fallback_service(
        tower::util::MapRequestLayer::new(move |req| normalize(req, &base)).layer(inner),
    )
}

/// Every route the server has (the admin API's from `admin`, with its
/// layers); `router` adds the fallback and the layers around them all.
fn routes(admin: Router<AppState>) -> Router<AppState> {
    Router::new()
        .merge(sm::routes().layer(middleware::from_fn(track_id)))
        .merge(admin)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi::document))
        .route("/docs", get(openapi::docs))
        .route("/console", get(console::file))
        .route("/console/", get(console::file))
        .route("/console/{*path}", get(console::file))
}

/// The path templates of every route `router` serves, as axum holds them
/// (the `contract` test checks each against the OpenAPI document). axum
/// has no API that lists routes; its `Debug` of a router names each
/// route's path, which is what this reads (the test fails loudly if that
/// format changes).
#[doc(hidden)]
pub fn routed_paths() -> Vec<String> {
    let (admin, _) = admin::openapi_router(0).split_for_parts();
    let text = format!("{:?}", routes(admin));
    // `Router { path_router: …, fallback_router: …, … }`: the routes are
    // the first part's (the fallback router's are axum's own).
    let routes = text.split("fallback_router:").next().unwrap_or_default();
    let mut paths: Vec<String> = routes
        .split("RouteId(")
        .skip(1)
        .filter_map(|part| {
            let rest = part.trim_start_matches(|c: char| c.is_ascii_digit());
            let path = rest.strip_prefix("): \"")?;
            Some(path.split('"').next()?.to_string())
        })
        .collect();
    paths.sort_unstable();
    paths.dedup();
    paths
}

async fn set_body_limits(
    axum::extract::State(limits): axum::extract::State<BodyLimits>,
    mut req: Request,
    next: Next,
) -> Response {
    req.extensions_mut().insert(limits);
    next.run(req).await
}

/// Spec §2.2: strip the base path, tolerate one trailing slash, and match
/// `/api/...` paths ignoring case. Works on bytes: a path may hold raw
/// non-ASCII bytes, and slicing a `str` inside a character would panic.
fn normalize(mut req: Request, base: &str) -> Request {
    let path = req.uri().path();
    let mut p = path.as_bytes();
    let base = base.as_bytes();
    if !base.is_empty()
        && p.len() >= base.len()
        && p[..base.len()].eq_ignore_ascii_case(base)
        && (p.len() == base.len() || p[base.len()] == b'/')
    {
        p = &p[base.len()..];
    }
    // The console's index is `/console/` (its relative links need the
    // slash): only other paths lose one trailing slash.
    if p.len() > 1 && p.ends_with(b"/") && p != b"/console/" {
        p = &p[..p.len() - 1];
    }
    let p: &[u8] = if p.is_empty() { b"/" } else { p };
    let is_api =
        p.len() >= 4 && p[..4].eq_ignore_ascii_case(b"/api") && (p.len() == 4 || p[4] == b'/');
    let new_path = if is_api {
        p.to_ascii_lowercase()
    } else {
        p.to_vec()
    };
    if new_path != path.as_bytes() {
        let mut uri = new_path;
        if let Some(q) = req.uri().query() {
            uri.push(b'?');
            uri.extend_from_slice(q.as_bytes());
        }
        if let Ok(uri) = Uri::try_from(uri) {
            *req.uri_mut() = uri;
        }
    }
    req
}

/// The platform's TrackId (a short printable value), or a fresh one.
fn track_id_of(headers: &axum::http::HeaderMap) -> String {
    headers
        .get("x-cloudplatform-trackid")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().hyphenated().to_string())
}

async fn track_id(mut req: Request, next: Next) -> Response {
    let id = track_id_of(req.headers());
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
    // Spec §2.7: every /api answer echoes the TrackId, unknown paths too.
    let track = is_api.then(|| track_id_of(req.headers()));
    let response = next.run(req).await;
    let status = response.status();
    let empty = response.headers().get(header::CONTENT_TYPE).is_none();
    if !(empty && (status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED)) {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let track = track.clone();
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
    if let Some(value) = track.and_then(|t| HeaderValue::from_str(&t).ok()) {
        replaced
            .headers_mut()
            .insert("x-cloudplatform-trackid", value);
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
    let mut response = state.app.render_metrics().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// Serve until `shutdown` resolves, then finish in-flight requests and
/// write pending decision records (mini-redis style: the caller owns the
/// listener and the shutdown signal, so tests run on `127.0.0.1:0`).
///
/// Each connection is served by hyper with a header read timeout (which is
/// also the keep-alive idle timeout); at most `max_connections` are served
/// at once, and further ones wait in the listen backlog.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    config: HttpConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router(app.clone(), config.clone());
    let pruning = tokio::spawn(prune_periodically(app.clone(), PRUNE_EVERY));
    let connections = Arc::new(tokio::sync::Semaphore::new(config.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(config.header_timeout);
    tokio::pin!(shutdown);
    let result = loop {
        let permit = match connections.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                app.metrics()
                    .budget_refused(crate::service::Budget::Connections);
                tokio::select! {
                    permit = connections.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break Ok(()),
                    },
                    () = &mut shutdown => break Ok(()),
                }
            }
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // A transient accept error (e.g. out of file descriptors):
                // keep serving the connections we have.
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break Ok(()),
        };
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let connection =
            graceful.watch(http.serve_connection(hyper_util::rt::TokioIo::new(stream), service));
        let metrics = app.metrics().clone();
        tokio::spawn(async move {
            metrics.connection_opened();
            if let Err(e) = connection.await
                && e.is_timeout()
            {
                metrics.budget_refused(crate::service::Budget::HeaderTimeout);
            }
            metrics.connection_closed();
            drop(permit);
        });
    };
    drop(listener);
    // In-flight requests finish; idle connections close.
    if tokio::time::timeout(Duration::from_secs(30), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open 30 s after shutdown began");
    }
    pruning.abort();
    app.shutdown().await;
    result
}

/// How often `serve` prunes decision records and events (the first time
/// as it starts).
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Prune decision records and events now and then every `every`.
async fn prune_periodically(app: Arc<App>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match app.prune().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(records = n, "pruned old decision records and events"),
            Err(e) => tracing::warn!(error = %e, "pruning decision records failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The retention loop prunes as it starts and then again at every
    /// period, each time by the clock of that moment.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_retention_loop_prunes_at_start_and_then_every_period() {
        use crate::domain::hook::Operation;
        use crate::domain::interworks::{Account, ServiceDefinition};
        use crate::service::{AppConfig, CallContext, NewTenantRequest};
        use std::sync::atomic::{AtomicI64, Ordering};
        const DAY: i64 = 86_400_000;
        assert_eq!(PRUNE_EVERY, Duration::from_secs(3600), "README: hourly");
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            crate::store::Store::open_data_dir(dir.path())
                .await
                .unwrap(),
        );
        let now = Arc::new(AtomicI64::new(1_764_201_600_000));
        let clock = now.clone();
        let config = AppConfig {
            retention_days: 1,
            ..AppConfig::default()
        };
        let app = App::new(
            store.clone(),
            config,
            Arc::new(move || clock.load(Ordering::SeqCst)),
        )
        .unwrap();
        let secrets = app
            .create_tenant(&NewTenantRequest {
                name: "Pruned".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let tenant = app
            .claim(
                Some(&secrets.application_id),
                Some(&base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    &secrets.api_key,
                )),
            )
            .await
            .unwrap()
            .unwrap();
        let call = |n: usize| {
            let (app, tenant) = (app.clone(), &tenant);
            async move {
                let def = ServiceDefinition {
                    platform_subscription_id: format!("p-{n}"),
                    product_id: "cb_basic".into(),
                    quantity: 1,
                    check_only: true,
                    account: Account {
                        id: "1".into(),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                app.answer_call(
                    tenant,
                    Operation::SubscriptionCreate,
                    def,
                    &CallContext::default(),
                )
                .await
                .unwrap();
                app.flush_decisions().await;
            }
        };
        let kept = || {
            let store = store.clone();
            let id = secrets.tenant_id.clone();
            async move { store.calls(&id, 100).await.unwrap().len() }
        };
        let until_kept = |n: usize| async move {
            let started = std::time::Instant::now();
            while kept().await != n {
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "still not {n} records"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        // Two days old when the loop starts: pruned by its first round.
        call(1).await;
        now.fetch_add(2 * DAY, Ordering::SeqCst);
        call(2).await;
        assert_eq!(kept().await, 2);
        let every = Duration::from_millis(50);
        let pruning = tokio::spawn(prune_periodically(app.clone(), every));
        until_kept(1).await;
        // Aged again later: a later round prunes it too.
        now.fetch_add(2 * DAY, Ordering::SeqCst);
        call(3).await;
        until_kept(1).await;
        pruning.abort();
    }

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

    #[test]
    fn non_ascii_paths_never_panic() {
        // Percent-decoded or raw, multi-byte characters sit where the
        // normalizer compares prefixes.
        for uri in [
            "/ab%C3%A9",
            "/%C3%A9",
            "/api%C3%A9/x",
            "/é",
            "/aé",
            "/apé/x",
        ] {
            if let Ok(req) = Request::builder().uri(uri).body(axum::body::Body::empty()) {
                let _ = normalize(req, "/bé");
            }
        }
    }
}
