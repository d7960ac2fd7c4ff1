//! The plugin author's tools: `plugin new` (a buildable crate from a
//! template), `plugin run` and `plugin test` (the server's engine and limits,
//! locally).

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tollgate::codec::{self, Expectation, Fixture, InputDoc, OutputDoc};
use tollgate::domain::hook::Hook;
use tollgate::embedded::{SDK_FILES, TEMPLATE_FILES};
use tollgate::runtime::{CompiledPlugin, EngineConfig, Invocation, Limits, Runtime};

/// Exit status when a plugin fails or a fixture does not match.
const FAILED: u8 = 3;

fn crate_ident(name: &str) -> String {
    name.replace('-', "_")
}

/// `tollgate plugin new --hook HOOK NAME [--dir DIR]`.
pub fn new(hook: &str, name: &str, dir: &Path) -> Result<()> {
    let hook: Hook = hook.parse()?;
    let valid = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid {
        bail!(
            "the plugin name {name:?} must be a crate name: lower-case letters, digits, '-' or '_', starting with a letter"
        );
    }
    let root = dir.join(name);
    if root.exists()
        && root
            .read_dir()
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!("{} already exists and is not empty", root.display());
    }
    let prefix = format!("{}/content/", hook.as_str());
    let render = |bytes: &[u8]| -> Vec<u8> {
        match std::str::from_utf8(bytes) {
            Ok(text) => text
                .replace("{{name}}", name)
                .replace("{{crate}}", &crate_ident(name))
                .into_bytes(),
            Err(_) => bytes.to_vec(),
        }
    };
    let mut written = Vec::new();
    let mut write = |relative: &str, bytes: Vec<u8>| -> Result<()> {
        let path = root.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        written.push(relative.to_string());
        Ok(())
    };
    for (path, bytes) in TEMPLATE_FILES {
        if let Some(relative) = path.strip_prefix(&prefix) {
            write(relative, render(bytes))?;
        }
    }
    let sdk_manifest = TEMPLATE_FILES
        .iter()
        .find(|(p, _)| *p == "sdk/Cargo.toml")
        .map(|(_, b)| b.to_vec())
        .context("the embedded templates lack sdk/Cargo.toml")?;
    write("tollgate-sdk/Cargo.toml", sdk_manifest)?;
    for (path, bytes) in SDK_FILES {
        write(&format!("tollgate-sdk/{path}"), bytes.to_vec())?;
    }
    println!("Created the {hook} plugin {name} in {}:", root.display());
    for file in written.iter().filter(|f| !f.starts_with("tollgate-sdk/")) {
        println!("  {file}");
    }
    println!(
        "  tollgate-sdk/ (the SDK)\n\nNext:\n  cd {}\n  cargo test\n  cargo build --target wasm32-wasip2 --release\n  tollgate plugin test target/wasm32-wasip2/release/{}.wasm fixtures/",
        root.display(),
        crate_ident(name)
    );
    Ok(())
}

fn load(file: &Path) -> Result<(Runtime, CompiledPlugin)> {
    let runtime = Runtime::new(EngineConfig::default())?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let plugin = runtime
        .compile(&bytes)
        .with_context(|| format!("loading {}", file.display()))?;
    Ok((runtime, plugin))
}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

/// An input file is either an input or a whole fixture (its input is used).
fn input_from(value: Value, path: &Path) -> Result<InputDoc> {
    let value = match value {
        Value::Object(mut map) if map.contains_key("expect") || map.contains_key("hook") => map
            .remove("input")
            .with_context(|| format!("{} is a fixture without an input", path.display()))?,
        other => other,
    };
    serde_json::from_value(value)
        .with_context(|| format!("{} is not a valid hook input", path.display()))
}

fn percent(used: u64, limit: u64) -> f64 {
    if limit == 0 {
        0.0
    } else {
        used as f64 * 100.0 / limit as f64
    }
}

fn report(hook: Hook, invocation: &Invocation, limits: &Limits) -> Value {
    let (output, error) = match &invocation.outcome {
        Ok(o) => (serde_json::to_value(OutputDoc::from_output(o)).ok(), None),
        Err(e) => (
            None,
            Some(json!({"kind": e.kind(), "message": e.to_string(), "limit": e.is_limit()})),
        ),
    };
    json!({
        "ok": invocation.outcome.is_ok(),
        "hook": hook,
        "output": output,
        "error": error,
        "logs": invocation.logs,
        "fuel": {"used": invocation.fuel_used, "limit": limits.fuel, "headroom_percent": 100.0 - percent(invocation.fuel_used, limits.fuel)},
        "memory": {"peak": invocation.peak_memory, "limit": limits.memory_bytes, "headroom_percent": 100.0 - percent(invocation.peak_memory, limits.memory_bytes)},
        "duration_us": invocation.duration.as_micros() as u64,
        "deadline_ms": limits.deadline_ms,
        "read_subscriptions": invocation.read_subscriptions,
    })
}

/// `tollgate plugin run FILE --input INPUT [--config CONFIG] [--json]`.
pub fn run(file: &Path, input: &Path, config: Option<&Path>, as_json: bool) -> Result<ExitCode> {
    let (runtime, plugin) = load(file)?;
    let mut doc = input_from(read_json(input)?, input)?;
    if let Some(config) = config {
        doc.config = read_json(config)?;
    }
    let limits = Limits::default();
    let invocation = runtime.invoke(&plugin, &doc.into_input(), &limits);
    let r = report(plugin.hook(), &invocation, &limits);
    if as_json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        match &invocation.outcome {
            Ok(o) => println!("output:  {}", codec::output_to_json(o)),
            Err(e) => println!("FAILED:  {} — the plugin {e}", e.kind()),
        }
        println!(
            "fuel:    {} of {} ({:.1}% headroom)",
            invocation.fuel_used,
            limits.fuel,
            100.0 - percent(invocation.fuel_used, limits.fuel)
        );
        println!(
            "memory:  {} of {} bytes at peak ({:.1}% headroom)",
            invocation.peak_memory,
            limits.memory_bytes,
            100.0 - percent(invocation.peak_memory, limits.memory_bytes)
        );
        println!(
            "time:    {:.3} ms of the {} ms deadline",
            invocation.duration.as_secs_f64() * 1000.0,
            limits.deadline_ms
        );
        if !invocation.logs.is_empty() {
            println!("logs:");
            for line in invocation.logs.lines() {
                println!("  {line}");
            }
        }
    }
    Ok(if invocation.outcome.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(FAILED)
    })
}

struct Verdict {
    file: String,
    passed: bool,
    detail: String,
    report: Option<Value>,
}

fn check(runtime: &Runtime, plugin: &CompiledPlugin, path: &Path) -> Verdict {
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let fail = |detail: String| Verdict {
        file: file.clone(),
        passed: false,
        detail,
        report: None,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return fail(format!("cannot read it: {e}")),
    };
    let fixture: Fixture = match codec::fixture_from_json(&text) {
        Ok(f) => f,
        Err(e) => return fail(e.0),
    };
    if fixture.hook != plugin.hook() {
        return fail(format!(
            "it is a {} fixture; the plugin implements {}",
            fixture.hook,
            plugin.hook()
        ));
    }
    let limits = Limits::default();
    let invocation = runtime.invoke(plugin, &fixture.input.into_input(), &limits);
    let report = report(plugin.hook(), &invocation, &limits);
    let (passed, detail) = match (&fixture.expect, &invocation.outcome) {
        (Expectation::Output(expected), Ok(actual)) => {
            let actual = OutputDoc::from_output(actual);
            if *expected == actual {
                (true, fixture.description.clone())
            } else {
                (
                    false,
                    format!(
                        "expected {}, got {}",
                        serde_json::to_string(expected).unwrap_or_default(),
                        serde_json::to_string(&actual).unwrap_or_default()
                    ),
                )
            }
        }
        (Expectation::Error { error }, Err(e)) if e.kind() == error => {
            (true, fixture.description.clone())
        }
        (Expectation::Error { error }, Err(e)) => (
            false,
            format!(
                "expected the error {error}, got {}: the plugin {e}",
                e.kind()
            ),
        ),
        (Expectation::Error { error }, Ok(o)) => (
            false,
            format!(
                "expected the error {error}, got {}",
                codec::output_to_json(o)
            ),
        ),
        (Expectation::Output(expected), Err(e)) => (
            false,
            format!(
                "expected {}, but the plugin {e} ({})",
                serde_json::to_string(expected).unwrap_or_default(),
                e.kind()
            ),
        ),
    };
    Verdict {
        file,
        passed,
        detail,
        report: Some(report),
    }
}

/// `tollgate plugin test FILE FIXTURES_DIR [--json]`.
pub fn test(file: &Path, fixtures: &Path, as_json: bool) -> Result<ExitCode> {
    let (runtime, plugin) = load(file)?;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures)
        .with_context(|| format!("reading {}", fixtures.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        bail!("no fixtures (*.json) in {}", fixtures.display());
    }
    let verdicts: Vec<Verdict> = paths.iter().map(|p| check(&runtime, &plugin, p)).collect();
    let failed = verdicts.iter().filter(|v| !v.passed).count();
    if as_json {
        let results: Vec<Value> = verdicts
            .iter()
            .map(|v| json!({"fixture": v.file, "passed": v.passed, "detail": v.detail, "run": v.report}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"passed": verdicts.len() - failed, "failed": failed, "results": results})
            )?
        );
    } else {
        for v in &verdicts {
            println!(
                "{} {}  {}",
                if v.passed { "PASS" } else { "FAIL" },
                v.file,
                v.detail
            );
        }
        println!("\n{} passed, {failed} failed", verdicts.len() - failed);
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(FAILED)
    })
}
