//! The OpenAPI description of every route (`/openapi.json`) and a docs page
//! that renders it (`/docs`) with nothing fetched from elsewhere. The
//! `operations` end-to-end test sends a request to every documented path
//! and method and checks the router serves it.

use super::envelope::json_response;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn body(schema: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

fn response(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn problem(description: &str) -> Value {
    json!({"description": description, "content": {"application/problem+json": {"schema": reference("Problem")}}})
}

fn platform_op(
    summary: &str,
    description: &str,
    request: Option<Value>,
    ok: Value,
    tag: &str,
) -> Value {
    let mut op = json!({
        "tags": [tag],
        "summary": summary,
        "description": description,
        "security": [{"applicationId": [], "apiKey": []}],
        "parameters": [
            {"name": "X-CloudPlatform-TrackId", "in": "header", "required": false, "schema": {"type": "string"},
             "description": "A GUID identifying the call; echoed back, generated when missing."},
            {"name": "checkonly", "in": "query", "required": false, "schema": {"type": "string", "enum": ["true", "false", "1", "0"]},
             "description": "Pre-check mode, as an alternative to the body's CheckOnly (either true means check mode)."}
        ],
        "responses": {
            "200": ok,
            "400": response("The body is not JSON or a value has the wrong type (Code -2, naming the field).", reference("Envelope")),
            "401": response("Authorization failed: the same body for every cause.", reference("Envelope")),
            "413": response("The body is larger than the limit (1 MiB by default).", reference("Envelope")),
            "500": response("Unexpected internal error (Code -1), logged with the TrackId.", reference("Envelope")),
            "503": response("Overloaded (Code -4), with Retry-After.", reference("Envelope"))
        }
    });
    if let Some(schema) = request {
        op["requestBody"] = body(schema);
    }
    op
}

fn service_op(summary: &str, description: &str) -> Value {
    json!({"post": platform_op(summary, description, Some(reference("ServiceDefinition")),
        response("Every business outcome (success or refusal) — see the Code table.", reference("ServiceResultDefinition")), "Subscriptions and add-ons")})
}

fn admin_op(summary: &str, request: Option<Value>, ok_status: &str, ok: Value) -> Value {
    let mut op = json!({
        "tags": ["Admin"],
        "summary": summary,
        "security": [{"adminToken": []}],
        "responses": {
            ok_status: ok,
            "400": problem("The request is invalid (the detail says why)."),
            "401": problem("The admin token is missing or unknown."),
            "404": problem("No such object for this tenant (another tenant's objects are always 404).")
        }
    });
    if let Some(schema) = request {
        op["requestBody"] = body(schema);
    }
    op
}

fn operator_op(summary: &str, request: Option<Value>) -> Value {
    let mut op = json!({
        "tags": ["Operator"],
        "summary": summary,
        "security": [{"operatorToken": []}],
        "responses": {
            "200": {"description": "Done.", "content": {"application/json": {"schema": {"type": "object"}}}},
            "201": {"description": "Created.", "content": {"application/json": {"schema": reference("TenantSecrets")}}},
            "400": problem("Invalid request."),
            "401": problem("The operator token is missing or wrong, or operator access is disabled."),
            "404": problem("No such tenant."),
            "409": problem("A tenant with this application id exists.")
        }
    });
    if let Some(schema) = request {
        op["requestBody"] = body(schema);
    }
    op
}

fn obj(properties: Value) -> Value {
    json!({"type": "object", "properties": properties})
}

fn schemas() -> Value {
    let text = json!({"type": "string"});
    let int = json!({"type": "integer"});
    let boolean = json!({"type": "boolean"});
    let map = json!({"type": "object", "additionalProperties": {"type": "string"}});
    json!({
        "Envelope": obj(json!({"Code": int, "Message": {"type": "string", "nullable": true}, "Result": {"type": "string", "nullable": true}})),
        "ServiceResultDefinition": obj(json!({"Code": int, "Message": {"type": "string", "nullable": true}, "Result": {"type": "string", "nullable": true,
            "description": "Subscriptions/Create: the new external subscription id. Other calls: the subscription's id. Null in check mode."},
            "AccountExtraInfo": map, "CustomFieldValues": map, "SendNotification": boolean, "ExtraInfo": map})),
        "AccountResultDefinition": obj(json!({"Code": int, "Message": {"type": "string", "nullable": true}, "Result": {"type": "string", "nullable": true,
            "description": "The external account id."}, "AccountExtraInfo": map, "GeneratedPassword": {"type": "string", "nullable": true}})),
        "AttributeItem": obj(json!({"ID": text, "Name": text, "Value": text, "Code": text, "QuantityLinked": boolean, "ExtraParameters": map})),
        "AddonItem": {"type": "object", "required": ["ProductID", "Quantity"], "properties": {"ID": text, "ParentID": text, "Name": text, "ProductID": text,
            "ActionType": reference("ActionType"), "Quantity": int, "AttributeList": {"type": "object", "additionalProperties": reference("AttributeItem")}, "ExtraDetails": map}},
        "ActionType": {"type": "string", "enum": ["None", "Provision", "Cancel", "Suspend", "Activate", "Upgrade", "Downgrade", "UpgradeToPaid"],
            "description": "Names in any case, or the integers 0–7."},
        "AccountDefinition": {"type": "object", "properties": {"ID": text, "ExternalID": {"type": "string", "nullable": true}, "ResellerID": {"type": "string", "nullable": true},
            "ResellerExternalID": {"type": "string", "nullable": true}, "Name": text, "Code": text, "Phone": text, "Fax": text, "WebSite": text, "Email": text,
            "IsTest": boolean, "Description": text, "ExtraDetails": map, "SyncOptions": map,
            "ContactDetails": obj(json!({"ID": text, "FirstName": text, "LastName": text, "Phone": text, "Fax": text, "Email": text})),
            "Address": obj(json!({"Address1": text, "Address2": text, "City": text, "PostCode": text, "State": obj(json!({"Code": text, "Name": text})), "Country": obj(json!({"Code": text, "Name": text}))}))}},
        "ServiceDefinition": {"type": "object", "required": ["Account", "ProductID", "Quantity"],
            "description": "Keys match ignoring case; unknown keys are ignored; integers and booleans may be strings. ID is required except on Subscriptions/Create.",
            "properties": {"ID": text, "SubscriptionID": text, "OriginalSubscriptionID": {"type": "string", "nullable": true}, "Name": text, "ServiceType": text,
            "ProductID": text, "ActionType": reference("ActionType"), "Quantity": {"type": "integer", "minimum": 0}, "Account": reference("AccountDefinition"),
            "AttributeList": {"type": "object", "additionalProperties": reference("AttributeItem")}, "Addons": {"type": "array", "items": reference("AddonItem")},
            "AllowMultipleSubscriptions": boolean, "IsFromOrder": boolean, "IsTrial": boolean, "CheckOnly": boolean, "CustomFieldValues": map, "ExtraDetails": map,
            "RequestedBy": obj(json!({"ID": int, "FirstName": text, "LastName": text, "DisplayName": text, "Email": text, "Type": text}))}},
        "FieldCollection": obj(json!({"Fields": {"type": "array", "items": obj(json!({"ID": text, "Value": {}, "Definition": {"type": "object"}}))}})),
        "ProductTypeCollection": obj(json!({"ProductTypes": {"type": "array", "items": {"type": "object"}}})),
        "Problem": obj(json!({"type": text, "title": text, "status": int, "detail": text, "reason": text})),
        "Scope": obj(json!({"service_types": {"type": "array", "items": text}, "product_ids": {"type": "array", "items": text}})),
        "BindingSpec": {"type": "object", "required": ["plugin"], "properties": {"plugin": text, "version": {"type": "string", "description": "sha256; default: the newest"},
            "scope": reference("Scope"), "priority": int, "config": {"type": "object"}, "on_failure": {"type": "string", "enum": ["reject", "allow"]}}},
        "Binding": obj(json!({"hook": text, "name": text, "plugin": text, "version": text, "scope": reference("Scope"), "priority": int, "config": {"type": "object"},
            "on_failure": text, "revision": int, "active_revision": int, "updated_by": text, "updated_at": int, "history": {"type": "array", "items": {"type": "object"}}})),
        "Upload": obj(json!({"name": text, "version": text, "hook": {"type": "string", "enum": ["precheck", "quantity-limits", "resources"]}, "size": int, "created": boolean})),
        "HookInput": {"type": "object", "required": ["request"], "properties": {"request": {"type": "object"}, "target": {"type": "object"}, "now": int,
            "config": {}, "subscriptions": {"type": "array", "items": {"type": "object"}}, "seed": int}, "description": "The fixture/decision-log input format (see PLUGINS.md)."},
        "DryRun": {"type": "object", "required": ["plugin", "input"], "properties": {"plugin": text, "version": text, "input": reference("HookInput"), "config": {}}},
        "DryRunResult": obj(json!({"plugin": text, "version": text, "hook": text, "output": {"type": "object"}, "error": obj(json!({"kind": text, "message": text})),
            "logs": text, "fuel": int, "peak_memory": int, "duration_us": int, "read_subscriptions": boolean})),
        "Invocation": obj(json!({"id": text, "hook": text, "binding": text, "plugin": text, "version": text, "track_id": text, "outcome": text,
            "input": reference("HookInput"), "output": {"type": "object", "nullable": true}, "error": {"type": "object", "nullable": true}, "fuel": int,
            "peak_memory": int, "duration_us": int, "logs": text, "at": int, "fixture": {"type": "object"}})),
        "Replay": obj(json!({"invocation": text, "plugin": text, "version": text, "original": {"type": "object"}, "replayed": {"type": "object"}, "changed": boolean})),
        "Events": obj(json!({"events": {"type": "array", "items": obj(json!({"cursor": int, "kind": text, "subscription_id": text, "account_id": text,
            "payload": {"type": "object"}, "track_id": text, "at": int}))}, "next": int})),
        "Subscription": obj(json!({"external_id": text, "platform_subscription_id": text, "account_id": text, "product_id": text, "service_type": text,
            "quantity": int, "status": text, "is_trial": boolean, "addons": {"type": "array", "items": {"type": "object"}}, "resources": {"type": "object", "nullable": true},
            "plans": {"type": "array", "items": {"type": "object"}}, "history": {"type": "array", "items": {"type": "object"}}})),
        "TenantSecrets": obj(json!({"tenant_id": text, "name": text, "application_id": text, "api_key": text, "admin_token": text}))
    })
}

/// The OpenAPI 3.0 document.
pub fn spec() -> Value {
    let envelope_ok = |d: &str| response(d, reference("Envelope"));
    let sm = "Service Manager";
    let mut paths = serde_json::Map::new();
    let mut add = |path: &str, item: Value| {
        paths.insert(path.to_string(), item);
    };
    add(
        "/api/Fields/Get",
        json!({"get": platform_op("Setting fields", "The partner settings this service declares (tenant setup fields).", None, response("FieldCollection", reference("FieldCollection")), sm)}),
    );
    add(
        "/api/Fields/Validate",
        json!({"post": platform_op("Validate settings", "Checks presence of required fields, MaxLength, URL syntax and choices. Answers a bare array of problems; [] means valid.", Some(reference("FieldCollection")), response("Problems", json!({"type": "array", "items": {"type": "string"}})), sm)}),
    );
    add(
        "/api/Fields/ServiceDefinition",
        json!({"get": platform_op("Catalogue", "The tenant's ProductTypeCollection (deterministic).", None, response("ProductTypeCollection", reference("ProductTypeCollection")), sm)}),
    );
    add(
        "/api/Fields/AdditionalInfo",
        json!({"get": platform_op("Additional info", "Always {}.", None, response("Empty map", json!({"type": "object"})), sm)}),
    );
    add(
        "/api/Accounts/SyncOptions",
        json!({"get": platform_op("Sync options", "Per-customer options (tenant setup fields' SyncOptions).", None, response("CustomFieldCollection", json!({"type": "object"})), "Accounts")}),
    );
    add(
        "/api/Accounts/Synchronize",
        json!({"post": platform_op("Create or update an account", "Idempotent per account ID: the same ID always answers the same external id. Check mode changes nothing.", Some(reference("AccountDefinition")), response("AccountResultDefinition", reference("AccountResultDefinition")), "Accounts")}),
    );
    add(
        "/api/Accounts/Exists",
        json!({"post": platform_op("Does the account exist", "Code 1 with the external id in Result when it exists, else Code 0.", Some(reference("AccountDefinition")), envelope_ok("ResultDefinition"), "Accounts")}),
    );
    add(
        "/api/Accounts/Delete",
        json!({"post": platform_op("Delete an account", "By ExternalID (or ID). A retried delete succeeds; an unknown account is Code -3; an account whose subscriptions are not all cancelled is Code -6 (nothing changes).", Some(reference("AccountDefinition")), envelope_ok("ResultDefinition"), "Accounts")}),
    );
    add(
        "/api/Accounts/IsReseller",
        json!({"post": platform_op("Is the account a reseller", "Bare true/false: whether any account names it as its reseller.", Some(reference("AccountDefinition")), response("Boolean", json!({"type": "boolean"})), "Accounts")}),
    );
    add(
        "/api/Subscriptions/Create",
        service_op(
            "Create a subscription",
            "Idempotent per SubscriptionID. Quantity limits, pre-check rules, then (real mode) the resource plan and one transaction.",
        ),
    );
    add(
        "/api/Subscriptions/Update",
        service_op(
            "Change quantity or attributes",
            "Sets the new absolute totals.",
        ),
    );
    add(
        "/api/Subscriptions/Cancel",
        service_op(
            "Cancel a subscription",
            "Cancels it and every add-on; releases all resources. A retried cancel succeeds.",
        ),
    );
    add(
        "/api/Subscriptions/Suspend",
        service_op("Suspend a subscription", "Keeps the totals."),
    );
    add(
        "/api/Subscriptions/Activate",
        service_op("Lift a suspension", "Keeps the totals."),
    );
    add(
        "/api/Subscriptions/UpgradeToPaid",
        service_op(
            "Turn a trial into a paid subscription",
            "Keeps the external id.",
        ),
    );
    add(
        "/api/Subscriptions/UpgradeDowngrade",
        service_op("Switch product", "To the ProductID of the body."),
    );
    add(
        "/api/Addons/Create",
        service_op(
            "Add an add-on",
            "Add-ons with ActionType Provision are created (or converge when they exist). Result: the parent's id. Alias: /api/Addon/Create.",
        ),
    );
    add(
        "/api/Addons/Update",
        service_op(
            "Change an add-on",
            "Add-ons with ActionType Provision must exist. Alias: /api/Addon/Update.",
        ),
    );
    add(
        "/api/Addons/Cancel",
        service_op(
            "Remove an add-on",
            "Add-ons with ActionType Cancel are cancelled and excluded from the totals. Alias: /api/Addon/Cancel.",
        ),
    );
    add(
        "/api/Ppu/usages",
        json!({"post": platform_op("Pay-per-use usages", "Not supported: Code -1 in the PPU response shape.", Some(json!({"type": "object"})), envelope_ok("Not supported"), "Not supported")}),
    );
    add(
        "/api/Ppu/billingitems",
        json!({"post": platform_op("Pay-per-use billing items", "Not supported: Code -1 in the PPU response shape.", Some(json!({"type": "object"})), envelope_ok("Not supported"), "Not supported")}),
    );
    add(
        "/api/Users/{action}",
        json!({"post": platform_op("Users management", "Not supported: Code -1.", Some(json!({"type": "object"})), envelope_ok("Not supported"), "Not supported")}),
    );
    add(
        "/api/Assets/Create",
        json!({"post": platform_op("Assets", "Not supported: Code -1 (also /Update, /Cancel).", Some(json!({"type": "object"})), envelope_ok("Not supported"), "Not supported")}),
    );

    let plugin_upload = json!({"post": {
        "tags": ["Admin"], "summary": "Upload a plugin version",
        "description": "The body is the WebAssembly component. It must implement exactly one hook world of tollgate:plugin@1.0.0 and compile within the time limit. Stored content-addressed (version = sha256); the same bytes again answer 200 with created=false.",
        "security": [{"adminToken": []}],
        "parameters": [{"name": "name", "in": "query", "required": true, "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,63}$"}}],
        "requestBody": {"required": true, "content": {"application/wasm": {"schema": {"type": "string", "format": "binary"}}}},
        "responses": {"201": response("Stored", reference("Upload")), "200": response("Already stored", reference("Upload")),
            "400": problem("No name."), "401": problem("Bad admin token."), "409": problem("The name is used by a plugin of another hook."),
            "413": problem("Over the size limit (4 MiB by default)."),
            "422": problem("Refused: not WebAssembly, a core module, no or several hooks, a wrong signature, too slow to compile… (`reason` names it).")}
    }, "get": admin_op("List plugins", None, "200", response("Plugins", json!({"type": "array", "items": {"type": "object"}})))});
    add("/admin/v1/plugins", plugin_upload);
    add(
        "/admin/v1/plugins/{name}/versions",
        json!({"get": admin_op("A plugin's versions, newest first", None, "200", response("Versions", json!({"type": "array", "items": {"type": "object"}})))}),
    );
    add(
        "/admin/v1/bindings",
        json!({"get": admin_op("List bindings", None, "200", response("Bindings", json!({"type": "array", "items": reference("Binding")})))}),
    );
    add(
        "/admin/v1/bindings/{hook}/{binding}",
        json!({
        "put": admin_op("Activate a plugin version on a binding", Some(reference("BindingSpec")), "200", response("The binding", reference("Binding"))),
        "get": admin_op("A binding with its history", None, "200", response("The binding", reference("Binding"))),
        "delete": admin_op("Remove a binding (history kept)", None, "204", json!({"description": "Removed"}))}),
    );
    add(
        "/admin/v1/bindings/{hook}/{binding}/rollback",
        json!({"post": admin_op("Roll back to an earlier revision (default: the previous one)",
        Some(obj(json!({"revision": {"type": "integer"}}))), "200", response("The binding", reference("Binding")))}),
    );
    add(
        "/admin/v1/dry-run",
        json!({"post": admin_op("Evaluate a plugin version on an input; writes nothing", Some(reference("DryRun")), "200", response("Result", reference("DryRunResult")))}),
    );
    let filters: Vec<Value> = ["hook", "binding", "outcome", "track_id"]
        .iter()
        .map(|n| json!({"name": n, "in": "query", "schema": {"type": "string"}}))
        .chain(
            ["before", "limit"]
                .iter()
                .map(|n| json!({"name": n, "in": "query", "schema": {"type": "integer"}})),
        )
        .collect();
    add(
        "/admin/v1/invocations",
        json!({"get": {
        "tags": ["Admin"], "summary": "The decision log, newest first", "security": [{"adminToken": []}],
        "parameters": filters,
        "responses": {"200": response("Invocations", json!({"type": "array", "items": reference("Invocation")})), "401": problem("Bad admin token.")}}}),
    );
    add(
        "/admin/v1/invocations/{id}",
        json!({"get": admin_op("One logged invocation (with its fixture form)", None, "200", response("Invocation", reference("Invocation")))}),
    );
    add(
        "/admin/v1/invocations/{id}/replay",
        json!({"post": admin_op("Replay a logged invocation against any version",
        Some(obj(json!({"plugin": {"type": "string"}, "version": {"type": "string"}}))), "200", response("Replay", reference("Replay")))}),
    );
    add(
        "/admin/v1/catalog",
        json!({
        "put": admin_op("Replace the catalogue (a ProductTypeCollection)", Some(reference("ProductTypeCollection")), "200", response("Normalized catalogue", reference("ProductTypeCollection"))),
        "get": admin_op("The catalogue", None, "200", response("Catalogue", reference("ProductTypeCollection")))}),
    );
    add(
        "/admin/v1/setup-fields",
        json!({
        "put": admin_op("Replace the setup fields and sync options", Some(obj(json!({"Fields": {"type": "array"}, "SyncOptions": {"type": "array"}}))), "200", response("Normalized", json!({"type": "object"}))),
        "get": admin_op("The setup fields", None, "200", response("Setup fields", json!({"type": "object"})))}),
    );
    add(
        "/admin/v1/events",
        json!({"get": {"tags": ["Admin"], "summary": "The provisioning event feed after a cursor", "security": [{"adminToken": []}],
        "parameters": [{"name": "after", "in": "query", "schema": {"type": "integer"}}, {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 1000}}],
        "responses": {"200": response("Events and the next cursor", reference("Events")), "401": problem("Bad admin token.")}}}),
    );
    add(
        "/admin/v1/subscriptions/{external_id}",
        json!({"get": admin_op("A subscription with add-ons, resource plans and history", None, "200", response("Subscription", reference("Subscription")))}),
    );
    add(
        "/admin/v1/tenants",
        json!({"post": operator_op("Create a tenant (answers its secrets once)", Some(obj(json!({"name": {"type": "string"}, "application_id": {"type": "string"}, "api_key": {"type": "string"}}))))}),
    );
    add(
        "/admin/v1/tenants/{id}/api-key",
        json!({"post": operator_op("Rotate the API key", Some(obj(json!({"api_key": {"type": "string"}, "keep_previous": {"type": "boolean"}}))))}),
    );
    add(
        "/admin/v1/tenants/{id}/admin-token",
        json!({"post": operator_op("Rotate the admin token", None)}),
    );
    add(
        "/admin/v1/tenants/{id}/limits",
        json!({"put": operator_op("Set the tenant's per-call limits (empty body: defaults)",
        Some(obj(json!({"fuel": {"type": "integer"}, "deadline_ms": {"type": "integer"}, "memory_bytes": {"type": "integer"}, "input_bytes": {"type": "integer"}, "output_bytes": {"type": "integer"}, "log_bytes": {"type": "integer"}}))))}),
    );
    add(
        "/healthz",
        json!({"get": {"tags": ["Operations"], "summary": "Liveness", "responses": {"200": {"description": "Alive"}}}}),
    );
    add(
        "/readyz",
        json!({"get": {"tags": ["Operations"], "summary": "Readiness: the database answers", "responses": {"200": {"description": "Ready"}, "503": {"description": "Not ready"}}}}),
    );
    add(
        "/metrics",
        json!({"get": {"tags": ["Operations"], "summary": "Prometheus metrics", "responses": {"200": {"description": "Text exposition format"}}}}),
    );

    json!({
        "openapi": "3.0.3",
        "info": {"title": "Tollgate", "version": env!("CARGO_PKG_VERSION"),
            "description": "A Service Manager for the interworks.cloud platform whose business rules are tenant-uploaded WebAssembly plugins. Service Manager paths match ignoring case and tolerate one trailing slash. Business outcomes are always HTTP 200 with a Code (0 = success)."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "applicationId": {"type": "apiKey", "in": "header", "name": "X-CloudPlatform-ApplicationId"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-CloudPlatform-APIKey", "description": "Base64 of the API key."},
                "adminToken": {"type": "http", "scheme": "bearer"},
                "operatorToken": {"type": "http", "scheme": "bearer"}
            },
            "schemas": schemas()
        }
    })
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
main{max-width:1100px;margin:0 auto;padding:16px 32px}
h2{border-bottom:2px solid #dfe3ea;padding-bottom:4px;margin-top:32px}
details{background:#fff;border:1px solid #dfe3ea;border-radius:6px;margin:8px 0}
summary{cursor:pointer;padding:8px 12px;font-family:ui-monospace,monospace}
.m{display:inline-block;min-width:64px;font-weight:700;text-transform:uppercase}
.get{color:#0a7d32}.post{color:#1559c4}.put{color:#a35d00}.delete{color:#c22}
.body{padding:4px 16px 12px}pre{background:#f3f5f8;padding:8px;overflow:auto;font-size:13px}
table{border-collapse:collapse}td,th{border:1px solid #dfe3ea;padding:3px 8px;text-align:left;vertical-align:top}
</style></head><body>
<header><h1>Tollgate API</h1><div id="desc"></div></header>
<main id="root">Loading /openapi.json…</main>
<script>
fetch('openapi.json').then(r => r.json()).then(spec => {
  document.getElementById('desc').textContent = spec.info.description;
  const root = document.getElementById('root'); root.textContent = '';
  const byTag = {};
  for (const [path, item] of Object.entries(spec.paths))
    for (const [method, op] of Object.entries(item))
      (byTag[(op.tags || ['Other'])[0]] ||= []).push([method, path, op]);
  const resolve = s => s && s.$ref ? spec.components.schemas[s.$ref.split('/').pop()] : s;
  const el = (tag, text, cls) => { const e = document.createElement(tag); if (text) e.textContent = text; if (cls) e.className = cls; return e; };
  for (const [tag, ops] of Object.entries(byTag)) {
    root.appendChild(el('h2', tag));
    for (const [method, path, op] of ops) {
      const d = el('details'), s = el('summary');
      s.appendChild(el('span', method, 'm ' + method)); s.appendChild(document.createTextNode(' ' + path + ' — ' + (op.summary || '')));
      d.appendChild(s);
      const b = el('div', null, 'body');
      if (op.description) b.appendChild(el('p', op.description));
      if (op.parameters) { const t = el('table'); t.appendChild(el('tr')).append(el('th', 'parameter'), el('th', 'in'), el('th', 'description'));
        for (const p of op.parameters) t.appendChild(el('tr')).append(el('td', p.name), el('td', p.in), el('td', p.description || '')); b.appendChild(t); }
      if (op.requestBody) { const [type, c] = Object.entries(op.requestBody.content)[0]; b.appendChild(el('h4', 'Request body (' + type + ')'));
        b.appendChild(el('pre', JSON.stringify(resolve(c.schema), null, 2))); }
      b.appendChild(el('h4', 'Responses'));
      const t = el('table');
      for (const [code, r] of Object.entries(op.responses)) t.appendChild(el('tr')).append(el('td', code), el('td', r.description || ''));
      b.appendChild(t); d.appendChild(b); root.appendChild(d);
    }
  }
}).catch(e => { document.getElementById('root').textContent = 'Could not load openapi.json: ' + e; });
</script></body></html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_has_operations_with_responses() {
        let spec = spec();
        let paths = spec["paths"].as_object().unwrap();
        assert!(paths.len() > 30);
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                assert!(
                    op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                    "{method} {path}"
                );
            }
        }
    }

    #[test]
    fn refs_resolve() {
        let text = spec().to_string();
        let schemas = spec()["components"]["schemas"].as_object().unwrap().clone();
        for part in text.split("#/components/schemas/").skip(1) {
            let name: String = part.chars().take_while(|c| c.is_alphanumeric()).collect();
            assert!(schemas.contains_key(&name), "unresolved $ref {name}");
        }
    }
}
