//! Hardening: every hostile plugin stopped by its own limit with the
//! binding's failure policy deciding the answer while other tenants are
//! served correctly; a corpus of hostile requests against every endpoint
//! (never a 5xx, never a hang, nothing changed); concurrency without lost
//! updates.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Per-call limits under which only the plugin's own limit can stop it:
/// deadlines no machine reaches first, for the plugins a deadline must not
/// decide.
const ONLY_ITS_OWN_LIMIT: &str = r#"{"deadline_ms": 60000, "call_budget_ms": 60000}"#;
/// Fuel for hours: only the 100 ms deadline can stop it.
const UNLIMITED_FUEL: &str = r#"{"fuel": 1000000000000000}"#;

/// (plugin, hook, tenant limits, error kind, words in the answer's message)
const HOSTILE: &[(&str, &str, &str, &str, &str)] = &[
    (
        test_plugins::INFINITE_LOOP,
        "precheck",
        ONLY_ITS_OWN_LIMIT,
        "fuel-exhausted",
        "ran out of fuel (limit 10000000)",
    ),
    // Host imports are cheap in fuel: with unlimited fuel only the deadline,
    // checked when each import returns to wasm, stops the loop.
    (
        test_plugins::IMPORT_LOOP,
        "precheck",
        UNLIMITED_FUEL,
        "deadline-exceeded",
        "missed its deadline of 100 ms",
    ),
    (
        test_plugins::MEMORY_BOMB,
        "precheck",
        ONLY_ITS_OWN_LIMIT,
        "memory-limit",
        "exceeded its memory limit of 16777216 bytes",
    ),
    (
        test_plugins::DEEP_RECURSION,
        "precheck",
        ONLY_ITS_OWN_LIMIT,
        "stack-overflow",
        "overflowed its stack",
    ),
    (
        test_plugins::PANIC,
        "precheck",
        ONLY_ITS_OWN_LIMIT,
        "trap",
        "deliberate panic",
    ),
    (
        test_plugins::EXIT,
        "precheck",
        ONLY_ITS_OWN_LIMIT,
        "trap",
        "called exit",
    ),
    (
        test_plugins::OVERSIZE_OUTPUT,
        "precheck",
        ONLY_ITS_OWN_LIMIT,
        "oversize-output",
        "output limit",
    ),
    (
        test_plugins::BAD_VERDICT,
        "precheck",
        ONLY_ITS_OWN_LIMIT,
        "invalid-output",
        "outside the business-rule range",
    ),
    (
        test_plugins::BAD_PLAN,
        "resources",
        ONLY_ITS_OWN_LIMIT,
        "invalid-output",
        "negative amount",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_plugins_are_stopped_by_their_own_limit_and_the_policy_decides() {
    let server = Server::start().await;
    let victim = server.tenant("Victim").await;
    victim.bind_min_max().await;
    for (i, (plugin, hook, limits, kind, words)) in HOSTILE.iter().enumerate() {
        for policy in ["reject", "allow"] {
            let attacker = server.tenant(&format!("Attacker {i} {policy}")).await;
            let limits: tollgate::service::TenantLimits = serde_json::from_str(limits).unwrap();
            server
                .app
                .set_tenant_limits(&attacker.secrets.tenant_id, Some(limits))
                .await
                .unwrap();
            attacker
                .bind_with(hook, "hostile", plugin, json!({"on_failure": policy}))
                .await;
            let (status, answer) = attacker
                .call(
                    "/api/Subscriptions/Create",
                    &create("p-1", "20417", 4, false),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{plugin}: {answer}");
            if policy == "reject" {
                assert_eq!(answer["Code"], -1, "{plugin}: {answer}");
                // A fixed sentence for the platform's user; the plugin's
                // own words stay in the decision log.
                let message = answer["Message"].as_str().unwrap();
                assert!(
                    message.contains("rule \"hostile\"") && message.contains("TrackId"),
                    "{message}"
                );
                assert!(
                    words.is_empty() || !message.contains(words),
                    "{plugin}: {message}"
                );
                assert_eq!(answer["Result"], Value::Null, "nothing was provisioned");
            } else {
                assert_eq!(
                    answer["Code"], 0,
                    "under allow the rule is skipped: {plugin}: {answer}"
                );
                if *hook == "resources" {
                    let sub = attacker
                        .subscription(answer["Result"].as_str().unwrap())
                        .await;
                    assert_eq!(
                        sub["resources"]["source"], "builtin",
                        "the built-in plan stands in"
                    );
                }
            }
            let (_, logged) = attacker.admin_get("/invocations?binding=hostile").await;
            assert_eq!(
                (
                    logged[0]["outcome"].as_str(),
                    logged[0]["error"]["kind"].as_str()
                ),
                (Some("error"), Some(*kind)),
                "{plugin}: {logged}"
            );
            // The attacker's next call, with the binding removed, is fine,
            // and so are the other tenant's.
            attacker
                .admin_send(
                    Method::DELETE,
                    &format!("/bindings/{hook}/hostile"),
                    &json!({}),
                )
                .await;
            let (_, next) = attacker
                .call(
                    "/api/Subscriptions/Create",
                    &create("p-2", "20417", 4, false),
                )
                .await;
            assert_eq!(next["Code"], 0, "{plugin}: {next}");
            let (_, victim_answer) = victim
                .call(
                    "/api/Subscriptions/Create",
                    &create("p-v", "20417", 2, true),
                )
                .await;
            assert_eq!(victim_answer["Code"], -105, "{plugin}: {victim_answer}");
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_logs_megabytes_is_truncated_and_still_answers() {
    let server = Server::start().await;
    let tenant = server.tenant("Chatty").await;
    // 3 MiB of output takes a few ms alone; on a loaded CI machine it can
    // pass the 100 ms default deadline. This test is about truncation.
    let limits = tollgate::service::TenantLimits {
        deadline_ms: Some(10_000),
        ..Default::default()
    };
    server
        .app
        .set_tenant_limits(&tenant.secrets.tenant_id, Some(limits))
        .await
        .unwrap();
    tenant
        .bind("precheck", "flood", test_plugins::LOG_FLOOD, json!({}))
        .await;
    let (_, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 4, true),
        )
        .await;
    assert_eq!(answer["Code"], 0, "{answer}");
    server.app.flush_decisions().await;
    let (_, logged) = tenant.admin_get("/invocations").await;
    let logs = logged[0]["logs"].as_str().unwrap();
    assert!(logs.len() <= 4096 + 32, "{} bytes kept", logs.len());
    assert!(logs.ends_with("[log truncated]\n"), "{logs}");
    server.stop().await;
}

/// A hostile request and its specific answer: the status, the Code and
/// the start of the message (which names the field).
struct Hostile {
    path: &'static str,
    body: Vec<u8>,
    expect: StatusCode,
    code: i64,
    message: &'static str,
}

fn deep_nesting(depth: usize) -> Vec<u8> {
    let mut s = String::new();
    s.push_str(r#"{"ProductID": "p", "Quantity": 1, "Account": {"ID": "1"}, "X": "#);
    s.push_str(&"[".repeat(depth));
    s.push_str(&"]".repeat(depth));
    s.push('}');
    s.into_bytes()
}

fn with(mut body: Value, key: &str, value: Value) -> Vec<u8> {
    body[key] = value;
    body.to_string().into_bytes()
}

fn corpus() -> Vec<Hostile> {
    let ok = create("p-h", "20417", 4, false);
    let h = |path, body: Vec<u8>, expect, code, message| Hostile {
        path,
        body,
        expect,
        code,
        message,
    };
    let bad = StatusCode::BAD_REQUEST;
    let fine = StatusCode::OK;
    let create = "/api/Subscriptions/Create";
    let quantity = "Quantity must be a whole number between -2147483648 and 2147483647, but it is ";
    let not_json = "The request body is not valid JSON: ";
    vec![
        h(create, b"{\"ProductID\": ".to_vec(), bad, -2, not_json),
        h(create, b"not json".to_vec(), bad, -2, not_json),
        h(create, b"\xc3\x28\xa0\xa1".to_vec(), bad, -2, not_json),
        h(create, b"[]".to_vec(), bad, -2, "The request body must be a JSON object, but it is a list."),
        h(create, b"".to_vec(), bad, -2, "The request body is empty; a JSON object is expected."),
        h(create, with(ok.clone(), "Quantity", json!("")), bad, -2, "Quantity must be a whole number between -2147483648 and 2147483647, but it is the text \"\"."),
        h(create, with(ok.clone(), "Quantity", json!(true)), bad, -2, "Quantity must be a whole number between -2147483648 and 2147483647, but it is the boolean true."),
        h(create, with(ok.clone(), "Quantity", json!(18446744073709551615u64)), bad, -2, quantity),
        h(create, br#"{"ProductID": "p", "Quantity": 123456789012345678901234567890, "Account": {"ID": "1"}}"#.to_vec(), bad, -2, quantity),
        h(create, with(ok.clone(), "Quantity", json!(2147483648i64)), bad, -2, "Quantity must be a whole number between -2147483648 and 2147483647, but it is the number 2147483648."),
        h(create, with(ok.clone(), "Quantity", json!(-1)), fine, -2, "Quantity -1 is negative."),
        h(create, with(ok.clone(), "Addons", json!({"not": "a list"})), bad, -2, "Addons must be a list, but it is an object."),
        h(create, with(ok.clone(), "Addons", json!([17])), bad, -2, "Addons[0] must be an add-on object, but it is the number 17."),
        h(create, with(ok.clone(), "AttributeList", json!("x")), bad, -2, "AttributeList must be an object of attributes, but it is the text \"x\"."),
        h(create, with(ok.clone(), "CustomFieldValues", json!({"a": {"b": 1}})), bad, -2, "CustomFieldValues.a must be text, but it is an object."),
        h(create, with(ok.clone(), "Account", json!(null)), fine, -2, "The request has no Account."),
        h(create, deep_nesting(100_000), bad, -2, "The request body is not valid JSON: recursion limit exceeded"),
        h("/api/Subscriptions/Update", with(ok.clone(), "ID", json!({"$ne": 1})), bad, -2, "ID must be text, but it is an object."),
        h("/api/Subscriptions/Update", with(ok.clone(), "ID", json!("nope")), fine, -3, "Subscription nope is unknown: it was never created through this service."),
        h("/api/Addons/Create", with(ok.clone(), "ID", json!("x")), fine, -2, "Addons/Create needs at least one add-on with ActionType Provision in Addons."),
        h("/api/Addons/Cancel", b"{}".to_vec(), fine, -2, "The request has no Account."),
        h("/api/Accounts/Synchronize", b"{}".to_vec(), fine, -2, "The request has no ID."),
        h("/api/Accounts/Synchronize", br#"{"ID": ["1"]}"#.to_vec(), bad, -2, "ID must be text, but it is a list."),
        h("/api/Accounts/Delete", b"{\"ExternalID\": 5}".to_vec(), fine, -3, "Account 5 is unknown: it was never synchronized with this service."),
        h("/api/Accounts/Exists", b"{".to_vec(), bad, -2, not_json),
        h("/api/Accounts/IsReseller", b"17".to_vec(), bad, -2, "The request body must be a JSON object, but it is the number 17."),
        h("/api/Fields/Validate", br#"{"Fields": "x"}"#.to_vec(), bad, -2, "Fields must be a list, but it is the text \"x\"."),
        h("/api/Fields/Validate", br#"{"Fields": [{"Value": "no id"}]}"#.to_vec(), bad, -2, "The request has no Fields[0].ID."),
        h(create, vec![b' '; 2 * 1024 * 1024], StatusCode::PAYLOAD_TOO_LARGE, -2, "The request body is larger than the limit of 1048576 bytes."),
        // Within the type, outside the tenant's limits.
        h(create, with(ok.clone(), "Quantity", json!(0)), fine, -105, "The quantity 0 of Cloud Backup Basic (cb_basic) is below the minimum of 3."),
        h(create, with(ok.clone(), "Quantity", json!(2147483647)), fine, -106, "The quantity 2147483647 of Cloud Backup Basic (cb_basic) is above the maximum of 50."),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_specific_errors_and_change_nothing() {
    let server = Server::start().await;
    let tenant = server.tenant("Target").await;
    tenant.put_catalog().await;
    tenant.bind_min_max().await;
    tenant
        .call(
            "/api/Subscriptions/Create",
            &create("existing", "20417", 5, false),
        )
        .await;
    let before = server.state().await;
    let http = client();
    for (i, case) in corpus().into_iter().enumerate() {
        let response = http
            .post(format!("{}{}", server.url, case.path))
            .header(
                "X-CloudPlatform-ApplicationId",
                &tenant.secrets.application_id,
            )
            .header("X-CloudPlatform-APIKey", tenant.api_key_header())
            .header("Content-Type", "application/json")
            .body(case.body)
            .send()
            .await
            .unwrap();
        let (status, body) = read(response).await;
        assert_eq!(
            (status, body["Code"].as_i64()),
            (case.expect, Some(case.code)),
            "case {i} {}: {body}",
            case.path
        );
        let message = body["Message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(case.message),
            "case {i} {}: {body}",
            case.path
        );
        assert_eq!(body["Result"], Value::Null, "case {i}: {body}");
    }
    assert_eq!(
        server.state().await,
        before,
        "the corpus changed provisioning state"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_headers_are_401_and_never_5xx() {
    let server = Server::start().await;
    let tenant = server.tenant("Target").await;
    let body = create("p-1", "20417", 4, true).to_string();
    let http = client();
    let cases: Vec<Vec<(&str, Vec<u8>)>> = vec![
        vec![("X-CloudPlatform-ApplicationId", b"".to_vec())],
        vec![
            (
                "X-CloudPlatform-ApplicationId",
                tenant.secrets.application_id.clone().into_bytes(),
            ),
            ("X-CloudPlatform-APIKey", b"".to_vec()),
        ],
        vec![
            (
                "X-CloudPlatform-ApplicationId",
                tenant.secrets.application_id.clone().into_bytes(),
            ),
            ("X-CloudPlatform-APIKey", b"====".to_vec()),
        ],
        vec![
            (
                "X-CloudPlatform-ApplicationId",
                tenant.secrets.application_id.clone().into_bytes(),
            ),
            ("X-CloudPlatform-APIKey", b"//79".to_vec()),
        ], // valid Base64 of bytes that are not UTF-8
        vec![
            ("X-CloudPlatform-ApplicationId", vec![0xff, 0xfe, 0x41]),
            (
                "X-CloudPlatform-APIKey",
                tenant.api_key_header().into_bytes(),
            ),
        ],
        vec![
            (
                "X-CloudPlatform-ApplicationId",
                "a".repeat(8000).into_bytes(),
            ),
            (
                "X-CloudPlatform-APIKey",
                tenant.api_key_header().into_bytes(),
            ),
        ],
        vec![
            (
                "X-CloudPlatform-ApplicationId",
                tenant.secrets.application_id.clone().into_bytes(),
            ),
            ("X-CloudPlatform-APIKey", "QUJD".repeat(2000).into_bytes()),
        ],
    ];
    for headers in cases {
        let mut request = http
            .post(format!("{}/api/Subscriptions/Create", server.url))
            .body(body.clone());
        for (k, v) in &headers {
            request = request.header(*k, reqwest::header::HeaderValue::from_bytes(v).unwrap());
        }
        let (status, answer) = read(request.send().await.unwrap()).await;
        assert_eq!(
            (status, &answer["Code"]),
            (StatusCode::UNAUTHORIZED, &json!(-1)),
            "{headers:?}"
        );
    }
    // Admin API: malformed bodies and parameters are 4xx problems.
    // (method, path, body, status, start of the detail)
    let admin_cases: Vec<(Method, &str, Vec<u8>, StatusCode, &str)> = vec![
        (
            Method::PUT,
            "/bindings/precheck/x",
            b"{".to_vec(),
            StatusCode::BAD_REQUEST,
            "the binding is not valid: EOF while parsing",
        ),
        (
            Method::PUT,
            "/bindings/precheck/x",
            b"[]".to_vec(),
            StatusCode::BAD_REQUEST,
            "the binding is not valid: invalid length 0",
        ),
        (
            Method::PUT,
            "/bindings/precheck/Bad%20Name",
            br#"{"plugin": "p"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "binding name \"Bad Name\" is invalid",
        ),
        (
            Method::POST,
            "/dry-run",
            br#"{"plugin": "p", "input": {"request": 5}}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "the dry-run request is not valid: invalid type: integer `5`",
        ),
        (
            Method::POST,
            "/invocations/../../etc/passwd/replay",
            b"".to_vec(),
            StatusCode::NOT_FOUND,
            "There is no such endpoint.",
        ),
        (
            Method::GET,
            "/invocations?limit=abc",
            b"".to_vec(),
            StatusCode::BAD_REQUEST,
            "Failed to deserialize query string: limit: invalid digit",
        ),
        (
            Method::GET,
            "/events?after=1e99",
            b"".to_vec(),
            StatusCode::BAD_REQUEST,
            "Failed to deserialize query string: after: invalid digit",
        ),
        (
            Method::PUT,
            "/catalog",
            b"\xff\xfe".to_vec(),
            StatusCode::BAD_REQUEST,
            "the body is not UTF-8",
        ),
        (
            Method::PUT,
            "/catalog",
            br#"{"ProductTypes": [{"AttributeList": []}]}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "ProductTypes[0] has no ID",
        ),
        (
            Method::PUT,
            "/setup-fields",
            br#"{"Fields": [{"ID": "a b"}]}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "setting field id \"a b\" must match",
        ),
        (
            Method::PUT,
            "/catalog",
            vec![b' '; 2 * 1024 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
            "The request body is larger than the 1048576-byte limit of this endpoint.",
        ),
        (
            Method::POST,
            "/plugins",
            b"\0asm".to_vec(),
            StatusCode::BAD_REQUEST,
            "the plugin name is missing",
        ),
        (
            Method::POST,
            "/tenants",
            br#"{"name": "x"}"#.to_vec(),
            StatusCode::UNAUTHORIZED,
            "A valid operator token is required",
        ),
    ];
    for (method, path, body, expect, detail) in admin_cases {
        let response = http
            .request(method.clone(), format!("{}/admin/v1{path}", server.url))
            .bearer_auth(&tenant.secrets.admin_token)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        let (_, problem) = read(response).await;
        assert_eq!(status, expect, "{method} {path}: {problem}");
        assert_eq!(
            content_type.as_deref(),
            Some("application/problem+json"),
            "{method} {path}: {problem}"
        );
        assert_eq!(problem["status"], expect.as_u16(), "{problem}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or_default()
                .starts_with(detail),
            "{method} {path}: {problem}"
        );
    }
    // Nothing of it was stored.
    assert_eq!(tenant.admin_get("/bindings").await.1, json!([]));
    assert_eq!(
        tenant.admin_get("/catalog").await.1,
        json!({"ProductTypes": []})
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_creates_of_one_platform_subscription_make_one() {
    let server = Server::start().await;
    let tenant = server.tenant("Busy").await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let t = tenant.clone();
        tasks.push(tokio::spawn(async move {
            t.call(
                "/api/Subscriptions/Create",
                &create("same", "20417", 5, false),
            )
            .await
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    for task in tasks {
        let (_, answer) = task.await.unwrap();
        assert_eq!(answer["Code"], 0, "{answer}");
        ids.insert(answer["Result"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1, "one external id for every answer");
    assert_eq!(
        server
            .app
            .store()
            .dump_table("subscriptions")
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(tenant.events(0).await.len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_changes_of_one_subscription_serialize_without_lost_updates() {
    let server = Server::start().await;
    let tenant = server.tenant("Busy").await;
    let (_, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 5, false),
        )
        .await;
    let id = answer["Result"].as_str().unwrap().to_string();
    // Twelve add-on creates at once, each carrying only its own add-on: each
    // must survive the others (stored add-ons absent from a payload stay).
    let mut tasks = Vec::new();
    for i in 0..12 {
        let t = tenant.clone();
        let mut body = service(&id, "p-1", "20417", "cb_basic", 5, false);
        let mut addon = vault("Provision", i + 1);
        addon["ProductID"] = json!(format!("addon_{i:02}"));
        body["Addons"] = json!([addon]);
        tasks.push(tokio::spawn(async move {
            t.call("/api/Addons/Create", &body).await
        }));
    }
    for task in tasks {
        let (_, answer) = task.await.unwrap();
        assert_eq!(answer["Code"], 0, "{answer}");
    }
    let sub = tenant.subscription(&id).await;
    let addons: Vec<(String, i64)> = sub["addons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["product_id"].as_str().unwrap().to_string(),
                a["quantity"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        addons,
        (0..12)
            .map(|i| (format!("addon_{i:02}"), i + 1))
            .collect::<Vec<_>>(),
        "no add-on was lost"
    );
    let versions: Vec<i64> = sub["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["version"].as_i64().unwrap())
        .collect();
    assert_eq!(
        versions,
        (1..=13).collect::<Vec<_>>(),
        "every change applied once, in sequence"
    );
    let events = tenant.events(0).await;
    assert_eq!(events.len(), 13);
    let cursors: Vec<i64> = events
        .iter()
        .map(|e| e["cursor"].as_i64().unwrap())
        .collect();
    assert_eq!(cursors, (1..=13).collect::<Vec<_>>(), "gap-free cursors");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_failures_stay_in_the_decision_log_and_v2_refusals_answer_the_platform() {
    let server = Server::start().await;
    let tenant = server.tenant("Contract v2").await;
    // A v2 plugin reporting its own failure: the platform gets the fixed
    // sentence, the tenant's decision log the plugin's words (cut to 1 KiB).
    tenant
        .bind_with(
            "precheck",
            "reporter",
            test_plugins::V2_PRECHECK,
            json!({"config": {"max": 10, "fail_bytes": 3000}}),
        )
        .await;
    let (_, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 4, true),
        )
        .await;
    assert_eq!(answer["Code"], -1, "{answer}");
    let message = answer["Message"].as_str().unwrap();
    assert!(
        message.contains("rule \"reporter\" could not decide"),
        "{message}"
    );
    assert!(
        !message.contains('é'),
        "the plugin's words stay private: {message}"
    );
    server.app.flush_decisions().await;
    let (_, logged) = tenant.admin_get("/invocations?binding=reporter").await;
    assert_eq!(logged[0]["error"]["kind"], "plugin-error", "{logged}");
    let detail = logged[0]["error"]["message"].as_str().unwrap();
    assert!(detail.contains("éé") && detail.len() <= 1100, "{detail}");
    tenant
        .admin_send(Method::DELETE, "/bindings/precheck/reporter", &json!({}))
        .await;

    // A v2 resources refusal answers the platform with the plugin's code.
    tenant
        .bind_with("resources", "seats", test_plugins::V2_PLAN, json!({}))
        .await;
    let (_, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-2", "20417", 101, false),
        )
        .await;
    assert_eq!(answer["Code"], -110, "{answer}");
    assert_eq!(
        answer["Message"],
        "More than 100 seats need a dedicated vault."
    );
    let (_, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-3", "20417", 12, false),
        )
        .await;
    assert_eq!(answer["Code"], 0, "{answer}");
    let sub = tenant
        .subscription(answer["Result"].as_str().unwrap())
        .await;
    assert_eq!(sub["resources"]["source"], "plugin:seats");

    // A v1 plugin's plan error is still Code -2 with its message.
    tenant
        .admin_send(Method::DELETE, "/bindings/resources/seats", &json!({}))
        .await;
    tenant
        .bind_with(
            "resources",
            "old-seats",
            test_plugins::V1_PLAN_ERROR,
            json!({}),
        )
        .await;
    let (_, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-4", "20417", 101, false),
        )
        .await;
    assert_eq!(answer["Code"], -2, "{answer}");
    assert_eq!(
        answer["Message"],
        "More than 100 seats cannot be provisioned."
    );
    server.stop().await;
}

/// A tenant whose plugin runs for seconds (its deadline; fuel for hours).
async fn slow_attacker(server: &Server, deadline_ms: u64) -> Tenant {
    let attacker = server.tenant("Attacker").await;
    let limits = tollgate::service::TenantLimits {
        fuel: Some(1_000_000_000_000_000),
        deadline_ms: Some(deadline_ms),
        call_budget_ms: Some(deadline_ms),
        ..Default::default()
    };
    server
        .app
        .set_tenant_limits(&attacker.secrets.tenant_id, Some(limits))
        .await
        .unwrap();
    attacker
        .bind("precheck", "slow", test_plugins::INFINITE_LOOP, json!({}))
        .await;
    attacker
}

fn attack(attacker: &Tenant, n: usize) -> tokio::task::JoinHandle<(StatusCode, Value)> {
    let a = attacker.clone();
    tokio::spawn(async move {
        a.call(
            "/api/Subscriptions/Create",
            &create(&format!("p-{n}"), "20417", 4, true),
        )
        .await
    })
}

/// A platform call answered 503 with Retry-After and Code -4.
async fn assert_unavailable(tenant: &Tenant, words: &str) {
    let response = tenant
        .http
        .post(format!("{}/api/Subscriptions/Create", tenant.url))
        .header(
            "X-CloudPlatform-ApplicationId",
            &tenant.secrets.application_id,
        )
        .header("X-CloudPlatform-APIKey", tenant.api_key_header())
        .json(&create("p-wait", "20417", 4, true))
        .send()
        .await
        .unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let (status, body) = read(response).await;
    assert_eq!(
        (status, &body["Code"], retry_after.as_deref()),
        (StatusCode::SERVICE_UNAVAILABLE, &json!(-4), Some("1")),
        "{body}"
    );
    assert!(body["Message"].as_str().unwrap().contains(words), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_holding_all_its_plugin_slots_never_delays_another_tenant() {
    let mut options = Options::default();
    options.config.tenant_concurrency = 2;
    options.config.queue_timeout = std::time::Duration::from_millis(300);
    let server = Server::with(options).await;
    let victim = server.tenant("Victim").await;
    victim.bind_min_max().await;
    let attacker = slow_attacker(&server, 3000).await;
    // Two calls take both of the attacker's slots, for 3 s each.
    let attacks = [attack(&attacker, 1), attack(&attacker, 2)];
    eventually("both attacker calls run their plugin", || {
        server.app.plugin_calls_running() == 2
    })
    .await;
    // A third waits at the attacker's gate and is turned away at the queue
    // bound: HTTP 503, Retry-After, Code -4.
    assert_unavailable(&attacker, "Too many rule evaluations are waiting").await;
    // The victim is served meanwhile, at once and correctly.
    for (quantity, expected) in [(2, -105), (5, 0)] {
        let (_, answer) = victim
            .call(
                "/api/Subscriptions/Create",
                &create("p-v", "20417", quantity, true),
            )
            .await;
        assert_eq!(answer["Code"], expected, "{answer}");
    }
    assert!(
        attacks.iter().all(|a| !a.is_finished()),
        "the victim was served while the attacker held both its slots"
    );
    for attack in attacks {
        let (_, answer) = attack.await.unwrap();
        assert_eq!(answer["Code"], -1, "{answer}");
        assert!(
            attacker
                .logged_error(&answer, "slow")
                .await
                .contains("missed its deadline of 3000 ms"),
            "{answer}"
        );
    }
    assert_eq!(
        server.metric(r#"tollgate_budget_refusals_total{budget="plugin-queue"}"#),
        1.0
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_instance_pool_turns_calls_away_with_code_4() {
    let mut options = Options::default();
    options.config.engine.pool_instances = 2;
    options.config.tenant_concurrency = 8;
    options.config.queue_timeout = std::time::Duration::from_millis(300);
    let server = Server::with(options).await;
    let other = server.tenant("Other").await;
    other.bind_min_max().await;
    let attacker = slow_attacker(&server, 1500).await;
    let attacks = [attack(&attacker, 1), attack(&attacker, 2)];
    eventually("the pool's two slots are taken", || {
        server.app.plugin_calls_running() == 2
    })
    .await;
    // The process-wide bound: every tenant waits for a slot, at most the
    // queue bound.
    assert_unavailable(&other, "Too many rule evaluations are waiting").await;
    for attack in attacks {
        assert_eq!(attack.await.unwrap().1["Code"], -1);
    }
    // Slots free again: served.
    let (_, answer) = other
        .call(
            "/api/Subscriptions/Create",
            &create("p-after", "20417", 5, true),
        )
        .await;
    assert_eq!(answer["Code"], 0, "{answer}");
    server.stop().await;
}

/// A check-mode create whose hook input carries `n` more bytes (a custom
/// field value: plugins see custom fields).
fn with_custom_field(n: usize) -> Value {
    let mut body = create("p-1", "20417", 5, true);
    body["CustomFieldValues"] = json!({"notes": "x".repeat(n)});
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_input_bound_and_per_tenant_limit_overrides_apply() {
    let server = Server::start().await;
    let limited = |limits: Value| {
        let server = &server;
        async move {
            let tenant = server.tenant("Limited").await;
            let limits: tollgate::service::TenantLimits = serde_json::from_value(limits).unwrap();
            server
                .app
                .set_tenant_limits(&tenant.secrets.tenant_id, Some(limits))
                .await
                .unwrap();
            tenant
        }
    };
    // Refused with Code -1; the limit is named in the decision log.
    async fn refused(tenant: &Tenant, answer: &Value, binding: &str, words: &str) -> String {
        assert_eq!(answer["Code"], -1, "{answer}");
        let logged = tenant.logged_error(answer, binding).await;
        assert!(logged.contains(words), "{logged}");
        logged
    }

    // The default input bound, 256 KiB: just under it the plugin runs,
    // just over it the plugin is not run.
    let plain = server.tenant("Plain").await;
    plain.bind_min_max().await;
    let (_, answer) = plain
        .call("/api/Subscriptions/Create", &with_custom_field(250 * 1024))
        .await;
    assert_eq!(answer["Code"], 0, "{answer}");
    let (_, answer) = plain
        .call("/api/Subscriptions/Create", &with_custom_field(256 * 1024))
        .await;
    refused(
        &plain,
        &answer,
        "min-max",
        "over the 262144-byte input limit",
    )
    .await;

    // A tenant's own input bound.
    let small_input = limited(json!({"input_bytes": 8192})).await;
    small_input.bind_min_max().await;
    let (_, answer) = small_input
        .call("/api/Subscriptions/Create", &with_custom_field(100))
        .await;
    assert_eq!(answer["Code"], 0, "{answer}");
    let (_, answer) = small_input
        .call("/api/Subscriptions/Create", &with_custom_field(8192))
        .await;
    refused(
        &small_input,
        &answer,
        "min-max",
        "over the 8192-byte input limit",
    )
    .await;

    // Memory: 2 MiB instead of 16.
    let small_memory = limited(
        json!({"memory_bytes": 2 * 1024 * 1024, "deadline_ms": 60000, "call_budget_ms": 60000}),
    )
    .await;
    small_memory
        .bind("precheck", "bomb", test_plugins::MEMORY_BOMB, json!({}))
        .await;
    let (_, answer) = small_memory
        .call("/api/Subscriptions/Create", &with_custom_field(0))
        .await;
    refused(
        &small_memory,
        &answer,
        "bomb",
        "exceeded its memory limit of 2097152 bytes",
    )
    .await;

    // Output: 32 bytes; the probe's report is longer (and fits the default).
    let small_output = limited(json!({"output_bytes": 32})).await;
    small_output
        .bind("precheck", "clock", test_plugins::CLOCK_RANDOM, json!({}))
        .await;
    let (_, answer) = small_output
        .call("/api/Subscriptions/Create", &with_custom_field(0))
        .await;
    let logged = refused(&small_output, &answer, "clock", "-byte output limit").await;
    assert!(logged.contains("32"), "{logged}");
    let (_, answer) = plain_clock(&server).await;
    assert_eq!(answer["Code"], -150, "{answer}");

    // Log: 100 bytes instead of 4 KiB, with the marker.
    let small_log = limited(json!({"log_bytes": 100, "deadline_ms": 10000})).await;
    small_log
        .bind("precheck", "flood", test_plugins::LOG_FLOOD, json!({}))
        .await;
    let (_, answer) = small_log
        .call("/api/Subscriptions/Create", &with_custom_field(0))
        .await;
    assert_eq!(answer["Code"], 0, "{answer}");
    let (_, logged) = small_log.admin_get("/invocations").await;
    let logs = logged[0]["logs"].as_str().unwrap();
    assert!(logs.len() <= 100 + 32, "{} bytes kept", logs.len());
    assert!(logs.ends_with("[log truncated]\n"), "{logs}");
    server.stop().await;
}

/// The clock probe under the default limits.
async fn plain_clock(server: &Server) -> (StatusCode, Value) {
    let tenant = server.tenant("Clock").await;
    tenant
        .bind("precheck", "clock", test_plugins::CLOCK_RANDOM, json!({}))
        .await;
    tenant
        .call("/api/Subscriptions/Create", &with_custom_field(0))
        .await
}
