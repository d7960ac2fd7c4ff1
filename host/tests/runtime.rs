//! The sandbox runtime against real compiled plugins: every hostile plugin is
//! stopped by its own limit with its own error kind, and the next call on
//! the same runtime is unaffected.

use tollgate::domain::hook::*;
use tollgate::runtime::{CompiledPlugin, EngineConfig, Limits, PluginError, Runtime};

fn runtime() -> Runtime {
    Runtime::new(EngineConfig::default()).expect("runtime")
}

fn load(rt: &Runtime, path: &str) -> CompiledPlugin {
    rt.compile(&test_plugins::bytes(path)).expect("compile")
}

fn request(product: &str, quantity: i64) -> HookRequest {
    HookRequest {
        operation: Operation::SubscriptionCreate,
        check_only: true,
        subscription_id: String::new(),
        platform_subscription_id: "7d0f5c2e-1b8a-4c39-9e6f-2a51c0d9b3e4".into(),
        product_id: product.into(),
        service_type: "cloudbackup".into(),
        action: ActionType::Provision,
        quantity,
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
    }
}

fn input(product: &str, quantity: i64, config: &str) -> HookInput {
    HookInput {
        request: request(product, quantity),
        target: Some(QuantityTarget {
            kind: TargetKind::Subscription,
            product_id: product.into(),
            quantity,
            previous_quantity: None,
            attributes: vec![],
        }),
        context: HookContext {
            now: 1_764_201_600_000,
            config: config.into(),
            binding: "test".into(),
            track_id: "t".into(),
        },
        subscriptions: vec![],
        seed: None,
    }
}

const MIN_MAX_CONFIG: &str =
    r#"{"default": {"min": 1}, "products": {"cb_basic": {"min": 3, "max": 50, "step": 1}}}"#;

fn assert_healthy(rt: &Runtime) {
    let plugin = load(rt, test_plugins::MIN_MAX_QUANTITY);
    let out = rt.invoke(
        &plugin,
        &input("cb_basic", 2, MIN_MAX_CONFIG),
        &Limits::default(),
    );
    assert_eq!(
        out.outcome.expect("min-max after a hostile call"),
        HookOutput::Limits(Some(tollgate::domain::hook::Limits {
            min: Some(3),
            max: Some(50),
            step: Some(1)
        }))
    );
}

#[test]
fn min_max_quantity_returns_the_configured_limits() {
    let rt = runtime();
    let plugin = load(&rt, test_plugins::MIN_MAX_QUANTITY);
    assert_eq!(plugin.hook(), Hook::QuantityLimits);
    let out = rt.invoke(
        &plugin,
        &input("other", 2, MIN_MAX_CONFIG),
        &Limits::default(),
    );
    assert_eq!(
        out.outcome.unwrap(),
        HookOutput::Limits(Some(tollgate::domain::hook::Limits {
            min: Some(1),
            max: None,
            step: None
        }))
    );
    assert!(out.fuel_used > 0 && out.fuel_used < Limits::default().fuel);
    assert!(out.peak_memory > 0);
    assert_healthy(&rt);
}

fn run_hostile(path: &str, limits: &Limits) -> (Runtime, tollgate::runtime::Invocation) {
    let rt = runtime();
    let plugin = load(&rt, path);
    let out = rt.invoke(&plugin, &input("cb_basic", 2, "{}"), limits);
    (rt, out)
}

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let (rt, out) = run_hostile(test_plugins::INFINITE_LOOP, &Limits::default());
    assert_eq!(
        out.outcome.unwrap_err(),
        PluginError::FuelExhausted { limit: 10_000_000 }
    );
    assert_eq!(out.fuel_used, 10_000_000);
    assert_healthy(&rt);
}

#[test]
fn infinite_loop_with_unlimited_fuel_misses_its_deadline() {
    let limits = Limits {
        fuel: u64::MAX / 2,
        deadline_ms: 50,
        ..Limits::default()
    };
    let (rt, out) = run_hostile(test_plugins::INFINITE_LOOP, &limits);
    assert_eq!(
        out.outcome.unwrap_err(),
        PluginError::DeadlineExceeded { limit_ms: 50 }
    );
    assert!(
        out.duration.as_millis() < 1000,
        "stopped after {:?}",
        out.duration
    );
    assert_healthy(&rt);
}

#[test]
fn memory_bomb_hits_the_memory_limit() {
    let (rt, out) = run_hostile(test_plugins::MEMORY_BOMB, &Limits::default());
    assert_eq!(
        out.outcome.unwrap_err(),
        PluginError::MemoryLimit {
            limit: 16 * 1024 * 1024
        }
    );
    assert!(out.peak_memory <= 16 * 1024 * 1024);
    assert_healthy(&rt);
}

#[test]
fn deep_recursion_overflows_the_stack() {
    let (rt, out) = run_hostile(test_plugins::DEEP_RECURSION, &Limits::default());
    assert_eq!(out.outcome.unwrap_err(), PluginError::StackOverflow);
    assert_healthy(&rt);
}

#[test]
fn panic_is_a_trap_with_the_guest_message() {
    let (rt, out) = run_hostile(test_plugins::PANIC, &Limits::default());
    match out.outcome.unwrap_err() {
        PluginError::Trap { message } => {
            assert!(
                message.contains("deliberate panic for product cb_basic"),
                "{message}"
            )
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    assert_healthy(&rt);
}

#[test]
fn oversize_output_is_refused() {
    let (rt, out) = run_hostile(test_plugins::OVERSIZE_OUTPUT, &Limits::default());
    // Bounded while it is copied, not after: wasmtime stops at the
    // output limit plus framing.
    assert!(matches!(
        out.outcome.unwrap_err(),
        PluginError::OversizeTransfer { limit: 65536, .. }
    ));
    assert_healthy(&rt);
}

#[test]
fn exit_is_a_trap() {
    let (rt, out) = run_hostile(test_plugins::EXIT, &Limits::default());
    assert_eq!(
        out.outcome.unwrap_err(),
        PluginError::Trap {
            message: "the plugin called exit(1)".into()
        }
    );
    assert_healthy(&rt);
}

#[test]
fn clocks_and_random_are_deterministic_and_sleep_does_not_block() {
    let rt = runtime();
    let plugin = load(&rt, test_plugins::CLOCK_RANDOM);
    let message = |quantity: i64| match rt
        .invoke(
            &plugin,
            &input("cb_basic", quantity, "{}"),
            &Limits::default(),
        )
        .outcome
    {
        Ok(HookOutput::Verdict(Verdict::Reject(r))) => r.message,
        other => panic!("unexpected {other:?}"),
    };
    let first = message(2);
    assert_eq!(
        first,
        message(2),
        "same input, same clock and random values"
    );
    assert!(
        first.starts_with("wall=1764201600000 now=1764201600000 slept=0 "),
        "{first}"
    );
    assert_ne!(first, message(3), "the random seed follows the input");
}

#[test]
fn a_shadow_stack_overflow_traps_instead_of_corrupting_memory() {
    let (rt, out) = run_hostile(test_plugins::SHADOW_STACK, &Limits::default());
    match out.outcome.unwrap_err() {
        PluginError::Trap { message } => assert!(message.contains("out of bounds"), "{message}"),
        other => panic!("expected an out-of-bounds trap, got {other:?}"),
    }
    assert_healthy(&rt);
}
