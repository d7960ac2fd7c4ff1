//! Platform conformance: lenient where the spec says so (unknown
//! `ActionType`s, settings in any script), scopes that match what the call
//! is about (add-on products, product codes, operations), the resource
//! calculation only where a plan is computed, settings checked wherever they
//! travel, the TrackId on every `/api` answer, and an overall answer
//! deadline that never leaves a half-done write.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

fn create_with_action(action: Value) -> Value {
    let mut body = create(&format!("p-{}", uuid::Uuid::new_v4()), "20417", 5, true);
    body["ActionType"] = action;
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_action_types_are_tolerated_on_every_endpoint_and_reach_v2_plugins() {
    let server = Server::start().await;
    let tenant = server.tenant("Lenient").await;
    // The v2 probe rejects an `other` action with -151 naming the text.
    tenant
        .bind(
            "precheck",
            "probe",
            test_plugins::V2_PRECHECK,
            json!({"max": 100}),
        )
        .await;
    for (action, text) in [
        (json!("Migrate"), "Migrate"),
        (json!(9), "9"),
        (json!("  MIGRATE "), "MIGRATE"),
    ] {
        let (status, answer) = tenant
            .call(
                "/api/Subscriptions/Create",
                &create_with_action(action.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{action}: {answer}");
        assert_eq!(answer["Code"], -151, "{action}: {answer}");
        assert!(
            answer["Message"].as_str().unwrap().contains(text),
            "{answer}"
        );
    }
    // Missing: none, accepted.
    let mut body = create_with_action(json!(null));
    body.as_object_mut().unwrap().remove("ActionType");
    let (_, answer) = tenant.call("/api/Subscriptions/Create", &body).await;
    assert_eq!(answer["Code"], 0, "{answer}");
    // A real subscription, then every other endpoint that reads one.
    let (_, created) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-real", "20417", 5, false),
        )
        .await;
    let id = created["Result"].as_str().unwrap().to_string();
    let (status, _) = tenant
        .admin_put(
            "/bindings/precheck/probe",
            &json!({"plugin": "probe", "config": {"max": 100}, "scope": {"operations": ["subscription-create"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for endpoint in [
        "Subscriptions/Update",
        "Subscriptions/Suspend",
        "Subscriptions/Activate",
        "Subscriptions/UpgradeToPaid",
        "Subscriptions/UpgradeDowngrade",
    ] {
        for action in [json!("Migrate"), json!(42)] {
            let mut body = service(&id, "p-real", "20417", "cb_basic", 5, true);
            body["ActionType"] = action.clone();
            let (status, answer) = tenant.call(&format!("/api/{endpoint}"), &body).await;
            assert_eq!(status, StatusCode::OK, "{endpoint} {action}: {answer}");
            assert_eq!(answer["Code"], 0, "{endpoint} {action}: {answer}");
        }
    }
    // An add-on with an unknown action beside the acted one.
    let mut body = service(&id, "p-real", "20417", "cb_basic", 5, true);
    let mut odd = vault("Migrate", 1);
    odd["ProductID"] = json!("odd");
    body["Addons"] = json!([vault("Provision", 2), odd]);
    let (_, answer) = tenant.call("/api/Addons/Create", &body).await;
    assert_eq!(answer["Code"], 0, "{answer}");
    // Only a non-scalar is a type error.
    let (status, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create_with_action(json!({"x": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer["Message"].as_str().unwrap().contains("ActionType"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_binding_scoped_to_an_addon_product_limits_that_addon_only() {
    let server = Server::start().await;
    let tenant = server.tenant("Scopes").await;
    // min 3 for anything it is asked about, scoped to the Vault Pack.
    tenant
        .bind_with(
            "quantity-limits",
            "vault-min",
            test_plugins::FIXED_MIN_3,
            json!({"scope": {"product_ids": ["cb_vault_pack"]}}),
        )
        .await;
    let (_, created) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 1, false),
        )
        .await;
    assert_eq!(
        created["Code"], 0,
        "the parent's quantity 1 is not its business: {created}"
    );
    let id = created["Result"].as_str().unwrap().to_string();
    let mut body = service(&id, "p-1", "20417", "cb_basic", 1, true);
    body["Addons"] = json!([vault("Provision", 2)]);
    let (_, answer) = tenant.call("/api/Addons/Create", &body).await;
    assert_eq!(
        answer["Code"], -105,
        "the add-on's own quantity is: {answer}"
    );
    body["Addons"] = json!([vault("Provision", 4)]);
    let (_, answer) = tenant.call("/api/Addons/Create", &body).await;
    assert_eq!(answer["Code"], 0, "{answer}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_product_scope_matches_a_call_sent_with_the_products_code() {
    let server = Server::start().await;
    let tenant = server.tenant("Codes").await;
    let mut catalog: Value =
        serde_json::from_str(include_str!("../../examples/catalog.json")).unwrap();
    let products = catalog
        .pointer_mut("/ProductTypes/0/ProductsCollection/Products")
        .unwrap();
    let business = products
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["ID"] == "cb_business")
        .unwrap();
    business["Code"] = json!("CB-BIZ");
    let (status, body) = tenant.admin_put("/catalog", &catalog).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    tenant
        .bind_with(
            "quantity-limits",
            "business-min",
            test_plugins::FIXED_MIN_3,
            json!({"scope": {"product_ids": ["cb_business"]}}),
        )
        .await;
    let mut by_code = create("p-code", "20417", 1, true);
    by_code["ProductID"] = json!("CB-BIZ");
    let (_, answer) = tenant.call("/api/Subscriptions/Create", &by_code).await;
    assert_eq!(
        answer["Code"], -105,
        "matched through the catalogue: {answer}"
    );
    let (_, other) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-basic", "20417", 1, true),
        )
        .await;
    assert_eq!(other["Code"], 0, "{other}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rule_scoped_to_cancellations_never_runs_on_creates() {
    let server = Server::start().await;
    let tenant = server.tenant("Operations").await;
    tenant
        .bind_with(
            "precheck",
            "cancel-only",
            test_plugins::PANIC,
            json!({"scope": {"operations": ["subscription-cancel"]}}),
        )
        .await;
    let (_, created) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 5, false),
        )
        .await;
    assert_eq!(created["Code"], 0, "{created}");
    server.app.flush_decisions().await;
    let (_, log) = tenant.admin_get("/invocations").await;
    assert_eq!(log, json!([]), "never instantiated on a create");
    let id = created["Result"].as_str().unwrap();
    let (_, cancelled) = tenant
        .call(
            "/api/Subscriptions/Cancel",
            &service(id, "p-1", "20417", "cb_basic", 5, false),
        )
        .await;
    assert_eq!(
        cancelled["Code"], -1,
        "it runs (and traps) on a cancel: {cancelled}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancel_never_fails_on_attribute_values_and_a_resources_plugin_reads_them_first() {
    let server = Server::start().await;
    let tenant = server.tenant("Resources").await;
    let (_, created) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 5, false),
        )
        .await;
    let id = created["Result"].as_str().unwrap().to_string();
    let mut garbled = service(&id, "p-1", "20417", "cb_basic", 5, false);
    garbled["AttributeList"]["storage_gb"]["Value"] = json!("twenty");
    // The built-in calculation refuses the value where it computes a plan...
    let (_, update) = tenant.call("/api/Subscriptions/Update", &garbled).await;
    assert_eq!(update["Code"], -2, "{update}");
    // ...never on a cancel, which removes everything.
    let (_, cancel) = tenant.call("/api/Subscriptions/Cancel", &garbled).await;
    assert_eq!(cancel["Code"], 0, "{cancel}");
    // A bound resources plugin sees the raw value before the built-in one.
    tenant
        .bind(
            "resources",
            "storage",
            test_plugins::STORAGE_RESOURCES,
            json!({"base_gb": 10}),
        )
        .await;
    let mut fresh = create("p-2", "20417", 5, false);
    fresh["AttributeList"]["storage_gb"]["Value"] = json!("twenty");
    let (_, answer) = tenant.call("/api/Subscriptions/Create", &fresh).await;
    assert_eq!(answer["Code"], -110, "the plugin's own refusal: {answer}");
    server.stop().await;
}

async fn put_setup(tenant: &Tenant) {
    let setup: Value =
        serde_json::from_str(include_str!("../../examples/setup-fields.json")).unwrap();
    let (status, body) = tenant.admin_put("/setup-fields", &setup).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_in_any_script_reach_plugins_and_required_ones_are_checked_on_accounts_too() {
    let server = Server::start().await;
    let mut tenant = server.tenant("Settings").await;
    put_setup(&tenant).await;
    // Accounts/* without the required settings: Code -2 naming the field.
    for path in [
        "/api/Accounts/Synchronize",
        "/api/Accounts/Exists",
        "/api/Accounts/Delete",
    ] {
        let (status, answer) = tenant.call(path, &account("20417")).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(answer["Code"], -2, "{path}: {answer}");
        assert!(
            answer["Message"]
                .as_str()
                .unwrap()
                .contains("FieldUsername"),
            "{answer}"
        );
    }
    tenant.settings = vec![
        ("FieldUsername".into(), "Ελένη Μάρκου".into()),
        ("FieldPassword".into(), "S3cret".into()),
        ("FieldUri".into(), "https://api.vendor.example".into()),
        ("FieldRegion".into(), "1".into()),
    ];
    let (_, synced) = tenant
        .call("/api/Accounts/Synchronize", &account("20417"))
        .await;
    assert_eq!(synced["Code"], 0, "{synced}");
    tenant
        .bind(
            "precheck",
            "probe",
            test_plugins::V2_PRECHECK,
            json!({"max": 100}),
        )
        .await;
    let (_, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 5, true),
        )
        .await;
    assert_eq!(answer["Code"], 0, "{answer}");
    server.app.flush_decisions().await;
    let (_, log) = tenant.admin_get("/invocations").await;
    let settings = &log[0]["input"]["request"]["settings"];
    assert!(
        settings.to_string().contains("Ελένη Μάρκου"),
        "non-ASCII UTF-8 values are read: {settings}"
    );
    assert!(
        !settings.to_string().contains("S3cret"),
        "passwords never reach plugins"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_api_answer_echoes_the_trackid_unknown_paths_too() {
    let server = Server::start().await;
    let tenant = server.tenant("Tracked").await;
    let http = client();
    for (method, path) in [
        (reqwest::Method::POST, "/api/Nothing/Here"),
        (reqwest::Method::GET, "/api/Subscriptions/Create"),
        (reqwest::Method::POST, "/api/Subscriptions/Create"),
    ] {
        let response = http
            .request(method.clone(), format!("{}{path}", server.url))
            .header("X-CloudPlatform-TrackId", "track-42")
            .header(
                "X-CloudPlatform-ApplicationId",
                &tenant.secrets.application_id,
            )
            .header("X-CloudPlatform-APIKey", tenant.api_key_header())
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["x-cloudplatform-trackid"],
            "track-42",
            "{method} {path} answered {}",
            response.status()
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_not_decided_by_the_answer_deadline_is_code_4_and_writes_nothing() {
    let mut options = Options::default();
    options.config.answer_deadline = Duration::from_millis(300);
    options.config.tenant_concurrency = 1;
    let server = Server::with(options).await;
    let tenant = server.tenant("Deadline").await;
    let limits = tollgate::service::TenantLimits {
        fuel: Some(1_000_000_000_000),
        deadline_ms: Some(3_000),
        ..Default::default()
    };
    server.set_limits(&tenant, limits).await;
    tenant
        .upload("loop", test_plugins::bytes(test_plugins::INFINITE_LOOP))
        .await;
    tenant
        .bind(
            "quantity-limits",
            "gate",
            test_plugins::FIXED_MIN_1,
            json!({}),
        )
        .await;
    // A dry run holds the tenant's only plugin slot for 3 s.
    let holder = {
        let tenant = tenant.clone();
        tokio::spawn(async move {
            let input = json!({"request": {"operation": "subscription-create", "product_id": "x", "quantity": 1}});
            tenant
                .admin_post("/dry-run", &json!({"plugin": "loop", "input": input}))
                .await
        })
    };
    let mut waited = 0;
    while server.app.plugin_calls_running() == 0 {
        assert!(waited < 2000, "the dry run never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
        waited += 1;
    }
    let before = server.state().await;
    let response = client()
        .post(format!("{}/api/Subscriptions/Create", server.url))
        .header(
            "X-CloudPlatform-ApplicationId",
            &tenant.secrets.application_id,
        )
        .header("X-CloudPlatform-APIKey", tenant.api_key_header())
        .json(&create("p-1", "20417", 5, false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let (_, answer) = read(response).await;
    assert_eq!(answer["Code"], -4, "{answer}");
    assert!(
        answer["Message"].as_str().unwrap().contains("300 ms"),
        "{answer}"
    );
    assert_eq!(server.state().await, before, "nothing half written");
    assert!(server.metric("tollgate_budget_refusals_total{budget=\"answer-deadline\"}") >= 1.0);
    let _ = holder.await;
    server.stop().await;
}
