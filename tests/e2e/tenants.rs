//! Tenant self-service over the admin API: upload, version, bind, roll back,
//! dry-run and replay without redeploying; the upload gate; isolation
//! between tenants; concurrent activations.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const HOOK: &str = "quantity-limits";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_bind_activate_roll_back_dry_run_and_replay() {
    let server = Server::start().await;
    let tenant = server.tenant("Northwind").await;
    let check = create("p-1", "20417", 2, true);

    // v1 (minimum 3) bound: quantity 2 is rejected.
    let (status, v1) = tenant
        .upload("min-max", test_plugins::bytes(test_plugins::FIXED_MIN_3))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v1}");
    assert_eq!(
        (
            v1["name"].as_str(),
            v1["hook"].as_str(),
            v1["created"].as_bool()
        ),
        (Some("min-max"), Some(HOOK), Some(true))
    );
    assert_eq!(
        v1["version"].as_str().unwrap(),
        sha256_hex(&test_plugins::bytes(test_plugins::FIXED_MIN_3)),
        "the version is the SHA-256 of the component's bytes"
    );
    let (status, _) = tenant
        .admin_put(
            "/bindings/quantity-limits/min-max",
            &json!({"plugin": "min-max"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, answer) = tenant.call("/api/Subscriptions/Create", &check).await;
    assert_eq!(answer["Code"], -105, "{answer}");

    // The same bytes again: the same version, nothing new.
    let (status, again) = tenant
        .upload("min-max", test_plugins::bytes(test_plugins::FIXED_MIN_3))
        .await;
    assert_eq!(
        (status, &again["version"], &again["created"]),
        (StatusCode::OK, &v1["version"], &json!(false))
    );

    // v2 (minimum 1) uploaded and activated: the next call is accepted.
    let (_, v2) = tenant
        .upload("min-max", test_plugins::bytes(test_plugins::FIXED_MIN_1))
        .await;
    assert_eq!(
        v2["version"].as_str().unwrap(),
        sha256_hex(&test_plugins::bytes(test_plugins::FIXED_MIN_1))
    );
    assert_ne!(v2["version"], v1["version"]);
    let (status, bound) = tenant
        .admin_put(
            "/bindings/quantity-limits/min-max",
            &json!({"plugin": "min-max", "version": v2["version"]}),
        )
        .await;
    assert_eq!(
        (status, &bound["version"], &bound["revision"]),
        (StatusCode::OK, &v2["version"], &json!(2))
    );
    let (_, answer) = tenant.call("/api/Subscriptions/Create", &check).await;
    assert_eq!(answer["Code"], 0, "{answer}");

    // Roll back: v1 again, effective on the next call.
    let (status, rolled) = tenant
        .admin_post("/bindings/quantity-limits/min-max/rollback", &json!({}))
        .await;
    assert_eq!(
        (status, &rolled["version"], &rolled["active_revision"]),
        (StatusCode::OK, &v1["version"], &json!(1))
    );
    let (_, answer) = tenant.call("/api/Subscriptions/Create", &check).await;
    assert_eq!(answer["Code"], -105);
    let (_, binding) = tenant.admin_get("/bindings/quantity-limits/min-max").await;
    let history: Vec<(String, String)> = binding["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["action"].as_str().unwrap().into(),
                h["version"].as_str().unwrap().into(),
            )
        })
        .collect();
    let (a, b) = (
        v1["version"].as_str().unwrap().to_string(),
        v2["version"].as_str().unwrap().to_string(),
    );
    assert_eq!(
        history,
        [
            ("activate".into(), a.clone()),
            ("activate".into(), b.clone()),
            ("rollback".into(), a.clone())
        ]
    );
    assert_eq!(binding["history"][2]["actor"], "e2e");

    // Dry-run v2 on the same input: accepted limits, and nothing written.
    server.app.flush_decisions().await;
    let state = server.state().await;
    let (_, logged) = tenant.admin_get("/invocations?binding=min-max").await;
    let logged_count = logged.as_array().unwrap().len();
    let input = json!({"request": {"operation": "subscription-create", "product_id": "cb_basic", "quantity": 2, "account": {"id": "20417"}},
                       "target": {"kind": "subscription", "product_id": "cb_basic", "quantity": 2}});
    let (status, dry) = tenant
        .admin_post(
            "/dry-run",
            &json!({"plugin": "min-max", "version": b, "input": input}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(
        dry["output"],
        json!({"limits": {"min": 1, "max": null, "step": null}})
    );
    assert!(
        dry["fuel"].as_u64().unwrap() > 0
            && dry["duration_us"].as_u64().is_some()
            && dry["peak_memory"].as_u64().unwrap() > 0
    );
    server.app.flush_decisions().await;
    assert_eq!(server.state().await, state, "a dry run writes nothing");
    assert_eq!(
        tenant
            .admin_get("/invocations?binding=min-max")
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        logged_count
    );

    // Replay the logged rejection (newest logged call was the rejection after
    // the rollback) against v2: the outcome changes.
    let (_, rejections) = tenant
        .admin_get("/invocations?binding=min-max&limit=1")
        .await;
    let rejection = &rejections[0];
    assert_eq!(
        (
            rejection["version"].as_str(),
            rejection["output"]["limits"]["min"].as_i64()
        ),
        (Some(a.as_str()), Some(3))
    );
    assert_eq!(
        rejection["fixture"]["expect"],
        json!({"limits": {"min": 3, "max": null, "step": null}})
    );
    let id = rejection["id"].as_str().unwrap();
    let (status, replay) = tenant
        .admin_post(&format!("/invocations/{id}/replay"), &json!({"version": b}))
        .await;
    assert_eq!(status, StatusCode::OK, "{replay}");
    assert_eq!(replay["changed"], true);
    assert_eq!(replay["replayed"]["output"]["limits"]["min"], 1);
    // Against the logged version itself: unchanged (deterministic).
    let (_, same) = tenant
        .admin_post(&format!("/invocations/{id}/replay"), &json!({}))
        .await;
    assert_eq!(same["changed"], false, "{same}");

    // Listing and filters.
    let (_, plugins) = tenant.admin_get("/plugins").await;
    assert_eq!(
        plugins,
        json!([{"name": "min-max", "hook": HOOK, "versions": 2, "latest_version": b, "latest_uploaded_at": T0}])
    );
    let (_, versions) = tenant.admin_get("/plugins/min-max/versions").await;
    assert_eq!(versions.as_array().unwrap().len(), 2);
    // Every logged call so far decided limits: the matching filters list
    // them all (and only theirs), the others none.
    let (_, all) = tenant.admin_get("/invocations").await;
    let all = all.as_array().unwrap().clone();
    assert_eq!(all.len(), 3, "three calls were decided: {all:?}");
    let ids = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, filtered) = tenant
        .admin_get("/invocations?outcome=limits&hook=quantity-limits")
        .await;
    assert_eq!(ids(&filtered), ids(&json!(all)), "{filtered}");
    assert!(
        filtered
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["outcome"] == "limits" && i["hook"] == HOOK)
    );
    for path in [
        "/invocations?hook=precheck",
        "/invocations?outcome=no-limits",
        "/invocations?outcome=error",
        "/invocations?binding=another",
    ] {
        let (status, none) = tenant.admin_get(path).await;
        assert_eq!((status, &none), (StatusCode::OK, &json!([])), "{path}");
    }
    let (_, newest) = tenant.admin_get("/invocations?limit=2").await;
    assert_eq!(
        ids(&newest),
        ids(&json!(all[..2])),
        "limit keeps the newest"
    );
    server.stop().await;
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn assert_problem(
    status: StatusCode,
    body: &Value,
    expected: StatusCode,
    reason: &str,
    words: &str,
) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["status"], expected.as_u16());
    assert_eq!(body["reason"], reason, "{body}");
    assert!(body["detail"].as_str().unwrap().contains(words), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_are_refused_with_the_reason_and_nothing_is_stored() {
    let server = Server::start().await;
    let tenant = server.tenant("Northwind").await;

    let (s, b) = tenant
        .upload("x", b"\x7fELF this is not wasm at all".to_vec())
        .await;
    assert_problem(
        s,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not-wasm",
        "not a WebAssembly file",
    );
    let core = wat::parse_str("(module (func (export \"check\")))").unwrap();
    let (s, b) = tenant.upload("x", core).await;
    assert_problem(
        s,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "core-module",
        "core module, not a component",
    );
    let mut truncated = test_plugins::bytes(test_plugins::MIN_MAX_QUANTITY);
    truncated.truncate(truncated.len() / 2);
    let (s, b) = tenant.upload("x", truncated).await;
    assert_problem(
        s,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        "not a valid WebAssembly component",
    );
    let (s, b) = tenant
        .upload("x", test_plugins::bytes(test_plugins::UNKNOWN_WORLD))
        .await;
    assert_problem(
        s,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no-hook",
        "implements no Tollgate hook",
    );
    let (s, b) = tenant
        .upload("x", test_plugins::bytes(test_plugins::WRONG_SIGNATURE))
        .await;
    assert_problem(
        s,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "incompatible",
        "does not match the `precheck` world",
    );
    // A (Rust) component over the 4 MiB limit.
    let limit = 4 * 1024 * 1024;
    let (s, b) = tenant
        .upload(
            "x",
            padded_to(&test_plugins::bytes(test_plugins::FIXED_MIN_1), limit + 1),
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
    assert_eq!(b["title"], "Too large");
    assert!(b["detail"].as_str().unwrap().contains("4194304"), "{b}");
    // A body past what any language may upload is not even read whole.
    let hard_cap = tollgate::runtime::EngineConfig::default().max_upload_bytes();
    let (s, b) = tenant.upload("x", vec![0u8; hard_cap + 2]).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
    assert_eq!(
        b["detail"],
        format!(
            "The request body is larger than the {}-byte limit of this endpoint.",
            hard_cap + 1
        )
    );
    let (s, b) = tenant
        .upload("Bad Name!", test_plugins::bytes(test_plugins::FIXED_MIN_1))
        .await;
    assert_eq!(
        (s, b["title"].as_str()),
        (StatusCode::BAD_REQUEST, Some("Invalid request"))
    );

    let (_, plugins) = tenant.admin_get("/plugins").await;
    assert_eq!(plugins, json!([]), "nothing was stored");
    assert!(
        server
            .app
            .store()
            .dump_table("plugins")
            .await
            .unwrap()
            .is_empty()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_slow_to_compile_is_refused_at_the_compile_deadline() {
    let mut options = Options::default();
    // Far below what the slow component takes on any machine (seconds):
    // only the compile deadline can refuse it.
    options.config.engine.compile_timeout_ms = 100;
    let server = Server::with(options).await;
    let tenant = server.tenant("Northwind").await;
    let started = std::time::Instant::now();
    let (s, b) = tenant.upload("x", slow_to_compile_component()).await;
    assert_problem(
        s,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "compile-timeout",
        "longer than 100 ms",
    );
    assert!(
        started.elapsed().as_secs() < 5,
        "the upload gate answered after {:?}",
        started.elapsed()
    );
    assert_eq!(tenant.admin_get("/plugins").await.1, json!([]));
    let metrics = metrics_text(&client(), &server.url).await;
    assert!(
        metrics.contains(r#"tollgate_upload_rejections_total{reason="compile-timeout"} 1"#),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bindings_are_checked_before_they_are_stored() {
    let server = Server::start().await;
    let tenant = server.tenant("Northwind").await;
    tenant
        .upload("limits", test_plugins::bytes(test_plugins::FIXED_MIN_1))
        .await;
    let cases = [
        (
            "/bindings/precheck/x",
            json!({"plugin": "limits"}),
            StatusCode::BAD_REQUEST,
            "implements the quantity-limits hook, not precheck",
        ),
        (
            "/bindings/quantity-limits/x",
            json!({"plugin": "nope"}),
            StatusCode::NOT_FOUND,
            "no plugin named nope",
        ),
        (
            "/bindings/quantity-limits/x",
            json!({"plugin": "limits", "version": "abc"}),
            StatusCode::NOT_FOUND,
            "has no version abc",
        ),
        (
            "/bindings/quantity-limits/x",
            json!({"plugin": "limits", "on_failure": "maybe"}),
            StatusCode::BAD_REQUEST,
            "expected \"reject\" or \"allow\"",
        ),
        (
            "/bindings/quantity-limits/x",
            json!({"plugin": "limits", "surprise": 1}),
            StatusCode::BAD_REQUEST,
            "unknown field `surprise`",
        ),
        (
            "/bindings/quantity-limits/x",
            json!({"plugin": "limits", "config": {"big": "x".repeat(70_000)}}),
            StatusCode::PAYLOAD_TOO_LARGE,
            "at most 65536",
        ),
        (
            "/bindings/sideways/x",
            json!({"plugin": "limits"}),
            StatusCode::NOT_FOUND,
            "unknown hook `sideways`",
        ),
    ];
    for (path, body, status, words) in cases {
        let (s, b) = tenant.admin_put(path, &body).await;
        assert_eq!(s, status, "{path} {b}");
        assert!(b["detail"].as_str().unwrap().contains(words), "{b}");
    }
    assert_eq!(tenant.admin_get("/bindings").await.1, json!([]));
    // Rolling back a binding with one revision: nothing to go back to.
    tenant
        .admin_put("/bindings/quantity-limits/x", &json!({"plugin": "limits"}))
        .await;
    let (s, b) = tenant
        .admin_post("/bindings/quantity-limits/x/rollback", &json!({}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(
        b["detail"],
        "binding quantity-limits/x has no earlier revision to roll back to"
    );
    // No token, a wrong token: 401.
    let response = client()
        .get(format!("{}/admin/v1/plugins", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let response = client()
        .get(format!("{}/admin/v1/plugins", server.url))
        .bearer_auth("tga_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenant_never_reaches_another_tenants_things() {
    let server = Server::start().await;
    let a = server.tenant("A").await;
    let b = server.tenant("B").await;
    a.put_catalog().await;
    let version = a
        .bind(HOOK, "min-max", test_plugins::FIXED_MIN_3, json!({}))
        .await;
    let (_, created) = a
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 5, false),
        )
        .await;
    let id = created["Result"].as_str().unwrap().to_string();
    a.call(
        "/api/Subscriptions/Create",
        &create("p-2", "20417", 2, true),
    )
    .await;
    server.app.flush_decisions().await;
    let (_, logged) = a.admin_get("/invocations").await;
    let invocation = logged[0]["id"].as_str().unwrap().to_string();

    // B's admin token: every object of A is "not found".
    for path in [
        "/plugins/min-max/versions".to_string(),
        "/bindings/quantity-limits/min-max".into(),
        format!("/invocations/{invocation}"),
        format!("/subscriptions/{id}"),
    ] {
        let (s, body) = b.admin_get(&path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {body}");
        // The same answer as for an object that never existed, and
        // nothing of A's object in it.
        let made_up = path
            .replace("min-max", "never-uploaded")
            .replace(&invocation, "0197a1b2c3d4e5f6a7b8c9d0e1f2a3b4")
            .replace(&id, "TGS-00000000000000000000");
        let (_, unknown) = b.admin_get(&made_up).await;
        assert_eq!(body["title"], "Not found", "{path}: {body}");
        assert_eq!(
            body["detail"]
                .as_str()
                .unwrap()
                .replace("min-max", "never-uploaded")
                .replace(&invocation, "0197a1b2c3d4e5f6a7b8c9d0e1f2a3b4")
                .replace(&id, "TGS-00000000000000000000"),
            unknown["detail"].as_str().unwrap(),
            "{path}"
        );
        assert!(!body.to_string().contains(&version), "{path}: {body}");
    }
    assert_eq!(b.admin_get("/plugins").await.1, json!([]));
    assert_eq!(b.admin_get("/bindings").await.1, json!([]));
    assert_eq!(b.admin_get("/invocations").await.1, json!([]));
    assert_eq!(b.admin_get("/events").await.1["events"], json!([]));
    assert_eq!(b.admin_get("/catalog").await.1, json!({"ProductTypes": []}));
    let (s, _) = b
        .admin_put(
            "/bindings/quantity-limits/mine",
            &json!({"plugin": "min-max", "version": version}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "B cannot bind A's plugin");
    let (s, _) = b
        .admin_post(&format!("/invocations/{invocation}/replay"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = b
        .admin_post("/dry-run", &json!({"plugin": "min-max", "input": {"request": {"operation": "subscription-create", "product_id": "x", "quantity": 1}, "target": {"kind": "subscription", "product_id": "x", "quantity": 1}}}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = b
        .admin_send(
            Method::DELETE,
            "/bindings/quantity-limits/min-max",
            &json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        a.admin_get("/bindings").await.1.as_array().unwrap().len(),
        1,
        "A's binding is intact"
    );

    // B's platform credentials: A's subscription is unknown to B, A's rule
    // does not apply to B's calls.
    let (_, update) = b
        .call(
            "/api/Subscriptions/Update",
            &service(&id, "p-1", "20417", "cb_basic", 9, false),
        )
        .await;
    assert_eq!(update["Code"], -3);
    let (_, create_b) = b
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 2, false),
        )
        .await;
    assert_eq!(create_b["Code"], 0, "A's minimum of 3 is not B's");
    assert_ne!(
        create_b["Result"], created["Result"],
        "the same platform ids in two tenants never collide"
    );
    // Mixing A's application id with B's key fails.
    let mut mixed = b.clone();
    mixed.secrets.application_id = a.secrets.application_id.clone();
    let (s, _) = mixed
        .call(
            "/api/Subscriptions/Create",
            &create("p-9", "20417", 5, true),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_activations_leave_one_active_version_and_a_consistent_history() {
    let server = Server::start().await;
    let tenant = server.tenant("Northwind").await;
    let (_, v1) = tenant
        .upload("min-max", test_plugins::bytes(test_plugins::FIXED_MIN_1))
        .await;
    let (_, v3) = tenant
        .upload("min-max", test_plugins::bytes(test_plugins::FIXED_MIN_3))
        .await;
    let versions = [v1["version"].clone(), v3["version"].clone()];
    // Enough writers that, on PostgreSQL, two of them reading the same last
    // revision is near certain unless binding changes queue per tenant.
    const WRITERS: i64 = 32;
    let mut tasks = Vec::new();
    for i in 0..WRITERS as usize {
        let t = tenant.clone();
        let version = versions[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            t.admin_put(
                "/bindings/quantity-limits/min-max",
                &json!({"plugin": "min-max", "version": version, "priority": i}),
            )
            .await
        }));
    }
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, binding) = tenant.admin_get("/bindings/quantity-limits/min-max").await;
    let history = binding["history"].as_array().unwrap();
    assert_eq!(history.len(), WRITERS as usize);
    let revisions: Vec<i64> = history
        .iter()
        .map(|h| h["revision"].as_i64().unwrap())
        .collect();
    assert_eq!(
        revisions,
        (1..=WRITERS).collect::<Vec<_>>(),
        "gap-free revisions"
    );
    let last = history.last().unwrap();
    assert_eq!(binding["revision"], WRITERS);
    assert_eq!(
        (&binding["version"], &binding["priority"]),
        (&last["version"], &last["priority"]),
        "the live binding is the last revision"
    );
    assert_eq!(
        tenant
            .admin_get("/bindings")
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        1
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decision_records_are_pruned_by_age_and_count() {
    let mut options = Options::default();
    options.config.retention_days = 1;
    options.config.retention_per_tenant = 3;
    let server = Server::with(options).await;
    let tenant = server.tenant("Pruned").await;
    tenant.bind_min_max().await;
    for q in 1..=5 {
        tenant
            .call(
                "/api/Subscriptions/Create",
                &create("p-1", "20417", q, true),
            )
            .await;
    }
    server.app.flush_decisions().await;
    let (_, before) = tenant.admin_get("/invocations").await;
    assert_eq!(before.as_array().unwrap().len(), 5);
    server.app.prune().await.unwrap();
    let (_, kept) = tenant.admin_get("/invocations").await;
    let kept: Vec<&Value> = kept.as_array().unwrap().iter().collect();
    assert_eq!(kept.len(), 3, "the newest three stay");
    assert_eq!(kept[0]["id"], before[0]["id"]);
    assert_eq!(
        server
            .app
            .store()
            .calls(&tenant.secrets.tenant_id, 100)
            .await
            .unwrap()
            .len(),
        3
    );
    server.advance(2 * DAY);
    server.app.prune().await.unwrap();
    assert_eq!(
        tenant.admin_get("/invocations").await.1,
        json!([]),
        "older than a day: gone"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_create_tenants_and_rotate_their_secrets() {
    let mut options = Options::default();
    options.config.operator_token = Some("op-secret-token".into());
    let server = Server::with(options).await;
    let http = client();
    let op = |method: Method, path: &str| {
        http.request(method, format!("{}/admin/v1{path}", server.url))
            .bearer_auth("op-secret-token")
    };

    // Create through the operator endpoint: the secrets come back once.
    let (status, created) = read(op(Method::POST, "/tenants").json(&json!({"name": "Via API", "application_id": "{9C292077-6907-4A95-BDE0-681B36CC7E86}"})).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["application_id"],
        "9c292077-6907-4a95-bde0-681b36cc7e86"
    );
    let secrets: tollgate::service::TenantSecrets =
        serde_json::from_value(created.clone()).unwrap();
    // Stored as SHA-256 digests only: neither secret is in the database.
    let rows = server
        .app
        .store()
        .dump_table("tenants")
        .await
        .unwrap()
        .join("\n");
    for secret in [&secrets.api_key, &secrets.admin_token] {
        assert!(!rows.contains(secret.as_str()), "{rows}");
        assert!(rows.contains(&sha256_hex(secret.as_bytes())), "{rows}");
    }
    let tenant = Tenant::new(&server.url, secrets.clone());
    assert_eq!(
        tenant
            .call("/api/Subscriptions/Create", &create("p-1", "1", 5, true))
            .await
            .1["Code"],
        0
    );
    // The same application id again: conflict. A wrong operator token: 401.
    let (status, again) = read(
        op(Method::POST, "/tenants")
            .json(
                &json!({"name": "Again", "application_id": "9c292077-6907-4a95-bde0-681b36cc7e86"}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert!(
        again["detail"]
            .as_str()
            .unwrap()
            .contains("9c292077-6907-4a95-bde0-681b36cc7e86"),
        "{again}"
    );
    assert!(again.get("api_key").is_none() && again.get("admin_token").is_none());
    let response = http
        .post(format!("{}/admin/v1/tenants", server.url))
        .bearer_auth(&secrets.admin_token)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "a tenant's admin token is not the operator's"
    );

    // Rotate the API key keeping the previous one: both work, until the next rotation.
    let id = &secrets.tenant_id;
    let (_, rotated) = read(
        op(Method::POST, &format!("/tenants/{id}/api-key"))
            .json(&json!({"keep_previous": true}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let mut new_key = tenant.clone();
    new_key.secrets.api_key = rotated["api_key"].as_str().unwrap().to_string();
    assert_eq!(
        new_key
            .call("/api/Subscriptions/Create", &create("p-1", "1", 5, true))
            .await
            .1["Code"],
        0
    );
    assert_eq!(
        tenant
            .call("/api/Subscriptions/Create", &create("p-1", "1", 5, true))
            .await
            .1["Code"],
        0,
        "the previous key still works"
    );
    read(
        op(Method::POST, &format!("/tenants/{id}/api-key"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        tenant
            .call("/api/Subscriptions/Create", &create("p-1", "1", 5, true))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    // Rotate the admin token: the old one stops working at once.
    let (_, token) = read(
        op(Method::POST, &format!("/tenants/{id}/admin-token"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        tenant.admin_get("/plugins").await.0,
        StatusCode::UNAUTHORIZED
    );
    let mut admin = tenant.clone();
    admin.secrets.admin_token = token["admin_token"].as_str().unwrap().to_string();
    assert_eq!(admin.admin_get("/plugins").await.0, StatusCode::OK);

    // Per-tenant limits: invalid ones are refused, valid ones apply.
    let (status, body) = read(
        op(Method::PUT, &format!("/tenants/{id}/limits"))
            .json(&json!({"memory_bytes": 1u64 << 40}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["detail"], "memory_bytes must be between 1 and the engine maximum of 67108864 bytes",
        "{body}"
    );
    let (status, _) = read(
        op(Method::PUT, &format!("/tenants/{id}/limits"))
            .json(&json!({"fuel": 1000}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    admin.bind_min_max().await;
    let mut caller = tenant.clone();
    caller.secrets.api_key = read(
        op(Method::POST, &format!("/tenants/{id}/api-key"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .1["api_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, answer) = caller
        .call("/api/Subscriptions/Create", &create("p-1", "1", 5, true))
        .await;
    assert!(
        answer["Message"]
            .as_str()
            .unwrap()
            .contains("rule \"min-max\" took too long to decide"),
        "{answer}"
    );
    // The tenant's limit (not the default) stopped it.
    server.app.flush_decisions().await;
    let (_, log) = admin.admin_get("/invocations?binding=min-max").await;
    let detail = log[0]["error"]["message"].as_str().unwrap();
    assert!(detail.contains("ran out of fuel (limit 1000)"), "{detail}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_commands_work_while_the_server_writes() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let secrets = cli_tenant("Busy", data_dir);
    let server = spawn_server(&["serve", "--data-dir", data_dir], &[]);
    let tenant = Tenant::new(&server.url, secrets.clone());
    let writer = {
        let t = tenant.clone();
        tokio::spawn(async move {
            for i in 0..40 {
                let (_, answer) = t
                    .call(
                        "/api/Subscriptions/Create",
                        &create(&format!("p-{i}"), "1", 5, false),
                    )
                    .await;
                assert_eq!(answer["Code"], 0, "{answer}");
            }
        })
    };
    // Another process writes the same SQLite file meanwhile.
    let cli = tokio::task::spawn_blocking({
        let data_dir = data_dir.to_string();
        let id = secrets.tenant_id.clone();
        move || {
            for i in 0..5 {
                let (code, _, err) = run_cli(&[
                    "tenant",
                    "create",
                    "--name",
                    &format!("Other {i}"),
                    "--data-dir",
                    &data_dir,
                ]);
                assert_eq!(code, 0, "{err}");
            }
            run_cli(&[
                "tenant",
                "rotate-key",
                "--tenant",
                &id,
                "--keep-previous",
                "--data-dir",
                &data_dir,
            ])
        }
    });
    writer.await.unwrap();
    let (code, out, err) = cli.await.unwrap();
    assert_eq!(code, 0, "{err}");
    let rotated: Value = serde_json::from_str(out.trim()).unwrap();
    let mut new_key = tenant.clone();
    new_key.secrets.api_key = rotated["api_key"].as_str().unwrap().to_string();
    assert_eq!(
        new_key
            .call("/api/Subscriptions/Create", &create("p-x", "1", 5, true))
            .await
            .1["Code"],
        0,
        "the rotated key works at once"
    );
    let (_, list, _) = run_cli(&["tenant", "list", "--data-dir", data_dir]);
    assert_eq!(list.lines().count(), 6);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_of_exactly_the_size_limit_is_accepted_and_one_byte_more_refused() {
    let small = test_plugins::bytes(test_plugins::FIXED_MIN_1);
    let other = test_plugins::bytes(test_plugins::FIXED_MIN_3);
    let limit = small.len().max(other.len()) + 100;
    let mut options = Options::default();
    options.config.engine.max_component_bytes = limit;
    let server = Server::with(options).await;
    let tenant = server.tenant("Sized").await;

    let exact = padded_to(&small, limit);
    let (status, uploaded) = tenant.upload("exact", exact.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{uploaded}");
    assert_eq!(
        (uploaded["size"].as_u64(), uploaded["version"].as_str()),
        (Some(limit as u64), Some(sha256_hex(&exact).as_str()))
    );
    let (status, bound) = tenant
        .admin_put(
            "/bindings/quantity-limits/exact",
            &json!({"plugin": "exact"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{bound}");
    let (_, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 0, true),
        )
        .await;
    assert_eq!(answer["Code"], -105, "the padded plugin runs: {answer}");

    let over = padded_to(&other, limit + 1);
    let (status, refused) = tenant.upload("over", over.clone()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{refused}");
    let detail = refused["detail"].as_str().unwrap();
    assert!(
        detail.contains(&(limit + 1).to_string()) && detail.contains(&limit.to_string()),
        "{detail}"
    );
    assert_eq!(refused["title"], "Too large");
    let (_, plugins) = tenant.admin_get("/plugins").await;
    assert_eq!(
        plugins
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["exact"],
        "nothing of the refused upload is stored"
    );
    server.stop().await;
}

/// The subscriptions a probe plugin was given by `customer-subscriptions`:
/// its report reads `settings=[…] subscriptions=[id:product,…]`.
fn reported_subscriptions(message: &str) -> std::collections::BTreeSet<String> {
    let list = message
        .split_once("subscriptions=[")
        .and_then(|(_, rest)| rest.strip_suffix(']'))
        .unwrap_or_else(|| panic!("not a probe report: {message}"));
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_subscriptions_never_answer_another_tenants_subscriptions() {
    let server = Server::start().await;
    let a = server.tenant("A").await;
    let b = server.tenant("B").await;
    // Both tenants provision for the same platform account id (20417).
    let mut own: [std::collections::BTreeSet<String>; 2] = Default::default();
    for (i, (tenant, platform_ids)) in [(&a, ["a-1", "a-2"].as_slice()), (&b, &["b-1"])]
        .into_iter()
        .enumerate()
    {
        for (n, platform_id) in platform_ids.iter().enumerate() {
            let product = if n == 0 { "cb_basic" } else { "cb_business" };
            let (_, created) = tenant
                .call(
                    "/api/Subscriptions/Create",
                    &service("", platform_id, "20417", product, 5, false),
                )
                .await;
            assert_eq!(created["Code"], 0, "{created}");
            own[i].insert(format!("{}:{product}", created["Result"].as_str().unwrap()));
        }
    }
    // Another of A's customers.
    a.call(
        "/api/Subscriptions/Create",
        &create("a-other", "30001", 5, false),
    )
    .await;
    // The same plugin (the same bytes, so the same version and compiled
    // code) bound by both.
    let version_a = a
        .bind(
            "precheck",
            "echo",
            test_plugins::V2_PROBE,
            json!({"probe": "echo"}),
        )
        .await;
    let version_b = b
        .bind(
            "precheck",
            "echo",
            test_plugins::V2_PROBE,
            json!({"probe": "echo"}),
        )
        .await;
    assert_eq!(version_a, version_b);
    for (i, tenant) in [&a, &b].into_iter().enumerate() {
        let (_, answer) = tenant
            .call(
                "/api/Subscriptions/Create",
                &create("p-new", "20417", 5, true),
            )
            .await;
        assert_eq!(answer["Code"], -150, "{answer}");
        assert_eq!(
            reported_subscriptions(answer["Message"].as_str().unwrap()),
            own[i],
            "tenant {i} sees its own subscriptions of the account, and only those"
        );
        // The decision log records what the plugin was given.
        let (_, logged) = tenant.admin_get("/invocations?binding=echo").await;
        let logged: std::collections::BTreeSet<String> = logged[0]["input"]["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                format!(
                    "{}:{}",
                    s["subscription_id"].as_str().unwrap(),
                    s["product_id"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(logged, own[i]);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_a_clock_and_random_plugin_reproduces_its_output_from_the_recorded_seed() {
    let server = Server::start().await;
    let tenant = server.tenant("Clocks").await;
    let version = tenant
        .bind("precheck", "clock", test_plugins::CLOCK_RANDOM, json!({}))
        .await;
    let (_, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 5, true),
        )
        .await;
    assert_eq!(answer["Code"], -150, "{answer}");
    let message = answer["Message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with(&format!("wall={T0} now={T0} slept=0 random=")),
        "{message}"
    );
    // A day later (a new call would read another clock) the recorded case
    // replays to the same answer: its `now` and its seed are the recorded ones.
    server.advance(DAY);
    let (_, logged) = tenant.admin_get("/invocations?binding=clock").await;
    let logged = &logged[0];
    assert_eq!(
        logged["output"]["verdict"]["reject"]["message"],
        message.as_str(),
        "{logged}"
    );
    let seed = logged["input"]["seed"].as_u64().expect("a recorded seed");
    assert_eq!(logged["input"]["now"], T0);
    let id = logged["id"].as_str().unwrap();
    let (status, replay) = tenant
        .admin_post(&format!("/invocations/{id}/replay"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{replay}");
    assert_eq!(replay["changed"], false, "{replay}");
    assert_eq!(replay["replayed"]["output"], logged["output"], "{replay}");
    // The recorded input, run again: the same answer; with another seed,
    // another random value and the same clocks.
    let mut input = logged["input"].clone();
    let (_, same) = tenant
        .admin_post(
            "/dry-run",
            &json!({"plugin": "clock", "version": version, "input": input}),
        )
        .await;
    assert_eq!(same["output"], logged["output"], "{same}");
    input["seed"] = json!(seed ^ 1);
    let (_, other) = tenant
        .admin_post(
            "/dry-run",
            &json!({"plugin": "clock", "version": version, "input": input}),
        )
        .await;
    let other = other["output"]["verdict"]["reject"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(other, message, "the seed decides the random values");
    assert!(
        other.starts_with(&format!("wall={T0} now={T0} slept=0 random=")),
        "{other}"
    );
    // Replay reads the seed from the record: had another seed been
    // recorded, replay would reproduce that seed's answer.
    let changed = execute_sql(
        &server.db.url,
        &format!(
            "UPDATE invocations SET input = replace(input, '\"seed\":{seed}', '\"seed\":{}') WHERE id = '{id}'",
            seed ^ 1
        ),
    )
    .await;
    assert_eq!(changed, 1);
    let (_, replay) = tenant
        .admin_post(&format!("/invocations/{id}/replay"), &json!({}))
        .await;
    assert_eq!(
        replay["replayed"]["output"]["verdict"]["reject"]["message"],
        other.as_str(),
        "{replay}"
    );
    server.stop().await;
}

/// An admin read answers with every decision answered before it, even one
/// the batch writer has not written yet: another connection holds the
/// decision-log tables, so the record stays pending until it lets go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_reads_flush_the_decision_records_still_pending() {
    let server = Server::start().await;
    let tenant = server.tenant("Flushed").await;
    tenant.bind_min_max().await;
    server.app.flush_decisions().await;
    let lock = DecisionLock::hold(&server.db.url).await;
    let (_, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 2, true),
        )
        .await;
    assert_eq!(answer["Code"], -105, "{answer}");
    let t = tenant.clone();
    let mut reading = tokio::spawn(async move { t.admin_get("/invocations").await });
    // The read waits for the record; if it answers before the lock goes,
    // it must hold the record all the same (it cannot).
    let (status, log) =
        match tokio::time::timeout(std::time::Duration::from_millis(500), &mut reading).await {
            Ok(answered) => {
                lock.release().await;
                answered.unwrap()
            }
            Err(_) => {
                lock.release().await;
                reading.await.unwrap()
            }
        };
    assert_eq!(status, StatusCode::OK, "{log}");
    let log = log.as_array().unwrap();
    assert_eq!(
        log.len(),
        1,
        "the read missed the decision answered before it: {log:?}"
    );
    assert_eq!(
        (
            log[0]["outcome"].as_str(),
            log[0]["output"]["limits"]["min"].as_i64()
        ),
        (Some("limits"), Some(3))
    );
    server.stop().await;
}
