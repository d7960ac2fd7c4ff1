//! The OpenAPI document is the contract: it is committed (a snapshot shows
//! every change in review), it passes a validator, every answer of every
//! documented operation matches its schema, a client generated from it
//! drives the admin API, and fuzzing every operation finds no server error
//! and no schema mismatch.
//!
//! The Python tools are pinned in `tests/contract/requirements.txt` and
//! installed by `.ci/api-tools.sh` into `target/api-tools` (or
//! `$TOLLGATE_API_TOOLS`): `.ci/run` does it first, and the tests do it
//! themselves on a machine where it was not done. No test here is ever
//! skipped.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

/// The contract venv: `.ci/api-tools.sh` makes it on the first run (the
/// versions pinned in `tests/contract/requirements.txt`, from PyPI) and
/// reuses it while the pins are unchanged; `$TOLLGATE_API_TOOLS` names
/// another place. Nothing is skipped: without Python 3 and its venv
/// module the tests fail, saying so.
fn venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let script = workspace().join(".ci/api-tools.sh");
        let out = std::process::Command::new("bash")
            .arg(&script)
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{} failed: the API contract tests need Python 3.11+ with venv and pip \
             (and PyPI) to install their tools:\n{}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

/// A tool of the contract venv.
fn tool(name: &str) -> PathBuf {
    let path = venv().join("bin").join(name);
    assert!(path.exists(), "{} is missing", path.display());
    path
}

/// Run a command to completion; panics with its output when it fails.
fn run(command: &mut std::process::Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("running {command:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{command:?} failed:\n{text}");
    text
}

fn pretty(spec: &Value) -> String {
    let mut text = serde_json::to_string_pretty(spec).expect("json");
    text.push('\n');
    text
}

/// `docs/openapi.json` is the served document: a change to the API shows in
/// review as a change to that file.
#[test]
fn committed_document_is_current() {
    let path = workspace().join("docs/openapi.json");
    let served = pretty(&tollgate::http::openapi_spec());
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &served).expect("writing docs/openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed == served {
        return;
    }
    // The lines only one side has, in order: enough to see the change.
    let (old, new): (Vec<&str>, Vec<&str>) =
        (committed.lines().collect(), served.lines().collect());
    let old_set: std::collections::HashSet<&str> = old.iter().copied().collect();
    let new_set: std::collections::HashSet<&str> = new.iter().copied().collect();
    let mut diff: Vec<String> = old
        .iter()
        .filter(|l| !new_set.contains(*l))
        .map(|l| format!("- {l}"))
        .chain(
            new.iter()
                .filter(|l| !old_set.contains(*l))
                .map(|l| format!("+ {l}")),
        )
        .take(60)
        .collect();
    if diff.is_empty() {
        diff.push("(the same lines in another order)".into());
    }
    panic!(
        "docs/openapi.json differs from the served document:\n{}\n\nIf the API change is intended, update the snapshot and commit it:\n  UPDATE_OPENAPI=1 cargo test --release -p tollgate --test contract committed_document_is_current",
        diff.join("\n")
    );
}

/// The served document passes `openapi-spec-validator`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_document_is_valid_openapi() {
    let validator = tool("openapi-spec-validator");
    let server = Server::start().await;
    let (status, spec) = read(
        client()
            .get(format!("{}/openapi.json", server.url))
            .send()
            .await
            .expect("openapi.json"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(spec, tollgate::http::openapi_spec());
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, pretty(&spec)).expect("write");
    let out = run(std::process::Command::new(validator).arg(&file));
    assert!(out.contains("OK"), "{out}");
    server.stop().await;
}

/// Routes that are pages for people, not API operations: the document
/// does not describe them.
const PAGES: [&str; 4] = ["/docs", "/console", "/console/", "/console/{*path}"];

/// A path template with its parameters' names dropped and in lowercase
/// (the platform's paths match ignoring case; `{*rest}` and `{action}` are
/// the same segment).
fn shape(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "{}".to_string()
            } else {
                segment.to_lowercase()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every route of the server's router is in the document with exactly the
/// methods it serves (an alias of the platform's is named by its
/// operation's description, "Alias: `/api/…`"), and every documented path
/// is routed. The methods a route serves are the ones axum lists in the
/// `Allow` header of a 405.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_in_the_document() {
    let spec = tollgate::http::openapi_spec();
    let mut documented: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let method = method.to_uppercase();
            documented
                .entry(shape(path))
                .or_default()
                .insert(method.clone());
            let description = op["description"].as_str().unwrap_or("");
            for alias in description.split("Alias: `").skip(1) {
                let alias = alias.split('`').next().expect("alias");
                documented
                    .entry(shape(alias))
                    .or_default()
                    .insert(method.clone());
            }
        }
    }
    let routed = tollgate::http::routed_paths();
    assert!(
        routed.len() > 40 && routed.iter().any(|p| p == "/admin/v1/overview"),
        "the router's paths could not be read (axum's Debug format changed?): {routed:?}"
    );
    let server = Server::start().await;
    let http = client();
    let mut problems = Vec::new();
    for path in routed.iter().filter(|p| !PAGES.contains(&p.as_str())) {
        let Some(methods) = documented.get(&shape(path)) else {
            problems.push(format!("{path}: routed but not in the document"));
            continue;
        };
        let concrete = path
            .split('/')
            .map(|s| if s.starts_with('{') { "x" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let response = http
            .patch(format!("{}{concrete}", server.url))
            .send()
            .await
            .expect("request");
        if response.status() != StatusCode::METHOD_NOT_ALLOWED {
            problems.push(format!(
                "PATCH {path}: {} (not documented)",
                response.status()
            ));
            continue;
        }
        let served: std::collections::BTreeSet<String> = response
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .split(',')
            .map(|m| m.trim().to_uppercase())
            .filter(|m| !m.is_empty() && m != "HEAD")
            .collect();
        if &served != methods {
            problems.push(format!(
                "{path}: serves {served:?}, the document has {methods:?}"
            ));
        }
    }
    let routed_shapes: std::collections::BTreeSet<String> =
        routed.iter().map(|p| shape(p)).collect();
    for path in spec["paths"].as_object().expect("paths").keys() {
        if !routed_shapes.contains(&shape(path)) {
            problems.push(format!("{path}: documented but not routed"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    server.stop().await;
}

/// What the response-validation test recorded.
struct Recorder {
    records: Vec<Value>,
    http: reqwest::Client,
    url: String,
}

enum Auth<'a> {
    None,
    Platform(&'a Tenant),
    Admin(&'a Tenant),
    Operator(&'a str),
}

enum Payload {
    Empty,
    Json(Value),
    Text(&'static str),
    Bytes(Vec<u8>),
}

impl Recorder {
    /// Send one request; record its answer under the document's `template`.
    async fn send(
        &mut self,
        method: &str,
        template: &str,
        path: &str,
        auth: Auth<'_>,
        payload: Payload,
    ) -> (StatusCode, Value) {
        let method: reqwest::Method = method.parse().expect("method");
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.url));
        request = match auth {
            Auth::None => request,
            Auth::Platform(t) => request
                .header("X-CloudPlatform-ApplicationId", &t.secrets.application_id)
                .header("X-CloudPlatform-APIKey", t.api_key_header())
                .header("X-CloudPlatform-Setting-FieldUsername", "eleni")
                .header("X-CloudPlatform-Setting-FieldPassword", "secret")
                .header("X-CloudPlatform-Setting-FieldUri", "https://vendor.example")
                .header("X-CloudPlatform-Setting-FieldRegion", "1"),
            Auth::Admin(t) => request.bearer_auth(&t.secrets.admin_token),
            Auth::Operator(token) => request.bearer_auth(token),
        };
        request = match payload {
            Payload::Empty => request,
            Payload::Json(v) => request.json(&v),
            Payload::Text(t) => request.header("Content-Type", "application/json").body(t),
            Payload::Bytes(b) => request.header("Content-Type", "application/wasm").body(b),
        };
        let response = request.send().await.expect("request");
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let text = response.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else if content_type.contains("json") {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        } else {
            Value::String(text)
        };
        self.records.push(json!({
            "method": method.as_str(), "path": template, "status": status.as_u16(),
            "content_type": content_type, "body": body,
        }));
        (status, body)
    }
}

const OPERATOR: &str = "operator-secret-for-contract-tests";

fn options_with_operator() -> Options {
    let mut options = Options::default();
    options.config.operator_token = Some(OPERATOR.into());
    options
}

/// Every documented operation, driven through the real server once with a
/// success and once with a typical error; every answer is validated against
/// the document's schema for its status (Python `jsonschema`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_matches_its_schema() {
    let python = tool("python");
    let server = Server::with(options_with_operator()).await;
    let t = server.tenant("contract").await;
    let mut r = Recorder {
        records: Vec::new(),
        http: client(),
        url: server.url.clone(),
    };
    use Auth::{Admin, Operator, Platform};
    use Payload::{Bytes, Empty, Json, Text};

    // Documents.
    let catalog: Value =
        serde_json::from_str(include_str!("../../examples/catalog.json")).expect("catalog");
    let setup: Value = serde_json::from_str(include_str!("../../examples/setup-fields.json"))
        .expect("setup fields");
    let (s, _) = r
        .send(
            "PUT",
            "/admin/v1/catalog",
            "/admin/v1/catalog",
            Admin(&t),
            Json(catalog),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    r.send(
        "PUT",
        "/admin/v1/catalog",
        "/admin/v1/catalog",
        Admin(&t),
        Text("{"),
    )
    .await;
    let (s, _) = r
        .send(
            "PUT",
            "/admin/v1/setup-fields",
            "/admin/v1/setup-fields",
            Admin(&t),
            Json(setup),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    r.send(
        "PUT",
        "/admin/v1/setup-fields",
        "/admin/v1/setup-fields",
        Admin(&t),
        Json(json!({"Fields": [{"ID": "bad id"}]})),
    )
    .await;
    r.send(
        "GET",
        "/admin/v1/catalog",
        "/admin/v1/catalog",
        Admin(&t),
        Empty,
    )
    .await;
    r.send(
        "GET",
        "/admin/v1/catalog",
        "/admin/v1/catalog",
        Auth::None,
        Empty,
    )
    .await;
    r.send(
        "GET",
        "/admin/v1/setup-fields",
        "/admin/v1/setup-fields",
        Admin(&t),
        Empty,
    )
    .await;
    r.send(
        "GET",
        "/admin/v1/setup-fields",
        "/admin/v1/setup-fields",
        Auth::None,
        Empty,
    )
    .await;

    // Plugins.
    let wasm = test_plugins::bytes(test_plugins::MIN_MAX_QUANTITY);
    let (s, up) = r
        .send(
            "POST",
            "/admin/v1/plugins",
            "/admin/v1/plugins?name=min-max",
            Admin(&t),
            Bytes(wasm.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{up}");
    let version = up["version"].as_str().expect("version").to_string();
    let (s, _) = r
        .send(
            "POST",
            "/admin/v1/plugins",
            "/admin/v1/plugins?name=min-max",
            Admin(&t),
            Bytes(wasm),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = r
        .send(
            "POST",
            "/admin/v1/plugins",
            "/admin/v1/plugins?name=junk",
            Admin(&t),
            Bytes(b"not wasm".to_vec()),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, spare) = r
        .send(
            "POST",
            "/admin/v1/plugins",
            "/admin/v1/plugins?name=spare",
            Admin(&t),
            Bytes(test_plugins::bytes(test_plugins::FIXED_MIN_1)),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    r.send(
        "GET",
        "/admin/v1/plugins",
        "/admin/v1/plugins",
        Admin(&t),
        Empty,
    )
    .await;
    r.send(
        "GET",
        "/admin/v1/plugins",
        "/admin/v1/plugins",
        Auth::None,
        Empty,
    )
    .await;
    r.send(
        "GET",
        "/admin/v1/plugins/{name}/versions",
        "/admin/v1/plugins/min-max/versions",
        Admin(&t),
        Empty,
    )
    .await;
    r.send(
        "GET",
        "/admin/v1/plugins/{name}/versions",
        "/admin/v1/plugins/nothing/versions",
        Admin(&t),
        Empty,
    )
    .await;

    // Bindings.
    let b = "/admin/v1/bindings/{hook}/{binding}";
    let config = min_max_config();
    let (s, bound) = r
        .send(
            "PUT",
            b,
            "/admin/v1/bindings/quantity-limits/min-max",
            Admin(&t),
            Json(json!({"plugin": "min-max", "config": config})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{bound}");
    r.send(
        "PUT",
        b,
        "/admin/v1/bindings/quantity-limits/min-max",
        Admin(&t),
        Json(json!({"plugin": "absent"})),
    )
    .await;
    r.send("PUT", b, "/admin/v1/bindings/quantity-limits/min-max", Admin(&t), Json(json!({"plugin": "min-max", "version": version, "config": {"products": {"cb_basic": {"min": 3, "max": 40}}}, "shadow": {"version": version}}))).await;
    r.send(
        "GET",
        b,
        "/admin/v1/bindings/quantity-limits/min-max",
        Admin(&t),
        Empty,
    )
    .await;
    r.send(
        "GET",
        b,
        "/admin/v1/bindings/quantity-limits/absent",
        Admin(&t),
        Empty,
    )
    .await;
    r.send(
        "GET",
        "/admin/v1/bindings",
        "/admin/v1/bindings",
        Admin(&t),
        Empty,
    )
    .await;
    r.send(
        "GET",
        "/admin/v1/bindings",
        "/admin/v1/bindings",
        Auth::None,
        Empty,
    )
    .await;

    // Platform calls (the binding decides; the decision log fills).
    let account = common::account("20417");
    r.send(
        "GET",
        "/api/Fields/Get",
        "/api/Fields/Get",
        Platform(&t),
        Empty,
    )
    .await;
    r.send(
        "GET",
        "/api/Fields/Get",
        "/api/Fields/Get",
        Auth::None,
        Empty,
    )
    .await;
    r.send(
        "POST",
        "/api/Fields/Validate",
        "/api/Fields/Validate",
        Platform(&t),
        Json(json!({"Fields": [{"ID": "FieldUsername", "Value": "eleni"}]})),
    )
    .await;
    r.send(
        "POST",
        "/api/Fields/Validate",
        "/api/Fields/Validate",
        Platform(&t),
        Json(json!([])),
    )
    .await;
    r.send(
        "GET",
        "/api/Fields/ServiceDefinition",
        "/api/Fields/ServiceDefinition",
        Platform(&t),
        Empty,
    )
    .await;
    r.send(
        "GET",
        "/api/Fields/ServiceDefinition",
        "/api/Fields/ServiceDefinition",
        Auth::None,
        Empty,
    )
    .await;
    r.send(
        "GET",
        "/api/Fields/AdditionalInfo",
        "/api/Fields/AdditionalInfo",
        Platform(&t),
        Empty,
    )
    .await;
    r.send(
        "GET",
        "/api/Fields/AdditionalInfo",
        "/api/Fields/AdditionalInfo",
        Auth::None,
        Empty,
    )
    .await;
    r.send(
        "GET",
        "/api/Accounts/SyncOptions",
        "/api/Accounts/SyncOptions",
        Platform(&t),
        Empty,
    )
    .await;
    r.send(
        "GET",
        "/api/Accounts/SyncOptions",
        "/api/Accounts/SyncOptions",
        Auth::None,
        Empty,
    )
    .await;
    for op in ["Synchronize", "Exists", "IsReseller"] {
        let p = format!("/api/Accounts/{op}");
        r.send("POST", &p, &p, Platform(&t), Json(account.clone()))
            .await;
        r.send("POST", &p, &p, Platform(&t), Text("{")).await;
    }
    r.send(
        "POST",
        "/api/Accounts/Delete",
        "/api/Accounts/Delete",
        Platform(&t),
        Json(common::account("99999")),
    )
    .await;
    r.send(
        "POST",
        "/api/Accounts/Delete",
        "/api/Accounts/Delete",
        Platform(&t),
        Text("[1]"),
    )
    .await;
    let (s, created) = r
        .send(
            "POST",
            "/api/Subscriptions/Create",
            "/api/Subscriptions/Create",
            Platform(&t),
            Json(create("p-1", "20417", 5, false)),
        )
        .await;
    assert_eq!(
        (s, &created["Code"]),
        (StatusCode::OK, &json!(0)),
        "{created}"
    );
    let id = created["Result"]
        .as_str()
        .expect("subscription id")
        .to_string();
    r.send(
        "POST",
        "/api/Subscriptions/Create",
        "/api/Subscriptions/Create",
        Platform(&t),
        Json(create("p-2", "20417", 2, true)),
    )
    .await;
    r.send(
        "POST",
        "/api/Subscriptions/Create",
        "/api/Subscriptions/Create",
        Platform(&t),
        Text("{"),
    )
    .await;
    let with =
        |quantity: i64, product: &str| service(&id, "p-1", "20417", product, quantity, false);
    for (op, body) in [
        ("Subscriptions/Update", with(6, "cb_basic")),
        ("Subscriptions/Suspend", with(6, "cb_basic")),
        ("Subscriptions/Activate", with(6, "cb_basic")),
        ("Subscriptions/UpgradeToPaid", with(6, "cb_basic")),
        ("Subscriptions/UpgradeDowngrade", with(6, "cb_basic")),
    ] {
        let p = format!("/api/{op}");
        let (s, answer) = r.send("POST", &p, &p, Platform(&t), Json(body)).await;
        assert_eq!(s, StatusCode::OK, "{op}: {answer}");
        r.send(
            "POST",
            &p,
            &p,
            Platform(&t),
            Json(json!({"ID": id, "Quantity": "many"})),
        )
        .await;
    }
    let mut addon = with(6, "cb_basic");
    addon["Addons"] = json!([vault("Provision", 2)]);
    for op in ["Addons/Create", "Addons/Update"] {
        let p = format!("/api/{op}");
        r.send("POST", &p, &p, Platform(&t), Json(addon.clone()))
            .await;
        r.send("POST", &p, &p, Auth::None, Json(addon.clone()))
            .await;
    }
    addon["Addons"] = json!([vault("Cancel", 2)]);
    r.send(
        "POST",
        "/api/Addons/Cancel",
        "/api/Addons/Cancel",
        Platform(&t),
        Json(addon.clone()),
    )
    .await;
    r.send(
        "POST",
        "/api/Addons/Cancel",
        "/api/Addons/Cancel",
        Auth::None,
        Json(addon),
    )
    .await;
    r.send(
        "POST",
        "/api/Subscriptions/Cancel",
        "/api/Subscriptions/Cancel",
        Platform(&t),
        Json(with(6, "cb_basic")),
    )
    .await;
    r.send(
        "POST",
        "/api/Subscriptions/Cancel",
        "/api/Subscriptions/Cancel",
        Platform(&t),
        Text(""),
    )
    .await;
    for p in [
        "/api/Ppu/usages",
        "/api/Ppu/billingitems",
        "/api/Assets/Create",
        "/api/Assets/Update",
        "/api/Assets/Cancel",
    ] {
        r.send("POST", p, p, Platform(&t), Json(json!({}))).await;
        r.send("POST", p, p, Auth::None, Json(json!({}))).await;
    }
    r.send(
        "POST",
        "/api/Users/{action}",
        "/api/Users/Create",
        Platform(&t),
        Json(json!({})),
    )
    .await;
    r.send(
        "POST",
        "/api/Users/{action}",
        "/api/Users/Create",
        Auth::None,
        Json(json!({})),
    )
    .await;

    // Shadow, rollback, delete.
    let sh = "/admin/v1/bindings/{hook}/{binding}/shadow";
    let (s, report) = r
        .send(
            "GET",
            sh,
            "/admin/v1/bindings/quantity-limits/min-max/shadow",
            Admin(&t),
            Empty,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{report}");
    r.send(
        "DELETE",
        sh,
        "/admin/v1/bindings/quantity-limits/min-max/shadow",
        Admin(&t),
        Empty,
    )
    .await;
    r.send(
        "DELETE",
        sh,
        "/admin/v1/bindings/quantity-limits/min-max/shadow",
        Admin(&t),
        Empty,
    )
    .await;
    r.send(
        "GET",
        sh,
        "/admin/v1/bindings/quantity-limits/min-max/shadow",
        Admin(&t),
        Empty,
    )
    .await;
    let rb = "/admin/v1/bindings/{hook}/{binding}/rollback";
    let (s, rolled) = r
        .send(
            "POST",
            rb,
            "/admin/v1/bindings/quantity-limits/min-max/rollback",
            Admin(&t),
            Empty,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{rolled}");
    r.send(
        "POST",
        rb,
        "/admin/v1/bindings/quantity-limits/absent/rollback",
        Admin(&t),
        Json(json!({"revision": 1})),
    )
    .await;
    let (s, _) = r
        .send(
            "PUT",
            b,
            "/admin/v1/bindings/precheck/temp",
            Admin(&t),
            Json(json!({"plugin": "spare", "config": {}})),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "spare is a quantity-limits plugin"
    );
    r.send(
        "PUT",
        b,
        "/admin/v1/bindings/quantity-limits/temp",
        Admin(&t),
        Json(json!({"plugin": "spare"})),
    )
    .await;
    let (s, _) = r
        .send(
            "DELETE",
            b,
            "/admin/v1/bindings/quantity-limits/temp",
            Admin(&t),
            Empty,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    r.send(
        "DELETE",
        b,
        "/admin/v1/bindings/quantity-limits/temp",
        Admin(&t),
        Empty,
    )
    .await;
    let dv = "/admin/v1/plugins/{name}/versions/{version}";
    r.send(
        "DELETE",
        dv,
        &format!("/admin/v1/plugins/min-max/versions/{version}"),
        Admin(&t),
        Empty,
    )
    .await;
    let spare_version = spare["version"].as_str().expect("version");
    let (s, _) = r
        .send(
            "DELETE",
            dv,
            &format!("/admin/v1/plugins/spare/versions/{spare_version}"),
            Admin(&t),
            Empty,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // Decision log.
    let (s, list) = r
        .send(
            "GET",
            "/admin/v1/invocations",
            "/admin/v1/invocations?binding=min-max",
            Admin(&t),
            Empty,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let invocation = list[0]["id"].as_str().expect("an invocation").to_string();
    r.send(
        "GET",
        "/admin/v1/invocations",
        "/admin/v1/invocations?limit=many",
        Admin(&t),
        Empty,
    )
    .await;
    r.send(
        "GET",
        "/admin/v1/invocations/{id}",
        &format!("/admin/v1/invocations/{invocation}"),
        Admin(&t),
        Empty,
    )
    .await;
    r.send(
        "GET",
        "/admin/v1/invocations/{id}",
        "/admin/v1/invocations/nothing",
        Admin(&t),
        Empty,
    )
    .await;
    let rp = "/admin/v1/invocations/{id}/replay";
    let (s, replayed) = r
        .send(
            "POST",
            rp,
            &format!("/admin/v1/invocations/{invocation}/replay"),
            Admin(&t),
            Json(json!({"config": {"default": {"min": 7}}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{replayed}");
    r.send(
        "POST",
        rp,
        "/admin/v1/invocations/nothing/replay",
        Admin(&t),
        Empty,
    )
    .await;
    let input: Value = serde_json::from_str(include_str!(
        "../../plugins/examples/min-max-quantity/fixtures/below-minimum.json"
    ))
    .expect("fixture");
    let (s, dry) = r
        .send(
            "POST",
            "/admin/v1/dry-run",
            "/admin/v1/dry-run",
            Admin(&t),
            Json(json!({"plugin": "min-max", "input": input["input"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{dry}");
    r.send(
        "POST",
        "/admin/v1/dry-run",
        "/admin/v1/dry-run",
        Admin(&t),
        Json(json!({"plugin": "absent", "input": input["input"]})),
    )
    .await;
    r.send(
        "GET",
        "/admin/v1/overview",
        "/admin/v1/overview",
        Admin(&t),
        Empty,
    )
    .await;
    r.send(
        "GET",
        "/admin/v1/overview",
        "/admin/v1/overview?window=long",
        Admin(&t),
        Empty,
    )
    .await;
    r.send(
        "GET",
        "/admin/v1/events",
        "/admin/v1/events?after=0",
        Admin(&t),
        Empty,
    )
    .await;
    r.send(
        "GET",
        "/admin/v1/events",
        "/admin/v1/events?after=start",
        Admin(&t),
        Empty,
    )
    .await;
    let sub = "/admin/v1/subscriptions/{external_id}";
    r.send(
        "GET",
        sub,
        &format!("/admin/v1/subscriptions/{id}"),
        Admin(&t),
        Empty,
    )
    .await;
    r.send(
        "GET",
        sub,
        "/admin/v1/subscriptions/nothing",
        Admin(&t),
        Empty,
    )
    .await;

    // Operator.
    let (s, other) = r
        .send(
            "POST",
            "/admin/v1/tenants",
            "/admin/v1/tenants",
            Operator(OPERATOR),
            Json(json!({"name": "other"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{other}");
    r.send(
        "POST",
        "/admin/v1/tenants",
        "/admin/v1/tenants",
        Operator(OPERATOR),
        Json(json!({"name": "twin", "application_id": other["application_id"]})),
    )
    .await;
    let other_id = other["tenant_id"].as_str().expect("tenant id");
    for (method, template, suffix, body) in [
        (
            "POST",
            "/admin/v1/tenants/{id}/api-key",
            "api-key",
            Json(json!({"keep_previous": true})),
        ),
        (
            "POST",
            "/admin/v1/tenants/{id}/admin-token",
            "admin-token",
            Empty,
        ),
        (
            "PUT",
            "/admin/v1/tenants/{id}/limits",
            "limits",
            Json(json!({"fuel": 20_000_000})),
        ),
    ] {
        let (s, answer) = r
            .send(
                method,
                template,
                &format!("/admin/v1/tenants/{other_id}/{suffix}"),
                Operator(OPERATOR),
                body,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{template}: {answer}");
        r.send(
            method,
            template,
            &format!("/admin/v1/tenants/nobody/{suffix}"),
            Operator(OPERATOR),
            Empty,
        )
        .await;
    }

    // Operations.
    for p in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        r.send("GET", p, p, Auth::None, Empty).await;
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let doc = dir.path().join("openapi.json");
    std::fs::write(&doc, pretty(&tollgate::http::openapi_spec())).expect("write");
    let records = dir.path().join("records.json");
    std::fs::write(&records, serde_json::to_vec(&r.records).expect("json")).expect("write");
    let out = run(std::process::Command::new(python)
        .arg(workspace().join("tests/contract/validate_responses.py"))
        .arg(&doc)
        .arg(&records));
    println!("{out}");
    server.stop().await;
}

/// Schemathesis generates requests for every documented operation from the
/// document (examples, boundary values, random valid data) and checks each
/// answer: never a server error, a documented status and content type, a
/// body matching its schema. Bounded (`TOLLGATE_FUZZ_EXAMPLES`, default 12
/// per operation) so CI stays short.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzing_finds_no_server_error_and_no_schema_mismatch() {
    let st = tool("schemathesis");
    let server = Server::with(options_with_operator()).await;
    let t = server.tenant("fuzz").await;
    t.put_catalog().await;
    t.bind_min_max().await;
    let examples = std::env::var("TOLLGATE_FUZZ_EXAMPLES").unwrap_or_else(|_| "12".into());
    let schema = format!("{}/openapi.json", server.url);
    let application = format!(
        "X-CloudPlatform-ApplicationId: {}",
        t.secrets.application_id
    );
    let key = format!("X-CloudPlatform-APIKey: {}", t.api_key_header());
    let admin = format!("Authorization: Bearer {}", t.secrets.admin_token);
    let operator = format!("Authorization: Bearer {OPERATOR}");
    // The operator's run last: it may rotate secrets.
    let runs: [(&[&str], &str); 2] = [
        (&["--exclude-tag", "Operator"], admin.as_str()),
        (&["--include-tag", "Operator"], operator.as_str()),
    ];
    for (filter, auth) in runs {
        let mut command = std::process::Command::new(&st);
        command
            .arg("run")
            .arg(&schema)
            .args(filter)
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                &examples,
                "--seed",
                "1",
                "--no-color",
                "-H",
                auth,
                "-H",
                &application,
                "-H",
                &key,
            ])
            .env("SCHEMATHESIS_HOOKS", "")
            .current_dir(std::env::temp_dir());
        let out = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("join")
            .expect("running schemathesis");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "schemathesis {filter:?} failed:\n{text}"
        );
        println!("{text}");
    }
    server.stop().await;
}

/// A client generated by `openapi-python-client` from the document: every
/// operation generated with no warning, then a short admin flow through it
/// against the real server (upload, bind, a platform call, dry-run, the
/// decision log).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_python_client_drives_the_admin_api() {
    let generator = tool("openapi-python-client");
    let python = tool("python");
    let server = Server::start().await;
    let t = server.tenant("client").await;
    t.put_catalog().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let doc = dir.path().join("openapi.json");
    std::fs::write(&doc, pretty(&tollgate::http::openapi_spec())).expect("write");
    let out = run(std::process::Command::new(generator)
        .args([
            "generate",
            "--fail-on-warning",
            "--meta",
            "none",
            "--config",
        ])
        .arg(workspace().join("tests/contract/client-config.yaml"))
        .arg("--path")
        .arg(&doc)
        .arg("--output-path")
        .arg(dir.path().join("tollgate_client")));
    assert!(!out.to_lowercase().contains("warning"), "{out}");
    let operations: Vec<String> = tollgate::http::openapi_spec()["paths"]
        .as_object()
        .expect("paths")
        .values()
        .flat_map(|item| item.as_object().expect("item").values())
        .map(|op| op["operationId"].as_str().expect("operationId").to_string())
        .collect();
    let script = workspace().join("tests/contract/client_flow.py");
    let mut command = std::process::Command::new(python);
    command
        .arg(script)
        .env("PYTHONPATH", dir.path())
        .env("TOLLGATE_URL", &server.url)
        .env("TOLLGATE_ADMIN_TOKEN", &t.secrets.admin_token)
        .env("TOLLGATE_APPLICATION_ID", &t.secrets.application_id)
        .env("TOLLGATE_API_KEY", t.api_key_header())
        .env(
            "TOLLGATE_SERVICE",
            create("c-1", "20417", 2, true).to_string(),
        )
        .env("TOLLGATE_PLUGIN", test_plugins::MIN_MAX_QUANTITY)
        .env("TOLLGATE_OPERATIONS", operations.join(","))
        .env(
            "TOLLGATE_FIXTURE",
            workspace().join("plugins/examples/min-max-quantity/fixtures/below-minimum.json"),
        );
    let out = tokio::task::spawn_blocking(move || run(&mut command))
        .await
        .expect("join");
    assert!(out.contains("admin flow passed"), "{out}");
    server.stop().await;
}
