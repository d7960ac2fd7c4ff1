//! The JavaScript and Python sides of the end-to-end tests: their test
//! guests and examples built once per test binary (the build scripts skip
//! what did not change since the last run), and the CLI run in a
//! directory with its own environment.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

/// Where the components of `build.sh` go, kept between runs.
fn out_dir(language: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("polyglot")
        .join(language)
}

fn build(script: &str, language: &str) -> PathBuf {
    let out = out_dir(language);
    let started = std::time::Instant::now();
    let status = Command::new("bash")
        .arg(repo().join(script))
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("running {script}: {e}"));
    assert!(status.success(), "{script} failed ({status})");
    eprintln!("{script}: {:.1} s", started.elapsed().as_secs_f64());
    out
}

/// `tests/guests-js/build.sh`'s output: `<name>.wasm` for each JS test
/// guest and example.
pub fn js_guests() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| build("tests/guests-js/build.sh", "js"))
}

/// `tests/guests-py/build.sh`'s output: each Python guest, example and
/// template (`template-<hook>.wasm`). Its virtualenv (`.venv` inside) has
/// the pinned toolchain.
pub fn py_guests() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| build("tests/guests-py/build.sh", "py"))
}

pub fn js(name: &str) -> PathBuf {
    js_guests().join(format!("{name}.wasm"))
}

pub fn py(name: &str) -> PathBuf {
    py_guests().join(format!("{name}.wasm"))
}

/// `tollgate <args>` in `dir`, with extra environment: (code, stdout, stderr).
pub fn cli_in(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tollgate"));
    command.current_dir(dir).args(args);
    for (k, v) in envs {
        command.env(k, v);
    }
    let out = command.output().expect("running tollgate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A command an author types, in `dir`; panics with its output on failure.
pub fn sh(dir: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{program} {args:?} in {}:\n{text}",
        dir.display()
    );
    text
}

/// The last line of `plugin build --json`'s stdout: the component's path.
pub fn built_path(stdout: &str) -> PathBuf {
    let last = stdout.lines().last().expect("plugin build printed nothing");
    let value: serde_json::Value =
        serde_json::from_str(last).unwrap_or_else(|e| panic!("{last}: {e}"));
    PathBuf::from(value["path"].as_str().expect("path"))
}
