//! A new author's path in each language, with the real binary and the real
//! toolchains, following PLUGINS.md: `plugin new` → the language's own
//! tests → `plugin build` → `plugin test` → upload and bind (or `plugin
//! deploy`) → a platform call decided by the rule. And the loop around it:
//! `plugin watch`, and the errors an author meets.

mod common;
mod toolchains;

use common::*;
use reqwest::StatusCode;
use serde_json::json;
use std::io::BufRead;
use std::path::Path;
use std::time::Duration;
use toolchains::{built_path, cli_in, py_guests, sh};

/// `plugin new` in `work`; answers the project's directory.
fn new_project(work: &Path, lang: &str, hook: &str, name: &str) -> std::path::PathBuf {
    let (code, out, err) = cli_in(
        work,
        &["plugin", "new", "--lang", lang, "--hook", hook, name],
        &[],
    );
    assert_eq!(code, 0, "plugin new --lang {lang}: {out}{err}");
    assert!(out.contains("tollgate plugin test . --build"), "{out}");
    let dir = work.join(name);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("tollgate.json")).unwrap()).unwrap();
    assert_eq!(
        (manifest["name"].as_str(), manifest["hook"].as_str()),
        (Some(name), Some(hook))
    );
    let wit = std::fs::read_to_string(dir.join("tollgate-sdk/wit/plugin.wit")).unwrap();
    assert!(wit.contains("package tollgate:plugin@2.0.0;"));
    dir
}

/// `plugin build --json`, then `plugin test DIR`: every fixture passes.
fn build_and_test(dir: &Path, envs: &[(&str, &str)]) -> Vec<u8> {
    let (code, out, err) = cli_in(dir, &["plugin", "build", "--json"], envs);
    assert_eq!(code, 0, "plugin build: {out}{err}");
    let wasm = built_path(&out);
    let (code, out, err) = cli_in(dir, &["plugin", "test", "."], envs);
    assert_eq!(code, 0, "plugin test: {out}{err}");
    assert!(out.contains(" 0 failed") && !out.contains("FAIL "), "{out}");
    std::fs::read(wasm).unwrap()
}

async fn upload_and_bind(
    tenant: &Tenant,
    hook: &str,
    name: &str,
    wasm: Vec<u8>,
    config: serde_json::Value,
) {
    let (status, uploaded) = tenant.upload(name, wasm).await;
    assert!(status.is_success(), "{uploaded}");
    assert_eq!(uploaded["hook"], hook);
    let (status, bound) = tenant
        .admin_put(
            &format!("/bindings/{hook}/{name}"),
            &json!({"plugin": name, "config": config}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{bound}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typescript_author_goes_from_nothing_to_a_decided_call() {
    let work = tempfile::tempdir().unwrap();
    let dir = new_project(work.path(), "ts", "quantity-limits", "vip-quantity");
    sh(
        &dir,
        "npm",
        &["ci", "--no-audit", "--no-fund", "--loglevel=error"],
    );
    let tests = sh(&dir, "npm", &["test"]);
    assert!(tests.contains("# fail 0"), "{tests}");
    let wasm = build_and_test(&dir, &[]);

    let server = Server::start().await;
    let tenant = server.tenant("TypeScript author").await;
    tenant.put_catalog().await;
    upload_and_bind(
        &tenant,
        "quantity-limits",
        "vip-quantity",
        wasm,
        json!({"products": {"cb_basic": {"min": 3, "max": 50}}}),
    )
    .await;
    let (_, below) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 2, true),
        )
        .await;
    assert_eq!(below["Code"], -105, "{below}");
    let (_, within) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 10, true),
        )
        .await;
    assert_eq!(within["Code"], 0, "{within}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_author_goes_from_nothing_to_a_decided_call() {
    py_guests(); // fills pip's cache with the pinned toolchain once
    let work = tempfile::tempdir().unwrap();
    let dir = new_project(work.path(), "python", "precheck", "big-orders");
    assert!(dir.join("big_orders.py").is_file() && dir.join("test_big_orders.py").is_file());
    sh(&dir, "python3", &["-m", "venv", ".venv"]);
    sh(
        &dir,
        ".venv/bin/pip",
        &[
            "install",
            "--quiet",
            "--require-hashes",
            "-r",
            "requirements.txt",
        ],
    );
    let tests = sh(&dir, ".venv/bin/python", &["-m", "pytest", "-q"]);
    assert!(tests.contains(" passed"), "{tests}");
    let wasm = build_and_test(&dir, &[]);

    let server = Server::start().await;
    let tenant = server.tenant("Python author").await;
    tenant.put_catalog().await;
    upload_and_bind(
        &tenant,
        "precheck",
        "big-orders",
        wasm,
        json!({"max_quantity": 40}),
    )
    .await;
    let (_, large) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 45, true),
        )
        .await;
    assert_eq!(large["Code"], -150, "{large}");
    assert_eq!(
        large["Message"],
        "Orders above 40 seats need a quote; please contact sales."
    );
    let (_, small) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 10, true),
        )
        .await;
    assert_eq!(small["Code"], 0, "{small}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_deploy_takes_a_fresh_template_to_a_decided_call() {
    let work = tempfile::tempdir().unwrap();
    let dir = new_project(work.path(), "js", "precheck", "big-orders");
    let server = Server::start().await;
    let tenant = server.tenant("Deployer").await;
    tenant.put_catalog().await;
    let token = work.path().join("admin-token");
    std::fs::write(&token, format!("{}\n", tenant.secrets.admin_token)).unwrap();
    let bad = work.path().join("bad.json");
    std::fs::write(&bad, r#"{"max_quantity": "forty"}"#).unwrap();
    let good = work.path().join("good.json");
    std::fs::write(&good, r#"{"max_quantity": 40}"#).unwrap();
    let url = server.url.clone();
    let deploy = move |extra: &[&str], envs: &[(&str, &str)]| {
        let mut args = vec![
            "plugin",
            "deploy",
            ".",
            "--server",
            url.as_str(),
            "--binding",
            "precheck/big-orders",
        ];
        args.extend_from_slice(extra);
        cli_in(&dir, &args, envs)
    };
    let token_file = token.to_str().unwrap();

    // No token anywhere: said so, nothing built.
    let (code, _, err) = deploy(&[], &[("TOLLGATE_ADMIN_TOKEN", "")]);
    assert_ne!(code, 0);
    assert!(err.contains("the admin token is empty"), "{err}");
    // A config the plugin refuses: its JSON path, non-zero, nothing bound.
    let (code, _, err) = deploy(
        &[
            "--token-file",
            token_file,
            "--config",
            bad.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("refuses the config") && err.contains("$.max_quantity"),
        "{err}"
    );
    let (status, _) = tenant.admin_get("/bindings/precheck/big-orders").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (code, out, err) = deploy(
        &[
            "--token-file",
            token_file,
            "--config",
            good.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("deployed big-orders ")
            && out
                .trim_end()
                .ends_with("as precheck/big-orders: revision 1"),
        "{out}"
    );
    let (_, large) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 45, true),
        )
        .await;
    assert_eq!(large["Code"], -150, "{large}");

    // Again with the token from the environment and no --config: the
    // binding keeps its config, scope and policy; a new revision.
    let (code, out, err) = deploy(
        &["--json"],
        &[("TOLLGATE_ADMIN_TOKEN", &tenant.secrets.admin_token)],
    );
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(report["revision"], 2, "{out}");
    let (_, binding) = tenant.admin_get("/bindings/precheck/big-orders").await;
    assert_eq!(binding["config"], json!({"max_quantity": 40}), "{binding}");
    let (_, small) = tenant
        .call(
            "/api/Subscriptions/Create",
            &create("p-1", "20417", 10, true),
        )
        .await;
    assert_eq!(small["Code"], 0, "{small}");
    server.stop().await;
}

#[test]
fn plugin_watch_rebuilds_and_retests_on_a_change() {
    let work = tempfile::tempdir().unwrap();
    let dir = new_project(work.path(), "js", "precheck", "watched");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .current_dir(&dir)
        .args(["plugin", "watch", ".", "--runs", "2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let next_run = |seen: &mut Vec<String>| loop {
        let line = rx
            .recv_timeout(Duration::from_secs(300))
            .unwrap_or_else(|_| panic!("no run line; saw {seen:?}"));
        seen.push(line.clone());
        if line.starts_with("run ") {
            return line;
        }
    };
    let mut seen = Vec::new();
    let first = next_run(&mut seen);
    assert!(
        first.starts_with("run 1 (start): built in ") && first.ends_with("2 passed, 0 failed"),
        "{first}"
    );
    // The build wrote node_modules/ and dist/: no run for those. A changed
    // message makes the reject fixture fail.
    let source = dir.join("src/index.js");
    let text = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, text.replace("need a quote", "need a call")).unwrap();
    let second = next_run(&mut seen);
    assert!(
        second.starts_with("run 2 (src/index.js changed): built in ")
            && second.ends_with("1 passed, 1 failed"),
        "{second}"
    );
    assert!(
        seen.iter().any(|l| l.starts_with("  FAIL reject.json")),
        "{seen:?}"
    );
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3));
}

#[test]
fn plugin_build_names_the_missing_toolchain_and_its_install() {
    let work = tempfile::tempdir().unwrap();
    let empty = work.path().join("no-tools");
    std::fs::create_dir(&empty).unwrap();
    let path = empty.to_str().unwrap();
    for (lang, wanted) in [
        (
            "ts",
            "node not found: install Node.js 20.6+ and npm (Debian: apt-get install nodejs npm)",
        ),
        ("python", "python3 not found: install Python 3.11+"),
    ] {
        let dir = new_project(work.path(), lang, "resources", &format!("no-{lang}"));
        let (code, _, err) = cli_in(&dir, &["plugin", "build"], &[("PATH", path)]);
        assert_eq!(code, 1);
        assert!(err.contains(wanted), "{lang}: {err}");
        // Without a build, `plugin test DIR` says how to get one.
        let (code, _, err) = cli_in(&dir, &["plugin", "test", "."], &[]);
        assert_eq!(code, 1);
        assert!(
            err.contains("is not built yet") && err.contains("--build"),
            "{err}"
        );
    }
    // Rust: no cargo at all, or a toolchain without the wasm target (a
    // stand-in rustup that lists only the host target).
    let dir = new_project(work.path(), "rust", "precheck", "no-rust");
    let (code, _, err) = cli_in(
        &dir,
        &["plugin", "build"],
        &[("PATH", path), ("CARGO", "/nonexistent/cargo")],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("cargo not found: install Rust with rustup"),
        "{err}"
    );
    let rustup = empty.join("rustup");
    std::fs::write(&rustup, "#!/bin/sh\necho x86_64-unknown-linux-gnu\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&rustup, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let (code, _, err) = cli_in(&dir, &["plugin", "build"], &[("PATH", path)]);
    assert_eq!(code, 1);
    assert!(
        err.contains("the wasm32-wasip2 target is missing: rustup target add wasm32-wasip2"),
        "{err}"
    );
    let (code, _, err) = cli_in(work.path(), &["plugin", "build"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("is not a plugin project"), "{err}");
}

#[test]
fn plugin_new_checks_the_name_for_each_language() {
    let work = tempfile::tempdir().unwrap();
    for (lang, name, wanted) in [
        ("python", "json", "is taken by Python or the SDK"),
        ("python", "class", "is a Python keyword"),
        ("ts", "Vip", "must be an npm package name"),
        ("go", "vip", "unknown language \"go\""),
    ] {
        let (code, _, err) = cli_in(
            work.path(),
            &["plugin", "new", "--lang", lang, "--hook", "precheck", name],
            &[],
        );
        assert_ne!(code, 0, "{lang} {name}");
        assert!(err.contains(wanted), "{lang} {name}: {err}");
    }
}
