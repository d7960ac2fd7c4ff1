//! The plugin author's path, end to end with the real binary: `plugin new`
//! for each hook → build for wasm32-wasip2 → `plugin test` on the template's
//! fixtures → upload and bind on a running `tollgate serve` → a platform
//! call shows the effect. And `plugin run` on hostile plugins names the
//! limit and exits non-zero.

mod common;

use common::*;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

/// `tollgate <args>` in `dir`, building into the shared `target_dir`.
fn cli_in(dir: &Path, args: &[&str], target_dir: &Path) -> (i32, String, String) {
    let out = Command::new(exe())
        .current_dir(dir)
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("running tollgate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn cargo(dir: &Path, args: &[&str], target_dir: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(dir)
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("running cargo");
    assert!(
        out.status.success(),
        "cargo {args:?} in {}:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// (name, version) of every package a Cargo.lock pins.
fn locked(dir: &Path) -> std::collections::BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(dir.join("Cargo.lock")).unwrap();
    text.split("[[package]]")
        .skip(1)
        .map(|block| {
            let field = |k: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(k))
                    .unwrap_or_default()
                    .trim_matches('"')
                    .to_string()
            };
            (field("name = "), field("version = "))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_template_goes_from_new_to_a_platform_call() {
    let work = tempfile::tempdir().unwrap();
    // One target dir for the three crates (they share every dependency),
    // kept between runs.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("template-smoke");
    let data = work.path().join("data");
    let data_dir = data.to_str().unwrap();

    let (code, out, err) = run_cli(&[
        "tenant",
        "create",
        "--name",
        "Author",
        "--data-dir",
        data_dir,
    ]);
    assert_eq!(code, 0, "{err}");
    let secrets: tollgate::service::TenantSecrets = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("tenant create printed {out}: {e}"));
    let server = spawn_server(&["serve", "--data-dir", data_dir], &[]);
    let tenant = Tenant::new(&server.url, secrets);
    tenant.put_catalog().await;

    for (hook, name) in [
        ("precheck", "big-orders"),
        ("quantity-limits", "seat-range"),
        ("resources", "mailboxes"),
    ] {
        let (code, out, err) = run_cli(&[
            "plugin",
            "new",
            "--hook",
            hook,
            name,
            "--dir",
            work.path().to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "plugin new {hook}: {err}");
        assert!(out.contains("tollgate plugin test . --build"), "{out}");
        let dir = work.path().join(name);
        // The SDK copy implements the newest contract.
        let wit = std::fs::read_to_string(dir.join("tollgate-sdk/wit/plugin.wit")).unwrap();
        assert!(wit.contains("package tollgate:plugin@2.0.0;"), "{hook}");
        // The template ships a Cargo.lock: the build keeps every pin.
        let pinned = locked(&dir);
        assert!(pinned.iter().any(|(n, _)| n == "wit-bindgen"), "{pinned:?}");
        cargo(&dir, &["test", "--quiet"], &target);
        let (code, out, err) = cli_in(&dir, &["plugin", "build", "--json"], &target);
        assert_eq!(code, 0, "plugin build {hook}: {out}{err}");
        let last: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
        let wasm = std::path::PathBuf::from(last["path"].as_str().unwrap());
        assert_eq!(
            wasm,
            target
                .join("wasm32-wasip2/release")
                .join(format!("{}.wasm", name.replace('-', "_")))
        );
        assert_eq!(
            locked(&dir),
            pinned,
            "{hook}: the build changed Cargo.lock's pins"
        );
        let (code, out, err) = cli_in(&dir, &["plugin", "test", "."], &target);
        assert_eq!(code, 0, "plugin test {hook}: {out}{err}");
        assert!(out.contains("0 failed"), "{out}");

        let (status, uploaded) = tenant.upload(name, std::fs::read(&wasm).unwrap()).await;
        assert!(status.is_success(), "{uploaded}");
        assert_eq!(uploaded["hook"], hook);
        let config = match hook {
            "precheck" => json!({"max_quantity": 40}),
            "quantity-limits" => json!({"products": {"cb_basic": {"min": 3, "max": 50}}}),
            _ => json!({"mailboxes_per_seat": 2}),
        };
        let (status, bound) = tenant
            .admin_put(
                &format!("/bindings/{hook}/{name}"),
                &json!({"plugin": name, "config": config}),
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{bound}");
    }

    // precheck: 45 seats (within the 3..50 range) need a quote.
    let (_, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 45, true),
        )
        .await;
    assert_eq!(answer["Code"], -150, "{answer}");
    // quantity-limits: 2 is below 3 (checked before the precheck).
    let (_, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 2, true),
        )
        .await;
    assert_eq!(answer["Code"], -105, "{answer}");
    // resources: a real create provisions 2 mailboxes per seat.
    let (_, answer) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 10, false),
        )
        .await;
    assert_eq!(answer["Code"], 0, "{answer}");
    let sub = tenant
        .subscription(answer["Result"].as_str().unwrap())
        .await;
    assert_eq!(sub["resources"]["source"], "plugin:mailboxes");
    assert_eq!(amount(&sub["resources"]["resources"], "mailboxes"), "20");
    drop(server);
}

#[test]
fn plugin_new_refuses_bad_names_and_existing_directories() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().to_str().unwrap();
    let (code, _, err) = run_cli(&[
        "plugin", "new", "--hook", "precheck", "Bad Name", "--dir", dir,
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("must be a crate name"), "{err}");
    let (code, _, err) = run_cli(&["plugin", "new", "--hook", "sideways", "x", "--dir", dir]);
    assert_ne!(code, 0);
    assert!(err.contains("unknown hook `sideways`"), "{err}");
    assert_eq!(
        run_cli(&["plugin", "new", "--hook", "precheck", "twice", "--dir", dir]).0,
        0
    );
    let (code, _, err) = run_cli(&["plugin", "new", "--hook", "precheck", "twice", "--dir", dir]);
    assert_ne!(code, 0);
    assert!(err.contains("already exists"), "{err}");
}

fn fixture_input(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("input.json");
    std::fs::write(
        &path,
        json!({"request": {"operation": "subscription-create", "product_id": "cb_basic", "quantity": 5, "account": {"id": "1"}}}).to_string(),
    )
    .unwrap();
    path
}

#[test]
fn plugin_run_names_the_limit_a_hostile_plugin_hits_and_fails() {
    let work = tempfile::tempdir().unwrap();
    let input = fixture_input(work.path());
    for (plugin, kind) in [
        (test_plugins::INFINITE_LOOP, "fuel-exhausted"),
        (test_plugins::MEMORY_BOMB, "memory-limit"),
        (test_plugins::DEEP_RECURSION, "stack-overflow"),
        (test_plugins::OVERSIZE_OUTPUT, "oversize-output"),
        (test_plugins::PANIC, "trap"),
        (test_plugins::BAD_VERDICT, "invalid-output"),
    ] {
        let (code, out, _) =
            run_cli(&["plugin", "run", plugin, "--input", input.to_str().unwrap()]);
        assert_eq!(code, 3, "{plugin}: {out}");
        assert!(out.contains(&format!("FAILED:  {kind}")), "{plugin}: {out}");
        let (code, out, _) = run_cli(&[
            "plugin",
            "run",
            plugin,
            "--input",
            input.to_str().unwrap(),
            "--json",
        ]);
        assert_eq!(code, 3);
        let report: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            (report["ok"].as_bool(), report["error"]["kind"].as_str()),
            (Some(false), Some(kind)),
            "{out}"
        );
    }
}

#[test]
fn plugin_run_reports_output_cost_and_headroom() {
    let work = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/examples/min-max-quantity/fixtures/below-minimum.json");
    let (code, out, err) = run_cli(&[
        "plugin",
        "run",
        test_plugins::MIN_MAX_QUANTITY,
        "--input",
        fixture.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        report["output"],
        json!({"limits": {"min": 3, "max": 50, "step": 1}})
    );
    assert_eq!(report["fuel"]["limit"], 10_000_000);
    assert!(report["fuel"]["used"].as_u64().unwrap() > 0);
    assert!(report["memory"]["peak"].as_u64().unwrap() > 0);
    assert!(report["fuel"]["headroom_percent"].as_f64().unwrap() > 90.0);
    // --config replaces the input's config.
    let config = work.path().join("config.json");
    std::fs::write(&config, r#"{"default": {"max": 9}}"#).unwrap();
    let (_, out, _) = run_cli(&[
        "plugin",
        "run",
        test_plugins::MIN_MAX_QUANTITY,
        "--input",
        fixture.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(
        out.starts_with("output:  {\"limits\":{\"min\":null,\"max\":9,\"step\":null}}"),
        "{out}"
    );
}

#[test]
fn plugin_test_runs_every_example_fixture_and_fails_on_a_mismatch() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/examples");
    for (plugin, dir) in [
        (test_plugins::MIN_MAX_QUANTITY, "min-max-quantity"),
        (
            test_plugins::ONE_ACTIVE_SUBSCRIPTION,
            "one-active-subscription",
        ),
        (test_plugins::PREREQUISITE_SERVICE, "prerequisite-service"),
        (test_plugins::LICENCE_CAP, "licence-cap"),
        (test_plugins::CANCELLATION_WINDOW, "cancellation-window"),
        (test_plugins::STORAGE_RESOURCES, "storage-resources"),
    ] {
        let fixtures = examples.join(dir).join("fixtures");
        let (code, out, err) = run_cli(&["plugin", "test", plugin, fixtures.to_str().unwrap()]);
        assert_eq!(code, 0, "{dir}: {out}{err}");
        assert!(out.contains(" 0 failed") && !out.contains("FAIL "), "{out}");
    }
    // A fixture that expects something else fails the run.
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("wrong.json"),
        json!({"hook": "quantity-limits", "input": {"request": {"operation": "subscription-create", "product_id": "cb_basic", "quantity": 2},
            "target": {"kind": "subscription", "product_id": "cb_basic", "quantity": 2}, "config": {"products": {"cb_basic": {"min": 3}}}},
            "expect": {"limits": {"min": 4}}}).to_string(),
    )
    .unwrap();
    std::fs::write(
        work.path().join("fuel.json"),
        json!({"hook": "quantity-limits", "input": {"request": {"operation": "subscription-create", "product_id": "cb_basic", "quantity": 2},
            "target": {"kind": "subscription", "product_id": "cb_basic", "quantity": 2}}, "expect": {"error": "fuel-exhausted"}}).to_string(),
    )
    .unwrap();
    let (code, out, _) = run_cli(&[
        "plugin",
        "test",
        test_plugins::MIN_MAX_QUANTITY,
        work.path().to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 3, "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (report["passed"].as_u64(), report["failed"].as_u64()),
        (Some(0), Some(2))
    );
    assert!(
        report["results"][1]["detail"]
            .as_str()
            .unwrap()
            .contains("expected {\"limits\":{\"min\":4"),
        "{out}"
    );
    // A logged error fixture matches a hostile plugin.
    let (code, out, _) = run_cli(&[
        "plugin",
        "test",
        test_plugins::INFINITE_LOOP,
        work.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 3);
    assert!(
        out.contains("it is a quantity-limits fixture; the plugin implements precheck"),
        "{out}"
    );
}

#[test]
fn fixtures_with_unknown_fields_are_refused_naming_the_path() {
    let work = tempfile::tempdir().unwrap();
    let fixtures = work.path().join("fixtures");
    std::fs::create_dir(&fixtures).unwrap();
    std::fs::write(
        fixtures.join("typo.json"),
        json!({"hook": "quantity-limits", "input": {"request": {"operation": "subscription-create", "product_id": "cb_basic", "quantitty": 2, "quantity": 2},
            "target": {"kind": "subscription", "product_id": "cb_basic", "quantity": 2}}, "expect": {"limits": null}}).to_string(),
    )
    .unwrap();
    // The natural object form of the list-of-pairs fields reads.
    std::fs::write(
        fixtures.join("pairs.json"),
        json!({"hook": "quantity-limits", "input": {"request": {"operation": "subscription-create", "product_id": "cb_basic", "quantity": 2,
            "settings": {"vip": "1"}, "custom_fields": {"po": "77"}, "account": {"id": "1", "sync_options": {"tier": "gold"}}},
            "target": {"kind": "subscription", "product_id": "cb_basic", "quantity": 2}, "config": {"products": {"cb_basic": {"min": 3}}}},
            "expect": {"limits": {"min": 3}}}).to_string(),
    )
    .unwrap();
    let (code, out, _) = run_cli(&[
        "plugin",
        "test",
        test_plugins::MIN_MAX_QUANTITY,
        fixtures.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("PASS pairs.json"), "{out}");
    let typo = out
        .lines()
        .find(|l| l.starts_with("FAIL typo.json"))
        .expect(&out);
    assert!(
        typo.contains("fixtures/typo.json: input.request.quantitty: unknown field"),
        "{typo}"
    );
    // The complete fixture PLUGINS.md shows passes as written.
    let guide =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../PLUGINS.md"))
            .unwrap();
    let start = guide
        .find("{\n  \"description\": \"what this case shows")
        .expect("the complete fixture in PLUGINS.md");
    let end = start + guide[start..].find("\n```").unwrap();
    let documented = work.path().join("documented");
    std::fs::create_dir(&documented).unwrap();
    std::fs::write(documented.join("complete.json"), &guide[start..end]).unwrap();
    let (code, out, _) = run_cli(&[
        "plugin",
        "test",
        test_plugins::MIN_MAX_QUANTITY,
        documented.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    // `plugin run` reads its input as strictly.
    let (code, _, err) = run_cli(&[
        "plugin",
        "run",
        test_plugins::MIN_MAX_QUANTITY,
        "--input",
        fixtures.join("typo.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("input.request.quantitty: unknown field"),
        "{err}"
    );
}
