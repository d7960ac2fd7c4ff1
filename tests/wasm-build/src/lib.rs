//! Shared by the build scripts that need plugins compiled for
//! `wasm32-wasip2`: the host (which embeds the example plugins for
//! `tollgate demo`) and `test-plugins` (which exposes every test plugin).
//! Modelled on wasmtime's `crates/test-programs/artifacts/build.rs`.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

pub const TARGET: &str = "wasm32-wasip2";

/// The repository root, from a build script's `CARGO_MANIFEST_DIR` and how
/// deep that crate sits.
pub fn repo_root(depth: usize) -> Result<PathBuf> {
    let mut dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    for _ in 0..depth {
        dir.pop();
    }
    Ok(dir.canonicalize()?)
}

/// One target directory for every guest build of this cargo target dir
/// (`OUT_DIR` is `<target>/<profile>/build/<pkg>-<hash>/out`), so the
/// examples compile once for the host and the tests alike.
pub fn guest_target_dir() -> Result<PathBuf> {
    let out = PathBuf::from(env::var("OUT_DIR")?);
    let target = out
        .ancestors()
        .nth(4)
        .filter(|t| t.join("CACHEDIR.TAG").exists() || t.is_dir());
    Ok(match target {
        Some(t) => t.join("wasm-guests"),
        None => out.join("wasm-guests"),
    })
}

/// Ask cargo to rerun the build script when any of these (relative to
/// `root`) change.
pub fn watch(root: &Path, paths: &[&str]) {
    for p in paths {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
}

/// Build every member of the guest workspace at `workspace` in release
/// mode; answers the directory holding the `.wasm` files.
pub fn build(workspace: &Path, target_dir: &Path) -> Result<PathBuf> {
    ensure_target()?;
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .current_dir(workspace) // so its .cargo/config.toml (stack size) applies
        .args(["build", "--release", "--target", TARGET, "--target-dir"])
        .arg(target_dir)
        // The outer build's settings are for the host target, not ours.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_PROFILE_RELEASE_DEBUG")
        .status()
        .with_context(|| format!("running {cargo} for {}", workspace.display()))?;
    if !status.success() {
        bail!(
            "building the plugins in {} for {TARGET} failed",
            workspace.display()
        );
    }
    Ok(target_dir.join(TARGET).join("release"))
}

/// The components in `dir`: (file stem, path), sorted.
pub fn components(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut found: Vec<(String, PathBuf)> = fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let path = e.path();
            let stem = path
                .file_name()?
                .to_str()?
                .strip_suffix(".wasm")?
                .to_string();
            Some((stem, path))
        })
        .collect();
    found.sort();
    Ok(found)
}

/// rustup does not add a toolchain's targets on first use; add ours so a
/// fresh machine needs no manual step.
pub fn ensure_target() -> Result<()> {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .context("running rustc")?;
    let libdir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let has_std = fs::read_dir(&libdir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .any(|e| e.file_name().to_string_lossy().starts_with("libstd-"))
        })
        .unwrap_or(false);
    if out.status.success() && has_std {
        return Ok(());
    }
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", TARGET]);
    if let Ok(toolchain) = env::var("RUSTUP_TOOLCHAIN") {
        rustup.args(["--toolchain", &toolchain]);
    }
    let status = rustup.status().context(
        "the wasm32-wasip2 target is missing and rustup could not be run; install it with `rustup target add wasm32-wasip2`",
    )?;
    if !status.success() {
        bail!("`rustup target add {TARGET}` failed");
    }
    Ok(())
}
