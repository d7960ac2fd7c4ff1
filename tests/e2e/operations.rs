//! The operator's view and scale-out: Prometheus metrics move with traffic,
//! JSON logs carry the call's identity, readiness checks the database,
//! shutdown finishes in-flight calls — and several instances on one
//! PostgreSQL behave as one.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn sample(metrics: &str, line_start: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_after_calls_and_a_rejected_upload() {
    let server = Server::start().await;
    let tenant = server.tenant("Metered").await;
    tenant
        .bind(
            "quantity-limits",
            "min-max",
            test_plugins::MIN_MAX_QUANTITY,
            min_max_config(),
        )
        .await;
    let scrape = || async {
        client()
            .get(format!("{}/metrics", server.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let before = scrape().await;
    let refused =
        r#"tollgate_requests_total{endpoint="Subscriptions/Create",mode="check",code="-105"}"#;
    let accepted =
        r#"tollgate_requests_total{endpoint="Subscriptions/Create",mode="real",code="0"}"#;
    let invoked = r#"tollgate_hook_invocations_total{hook="quantity-limits",outcome="limits",error_kind="none"}"#;
    let durations = r#"tollgate_plugin_duration_seconds_count{hook="quantity-limits"}"#;
    let fuel = r#"tollgate_plugin_fuel_count{hook="quantity-limits"}"#;
    let rejected_upload = r#"tollgate_upload_rejections_total{reason="not-wasm"}"#;

    tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 2, true),
        )
        .await;
    tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 2, true),
        )
        .await;
    tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 5, false),
        )
        .await;
    let (status, _) = tenant.upload("junk", b"not a component".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    server.app.flush_decisions().await;
    let after = scrape().await;

    assert_eq!(
        sample(&after, refused) - sample(&before, refused),
        2.0,
        "{after}"
    );
    assert_eq!(sample(&after, accepted) - sample(&before, accepted), 1.0);
    assert_eq!(sample(&after, invoked) - sample(&before, invoked), 3.0);
    assert_eq!(sample(&after, durations) - sample(&before, durations), 3.0);
    assert_eq!(sample(&after, fuel) - sample(&before, fuel), 3.0);
    assert_eq!(
        sample(&after, rejected_upload) - sample(&before, rejected_upload),
        1.0
    );
    // Three call records, their three shared inputs and three invocation
    // records.
    assert_eq!(
        sample(&after, "tollgate_decision_records_written_total")
            - sample(&before, "tollgate_decision_records_written_total"),
        9.0,
        "{after}"
    );
    // Histogram buckets are cumulative and end with +Inf = count.
    let inf = sample(
        &after,
        r#"tollgate_plugin_duration_seconds_bucket{le="+Inf",hook="quantity-limits"}"#,
    );
    assert_eq!(inf, sample(&after, durations));
    let response = client()
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text; version=1.0.0")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_docs() {
    let server = Server::start().await;
    let http = client();
    let (status, body) = read(
        http.get(format!("{}/healthz", server.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
    let (status, body) = read(
        http.get(format!("{}/readyz", server.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );
    let (status, spec) = read(
        http.get(format!("{}/openapi.json", server.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(spec["paths"]["/api/Subscriptions/Create"]["post"].is_object());
    assert!(spec["paths"]["/admin/v1/bindings/{hook}/{binding}"]["put"].is_object());
    let docs = http
        .get(format!("{}/docs", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.headers()["content-type"], "text/html; charset=utf-8");
    let html = docs.text().await.unwrap();
    assert!(html.contains("fetch('openapi.json')"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the docs page fetches nothing from elsewhere"
    );
    // Readiness follows the database.
    server.app.store().close().await;
    let (status, body) = read(
        http.get(format!("{}/readyz", server.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("not ready"))
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_calls() {
    let server = Server::start().await;
    let tenant = server.tenant("Slow").await;
    // A plugin that takes its whole 300 ms deadline.
    let slow: tollgate::service::TenantLimits =
        serde_json::from_value(json!({"fuel": 1_000_000_000_000u64, "deadline_ms": 300})).unwrap();
    server
        .app
        .set_tenant_limits(&tenant.secrets.tenant_id, Some(slow))
        .await
        .unwrap();
    tenant
        .bind_with(
            "precheck",
            "slow",
            test_plugins::INFINITE_LOOP,
            json!({"on_failure": "allow"}),
        )
        .await;
    let t = tenant.clone();
    let in_flight = tokio::spawn(async move {
        t.call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 4, false),
        )
        .await
    });
    // Wait until the call is inside its plugin, then shut down.
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while server.app.plugin_calls_running() == 0 {
            assert!(
                !in_flight.is_finished(),
                "the call ended before it was observed running"
            );
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the call reaches its plugin within 30 s");
    server.stop().await;
    let (status, answer) = in_flight.await.unwrap();
    assert_eq!(
        (status, &answer["Code"]),
        (StatusCode::OK, &json!(0)),
        "the in-flight call was finished: {answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_call_identity() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let (_, out, _) = run_cli(&[
        "tenant",
        "create",
        "--name",
        "Logged",
        "--data-dir",
        data_dir,
    ]);
    let secrets: tollgate::service::TenantSecrets = serde_json::from_str(out.trim()).unwrap();
    let server = spawn_server(&["serve", "--data-dir", data_dir], &[]);
    let tenant = Tenant::new(&server.url, secrets.clone());
    let version = tenant
        .bind(
            "quantity-limits",
            "min-max",
            test_plugins::MIN_MAX_QUANTITY,
            min_max_config(),
        )
        .await;
    let track = "4b7f3d1e-0000-4000-8000-00000000abcd";
    let response = tenant
        .http
        .post(format!("{}/api/Subscriptions/Create", server.url))
        .header("X-CloudPlatform-ApplicationId", &secrets.application_id)
        .header("X-CloudPlatform-APIKey", tenant.api_key_header())
        .header("X-CloudPlatform-TrackId", track)
        .json(&create("p-1", "20417", 2, true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-cloudplatform-trackid"], track);
    // The server logs asynchronously: wait (bounded) for the call's line.
    let lines = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            let lines = server.log_lines();
            if lines
                .iter()
                .any(|l| l["message"] == "platform call" && l["track_id"] == track)
            {
                break lines;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the call's log lines within 30 s");
    let hook = lines
        .iter()
        .find(|l| l["message"] == "hook invoked" && l["track_id"] == track)
        .expect("hook log line");
    assert_eq!(hook["tenant"], secrets.tenant_id.as_str());
    assert_eq!(
        (
            hook["hook"].as_str(),
            hook["binding"].as_str(),
            hook["version"].as_str()
        ),
        (
            Some("quantity-limits"),
            Some("min-max"),
            Some(version.as_str())
        )
    );
    let answered = lines
        .iter()
        .find(|l| l["message"] == "call answered" && l["track_id"] == track)
        .expect("call log line");
    assert_eq!(
        (answered["code"].as_i64(), answered["tenant"].as_str()),
        (Some(-105), Some(secrets.tenant_id.as_str()))
    );
    assert!(
        lines
            .iter()
            .all(|l| !l.to_string().contains(&secrets.api_key)),
        "the API key is never logged"
    );
}

/// Two instances on one PostgreSQL database behave as one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_share_one_truth() {
    if !is_postgres() {
        eprintln!(
            "skipped: set TOLLGATE_TEST_POSTGRES_URL (see .ci/postgres.sh) to run the scale-out test"
        );
        return;
    }
    let db = database().await;
    let (code, out, err) = run_cli(&[
        "tenant",
        "create",
        "--name",
        "Scaled",
        "--database",
        &db.url,
    ]);
    assert_eq!(code, 0, "{err}");
    let secrets: tollgate::service::TenantSecrets = serde_json::from_str(out.trim()).unwrap();
    let dir1 = tempfile::tempdir().unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let one = spawn_server(
        &[
            "serve",
            "--database",
            &db.url,
            "--data-dir",
            dir1.path().to_str().unwrap(),
        ],
        &[],
    );
    let two = spawn_server(
        &[
            "serve",
            "--database",
            &db.url,
            "--data-dir",
            dir2.path().to_str().unwrap(),
        ],
        &[],
    );
    let via1 = Tenant::new(&one.url, secrets.clone());
    let via2 = Tenant::new(&two.url, secrets.clone());
    let check = create("p-check", "20417", 2, true);

    // Activation through instance 1 is enforced by instance 2's next call.
    let (_, v3) = via1
        .upload("min-max", test_plugins::bytes(test_plugins::FIXED_MIN_3))
        .await;
    via1.admin_put(
        "/bindings/quantity-limits/min-max",
        &json!({"plugin": "min-max", "version": v3["version"]}),
    )
    .await;
    assert_eq!(
        via2.call("/api/Subscriptions/Create", &check).await.1["Code"],
        -105
    );
    let (_, v1) = via1
        .upload("min-max", test_plugins::bytes(test_plugins::FIXED_MIN_1))
        .await;
    via1.admin_put(
        "/bindings/quantity-limits/min-max",
        &json!({"plugin": "min-max", "version": v1["version"]}),
    )
    .await;
    assert_eq!(
        via2.call("/api/Subscriptions/Create", &check).await.1["Code"],
        0
    );
    // Rollback through instance 2, enforced by instance 1.
    via2.admin_post("/bindings/quantity-limits/min-max/rollback", &json!({}))
        .await;
    assert_eq!(
        via1.call("/api/Subscriptions/Create", &check).await.1["Code"],
        -105
    );

    // Parallel creates of one platform subscription through both: one.
    let mut tasks = Vec::new();
    for i in 0..16 {
        let t = if i % 2 == 0 {
            via1.clone()
        } else {
            via2.clone()
        };
        tasks.push(tokio::spawn(async move {
            t.call(
                "/api/Subscriptions/Create",
                &create("same", "20417", 5, false),
            )
            .await
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        let (_, answer) = t.await.unwrap();
        assert_eq!(answer["Code"], 0, "{answer}");
        ids.insert(answer["Result"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1);

    // Many changes through both: the feed has one gap-free cursor order.
    let id = ids.into_iter().next().unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let t = if i % 2 == 0 {
            via1.clone()
        } else {
            via2.clone()
        };
        let body = if i % 4 == 0 {
            create(&format!("other-{i}"), "20417", 5, false)
        } else {
            let mut b = service(&id, "same", "20417", "cb_basic", 5, false);
            // The rolled-back binding (minimum 3) also applies to add-ons.
            let mut addon = vault("Provision", 3);
            addon["ProductID"] = json!(format!("addon_{i:02}"));
            b["Addons"] = json!([addon]);
            b
        };
        let path = if i % 4 == 0 {
            "/api/Subscriptions/Create"
        } else {
            "/api/Addons/Create"
        };
        tasks.push(tokio::spawn(async move { t.call(path, &body).await }));
    }
    for t in tasks {
        let (_, answer) = t.await.unwrap();
        assert_eq!(answer["Code"], 0, "{answer}");
    }
    let events = via2.events(0).await;
    let cursors: Vec<i64> = events
        .iter()
        .map(|e| e["cursor"].as_i64().unwrap())
        .collect();
    assert_eq!(
        cursors,
        (1..=21).collect::<Vec<_>>(),
        "one subscription.created + 20 changes, gap-free"
    );
    let sub = via1.subscription(&id).await;
    assert_eq!(
        sub["addons"].as_array().unwrap().len(),
        15,
        "no add-on lost across instances"
    );
    let _ = (Value::Null, one, two);
}

/// Every path and method the OpenAPI document lists is routed (never 404
/// or 405), so the docs cannot promise what the server does not serve.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_served() {
    let server = Server::start().await;
    let spec = tollgate::http::openapi_spec();
    let http = client();
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{hook}", "precheck")
            .replace("{binding}", "b")
            .replace("{name}", "n")
            .replace("{id}", "x")
            .replace("{external_id}", "x")
            .replace("{action}", "Get");
        for method in item.as_object().unwrap().keys() {
            let method: reqwest::Method = method.to_uppercase().parse().unwrap();
            let response = http
                .request(method.clone(), format!("{}{concrete}", server.url))
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = response.status();
            assert!(
                status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED
                    || path.contains('{'),
                "{method} {path}: {status}"
            );
            // Unauthenticated: the API answers 401 rather than serving.
            if path.starts_with("/api") || path.starts_with("/admin") {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
            }
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked} operations");
    server.stop().await;
}
