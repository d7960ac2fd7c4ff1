//! Crash durability: SIGKILL the real server while real creates and updates
//! stream in, restart it on the same data dir, and check that every call
//! answered Code 0 is fully there (subscription, add-on, resource plan,
//! event) and that no call left a partial write.

mod common;

use common::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{Mutex, Notify};

/// What the clients saw acknowledged: subscription id → highest acknowledged quantity.
type Acked = Arc<Mutex<BTreeMap<String, i64>>>;

async fn worker(tenant: Tenant, worker: usize, acked: Acked, count: Arc<(AtomicUsize, Notify)>) {
    let platform = format!("crash-{worker}-{}", uuid::Uuid::new_v4().simple());
    let mut body = create(&platform, &format!("acct-{worker}"), 3, false);
    body["Addons"] = json!([vault("Provision", 1)]);
    let id = loop {
        match try_call(&tenant, "/api/Subscriptions/Create", &body).await {
            Some(answer) if answer["Code"] == 0 => {
                break answer["Result"].as_str().unwrap().to_string();
            }
            // Temporarily unavailable (overloaded): not acknowledged, and
            // the platform retries the same call later.
            Some(answer) if answer["Code"] == -4 => continue,
            Some(answer) => panic!("create refused: {answer}"),
            None => return, // the server is gone
        }
    };
    acked.lock().await.insert(id.clone(), 3);
    count.0.fetch_add(1, Ordering::SeqCst);
    count.1.notify_one();
    let mut quantity = 4;
    while quantity < 1000 {
        let mut update = service(
            &id,
            &platform,
            &format!("acct-{worker}"),
            "cb_basic",
            quantity,
            false,
        );
        update["Addons"] = json!([vault("None", 1)]);
        match try_call(&tenant, "/api/Subscriptions/Update", &update).await {
            Some(answer) if answer["Code"] == 0 => {
                acked.lock().await.insert(id.clone(), quantity);
                count.0.fetch_add(1, Ordering::SeqCst);
                count.1.notify_one();
                quantity += 1;
            }
            // Not acknowledged: retried, like the platform does.
            Some(answer) if answer["Code"] == -4 => {}
            Some(answer) => panic!("update refused: {answer}"),
            None => return,
        }
    }
}

async fn try_call(tenant: &Tenant, path: &str, body: &Value) -> Option<Value> {
    let response = tenant
        .http
        .post(format!("{}{path}", tenant.url))
        .header(
            "X-CloudPlatform-ApplicationId",
            &tenant.secrets.application_id,
        )
        .header("X-CloudPlatform-APIKey", tenant.api_key_header())
        .json(body)
        .send()
        .await
        .ok()?;
    response.json().await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_call_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap().to_string();
    let secrets = cli_tenant("Crash", &data_dir);
    let acked: Acked = Arc::default();

    for round in 0..3 {
        let server = spawn_server(&["serve", "--data-dir", &data_dir], &[]);
        let tenant = Tenant::new(&server.url, secrets.clone());
        if round == 0 {
            tenant.put_catalog().await;
        }
        let count = Arc::new((AtomicUsize::new(0), Notify::new()));
        let workers: Vec<_> = (0..6)
            .map(|w| {
                tokio::spawn(worker(
                    tenant.clone(),
                    round * 10 + w,
                    acked.clone(),
                    count.clone(),
                ))
            })
            .collect();
        // Kill after a number of acknowledged writes, mid-stream.
        let target = 40 + round * 17;
        tokio::time::timeout(std::time::Duration::from_secs(120), async {
            while count.0.load(Ordering::SeqCst) < target {
                count.1.notified().await;
            }
        })
        .await
        .expect("enough acknowledged writes within 2 minutes");
        let mut server = server;
        server.child.kill().expect("SIGKILL");
        server.child.wait().unwrap();
        for w in workers {
            w.await.unwrap();
        }
    }

    // Restart and audit.
    let server = spawn_server(&["serve", "--data-dir", &data_dir], &[]);
    let tenant = Tenant::new(&server.url, secrets);
    let acked = acked.lock().await.clone();
    eprintln!(
        "audited {} subscriptions, {} events",
        acked.len(),
        tenant.events(0).await.len()
    );
    assert!(
        acked.len() >= 18,
        "every worker got at least its create acknowledged"
    );
    let events = tenant.events(0).await;
    let cursors: Vec<i64> = events
        .iter()
        .map(|e| e["cursor"].as_i64().unwrap())
        .collect();
    assert_eq!(
        cursors,
        (1..=events.len() as i64).collect::<Vec<_>>(),
        "gap-free event feed after crashes"
    );
    for (id, quantity) in &acked {
        let sub = tenant.subscription(id).await;
        let stored = sub["quantity"].as_i64().unwrap();
        // A call may commit and crash before answering, never the reverse.
        assert!(
            stored >= *quantity,
            "{id}: acknowledged {quantity}, stored {stored}"
        );
        assert_eq!(sub["addons"][0]["product_id"], "cb_vault_pack", "{id}");
        let history = sub["history"].as_array().unwrap();
        let plans = sub["plans"].as_array().unwrap();
        let versions: Vec<i64> = history
            .iter()
            .map(|h| h["version"].as_i64().unwrap())
            .collect();
        assert_eq!(
            versions,
            (1..=versions.len() as i64).collect::<Vec<_>>(),
            "{id}: history is whole"
        );
        assert_eq!(
            history.last().unwrap()["quantity"].as_i64(),
            Some(stored),
            "{id}: state and history agree"
        );
        // Every change wrote its plan and its event, or nothing at all.
        assert_eq!(
            plans.len().min(50),
            versions.len().min(50),
            "{id}: a plan per change"
        );
        assert_eq!(
            amount(&plans[0]["resources"], "storage_gb"),
            (20 * stored + 40).to_string(),
            "{id}: the latest plan matches the state"
        );
        let own: Vec<&Value> = events
            .iter()
            .filter(|e| e["subscription_id"] == id.as_str())
            .collect();
        assert_eq!(own.len(), versions.len(), "{id}: an event per change");
        assert_eq!(
            own.last().unwrap()["payload"]["quantity"].as_i64(),
            Some(stored)
        );
    }
    drop(server);
}
