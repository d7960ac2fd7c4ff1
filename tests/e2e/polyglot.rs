//! One contract, three languages: the JavaScript and Python components
//! (built once per run by `tests/guests-js/build.sh` and
//! `tests/guests-py/build.sh`) decide like the Rust ones, are as
//! deterministic, and are stopped with the same named failures, through
//! the CLI and through a running server.

mod common;
mod toolchains;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::Path;
use toolchains::{js, py, repo};

/// `plugin test --json` of `wasm` (written in `language`) on `fixtures`:
/// fixture name → output (or error kind).
fn decisions(wasm: &Path, language: &str, fixtures: &Path) -> Vec<(String, Value)> {
    let (code, out, err) = run_cli(&[
        "plugin",
        "test",
        wasm.to_str().unwrap(),
        fixtures.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{}: {out}{err}", wasm.display());
    let report: Value = serde_json::from_str(&out).unwrap();
    // Each language runs under its tier, as on the server.
    let (fuel, deadline_ms) = if language == "rust" {
        (10_000_000, 100)
    } else {
        (100_000_000, 1_000)
    };
    for result in report["results"].as_array().unwrap() {
        assert_eq!(result["run"]["language"], language, "{out}");
        assert_eq!(result["run"]["fuel"]["limit"], fuel, "{language}");
        assert_eq!(result["run"]["deadline_ms"], deadline_ms, "{language}");
    }
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let run = &r["run"];
            let decided = if run["ok"] == true {
                run["output"].clone()
            } else {
                json!({"error": run["error"]["kind"]})
            };
            (r["fixture"].as_str().unwrap().to_string(), decided)
        })
        .collect()
}

#[test]
fn the_min_max_rule_decides_the_same_in_rust_typescript_and_python() {
    let fixtures = repo().join("plugins/examples/min-max-quantity/fixtures");
    let rust = decisions(Path::new(test_plugins::MIN_MAX_QUANTITY), "rust", &fixtures);
    let typescript = decisions(&js("min-max-quantity-ts"), "javascript", &fixtures);
    let python = decisions(&py("min-max-quantity-py"), "python", &fixtures);
    assert!(rust.len() >= 3, "{rust:?}");
    assert_eq!(typescript, rust, "TypeScript against Rust");
    assert_eq!(python, rust, "Python against Rust");
    // The fixtures decide more than one way (limits, none…).
    let distinct: std::collections::BTreeSet<String> =
        rust.iter().map(|(_, d)| d.to_string()).collect();
    assert!(distinct.len() >= 2, "{distinct:?}");
}

#[test]
fn plugin_run_checks_the_config_with_the_plugin_first() {
    // An invalid config is refused by the plugin's validate-config, with
    // its JSON path, before the call.
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("config.json");
    std::fs::write(&config, r#"{"products": {"cb_basic": {"min": "three"}}}"#).unwrap();
    let fixture = repo().join("plugins/examples/min-max-quantity/fixtures/below-minimum.json");
    for wasm in [js("min-max-quantity-ts"), py("min-max-quantity-py")] {
        let (code, out, _) = run_cli(&[
            "plugin",
            "run",
            wasm.to_str().unwrap(),
            "--input",
            fixture.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ]);
        assert_eq!(code, 3, "{out}");
        assert!(
            out.starts_with("INVALID CONFIG:") && out.contains("$.products.cb_basic.min"),
            "{}: {out}",
            wasm.display()
        );
    }
}

/// Upload `wasm` as the precheck binding `name` of a fresh tenant.
async fn bound(server: &Server, name: &str, wasm: &Path) -> Tenant {
    let tenant = server.tenant(name).await;
    let (status, uploaded) = tenant.upload(name, std::fs::read(wasm).unwrap()).await;
    assert!(status.is_success(), "{name}: {uploaded}");
    let (status, bound) = tenant
        .admin_put(
            &format!("/bindings/precheck/{name}"),
            &json!({"plugin": name, "config": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{bound}");
    tenant
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_and_python_probes_see_the_calls_now_and_seed_and_replay_identically() {
    // The probes' own fixtures pin seeds 42 and 43.
    for (wasm, dir) in [
        (
            js("js-clock-random"),
            "tests/guests-js/clock-random/fixtures",
        ),
        (py("clock-random"), "tests/guests-py/clock-random/fixtures"),
    ] {
        let (code, out, err) = run_cli(&[
            "plugin",
            "test",
            wasm.to_str().unwrap(),
            repo().join(dir).to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{dir}: {out}{err}");
    }
    let server = Server::start().await;
    for (name, wasm) in [
        ("js-probe", js("js-clock-random")),
        ("py-probe", py("clock-random")),
    ] {
        let tenant = bound(&server, name, &wasm).await;
        let five = create("p-1", "20417", 5, true);
        let (_, first) = tenant.call("/api/Subscriptions/Create", &five).await;
        let (_, second) = tenant.call("/api/Subscriptions/Create", &five).await;
        let (_, six) = tenant
            .call(
                "/api/Subscriptions/Create",
                &create("p-1", "20417", 6, true),
            )
            .await;
        assert_eq!(first["Code"], -150, "{name}: {first}");
        let message = first["Message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("wall={T0} now={T0} ")),
            "{name}: {message}"
        );
        assert!(message.contains("slept=0"), "{name}: {message}");
        assert_eq!(first["Message"], second["Message"], "{name}: same input");
        let random = |m: &Value| {
            m["Message"]
                .as_str()
                .unwrap()
                .split_whitespace()
                .find(|w| w.starts_with("random="))
                .unwrap()
                .to_string()
        };
        assert_ne!(
            random(&first),
            random(&six),
            "{name}: another input, another seed"
        );

        server.app.flush_decisions().await;
        let (_, logged) = tenant
            .admin_get(&format!("/invocations?binding={name}"))
            .await;
        let logged = logged.as_array().unwrap();
        assert_eq!(logged.len(), 3, "{name}");
        for invocation in logged {
            let id = invocation["id"].as_str().unwrap();
            let (status, replay) = tenant
                .admin_post(&format!("/invocations/{id}/replay"), &json!({}))
                .await;
            assert_eq!(status, StatusCode::OK, "{replay}");
            assert_eq!(replay["changed"], false, "{name}: {replay}");
            assert_eq!(
                replay["replayed"]["output"], replay["original"]["output"],
                "{name}"
            );
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_js_and_python_guests_fail_like_rust_ones_through_the_server() {
    let server = Server::start().await;
    let tenant = server.tenant("Hostile").await;
    // Fuel, memory and stack stop these, not the clock: a generous deadline
    // keeps a loaded CI machine from turning a fuel stop into a deadline one
    // (and lets 3 MiB of logs be written).
    let limits = tollgate::service::TenantLimits {
        deadline_ms: Some(10_000),
        ..Default::default()
    };
    server
        .app
        .set_tenant_limits(&tenant.secrets.tenant_id, Some(limits))
        .await
        .unwrap();
    let input = json!({"request": {"operation": "subscription-create", "product_id": "cb_basic",
        "quantity": 5, "account": {"id": "20417"}}, "now": T0});
    let cases = [
        (
            "rust-loop",
            test_plugins::INFINITE_LOOP.into(),
            "fuel-exhausted",
        ),
        ("js-loop", js("js-infinite-loop"), "fuel-exhausted"),
        ("py-loop", py("infinite-loop"), "fuel-exhausted"),
        (
            "rust-memory",
            test_plugins::MEMORY_BOMB.into(),
            "memory-limit",
        ),
        ("js-memory", js("js-memory-growth"), "memory-limit"),
        ("py-memory", py("memory-bomb"), "memory-limit"),
        (
            "rust-stack",
            test_plugins::DEEP_RECURSION.into(),
            "stack-overflow",
        ),
        ("js-stack", js("js-deep-recursion"), "stack-overflow"),
        ("py-stack", py("deep-recursion"), "stack-overflow"),
    ];
    for (name, wasm, kind) in cases {
        let wasm: std::path::PathBuf = wasm;
        let (status, uploaded) = tenant.upload(name, std::fs::read(&wasm).unwrap()).await;
        assert!(status.is_success(), "{name}: {uploaded}");
        let (status, dry) = tenant
            .admin_post("/dry-run", &json!({"plugin": name, "input": input}))
            .await;
        assert_eq!(status, StatusCode::OK, "{name}: {dry}");
        assert_eq!(dry["error"]["kind"], kind, "{name}: {dry}");
    }
    // Huge logs: cut at the log limit, the call goes on and decides.
    for (name, wasm) in [
        (
            "rust-flood",
            std::path::PathBuf::from(test_plugins::LOG_FLOOD),
        ),
        ("js-flood", js("js-log-flood")),
        ("py-flood", py("log-flood")),
    ] {
        let (status, uploaded) = tenant.upload(name, std::fs::read(&wasm).unwrap()).await;
        assert!(status.is_success(), "{name}: {uploaded}");
        let (_, dry) = tenant
            .admin_post("/dry-run", &json!({"plugin": name, "input": input}))
            .await;
        assert!(dry["error"].is_null(), "{name}: {dry}");
        let logs = dry["logs"].as_str().unwrap();
        assert!(logs.len() <= 4200, "{name}: {} bytes of logs", logs.len());
        assert!(
            logs.trim_end().ends_with("[log truncated]"),
            "{name}: {logs}"
        );
    }
    // Through a platform call too: the binding's failure policy answers.
    let (status, bound) = tenant
        .admin_put(
            "/bindings/precheck/py-loop",
            &json!({"plugin": "py-loop", "config": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{bound}");
    let (_, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 5, true),
        )
        .await;
    assert_eq!(answer["Code"], -1, "{answer}");
    server.app.flush_decisions().await;
    let (_, logged) = tenant.admin_get("/invocations?binding=py-loop").await;
    assert_eq!(logged[0]["error"]["kind"], "fuel-exhausted", "{logged}");
    server.stop().await;
}

/// Every file of a directory tree: relative path → bytes.
fn tree(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

const HOOKS: [&str; 3] = ["precheck", "quantity-limits", "resources"];

#[test]
fn plugin_new_renders_like_the_reference_renderers() {
    let work = tempfile::tempdir().unwrap();
    let ours = work.path().join("ours");
    std::fs::create_dir(&ours).unwrap();
    for hook in HOOKS {
        // Python: exactly what plugins/templates/python/render.py writes.
        let name = format!("py-{hook}");
        let reference = work.path().join(format!("reference-{hook}"));
        toolchains::sh(
            &repo(),
            "python3",
            &[
                "plugins/templates/python/render.py",
                hook,
                &name,
                reference.to_str().unwrap(),
            ],
        );
        let (code, out, err) = run_cli(&[
            "plugin",
            "new",
            "--lang",
            "python",
            "--hook",
            hook,
            &name,
            "--dir",
            ours.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{out}{err}");
        let rendered = tree(&ours.join(&name));
        assert_eq!(
            rendered.keys().collect::<Vec<_>>(),
            tree(&reference).keys().collect::<Vec<_>>(),
            "python {hook}"
        );
        assert!(
            rendered == tree(&reference),
            "python {hook}: contents differ"
        );

        // TypeScript and JavaScript: content/ filled, plus the SDK parts
        // plugins/js/templates.mjs copies.
        for lang in ["ts", "js"] {
            let name = format!("{lang}-{hook}");
            let (code, out, err) = run_cli(&[
                "plugin",
                "new",
                "--lang",
                lang,
                "--hook",
                hook,
                &name,
                "--dir",
                ours.to_str().unwrap(),
            ]);
            assert_eq!(code, 0, "{out}{err}");
            let module = name.replace('-', "_");
            let fill = |bytes: Vec<u8>| {
                String::from_utf8(bytes)
                    .unwrap()
                    .replace("{{name}}", &name)
                    .replace("{{module}}", &module)
                    .into_bytes()
            };
            let mut expected: std::collections::BTreeMap<String, Vec<u8>> = tree(
                &repo()
                    .join("plugins/templates")
                    .join(lang)
                    .join(hook)
                    .join("content"),
            )
            .into_iter()
            .map(|(path, bytes)| (path.replace("{{name}}", &name), fill(bytes)))
            .collect();
            let sdk = repo().join("plugins/sdk-js");
            for part in ["src", "tools"] {
                for (path, bytes) in tree(&sdk.join(part)) {
                    expected.insert(format!("tollgate-sdk/{part}/{path}"), bytes);
                }
            }
            for file in ["package.json", "README.md"] {
                expected.insert(
                    format!("tollgate-sdk/{file}"),
                    std::fs::read(sdk.join(file)).unwrap(),
                );
            }
            expected.insert(
                "tollgate-sdk/wit/plugin.wit".into(),
                std::fs::read(repo().join("wit/v2/plugin.wit")).unwrap(),
            );
            let rendered = tree(&ours.join(&name));
            assert_eq!(
                rendered.keys().collect::<Vec<_>>(),
                expected.keys().collect::<Vec<_>>(),
                "{lang} {hook}"
            );
            assert!(rendered == expected, "{lang} {hook}: contents differ");
        }
    }
}

#[test]
fn every_js_and_python_template_passes_its_fixtures_as_created() {
    // Python: the templates as build.sh renders and builds them.
    for hook in HOOKS {
        let fixtures = repo()
            .join("plugins/templates/python")
            .join(hook)
            .join("content/fixtures");
        let (code, out, err) = run_cli(&[
            "plugin",
            "test",
            py(&format!("template-{hook}")).to_str().unwrap(),
            fixtures.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "python {hook}: {out}{err}");
        assert!(out.contains(" 0 failed"), "{out}");
    }
    // TypeScript and JavaScript: `plugin new`, then `plugin test --build`
    // (npm ci, npm run build, the fixtures).
    js_guests_toolchain_ready();
    let work = tempfile::tempdir().unwrap();
    for lang in ["ts", "js"] {
        for hook in HOOKS {
            let name = format!("my-{lang}-{hook}");
            let (code, out, err) = toolchains::cli_in(
                work.path(),
                &["plugin", "new", "--lang", lang, "--hook", hook, &name],
                &[],
            );
            assert_eq!(code, 0, "{out}{err}");
            let (code, out, err) = toolchains::cli_in(
                &work.path().join(&name),
                &["plugin", "test", ".", "--build"],
                &[],
            );
            assert_eq!(code, 0, "{lang} {hook}: {out}{err}");
            assert!(out.contains(" 0 failed") && !out.contains("FAIL "), "{out}");
        }
    }
}

/// The shared npm toolchain installed once (fills npm's cache, so each
/// project's `npm ci` is quick and offline-capable).
fn js_guests_toolchain_ready() {
    toolchains::js_guests();
}

#[test]
fn the_js_and_python_examples_and_guests_pass_their_own_fixtures() {
    // Every JS example and guest; the Python ones no other test runs (each
    // Python component takes 5–15 s to compile).
    let mut cases: Vec<(std::path::PathBuf, std::path::PathBuf)> = Vec::new();
    for pattern in ["plugins/examples", "tests/guests-js"] {
        for entry in std::fs::read_dir(repo().join(pattern)).unwrap().flatten() {
            let manifest = entry.path().join("tollgate.json");
            let Ok(text) = std::fs::read_to_string(&manifest) else {
                continue;
            };
            let project: Value = serde_json::from_str(&text).unwrap();
            if project["language"] == "python" {
                continue;
            }
            let name = project["name"].as_str().unwrap();
            cases.push((js(name), entry.path().join("fixtures")));
        }
    }
    for (name, dir) in [
        (
            "cancellation-window-py",
            "plugins/examples/cancellation-window-py",
        ),
        (
            "one-active-subscription-py",
            "plugins/examples/one-active-subscription-py",
        ),
        ("raises", "tests/guests-py/raises"),
    ] {
        cases.push((py(name), repo().join(dir).join("fixtures")));
    }
    assert!(cases.len() >= 11, "{cases:?}");
    for (wasm, fixtures) in cases {
        let (code, out, err) = run_cli(&[
            "plugin",
            "test",
            wasm.to_str().unwrap(),
            fixtures.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{}: {out}{err}", wasm.display());
        assert!(out.contains(" 0 failed"), "{out}");
    }
}
