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

/// The store's connections show by pool and state: the shared pool
/// always, and on PostgreSQL the call path's own connections, which a
/// pre-check used and handed back (idle, none in use once its records are
/// written).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stores_connections_show_in_the_metrics() {
    let server = Server::start().await;
    let tenant = server.tenant("Connected").await;
    tenant.bind_min_max().await;
    let series = |pool: &str, state: &str| {
        format!(r#"tollgate_store_connections{{pool="{pool}",state="{state}"}}"#)
    };
    let (_, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 2, true),
        )
        .await;
    assert_eq!(answer["Code"], -105, "{answer}");
    server.app.flush_decisions().await;
    let text = metrics_text(&client(), &server.url).await;
    let shared =
        sample(&text, &series("shared", "idle")) + sample(&text, &series("shared", "in-use"));
    assert!(shared >= 1.0, "{text}");
    let call_path = series("call-path", "idle");
    if is_postgres() {
        assert!(sample(&text, &call_path) >= 1.0, "{text}");
        assert_eq!(sample(&text, &series("call-path", "in-use")), 0.0, "{text}");
    } else {
        assert!(!text.contains(&call_path), "{text}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_after_calls_and_a_rejected_upload() {
    let server = Server::start().await;
    let tenant = server.tenant("Metered").await;
    tenant.bind_min_max().await;
    let http = client();
    let scrape = || metrics_text(&http, &server.url);
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
    // Wait (bounded) until the call is inside its plugin, then shut down.
    eventually("the call reaches its plugin", || {
        assert!(
            !in_flight.is_finished(),
            "the call ended before it was observed running"
        );
        server.app.plugin_calls_running() > 0
    })
    .await;
    server.stop().await;
    let (status, answer) = in_flight.await.unwrap();
    assert_eq!(
        (status, &answer["Code"]),
        (StatusCode::OK, &json!(0)),
        "the in-flight call was finished: {answer}"
    );
}

/// `tollgate_open_connections` of a server, scraped over `scraper`'s one
/// kept-alive connection (itself counted).
async fn open_connections(scraper: &reqwest::Client, url: &str) -> f64 {
    let text = metrics_text(scraper, url).await;
    sample(&text, "tollgate_open_connections")
}

async fn until_open_connections(scraper: &reqwest::Client, url: &str, n: f64) {
    let started = std::time::Instant::now();
    loop {
        let open = open_connections(scraper, url).await;
        if open == n {
            return;
        }
        assert!(
            started.elapsed() < PROCESS_WAIT,
            "{open} connections open, waiting for {n}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

/// A platform call written whole on a connection of its own; read its
/// answer with [`raw_answer`].
async fn raw_call(url: &str, tenant: &Tenant, path: &str, body: &Value) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let body = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: tollgate\r\nX-CloudPlatform-ApplicationId: {}\r\nX-CloudPlatform-APIKey: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        tenant.secrets.application_id,
        tenant.api_key_header(),
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(url.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// (status, JSON body) of the answer on a [`raw_call`]'s connection.
async fn raw_answer(mut stream: tokio::net::TcpStream) -> (u16, Value) {
    use tokio::io::AsyncReadExt;
    let mut text = String::new();
    tokio::time::timeout(PROCESS_WAIT, stream.read_to_string(&mut text))
        .await
        .expect("the answer within the wait")
        .expect("reading the answer");
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// SIGTERM, as an orchestrator sends it, on the real binary: the call in
/// flight is finished (answered, committed, recorded), then the process
/// exits 0; decision records still pending are written before it exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_calls_and_writes_pending_records_then_exits() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let secrets = cli_tenant("Term", data_dir);
    // Its plugin runs for 1.5 s (its deadline; fuel for hours), and its
    // failure is allowed: the call in flight answers 0 and commits.
    let limits = r#"{"fuel": 1000000000000000, "deadline_ms": 1500, "call_budget_ms": 1500}"#;
    let (code, out, err) = run_cli(&[
        "tenant",
        "set-limits",
        "--tenant",
        &secrets.tenant_id,
        "--limits",
        limits,
        "--data-dir",
        data_dir,
    ]);
    assert_eq!(code, 0, "{err}");
    let printed: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(printed["limits"]["deadline_ms"], 1500, "{out}");

    let mut server = spawn_server(&["serve", "--data-dir", data_dir], &[]);
    {
        let setup = Tenant::new(&server.url, secrets.clone());
        setup
            .bind_with(
                "precheck",
                "slow",
                test_plugins::INFINITE_LOOP,
                json!({"on_failure": "allow"}),
            )
            .await;
    } // its client, and so its connection, is gone
    let scraper = client();
    until_open_connections(&scraper, &server.url, 1.0).await;
    let tenant = Tenant::new(&server.url, secrets.clone());
    let in_flight = raw_call(
        &server.url,
        &tenant,
        "/api/Subscriptions/Create",
        &create("p-term", "20417", 4, false),
    )
    .await;
    // Its connection is being served (the request was written before).
    until_open_connections(&scraper, &server.url, 2.0).await;
    drop(scraper);
    server.terminate();
    let (status, answer) = raw_answer(in_flight).await;
    assert_eq!((status, &answer["Code"]), (200, &json!(0)), "{answer}");
    let id = answer["Result"].as_str().unwrap().to_string();
    let exited = server.exited_within(PROCESS_WAIT).await;
    assert!(
        exited.is_some_and(|s| s.success()),
        "{exited:?}: {}",
        server.stderr()
    );
    assert!(
        server
            .log_lines()
            .iter()
            .any(|l| l["message"] == "shutting down: finishing in-flight calls"),
        "{}",
        server.stderr()
    );

    // After a restart: the call's state and its decision record are there.
    let mut server = spawn_server(&["serve", "--data-dir", data_dir], &[]);
    let tenant = Tenant::new(&server.url, secrets.clone());
    let sub = tenant.subscription(&id).await;
    assert_eq!(
        (
            sub["platform_subscription_id"].as_str(),
            sub["quantity"].as_i64()
        ),
        (Some("p-term"), Some(4)),
        "{sub}"
    );
    let (_, logged) = tenant.admin_get("/invocations?binding=slow").await;
    assert_eq!(logged[0]["error"]["kind"], "deadline-exceeded", "{logged}");
    assert_eq!(
        logged[0]["input"]["request"]["platform_subscription_id"],
        "p-term"
    );

    // Pending records: another connection holds the write lock, a call is
    // answered (its records wait), SIGTERM: the process waits for them.
    tenant
        .admin_send(
            reqwest::Method::DELETE,
            "/bindings/precheck/slow",
            &json!({}),
        )
        .await;
    tenant.bind_min_max().await;
    let db_url = format!("sqlite://{data_dir}/tollgate.db");
    let lock = DecisionLock::hold(&db_url).await;
    let (_, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-pending", "20417", 2, true),
        )
        .await;
    assert_eq!(answer["Code"], -105, "{answer}");
    server.terminate();
    let early = server
        .exited_within(std::time::Duration::from_millis(500))
        .await;
    assert!(
        early.is_none(),
        "the process exited ({early:?}) with decision records pending"
    );
    lock.release().await;
    let exited = server.exited_within(PROCESS_WAIT).await;
    assert!(exited.is_some_and(|s| s.success()), "{exited:?}");
    let store = tollgate::store::Store::open(&db_url).await.unwrap();
    let calls = store.calls(&secrets.tenant_id, 10).await.unwrap();
    assert_eq!(
        (calls[0].code, calls[0].check_only),
        (-105, true),
        "the pending call record was written before the exit"
    );
    let invocations = store.dump_table("invocations").await.unwrap();
    assert!(
        invocations
            .iter()
            .any(|row| row.contains("p-pending") || row.contains("min-max")),
        "{invocations:?}"
    );
    store.close().await;
}

/// Decision records still waiting for the writer when shutdown begins are
/// written before `serve` returns. Another connection holds the
/// decision-log tables, so they stay pending until it lets go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_writes_pending_decision_records_before_it_returns() {
    let mut server = Server::start().await;
    let tenant = server.tenant("Pending").await;
    tenant.bind_min_max().await;
    server.app.flush_decisions().await;
    let store = server.app.store().clone();
    let lock = DecisionLock::hold(&server.db.url).await;
    let (_, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 2, true),
        )
        .await;
    assert_eq!(answer["Code"], -105, "{answer}");
    let mut serving = server.begin_shutdown();
    // While the records cannot be written, serve does not return; if it
    // does, the records must already be there (they cannot be).
    match tokio::time::timeout(std::time::Duration::from_millis(500), &mut serving).await {
        Ok(returned) => {
            returned.unwrap().unwrap();
            let written = store.dump_table("calls").await.unwrap().len();
            lock.release().await;
            assert_eq!(
                written, 1,
                "serve returned with the call's decision records still pending"
            );
        }
        Err(_) => {
            lock.release().await;
            serving.await.unwrap().unwrap();
        }
    }
    let calls = store.calls(&tenant.secrets.tenant_id, 10).await.unwrap();
    assert_eq!(
        calls.iter().map(|c| c.code).collect::<Vec<_>>(),
        [-105],
        "the call's record was written at shutdown"
    );
    assert_eq!(store.dump_table("invocations").await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_call_identity_and_never_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let secrets = cli_tenant("Logged", data_dir);
    let operator_token = "op-token-7f3a9c1e5b";
    let server = spawn_server(
        &["serve", "--data-dir", data_dir],
        &[("TOLLGATE_OPERATOR_TOKEN", operator_token)],
    );
    let mut tenant = Tenant::new(&server.url, secrets.clone());
    let version = tenant.bind_min_max().await;
    // A password setting (no setup fields declared: held back by its name).
    let password = "S3cret-pw-91d2";
    tenant.settings = vec![("FieldPassword".into(), password.into())];
    let track = "4b7f3d1e-0000-4000-8000-00000000abcd";
    let response = tenant
        .http
        .post(format!("{}/api/Subscriptions/Create", server.url))
        .header("X-CloudPlatform-ApplicationId", &secrets.application_id)
        .header("X-CloudPlatform-APIKey", tenant.api_key_header())
        .header("X-CloudPlatform-TrackId", track)
        .header("X-CloudPlatform-Setting-FieldPassword", password)
        .json(&create("p-1", "20417", 2, true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-cloudplatform-trackid"], track);
    // Refused credentials: a wrong key (and its Base64), a wrong admin
    // token, the operator endpoint with a tenant's token and with its own.
    let wrong_key = "wrong-key-5e8d1f0a";
    let wrong_header =
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, wrong_key);
    let refused_track = "4b7f3d1e-0000-4000-8000-0000000refu";
    let (status, _) = read(
        tenant
            .http
            .post(format!("{}/api/Subscriptions/Create", server.url))
            .header("X-CloudPlatform-ApplicationId", &secrets.application_id)
            .header("X-CloudPlatform-APIKey", &wrong_header)
            .header("X-CloudPlatform-TrackId", refused_track)
            .json(&create("p-1", "20417", 2, true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let wrong_token = "tga_wrong_1c9e4b7d";
    let (status, _) = read(
        client()
            .get(format!("{}/admin/v1/plugins", server.url))
            .bearer_auth(wrong_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, created) = read(
        client()
            .post(format!("{}/admin/v1/tenants", server.url))
            .bearer_auth(operator_token)
            .json(&json!({"name": "Second"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");

    // The server logs asynchronously: wait (bounded) for the lines.
    server
        .wait_for_log("for the refused call", |l| {
            l["message"] == "platform call refused" && l["track_id"] == refused_track
        })
        .await;
    let lines = server
        .wait_for_log("for the call", |l| {
            l["message"] == "platform call" && l["track_id"] == track
        })
        .await;
    let hook = lines
        .iter()
        .find(|l| {
            l["message"] == "hook invoked" && l["track_id"] == track && l["binding"] == "min-max"
        })
        .expect("hook log line");
    assert_eq!(
        (
            hook["tenant"].as_str(),
            hook["hook"].as_str(),
            hook["binding"].as_str(),
            hook["plugin"].as_str(),
            hook["version"].as_str()
        ),
        (
            Some(secrets.tenant_id.as_str()),
            Some("quantity-limits"),
            Some("min-max"),
            Some("min-max"),
            Some(version.as_str())
        ),
        "{hook}"
    );
    let answered = lines
        .iter()
        .find(|l| l["message"] == "call answered" && l["track_id"] == track)
        .expect("call log line");
    assert_eq!(
        (
            answered["code"].as_i64(),
            answered["tenant"].as_str(),
            answered["endpoint"].as_str()
        ),
        (
            Some(-105),
            Some(secrets.tenant_id.as_str()),
            Some("Subscriptions/Create")
        ),
        "{answered}"
    );
    // No secret in any line: keys and their Base64, admin and operator
    // tokens (right or wrong), the new tenant's secrets, a password setting.
    let secrets_seen = [
        secrets.api_key.clone(),
        tenant.api_key_header(),
        secrets.admin_token.clone(),
        operator_token.to_string(),
        wrong_key.to_string(),
        wrong_header,
        wrong_token.to_string(),
        created["api_key"].as_str().unwrap().to_string(),
        created["admin_token"].as_str().unwrap().to_string(),
        password.to_string(),
    ];
    let text = server.stderr();
    assert!(text.lines().count() >= 5, "{text}");
    for secret in &secrets_seen {
        assert!(
            !text.contains(secret.as_str()),
            "a secret ({secret}) is in the log:\n{text}"
        );
    }
}

/// Reads the feed from `after` until it has seen `total` events, while
/// writers commit: every page must continue exactly where the last ended
/// (a cursor seen before an earlier one committed would be skipped for
/// ever). Answers the cursors in the order read.
async fn read_feed_while_writers_commit(tenant: Tenant, total: usize) -> Vec<i64> {
    let mut seen: Vec<i64> = Vec::new();
    let started = std::time::Instant::now();
    while seen.len() < total {
        assert!(
            started.elapsed() < PROCESS_WAIT,
            "only {} of {total} events within {PROCESS_WAIT:?}",
            seen.len()
        );
        let after = seen.last().copied().unwrap_or(0);
        for event in tenant.events(after).await {
            let cursor = event["cursor"].as_i64().unwrap();
            assert_eq!(
                cursor,
                seen.last().copied().unwrap_or(0) + 1,
                "the feed skipped a cursor: read so far {seen:?}"
            );
            seen.push(cursor);
        }
    }
    seen
}

/// Two instances on one database behave as one: PostgreSQL in CI's second
/// pass, two processes on one SQLite file in the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_share_one_truth() {
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
    // Instance 2 has read (and cached) the tenant's configuration.
    assert_eq!(
        via2.call("/api/Subscriptions/Create", &check).await.1["Code"],
        0
    );

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

    // Many changes through both while two readers, one per instance, follow
    // the feed: one gap-free cursor order, never a cursor skipped.
    let readers =
        [via1.clone(), via2.clone()].map(|t| tokio::spawn(read_feed_while_writers_commit(t, 21)));
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
    for reader in readers {
        assert_eq!(
            reader.await.unwrap(),
            (1..=21).collect::<Vec<_>>(),
            "one subscription.created + 20 changes, gap-free"
        );
    }
    let sub = via1.subscription(&id).await;
    assert_eq!(
        sub["addons"].as_array().unwrap().len(),
        15,
        "no add-on lost across instances"
    );

    // Documents too: a catalogue published through instance 1 limits
    // instance 2's next call (its QuantityLimit), and its removal lifts it.
    let mut catalog: Value =
        serde_json::from_str(include_str!("../../examples/catalog.json")).unwrap();
    catalog["ProductTypes"][0]["QuantityLimit"] = json!(10);
    let (status, body) = via1.admin_put("/catalog", &catalog).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let big = create("p-big", "20417", 11, true);
    let (_, answer) = via2.call("/api/Subscriptions/Create", &big).await;
    assert_eq!(answer["Code"], -106, "{answer}");
    assert_eq!(
        answer["Message"],
        "The quantity 11 of Cloud Backup Basic (cb_basic) is above the maximum of 10."
    );
    let (_, served) = via2.get("/api/Fields/ServiceDefinition").await;
    assert_eq!(served["ProductTypes"][0]["QuantityLimit"], 10, "{served}");
    catalog["ProductTypes"][0]["QuantityLimit"] = json!(0);
    via1.admin_put("/catalog", &catalog).await;
    assert_eq!(
        via2.call("/api/Subscriptions/Create", &big).await.1["Code"],
        0
    );
    // Setup fields published through instance 2 are required by instance
    // 1's next call and served by its Fields/Get.
    let setup: Value =
        serde_json::from_str(include_str!("../../examples/setup-fields.json")).unwrap();
    let (status, body) = via2.admin_put("/setup-fields", &setup).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, answer) = via1.call("/api/Subscriptions/Create", &big).await;
    assert_eq!(
        (&answer["Code"], &answer["Message"]),
        (
            &json!(-2),
            &json!("The setting Username (FieldUsername) is required but was not sent.")
        )
    );
    let (_, fields) = via1.get("/api/Fields/Get").await;
    assert_eq!(fields["Fields"][0]["ID"], "FieldUsername", "{fields}");
    drop((one, two));
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

/// Every series of the metrics text (name and labels, without the value).
fn series(metrics: &str) -> std::collections::BTreeSet<String> {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.rsplit_once(' ').map(|(s, _)| s.to_string()))
        .collect()
}

/// Traffic full of values chosen by callers — unknown paths, hooks,
/// bindings, TrackIds, products, a wrong token — tagged with `tag`.
async fn caller_chosen_traffic(url: &str, tenant: &Tenant, tag: &str) {
    let http = client();
    for i in 0..5 {
        let value = format!("{tag}{i}");
        let (status, _) = tenant
            .call(&format!("/api/{value}/Create"), &json!({}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = tenant
            .admin_put(&format!("/bindings/{value}/x"), &json!({"plugin": "p"}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = tenant
            .admin_get(&format!("/bindings/precheck/{}", value.to_lowercase()))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = tenant
            .admin_get(&format!("/invocations?binding={value}"))
            .await;
        assert_eq!(status, StatusCode::OK);
        let mut body = create(&value, &value, 5, true);
        body["ProductID"] = json!(value);
        body["ServiceType"] = json!(value);
        let (status, _) = read(
            http.post(format!("{url}/api/Subscriptions/Create"))
                .header(
                    "X-CloudPlatform-ApplicationId",
                    &tenant.secrets.application_id,
                )
                .header("X-CloudPlatform-APIKey", tenant.api_key_header())
                .header("X-CloudPlatform-TrackId", &value)
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = read(
            http.get(format!("{url}/admin/v1/plugins"))
                .bearer_auth(&value)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

/// On the real binary: limit hits by limit, admin requests by status
/// class, and labels that take no value from a caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_hits_admin_requests_and_bounded_labels_on_a_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let tenant_with = |name: &str, limits: &str| {
        let secrets = cli_tenant(name, data_dir);
        let (code, _, err) = run_cli(&[
            "tenant",
            "set-limits",
            "--tenant",
            &secrets.tenant_id,
            "--limits",
            limits,
            "--data-dir",
            data_dir,
        ]);
        assert_eq!(code, 0, "{err}");
        secrets
    };
    // Only its own limit can stop each plugin.
    let long = tenant_with(
        "Long deadline",
        r#"{"deadline_ms": 60000, "call_budget_ms": 60000}"#,
    );
    let fueled = tenant_with("Fuel for hours", r#"{"fuel": 1000000000000000}"#);
    let server = spawn_server(&["serve", "--data-dir", data_dir], &[]);
    let http = client();
    let scrape = || metrics_text(&http, &server.url);
    let long = Tenant::new(&server.url, long);
    let fueled = Tenant::new(&server.url, fueled);
    let check = create("p-1", "20417", 5, true);
    let hit = |limit: &str| format!("tollgate_limit_hits_total{{limit=\"{limit}\"}}");
    let admin = |class: &str| format!("tollgate_admin_requests_total{{status=\"{class}\"}}");

    let before = scrape().await;
    long.bind("precheck", "loop", test_plugins::INFINITE_LOOP, json!({}))
        .await; // 2 admin requests, 2xx
    let (_, answer) = long.call("/api/Subscriptions/Create", &check).await;
    assert!(
        long.logged_error(&answer, "loop")
            .await
            .contains("ran out of fuel"),
        "{answer}"
    ); // 1 more (reading the decision log)
    long.bind("precheck", "loop", test_plugins::MEMORY_BOMB, json!({}))
        .await; // 2 more
    let (_, answer) = long.call("/api/Subscriptions/Create", &check).await;
    assert!(
        long.logged_error(&answer, "loop")
            .await
            .contains("memory limit"),
        "{answer}"
    ); // 1 more
    fueled
        .bind("precheck", "loop", test_plugins::INFINITE_LOOP, json!({}))
        .await; // 2 more
    let (_, answer) = fueled.call("/api/Subscriptions/Create", &check).await;
    assert!(
        fueled
            .logged_error(&answer, "loop")
            .await
            .contains("missed its deadline"),
        "{answer}"
    ); // 1 more
    // A trap is a failure, not a limit.
    fueled
        .bind("precheck", "loop", test_plugins::PANIC, json!({}))
        .await; // 2 more
    fueled.call("/api/Subscriptions/Create", &check).await;
    // 4xx: a bad binding, an unknown plugin, a missing token.
    let (status, _) = fueled
        .admin_put("/bindings/precheck/x", &json!({"plugin": "nope"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = fueled.admin_get("/invocations?limit=abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = read(
        client()
            .get(format!("{}/admin/v1/plugins", server.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let after = scrape().await;
    let delta = |series: &str| sample(&after, series) - sample(&before, series);
    assert_eq!(
        (
            delta(&hit("fuel-exhausted")),
            delta(&hit("memory-limit")),
            delta(&hit("deadline-exceeded")),
            delta(&hit("trap"))
        ),
        (1.0, 1.0, 1.0, 0.0),
        "{after}"
    );
    assert_eq!(
        (delta(&admin("2xx")), delta(&admin("4xx"))),
        (11.0, 3.0),
        "{after}"
    );

    // Two rounds of traffic with values of the callers' choosing: the
    // second adds no series, and no label holds any of those values.
    caller_chosen_traffic(&server.url, &fueled, "Zqx").await;
    let first = series(&scrape().await);
    caller_chosen_traffic(&server.url, &fueled, "Wvk").await;
    let metrics = scrape().await;
    assert_eq!(series(&metrics), first, "new series from callers' values");
    for tag in ["Zqx", "zqx", "Wvk", "wvk"] {
        assert!(
            !metrics.contains(tag),
            "a caller's value in a label:\n{metrics}"
        );
    }
}

/// The real binary serving `data_dir` with JSON logs on a pipe, read up to
/// its "tollgate serving" line: (the child, its log, the listen address).
#[expect(
    clippy::zombie_processes,
    reason = "the child goes to the caller, who kills and waits for it"
)]
fn serve_with_piped_log(
    data_dir: &str,
    args: &[&str],
) -> (
    std::process::Child,
    std::io::BufReader<std::process::ChildStderr>,
    String,
) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(exe())
        .args(["serve", "--data-dir", data_dir, "--listen", "127.0.0.1:0"])
        .args(["--log-format", "json"])
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "the server exited"
        );
        let serving = serde_json::from_str::<Value>(&line)
            .ok()
            .filter(|v| v["message"] == "tollgate serving");
        if let Some(v) = serving {
            let listen = v["listen"].as_str().unwrap().to_string();
            return (child, stderr, listen);
        }
    }
}

/// With a short queue (`--log-queue-lines 8`) and nobody reading the log,
/// lines past the queue (and the pipe) are dropped and counted as
/// `log-queue` refusals, and calls still answer; a bound of 0 is refused
/// at start, naming the flag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_log_queue_lines_are_dropped_and_counted_on_the_real_binary() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let secrets = cli_tenant("Short queue", data_dir);
    let (code, _, err) = run_cli(&["serve", "--data-dir", data_dir, "--log-queue-lines", "0"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--log-queue-lines"), "{err}");

    let (mut child, stderr, listen) = serve_with_piped_log(data_dir, &["--log-queue-lines", "8"]);
    let url = format!("http://{listen}");
    let tenant = Tenant::new(&url, secrets);
    // 300 calls log ≥ 600 lines (≈ 300 KB): more than the pipe (64 KiB),
    // the writer's buffer and the queue hold.
    let calls = async {
        for i in 0..300 {
            let body = create(&format!("p-{i}"), "1", 5, true);
            let (status, answer) = tenant.call("/api/Subscriptions/Create", &body).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
        }
    };
    let answered = tokio::time::timeout(PROCESS_WAIT, calls).await;
    let metrics = metrics_text(&client(), &url).await;
    let _ = child.kill();
    let _ = child.wait();
    assert!(answered.is_ok(), "calls stalled behind an unread log");
    let refused = sample(
        &metrics,
        r#"tollgate_budget_refusals_total{budget="log-queue"}"#,
    );
    let delivered = stderr
        .lines()
        .map_while(Result::ok)
        .filter(|l| l.contains("\"call answered\""))
        .count();
    assert!(refused > 0.0, "no line was dropped: {metrics}");
    assert!(delivered < 300, "{delivered} answered lines arrived");
}

/// The server writes its log lines from a thread of its own, through a
/// bounded queue: a log reader that stops reading (its pipe full) does not
/// stall calls. Writing on the calling thread, every call blocked once the
/// 64 KiB pipe had filled (≈ 200 lines). Once read again, every queued line
/// arrives (600 calls' lines fit the default queue; dropping and counting
/// past it: the next test and the binary's `cli` tests).
#[tokio::test]
async fn a_stalled_log_reader_does_not_stall_calls() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let secrets = cli_tenant("Unread", data_dir);
    let (mut child, stderr, listen) = serve_with_piped_log(data_dir, &[]);
    // From here on nobody reads the server's stderr.
    let tenant = Tenant::new(&format!("http://{listen}"), secrets);
    let calls = async {
        for i in 0..600 {
            let body = create(&format!("p-{i}"), "1", 5, true);
            let (status, answer) = tenant.call("/api/Subscriptions/Create", &body).await;
            assert_eq!(
                (status, &answer["Code"]),
                (StatusCode::OK, &json!(0)),
                "{answer}"
            );
        }
    };
    let answered = tokio::time::timeout(PROCESS_WAIT, calls).await;
    // Reading again, the queued lines arrive: none was lost while stalled.
    let delivered = tokio::task::spawn_blocking(move || {
        let mut answered_lines = 0;
        for line in stderr.lines().map_while(Result::ok) {
            if line.contains("\"call answered\"") {
                answered_lines += 1;
                if answered_lines == 600 {
                    break;
                }
            }
        }
        answered_lines
    });
    let delivered = tokio::time::timeout(PROCESS_WAIT, delivered).await;
    let _ = child.kill();
    let _ = child.wait();
    assert!(answered.is_ok(), "calls stalled behind an unread log");
    assert_eq!(delivered.expect("the queued lines arrive").unwrap(), 600);
}

/// A pooled PostgreSQL connection is pinged before use only once it has been
/// idle a while (`store::PING_AFTER_IDLE`, 1 s): sqlx already pings each
/// one as it goes back to the pool, and pinging again on the way out was a
/// second round trip per statement. A connection cut while idle (a server
/// restart, a network's idle timeout) is then replaced if it idled past the
/// threshold, and fails one statement if it did not. Both sides are shown
/// with the threshold at 0 and at an hour, on connections cut by the
/// database, for the pool and for the call path's own connections.
/// PostgreSQL only: an SQLite connection cannot be cut.
#[tokio::test]
async fn a_pooled_connection_cut_while_idle_is_pinged_and_replaced_past_the_threshold() {
    if !is_postgres() {
        return;
    }
    let db = database().await;
    let open =
        |idle| tollgate::store::Store::open_with(&db.url, std::time::Duration::from_secs(idle));
    let (pinging, trusting) = (open(0).await.unwrap(), open(3600).await.unwrap());
    // Each store holds a pooled connection and one of the call path's own
    // (`store::direct_pg`, the state read), which follows the same rule.
    async fn state(
        store: &tollgate::store::Store,
    ) -> Result<Option<tollgate::store::CallState>, tollgate::store::StoreError> {
        store.call_state("nobody", false, "x").await
    }
    for store in [&pinging, &trusting] {
        store.ping().await.unwrap();
        assert!(state(store).await.unwrap().is_none());
    }
    let mut cutter = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url)
        .await
        .unwrap();
    let cut: Vec<bool> = sqlx::query_scalar(
        // With a timeout the call returns once each backend has exited.
        "SELECT pg_terminate_backend(pid, 60000) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut cutter)
    .await
    .unwrap();
    assert!(cut.len() >= 2 && cut.iter().all(|c| *c), "{cut:?}");
    // Pinged: the cut connection is noticed and replaced, the call works.
    pinging
        .ping()
        .await
        .expect("a pinged pool replaces a cut connection");
    state(&pinging)
        .await
        .expect("the call path replaces a cut connection it pinged");
    // Not pinged: a cut connection is handed out and fails once; sqlx's
    // check on its return drops it. The pool may hold several (at most its
    // 16), so within that many statements one works again.
    assert!(trusting.ping().await.is_err(), "a cut connection was used");
    let mut failed = 1;
    while let Err(e) = trusting.ping().await {
        failed += 1;
        assert!(failed <= 16, "the cut connections were not dropped: {e}");
    }
    // The call path held one connection: it fails once and is closed.
    assert!(state(&trusting).await.is_err(), "a cut connection was used");
    state(&trusting)
        .await
        .expect("the failed connection was replaced");
}
