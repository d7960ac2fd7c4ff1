//! Contention on the platform call path (issue 14): the per-call latency
//! with 1, 2, … concurrent callers, up to twice the machine's threads.
//!
//! * `plugin`: the min-max decision alone (`Runtime::invoke_deferred`, a
//!   fresh instance per call), one OS thread per caller: the engine, its
//!   instance pool and the epoch ticker shared by every call.
//! * `call bound` / `call unbound`: a check-mode `Subscriptions/Create`
//!   through the service (`App::answer_call`): the tenant directory, the
//!   config cache, the call's one state read (SQLite), the plugin gate and
//!   pool slots, the decision log's hand-off (its writer runs meanwhile),
//!   for a tenant with the min-max binding and one without. One runtime
//!   with a worker per machine thread; `callers` tasks call in a loop.
//!
//! Per-call latency that stays flat up to the machine's threads (and
//! throughput that grows with them) means no lock serializes the calls;
//! past the machine's threads the callers only share its cores.
//!
//! Run: `cargo bench -p tollgate --bench call_path` (optionally `-- SECONDS`
//! per row, default 3).

use std::sync::Arc;
use std::time::{Duration, Instant};
use tollgate::domain::hook::*;
use tollgate::domain::interworks::{Account, ServiceDefinition};
use tollgate::runtime::{EngineConfig, Limits as RunLimits, Runtime};
use tollgate::service::{App, AppConfig, BindingSpec, CallContext, Claim, NewTenantRequest};

const CONFIG: &str = r#"{"products": {"cb_basic": {"min": 3, "max": 50}}}"#;

fn main() {
    let seconds = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<f64>().ok())
        .unwrap_or(3.0);
    let row = Duration::from_secs_f64(seconds);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut counts: Vec<usize> = (1..=cores).collect();
    counts.push(cores * 2);
    println!(
        "{cores} threads available; {seconds} s per row; load average before: {}",
        loadavg()
    );
    println!(
        "{:<14} {:>7} {:>10} {:>9} {:>9}",
        "row", "callers", "calls/s", "p50_us", "p99_us"
    );
    plugin_rows(&counts, row);
    call_rows(cores, &counts, row);
    println!("load average after: {}", loadavg());
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn print_row(name: &str, callers: usize, elapsed: Duration, mut latencies: Vec<Duration>) {
    latencies.sort_unstable();
    let at = |q: f64| {
        let i = ((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1));
        latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    println!(
        "{name:<14} {callers:>7} {:>10.0} {:>9.1} {:>9.1}",
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.50),
        at(0.99)
    );
}

fn decision_input() -> HookInput {
    HookInput {
        request: HookRequest {
            operation: Operation::SubscriptionCreate,
            check_only: true,
            subscription_id: String::new(),
            platform_subscription_id: "7d0f5c2e-1b8a-4c39-9e6f-2a51c0d9b3e4".into(),
            product_id: "cb_basic".into(),
            service_type: "cloudbackup".into(),
            action: ActionType::Provision,
            action_text: String::new(),
            quantity: 5,
            previous_quantity: None,
            is_trial: false,
            attributes: vec![],
            addons: vec![],
            account: AccountView {
                id: "20417".into(),
                ..Default::default()
            },
            settings: vec![],
            custom_fields: vec![],
        },
        target: Some(QuantityTarget {
            kind: TargetKind::Subscription,
            product_id: "cb_basic".into(),
            quantity: 5,
            previous_quantity: None,
            attributes: vec![],
        }),
        context: HookContext {
            now: 1_764_201_600_000,
            config: CONFIG.into(),
            binding: "min-max".into(),
            track_id: "30619dec-560b-432c-a6fd-ebf0b7768ecd".into(),
        },
        subscriptions: vec![],
        seed: None,
    }
}

/// The plugin path alone, one OS thread per caller.
fn plugin_rows(counts: &[usize], row: Duration) {
    let runtime = Arc::new(Runtime::new(EngineConfig::default()).expect("runtime"));
    let plugin = Arc::new(
        runtime
            .compile(&test_plugins::bytes(test_plugins::MIN_MAX_QUANTITY))
            .expect("compile"),
    );
    let limits = RunLimits::default();
    let input = decision_input();
    // Warm-up: code and pool slots touched once.
    for _ in 0..1000 {
        assert!(runtime.invoke(&plugin, &input, &limits).outcome.is_ok());
    }
    for &callers in counts {
        let started = Instant::now();
        let threads: Vec<_> = (0..callers)
            .map(|_| {
                let (runtime, plugin, input, limits) =
                    (runtime.clone(), plugin.clone(), input.clone(), limits);
                std::thread::spawn(move || {
                    let mut latencies = Vec::with_capacity(1 << 16);
                    while started.elapsed() < row {
                        let t = Instant::now();
                        let (out, spent) = runtime.invoke_deferred(&plugin, &input, &limits);
                        latencies.push(t.elapsed());
                        assert!(out.outcome.is_ok());
                        drop(spent);
                    }
                    latencies
                })
            })
            .collect();
        let latencies: Vec<Duration> = threads
            .into_iter()
            .flat_map(|t| t.join().expect("caller thread"))
            .collect();
        print_row("plugin", callers, started.elapsed(), latencies);
    }
}

/// The service's call path, `callers` tasks on a runtime with a worker per
/// machine thread.
fn call_rows(cores: usize, counts: &[usize], row: Duration) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(
            tollgate::store::Store::open_data_dir(dir.path())
                .await
                .expect("store"),
        );
        let app =
            App::new(store, AppConfig::default(), Arc::new(|| 1_764_201_600_000)).expect("app");
        let bound = tenant(&app, "bound", true).await;
        let unbound = tenant(&app, "unbound", false).await;
        for (name, claim) in [("call bound", bound), ("call unbound", unbound)] {
            let claim = Arc::new(claim);
            // Warm-up: caches filled, the first records written.
            for n in 0..500 {
                call(&app, &claim, n).await;
            }
            app.flush_decisions().await;
            for &callers in counts {
                let started = Instant::now();
                let tasks: Vec<_> = (0..callers)
                    .map(|c| {
                        let (app, claim) = (app.clone(), claim.clone());
                        tokio::spawn(async move {
                            let mut latencies = Vec::with_capacity(1 << 15);
                            let mut n = c * 10_000_000;
                            while started.elapsed() < row {
                                let t = Instant::now();
                                call(&app, &claim, n).await;
                                latencies.push(t.elapsed());
                                n += 1;
                            }
                            latencies
                        })
                    })
                    .collect();
                let mut latencies = Vec::new();
                for task in tasks {
                    latencies.extend(task.await.expect("caller task"));
                }
                let elapsed = started.elapsed();
                print_row(name, callers, elapsed, latencies);
                app.flush_decisions().await;
            }
        }
        app.shutdown().await;
    });
}

async fn tenant(app: &Arc<App>, name: &str, bind: bool) -> Claim {
    let secrets = app
        .create_tenant(&NewTenantRequest {
            name: name.into(),
            ..Default::default()
        })
        .await
        .expect("tenant");
    if bind {
        let admin = app
            .authenticate_admin(Some(&secrets.admin_token))
            .await
            .expect("admin")
            .expect("admin token");
        app.upload_plugin(
            &admin,
            "min-max",
            test_plugins::bytes(test_plugins::MIN_MAX_QUANTITY),
            "bench",
        )
        .await
        .expect("upload");
        let spec = BindingSpec {
            plugin: "min-max".into(),
            version: None,
            scope: Default::default(),
            priority: 0,
            config: serde_json::from_str(CONFIG).expect("config"),
            on_failure: "reject".into(),
            shadow: None,
        };
        app.put_binding(&admin, Hook::QuantityLimits, "min-max", &spec, "bench")
            .await
            .expect("binding");
    }
    let key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &secrets.api_key);
    app.claim(Some(&secrets.application_id), Some(&key))
        .await
        .expect("claim")
        .expect("accepted")
}

async fn call(app: &Arc<App>, claim: &Claim, n: usize) {
    let def = ServiceDefinition {
        platform_subscription_id: format!("p-{n}"),
        product_id: "cb_basic".into(),
        service_type: "cloudbackup".into(),
        quantity: 5,
        check_only: true,
        account: Account {
            id: "20417".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let answer = app
        .answer_call(
            claim,
            Operation::SubscriptionCreate,
            def,
            &CallContext::default(),
        )
        .await
        .expect("answered");
    assert_eq!(answer.code, 0, "{answer:?}");
}
