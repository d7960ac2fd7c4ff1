//! Every flow of spec §8 over HTTP, asserting after each step the envelope,
//! the stored state, the resource plan (spec §7) and the event feed.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn setup() -> (Server, Tenant) {
    let server = Server::start().await;
    let tenant = server.tenant("Northwind").await;
    tenant.put_catalog().await;
    (server, tenant)
}

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

/// Events have gap-free cursors from 1.
fn assert_cursors(events: &[Value]) {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["cursor"], json!(i as i64 + 1), "{events:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_1_checkout_for_an_unsynchronized_account() {
    let (server, tenant) = setup().await;
    let setup_fields: Value =
        serde_json::from_str(include_str!("../../examples/setup-fields.json")).unwrap();
    assert_eq!(
        tenant.admin_put("/setup-fields", &setup_fields).await.0,
        StatusCode::OK
    );
    let mut tenant = tenant;
    tenant.settings = vec![
        ("FieldUsername".into(), "partner-ops".into()),
        ("FieldPassword".into(), "S3cret-2025".into()),
        ("FieldUri".into(), "https://api.vendor.example".into()),
        ("FieldRegion".into(), "1".into()),
    ];

    // Sync options: what the customer fills in.
    let (status, options) = tenant.get("/api/Accounts/SyncOptions").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(options["Fields"][0]["ID"], "username");
    assert_eq!(
        options["Fields"][1]["Definition"]["PredefinedValues"][1]["Name"],
        "Reseller"
    );

    // Synchronize: the account's external id.
    let (status, synced) = tenant
        .call("/api/Accounts/Synchronize", &account("20417"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(synced["Code"], 0);
    assert_eq!(synced["GeneratedPassword"], Value::Null);
    assert_eq!(synced["AccountExtraInfo"], json!({}));
    let account_id = synced["Result"].as_str().unwrap().to_string();
    let events = tenant.events(0).await;
    assert_eq!(kinds(&events), ["account.synchronized"]);
    assert_eq!(events[0]["account_id"], account_id.as_str());
    assert_eq!(events[0]["payload"]["name"], "Customer 20417");

    // Create: check, then real.
    let mut body = create("7d0f5c2e-1b8a-4c39-9e6f-2a51c0d9b3e4", "20417", 12, true);
    body["Account"]["ExternalID"] = json!(account_id);
    let (_, checked) = tenant.call("/api/Subscriptions/Create", &body).await;
    assert_eq!(
        (&checked["Code"], &checked["Result"]),
        (&json!(0), &Value::Null)
    );
    assert_eq!(
        tenant.events(0).await.len(),
        1,
        "check mode appends no event"
    );
    body["CheckOnly"] = json!(false);
    let (_, created) = tenant.call("/api/Subscriptions/Create", &body).await;
    assert_eq!(created["Code"], 0, "{created}");
    let id = created["Result"].as_str().unwrap().to_string();
    let sub = tenant.subscription(&id).await;
    assert_eq!(
        (
            sub["status"].as_str(),
            sub["quantity"].as_i64(),
            sub["account_id"].as_str()
        ),
        (Some("active"), Some(12), Some("20417"))
    );
    // §7.3 example 1: storage 20×12 = 240, immutable off.
    assert_eq!(amount(&sub["resources"]["resources"], "storage_gb"), "240");
    assert!(!feature(&sub["resources"]["resources"], "immutable_backup"));
    assert_eq!(sub["resources"]["source"], "builtin");

    // Add-on: check, then real. §7.3 example 2: 240 + 40×3 = 360, immutable on.
    let mut addon = service(
        &id,
        "7d0f5c2e-1b8a-4c39-9e6f-2a51c0d9b3e4",
        "20417",
        "cb_basic",
        12,
        true,
    );
    addon["Addons"] = json!([vault("Provision", 3)]);
    let (_, checked) = tenant.call("/api/Addons/Create", &addon).await;
    assert_eq!(
        (&checked["Code"], &checked["Result"]),
        (&json!(0), &Value::Null),
        "{checked}"
    );
    addon["CheckOnly"] = json!(false);
    let (_, added) = tenant.call("/api/Addons/Create", &addon).await;
    assert_eq!(
        (&added["Code"], added["Result"].as_str()),
        (&json!(0), Some(id.as_str())),
        "the parent's id"
    );
    let sub = tenant.subscription(&id).await;
    assert_eq!(amount(&sub["resources"]["resources"], "storage_gb"), "360");
    assert!(feature(&sub["resources"]["resources"], "immutable_backup"));
    assert_eq!(
        sub["addons"],
        json!([{"product_id": "cb_vault_pack", "name": "Vault Pack", "quantity": 3, "active": true}])
    );

    let events = tenant.events(0).await;
    assert_eq!(
        kinds(&events),
        [
            "account.synchronized",
            "subscription.created",
            "addon.created"
        ]
    );
    assert_cursors(&events);
    assert!(feature(
        &events[2]["payload"]["resources"],
        "immutable_backup"
    ));
    assert_eq!(
        amount(&events[2]["payload"]["resources"], "storage_gb"),
        "360"
    );
    // Paging with the cursor.
    assert_eq!(kinds(&tenant.events(2).await), ["addon.created"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_2_checkout_for_a_synchronized_account_is_idempotent() {
    let (server, tenant) = setup().await;
    let body = create("p-77", "500", 4, false);
    let (_, first) = tenant.call("/api/Subscriptions/Create", &body).await;
    let (_, retry) = tenant.call("/api/Subscriptions/Create", &body).await;
    assert_eq!(first["Code"], 0);
    assert_eq!(
        first["Result"], retry["Result"],
        "a retried create answers the same id"
    );
    let events = tenant.events(0).await;
    assert_eq!(
        kinds(&events),
        ["subscription.created"],
        "and creates nothing new"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_3_reseller_support_synchronizes_reseller_then_customer() {
    let (server, tenant) = setup().await;
    let (_, reseller) = tenant
        .call("/api/Accounts/Synchronize", &account("R-1"))
        .await;
    let reseller_id = reseller["Result"].as_str().unwrap().to_string();
    let mut customer = account("C-1");
    customer["ResellerID"] = json!("R-1");
    let (_, synced) = tenant.call("/api/Accounts/Synchronize", &customer).await;
    assert_eq!(synced["Code"], 0);
    assert_ne!(synced["Result"], reseller["Result"]);

    let (_, is) = tenant
        .call("/api/Accounts/IsReseller", &account("R-1"))
        .await;
    assert_eq!(is, json!(true));
    let (_, is) = tenant
        .call("/api/Accounts/IsReseller", &account("C-1"))
        .await;
    assert_eq!(is, json!(false));
    let events = tenant.events(0).await;
    assert_eq!(
        kinds(&events),
        ["account.synchronized", "account.synchronized"]
    );
    assert_eq!(events[1]["payload"]["reseller_id"], "R-1");
    let stored = server
        .app
        .store()
        .account(&tenant.secrets.tenant_id, "C-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.reseller_external_id.as_deref(),
        Some(reseller_id.as_str()),
        "linked to the reseller"
    );

    // A second synchronize of the same account: same id, no new event.
    let (_, again) = tenant.call("/api/Accounts/Synchronize", &customer).await;
    assert_eq!(again["Result"], synced["Result"]);
    assert_eq!(tenant.events(0).await.len(), 2);
    // Exists: 1 with the id; unknown: 0.
    let (_, exists) = tenant.call("/api/Accounts/Exists", &customer).await;
    assert_eq!(
        (&exists["Code"], &exists["Result"]),
        (&json!(1), &synced["Result"])
    );
    let (_, missing) = tenant
        .call("/api/Accounts/Exists", &account("nobody"))
        .await;
    assert_eq!(
        (&missing["Code"], &missing["Result"]),
        (&json!(0), &Value::Null)
    );
    server.stop().await;
}

async fn created(tenant: &Tenant, platform: &str, quantity: i64, addons: Value) -> String {
    let mut body = create(platform, "20417", quantity, false);
    body["Addons"] = addons;
    let (_, answer) = tenant.call("/api/Subscriptions/Create", &body).await;
    assert_eq!(answer["Code"], 0, "{answer}");
    answer["Result"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_4_and_10_quantity_changes_and_the_addon_lifecycle() {
    let (server, tenant) = setup().await;
    let id = created(&tenant, "p-1", 12, json!([vault("Provision", 3)])).await;
    assert_eq!(
        amount(
            &tenant.subscription(&id).await["resources"]["resources"],
            "storage_gb"
        ),
        "360"
    );

    // §7.3 example 3: 12 → 15 with the vault pack unchanged: 420, set not added.
    let mut update = service(&id, "p-1", "20417", "cb_basic", 15, true);
    update["Addons"] = json!([vault("None", 3)]);
    let (_, checked) = tenant.call("/api/Subscriptions/Update", &update).await;
    assert_eq!(
        (&checked["Code"], &checked["Result"]),
        (&json!(0), &Value::Null)
    );
    update["CheckOnly"] = json!(false);
    let (_, updated) = tenant.call("/api/Subscriptions/Update", &update).await;
    assert_eq!(
        (&updated["Code"], updated["Result"].as_str()),
        (&json!(0), Some(id.as_str()))
    );
    let sub = tenant.subscription(&id).await;
    assert_eq!(
        (
            sub["quantity"].as_i64(),
            amount(&sub["resources"]["resources"], "storage_gb")
        ),
        (Some(15), "420".into())
    );

    // The same update again (a retry): the same totals.
    tenant.call("/api/Subscriptions/Update", &update).await;
    assert_eq!(
        amount(
            &tenant.subscription(&id).await["resources"]["resources"],
            "storage_gb"
        ),
        "420"
    );

    // Add-on update 3 → 5: 300 + 200.
    let mut addon = service(&id, "p-1", "20417", "cb_basic", 15, false);
    addon["Addons"] = json!([vault("Provision", 5)]);
    let (_, answer) = tenant.call("/api/Addons/Update", &addon).await;
    assert_eq!(answer["Code"], 0, "{answer}");
    let sub = tenant.subscription(&id).await;
    assert_eq!(amount(&sub["resources"]["resources"], "storage_gb"), "500");
    assert_eq!(sub["addons"][0]["quantity"], 5);

    // §7.3 example 4: the cancelled vault pack contributes nothing.
    addon["Addons"] = json!([vault("Cancel", 5)]);
    let (_, answer) = tenant.call("/api/Addon/Cancel", &addon).await;
    assert_eq!(
        (&answer["Code"], answer["Result"].as_str()),
        (&json!(0), Some(id.as_str()))
    );
    let sub = tenant.subscription(&id).await;
    assert_eq!(amount(&sub["resources"]["resources"], "storage_gb"), "300");
    assert!(!feature(&sub["resources"]["resources"], "immutable_backup"));
    assert_eq!(sub["addons"][0]["active"], false);
    // A retried add-on cancel succeeds without a second change.
    let before = tenant.events(0).await.len();
    let (_, again) = tenant.call("/api/Addons/Cancel", &addon).await;
    assert_eq!(again["Code"], 0);
    assert_eq!(tenant.events(0).await.len(), before);
    // Updating the cancelled add-on: it has to be created again.
    addon["Addons"] = json!([vault("Provision", 2)]);
    let (_, refused) = tenant.call("/api/Addons/Update", &addon).await;
    assert_eq!(refused["Code"], -3, "{refused}");

    let events = tenant.events(0).await;
    assert_eq!(
        kinds(&events),
        [
            "subscription.created",
            "subscription.updated",
            "subscription.updated",
            "addon.updated",
            "addon.cancelled"
        ]
    );
    assert_cursors(&events);
    // Plans are kept per change, newest first.
    let plans = tenant.subscription(&id).await["plans"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(plans.len(), 5);
    assert_eq!(amount(&plans[4]["resources"], "storage_gb"), "360");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_and_activate_keep_the_totals() {
    let (server, tenant) = setup().await;
    let id = created(&tenant, "p-1", 5, json!([])).await;
    let body = service(&id, "p-1", "20417", "cb_basic", 5, false);
    let (_, s) = tenant.call("/api/Subscriptions/Suspend", &body).await;
    assert_eq!(
        (&s["Code"], s["Result"].as_str()),
        (&json!(0), Some(id.as_str()))
    );
    let sub = tenant.subscription(&id).await;
    assert_eq!(sub["status"], "suspended");
    assert_eq!(
        sub["plans"].as_array().unwrap().len(),
        1,
        "suspend computes no new plan"
    );
    // Suspending again, activating twice: one change each.
    tenant.call("/api/Subscriptions/Suspend", &body).await;
    let (_, a) = tenant.call("/api/Subscriptions/Activate", &body).await;
    assert_eq!(a["Code"], 0);
    let (_, a) = tenant.call("/api/Subscriptions/Activate", &body).await;
    assert_eq!(a["Code"], 0);
    assert_eq!(tenant.subscription(&id).await["status"], "active");
    assert_eq!(
        kinds(&tenant.events(0).await),
        [
            "subscription.created",
            "subscription.suspended",
            "subscription.activated"
        ]
    );
    let history: Vec<String> = tenant.subscription(&id).await["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(history, ["active", "suspended", "active"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_6_cancellation_inside_and_outside_the_window() {
    let (server, tenant) = setup().await;
    tenant
        .bind(
            "precheck",
            "cancellation-window",
            test_plugins::CANCELLATION_WINDOW,
            json!({"max_days": 30}),
        )
        .await;
    let early = created(&tenant, "p-early", 5, json!([vault("Provision", 1)])).await;
    let late = created(&tenant, "p-late", 5, json!([])).await;

    server.advance(10 * DAY);
    let mut body = service(&early, "p-early", "20417", "cb_basic", 5, true);
    body["Addons"] = json!([vault("None", 1)]);
    let (_, checked) = tenant.call("/api/Subscriptions/Cancel", &body).await;
    assert_eq!(checked["Code"], 0, "{checked}");
    body["CheckOnly"] = json!(false);
    let (_, cancelled) = tenant.call("/api/Subscriptions/Cancel", &body).await;
    assert_eq!(
        (&cancelled["Code"], cancelled["Result"].as_str()),
        (&json!(0), Some(early.as_str()))
    );
    let sub = tenant.subscription(&early).await;
    assert_eq!(sub["status"], "cancelled");
    assert_eq!(
        sub["resources"]["resources"],
        json!([]),
        "cancel releases every resource"
    );
    assert_eq!(sub["addons"][0]["active"], false);

    server.advance(30 * DAY);
    let body = service(&late, "p-late", "20417", "cb_basic", 5, true);
    let (_, refused) = tenant.call("/api/Subscriptions/Cancel", &body).await;
    assert_eq!(refused["Code"], -107, "{refused}");
    assert!(
        refused["Message"]
            .as_str()
            .unwrap()
            .contains("bought 40 days ago"),
        "{refused}"
    );
    assert_eq!(tenant.subscription(&late).await["status"], "active");

    // A retried cancel of the early one succeeds without a second change,
    // even outside the window.
    let before = tenant.events(0).await.len();
    let mut retry = service(&early, "p-early", "20417", "cb_basic", 5, false);
    retry["Addons"] = json!([vault("None", 1)]);
    let (_, again) = tenant.call("/api/Subscriptions/Cancel", &retry).await;
    assert_eq!(again["Code"], 0);
    assert_eq!(tenant.events(0).await.len(), before);
    // Nothing can change a cancelled subscription.
    let (_, update) = tenant
        .call(
            "/api/Subscriptions/Update",
            &service(&early, "p-early", "20417", "cb_basic", 9, false),
        )
        .await;
    assert_eq!(update["Code"], -5, "{update}");
    let (_, activate) = tenant
        .call(
            "/api/Subscriptions/Activate",
            &service(&early, "p-early", "20417", "cb_basic", 5, false),
        )
        .await;
    assert_eq!(activate["Code"], -5);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_9_trial_upgrade() {
    let (server, tenant) = setup().await;
    let mut body = create("p-trial", "20417", 3, false);
    body["IsTrial"] = json!(true);
    let (_, answer) = tenant.call("/api/Subscriptions/Create", &body).await;
    let id = answer["Result"].as_str().unwrap().to_string();
    assert_eq!(tenant.subscription(&id).await["is_trial"], true);
    let mut upgrade = service(&id, "p-trial", "20417", "cb_basic", 10, false);
    upgrade["IsTrial"] = json!(true);
    upgrade["ActionType"] = json!("UpgradeToPaid");
    let (_, answer) = tenant
        .call("/api/Subscriptions/UpgradeToPaid", &upgrade)
        .await;
    assert_eq!(
        (&answer["Code"], answer["Result"].as_str()),
        (&json!(0), Some(id.as_str())),
        "the same external id"
    );
    let sub = tenant.subscription(&id).await;
    assert_eq!(
        (sub["is_trial"].as_bool(), sub["quantity"].as_i64()),
        (Some(false), Some(10))
    );
    assert_eq!(amount(&sub["resources"]["resources"], "storage_gb"), "200");
    let (_, again) = tenant
        .call("/api/Subscriptions/UpgradeToPaid", &upgrade)
        .await;
    assert_eq!(again["Code"], 0);
    assert_eq!(
        kinds(&tenant.events(0).await),
        ["subscription.created", "subscription.upgraded-to-paid"]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_downgrade_switches_the_product() {
    let (server, tenant) = setup().await;
    let id = created(&tenant, "p-1", 4, json!([])).await;
    let mut body = service(&id, "p-1", "20417", "cb_business", 4, false);
    body["AttributeList"] = storage_attributes("75");
    body["ActionType"] = json!(5);
    let (_, answer) = tenant
        .call("/api/Subscriptions/UpgradeDowngrade", &body)
        .await;
    assert_eq!(answer["Code"], 0, "{answer}");
    let sub = tenant.subscription(&id).await;
    assert_eq!(sub["product_id"], "cb_business");
    assert_eq!(amount(&sub["resources"]["resources"], "storage_gb"), "300");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_objects_get_specific_codes() {
    let (server, tenant) = setup().await;
    let (_, a) = tenant
        .call(
            "/api/Subscriptions/Update",
            &service("TGS-NOPE", "p-x", "20417", "cb_basic", 5, false),
        )
        .await;
    assert_eq!(a["Code"], -3);
    assert!(a["Message"].as_str().unwrap().contains("TGS-NOPE"));
    let mut addon = service("TGS-NOPE", "p-x", "20417", "cb_basic", 5, false);
    addon["Addons"] = json!([vault("Provision", 1)]);
    let (_, b) = tenant.call("/api/Addons/Create", &addon).await;
    assert_eq!(b["Code"], -3, "an add-on for a missing parent");
    let id = created(&tenant, "p-1", 5, json!([])).await;
    let mut addon = service(&id, "p-1", "20417", "cb_basic", 5, false);
    addon["Addons"] = json!([vault("Cancel", 1)]);
    let (_, c) = tenant.call("/api/Addons/Cancel", &addon).await;
    assert_eq!(c["Code"], -3, "cancelling an add-on never provisioned");
    let (_, d) = tenant.call("/api/Accounts/Delete", &account("ghost")).await;
    assert_eq!(d["Code"], -3);
    // An add-on call without an add-on marked for it.
    let (_, e) = tenant
        .call(
            "/api/Addons/Create",
            &service(&id, "p-1", "20417", "cb_basic", 5, false),
        )
        .await;
    assert_eq!(e["Code"], -2);
    assert!(
        e["Message"]
            .as_str()
            .unwrap()
            .contains("ActionType Provision")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_delete_is_idempotent() {
    let (server, tenant) = setup().await;
    let (_, synced) = tenant
        .call("/api/Accounts/Synchronize", &account("D-1"))
        .await;
    let mut body = account("D-1");
    body["ExternalID"] = synced["Result"].clone();
    let (_, first) = tenant.call("/api/Accounts/Delete", &body).await;
    let (_, second) = tenant.call("/api/Accounts/Delete", &body).await;
    assert_eq!((&first["Code"], &second["Code"]), (&json!(0), &json!(0)));
    assert_eq!(first["Result"], synced["Result"]);
    assert_eq!(
        kinds(&tenant.events(0).await),
        ["account.synchronized", "account.deleted"]
    );
    let (_, exists) = tenant.call("/api/Accounts/Exists", &body).await;
    assert_eq!(exists["Code"], 0);
    // Check mode on Synchronize/Delete changes nothing.
    let (_, checked) = tenant
        .call("/api/Accounts/Synchronize?checkonly=1", &account("D-2"))
        .await;
    assert_eq!(
        (&checked["Code"], &checked["Result"]),
        (&json!(0), &Value::Null)
    );
    assert_eq!(tenant.events(0).await.len(), 2);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_with_live_subscriptions_is_not_deleted() {
    let (server, tenant) = setup().await;
    let (_, synced) = tenant
        .call("/api/Accounts/Synchronize", &account("20417"))
        .await;
    let id = created(&tenant, "p-1", 5, json!([])).await;
    let mut body = account("20417");
    body["ExternalID"] = synced["Result"].clone();
    let before = tenant.events(0).await;
    let state = server.state().await;

    let (_, refused) = tenant.call("/api/Accounts/Delete", &body).await;
    assert_eq!(refused["Code"], -6, "{refused}");
    assert!(
        refused["Message"]
            .as_str()
            .unwrap()
            .contains("still has 1 subscription(s) that are not cancelled"),
        "{refused}"
    );
    assert_eq!(
        server.state().await,
        state,
        "a refused delete changes nothing"
    );
    assert_eq!(tenant.events(0).await, before);
    let (_, exists) = tenant.call("/api/Accounts/Exists", &body).await;
    assert_eq!(exists["Code"], 1);

    // Suspended still counts; once cancelled, the account can go.
    let (_, suspended) = tenant
        .call(
            "/api/Subscriptions/Suspend",
            &service(&id, "p-1", "20417", "cb_basic", 5, false),
        )
        .await;
    assert_eq!(suspended["Code"], 0, "{suspended}");
    let (_, still) = tenant.call("/api/Accounts/Delete", &body).await;
    assert_eq!(still["Code"], -6);
    let (_, cancelled) = tenant
        .call(
            "/api/Subscriptions/Cancel",
            &service(&id, "p-1", "20417", "cb_basic", 5, false),
        )
        .await;
    assert_eq!(cancelled["Code"], 0, "{cancelled}");
    let (_, deleted) = tenant.call("/api/Accounts/Delete", &body).await;
    assert_eq!(
        (&deleted["Code"], &deleted["Result"]),
        (&json!(0), &synced["Result"])
    );
    let (_, exists) = tenant.call("/api/Accounts/Exists", &body).await;
    assert_eq!(exists["Code"], 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_endpoints_serve_the_tenant_documents() {
    let (server, tenant) = setup().await;
    let setup_fields: Value =
        serde_json::from_str(include_str!("../../examples/setup-fields.json")).unwrap();
    tenant.admin_put("/setup-fields", &setup_fields).await;
    let (status, fields) = tenant.get("/api/Fields/Get").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fields["Fields"][3]["ID"], "FieldRegion");
    assert_eq!(
        fields["Fields"][3]["Definition"]["Kind"],
        "PredefinedChooseOne"
    );
    assert_eq!(fields["Fields"][3]["Definition"]["IsPartnerOption"], false);

    // Spec §4.1's example: the empty password is the one problem.
    let body = json!({ "Fields": [
        { "ID": "FieldUsername", "Value": "partner-ops" }, { "ID": "FieldPassword", "Value": "" },
        { "ID": "FieldUri", "Value": "https://api.vendor.example" }, { "ID": "FieldRegion", "Value": "1" } ] });
    let (_, problems) = tenant.call("/api/Fields/Validate", &body).await;
    assert_eq!(problems, json!(["Password could not be empty"]));
    let mut good = body.clone();
    good["Fields"][1]["Value"] = json!("pw");
    assert_eq!(
        tenant.call("/api/Fields/Validate", &good).await.1,
        json!([])
    );

    let (_, catalog) = tenant.get("/api/Fields/ServiceDefinition").await;
    assert_eq!(catalog["ProductTypes"][0]["ID"], "cloudbackup");
    assert_eq!(
        catalog["ProductTypes"][0]["ProductsCollection"]["Addons"][0]["ID"],
        "cb_vault_pack"
    );
    let (_, again) = tenant.get("/api/Fields/ServiceDefinition").await;
    assert_eq!(catalog.to_string(), again.to_string(), "deterministic");
    assert_eq!(tenant.get("/api/Fields/AdditionalInfo").await.1, json!({}));

    // A required setting missing from a call: Code -2 naming it.
    let (_, missing) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 5, true),
        )
        .await;
    assert_eq!(missing["Code"], -2);
    assert_eq!(
        missing["Message"],
        "The setting Username (FieldUsername) is required but was not sent."
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_endpoints_answer_not_supported() {
    let (server, tenant) = setup().await;
    let (status, users) = tenant.call("/api/Users/Get/Customers", &json!({})).await;
    assert_eq!((status, &users["Code"]), (StatusCode::OK, &json!(-1)));
    assert!(users["Message"].as_str().unwrap().contains("not supported"));
    let (_, ppu) = tenant.call("/api/Ppu/usages", &json!({"ID": "x"})).await;
    assert_eq!(ppu["Code"], -1);
    assert_eq!(
        ppu["Totals"],
        json!({"Items": 0, "CostPrice": 0, "SellPrice": 0})
    );
    let (_, assets) = tenant.call("/api/Assets/Create", &json!({})).await;
    assert_eq!(
        (&assets["Code"], &assets["SendNotification"]),
        (&json!(-1), &json!(false))
    );

    let (status, unknown) = tenant.call("/api/Nothing/Here", &json!({})).await;
    assert_eq!(
        (status, &unknown["Code"]),
        (StatusCode::NOT_FOUND, &json!(-1))
    );
    let response = client()
        .get(format!("{}/api/Subscriptions/Create", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        response.headers()["allow"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    server.stop().await;
}

/// How many decision records the tenant's log holds (admin reads include
/// every call answered before them).
async fn logged(tenant: &Tenant) -> Vec<Value> {
    let (status, log) = tenant.admin_get("/invocations?limit=1000").await;
    assert_eq!(status, StatusCode::OK, "{log}");
    log.as_array().unwrap().clone()
}

fn hooks_of(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["hook"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lifecycle_runs_state_rules_then_quantity_limits_then_prechecks() {
    let (server, tenant) = setup().await;
    // Limits: cb_basic 3–50. Pre-check: at most 10 seats (Code -150).
    tenant.bind_min_max().await;
    tenant
        .bind(
            "precheck",
            "cap",
            test_plugins::V2_PRECHECK,
            json!({"max": 10}),
        )
        .await;
    let id = created(&tenant, "p-1", 5, json!([])).await;
    let update = |quantity| service(&id, "p-1", "20417", "cb_basic", quantity, true);

    // 60 breaks the limits and the pre-check: the limits answer, and the
    // pre-check never runs.
    let before = logged(&tenant).await.len();
    let (_, answer) = tenant.call("/api/Subscriptions/Update", &update(60)).await;
    assert_eq!(answer["Code"], -106, "{answer}");
    let log = logged(&tenant).await;
    assert_eq!(hooks_of(&log[..log.len() - before]), ["quantity-limits"]);

    // 20 passes the limits: the pre-check runs after them and refuses.
    let before = log.len();
    let (_, answer) = tenant.call("/api/Subscriptions/Update", &update(20)).await;
    assert_eq!(
        (&answer["Code"], &answer["Message"]),
        (&json!(-150), &json!("At most 10 seats.")),
        "{answer}"
    );
    let log = logged(&tenant).await;
    // Newest first: the pre-check ran last.
    assert_eq!(
        hooks_of(&log[..log.len() - before]),
        ["precheck", "quantity-limits"]
    );

    // Once cancelled, the state rule answers before any plugin runs.
    let mut cancel = update(5);
    cancel["CheckOnly"] = json!(false);
    let (_, answer) = tenant.call("/api/Subscriptions/Cancel", &cancel).await;
    assert_eq!(answer["Code"], 0, "{answer}");
    let before = logged(&tenant).await.len();
    let (_, answer) = tenant.call("/api/Subscriptions/Update", &update(60)).await;
    assert_eq!(answer["Code"], -5, "{answer}");
    assert!(
        answer["Message"].as_str().unwrap().contains("cancelled"),
        "{answer}"
    );
    assert_eq!(logged(&tenant).await.len(), before, "no plugin ran");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_prerequisite_service_is_code_102() {
    let (server, tenant) = setup().await;
    tenant
        .bind(
            "precheck",
            "prerequisite",
            test_plugins::PREREQUISITE_SERVICE,
            json!({"requires": {"cloudbackup-vault": ["cloudbackup"]}}),
        )
        .await;
    let vault = |platform_id: &str| {
        let mut body = service("", platform_id, "20417", "cb_vault_only", 1, false);
        body["ServiceType"] = json!("cloudbackup-vault");
        body
    };
    let (_, refused) = tenant
        .call("/api/Subscriptions/Create", &vault("v-1"))
        .await;
    assert_eq!(
        (&refused["Code"], &refused["Message"]),
        (
            &json!(-102),
            &json!(
                "cb_vault_only can only be ordered by a customer with an active cloudbackup subscription."
            )
        )
    );
    // With an active cloudbackup subscription the same order goes through;
    // once that one is cancelled, it is missing again.
    let backup = created(&tenant, "p-1", 5, json!([])).await;
    let (_, accepted) = tenant
        .call("/api/Subscriptions/Create", &vault("v-1"))
        .await;
    assert_eq!(accepted["Code"], 0, "{accepted}");
    let (_, cancelled) = tenant
        .call(
            "/api/Subscriptions/Cancel",
            &service(&backup, "p-1", "20417", "cb_basic", 5, false),
        )
        .await;
    assert_eq!(cancelled["Code"], 0, "{cancelled}");
    let (_, refused) = tenant
        .call("/api/Subscriptions/Create", &vault("v-2"))
        .await;
    assert_eq!(refused["Code"], -102, "{refused}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogues_quantity_limit_is_code_106() {
    let (server, tenant) = setup().await;
    let mut catalog: Value =
        serde_json::from_str(include_str!("../../examples/catalog.json")).unwrap();
    catalog["ProductTypes"][0]["QuantityLimit"] = json!(10);
    let (status, body) = tenant.admin_put("/catalog", &catalog).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, refused) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 11, true),
        )
        .await;
    assert_eq!(
        (&refused["Code"], &refused["Message"]),
        (
            &json!(-106),
            &json!("The quantity 11 of Cloud Backup Basic (cb_basic) is above the maximum of 10.")
        )
    );
    let id = created(&tenant, "p-1", 10, json!([vault("Provision", 20)])).await;
    // An update past it is refused too; add-on quantities are not the
    // subscription's.
    let (_, refused) = tenant
        .call(
            "/api/Subscriptions/Update",
            &service(&id, "p-1", "20417", "cb_basic", 12, false),
        )
        .await;
    assert_eq!(refused["Code"], -106, "{refused}");
    assert_eq!(tenant.subscription(&id).await["quantity"], 10);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_bindings_apply_together_by_scope_and_priority() {
    let (server, tenant) = setup().await;
    // Quantity limits: a product-scoped minimum of 3 and an unscoped one of
    // 1 both apply to cb_basic; only the unscoped one to cb_business.
    tenant
        .bind_with(
            "quantity-limits",
            "basic-min",
            test_plugins::FIXED_MIN_3,
            json!({"scope": {"product_ids": ["cb_basic"]}}),
        )
        .await;
    tenant
        .bind_with(
            "quantity-limits",
            "any-min",
            test_plugins::FIXED_MIN_1,
            json!({}),
        )
        .await;
    let check = |platform_id: &str, product: &str, quantity| {
        service("", platform_id, "20417", product, quantity, true)
    };
    let code = |answer: &Value| answer["Code"].as_i64().unwrap();
    let (_, a) = tenant
        .call("/api/Subscriptions/Create", &check("c-1", "cb_basic", 2))
        .await;
    assert_eq!(code(&a), -105, "{a}");
    let (_, b) = tenant
        .call("/api/Subscriptions/Create", &check("c-2", "cb_business", 2))
        .await;
    assert_eq!(code(&b), 0, "{b}");
    let (_, c) = tenant
        .call("/api/Subscriptions/Create", &check("c-3", "cb_business", 0))
        .await;
    assert_eq!(code(&c), -105, "{c}");

    // Pre-checks in priority order (lowest first); the first refusal
    // answers, and every one applies.
    let cap = |max: i64, priority: i64| json!({"config": {"max": max}, "priority": priority});
    tenant
        .bind_with("precheck", "cap-20", test_plugins::V2_PRECHECK, cap(20, 1))
        .await;
    tenant
        .bind_with("precheck", "cap-10", test_plugins::V2_PRECHECK, cap(10, 2))
        .await;
    // Scoped to another service type: never applies here.
    tenant
        .bind_with(
            "precheck",
            "cap-0",
            test_plugins::V2_PRECHECK,
            json!({"config": {"max": 0}, "scope": {"service_types": ["storage"]}}),
        )
        .await;
    let message = |answer: &Value| answer["Message"].as_str().unwrap_or("").to_string();
    let (_, d) = tenant
        .call("/api/Subscriptions/Create", &check("c-4", "cb_basic", 25))
        .await;
    assert_eq!(message(&d), "At most 20 seats.", "{d}");
    let (_, e) = tenant
        .call("/api/Subscriptions/Create", &check("c-5", "cb_basic", 15))
        .await;
    assert_eq!(message(&e), "At most 10 seats.", "{e}");
    let (_, f) = tenant
        .call("/api/Subscriptions/Create", &check("c-6", "cb_basic", 5))
        .await;
    assert_eq!(code(&f), 0, "{f}");
    // Swapping the priorities swaps which refusal answers first.
    let (_, cap_10) = tenant.admin_get("/bindings/precheck/cap-10").await;
    tenant
        .admin_put(
            "/bindings/precheck/cap-10",
            &json!({"plugin": "cap-10", "version": cap_10["version"], "config": {"max": 10}, "priority": 0}),
        )
        .await;
    let (_, g) = tenant
        .call("/api/Subscriptions/Create", &check("c-7", "cb_basic", 25))
        .await;
    assert_eq!(message(&g), "At most 10 seats.", "{g}");

    // Resources: the most specific scope wins, then the lower priority.
    tenant
        .bind_with("resources", "plan-any", test_plugins::V2_PLAN, json!({}))
        .await;
    tenant
        .bind_with(
            "resources",
            "plan-basic",
            test_plugins::V2_PLAN,
            json!({"scope": {"product_ids": ["cb_basic"]}, "priority": 9}),
        )
        .await;
    tenant
        .bind_with(
            "resources",
            "plan-basic-first",
            test_plugins::V2_PLAN,
            json!({"scope": {"product_ids": ["cb_basic"]}, "priority": 1}),
        )
        .await;
    let basic = created(&tenant, "r-1", 5, json!([])).await;
    assert_eq!(
        tenant.subscription(&basic).await["resources"]["source"],
        "plugin:plan-basic-first"
    );
    let (_, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &service("", "r-2", "20417", "cb_business", 5, false),
        )
        .await;
    assert_eq!(answer["Code"], 0, "{answer}");
    let business = tenant
        .subscription(answer["Result"].as_str().unwrap())
        .await;
    assert_eq!(business["resources"]["source"], "plugin:plan-any");
    assert_eq!(amount(&business["resources"]["resources"], "seats"), "5");
    server.stop().await;
}

/// The settings a probe plugin was given (`settings=[k=v,…]` in its report).
fn reported_settings(answer: &Value) -> Vec<String> {
    let message = answer["Message"].as_str().unwrap();
    let list = message
        .strip_prefix("settings=[")
        .and_then(|m| m.split_once("] subscriptions="))
        .unwrap_or_else(|| panic!("not a probe report: {answer}"))
        .0;
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_settings_never_reach_plugins_or_the_decision_log() {
    let (server, mut tenant) = setup().await;
    tenant
        .bind(
            "precheck",
            "echo",
            test_plugins::V2_PROBE,
            json!({"probe": "echo"}),
        )
        .await;
    let check = create("p-1", "20417", 5, true);
    // Without declared fields: anything named like a secret is held back.
    tenant.settings = vec![
        ("FieldPassword".into(), "pw-1-e7c2".into()),
        ("ApiSecret".into(), "pw-2-e7c2".into()),
        ("AuthToken".into(), "pw-3-e7c2".into()),
        ("FieldRegion".into(), "1".into()),
    ];
    let (_, answer) = tenant.call("/api/Subscriptions/Create", &check).await;
    assert_eq!(reported_settings(&answer), ["fieldregion=1"], "{answer}");
    // With the §4.1 fields: the PasswordText field is held back, the rest
    // is passed.
    let fields: Value =
        serde_json::from_str(include_str!("../../examples/setup-fields.json")).unwrap();
    assert_eq!(
        tenant.admin_put("/setup-fields", &fields).await.0,
        StatusCode::OK
    );
    tenant.settings = vec![
        ("FieldUsername".into(), "partner-ops".into()),
        ("FieldPassword".into(), "pw-4-e7c2".into()),
        ("FieldUri".into(), "https://api.vendor.example".into()),
        ("FieldRegion".into(), "1".into()),
    ];
    let (_, answer) = tenant.call("/api/Subscriptions/Create", &check).await;
    let seen = reported_settings(&answer);
    assert_eq!(seen.len(), 3, "{answer}");
    assert!(seen.iter().all(|s| !s.contains("pw-")), "{answer}");
    let (_, log) = tenant.admin_get("/invocations").await;
    assert!(!log.to_string().contains("pw-"), "{log}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_off_step_quantity_is_code_108_counting_from_the_minimum() {
    let (server, tenant) = setup().await;
    // cb_basic: from 3 in steps of 5 (3, 8, 13…); others: steps of 4 from 0.
    tenant
        .bind(
            "quantity-limits",
            "min-max",
            test_plugins::MIN_MAX_QUANTITY,
            json!({"default": {"step": 4}, "products": {"cb_basic": {"min": 3, "step": 5}}}),
        )
        .await;
    let check = |product: &str, quantity| service("", "p-1", "20417", product, quantity, true);
    for (product, quantity, code) in [
        ("cb_basic", 8, 0),
        ("cb_basic", 13, 0),
        ("cb_basic", 10, -108),
        ("cb_business", 8, 0),
        ("cb_business", 10, -108),
    ] {
        let (_, answer) = tenant
            .call("/api/Subscriptions/Create", &check(product, quantity))
            .await;
        assert_eq!(answer["Code"], code, "{product} × {quantity}: {answer}");
    }
    let (_, answer) = tenant
        .call("/api/Subscriptions/Create", &check("cb_basic", 10))
        .await;
    assert_eq!(
        answer["Message"],
        "The quantity 10 of Cloud Backup Basic (cb_basic) is not allowed: it must be 3 plus a multiple of 5 (for example 8 or 13)."
    );
    server.stop().await;
}
