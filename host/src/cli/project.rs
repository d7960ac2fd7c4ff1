//! A plugin project on disk (`tollgate.json`, or a bare Cargo crate) and
//! its build: each language's own toolchain, run as the author would run
//! it, with an error naming the install command when a tool is missing.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use tollgate::domain::hook::Hook;

/// The languages a plugin can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Rust,
    TypeScript,
    JavaScript,
    Python,
}

impl Language {
    /// `--lang` and `tollgate.json`'s `language` (both spellings).
    pub fn parse(text: &str) -> Result<Language> {
        Ok(match text {
            "rust" | "rs" => Language::Rust,
            "ts" | "typescript" => Language::TypeScript,
            "js" | "javascript" => Language::JavaScript,
            "python" | "py" => Language::Python,
            other => bail!("unknown language {other:?} (expected rust, ts, js or python)"),
        })
    }

    /// The name `tollgate.json` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::TypeScript => "typescript",
            Language::JavaScript => "javascript",
            Language::Python => "python",
        }
    }
}

/// `tollgate.json` at a project's root (see `plugin new`).
#[derive(Deserialize)]
struct Manifest {
    name: String,
    hook: String,
    language: String,
    #[serde(default)]
    artifact: Option<String>,
}

/// A plugin project.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub name: String,
    pub hook: Option<Hook>,
    pub language: Language,
    /// Where the build writes the component, when known before building.
    pub artifact: Option<PathBuf>,
}

impl Project {
    /// The project in `dir`: its `tollgate.json`, or else a `Cargo.toml`
    /// (a Rust crate made before projects had a manifest).
    pub fn open(dir: &Path) -> Result<Project> {
        let manifest = dir.join("tollgate.json");
        if manifest.is_file() {
            let text = std::fs::read_to_string(&manifest)
                .with_context(|| format!("reading {}", manifest.display()))?;
            let m: Manifest = serde_json::from_str(&text).with_context(|| {
                format!("{} is not a valid project manifest", manifest.display())
            })?;
            return Ok(Project {
                root: dir.to_path_buf(),
                hook: Some(m.hook.parse()?),
                language: Language::parse(&m.language)
                    .with_context(|| format!("in {}", manifest.display()))?,
                artifact: m.artifact.map(|a| dir.join(a)),
                name: m.name,
            });
        }
        if dir.join("Cargo.toml").is_file() {
            let name = dir
                .canonicalize()
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "plugin".into());
            return Ok(Project {
                root: dir.to_path_buf(),
                name,
                hook: None,
                language: Language::Rust,
                artifact: None,
            });
        }
        bail!(
            "{} is not a plugin project: it has no tollgate.json (nor Cargo.toml); create one with `tollgate plugin new`",
            dir.display()
        )
    }

    /// The component of the last build, for commands that do not build.
    pub fn built_artifact(&self) -> Result<PathBuf> {
        let candidate = match (&self.artifact, self.language) {
            (Some(a), Language::Rust) if a.is_file() => Some(a.clone()),
            (_, Language::Rust) => rust_artifact_guess(&self.root),
            (Some(a), _) => Some(a.clone()),
            (None, _) => None,
        };
        match candidate {
            Some(path) if path.is_file() => Ok(path),
            Some(path) => bail!(
                "{} is not built yet ({} is missing): run `tollgate plugin build {}` or add --build",
                self.root.display(),
                path.display(),
                self.root.display()
            ),
            None => bail!(
                "cannot tell where {} is built: run `tollgate plugin build` or add --build",
                self.root.display()
            ),
        }
    }

    /// Build the component with the language's toolchain; answers its
    /// path. The toolchain's output goes to stderr, so stdout stays the
    /// command's own.
    pub fn build(&self) -> Result<PathBuf> {
        let built = match self.language {
            Language::Rust => build_rust(&self.root)?,
            Language::TypeScript | Language::JavaScript => self.build_js()?,
            Language::Python => self.build_python()?,
        };
        if !built.is_file() {
            bail!("the build succeeded but {} does not exist", built.display());
        }
        Ok(built.canonicalize().unwrap_or(built))
    }

    fn build_js(&self) -> Result<PathBuf> {
        check_node()?;
        if !self.root.join("node_modules").is_dir() {
            run_tool(
                Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                    .current_dir(&self.root),
                "npm ci",
                NODE_HINT,
            )?;
        }
        run_tool(
            Command::new("npm")
                .args(["run", "build", "--silent"])
                .current_dir(&self.root),
            "npm run build",
            NODE_HINT,
        )?;
        self.artifact.clone().with_context(|| {
            format!(
                "{}/tollgate.json names no \"artifact\"",
                self.root.display()
            )
        })
    }

    fn build_python(&self) -> Result<PathBuf> {
        let python = find_python()?;
        let script = self.root.join("tollgate-sdk/build.py");
        if !script.is_file() {
            bail!(
                "{} is missing: a Python project vendors the SDK in tollgate-sdk/ (see `tollgate plugin new --lang python`)",
                script.display()
            );
        }
        let mut command = Command::new(python);
        command.arg(&script).arg(&self.root);
        // A shared toolchain venv (tests, CI) instead of one per project.
        if let Some(venv) = std::env::var_os("TOLLGATE_PY_VENV") {
            command.arg("--venv").arg(venv);
        }
        let out = capture_tool(&mut command, "tollgate-sdk/build.py", PYTHON_HINT)?;
        let line = out.lines().rev().find(|l| !l.trim().is_empty());
        let path = line.context("build.py printed no artifact path")?.trim();
        Ok(absolute(&self.root, Path::new(path)))
    }
}

const NODE_HINT: &str =
    "node not found: install Node.js 20.6+ and npm (Debian: apt-get install nodejs npm)";
const PYTHON_HINT: &str = "python3 not found: install Python 3.11+ with venv and pip (Debian: apt-get install python3 python3-venv python3-pip)";
const CARGO_HINT: &str = "cargo not found: install Rust with rustup (https://rustup.rs), then: rustup target add wasm32-wasip2";
const WASIP2_HINT: &str = "the wasm32-wasip2 target is missing: rustup target add wasm32-wasip2";

fn absolute(root: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        root.join(path)
    }
}

/// Where `cargo build --target wasm32-wasip2 --release` put a crate's
/// component, without building (the default target dir).
fn rust_artifact_guess(root: &Path) -> Option<PathBuf> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).ok()?;
    let name = manifest.lines().find_map(|l| {
        let (key, value) = l.split_once('=')?;
        (key.trim() == "name").then(|| value.trim().trim_matches('"').replace('-', "_"))
    })?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    Some(absolute(root, &target).join(format!("wasm32-wasip2/release/{name}.wasm")))
}

/// Run a tool, its stdout and stderr both to our stderr.
fn run_tool(command: &mut Command, what: &str, missing: &str) -> Result<()> {
    let status = command
        .stdin(Stdio::null())
        .stdout(std::io::stderr())
        .status()
        .map_err(|e| spawn_error(e, what, missing))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// Run a tool and answer its stdout; its stderr goes to ours.
fn capture_tool(command: &mut Command, what: &str, missing: &str) -> Result<String> {
    let out = command
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| spawn_error(e, what, missing))?;
    if !out.status.success() {
        bail!("{what} failed ({})", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn spawn_error(e: std::io::Error, what: &str, missing: &str) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        anyhow::anyhow!("{missing}")
    } else {
        anyhow::anyhow!("cannot run {what}: {e}")
    }
}

/// Node.js 20.6 or later (`--import` and the npm lock files need it).
fn check_node() -> Result<()> {
    let out = Command::new("node")
        .arg("--version")
        .output()
        .map_err(|e| spawn_error(e, "node", NODE_HINT))?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let numbers: Vec<u32> = version
        .trim_start_matches('v')
        .split('.')
        .filter_map(|p| p.parse().ok())
        .collect();
    if numbers.len() < 2 || (numbers[0], numbers[1]) < (20, 6) {
        bail!("Node.js {version} is too old: install Node.js 20.6+ and npm");
    }
    Command::new("npm").arg("--version").output().map_err(|e| {
        spawn_error(
            e,
            "npm",
            "npm not found: install npm (Debian: apt-get install npm)",
        )
    })?;
    Ok(())
}

/// `python3` (3.11 or later), else `python`.
fn find_python() -> Result<&'static str> {
    for candidate in ["python3", "python"] {
        let Ok(out) = Command::new(candidate)
            .args(["-c", "import sys; print(sys.version_info >= (3, 11))"])
            .output()
        else {
            continue;
        };
        if String::from_utf8_lossy(&out.stdout).trim() == "True" {
            return Ok(candidate);
        }
        bail!(
            "{candidate} is older than 3.11: install Python 3.11+ (Debian: apt-get install python3 python3-venv)"
        );
    }
    bail!("{PYTHON_HINT}")
}

/// `cargo build --target wasm32-wasip2 --release`; the component's path
/// from cargo's own report of what it built.
fn build_rust(root: &Path) -> Result<PathBuf> {
    check_wasip2_target(root)?;
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .args([
            "build",
            "--target",
            "wasm32-wasip2",
            "--release",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(root);
    let out = capture_tool(&mut command, "cargo build", CARGO_HINT)?;
    out.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter_map(|m| {
            m["filenames"].as_array().and_then(|files| {
                files
                    .iter()
                    .filter_map(|f| f.as_str())
                    .find(|f| f.ends_with(".wasm"))
                    .map(PathBuf::from)
            })
        })
        .next_back()
        .context("cargo built no .wasm file: is the crate a cdylib (crate-type = [\"cdylib\"])?")
}

/// With rustup, the target must be installed for the active toolchain
/// (cargo's own error does not say how to get it).
fn check_wasip2_target(root: &Path) -> Result<()> {
    let Ok(out) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(root)
        .output()
    else {
        return Ok(()); // no rustup: cargo reports a missing target itself
    };
    if out.status.success()
        && !String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.trim() == "wasm32-wasip2")
    {
        bail!("{WASIP2_HINT}");
    }
    Ok(())
}
