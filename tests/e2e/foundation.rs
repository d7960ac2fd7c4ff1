//! The first vertical slice, over HTTP with real compiled plugins: the
//! platform's pre-check and real Subscriptions/Create against a tenant's
//! min/max plugin, authentication, and hostile plugins stopped by their
//! limits without hurting the next call.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn precheck_then_real_create_with_the_min_max_plugin() {
    let server = Server::start().await;
    let tenant = server.tenant("Northwind").await;
    tenant.bind_min_max().await;

    // A. check mode, quantity 2: rejected, naming the minimum and the product.
    let (status, body) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 2, true),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["Code"], -105, "{body}");
    assert_eq!(
        body["Message"],
        "The quantity 2 of cb_basic is below the minimum of 3."
    );
    assert_eq!(body["Result"], Value::Null);
    for key in ["AccountExtraInfo", "CustomFieldValues", "ExtraInfo"] {
        assert_eq!(body[key], json!({}), "{key}");
    }
    assert_eq!(body["SendNotification"], false);

    // B. check mode, quantity 5: accepted, nothing created.
    let (status, body) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 5, true),
        )
        .await;
    assert_eq!(
        (status, &body["Code"], &body["Result"]),
        (StatusCode::OK, &json!(0), &Value::Null),
        "{body}"
    );
    assert!(
        tenant.events(0).await.is_empty(),
        "check mode created nothing"
    );

    // C. real mode: provisioned, with a new external id.
    let (status, body) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 5, false),
        )
        .await;
    assert_eq!(
        (status, &body["Code"]),
        (StatusCode::OK, &json!(0)),
        "{body}"
    );
    let id = body["Result"].as_str().expect("external id").to_string();
    assert!(!id.is_empty());
    let sub = tenant.subscription(&id).await;
    assert_eq!(sub["quantity"], 5);
    assert_eq!(amount(&sub["resources"]["resources"], "storage_gb"), "100");

    // Above the maximum: -106.
    let (_, body) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-2", "20417", 51, true),
        )
        .await;
    assert_eq!(body["Code"], -106, "{body}");
    assert!(body["Message"].as_str().unwrap().contains("maximum of 50"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_query_parameter_also_selects_check_mode() {
    let server = Server::start().await;
    let tenant = server.tenant("Northwind").await;
    let (_, body) = tenant
        .call(
            "/API/subscriptions/CREATE/?CheckOnly=true",
            &create("p-1", "20417", 5, false),
        )
        .await;
    assert_eq!(
        (&body["Code"], &body["Result"]),
        (&json!(0), &Value::Null),
        "{body}"
    );
    assert!(tenant.events(0).await.is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_failures_all_look_the_same() {
    let server = Server::start().await;
    let tenant = server.tenant("Northwind").await;
    let body = create("p-1", "20417", 5, true);
    let expected = json!({"Code": -1, "Message": "Unauthorized", "Result": null});
    let http = client();
    let attempts: Vec<Vec<(&str, String)>> = vec![
        vec![],
        vec![(
            "X-CloudPlatform-ApplicationId",
            tenant.secrets.application_id.clone(),
        )],
        vec![
            (
                "X-CloudPlatform-ApplicationId",
                tenant.secrets.application_id.clone(),
            ),
            (
                "X-CloudPlatform-APIKey",
                "d3Jvbmcta2V5LXdyb25nLWtleQ==".into(),
            ),
        ],
        vec![
            (
                "X-CloudPlatform-ApplicationId",
                tenant.secrets.application_id.clone(),
            ),
            ("X-CloudPlatform-APIKey", "%%%not base64%%%".into()),
        ],
        vec![
            ("X-CloudPlatform-ApplicationId", "not-a-guid".into()),
            ("X-CloudPlatform-APIKey", tenant.api_key_header()),
        ],
        vec![
            (
                "X-CloudPlatform-ApplicationId",
                "00000000-0000-0000-0000-000000000000".into(),
            ),
            ("X-CloudPlatform-APIKey", tenant.api_key_header()),
        ],
        vec![
            (
                "X-CloudPlatform-ApplicationId",
                uuid::Uuid::new_v4().to_string(),
            ),
            ("X-CloudPlatform-APIKey", tenant.api_key_header()),
        ],
        // The key itself instead of its Base64: still wrong.
        vec![
            (
                "X-CloudPlatform-ApplicationId",
                tenant.secrets.application_id.clone(),
            ),
            ("X-CloudPlatform-APIKey", tenant.secrets.api_key.clone()),
        ],
    ];
    for headers in attempts {
        let mut request = http
            .post(format!("{}/api/Subscriptions/Create", server.url))
            .json(&body);
        for (k, v) in &headers {
            request = request.header(*k, v);
        }
        let (status, answer) = read(request.send().await.unwrap()).await;
        assert_eq!(
            (status, &answer),
            (StatusCode::UNAUTHORIZED, &expected),
            "{headers:?}"
        );
    }
    // The right credentials, with the GUID in braces and upper case.
    let response = http
        .post(format!("{}/api/Subscriptions/Create", server.url))
        .header(
            "X-CloudPlatform-ApplicationId",
            format!("{{{}}}", tenant.secrets.application_id.to_uppercase()),
        )
        .header(
            "X-CloudPlatform-APIKey",
            format!("  {}  ", tenant.api_key_header()),
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(read(response).await.1["Code"], 0);
    server.stop().await;
}

async fn hostile(plugin: &str, limits: Option<Value>) -> (Value, std::time::Duration, Value) {
    let server = Server::start().await;
    let tenant = server.tenant("Hostile").await;
    if let Some(limits) = limits {
        let parsed: tollgate::service::TenantLimits = serde_json::from_value(limits).unwrap();
        server
            .app
            .set_tenant_limits(&tenant.secrets.tenant_id, Some(parsed))
            .await
            .unwrap();
    }
    tenant.bind("precheck", "hostile", plugin, json!({})).await;
    let started = Instant::now();
    let (status, refused) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 5, true),
        )
        .await;
    let elapsed = started.elapsed();
    assert_eq!(status, StatusCode::OK);
    // The next call on the same server, same tenant, after the binding is
    // removed, is served normally.
    let (status, _) = tenant
        .admin_send(
            reqwest::Method::DELETE,
            "/bindings/precheck/hostile",
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, next) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 5, false),
        )
        .await;
    assert_eq!(next["Code"], 0, "{next}");
    server.app.flush_decisions().await;
    let (_, log) = tenant.admin_get("/invocations?binding=hostile").await;
    server.stop().await;
    (refused, elapsed, log[0].clone())
}

/// The platform's user reads a fixed sentence (`phrase`, the rule, the
/// TrackId); the failure's detail (`reason`) is in the tenant's decision
/// log only.
fn assert_refused(body: &Value, logged: &Value, phrase: &str, reason: &str) {
    assert_eq!(body["Code"], -1, "{body}");
    let message = body["Message"].as_str().unwrap();
    assert!(
        message.contains(&format!("rule \"hostile\" {phrase}")) && message.contains("TrackId"),
        "{message}"
    );
    assert!(
        !message.contains(reason),
        "the detail stays private: {message}"
    );
    let detail = logged["error"]["message"].as_str().unwrap();
    assert!(detail.contains(reason), "{detail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_infinite_loop_runs_out_of_fuel() {
    // The default fuel, and a deadline no machine reaches first: only fuel
    // can stop it.
    let (body, _, logged) = hostile(
        test_plugins::INFINITE_LOOP,
        Some(json!({"deadline_ms": 60_000, "call_budget_ms": 60_000})),
    )
    .await;
    assert_refused(&body, &logged, "took too long to decide", "ran out of fuel");
    assert_eq!(logged["error"]["kind"], "fuel-exhausted");
    assert_eq!(logged["fuel"], 10_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_infinite_loop_with_ample_fuel_misses_its_deadline() {
    // Fuel for hours: only the 100 ms deadline can stop it (without it the
    // call would end at the 8 s answer deadline with Code -4 instead).
    let (body, elapsed, logged) = hostile(
        test_plugins::INFINITE_LOOP,
        Some(json!({"fuel": 1_000_000_000_000u64, "deadline_ms": 100})),
    )
    .await;
    assert_refused(
        &body,
        &logged,
        "took too long to decide",
        "missed its deadline of 100 ms",
    );
    assert_eq!(logged["error"]["kind"], "deadline-exceeded");
    let ran = logged["duration_us"].as_u64().unwrap();
    assert!(ran >= 90_000, "stopped after {ran} µs, before its deadline");
    assert!(
        logged["fuel"].as_u64().unwrap() < 1_000_000_000_000,
        "{logged}"
    );
    assert!(elapsed >= std::time::Duration::from_millis(90));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_bomb_hits_the_memory_limit() {
    let (body, _, logged) = hostile(test_plugins::MEMORY_BOMB, None).await;
    assert_refused(
        &body,
        &logged,
        "ran out of memory",
        "exceeded its memory limit of 16777216 bytes",
    );
    assert_eq!(logged["error"]["kind"], "memory-limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbounded_recursion_overflows_the_stack() {
    let (body, _, logged) = hostile(test_plugins::DEEP_RECURSION, None).await;
    assert_refused(&body, &logged, "ran out of memory", "overflowed its stack");
    assert_eq!(logged["error"]["kind"], "stack-overflow");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_is_a_trap_with_its_message() {
    let (body, _, logged) = hostile(test_plugins::PANIC, None).await;
    assert_refused(
        &body,
        &logged,
        "stopped with an error",
        "deliberate panic for product cb_basic",
    );
    assert_eq!(logged["error"]["kind"], "trap");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_output_is_refused() {
    let (body, _, logged) = hostile(test_plugins::OVERSIZE_OUTPUT, None).await;
    assert_refused(
        &body,
        &logged,
        "gave an answer that could not be used",
        "over the 65536-byte output limit",
    );
    assert_eq!(logged["error"]["kind"], "oversize-output");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clock_and_random_are_the_same_for_the_same_input() {
    let server = Server::start().await;
    let tenant = server.tenant("Clocks").await;
    tenant
        .bind("precheck", "clock", test_plugins::CLOCK_RANDOM, json!({}))
        .await;
    let body = create("p-1", "20417", 5, true);
    let (_, first) = tenant.call("/api/Subscriptions/Create", &body).await;
    // The plugin's clock is the call's `now` (the injected clock, fixed at
    // T0 here), never the machine's: `wall` below would show real time.
    let (_, second) = tenant.call("/api/Subscriptions/Create", &body).await;
    assert_eq!(first["Code"], -150);
    assert_eq!(first["Message"], second["Message"]);
    let message = first["Message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("wall={T0} now={T0} slept=0 ")),
        "{message}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_reaches_no_file_environment_socket_or_stdin_and_keeps_no_state() {
    let server = Server::start().await;
    let tenant = server.tenant("Probe").await;
    tenant
        .bind(
            "precheck",
            "sandbox",
            test_plugins::V2_PROBE,
            json!({"probe": "sandbox"}),
        )
        .await;
    let body = create("p-1", "20417", 5, true);
    let (_, answer) = tenant.call("/api/Subscriptions/Create", &body).await;
    assert_eq!(answer["Code"], -150, "{answer}");
    let report = answer["Message"].as_str().unwrap();
    for denied in [
        "read=denied",
        "list_root=denied",
        "list_cwd=denied",
        "write=denied",
        "env=0 ",
        "args=0 ",
        "stdin=0 ",
        "tcp=err(",
        "udp=err(",
        "dns=err(",
    ] {
        assert!(report.contains(denied), "{denied} in {report}");
    }
    // A static counter in the plugin: every call starts from a fresh
    // instance, on the same server and the same compiled plugin.
    tenant
        .admin_send(
            reqwest::Method::DELETE,
            "/bindings/precheck/sandbox",
            &json!({}),
        )
        .await;
    tenant
        .bind(
            "precheck",
            "state",
            test_plugins::V2_PROBE,
            json!({"probe": "state"}),
        )
        .await;
    for _ in 0..3 {
        let (_, answer) = tenant.call("/api/Subscriptions/Create", &body).await;
        assert_eq!(answer["Message"], "calls=1", "{answer}");
    }
    server.stop().await;
}
