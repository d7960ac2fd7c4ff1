//! The guest side's own tests — the SDK and every example plugin, natively
//! (`cargo test` in `plugins/`) — and its lints, run as part of the one test
//! command.

use std::path::Path;
use std::process::Command;

fn cargo_in_plugins(args: &[&str]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("guest-native");
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(&root)
        .args(args)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("running cargo");
    assert!(
        out.status.success(),
        "cargo {args:?} in plugins/ failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sdk_and_example_plugins_pass_their_unit_tests() {
    cargo_in_plugins(&["test", "--quiet"]);
}

#[test]
fn sdk_and_example_plugins_are_clippy_clean() {
    cargo_in_plugins(&["clippy", "--quiet", "--all-targets", "--", "-D", "warnings"]);
}
