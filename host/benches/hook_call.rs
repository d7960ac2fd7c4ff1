//! One `quantity-limits` decision on the min-max plugin: a fresh instance,
//! the call, and the limits (fuel, deadline, memory) — what every pre-check
//! pays per binding. Compared with the same rule written as plain Rust.
//!
//! The same decision by the same rule written in TypeScript and Python
//! (the min-max examples, built by `tests/guests-js/build.sh` and
//! `tests/guests-py/build.sh`): a row per language, skipped with a note
//! when the machine cannot build that language's component.
//!
//! Run: `cargo bench -p tollgate --bench hook_call`

use std::collections::BTreeMap;
use tollgate::domain::hook::*;
use tollgate::runtime::{EngineConfig, Limits as RunLimits, Runtime};

fn main() {
    divan::main();
}

const CONFIG: &str =
    r#"{"default": {"min": 1}, "products": {"cb_basic": {"min": 3, "max": 50, "step": 1}}}"#;

fn input() -> HookInput {
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
            quantity: 2,
            previous_quantity: None,
            is_trial: false,
            attributes: vec![Attribute {
                id: "storage_gb".into(),
                name: "Storage per seat (GB)".into(),
                value: "20".into(),
                code: String::new(),
                quantity_linked: true,
            }],
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
            quantity: 2,
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

/// The decision's latency: fresh instance, limits, call, output checked.
/// The spent instance is returned, so divan drops it (resetting the pool
/// slot) after the sample, as the server does after answering.
#[divan::bench]
fn wasm_min_max_decision(bencher: divan::Bencher) {
    let runtime = Runtime::new(EngineConfig::default()).expect("runtime");
    let plugin = runtime
        .compile(&test_plugins::bytes(test_plugins::MIN_MAX_QUANTITY))
        .expect("compile");
    let input = input();
    let limits = RunLimits::default();
    bencher.bench_local(|| {
        let (out, spent) = runtime.invoke_deferred(&plugin, divan::black_box(&input), &limits);
        assert!(out.outcome.is_ok());
        (out, spent)
    });
}

/// The polyglot components, built once per run into the target dir (the
/// build scripts skip what did not change); `None` with a printed note
/// when the toolchain is missing.
fn polyglot(language: &str) -> Option<Vec<u8>> {
    let (script, dir, name, needs) = match language {
        "typescript" => (
            "tests/guests-js/build.sh",
            "js",
            "min-max-quantity-ts",
            "Node.js 20.6+ with npm and the npm registry",
        ),
        _ => (
            "tests/guests-py/build.sh",
            "py",
            "min-max-quantity-py",
            "Python 3.11+ with venv and PyPI",
        ),
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("polyglot")
        .join(dir);
    let built = std::process::Command::new("bash")
        .arg(root.join(script))
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    match built {
        Ok(status) if status.success() => std::fs::read(out.join(format!("{name}.wasm"))).ok(),
        Ok(status) => skip(language, &format!("{script} failed ({status})"), needs),
        Err(e) => skip(language, &format!("cannot run {script}: {e}"), needs),
    }
}

fn skip(language: &str, why: &str, needs: &str) -> Option<Vec<u8>> {
    eprintln!("note: skipping the {language} row: {why}; it needs {needs}");
    None
}

/// Fresh instance + call of the min-max rule written in `language`, under
/// the limits the server gives that language.
fn polyglot_decision(bencher: divan::Bencher, language: &str) {
    let Some(bytes) = polyglot(language) else {
        return;
    };
    let runtime = Runtime::new(EngineConfig::default()).expect("runtime");
    let plugin = runtime.compile(&bytes).expect("compile");
    let input = input();
    let limits = RunLimits::default().for_language(plugin.language(), runtime.config());
    let expected = runtime
        .invoke(&plugin, &input, &limits)
        .outcome
        .expect("decides");
    assert!(
        matches!(expected, HookOutput::Limits(Some(_))),
        "{expected:?}"
    );
    bencher.bench_local(|| {
        let (out, spent) = runtime.invoke_deferred(&plugin, divan::black_box(&input), &limits);
        assert!(out.outcome.is_ok());
        (out, spent)
    });
}

/// The min-max rule in TypeScript (componentize-qjs).
#[divan::bench(sample_count = 100)]
fn typescript_min_max_decision(bencher: divan::Bencher) {
    polyglot_decision(bencher, "typescript");
}

/// The min-max rule in Python (componentize-py).
#[divan::bench(sample_count = 100)]
fn python_min_max_decision(bencher: divan::Bencher) {
    polyglot_decision(bencher, "python");
}

/// The whole cost of one call, the instance's release included: what a
/// core spends per decision (throughput).
#[divan::bench]
fn wasm_min_max_with_release(bencher: divan::Bencher) {
    let runtime = Runtime::new(EngineConfig::default()).expect("runtime");
    let plugin = runtime
        .compile(&test_plugins::bytes(test_plugins::MIN_MAX_QUANTITY))
        .expect("compile");
    let input = input();
    let limits = RunLimits::default();
    bencher.bench_local(|| {
        let out = runtime.invoke(&plugin, divan::black_box(&input), &limits);
        assert!(out.outcome.is_ok());
        out
    });
}

#[derive(serde::Deserialize)]
struct Config {
    #[serde(default)]
    default: Option<Range>,
    #[serde(default)]
    products: BTreeMap<String, Range>,
}

#[derive(serde::Deserialize, Clone, Copy)]
struct Range {
    min: Option<i64>,
    max: Option<i64>,
    step: Option<i64>,
}

/// The same rule in plain Rust, config parsing included.
#[divan::bench]
fn native_min_max(bencher: divan::Bencher) {
    let input = input();
    bencher.bench_local(|| {
        let input = divan::black_box(&input);
        let config: Config = serde_json::from_str(&input.context.config).expect("config");
        let target = input.target.as_ref().expect("target");
        config
            .products
            .get(&target.product_id)
            .or(config.default.as_ref())
            .map(|r| Limits {
                min: r.min,
                max: r.max,
                step: r.step,
            })
    });
}
/// A plugin with no config to parse: the sandbox's fixed cost per decision.
#[divan::bench]
fn wasm_fixed_min_decision(bencher: divan::Bencher) {
    let runtime = Runtime::new(EngineConfig::default()).expect("runtime");
    let plugin = runtime
        .compile(&test_plugins::bytes(test_plugins::FIXED_MIN_3))
        .expect("compile");
    let input = input();
    let limits = RunLimits::default();
    bencher.bench_local(|| runtime.invoke_deferred(&plugin, divan::black_box(&input), &limits));
}
