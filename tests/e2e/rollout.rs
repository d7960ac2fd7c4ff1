//! Safe rollout: configs are checked by the plugin before they go live,
//! failures reach the platform's user only as fixed sentences, versions
//! never change by accident, and shadow candidates run beside the active
//! version on real traffic without ever deciding.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const PRECHECK: &str = "/bindings/precheck/gate";

async fn upload(tenant: &Tenant, name: &str, path: &str) -> String {
    let (status, body) = tenant.upload(name, test_plugins::bytes(path)).await;
    assert!(status.is_success(), "{status} {body}");
    body["version"].as_str().unwrap().to_string()
}

fn quantity(n: i64) -> Value {
    create(&format!("p-{}", uuid::Uuid::new_v4()), "20417", n, true)
}

/// Poll (bounded) until `done` holds for the value `read` answers.
async fn eventually<F, Fut>(what: &str, read: F, done: impl Fn(&Value) -> bool) -> Value
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    for _ in 0..500 {
        let value = read().await;
        if done(&value) {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what} never happened: {}", read().await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_config_the_plugin_refuses_is_422_with_its_path_and_nothing_changes() {
    let server = Server::start().await;
    let tenant = server.tenant("Typo").await;
    upload(&tenant, "gate", test_plugins::V2_PRECHECK).await;
    let (status, live) = tenant
        .admin_put(PRECHECK, &json!({"plugin": "gate", "config": {"max": 10}}))
        .await;
    assert_eq!(status, StatusCode::OK, "{live}");
    let before = server.state().await;
    let (status, refused) = tenant
        .admin_put(PRECHECK, &json!({"plugin": "gate", "config": {"maks": 20}}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["reason"], "invalid-config");
    assert_eq!(refused["field"], "config");
    assert!(
        refused["detail"].as_str().unwrap().contains("maks"),
        "the plugin's words name the field: {refused}"
    );
    assert_eq!(
        server.state().await,
        before,
        "the live binding is unchanged"
    );
    let (_, answer) = tenant.call("/api/Subscriptions/Create", &quantity(5)).await;
    assert_eq!(answer["Code"], 0, "the old config still decides: {answer}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn platform_messages_for_failures_name_the_rule_and_trackid_and_nothing_private() {
    let server = Server::start().await;
    let tenant = server.tenant("Private").await;
    // A v1 plugin that panics, and a v2 plugin that reports an error.
    tenant
        .bind("precheck", "crashes", test_plugins::PANIC, json!({}))
        .await;
    let (_, first) = tenant.call("/api/Subscriptions/Create", &quantity(5)).await;
    let message = first["Message"].as_str().unwrap().to_string();
    assert_eq!(first["Code"], -1);
    assert!(
        message.contains("rule \"crashes\" stopped with an error"),
        "{message}"
    );
    assert!(message.contains("TrackId"), "{message}");
    for private in [".rs", "panic", "unwrap", "{", "lib"] {
        assert!(!message.contains(private), "{private:?} in {message}");
    }
    // The detail is kept for the tenant.
    server.app.flush_decisions().await;
    let (_, log) = tenant.admin_get("/invocations?binding=crashes").await;
    assert!(
        log[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("panic"),
        "{log}"
    );

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_erroring_plugins_message_hides_its_words_and_its_config() {
    let server = Server::start().await;
    let tenant = server.tenant("Errs").await;
    upload(&tenant, "gate", test_plugins::V2_PRECHECK).await;
    let (status, body) = tenant
        .admin_put(
            PRECHECK,
            &json!({"plugin": "gate", "config": {"max": 10, "fail_bytes": 40}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, answer) = tenant.call("/api/Subscriptions/Create", &quantity(5)).await;
    let message = answer["Message"].as_str().unwrap();
    assert_eq!(answer["Code"], -1);
    assert!(
        message.contains("rule \"gate\" could not decide"),
        "{message}"
    );
    assert!(
        !message.contains('é') && !message.contains("fail_bytes"),
        "{message}"
    );
    server.app.flush_decisions().await;
    let (_, log) = tenant.admin_get("/invocations?binding=gate").await;
    assert_eq!(log[0]["error"]["kind"], "plugin-error");
    assert!(log[0]["error"]["message"].as_str().unwrap().contains('é'));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_put_without_version_keeps_the_bound_version() {
    let server = Server::start().await;
    let tenant = server.tenant("Versions").await;
    let v1 = upload(&tenant, "rule", test_plugins::FIXED_MIN_1).await;
    let (_, bound) = tenant
        .admin_put(
            "/bindings/quantity-limits/rule",
            &json!({"plugin": "rule", "version": v1}),
        )
        .await;
    assert_eq!(bound["version"], v1.as_str());
    // A newer upload does not sneak in through a config change.
    let v3 = upload(&tenant, "rule", test_plugins::FIXED_MIN_3).await;
    let (_, changed) = tenant
        .admin_put(
            "/bindings/quantity-limits/rule",
            &json!({"plugin": "rule", "priority": 5}),
        )
        .await;
    assert_eq!(changed["version"], v1.as_str(), "{changed}");
    assert_eq!(changed["priority"], 5);
    // A new binding takes the newest.
    let (_, fresh) = tenant
        .admin_put(
            "/bindings/quantity-limits/fresh",
            &json!({"plugin": "rule"}),
        )
        .await;
    assert_eq!(fresh["version"], v3.as_str());
    // Dry-run defaults to the bound version.
    let input = json!({"request": {"operation": "subscription-create", "product_id": "cb_basic", "quantity": 2},
        "target": {"kind": "subscription", "product_id": "cb_basic", "quantity": 2}});
    let (_, dry) = tenant
        .admin_post("/dry-run", &json!({"plugin": "rule", "input": input}))
        .await;
    assert_eq!(dry["version"], v1.as_str(), "{dry}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_takes_another_config() {
    let server = Server::start().await;
    let tenant = server.tenant("Replay").await;
    upload(&tenant, "gate", test_plugins::V2_PRECHECK).await;
    tenant
        .admin_put(PRECHECK, &json!({"plugin": "gate", "config": {"max": 10}}))
        .await;
    let (_, answer) = tenant.call("/api/Subscriptions/Create", &quantity(5)).await;
    assert_eq!(answer["Code"], 0);
    server.app.flush_decisions().await;
    let (_, log) = tenant.admin_get("/invocations").await;
    let id = log[0]["id"].as_str().unwrap();
    let (status, replay) = tenant
        .admin_post(
            &format!("/invocations/{id}/replay"),
            &json!({"config": {"max": 3}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{replay}");
    assert_eq!(replay["changed"], true);
    assert_eq!(
        replay["replayed"]["output"]["verdict"]["reject"]["code"],
        -150
    );
    server.stop().await;
}

async fn shadow_report(tenant: &Tenant, path: &str) -> Value {
    tenant.admin_get(&format!("{path}/shadow")).await.1
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disagreeing_shadow_is_counted_and_never_changes_an_answer() {
    let server = Server::start().await;
    let tenant = server.tenant("Shadow").await;
    let version = upload(&tenant, "gate", test_plugins::V2_PRECHECK).await;
    tenant
        .admin_put(PRECHECK, &json!({"plugin": "gate", "config": {"max": 10}}))
        .await;
    // The candidate: the same version with a stricter config.
    let (status, bound) = tenant
        .admin_put(
            PRECHECK,
            &json!({"plugin": "gate", "config": {"max": 10},
                    "shadow": {"version": version, "config": {"max": 3}}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{bound}");
    assert_eq!(bound["shadow"]["config"], json!({"max": 3}));
    for n in [5, 6, 2] {
        let (_, answer) = tenant.call("/api/Subscriptions/Create", &quantity(n)).await;
        assert_eq!(answer["Code"], 0, "the shadow never decides: {answer}");
    }
    let report = eventually(
        "three shadow runs",
        || shadow_report(&tenant, PRECHECK),
        |r| r["calls"] == 3,
    )
    .await;
    assert_eq!(
        (report["agreed"].as_i64(), report["disagreed"].as_i64()),
        (Some(1), Some(2)),
        "{report}"
    );
    assert_eq!(report["failed"], 0);
    assert_eq!(report["samples"].as_array().unwrap().len(), 2);
    let sample = report["samples"][0].as_str().unwrap();
    let (_, shadow_run) = tenant.admin_get(&format!("/invocations/{sample}")).await;
    assert_eq!(shadow_run["shadow"], true);
    assert_eq!(shadow_run["agreed"], false);
    assert_eq!(shadow_run["output"]["verdict"]["reject"]["code"], -150);
    let active = shadow_run["shadow_of"].as_str().unwrap();
    let (_, active_run) = tenant.admin_get(&format!("/invocations/{active}")).await;
    assert_eq!(active_run["shadow"], false);
    assert_eq!(active_run["output"]["verdict"], "accept");
    let metric =
        "tollgate_shadow_runs_total{hook=\"precheck\",binding=\"gate\",outcome=\"disagreed\"}";
    assert_eq!(server.metric(metric), 2.0);

    // Promote: the shadow's version activated, the shadow ends.
    let (_, promoted) = tenant
        .admin_put(
            PRECHECK,
            &json!({"plugin": "gate", "version": version, "config": {"max": 3}}),
        )
        .await;
    assert_eq!(promoted["shadow"], Value::Null, "{promoted}");
    let (status, _) = tenant.admin_get(&format!("{PRECHECK}/shadow")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, view) = tenant.admin_get(PRECHECK).await;
    let history = view["history"].as_array().unwrap();
    assert_eq!(history.last().unwrap()["action"], "promote");
    let (_, answer) = tenant.call("/api/Subscriptions/Create", &quantity(5)).await;
    assert_eq!(answer["Code"], -150, "the promoted config decides now");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trapping_or_slow_shadow_changes_nothing_and_does_not_delay_the_answer() {
    let server = Server::start().await;
    let tenant = server.tenant("Bad shadow").await;
    let limits = tollgate::service::TenantLimits {
        fuel: Some(1_000_000_000_000),
        deadline_ms: Some(2_000),
        ..Default::default()
    };
    server.set_limits(&tenant, limits).await;
    upload(&tenant, "gate", test_plugins::V2_PRECHECK).await;
    let slow = upload(&tenant, "gate", test_plugins::INFINITE_LOOP).await;
    let crash = upload(&tenant, "gate", test_plugins::PANIC).await;
    let v2 = upload(&tenant, "gate", test_plugins::V2_PRECHECK).await;
    for (candidate, n) in [(&slow, 1), (&crash, 2)] {
        // A new shadow counts from when it starts.
        server.advance(1000);
        let (status, body) = tenant
            .admin_put(
                PRECHECK,
                &json!({"plugin": "gate", "version": v2, "config": {"max": 10},
                        "shadow": {"version": candidate, "config": {}}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, answer) = tenant.call("/api/Subscriptions/Create", &quantity(5)).await;
        assert_eq!(answer["Code"], 0, "{answer}");
        let report = eventually(
            "the shadow run",
            || shadow_report(&tenant, PRECHECK),
            |r| r["calls"] == 1,
        )
        .await;
        assert_eq!(report["failed"], 1, "{report}");
        // The call's own record was taken before its shadow ran: far under
        // the shadow's 2 s deadline.
        let calls = server
            .app
            .store()
            .calls(&tenant.secrets.tenant_id, 1)
            .await
            .unwrap();
        assert!(
            calls[0].duration_us < 1_000_000,
            "shadow {n} delayed the answer: {} µs",
            calls[0].duration_us
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shadow_can_be_stopped() {
    let server = Server::start().await;
    let tenant = server.tenant("Stop").await;
    let version = upload(&tenant, "gate", test_plugins::V2_PRECHECK).await;
    tenant
        .admin_put(
            PRECHECK,
            &json!({"plugin": "gate", "config": {"max": 10}, "shadow": {"version": version}}),
        )
        .await;
    let (_, report) = tenant.admin_get(&format!("{PRECHECK}/shadow")).await;
    assert_eq!(
        report["config"],
        json!({"max": 10}),
        "defaults to the active config"
    );
    let (status, _) = tenant.admin_delete(&format!("{PRECHECK}/shadow")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, view) = tenant.admin_get(PRECHECK).await;
    assert_eq!(view["shadow"], Value::Null);
    assert_eq!(
        view["history"].as_array().unwrap().last().unwrap()["action"],
        "shadow-stop"
    );
    tenant.call("/api/Subscriptions/Create", &quantity(5)).await;
    server.app.flush_decisions().await;
    let (_, shadows) = tenant.admin_get("/invocations?shadow=true").await;
    assert_eq!(shadows, json!([]), "no shadow runs once stopped");
    // A shadow config the plugin refuses is refused like any config.
    let (status, body) = tenant
        .admin_put(
            PRECHECK,
            &json!({"plugin": "gate", "config": {"max": 10},
                    "shadow": {"version": version, "config": {"mx": 1}}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "shadow.config");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_is_served_offline_from_the_binary() {
    let server = Server::start().await;
    let http = client();
    let response = http
        .get(format!("{}/console/", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    let html = response.text().await.unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing fetched from elsewhere"
    );
    let redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/console", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), StatusCode::PERMANENT_REDIRECT);
    let (status, _) = read(
        http.get(format!("{}/console/js/app.js", server.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = read(
        http.get(format!("{}/console/nope.js", server.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_overview_counts_the_tenants_last_hour() {
    let server = Server::start().await;
    let tenant = server.tenant("Overview").await;
    let other = server.tenant("Other").await;
    tenant.bind_min_max().await;
    tenant
        .bind("precheck", "crashes", test_plugins::PANIC, json!({}))
        .await;
    for n in [2, 5] {
        tenant.call("/api/Subscriptions/Create", &quantity(n)).await;
    }
    other.call("/api/Subscriptions/Create", &quantity(5)).await;
    let (status, view) = tenant.admin_get("/overview").await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["window_seconds"], 3600);
    assert_eq!(view["buckets"].as_array().unwrap().len(), 12);
    let total: i64 = view["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["calls"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 2, "only this tenant's calls: {view}");
    let codes: Vec<i64> = view["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_i64().unwrap())
        .collect();
    assert!(codes.contains(&-105) && codes.contains(&-1), "{view}");
    assert_eq!(view["plugin_failures"][0]["binding"], "crashes");
    assert_eq!(view["plugin_failures"][0]["kind"], "trap");
    server.stop().await;
}
