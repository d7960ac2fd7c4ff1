//! Check mode writes nothing but decision records, and the platform's JSON
//! is read by the spec's rules: unknown keys ignored, enums by name or
//! integer, wrong types and missing required keys answered with a specific
//! error naming the field — and nothing written.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_mode_leaves_every_state_table_unchanged() {
    let server = Server::start().await;
    let tenant = server.tenant("Northwind").await;
    tenant.put_catalog().await;
    tenant.bind_min_max().await;
    tenant
        .bind(
            "precheck",
            "one-active",
            test_plugins::ONE_ACTIVE_SUBSCRIPTION,
            json!({}),
        )
        .await;
    tenant
        .bind(
            "precheck",
            "window",
            test_plugins::CANCELLATION_WINDOW,
            json!({"max_days": 30}),
        )
        .await;
    // Existing state: an account and a subscription with an add-on.
    tenant
        .call("/api/Accounts/Synchronize", &account("20417"))
        .await;
    let mut body = create("p-1", "20417", 5, false);
    body["Addons"] = json!([vault("Provision", 2)]);
    let id = tenant.call("/api/Subscriptions/Create", &body).await.1["Result"]
        .as_str()
        .unwrap()
        .to_string();
    server.app.flush_decisions().await;
    let before = server.state().await;
    let calls_before = server.app.store().dump_table("calls").await.unwrap().len();

    let check = |mut v: Value| {
        v["CheckOnly"] = json!(true);
        v
    };
    let mut with_vault = service(&id, "p-1", "20417", "cb_basic", 9, true);
    with_vault["Addons"] = json!([vault("Provision", 4)]);
    let mut cancel_vault = with_vault.clone();
    cancel_vault["Addons"] = json!([vault("Cancel", 4)]);
    let mut new_vault = with_vault.clone();
    new_vault["Addons"] = json!([vault("Provision", 1)]);
    let cases: Vec<(&str, Value, i64)> = vec![
        (
            "/api/Subscriptions/Create",
            create("p-2", "20417", 5, true),
            -101,
        ), // one active per customer
        (
            "/api/Subscriptions/Create",
            create("p-3", "other", 2, true),
            -105,
        ), // below the minimum
        (
            "/api/Subscriptions/Create",
            create("p-4", "other", 5, true),
            0,
        ),
        (
            "/api/Subscriptions/Update",
            check(service(&id, "p-1", "20417", "cb_basic", 9, true)),
            0,
        ),
        (
            "/api/Subscriptions/Update",
            check(service(&id, "p-1", "20417", "cb_basic", 99, true)),
            -106,
        ),
        (
            "/api/Subscriptions/Suspend",
            check(service(&id, "p-1", "20417", "cb_basic", 5, true)),
            0,
        ),
        (
            "/api/Subscriptions/Activate",
            check(service(&id, "p-1", "20417", "cb_basic", 5, true)),
            0,
        ),
        (
            "/api/Subscriptions/UpgradeToPaid",
            check(service(&id, "p-1", "20417", "cb_basic", 5, true)),
            0,
        ),
        (
            "/api/Subscriptions/UpgradeDowngrade",
            check(service(&id, "p-1", "20417", "cb_business", 5, true)),
            0,
        ),
        (
            "/api/Subscriptions/Cancel",
            check(service(&id, "p-1", "20417", "cb_basic", 5, true)),
            0,
        ),
        ("/api/Addons/Create", new_vault, 0),
        ("/api/Addons/Update", with_vault, 0),
        ("/api/Addons/Cancel", cancel_vault, 0),
        (
            "/api/Accounts/Synchronize?checkonly=true",
            account("new-one"),
            0,
        ),
        ("/api/Accounts/Delete?checkonly=true", account("20417"), 0),
    ];
    for (path, body, code) in &cases {
        let (status, answer) = tenant.call(path, body).await;
        assert_eq!(
            (status, &answer["Code"]),
            (StatusCode::OK, &json!(code)),
            "{path}: {answer}"
        );
        assert_eq!(
            answer["Result"],
            Value::Null,
            "{path}: check mode answers no id"
        );
    }
    // After 40 days, the window rule rejects the cancel: still no change.
    server.advance(40 * DAY);
    let (_, answer) = tenant
        .call(
            "/api/Subscriptions/Cancel",
            &check(service(&id, "p-1", "20417", "cb_basic", 5, true)),
        )
        .await;
    assert_eq!(answer["Code"], -107);

    server.app.flush_decisions().await;
    assert_eq!(
        server.state().await,
        before,
        "check mode changed provisioning state"
    );
    let calls_after = server.app.store().dump_table("calls").await.unwrap().len();
    assert_eq!(
        calls_after - calls_before,
        cases.len() + 1,
        "a decision record per call"
    );
    server.stop().await;
}

async fn refused(
    tenant: &Tenant,
    server: &Server,
    path: &str,
    body: Value,
    status: StatusCode,
    message: &str,
) {
    let before = server.state().await;
    let (got, answer) = tenant.call(path, &body).await;
    assert_eq!(
        (got, &answer["Code"]),
        (status, &json!(-2)),
        "{path} {body}: {answer}"
    );
    assert_eq!(answer["Message"], message, "{body}");
    assert_eq!(server.state().await, before, "nothing written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_types_and_missing_fields_are_named_and_change_nothing() {
    let server = Server::start().await;
    let tenant = server.tenant("Northwind").await;
    let create_path = "/api/Subscriptions/Create";
    let mut b = create("p-1", "20417", 5, false);
    b["Quantity"] = json!("five");
    refused(&tenant, &server, create_path, b, StatusCode::BAD_REQUEST, "Quantity must be a whole number between -2147483648 and 2147483647, but it is the text \"five\".").await;
    let mut b = create("p-1", "20417", 5, false);
    b["Quantity"] = json!(1e30);
    refused(&tenant, &server, create_path, b, StatusCode::BAD_REQUEST, "Quantity must be a whole number between -2147483648 and 2147483647, but it is the number 1e+30.").await;
    let mut b = create("p-1", "20417", 5, false);
    b["IsTrial"] = json!([true]);
    refused(
        &tenant,
        &server,
        create_path,
        b,
        StatusCode::BAD_REQUEST,
        "IsTrial must be true or false, but it is a list.",
    )
    .await;
    let mut b = create("p-1", "20417", 5, false);
    b["Account"] = json!("20417");
    refused(
        &tenant,
        &server,
        create_path,
        b,
        StatusCode::BAD_REQUEST,
        "Account must be an object, but it is the text \"20417\".",
    )
    .await;
    let mut b = create("p-1", "20417", 5, false);
    // An unknown ActionType is tolerated (spec §5.4); only a non-scalar is
    // a wrong type.
    b["Addons"] = json!([{"ProductID": "cb_vault_pack", "Quantity": 1, "ActionType": ["Explode"]}]);
    refused(
        &tenant,
        &server,
        create_path,
        b,
        StatusCode::BAD_REQUEST,
        "Addons[0].ActionType must be an ActionType name or integer, but it is a list.",
    )
    .await;
    let mut b = create("p-1", "20417", 5, false);
    b.as_object_mut().unwrap().remove("Quantity");
    refused(
        &tenant,
        &server,
        create_path,
        b,
        StatusCode::OK,
        "The request has no Quantity.",
    )
    .await;
    let mut b = create("p-1", "20417", 5, false);
    b["ProductID"] = Value::Null;
    refused(
        &tenant,
        &server,
        create_path,
        b,
        StatusCode::OK,
        "The request has no ProductID.",
    )
    .await;
    let mut b = create("p-1", "20417", 5, false);
    b["Account"]["ID"] = json!("");
    refused(
        &tenant,
        &server,
        create_path,
        b,
        StatusCode::OK,
        "The request has no Account.ID: the customer is required.",
    )
    .await;
    let mut b = create("p-1", "20417", 5, false);
    b["Quantity"] = json!(-3);
    refused(
        &tenant,
        &server,
        create_path,
        b,
        StatusCode::OK,
        "Quantity -3 is negative.",
    )
    .await;
    let mut b = create("p-1", "20417", 5, false);
    b["Addons"] = json!([{"ProductID": "cb_vault_pack", "ActionType": "Provision"}]);
    refused(
        &tenant,
        &server,
        create_path,
        b,
        StatusCode::OK,
        "The request has no Addons[0].Quantity.",
    )
    .await;
    refused(&tenant, &server, "/api/Subscriptions/Update", create("p-1", "20417", 5, false), StatusCode::OK, "The request has no ID: Subscriptions/Update needs the subscription id returned by Subscriptions/Create.").await;
    let mut b = create("p-1", "20417", 5, false);
    b["AttributeList"]["storage_gb"]["Value"] = json!("twenty");
    refused(
        &tenant,
        &server,
        create_path,
        b,
        StatusCode::OK,
        "The value \"twenty\" of attribute storage_gb is not a number.",
    )
    .await;
    refused(
        &tenant,
        &server,
        "/api/Accounts/Synchronize",
        json!({"Name": "x"}),
        StatusCode::OK,
        "The request has no ID.",
    )
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_keys_are_ignored_and_enums_read_as_names_or_integers() {
    let server = Server::start().await;
    let tenant = server.tenant("Northwind").await;
    tenant.put_catalog().await;
    let mut b = create("p-1", "20417", "5".parse::<i64>().unwrap(), false);
    b["SomethingNew"] = json!({"nested": [1, 2, {"x": null}]});
    b["Account"]["Unheard"] = json!(true);
    b["quantity"] = json!("6"); // a differently-cased duplicate of Quantity: exact spelling wins
    b["IsFromOrder"] = json!("true");
    b["Addons"] = json!([{"productid": "cb_vault_pack", "quantity": "2", "actiontype": 1, "attributelist": [
        {"ID": "storage_gb", "Value": 40, "QuantityLinked": "true"}]}]);
    let (status, answer) = tenant.call("/api/Subscriptions/Create", &b).await;
    assert_eq!(
        (status, &answer["Code"]),
        (StatusCode::OK, &json!(0)),
        "{answer}"
    );
    let sub = tenant
        .subscription(answer["Result"].as_str().unwrap())
        .await;
    assert_eq!(sub["quantity"], 5);
    assert_eq!(sub["addons"][0]["quantity"], 2);
    // 20×5 + 40×2: the array-shaped AttributeList and the integer ActionType were read.
    assert_eq!(amount(&sub["resources"]["resources"], "storage_gb"), "180");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_that_are_not_json_are_400() {
    let server = Server::start().await;
    let tenant = server.tenant("Northwind").await;
    let http = client();
    for (body, message) in [
        (
            &b""[..],
            "The request body is empty; a JSON object is expected.",
        ),
        (b"{", "The request body is not valid JSON: "),
        (
            b"[1,2]",
            "The request body must be a JSON object, but it is a list.",
        ),
        (b"\xff\xfe", "The request body is not valid JSON: "),
        (
            b"null",
            "The request body must be a JSON object, but it is null.",
        ),
    ] {
        let response = http
            .post(format!("{}/api/Subscriptions/Create", server.url))
            .header(
                "X-CloudPlatform-ApplicationId",
                &tenant.secrets.application_id,
            )
            .header("X-CloudPlatform-APIKey", tenant.api_key_header())
            .header("Content-Type", "text/plain")
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        let (status, answer) = read(response).await;
        assert_eq!(
            (status, &answer["Code"]),
            (StatusCode::BAD_REQUEST, &json!(-2)),
            "{body:?}: {answer}"
        );
        assert!(
            answer["Message"].as_str().unwrap().starts_with(message),
            "{body:?}: {answer}"
        );
        assert_eq!(answer["Result"], Value::Null);
    }
    assert_eq!(tenant.events(0).await, Vec::<Value>::new());
    server.stop().await;
}
