//! The tenant console in a real headless Chromium (Debian's `chromium`,
//! driven by `playwright-core` from `tests/console`) against the real
//! binary: sign in, rules, config checks, uploads, bindings, decisions,
//! replay, dry-run, shadow and promote, rollback, subscriptions, overview,
//! version delete, an empty tenant. Screenshots of every page land in
//! `target/console-screenshots/`.

use std::path::Path;
use std::process::Command;

#[test]
fn the_console_works_in_a_real_browser() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let suite = root.join("tests/console");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "the console tests need Chromium at {chromium}: apt-get install -y chromium (or set CHROMIUM)"
    );
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "the console tests need Node.js 20+ and npm: apt-get install -y nodejs npm"
    );
    if !suite.join("node_modules/playwright-core").exists() {
        let installed = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&suite)
            .status()
            .expect("running npm ci in tests/console");
        assert!(installed.success(), "npm ci in tests/console failed");
    }
    let output = Command::new("node")
        .arg("run.mjs")
        .current_dir(&suite)
        .env("TOLLGATE_BIN", env!("CARGO_BIN_EXE_tollgate"))
        .env("TOLLGATE_TEST_PLUGIN", test_plugins::FIXED_MIN_3)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("running the console tests");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "console tests failed:\n{stdout}\n{stderr}"
    );
    let last = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("console:"))
        .unwrap_or("");
    assert!(
        last.contains("0 failed") && last.contains("0 skipped"),
        "every step must run and pass: {last}"
    );
}
