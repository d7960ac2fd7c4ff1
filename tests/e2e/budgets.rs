//! Tenant budgets: every resource a tenant can consume has a bound, and
//! each bound is driven here through the real server (HTTP or a raw
//! socket), asserting the refusal and that nothing beyond the bound was
//! written. SECURITY.md's budget table points at these tests.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::time::Duration;
use tollgate::service::{DecisionBounds, TenantLimits};

const HOOK: &str = "quantity-limits";

fn budget(name: &str) -> String {
    format!("tollgate_budget_refusals_total{{budget=\"{name}\"}}")
}

/// A check-mode create carrying `n` distinct add-ons (about 150 bytes
/// each, so 4,000 fit the 1 MiB body limit).
fn with_addons(platform_id: &str, n: usize) -> Value {
    let mut body = create(platform_id, "20417", 5, true);
    body["Addons"] = Value::Array(
        (0..n)
            .map(|i| {
                json!({"ProductID": format!("addon_{i}"), "ActionType": "Provision", "Quantity": 1,
                    "AttributeList": {"storage_gb": {"Value": "40", "QuantityLinked": true}}})
            })
            .collect(),
    );
    body
}

async fn decision_bytes(server: &Server, tenant: &Tenant) -> i64 {
    server.app.flush_decisions().await;
    server
        .app
        .store()
        .decision_bytes(&tenant.secrets.tenant_id)
        .await
        .expect("decision bytes")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_with_thousands_of_addons_is_refused_and_writes_almost_nothing() {
    let server = Server::start().await;
    let tenant = server.tenant("Big orders").await;
    tenant.bind_min_max().await;
    let before = decision_bytes(&server, &tenant).await;
    let (status, answer) = tenant
        .call("/api/Subscriptions/Create", &with_addons("p-4000", 4000))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["Code"], -2, "{answer}");
    let message = answer["Message"].as_str().unwrap();
    assert!(
        message.contains("Addons") && message.contains("200"),
        "{message}"
    );
    let grown = decision_bytes(&server, &tenant).await - before;
    assert!(
        grown < 4096,
        "a refused call wrote {grown} bytes of records"
    );
    assert_eq!(server.metric(&budget("call-addons")), 1.0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_largest_accepted_call_stores_its_input_once_and_stays_under_a_mebibyte() {
    let server = Server::start().await;
    let tenant = server.tenant("Big orders").await;
    tenant.bind_min_max().await;
    let before = decision_bytes(&server, &tenant).await;
    let mut body = with_addons("p-200", 200);
    body["AttributeList"] = json!({"storage_gb": {"Value": "20", "QuantityLinked": true}});
    let (_, answer) = tenant.call("/api/Subscriptions/Create", &body).await;
    assert_eq!(answer["Code"], 0, "{answer}");
    let grown = decision_bytes(&server, &tenant).await - before;
    assert!(grown < 1024 * 1024, "one call wrote {grown} bytes");
    // One plugin run per quantity target, every record kept, each
    // replayable from the one shared input.
    let (_, log) = tenant.admin_get("/invocations?limit=1000").await;
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 201);
    let one_addon = log
        .iter()
        .find(|i| i["input"]["target"]["kind"] == "addon")
        .unwrap();
    assert_eq!(
        one_addon["input"]["request"]["addons"]
            .as_array()
            .unwrap()
            .len(),
        200
    );
    assert_eq!(one_addon["input"]["config"], min_max_config());
    let inputs = server.app.store().dump_table("call_inputs").await.unwrap();
    assert_eq!(inputs.len(), 1, "the shared input is stored once");
    // The subscription target's attributes are the request's: stored once
    // (in the shared input), read back whole.
    let subscription = log
        .iter()
        .find(|i| i["input"]["target"]["kind"] == "subscription")
        .unwrap();
    let input = &subscription["input"];
    assert_eq!(
        input["target"]["attributes"][0]["id"], "storage_gb",
        "{input}"
    );
    assert_eq!(
        input["target"]["attributes"],
        input["request"]["attributes"]
    );
    let rows = server.app.store().dump_table("invocations").await.unwrap();
    let id = subscription["id"].as_str().unwrap();
    let row = rows.iter().find(|r| r.contains(id)).unwrap();
    assert!(
        row.contains(r#""request_attributes":true"#) && !row.contains("storage_gb"),
        "{row}"
    );
    let id = one_addon["id"].as_str().unwrap();
    let (status, replay) = tenant
        .admin_post(&format!("/invocations/{id}/replay"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{replay}");
    assert_eq!(replay["changed"], false, "{replay}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_calls_plugin_time_is_bounded_whatever_its_bindings() {
    let server = Server::start().await;
    let tenant = server.tenant("Slow rules").await;
    let limits = TenantLimits {
        fuel: Some(1_000_000_000_000),
        deadline_ms: Some(100),
        call_budget_ms: Some(250),
        ..Default::default()
    };
    server.set_limits(&tenant, limits).await;
    for i in 0..5 {
        tenant
            .bind_with(
                "precheck",
                &format!("loop-{i}"),
                test_plugins::INFINITE_LOOP,
                json!({"on_failure": "allow"}),
            )
            .await;
    }
    let (_, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 5, true),
        )
        .await;
    assert_eq!(answer["Code"], 0, "the failures are allowed: {answer}");
    server.app.flush_decisions().await;
    let (_, log) = tenant.admin_get("/invocations?hook=precheck").await;
    let log = log.as_array().unwrap();
    // Every binding is in the decision log: those past the budget as not
    // run (kind `call-budget`, no fuel spent), so the tenant sees why.
    assert_eq!(log.len(), 5, "{log:?}");
    let (refused, log): (Vec<&Value>, Vec<&Value>) = log
        .iter()
        .partition(|i| i["error"]["kind"] == "call-budget");
    assert!(
        !refused.is_empty(),
        "runs past the budget must not happen: {} ran",
        log.len()
    );
    for record in &refused {
        assert_eq!(record["fuel"], 0, "{record}");
        assert!(
            record["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("not run: the call's plugin time budget of 250 ms"),
            "{record}"
        );
    }
    // Each run was given what was left of the budget as its deadline, so
    // the deadlines given add up to the budget, however slowly the machine
    // ran them (a wall-clock sum would depend on its load); a deadline can
    // fire a tick or two early when the epoch ticker catches up after a
    // late wake-up, which leaves the next run a few ms more.
    let given: u64 = log
        .iter()
        .map(|i| {
            let message = i["error"]["message"].as_str().unwrap();
            let ms = message
                .strip_prefix("missed its deadline of ")
                .and_then(|m| m.strip_suffix(" ms"))
                .unwrap_or_else(|| panic!("not a deadline: {message}"));
            ms.parse::<u64>().unwrap()
        })
        .sum();
    assert!(given <= 260, "deadlines given: {given} ms in all");
    assert!(server.metric(&budget("call-plugin-time")) >= 1.0);
    server.stop().await;
}

fn small_records() -> Options {
    let mut options = Options::default();
    options.config.decisions = DecisionBounds {
        record_bytes: 2048,
        ..DecisionBounds::default()
    };
    options
}

#[tokio::test(flavor = "multi_thread")]
async fn a_decision_record_is_cut_to_its_bound_with_a_marker() {
    let server = Server::with(small_records()).await;
    let tenant = server.tenant("Chatty").await;
    tenant
        .bind("precheck", "flood", test_plugins::LOG_FLOOD, json!({}))
        .await;
    tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 5, true),
        )
        .await;
    server.app.flush_decisions().await;
    let (_, log) = tenant.admin_get("/invocations").await;
    let logs = log[0]["logs"].as_str().unwrap();
    assert!(logs.len() <= 2048, "{} bytes of logs kept", logs.len());
    assert!(logs.ends_with("[cut: decision record budget]"), "{logs}");
    assert!(server.metric(&budget("decision-record-bytes")) >= 1.0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_calls_records_beyond_its_byte_budget_are_dropped_and_counted() {
    let mut options = Options::default();
    options.config.decisions = DecisionBounds {
        call_bytes: 16 * 1024,
        ..DecisionBounds::default()
    };
    let server = Server::with(options).await;
    let tenant = server.tenant("Big orders").await;
    tenant.bind_min_max().await;
    let (_, answer) = tenant
        .call("/api/Subscriptions/Create", &with_addons("p-1", 200))
        .await;
    assert_eq!(answer["Code"], 0);
    let bytes = decision_bytes(&server, &tenant).await;
    assert!(
        bytes <= 16 * 1024 + 1024,
        "{bytes} bytes for a 16 KiB budget"
    );
    let (_, log) = tenant.admin_get("/invocations?limit=1000").await;
    let kept = log.as_array().unwrap().len();
    assert!(kept > 0 && kept < 201, "{kept} records kept");
    let dropped = server.metric("tollgate_decision_records_dropped_total{reason=\"call-budget\"}");
    assert_eq!(dropped as usize, 201 - kept);
    let calls = server
        .app
        .store()
        .calls(&tenant.secrets.tenant_id, 1)
        .await
        .unwrap();
    assert_eq!(calls[0].records_dropped as usize, 201 - kept);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_writer_queue_drops_records_instead_of_slowing_calls() {
    let mut options = Options::default();
    options.config.decisions = DecisionBounds {
        queue_bytes: 1,
        ..DecisionBounds::default()
    };
    let server = Server::with(options).await;
    let tenant = server.tenant("Queue").await;
    tenant.bind_min_max().await;
    let (_, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 2, true),
        )
        .await;
    assert_eq!(answer["Code"], -105, "the call is decided all the same");
    assert_eq!(decision_bytes(&server, &tenant).await, 0);
    assert!(server.metric("tollgate_decision_records_dropped_total{reason=\"queue-full\"}") >= 1.0);
    assert!(server.metric(&budget("decision-queue-bytes")) >= 1.0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_keeps_each_tenant_under_its_byte_bound() {
    let mut options = Options::default();
    options.config.retention_bytes_per_tenant = 8 * 1024;
    let server = Server::with(options).await;
    let tenant = server.tenant("Busy").await;
    tenant.bind_min_max().await;
    for i in 0..20 {
        server.advance(1000);
        tenant
            .call(
                "/api/Subscriptions/Create",
                &create(&format!("p-{i}"), "20417", 5, true),
            )
            .await;
    }
    let before = decision_bytes(&server, &tenant).await;
    assert!(
        before > 8 * 1024,
        "the test needs more than the bound: {before}"
    );
    server.app.prune().await.unwrap();
    let after = decision_bytes(&server, &tenant).await;
    assert!(after <= 8 * 1024, "{after} bytes kept");
    assert!(after > 0, "only the oldest go");
    // The newest call's decision survived.
    let (_, log) = tenant.admin_get("/invocations?limit=1").await;
    assert_eq!(
        log[0]["input"]["request"]["platform_subscription_id"],
        "p-19"
    );
    assert_eq!(server.metric(&budget("retention-bytes")), 1.0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_beyond_the_tenants_quotas_are_refused_and_nothing_is_stored() {
    let server = Server::start().await;
    let tenant = server.tenant("Quota").await;
    let limits = TenantLimits {
        max_plugin_versions: Some(2),
        ..Default::default()
    };
    server.set_limits(&tenant, limits).await;
    for (name, path) in [
        ("a", test_plugins::FIXED_MIN_1),
        ("b", test_plugins::FIXED_MIN_3),
    ] {
        let (status, body) = tenant.upload(name, test_plugins::bytes(path)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = tenant
        .upload("c", test_plugins::bytes(test_plugins::MIN_MAX_QUANTITY))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["reason"], "quota");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("max_plugin_versions"),
        "{body}"
    );
    let (_, plugins) = tenant.admin_get("/plugins").await;
    assert_eq!(plugins.as_array().unwrap().len(), 2);
    assert_eq!(server.metric(&budget("plugin-versions")), 1.0);

    // Deleting an unused version makes room.
    let (_, versions) = tenant.admin_get("/plugins/a/versions").await;
    let version = versions[0]["version"].as_str().unwrap();
    let response = client()
        .delete(format!(
            "{}/admin/v1/plugins/a/versions/{version}",
            tenant.url
        ))
        .bearer_auth(&tenant.secrets.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, _) = tenant
        .upload("c", test_plugins::bytes(test_plugins::MIN_MAX_QUANTITY))
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Bytes: a quota just under the next upload's size refuses it.
    let (_, usage) = tenant.admin_get("/plugins").await;
    assert_eq!(usage.as_array().unwrap().len(), 2);
    let stored = server
        .app
        .store()
        .plugin_usage(&tenant.secrets.tenant_id)
        .await
        .unwrap()
        .1;
    let limits = TenantLimits {
        max_plugin_bytes: Some(stored as u64 + 10),
        ..Default::default()
    };
    server.set_limits(&tenant, limits).await;
    let (status, body) = tenant
        .upload("d", test_plugins::bytes(test_plugins::FIXED_MIN_1))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("max_plugin_bytes"),
        "{body}"
    );
    assert_eq!(
        server
            .app
            .store()
            .plugin_usage(&tenant.secrets.tenant_id)
            .await
            .unwrap()
            .1,
        stored,
        "nothing stored"
    );
    assert_eq!(server.metric(&budget("plugin-bytes")), 1.0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bindings_beyond_the_tenants_quota_are_refused() {
    let server = Server::start().await;
    let tenant = server.tenant("Many rules").await;
    let limits = TenantLimits {
        max_bindings: Some(1),
        ..Default::default()
    };
    server.set_limits(&tenant, limits).await;
    tenant
        .bind(HOOK, "first", test_plugins::FIXED_MIN_1, json!({}))
        .await;
    let (status, body) = tenant
        .admin_put(
            "/bindings/quantity-limits/second",
            &json!({"plugin": "first"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("max_bindings"),
        "{body}"
    );
    // Changing the existing binding is still fine.
    let (status, _) = tenant
        .admin_put(
            "/bindings/quantity-limits/first",
            &json!({"plugin": "first"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, bindings) = tenant.admin_get("/bindings").await;
    assert_eq!(bindings.as_array().unwrap().len(), 1);
    server.stop().await;
}

fn cache_file(server: &Server, version: &str) -> std::path::PathBuf {
    let dir = server.db.dir.path().join("cache");
    let compat = std::fs::read_dir(&dir)
        .expect("cache dir")
        .next()
        .expect("a compatibility dir")
        .unwrap()
        .path();
    compat.join(format!("{version}.cwasm"))
}

async fn delete_version(tenant: &Tenant, name: &str, version: &str) -> (StatusCode, Value) {
    tenant
        .admin_delete(&format!("/plugins/{name}/versions/{version}"))
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_version_in_use_cannot_be_deleted_and_a_deleted_one_frees_its_code() {
    let server = Server::start().await;
    let tenant = server.tenant("Tidy").await;
    let upload = |path: &'static str| {
        let tenant = tenant.clone();
        async move {
            let (_, body) = tenant.upload("rule", test_plugins::bytes(path)).await;
            body["version"].as_str().unwrap().to_string()
        }
    };
    let v1 = upload(test_plugins::FIXED_MIN_1).await;
    let v3 = upload(test_plugins::FIXED_MIN_3).await;
    let bind = |version: String| {
        let tenant = tenant.clone();
        async move {
            let (status, body) = tenant
                .admin_put(
                    "/bindings/quantity-limits/rule",
                    &json!({"plugin": "rule", "version": version}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    };
    bind(v1.clone()).await;
    let (status, body) = delete_version(&tenant, "rule", &v1).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("quantity-limits/rule")
    );
    // Still what a rollback would restore.
    bind(v3.clone()).await;
    assert_eq!(
        delete_version(&tenant, "rule", &v1).await.0,
        StatusCode::CONFLICT
    );
    // Rebinding v3 makes v3 the rollback target; v1 is free.
    bind(v3.clone()).await;
    let file = cache_file(&server, &v1);
    assert!(file.exists(), "compiled at upload: {}", file.display());
    let cached_before = server.metric("tollgate_compiled_cache_bytes");
    let (status, body) = delete_version(&tenant, "rule", &v1).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(!file.exists(), "its compiled code is gone from disk");
    assert!(server.metric("tollgate_compiled_cache_bytes") < cached_before);
    let (_, versions) = tenant.admin_get("/plugins/rule/versions").await;
    assert_eq!(versions.as_array().unwrap().len(), 1);
    assert_eq!(
        delete_version(&tenant, "rule", &v1).await.0,
        StatusCode::NOT_FOUND
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_cache_file_is_never_loaded_and_is_compiled_again() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start().await;
    let tenant = server.tenant("Cache").await;
    let version = tenant.bind_min_max().await;
    let file = cache_file(&server, &version);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(file.parent().unwrap()), 0o700);
    assert_eq!(mode(file.parent().unwrap().parent().unwrap()), 0o700);
    let good = std::fs::read(&file).unwrap();
    // Anyone who can write the cache directory: a valid-looking artifact
    // that is not what this host wrote.
    let mut evil = good.clone();
    let last = evil.len() - 1;
    evil[last] ^= 0xff;
    std::fs::write(&file, &evil).unwrap();
    let server = server.restart(Options::default()).await;
    let tenant = Tenant::new(&server.url, tenant.secrets.clone());
    let (_, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 2, true),
        )
        .await;
    assert_eq!(answer["Code"], -105, "{answer}");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        good,
        "rewritten from a fresh compile"
    );
    server.stop().await;
}

/// A loaded plugin holds its memory images (a copy of each memory's
/// initial contents) besides its native code: the compiled-code cache
/// counts both, so `--compiled-cache-mib` bounds what loaded plugins hold.
#[tokio::test(flavor = "multi_thread")]
async fn the_compiled_code_cache_counts_memory_images_with_the_code() {
    let server = Server::start().await;
    let tenant = server.tenant("Images").await;
    let version = tenant.bind_min_max().await;
    // The cache file is the native code behind a header of a few bytes.
    let artifact = std::fs::metadata(cache_file(&server, &version))
        .unwrap()
        .len() as f64;
    let held = server.metric("tollgate_compiled_cache_bytes");
    // At least one 64 KiB wasm page of initial memory on top of the code.
    assert!(
        held - artifact >= (64 * 1024 - 64) as f64,
        "{held} bytes held for a {artifact}-byte artifact"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_upload_leaves_no_compiled_code_behind() {
    let server = Server::start().await;
    let tenant = server.tenant("Refused").await;
    tenant
        .upload("rule", test_plugins::bytes(test_plugins::FIXED_MIN_1))
        .await;
    let cached = server.metric("tollgate_compiled_cache_bytes");
    // Same name, another hook: compiled, then refused.
    let bytes = test_plugins::bytes(test_plugins::PANIC);
    let version = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    let (status, body) = tenant.upload("rule", bytes).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(server.metric("tollgate_compiled_cache_bytes"), cached);
    assert!(!cache_file(&server, &version).exists());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenants_second_upload_waits_behind_its_first_and_the_queue_is_bounded() {
    let mut options = Options::default();
    options.config.compile_queue_wait = Duration::from_millis(50);
    options.config.engine.compile_timeout_ms = 3_000;
    let server = Server::with(options).await;
    let tenant = server.tenant("Uploader").await;
    let first = {
        let tenant = tenant.clone();
        tokio::spawn(async move { tenant.upload("slow", slow_to_compile_component()).await })
    };
    // Wait (bounded) until the slow one compiles.
    let mut waited = 0;
    while server.metric("tollgate_compiles_running") < 1.0 {
        assert!(waited < 2000, "the first upload never started compiling");
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    let (status, body) = tenant
        .upload("quick", test_plugins::bytes(test_plugins::FIXED_MIN_1))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(server.metric(&budget("compile-queue")) >= 1.0);
    // Another tenant is not queued behind it (its own gate, a free slot
    // when compile_concurrency > 1; here one slot is taken, so it waits
    // for the global slot: the bound holds for it too).
    let _ = first.await;
    let (status, _) = tenant
        .upload("quick", test_plugins::bytes(test_plugins::FIXED_MIN_1))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    server.stop().await;
}

#[test]
fn the_compile_worker_limits_its_own_address_space() {
    let engine = serde_json::to_string(&tollgate::runtime::EngineConfig::default()).unwrap();
    let compile = |address_space: u64| {
        let limits = json!({"address_space": address_space, "cpu_seconds": 30, "threads": 1});
        let mut child = std::process::Command::new(exe())
            .args([
                "internal-compile",
                "--engine",
                &engine,
                "--limits",
                &limits.to_string(),
            ])
            .env_clear()
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // A worker that cannot even start under its limit closes the pipe.
        let _ = child
            .stdin
            .take()
            .unwrap()
            .write_all(&test_plugins::bytes(test_plugins::MIN_MAX_QUANTITY));
        child.wait_with_output().unwrap()
    };
    let roomy = compile(4 << 30);
    assert!(
        roomy.status.success(),
        "{}",
        String::from_utf8_lossy(&roomy.stderr)
    );
    assert!(!roomy.stdout.is_empty());
    let cramped = compile(16 << 20);
    assert!(
        !cramped.status.success(),
        "16 MiB of address space cannot compile"
    );
}

// ---- HTTP: raw sockets ----

fn raw(server_url: &str, request: &[u8]) -> String {
    let addr = server_url.trim_start_matches("http://");
    let mut socket = std::net::TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    socket.write_all(request).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match socket.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            Err(e) => panic!("no answer within 10 s: {e}"),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_non_ascii_and_invalid_utf8_paths_get_an_answer_not_a_panic() {
    let server = Server::start().await;
    let url = server.url.clone();
    let answers = tokio::task::spawn_blocking(move || {
        let mut answers = Vec::new();
        for path in [
            &b"/ab\xc3\xa9"[..],
            b"/\xc3\xa9",
            b"/api\xc3\xa9/x",
            b"/ab\xff\xfe",
            b"/api/Subscriptions/Cr\xc3\xa9ate",
        ] {
            let mut request = b"GET ".to_vec();
            request.extend_from_slice(path);
            request.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            answers.push(raw(&url, &request));
        }
        answers
    })
    .await
    .unwrap();
    for answer in answers {
        let status = answer.split(' ').nth(1).unwrap_or("");
        assert!(
            status == "404" || status == "400",
            "expected 404 (or 400 for bytes HTTP forbids): {answer}"
        );
    }
    // Still serving.
    let (status, _) = read(
        client()
            .get(format!("{}/healthz", server.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_are_checked_before_any_body_is_read() {
    let server = Server::start().await;
    let url = server.url.clone();
    // A megabyte announced, never sent: the 401 comes anyway.
    let answer = tokio::task::spawn_blocking(move || {
        raw(
            &url,
            b"POST /api/Subscriptions/Create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{",
        )
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_headers_and_slow_bodies_are_cut_off() {
    let mut options = Options::default();
    options.http.header_timeout = Duration::from_millis(300);
    options.http.body_timeout = Duration::from_millis(300);
    let server = Server::with(options).await;
    let tenant = server.tenant("Slow client").await;
    let url = server.url.clone();
    let (header_answer, body_answer) = tokio::task::spawn_blocking({
        let tenant = tenant.clone();
        move || {
            // Headers that never end: the server closes the connection.
            let header_answer = raw(&url, b"GET /healthz HTTP/1.1\r\nHost: x\r\n");
            // A body that stops after 10 of 100 bytes: 408.
            let request = format!(
                "POST /api/Subscriptions/Create HTTP/1.1\r\nHost: x\r\nX-CloudPlatform-ApplicationId: {}\r\nX-CloudPlatform-APIKey: {}\r\nContent-Length: 100\r\n\r\n{{\"ID\": \"\",",
                tenant.secrets.application_id,
                tenant.api_key_header()
            );
            (header_answer, raw(&url, request.as_bytes()))
        }
    })
    .await
    .unwrap();
    assert!(
        header_answer.is_empty() || header_answer.starts_with("HTTP/1.1 408"),
        "{header_answer}"
    );
    assert!(body_answer.starts_with("HTTP/1.1 408"), "{body_answer}");
    assert!(server.metric(&budget("header-timeout")) >= 1.0);
    assert!(server.metric(&budget("body-timeout")) >= 1.0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_beyond_the_cap_wait_for_a_free_one() {
    let mut options = Options::default();
    options.http.max_connections = 2;
    options.http.header_timeout = Duration::from_millis(500);
    let server = Server::with(options).await;
    let addr = server.url.trim_start_matches("http://").to_string();
    let idle: Vec<_> = (0..2)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    // The two idle ones hold both slots until the header timeout closes
    // them; the third is answered after that, not refused.
    let url = server.url.clone();
    let answer = tokio::task::spawn_blocking(move || {
        raw(
            &url,
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(server.metric(&budget("connections")) >= 1.0);
    drop(idle);
    server.stop().await;
}

// ---- Races and arithmetic ----

#[tokio::test(flavor = "multi_thread")]
async fn an_account_being_deleted_never_keeps_a_live_subscription() {
    let server = Server::start().await;
    let tenant = server.tenant("Races").await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let tenant = tenant.clone();
        tasks.push(tokio::spawn(async move {
            let account_id = format!("acc-{i}");
            let (_, synced) = tenant
                .call("/api/Accounts/Synchronize", &account(&account_id))
                .await;
            let external = synced["Result"].as_str().unwrap().to_string();
            let mut delete_body = account(&account_id);
            delete_body["ExternalID"] = json!(external);
            let create_body = create(&format!("p-{i}"), &account_id, 5, false);
            let (deleted, created) = tokio::join!(
                tenant.call("/api/Accounts/Delete", &delete_body),
                tenant.call("/api/Subscriptions/Create", &create_body)
            );
            (
                deleted.1["Code"].as_i64().unwrap(),
                created.1["Code"].as_i64().unwrap(),
            )
        }));
    }
    for task in tasks {
        let (deleted, created) = task.await.unwrap();
        // Either the delete came first (the create is refused as an
        // unknown account) or the create did (the delete is refused).
        assert!(
            (deleted == 0 && created == -3) || (deleted == -6 && created == 0),
            "delete answered {deleted}, create {created}"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_for_a_deleted_account_is_refused_with_a_clear_code() {
    let server = Server::start().await;
    let tenant = server.tenant("Deleted").await;
    let (_, synced) = tenant
        .call("/api/Accounts/Synchronize", &account("gone"))
        .await;
    let mut body = account("gone");
    body["ExternalID"] = synced["Result"].clone();
    let (_, deleted) = tenant.call("/api/Accounts/Delete", &body).await;
    assert_eq!(deleted["Code"], 0);
    let before = server.state().await;
    let (_, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "gone", 5, false),
        )
        .await;
    assert_eq!(answer["Code"], -3, "{answer}");
    assert!(
        answer["Message"]
            .as_str()
            .unwrap()
            .contains("synchronize it again")
    );
    assert_eq!(server.state().await, before, "nothing written");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn extreme_plugin_limits_are_enforced_without_overflow() {
    let server = Server::start().await;
    let tenant = server.tenant("Extremes").await;
    // min-max with bounds at the ends of i64 and a huge step.
    let config =
        json!({"products": {"cb_basic": {"min": i64::MIN, "max": i64::MAX, "step": i64::MAX}}});
    tenant
        .bind(HOOK, "min-max", test_plugins::MIN_MAX_QUANTITY, config)
        .await;
    let (status, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 5, true),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["Code"], -108, "{answer}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn history_lists_come_in_pages() {
    let server = Server::start().await;
    let tenant = server.tenant("History").await;
    tenant
        .upload("rule", test_plugins::bytes(test_plugins::FIXED_MIN_1))
        .await;
    for priority in 0..5 {
        tenant
            .admin_put(
                "/bindings/quantity-limits/rule",
                &json!({"plugin": "rule", "priority": priority}),
            )
            .await;
    }
    let (_, page) = tenant
        .admin_get("/bindings/quantity-limits/rule?history_limit=2")
        .await;
    let revisions: Vec<i64> = page["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["revision"].as_i64().unwrap())
        .collect();
    assert_eq!(revisions, vec![4, 5]);
    let (_, older) = tenant
        .admin_get("/bindings/quantity-limits/rule?history_limit=2&history_before=4")
        .await;
    assert_eq!(older["history"][0]["revision"], 2);
    assert_eq!(older["history"][1]["revision"], 3);
    server.stop().await;
}
