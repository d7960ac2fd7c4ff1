//! The binary as an operator runs it: every `serve` flag has its effect,
//! given as a flag and given as its `TOLLGATE_*` variable (each scenario
//! runs both ways), `--base-path` end to end, the `demo`, and the `tenant`
//! commands beside a running server.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

#[derive(Clone, Copy, Debug)]
enum Via {
    Flags,
    Env,
}

fn env_name(flag: &str) -> String {
    format!("TOLLGATE_{}", flag.to_uppercase().replace('-', "_"))
}

/// `tollgate serve` with `settings` (flag, value) as flags or as
/// `TOLLGATE_*` variables — the listen address and the JSON log format too.
fn serve(via: Via, settings: &[(&str, String)]) -> Process {
    let mut all = settings.to_vec();
    all.push(("listen", "127.0.0.1:0".into()));
    all.push(("log-format", "json".into()));
    match via {
        Via::Flags => {
            let mut args = vec!["serve".to_string()];
            for (flag, value) in &all {
                args.push(format!("--{flag}"));
                args.push(value.clone());
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            spawn_process(&args, &[])
        }
        Via::Env => {
            let envs: Vec<(String, String)> =
                all.iter().map(|(f, v)| (env_name(f), v.clone())).collect();
            let envs: Vec<(&str, &str)> =
                envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            spawn_process(&["serve"], &envs)
        }
    }
}

/// A client that keeps no idle connection (servers here close idle ones
/// early, and some checks count open connections).
fn unpooled() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn tenant_at(url: &str, secrets: tollgate::service::TenantSecrets) -> Tenant {
    let mut tenant = Tenant::new(url, secrets);
    tenant.http = unpooled();
    tenant
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// A value for a setting whose default depends on the machine, unlike the
/// default here, so its effect shows.
fn unlike(default: usize) -> usize {
    if default == 2 { 3 } else { 2 }
}

/// The flags the limits scenario sets (with `listen` and `log-format`).
const LIMITS_FLAGS: &[&str] = &[
    "data-dir",
    "base-path",
    "operator-token",
    "body-limit",
    "fuel",
    "deadline-ms",
    "memory-mib",
    "max-component-bytes",
    "tenant-concurrency",
    "answer-deadline-ms",
    "call-budget-ms",
    "max-plugin-versions",
    "max-plugin-bytes",
    "max-bindings",
    "header-timeout-ms",
    "body-timeout-ms",
];

/// The flags the storage scenario sets.
const STORAGE_FLAGS: &[&str] = &[
    "data-dir",
    "database",
    "compiled-cache-mib",
    "disk-cache-mib",
    "compile-concurrency",
    "compile-timeout-ms",
    "max-connections",
    "retention-per-tenant",
    "event-retention-days",
    "retention-days",
    "retention-bytes-per-tenant",
];

#[test]
fn every_serve_flag_has_its_variable_and_a_test() {
    let (code, help, err) = run_cli(&["serve", "--help"]);
    assert_eq!(code, 0, "{err}");
    let mut flags = std::collections::BTreeSet::new();
    for line in help.lines().map(str::trim) {
        let Some(rest) = line.strip_prefix("--") else {
            continue;
        };
        let flag = rest.split([' ', '<', '=']).next().unwrap();
        if flag == "help" {
            continue;
        }
        flags.insert(flag.to_string());
    }
    // Every flag's help names its variable, spelled TOLLGATE_<FLAG>.
    let words = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for flag in &flags {
        assert!(
            words.contains(&format!("[env: {}", env_name(flag))),
            "--{flag} has no {} in:\n{help}",
            env_name(flag)
        );
    }
    let tested: std::collections::BTreeSet<String> = LIMITS_FLAGS
        .iter()
        .chain(STORAGE_FLAGS)
        // log-queue-lines: operations::past_the_log_queue_lines_are_dropped_and_counted_on_the_real_binary
        .chain(&["listen", "log-format", "log-queue-lines"])
        .map(|f| f.to_string())
        .collect();
    assert_eq!(
        flags, tested,
        "serve flags without a test, or tests of no flag"
    );
}

/// Create a tenant through the operator endpoint (under the base path),
/// with its own limits.
async fn operator_tenant(base: &str, token: &str, name: &str, limits: Value) -> Tenant {
    let http = unpooled();
    let (status, created) = read(
        http.post(format!("{base}/admin/v1/tenants"))
            .bearer_auth(token)
            .json(&json!({"name": name}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secrets: tollgate::service::TenantSecrets = serde_json::from_value(created).unwrap();
    let (status, body) = read(
        http.put(format!(
            "{base}/admin/v1/tenants/{}/limits",
            secrets.tenant_id
        ))
        .bearer_auth(token)
        .json(&limits)
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    tenant_at(base, secrets)
}

fn refusal(answer: &Value) -> String {
    answer["Message"].as_str().unwrap_or_default().to_string()
}

/// Per-call limits, bounds of a call, of a tenant's uploads and of HTTP.
async fn limits_scenario(via: Via) {
    let work = tempfile::tempdir().unwrap();
    let size = |p: &str| test_plugins::bytes(p).len();
    let plugin_bytes = size(test_plugins::INFINITE_LOOP) + size(test_plugins::FIXED_MIN_3) + 1000;
    let component_bytes = (plugin_bytes + 1000).max(size(test_plugins::MEMORY_BOMB) + 1000);
    let concurrency = unlike(cores().saturating_sub(1).max(1));
    let token = "operator-9a1c5e";
    let settings: Vec<(&str, String)> = vec![
        ("data-dir", work.path().display().to_string()),
        ("base-path", "/tg".into()),
        ("operator-token", token.into()),
        ("body-limit", "200000".into()),
        ("fuel", "1000000".into()),
        ("deadline-ms", "60".into()),
        ("memory-mib", "8".into()),
        ("max-component-bytes", component_bytes.to_string()),
        ("tenant-concurrency", concurrency.to_string()),
        ("answer-deadline-ms", "300".into()),
        ("call-budget-ms", "100".into()),
        ("max-plugin-versions", "2".into()),
        ("max-plugin-bytes", plugin_bytes.to_string()),
        ("max-bindings", "3".into()),
        ("header-timeout-ms", "300".into()),
        ("body-timeout-ms", "300".into()),
    ];
    assert_eq!(
        settings.iter().map(|(f, _)| *f).collect::<Vec<_>>(),
        LIMITS_FLAGS
    );
    let server = serve(via, &settings);
    let base = format!("{}/tg", server.url);
    let http = unpooled();

    // --base-path: every API under the prefix.
    let (status, health) = read(http.get(format!("{base}/healthz")).send().await.unwrap()).await;
    assert_eq!((status, &health["status"]), (StatusCode::OK, &json!("ok")));
    let (status, spec) = read(
        http.get(format!("{base}/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(spec["paths"].is_object());
    // --operator-token: the operator endpoints, and only with it.
    let (status, _) = read(
        http.post(format!("{base}/admin/v1/tenants"))
            .bearer_auth("not-the-token")
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let plain = operator_tenant(&base, token, "Plain", json!({})).await;
    let (_, answer) = plain
        .call("/api/Subscriptions/Create", &create("p-1", "1", 5, true))
        .await;
    assert_eq!(
        answer["Code"], 0,
        "a platform call under the prefix: {answer}"
    );

    // --body-limit
    let mut big = create("p-1", "1", 5, true);
    big["ExtraDetails"] = json!({"padding": "x".repeat(200_000)});
    let (status, answer) = plain.call("/api/Subscriptions/Create", &big).await;
    assert_eq!(
        (status, refusal(&answer)),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "The request body is larger than the limit of 200000 bytes.".into()
        )
    );

    // --fuel (a deadline only fuel can beat)
    let fuel = operator_tenant(
        &base,
        token,
        "Fuel",
        json!({"deadline_ms": 60000, "call_budget_ms": 60000}),
    )
    .await;
    fuel.bind("precheck", "loop", test_plugins::INFINITE_LOOP, json!({}))
        .await;
    let (_, answer) = fuel
        .call("/api/Subscriptions/Create", &create("p-1", "1", 5, true))
        .await;
    assert!(
        fuel.logged_error(&answer, "loop")
            .await
            .contains("ran out of fuel (limit 1000000)"),
        "{answer}"
    );

    // --deadline-ms (fuel for hours)
    let deadline = operator_tenant(
        &base,
        token,
        "Deadline",
        json!({"fuel": 1_000_000_000_000_000u64}),
    )
    .await;
    deadline
        .bind("precheck", "loop", test_plugins::INFINITE_LOOP, json!({}))
        .await;
    let (_, answer) = deadline
        .call("/api/Subscriptions/Create", &create("p-1", "1", 5, true))
        .await;
    assert!(
        deadline
            .logged_error(&answer, "loop")
            .await
            .contains("missed its deadline of 60 ms"),
        "{answer}"
    );

    // --memory-mib
    let memory = operator_tenant(
        &base,
        token,
        "Memory",
        json!({"deadline_ms": 60000, "call_budget_ms": 60000}),
    )
    .await;
    memory
        .bind("precheck", "bomb", test_plugins::MEMORY_BOMB, json!({}))
        .await;
    let (_, answer) = memory
        .call("/api/Subscriptions/Create", &create("p-1", "1", 5, true))
        .await;
    assert!(
        memory
            .logged_error(&answer, "bomb")
            .await
            .contains("exceeded its memory limit of 8388608 bytes"),
        "{answer}"
    );

    // --call-budget-ms: two 60 ms loops (allowed to fail) use up all but
    // at most a tick or two of the 100 ms, so the third rule is refused its
    // run, or runs cut to what is left (not its own 60 ms).
    // --max-bindings and --max-plugin-versions on the same tenant.
    let budget = operator_tenant(
        &base,
        token,
        "Budget",
        json!({"fuel": 1_000_000_000_000_000u64}),
    )
    .await;
    let (status, up) = budget
        .upload("loop", test_plugins::bytes(test_plugins::INFINITE_LOOP))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{up}");
    for (binding, priority, policy) in [
        ("loop-1", 0, "allow"),
        ("loop-2", 1, "allow"),
        ("loop-3", 2, "reject"),
    ] {
        let (status, body) = budget
            .admin_put(
                &format!("/bindings/precheck/{binding}"),
                &json!({"plugin": "loop", "priority": priority, "on_failure": policy}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, answer) = budget
        .call("/api/Subscriptions/Create", &create("p-1", "1", 5, true))
        .await;
    let message = refusal(&answer);
    // Refused its run (recorded as not run, naming the budget), or run cut
    // to what was left; the decision log says which under the TrackId.
    let logged = budget.logged_error(&answer, "loop-3").await;
    let cut_to = logged
        .split("missed its deadline of ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|ms| ms.parse::<u64>().ok());
    let (_, loop_1) = budget.admin_get("/invocations?binding=loop-1").await;
    assert!(
        answer["Code"] == -1
            && message
                .starts_with("The request could not be checked: rule \"loop-3\" took too long")
            && loop_1[0]["error"]["kind"] == "deadline-exceeded"
            && (logged.starts_with(
                "not run: the call's plugin time budget of 100 ms (or its answer deadline) is used up"
            ) || cut_to.is_some_and(|ms| ms <= 2)),
        "{answer} {logged}"
    );
    let (status, body) = budget
        .admin_put("/bindings/precheck/loop-4", &json!({"plugin": "loop"}))
        .await;
    assert_eq!(
        (status, &body["reason"]),
        (StatusCode::CONFLICT, &json!("quota")),
        "{body}"
    );
    assert!(body["detail"].as_str().unwrap().contains('3'), "{body}");
    let (status, body) = budget
        .upload("second", test_plugins::bytes(test_plugins::FIXED_MIN_3))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = budget
        .upload("third", test_plugins::bytes(test_plugins::FIXED_MIN_1))
        .await;
    assert_eq!(
        (status, &body["reason"]),
        (StatusCode::CONFLICT, &json!("quota")),
        "{body}"
    );
    assert!(body["detail"].as_str().unwrap().contains('2'), "{body}");

    // --max-plugin-bytes: one upload past the tenant's bytes.
    let bytes = operator_tenant(&base, token, "Bytes", json!({})).await;
    let (status, body) = bytes
        .upload(
            "big",
            padded_to(
                &test_plugins::bytes(test_plugins::FIXED_MIN_1),
                plugin_bytes + 1,
            ),
        )
        .await;
    assert_eq!(
        (status, &body["reason"]),
        (StatusCode::CONFLICT, &json!("quota")),
        "{body}"
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains(&plugin_bytes.to_string()),
        "{body}"
    );

    // --max-component-bytes (a tenant whose own byte quota is larger).
    let uploader = operator_tenant(
        &base,
        token,
        "Uploader",
        json!({"max_plugin_bytes": 1u64 << 30}),
    )
    .await;
    let (status, body) = uploader
        .upload(
            "big",
            padded_to(
                &test_plugins::bytes(test_plugins::FIXED_MIN_1),
                component_bytes + 1,
            ),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains(&component_bytes.to_string()),
        "{body}"
    );

    // --tenant-concurrency: one dry-run more than the tenant's slots, each
    // running 4 s; exactly one waits past the 2 s queue bound (503).
    // --answer-deadline-ms: meanwhile a platform call of that tenant waits
    // for a slot and is answered Code -4 at its deadline.
    let busy = operator_tenant(
        &base,
        token,
        "Busy",
        json!({"fuel": 1_000_000_000_000_000u64, "deadline_ms": 4000}),
    )
    .await;
    busy.bind("precheck", "loop", test_plugins::INFINITE_LOOP, json!({}))
        .await;
    let input = json!({"request": {"operation": "subscription-create", "product_id": "cb_basic", "quantity": 5, "account": {"id": "1"}}});
    let mut runs = Vec::new();
    for _ in 0..=concurrency {
        let t = busy.clone();
        let input = input.clone();
        runs.push(tokio::spawn(async move {
            t.admin_post("/dry-run", &json!({"plugin": "loop", "input": input}))
                .await
        }));
    }
    // The one turned away answers first (2 s), while the others still run.
    let (mut waited, mut ran) = (0, 0);
    let mut asked = false;
    while !runs.is_empty() {
        let (finished, _, rest) = futures_select(runs).await;
        runs = rest;
        let (status, body) = finished;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            waited += 1;
            assert!(
                body["detail"]
                    .as_str()
                    .unwrap()
                    .contains("Too many rule evaluations are waiting"),
                "{body}"
            );
            assert!(!asked);
            asked = true;
            let (status, answer) = busy
                .call("/api/Subscriptions/Create", &create("p-1", "1", 5, true))
                .await;
            assert_eq!(
                (status, &answer["Code"], refusal(&answer)),
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    &json!(-4),
                    "The request could not be decided within 300 ms; please retry.".into()
                ),
                "{answer}"
            );
        } else {
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["error"]["kind"], "deadline-exceeded", "{body}");
            ran += 1;
        }
    }
    assert_eq!(
        (waited, ran),
        (1, concurrency),
        "--tenant-concurrency {concurrency}"
    );

    // --header-timeout-ms: a client that never finishes its headers is cut
    // off (the default waits 10 s).
    let started = std::time::Instant::now();
    let text = raw_exchange(
        &server.url,
        b"POST /tg/api/Subscriptions/Create HTTP/1.1\r\nConnection: close\r\nHost: x\r\n",
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(5), "{text:?}");
    // --body-timeout-ms: a body that never arrives whole is answered 408
    // (the default waits 30 s).
    let started = std::time::Instant::now();
    let request = format!(
        "POST /tg/api/Subscriptions/Create HTTP/1.1\r\nHost: x\r\nX-CloudPlatform-ApplicationId: {}\r\nX-CloudPlatform-APIKey: {}\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{{\"Quan",
        plain.secrets.application_id,
        plain.api_key_header()
    );
    let text = raw_exchange(&server.url, request.as_bytes()).await;
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(5), "{text}");

    // --data-dir (no --database): the embedded database and, at the
    // default cache sizes, compiled code in memory and on disk there.
    assert!(work.path().join("tollgate.db").exists());
    assert!(dir_bytes(&work.path().join("cache")) > 0);
    let in_memory = metric(&client(), &server.url, "tollgate_compiled_cache_bytes").await;
    assert!(in_memory > 0.0, "{in_memory}");

    // --log-format json: every line is a JSON object.
    let stderr = server.stderr();
    for line in stderr.lines() {
        assert!(
            serde_json::from_str::<Value>(line).is_ok_and(|v| v.is_object()),
            "not a JSON line: {line}"
        );
    }
}

/// The first of `tasks` to finish, its index, and the others.
async fn futures_select<T>(
    tasks: Vec<tokio::task::JoinHandle<T>>,
) -> (T, usize, Vec<tokio::task::JoinHandle<T>>) {
    let mut tasks = tasks;
    loop {
        if let Some(i) = tasks.iter().position(|t| t.is_finished()) {
            let done = tasks.remove(i);
            return (done.await.unwrap(), i, tasks);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Write `request` on a new connection and read until the server closes
/// it (bounded).
async fn raw_exchange(url: &str, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(url.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(PROCESS_WAIT, stream.read_to_end(&mut out))
        .await
        .expect("the server closes the connection");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_limit_flag_has_its_effect() {
    limits_scenario(Via::Flags).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_limit_variable_has_its_flags_effect() {
    limits_scenario(Via::Env).await;
}

async fn metric(scraper: &reqwest::Client, url: &str, series: &str) -> f64 {
    let text = metrics_text(scraper, url).await;
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Bytes of the files under `dir`, at any depth.
fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

async fn decided(tenant: &Tenant, n: usize) {
    for i in 0..n {
        let (_, answer) = tenant
            .call(
                "/api/Subscriptions/Create",
                &create(&format!("c-{i}"), "1", 5, true),
            )
            .await;
        assert_eq!(answer["Code"], 0, "{answer}");
    }
}

async fn stop(mut server: Process) {
    server.terminate();
    let exited = server.exited_within(PROCESS_WAIT).await;
    assert!(exited.is_some_and(|s| s.success()), "{exited:?}");
}

/// Where data lives, caches, compile slots, connections, retention.
async fn storage_scenario(via: Via) {
    let work = tempfile::tempdir().unwrap();
    let data_dir = work.path().join("data");
    let db_dir = work.path().join("db");
    std::fs::create_dir_all(&db_dir).unwrap();
    let db_file = db_dir.join("elsewhere.db");
    let database = format!("sqlite://{}?mode=rwc", db_file.display());
    let compile_slots = unlike((cores() / 2).max(1));
    let base: Vec<(&str, String)> = vec![
        ("data-dir", data_dir.display().to_string()),
        ("database", database.clone()),
    ];
    // Tenants created by the tenant command, on the same database (named
    // by its variable).
    let mut secrets = Vec::new();
    for i in 0..=compile_slots {
        let out = std::process::Command::new(exe())
            .args(["tenant", "create", "--name", &format!("Tenant {i}")])
            .env("TOLLGATE_DATABASE", &database)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let s: tollgate::service::TenantSecrets = serde_json::from_slice(&out.stdout).unwrap();
        secrets.push(s);
    }
    let mut settings = base.clone();
    settings.extend([
        ("compiled-cache-mib", "0".to_string()),
        ("disk-cache-mib", "0".to_string()),
        ("max-connections", "2".to_string()),
    ]);
    let server = serve(via, &settings);
    let scraper = client();
    // --database and --data-dir: the database where it was named, not in
    // the data dir.
    assert!(db_file.exists());
    assert!(!data_dir.join("tollgate.db").exists());

    // --compiled-cache-mib 0 and --disk-cache-mib 0: compiled code is kept
    // neither in memory nor in the data dir's cache (the limits scenario,
    // at the defaults, keeps both), and the plugin still runs.
    let tenant = tenant_at(&server.url, secrets[0].clone());
    tenant.bind_min_max().await;
    let (_, answer) = tenant
        .call("/api/Subscriptions/Create", &create("p-0", "1", 2, true))
        .await;
    assert_eq!(answer["Code"], -105, "{answer}");
    // Text logs (the default) to a pipe: plain lines, no terminal colours.
    let logs = server.stderr();
    assert!(logs.contains("tollgate serving"), "{logs}");
    assert!(
        !logs.contains('\u{1b}'),
        "colour codes in piped logs: {logs}"
    );
    assert_eq!(
        metric(&scraper, &server.url, "tollgate_compiled_cache_bytes").await,
        0.0
    );
    assert!(data_dir.join("cache").is_dir());
    assert_eq!(dir_bytes(&data_dir.join("cache")), 0);
    tenant
        .admin_send(
            reqwest::Method::DELETE,
            "/bindings/quantity-limits/min-max",
            &json!({}),
        )
        .await;

    // --max-connections 2: two idle connections take both; a third, behind
    // them in the listen backlog, is served only once they close.
    drop(scraper);
    let addr = server.url.trim_start_matches("http://").to_string();
    let idle = [
        tokio::net::TcpStream::connect(&addr).await.unwrap(),
        tokio::net::TcpStream::connect(&addr).await.unwrap(),
    ];
    let third = {
        let t = tenant.clone();
        tokio::spawn(async move {
            t.call("/api/Subscriptions/Create", &create("p-4", "1", 5, true))
                .await
        })
    };
    let waited = tokio::time::timeout(Duration::from_millis(300), async {
        while !third.is_finished() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    assert!(waited.is_err(), "a third connection was served beside two");
    drop(idle);
    let (_, answer) = third.await.unwrap();
    assert_eq!(answer["Code"], 0, "{answer}");
    assert!(
        metric(
            &client(),
            &server.url,
            r#"tollgate_budget_refusals_total{budget="connections"}"#
        )
        .await
            >= 1.0
    );

    // Decision records and an event to prune.
    decided(&tenant, 3).await;
    let (_, created) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-real", "1", 5, false),
        )
        .await;
    assert_eq!(created["Code"], 0, "{created}");
    assert_eq!(tenant.events(0).await.len(), 1);
    let calls = |n| {
        let db = database.clone();
        let id = tenant.secrets.tenant_id.clone();
        async move {
            let store = tollgate::store::Store::open(&db).await.unwrap();
            let started = std::time::Instant::now();
            loop {
                let have = store.calls(&id, 1000).await.unwrap().len();
                if have == n {
                    break;
                }
                assert!(
                    started.elapsed() < PROCESS_WAIT,
                    "{have} call records, not {n}"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            store.close().await;
        }
    };
    calls(6).await;
    stop(server).await;

    // A server of its own for compiling, so that no other upload runs
    // under the short compile deadline.
    let mut settings = base.clone();
    settings.extend([
        ("compile-concurrency", compile_slots.to_string()),
        ("compile-timeout-ms", "1000".to_string()),
    ]);
    let server = serve(via, &settings);
    let scraper = client();
    // --compile-concurrency: as many slow uploads as slots, from as many
    // tenants, compile at once; --compile-timeout-ms stops each.
    let mut uploads = Vec::new();
    for s in &secrets[1..] {
        let t = tenant_at(&server.url, s.clone());
        uploads.push(tokio::spawn(async move {
            t.upload("slow", slow_to_compile_component()).await
        }));
    }
    let started = std::time::Instant::now();
    loop {
        let running = metric(&scraper, &server.url, "tollgate_compiles_running").await;
        assert!(
            running <= compile_slots as f64,
            "{running} compiles at once"
        );
        if running == compile_slots as f64 {
            break;
        }
        assert!(
            !uploads.iter().all(|u| u.is_finished()),
            "never {compile_slots} compiles at once"
        );
        assert!(started.elapsed() < PROCESS_WAIT);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    for upload in uploads {
        let (status, body) = upload.await.unwrap();
        assert_eq!(
            (status, body["detail"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("compiling the component took longer than 1000 ms")
            ),
            "{body}"
        );
    }

    stop(server).await;

    // --retention-per-tenant and --event-retention-days, at start.
    let mut settings = base.clone();
    settings.extend([
        ("retention-per-tenant", "2".to_string()),
        ("event-retention-days", "0".to_string()),
    ]);
    let server = serve(via, &settings);
    calls(2).await;
    let tenant = tenant_at(&server.url, secrets[0].clone());
    let started = std::time::Instant::now();
    while !tenant.events(0).await.is_empty() {
        assert!(started.elapsed() < PROCESS_WAIT, "events not pruned");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    decided(&tenant, 2).await;
    stop(server).await;

    // --retention-days 0: everything older than now goes.
    let mut settings = base.clone();
    settings.push(("retention-days", "0".to_string()));
    let server = serve(via, &settings);
    calls(0).await;
    let tenant = tenant_at(&server.url, secrets[0].clone());
    decided(&tenant, 2).await;
    stop(server).await;

    // --retention-bytes-per-tenant 1: nothing fits.
    let mut settings = base.clone();
    settings.push(("retention-bytes-per-tenant", "1".to_string()));
    let server = serve(via, &settings);
    calls(0).await;
    // Counted once the round is over (bounded wait): the byte bound did it.
    let scraper = client();
    let started = std::time::Instant::now();
    while metric(
        &scraper,
        &server.url,
        r#"tollgate_budget_refusals_total{budget="retention-bytes"}"#,
    )
    .await
        != 1.0
    {
        assert!(
            started.elapsed() < PROCESS_WAIT,
            "no retention-bytes refusal"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_storage_flag_has_its_effect() {
    storage_scenario(Via::Flags).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_storage_variable_has_its_flags_effect() {
    storage_scenario(Via::Env).await;
}

/// `tollgate demo`: its first line, then the pre-check it prints, pasted
/// as printed, answers as the README says; the demo tenant's bindings and
/// documents are there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_serves_what_it_prints() {
    use std::io::BufRead;
    let work = tempfile::tempdir().unwrap();
    let data_dir = work.path().join("demo");
    let mut child = std::process::Command::new(exe())
        .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir)
        .env("TOLLGATE_LOG_FORMAT", "json")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut demo = Process {
        child,
        url: String::new(),
        logs: Default::default(),
    };
    let first: Value = serde_json::from_str(&rx.recv_timeout(PROCESS_WAIT).unwrap()).unwrap();
    demo.url = format!("http://{}", first["listen"].as_str().unwrap());
    assert_eq!(first["data_dir"], data_dir.display().to_string());
    // The printed curl command, up to the decision log's.
    let mut printed = String::new();
    loop {
        let line = rx.recv_timeout(PROCESS_WAIT).unwrap();
        if line.contains("decision log") {
            break;
        }
        printed.push_str(&line);
        printed.push('\n');
    }
    let quoted = |flag: &str| -> Vec<String> {
        printed
            .split(&format!("{flag} '"))
            .skip(1)
            .map(|s| s.split('\'').next().unwrap().to_string())
            .collect()
    };
    let url = printed
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap();
    let mut request = client().post(url);
    for header in quoted("-H") {
        let (k, v) = header.split_once(": ").unwrap();
        request = request.header(k, v);
    }
    let body = quoted("-d").pop().unwrap();
    let (status, answer) = read(request.body(body).send().await.unwrap()).await;
    assert_eq!(
        (status, &answer["Code"], &answer["Message"]),
        (
            StatusCode::OK,
            &json!(-105),
            &json!("The quantity 2 of Cloud Backup Basic (cb_basic) is below the minimum of 3.")
        ),
        "{answer}"
    );
    let tenant = Tenant::new(
        &demo.url,
        tollgate::service::TenantSecrets {
            tenant_id: String::new(),
            name: String::new(),
            application_id: first["application_id"].as_str().unwrap().into(),
            api_key: first["api_key"].as_str().unwrap().into(),
            admin_token: first["admin_token"].as_str().unwrap().into(),
        },
    );
    let (_, bindings) = tenant.admin_get("/bindings").await;
    let mut names: Vec<&str> = bindings
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "cancellation-window",
            "licence-cap",
            "min-max",
            "one-active-subscription"
        ]
    );
    let (_, fields) = tenant.get("/api/Fields/Get").await;
    assert_eq!(fields["Fields"][0]["ID"], "FieldUsername", "{fields}");
    let (_, catalog) = tenant.get("/api/Fields/ServiceDefinition").await;
    assert_eq!(catalog["ProductTypes"][0]["ID"], "cloudbackup");
    let docs = client()
        .get(format!("{}/docs", demo.url))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    drop(demo);
    // A data dir that already holds a database is refused.
    let (code, _, err) = run_cli(&[
        "demo",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("already holds a database"), "{err}");
}

/// The tenant commands, run beside a server on the same database: the
/// server sees each change on its next call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_commands_change_what_a_running_server_does() {
    let work = tempfile::tempdir().unwrap();
    let data_dir = work.path().to_str().unwrap();
    let app_id = "{6F9619FF-8B86-D011-B42D-00C04FC964FF}";
    let (code, out, err) = run_cli(&[
        "tenant",
        "create",
        "--name",
        "Chosen",
        "--application-id",
        app_id,
        "--api-key",
        "my-chosen-api-key-0001",
        "--data-dir",
        data_dir,
    ]);
    assert_eq!(code, 0, "{err}");
    let secrets: tollgate::service::TenantSecrets = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (secrets.application_id.as_str(), secrets.api_key.as_str()),
        (
            "6f9619ff-8b86-d011-b42d-00c04fc964ff",
            "my-chosen-api-key-0001"
        )
    );
    let server = spawn_server(&["serve", "--data-dir", data_dir], &[]);
    let tenant = Tenant::new(&server.url, secrets.clone());
    tenant.bind_min_max().await;
    let check = create("p-1", "1", 5, true);
    assert_eq!(
        tenant.call("/api/Subscriptions/Create", &check).await.1["Code"],
        0
    );

    // tenant list: the tenant, no secret.
    let (code, list, err) = run_cli(&["tenant", "list", "--data-dir", data_dir]);
    assert_eq!(code, 0, "{err}");
    let listed: Value = serde_json::from_str(list.trim()).unwrap();
    assert_eq!(
        (
            listed["tenant_id"].as_str(),
            listed["name"].as_str(),
            &listed["limits"]
        ),
        (
            Some(secrets.tenant_id.as_str()),
            Some("Chosen"),
            &Value::Null
        )
    );
    assert!(!list.contains(&secrets.api_key) && !list.contains(&secrets.admin_token));

    // set-limits: the next call runs under them; without --limits, the
    // defaults again; invalid limits are refused and change nothing.
    let id = secrets.tenant_id.as_str();
    let (code, _, err) = run_cli(&[
        "tenant",
        "set-limits",
        "--tenant",
        id,
        "--limits",
        r#"{"fuel": 1000}"#,
        "--data-dir",
        data_dir,
    ]);
    assert_eq!(code, 0, "{err}");
    let (_, answer) = tenant.call("/api/Subscriptions/Create", &check).await;
    assert!(
        tenant
            .logged_error(&answer, "min-max")
            .await
            .contains("ran out of fuel (limit 1000)"),
        "{answer}"
    );
    let (code, _, err) = run_cli(&[
        "tenant",
        "set-limits",
        "--tenant",
        id,
        "--limits",
        r#"{"fuel": 0}"#,
        "--data-dir",
        data_dir,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("fuel must be positive"), "{err}");
    let (code, _, err) = run_cli(&[
        "tenant",
        "set-limits",
        "--tenant",
        id,
        "--data-dir",
        data_dir,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        tenant.call("/api/Subscriptions/Create", &check).await.1["Code"],
        0
    );

    // rotate-admin-token: the old token stops at once, the new one works.
    let (code, out, err) = run_cli(&[
        "tenant",
        "rotate-admin-token",
        "--tenant",
        id,
        "--data-dir",
        data_dir,
    ]);
    assert_eq!(code, 0, "{err}");
    let rotated: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        tenant.admin_get("/bindings").await.0,
        StatusCode::UNAUTHORIZED
    );
    let mut admin = tenant.clone();
    admin.secrets.admin_token = rotated["admin_token"].as_str().unwrap().to_string();
    let (status, bindings) = admin.admin_get("/bindings").await;
    assert_eq!(
        (status, bindings[0]["name"].as_str()),
        (StatusCode::OK, Some("min-max"))
    );

    // rotate-key (without --keep-previous): only the new key works.
    let (code, out, err) = run_cli(&[
        "tenant",
        "rotate-key",
        "--tenant",
        id,
        "--data-dir",
        data_dir,
    ]);
    assert_eq!(code, 0, "{err}");
    let rotated: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(rotated["previous_key_valid"], false);
    assert_eq!(
        tenant.call("/api/Subscriptions/Create", &check).await.0,
        StatusCode::UNAUTHORIZED
    );
    let mut caller = tenant.clone();
    caller.secrets.api_key = rotated["api_key"].as_str().unwrap().to_string();
    assert_eq!(
        caller.call("/api/Subscriptions/Create", &check).await.1["Code"],
        0
    );

    // An unknown tenant: a clear error, exit code 1.
    let (code, _, err) = run_cli(&[
        "tenant",
        "rotate-admin-token",
        "--tenant",
        "nope",
        "--data-dir",
        data_dir,
    ]);
    assert_eq!(code, 1);
    assert!(err.starts_with("error: "), "{err}");
    drop(server);
}
