//! The sandbox runtime against real compiled plugins: every hostile plugin is
//! stopped by its own limit with its own error kind, and the next call on
//! the same runtime is unaffected.

use tollgate::domain::hook::*;
use tollgate::runtime::{
    CompiledPlugin, ConfigCheck, EngineConfig, Limits, LoadError, PluginError, Runtime,
};

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
        action_text: String::new(),
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
    // A deadline no machine reaches first: only fuel can stop it.
    let limits = Limits {
        deadline_ms: 60_000,
        ..Limits::default()
    };
    let (rt, out) = run_hostile(test_plugins::INFINITE_LOOP, &limits);
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
    // Without the deadline the call never ends: wait for it on another
    // thread, bounded far beyond any machine's delay.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(run_hostile(test_plugins::INFINITE_LOOP, &limits));
    });
    let (rt, out) = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the deadline stops an infinite loop with unlimited fuel");
    assert_eq!(
        out.outcome.unwrap_err(),
        PluginError::DeadlineExceeded { limit_ms: 50 }
    );
    assert!(
        out.duration >= std::time::Duration::from_millis(45),
        "stopped after {:?}, before its deadline",
        out.duration
    );
    assert!(out.fuel_used < u64::MAX / 2);
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

// ---- Contract v2 (tollgate:plugin@2.0.0) beside v1 ----

#[test]
fn contract_and_language_are_detected() {
    let rt = runtime();
    for (path, contract) in [
        (test_plugins::FIXED_MIN_1, "1.0.0"),
        (test_plugins::PANIC, "1.0.0"),
        (test_plugins::V2_PRECHECK, "2.0.0"),
        (test_plugins::V2_LIMITS, "2.0.0"),
        (test_plugins::V2_PLAN, "2.0.0"),
        (test_plugins::MIN_MAX_QUANTITY, "2.0.0"),
    ] {
        let plugin = load(&rt, path);
        assert_eq!(plugin.contract(), contract, "{path}");
        assert_eq!(plugin.language(), "rust", "{path}");
    }
    // Through the compile worker's path too: precompiled code remembers
    // what only the original bytes told.
    let native = rt
        .precompile(&test_plugins::bytes(test_plugins::V2_PLAN))
        .unwrap();
    let plugin = rt.load_precompiled(&native).unwrap();
    assert_eq!((plugin.contract(), plugin.language()), ("2.0.0", "rust"));
    let again = rt
        .load_precompiled(&rt.serialize(&plugin).unwrap())
        .unwrap();
    assert_eq!((again.contract(), again.language()), ("2.0.0", "rust"));
}

#[test]
fn a_v2_component_with_hooks_of_the_wrong_shape_is_refused_naming_v2() {
    let rt = runtime();
    let e = rt
        .compile(&test_plugins::bytes(test_plugins::V2_WRONG_SIGNATURE))
        .err()
        .expect("refused");
    assert!(
        matches!(
            &e,
            LoadError::Incompatible {
                hook: Hook::Precheck,
                contract: "2.0.0",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("tollgate:plugin@2.0.0"), "{e}");
    let e = rt
        .compile(&test_plugins::bytes(test_plugins::WRONG_SIGNATURE))
        .err()
        .expect("refused");
    assert!(e.to_string().contains("tollgate:plugin@1.0.0"), "{e}");
}

const PROBE_CONFIG: &str = r#"{"max": 10}"#;

#[test]
fn v2_precheck_accepts_and_rejects() {
    let rt = runtime();
    let plugin = load(&rt, test_plugins::V2_PRECHECK);
    assert_eq!(plugin.hook(), Hook::Precheck);
    let out = rt.invoke(
        &plugin,
        &input("cb_basic", 5, PROBE_CONFIG),
        &Limits::default(),
    );
    assert_eq!(out.outcome.unwrap(), HookOutput::Verdict(Verdict::Accept));
    let out = rt.invoke(
        &plugin,
        &input("cb_basic", 11, PROBE_CONFIG),
        &Limits::default(),
    );
    assert_eq!(
        out.outcome.unwrap(),
        HookOutput::Verdict(Verdict::Reject(Rejection {
            code: -150,
            message: "At most 10 seats.".into()
        }))
    );
    assert!(out.fuel_used > 0 && out.peak_memory > 0);
}

#[test]
fn v2_sees_an_other_action_with_its_text() {
    let rt = runtime();
    let plugin = load(&rt, test_plugins::V2_PRECHECK);
    let mut call = input("cb_basic", 5, PROBE_CONFIG);
    call.request.action = ActionType::Other;
    call.request.action_text = "Transfer".into();
    let out = rt.invoke(&plugin, &call, &Limits::default());
    assert_eq!(
        out.outcome.unwrap(),
        HookOutput::Verdict(Verdict::Reject(Rejection {
            code: -151,
            message: "Action Transfer is not handled.".into()
        }))
    );
}

#[test]
fn v2_failed_is_a_plugin_error_cut_at_one_kib() {
    let rt = runtime();
    let plugin = load(&rt, test_plugins::V2_PRECHECK);
    let out = rt.invoke(
        &plugin,
        &input("cb_basic", 5, r#"{"max": 10, "fail_bytes": 5000}"#),
        &Limits::default(),
    );
    let e = out.outcome.unwrap_err();
    assert_eq!(e.kind(), "plugin-error");
    assert!(!e.is_limit());
    let PluginError::PluginFailed { message } = &e else {
        panic!("{e:?}")
    };
    assert!(message.len() <= 1024, "{}", message.len());
    assert!(message.len() > 1000, "{}", message.len());
    assert!(
        message.starts_with("éé") && message.ends_with('…'),
        "{message}"
    );
    // A short message is kept whole.
    let out = rt.invoke(
        &plugin,
        &input("cb_basic", 5, r#"{"max": 10, "fail_bytes": 8}"#),
        &Limits::default(),
    );
    assert_eq!(out.outcome.unwrap_err(), PluginError::plugin_failed("éééé"));
}

#[test]
fn v2_invalid_config_at_call_time_names_the_path() {
    let rt = runtime();
    let plugin = load(&rt, test_plugins::V2_PRECHECK);
    let out = rt.invoke(
        &plugin,
        &input("cb_basic", 5, r#"{"max": "ten"}"#),
        &Limits::default(),
    );
    let e = out.outcome.unwrap_err();
    assert_eq!(e.kind(), "invalid-config");
    let PluginError::InvalidConfig { path, message } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(path, "$.max");
    assert!(message.contains("invalid type"), "{message}");
}

#[test]
fn v2_limits() {
    let rt = runtime();
    let plugin = load(&rt, test_plugins::V2_LIMITS);
    let config = r#"{"products": {"cb_basic": {"min": 3, "max": 9}}}"#;
    let out = rt.invoke(&plugin, &input("cb_basic", 2, config), &Limits::default());
    assert_eq!(
        out.outcome.unwrap(),
        HookOutput::Limits(Some(tollgate::domain::hook::Limits {
            min: Some(3),
            max: Some(9),
            step: None
        }))
    );
    let out = rt.invoke(&plugin, &input("other", 2, config), &Limits::default());
    assert_eq!(out.outcome.unwrap(), HookOutput::Limits(None));
}

#[test]
fn v2_plan_totals_and_refusal() {
    let rt = runtime();
    let plugin = load(&rt, test_plugins::V2_PLAN);
    let out = rt.invoke(&plugin, &input("cb_basic", 12, "{}"), &Limits::default());
    let HookOutput::Plan(PlanOutcome::Totals(totals)) = out.outcome.unwrap() else {
        panic!("totals expected")
    };
    assert_eq!(totals.len(), 2);
    assert_eq!(totals[0].id, "seats");
    assert_eq!(totals[1].value, ResourceValue::Feature(true));
    let out = rt.invoke(&plugin, &input("cb_basic", 101, "{}"), &Limits::default());
    assert_eq!(
        out.outcome.unwrap(),
        HookOutput::Plan(PlanOutcome::Refuse(Rejection {
            code: -110,
            message: "More than 100 seats need a dedicated vault.".into()
        }))
    );
    // A refusal code outside -199..=-100 is an invalid answer.
    let out = rt.invoke(&plugin, &input("cb_basic", 13, "{}"), &Limits::default());
    let e = out.outcome.unwrap_err();
    assert_eq!(e.kind(), "invalid-output");
    assert!(e.to_string().contains("-199..=-100"), "{e}");
}

#[test]
fn v2_calls_run_under_the_same_limits() {
    let rt = runtime();
    let plugin = load(&rt, test_plugins::V2_PRECHECK);
    let tight = Limits {
        fuel: 1_000,
        ..Limits::default()
    };
    let out = rt.invoke(&plugin, &input("cb_basic", 5, PROBE_CONFIG), &tight);
    assert_eq!(
        out.outcome.unwrap_err(),
        PluginError::FuelExhausted { limit: 1_000 }
    );
    assert_eq!(
        rt.validate_config(&plugin, PROBE_CONFIG, &tight),
        ConfigCheck::Failed(PluginError::FuelExhausted { limit: 1_000 })
    );
    let small = Limits {
        input_bytes: 8,
        ..Limits::default()
    };
    assert!(matches!(
        rt.validate_config(&plugin, PROBE_CONFIG, &small),
        ConfigCheck::Failed(PluginError::OversizeInput { .. })
    ));
}

#[test]
fn validate_config_valid_invalid_and_v1_not_supported() {
    let rt = runtime();
    let limits = Limits::default();
    let probe = load(&rt, test_plugins::V2_PRECHECK);
    assert_eq!(
        rt.validate_config(&probe, PROBE_CONFIG, &limits),
        ConfigCheck::Valid
    );
    match rt.validate_config(&probe, r#"{"max": 10, "colour": "red"}"#, &limits) {
        ConfigCheck::Invalid { path, message } => {
            assert_eq!(path, "$.colour");
            assert!(message.contains("unknown field `colour`"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    match rt.validate_config(&probe, "{}", &limits) {
        ConfigCheck::Invalid { path, message } => {
            assert_eq!(path, "$");
            assert!(message.contains("missing field `max`"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let ranges = load(&rt, test_plugins::V2_LIMITS);
    match rt.validate_config(
        &ranges,
        r#"{"products": {"cb_basic": {"min": "x"}}}"#,
        &limits,
    ) {
        ConfigCheck::Invalid { path, .. } => assert_eq!(path, "$.products.cb_basic.min"),
        other => panic!("{other:?}"),
    }
    // Without a config type: any JSON object.
    let plan = load(&rt, test_plugins::V2_PLAN);
    assert_eq!(
        rt.validate_config(&plan, r#"{"a": [1]}"#, &limits),
        ConfigCheck::Valid
    );
    assert!(matches!(
        rt.validate_config(&plan, "[1]", &limits),
        ConfigCheck::Invalid { .. }
    ));
    // The examples (v2) check their own config types.
    let min_max = load(&rt, test_plugins::MIN_MAX_QUANTITY);
    assert_eq!(
        rt.validate_config(&min_max, MIN_MAX_CONFIG, &limits),
        ConfigCheck::Valid
    );
    assert!(matches!(
        rt.validate_config(&min_max, r#"{"produts": {}}"#, &limits),
        ConfigCheck::Invalid { .. }
    ));
    // v1 has no validate-config.
    let v1 = load(&rt, test_plugins::FIXED_MIN_3);
    assert_eq!(
        rt.validate_config(&v1, "{}", &limits),
        ConfigCheck::NotSupported
    );
}

fn min_limit(min: i64) -> tollgate::domain::hook::Limits {
    tollgate::domain::hook::Limits {
        min: Some(min),
        max: None,
        step: None,
    }
}

#[test]
fn v1_guests_run_beside_v2_on_one_runtime() {
    let rt = runtime();
    let v1 = load(&rt, test_plugins::FIXED_MIN_3);
    let v2 = load(&rt, test_plugins::V2_LIMITS);
    let config = r#"{"products": {"cb_basic": {"min": 4}}}"#;
    for _ in 0..3 {
        let out = rt.invoke(&v1, &input("cb_basic", 2, config), &Limits::default());
        assert_eq!(out.outcome.unwrap(), HookOutput::Limits(Some(min_limit(3))));
        let out = rt.invoke(&v2, &input("cb_basic", 2, config), &Limits::default());
        assert_eq!(out.outcome.unwrap(), HookOutput::Limits(Some(min_limit(4))));
    }
    // A v1 guest given an `other` action sees `none` and still answers.
    let mut call = input("cb_basic", 2, "{}");
    call.request.action = ActionType::Other;
    call.request.action_text = "Transfer".into();
    assert!(rt.invoke(&v1, &call, &Limits::default()).outcome.is_ok());
}

#[test]
fn a_v1_plan_error_is_still_an_invalid_request_refusal() {
    let rt = runtime();
    let plugin = load(&rt, test_plugins::V1_PLAN_ERROR);
    assert_eq!(plugin.contract(), "1.0.0");
    let out = rt.invoke(&plugin, &input("cb_basic", 101, "{}"), &Limits::default());
    assert_eq!(
        out.outcome.unwrap(),
        HookOutput::Plan(PlanOutcome::Refuse(Rejection {
            code: -2,
            message: "More than 100 seats cannot be provisioned.".into()
        }))
    );
    let out = rt.invoke(&plugin, &input("cb_basic", 7, "{}"), &Limits::default());
    assert!(
        matches!(out.outcome.unwrap(), HookOutput::Plan(PlanOutcome::Totals(t)) if t.len() == 1)
    );
    assert_eq!(
        rt.validate_config(&plugin, "not even json", &Limits::default()),
        ConfigCheck::NotSupported
    );
}

#[test]
fn a_component_over_the_per_plugin_pool_share_is_refused_at_load() {
    // A Rust wasip2 plugin creates 3 core instances.
    let rt = Runtime::new(EngineConfig {
        max_core_instances_per_plugin: 2,
        ..EngineConfig::default()
    })
    .unwrap();
    let bytes = test_plugins::bytes(test_plugins::V2_PLAN);
    let e = rt.compile(&bytes).err().expect("refused");
    assert_eq!(e.kind(), "exceeds-pool", "{e}");
    assert!(e.to_string().contains("core module instances"), "{e}");
    // The compile worker's path refuses it too, when the native code loads.
    let native = rt.precompile(&bytes).unwrap();
    assert_eq!(
        rt.load_precompiled(&native).err().unwrap().kind(),
        "exceeds-pool"
    );
}

#[test]
fn the_pool_holds_every_slot_of_the_largest_component_it_accepts() {
    // Two slots, and plugins may take 3 core instances each: both slots can
    // hold a live instance at once (instances are released only when the
    // `Spent` is dropped).
    let rt = Runtime::new(EngineConfig {
        pool_instances: 2,
        max_core_instances_per_plugin: 3,
        ..EngineConfig::default()
    })
    .unwrap();
    let plugin = load(&rt, test_plugins::V2_PLAN);
    let call = input("cb_basic", 12, "{}");
    let (first, held_1) = rt.invoke_deferred(&plugin, &call, &Limits::default());
    let (second, held_2) = rt.invoke_deferred(&plugin, &call, &Limits::default());
    assert!(first.outcome.is_ok(), "{:?}", first.outcome);
    assert!(second.outcome.is_ok(), "{:?}", second.outcome);
    drop((held_1, held_2));
}

/// Components built by componentize-js and componentize-py (see
/// `tests/polyglot/`): they load, are recognised and answer under the
/// engine and limits proposed for their tier. Needs node and python, so
/// it runs on demand: `tests/polyglot/build.sh` then
/// `TOLLGATE_POLYGLOT=/tmp/tollgate-polyglot cargo test --release -p tollgate --test runtime -- --ignored`.
#[test]
#[ignore = "needs components built by tests/polyglot/build.sh"]
fn javascript_and_python_components_run() {
    let dir =
        std::env::var("TOLLGATE_POLYGLOT").expect("TOLLGATE_POLYGLOT: the build.sh output dir");
    let rt = Runtime::new(EngineConfig {
        max_component_bytes: 32 * 1024 * 1024,
        ..EngineConfig::default()
    })
    .unwrap();
    for (file, language) in [
        ("precheck-js.wasm", "javascript"),
        ("precheck-py.wasm", "python"),
    ] {
        let bytes = std::fs::read(std::path::Path::new(&dir).join(file)).unwrap();
        let plugin = rt.compile(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!((plugin.contract(), plugin.language()), ("2.0.0", language));
        let limits = Limits::default();
        for (quantity, expected) in [
            (5, Verdict::Accept),
            (
                500,
                Verdict::Reject(Rejection {
                    code: -150,
                    message: "Orders above 100 seats need a quote.".into(),
                }),
            ),
        ] {
            let out = rt.invoke(&plugin, &input("cb_basic", quantity, "{}"), &limits);
            assert_eq!(
                out.outcome,
                Ok(HookOutput::Verdict(expected)),
                "{file}: {}",
                out.logs
            );
        }
        assert_eq!(
            rt.validate_config(&plugin, "{}", &limits),
            ConfigCheck::Valid,
            "{file}"
        );
        assert!(
            matches!(
                rt.validate_config(&plugin, "{not json", &limits),
                ConfigCheck::Invalid { .. }
            ),
            "{file}"
        );
    }
}

// ---- What a plugin can reach ----

fn probe(rt: &Runtime, plugin: &CompiledPlugin, which: &str) -> String {
    match rt
        .invoke(
            plugin,
            &input("cb_basic", 5, &format!(r#"{{"probe": "{which}"}}"#)),
            &Limits::default(),
        )
        .outcome
    {
        Ok(HookOutput::Verdict(Verdict::Reject(r))) => r.message,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn files_environment_arguments_sockets_and_name_lookups_are_denied_and_stdin_is_empty() {
    let rt = runtime();
    let plugin = load(&rt, test_plugins::V2_PROBE);
    let report = probe(&rt, &plugin, "sandbox");
    assert_eq!(
        report,
        "read=denied list_root=denied list_cwd=denied write=denied env=0 args=0 stdin=0 \
         tcp=err(PermissionDenied) udp=err(PermissionDenied) dns=err(Uncategorized)",
        "what the plugin could reach"
    );
}

#[test]
fn no_state_survives_a_call() {
    let rt = runtime();
    let plugin = load(&rt, test_plugins::V2_PROBE);
    for _ in 0..3 {
        assert_eq!(probe(&rt, &plugin, "state"), "calls=1");
    }
}

/// Memory images (memfds named `wasm-memory-image`) of this process.
/// The memory files wasmtime holds for memory images in this process: how
/// many, and their bytes.
fn memory_images() -> (usize, u64) {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| {
            let path = e.ok()?.path();
            let target = std::fs::read_link(&path).ok()?;
            target
                .to_string_lossy()
                .contains("wasm-memory-image")
                .then(|| std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0))
        })
        .fold((0, 0), |(n, bytes), len| (n + 1, bytes + len))
}

/// A plugin's copy-on-write memory image is built when it is loaded, not by
/// its first call: building it copies the module's initial memory (≈ 13 MiB
/// for a Python component: 8–11 ms of that first call, measured with
/// `plugin test --json`, against ≈ 3 ms once built at load), and
/// [`CompiledPlugin::memory_image_bytes`] is at least what they hold. Checked in a
/// child process running only this test, so no other test's plugins count.
#[test]
fn a_plugins_memory_image_is_built_when_it_is_loaded() {
    if std::env::var_os("TOLLGATE_IMAGE_PROBE").is_some() {
        let rt = runtime();
        let (before, bytes_before) = memory_images();
        let plugin = load(&rt, test_plugins::MIN_MAX_QUANTITY);
        let (after, bytes_after) = memory_images();
        assert!(
            after > before,
            "no memory image after loading ({before} before)"
        );
        // What the compiled-code cache counts for the images bounds them.
        let image_bytes = bytes_after - bytes_before;
        assert!(
            image_bytes > 0 && plugin.memory_image_bytes() >= image_bytes,
            "images hold {image_bytes} bytes, counted {}",
            plugin.memory_image_bytes()
        );
        drop(plugin);
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "a_plugins_memory_image_is_built_when_it_is_loaded",
        ])
        .args(["--nocapture", "--test-threads", "1"])
        .env("TOLLGATE_IMAGE_PROBE", "1")
        .output()
        .expect("running the probe");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "the probe did not run: {text}");
}
