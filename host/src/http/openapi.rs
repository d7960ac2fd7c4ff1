//! The OpenAPI document of every route (`/openapi.json`) and a docs page
//! that renders it (`/docs`) with nothing fetched from elsewhere.
//!
//! The document is derived, not written: the admin API's operations come
//! from its handlers' `#[utoipa::path]` annotations through the same
//! `OpenApiRouter` that routes them, the Service Manager API's from
//! `sm_docs`, and every schema from the `ToSchema` derive of the Rust type
//! that (de)serializes the body (`wire`, `codec`). `finish` adds what every
//! operation of an API shares: its security and its standard error answers.
//! `docs/openapi.json` is a committed snapshot (the `contract` test fails
//! when the two differ), and the `operations` end-to-end test checks that
//! every documented path and method is routed.

use super::envelope::json_response;
use super::wire::admin::Problem;
use super::wire::platform::*;
use super::{admin, sm_docs};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use std::sync::OnceLock;
use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, ObjectBuilder, RefOr, ResponseBuilder, SecurityRequirement, Type,
};

/// `/healthz` and `/readyz`.
#[derive(Serialize, utoipa::ToSchema)]
struct Health {
    /// `ok`, `ready` or `not ready`.
    status: String,
    /// Why it is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "Operations",
    operation_id = "healthz",
    summary = "Liveness",
    description = "The process is alive (it checks nothing else).",
    responses((status = 200, description = "Alive.", body = Health, example = json!({"status": "ok"})))
)]
#[allow(dead_code)] // documentation only: the route is in `http`
fn healthz() {}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "Operations",
    operation_id = "readyz",
    summary = "Readiness",
    description = "Ready when the database answers (within 2 s): route load-balancer health checks here.",
    responses(
        (status = 200, description = "Ready.", body = Health, example = json!({"status": "ready"})),
        (status = 503, description = "Not ready; `reason` says why.", body = Health),
    )
)]
#[allow(dead_code)] // documentation only: the route is in `http`
fn readyz() {}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "Operations",
    operation_id = "metrics",
    summary = "Prometheus metrics",
    description = "The OpenMetrics text exposition format.",
    responses((status = 200, description = "Metrics.", body = String, content_type = "application/openmetrics-text"))
)]
#[allow(dead_code)] // documentation only: the route is in `http`
fn metrics() {}

#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "Operations",
    operation_id = "openapi",
    summary = "This document",
    responses((status = 200, description = "The OpenAPI document.", body = Object))
)]
#[allow(dead_code)] // documentation only: the route is in `http`
fn openapi() {}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tollgate",
        description = "A Service Manager for the interworks.cloud platform whose business rules are tenant-uploaded WebAssembly plugins.\n\n**Service Manager API** (`/api/...`): the platform's calls, authenticated by `X-CloudPlatform-ApplicationId` and `X-CloudPlatform-APIKey` (Base64 of the key); settings travel in `X-CloudPlatform-Setting-<field>` headers. Paths match ignoring case and tolerate one trailing slash. Business outcomes are always HTTP 200 with a `Code` (0 = success); `Message` is a sentence for the user.\n\n**Admin API** (`/admin/v1/...`): the tenant's plugins, bindings, decision log and documents, with its admin token (`Authorization: Bearer …`); errors are `application/problem+json`. The operator endpoints (`/admin/v1/tenants...`) take the operator token and exist only when the server runs with `--operator-token`.",
    ),
    paths(
        sm_docs::fields_get,
        sm_docs::fields_validate,
        sm_docs::fields_service_definition,
        sm_docs::fields_additional_info,
        sm_docs::accounts_sync_options,
        sm_docs::accounts_synchronize,
        sm_docs::accounts_exists,
        sm_docs::accounts_delete,
        sm_docs::accounts_is_reseller,
        sm_docs::subscriptions_create,
        sm_docs::subscriptions_update,
        sm_docs::subscriptions_cancel,
        sm_docs::subscriptions_suspend,
        sm_docs::subscriptions_activate,
        sm_docs::subscriptions_upgrade_to_paid,
        sm_docs::subscriptions_upgrade_downgrade,
        sm_docs::addons_create,
        sm_docs::addons_update,
        sm_docs::addons_cancel,
        sm_docs::ppu_usages,
        sm_docs::ppu_billing_items,
        sm_docs::users,
        sm_docs::assets_create,
        sm_docs::assets_update,
        sm_docs::assets_cancel,
        healthz,
        readyz,
        metrics,
        openapi,
    ),
    components(schemas(ResultDefinition, Problem)),
    tags(
        (name = "Settings and catalogue", description = "What the platform reads of the service's setup (Service Manager API)."),
        (name = "Accounts", description = "Customers (Service Manager API)."),
        (name = "Subscriptions and add-ons", description = "Every call runs the quantity limits and pre-check rules; real calls then compute the resource plan and commit (Service Manager API). Check mode decides and writes nothing."),
        (name = "Not supported", description = "Endpoints of the spec this service answers with Code -1."),
        (name = "Plugins", description = "Upload, list and delete plugin versions (admin API)."),
        (name = "Bindings", description = "Which plugin version runs for which hook, scope and config; rollback and shadows (admin API)."),
        (name = "Decision log", description = "Every plugin run with its input and output; replay, dry runs and the overview (admin API)."),
        (name = "Documents", description = "The catalogue and the setup fields the platform reads (admin API)."),
        (name = "Provisioning", description = "The event feed and the subscriptions' state (admin API)."),
        (name = "Operator", description = "Tenants and their secrets and limits (operator token)."),
        (name = "Operations", description = "Health, readiness, metrics and this document."),
    ),
)]
struct ApiDoc;

/// The OpenAPI 3.1 document.
pub fn document_model() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc.info.license = None;
    doc.info.contact = None;
    let (_, admin_api) = admin::openapi_router(0).split_for_parts();
    doc.merge(admin_api);
    finish(&mut doc);
    doc
}

/// The document as JSON (built once).
pub fn spec() -> Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let mut doc = serde_json::to_value(document_model()).unwrap_or(Value::Null);
        drop_object_defaults(&mut doc);
        doc
    })
    .clone()
}

/// A `#[serde(default)]` struct gives each of its fields the default value,
/// nested objects included; a default beside a `$ref` (or a `oneOf` of one)
/// says nothing the referenced schema does not, and generators refuse it.
fn drop_object_defaults(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if ["$ref", "oneOf", "allOf"]
                .iter()
                .any(|k| map.contains_key(*k))
            {
                map.remove("default");
            }
            map.values_mut().for_each(drop_object_defaults);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_object_defaults),
        _ => {}
    }
}

fn problem(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "Problem",
                ))))
                .build(),
        )
        .into()
}

fn envelope(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "ResultDefinition",
                ))))
                .build(),
        )
        .into()
}

/// Add a response unless the operation documents its own for that status.
fn add(op: &mut Operation, status: &str, response: RefOr<utoipa::openapi::Response>) {
    op.responses
        .responses
        .entry(status.to_string())
        .or_insert(response);
}

fn takes_body(op: &Operation) -> bool {
    op.request_body.is_some()
}

fn has_params(op: &Operation) -> bool {
    op.parameters.as_ref().is_some_and(|p| !p.is_empty())
}

/// What every operation of an API shares: security, the standard error
/// answers; and binary uploads described as such.
/// `X-CloudPlatform-TrackId`, optional on every Service Manager call.
fn track_id_header() -> utoipa::openapi::path::Parameter {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    utoipa::openapi::path::ParameterBuilder::new()
        .name("X-CloudPlatform-TrackId")
        .parameter_in(utoipa::openapi::path::ParameterIn::Header)
        .required(utoipa::openapi::Required::False)
        .description(Some(
            "A GUID identifying the call; echoed back, generated when absent.",
        ))
        .schema(Some(
            ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null])),
        ))
        .build()
}

fn finish(doc: &mut utoipa::openapi::OpenApi) {
    security_schemes(doc.components.get_or_insert_with(Default::default));
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [
            item.get.as_mut(),
            item.put.as_mut(),
            item.post.as_mut(),
            item.delete.as_mut(),
        ];
        for op in ops.into_iter().flatten() {
            if path.starts_with("/api/") {
                platform_answers(op);
            } else if path.starts_with("/admin/") {
                admin_answers(path, op);
            }
            sort_responses(op);
        }
    }
    binary_uploads(doc);
}

/// The four ways a caller proves who it is.
fn security_schemes(components: &mut utoipa::openapi::Components) {
    components.add_security_scheme(
        "applicationId",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-CloudPlatform-ApplicationId",
            "The installation's Application Id (a GUID).",
        ))),
    );
    components.add_security_scheme(
        "apiKey",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-CloudPlatform-APIKey",
            "Base64 of the installation's API key.",
        ))),
    );
    components.add_security_scheme(
        "adminToken",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("The tenant's admin token."))
                .build(),
        ),
    );
    components.add_security_scheme(
        "operatorToken",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("The operator token (`--operator-token`)."))
                .build(),
        ),
    );
}

/// What every platform call may answer besides its own result: the
/// TrackId header, its authentication and the envelope's refusals.
fn platform_answers(op: &mut utoipa::openapi::path::Operation) {
    // Every platform call may carry a TrackId (echoed back).
    op.parameters
        .get_or_insert_with(Vec::new)
        .insert(0, track_id_header());
    op.security = Some(vec![
        SecurityRequirement::new("applicationId", Vec::<String>::new())
            .add("apiKey", Vec::<String>::new()),
    ]);
    if takes_body(op) {
        add(
            op,
            "400",
            envelope(
                "The body is not JSON or a value has the wrong type (Code -2, naming the field).",
            ),
        );
        add(
            op,
            "408",
            envelope("The body did not arrive in time (Code -2)."),
        );
        add(
            op,
            "413",
            envelope("The body is larger than the limit (1 MiB by default; Code -2)."),
        );
    }
    add(
        op,
        "401",
        envelope("Authorization failed: the same answer for every cause (Code -1)."),
    );
    add(
        op,
        "500",
        envelope("Unexpected internal error (Code -1), logged with the TrackId."),
    );
    add(
        op,
        "503",
        envelope(
            "Overloaded: a plugin queue bound, the answer deadline, a subscription changed by many calls at once, or the database file locked by another process (Code -4, with Retry-After); nothing was written.",
        ),
    );
}

/// What every admin call may answer: its token scheme and the
/// problem+json refusals.
fn admin_answers(path: &str, op: &mut utoipa::openapi::path::Operation) {
    let operator = path.starts_with("/admin/v1/tenants");
    let scheme = if operator {
        "operatorToken"
    } else {
        "adminToken"
    };
    op.security = Some(vec![SecurityRequirement::new(scheme, Vec::<String>::new())]);
    if takes_body(op) || has_params(op) {
        add(
            op,
            "400",
            problem("The request is invalid (the detail says why)."),
        );
    }
    if takes_body(op) {
        add(op, "408", problem("The body did not arrive in time."));
        add(op, "413", problem("The body is larger than the limit."));
    }
    add(
        op,
        "401",
        problem(if operator {
            "The operator token is missing or wrong, or operator access is disabled."
        } else {
            "The admin token is missing or unknown."
        }),
    );
    add(
        op,
        "500",
        problem("An internal error occurred; it has been logged."),
    );
}

/// Responses in status order (a stable document).
fn sort_responses(op: &mut Operation) {
    let mut entries: Vec<_> = std::mem::take(&mut op.responses.responses)
        .into_iter()
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    op.responses.responses.extend(entries);
}

/// A request body of raw bytes is `type: string, format: binary` under
/// every content type (what generators expect of an upload).
fn binary_uploads(doc: &mut utoipa::openapi::OpenApi) {
    let binary = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Binary,
        )))
        .build();
    for item in doc.paths.paths.values_mut() {
        if let Some(RequestBody { content, .. }) =
            item.post.as_mut().and_then(|op| op.request_body.as_mut())
        {
            for (media, c) in content.iter_mut() {
                if media == "application/wasm" || media == "application/octet-stream" {
                    c.schema = Some(RefOr::T(binary.clone().into()));
                }
            }
        }
    }
}

pub async fn document() -> Response {
    json_response(StatusCode::OK, &spec())
}

/// A self-contained page rendering `/openapi.json`: no script or style is
/// fetched from anywhere else.
pub async fn docs() -> Response {
    let mut response = DOCS_PAGE.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
        ),
    );
    response
}

const DOCS_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tollgate API</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2230;background:#fafbfc}
header{background:#1d2230;color:#fff;padding:18px 32px}header h1{margin:0;font-size:22px}
header p{margin:6px 0 0;max-width:1000px;color:#d5dae3}
main{max-width:1100px;margin:0 auto;padding:16px 32px}
h2{border-bottom:2px solid #dfe3ea;padding-bottom:4px;margin-top:32px}h2 small{font-weight:400;color:#5b6272;font-size:14px;margin-left:8px}
details{background:#fff;border:1px solid #dfe3ea;border-radius:6px;margin:8px 0}
summary{cursor:pointer;padding:8px 12px;font-family:ui-monospace,monospace}
.m{display:inline-block;min-width:64px;font-weight:700;text-transform:uppercase}
.get{color:#0a7d32}.post{color:#1559c4}.put{color:#a35d00}.delete{color:#c22}
.body{padding:4px 16px 12px}pre{background:#f3f5f8;padding:8px;overflow:auto;font-size:13px;max-height:420px}
table{border-collapse:collapse;margin:4px 0}td,th{border:1px solid #dfe3ea;padding:3px 8px;text-align:left;vertical-align:top}
code,.ref{font-family:ui-monospace,monospace;font-size:13px}a.ref{color:#1559c4}
</style></head><body>
<header><h1>Tollgate API</h1><p id="desc"></p><p>The machine-readable document: <a style="color:#9cc3ff" href="openapi.json">openapi.json</a> (OpenAPI 3.1).</p></header>
<main id="root">Loading openapi.json…</main>
<script>
fetch('openapi.json').then(r => r.json()).then(spec => {
  const el = (tag, text, cls) => { const e = document.createElement(tag); if (text) e.textContent = text; if (cls) e.className = cls; return e; };
  const schemas = (spec.components || {}).schemas || {};
  const refName = s => s && s.$ref ? s.$ref.split('/').pop() : null;
  // A schema's type in one line: a link for a named schema.
  const typeOf = s => {
    if (!s) return el('span', 'any');
    const name = refName(s);
    if (name) { const a = el('a', name, 'ref'); a.href = '#schema-' + name; return a; }
    if (s.type === 'array') { const w = el('span'); w.append('array of ', typeOf(s.items)); return w; }
    if (s.oneOf || s.anyOf) { const w = el('span'); (s.oneOf || s.anyOf).forEach((x, i) => { if (i) w.append(' | '); w.append(typeOf(x)); }); return w; }
    let t = Array.isArray(s.type) ? s.type.join(' | ') : (s.type || 'any');
    if (s.format) t += ' (' + s.format + ')';
    if (s.enum) t += ': ' + s.enum.join(', ');
    return el('span', t, 'ref');
  };
  const content = (b, c) => {
    for (const [type, m] of Object.entries(c || {})) {
      const p = el('p'); p.append(el('code', type), ' ', typeOf(m.schema)); b.appendChild(p);
      if (m.example !== undefined) b.appendChild(el('pre', JSON.stringify(m.example, null, 2)));
    }
  };
  document.getElementById('desc').textContent = spec.info.description;
  const root = document.getElementById('root'); root.textContent = '';
  const tags = {}; for (const t of spec.tags || []) tags[t.name] = t.description || '';
  const byTag = {};
  for (const [path, item] of Object.entries(spec.paths))
    for (const [method, op] of Object.entries(item))
      (byTag[(op.tags || ['Other'])[0]] ||= []).push([method, path, op]);
  for (const [tag, ops] of Object.entries(byTag)) {
    const h = root.appendChild(el('h2', tag)); h.appendChild(el('small', tags[tag] || ''));
    for (const [method, path, op] of ops) {
      const d = el('details'), s = el('summary');
      s.appendChild(el('span', method, 'm ' + method)); s.appendChild(document.createTextNode(' ' + path + ' — ' + (op.summary || '')));
      d.appendChild(s);
      const b = el('div', null, 'body');
      if (op.description) b.appendChild(el('p', op.description));
      if (op.security) b.appendChild(el('p', 'Authentication: ' + op.security.map(r => Object.keys(r).join(' + ')).join(' or ')));
      if (op.parameters) { const t = el('table'); t.appendChild(el('tr')).append(el('th', 'parameter'), el('th', 'in'), el('th', 'type'), el('th', 'description'));
        for (const p of op.parameters) { const row = t.appendChild(el('tr')); row.append(el('td', p.name + (p.required ? ' *' : '')), el('td', p.in)); row.appendChild(el('td')).appendChild(typeOf(p.schema)); row.appendChild(el('td', p.description || '')); }
        b.appendChild(t); }
      if (op.requestBody) { b.appendChild(el('h4', 'Request body' + (op.requestBody.required ? '' : ' (optional)'))); content(b, op.requestBody.content); }
      b.appendChild(el('h4', 'Responses'));
      const t = el('table');
      for (const [code, r] of Object.entries(op.responses)) { const row = t.appendChild(el('tr')); row.append(el('td', code), el('td', r.description || '')); const c = row.appendChild(el('td')); content(c, r.content); }
      b.appendChild(t); d.appendChild(b); root.appendChild(d);
    }
  }
  root.appendChild(el('h2', 'Schemas'));
  for (const [name, schema] of Object.entries(schemas)) {
    const d = el('details'); d.id = 'schema-' + name; d.appendChild(el('summary', name));
    const b = el('div', null, 'body');
    if (schema.description) b.appendChild(el('p', schema.description));
    if (schema.properties) { const t = el('table'); t.appendChild(el('tr')).append(el('th', 'key'), el('th', 'type'), el('th', 'description'));
      const required = schema.required || [];
      for (const [k, v] of Object.entries(schema.properties)) { const row = t.appendChild(el('tr')); row.append(el('td', k + (required.includes(k) ? ' *' : ''))); row.appendChild(el('td')).appendChild(typeOf(v)); row.appendChild(el('td', v.description || '')); }
      b.appendChild(t); }
    else b.appendChild(el('pre', JSON.stringify(schema, null, 2)));
    d.appendChild(b); root.appendChild(d);
  }
  if (location.hash) { const target = document.getElementById(location.hash.slice(1)); if (target) { target.open = true; target.scrollIntoView(); } }
  document.addEventListener('click', e => { const a = e.target.closest('a.ref'); if (a) { const target = document.getElementById(a.hash.slice(1)); if (target) target.open = true; } });
}).catch(e => { document.getElementById('root').textContent = 'Could not load openapi.json: ' + e; });
</script></body></html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_responses_and_security() {
        let spec = spec();
        let paths = spec["paths"].as_object().unwrap();
        assert!(paths.len() > 40, "{} paths", paths.len());
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                assert!(
                    op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                    "{method} {path}"
                );
                assert!(op["operationId"].is_string(), "{method} {path}");
                if path.starts_with("/api/") || path.starts_with("/admin/") {
                    assert!(op["security"].is_array(), "{method} {path}");
                }
            }
        }
    }

    #[test]
    fn every_path_parameter_is_declared() {
        let spec = spec();
        for (path, item) in spec["paths"].as_object().unwrap() {
            let names: Vec<&str> = path
                .split('{')
                .skip(1)
                .filter_map(|p| p.split('}').next())
                .collect();
            for (method, op) in item.as_object().unwrap() {
                let declared: Vec<&str> = op["parameters"]
                    .as_array()
                    .map(|ps| {
                        ps.iter()
                            .filter(|p| p["in"] == "path")
                            .filter_map(|p| p["name"].as_str())
                            .collect()
                    })
                    .unwrap_or_default();
                let mut expected = names.clone();
                expected.sort_unstable();
                let mut got = declared.clone();
                got.sort_unstable();
                assert_eq!(got, expected, "{method} {path}");
            }
        }
    }

    #[test]
    fn refs_resolve() {
        let spec = spec();
        let text = spec.to_string();
        let schemas = spec["components"]["schemas"].as_object().unwrap();
        for part in text.split("#/components/schemas/").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
                .collect();
            assert!(schemas.contains_key(&name), "unresolved $ref {name}");
        }
    }
}
