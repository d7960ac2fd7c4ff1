//! The plugin author's tools that run a component: `plugin run` and
//! `plugin test` (the server's engine, with the limits the server gives
//! the component's language), and `plugin build`. `plugin new` is in
//! `scaffold`, `watch` and `deploy` in their own modules.

use super::project::Project;
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tollgate::codec::{self, Expectation, Fixture, InputDoc, OutputDoc};
use tollgate::runtime::{CompiledPlugin, ConfigCheck, EngineConfig, Invocation, Limits, Runtime};

/// Exit status when a plugin fails or a fixture does not match.
pub const FAILED: u8 = 3;

/// A compiled component and the limits the server would call it under.
pub struct Loaded {
    pub runtime: Runtime,
    pub plugin: CompiledPlugin,
    pub limits: Limits,
}

/// Compile `file` with the server's engine; the call limits are the
/// defaults raised to the tier of the component's language (an
/// interpreter starts in every fresh instance).
pub fn load(file: &Path) -> Result<Loaded> {
    let runtime = Runtime::new(EngineConfig::default())?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let plugin = runtime
        .compile(&bytes)
        .with_context(|| format!("loading {}", file.display()))?;
    let limits = Limits::default().for_language(plugin.language(), runtime.config());
    Ok(Loaded {
        runtime,
        plugin,
        limits,
    })
}

/// `tollgate plugin build [DIR] [--json]`: the component's path on the
/// last line of stdout (`{"path": …}` with `--json`).
pub fn build(dir: &Path, as_json: bool) -> Result<ExitCode> {
    let project = Project::open(dir)?;
    let started = std::time::Instant::now();
    let path = project.build()?;
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    if as_json {
        println!(
            "{}",
            json!({"path": path, "language": project.language.as_str(), "size": size})
        );
    } else {
        eprintln!(
            "built {} ({}, {:.2} MiB) in {:.1} s",
            project.name,
            project.language.as_str(),
            size as f64 / (1024.0 * 1024.0),
            started.elapsed().as_secs_f64()
        );
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

/// An input file is either an input or a whole fixture (its input is
/// used); read strictly, so a misspelt field is named, not ignored.
fn input_from(path: &Path) -> Result<InputDoc> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let value: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    let is_fixture = value
        .as_object()
        .is_some_and(|m| m.contains_key("expect") || m.contains_key("hook"));
    let parsed = if is_fixture {
        codec::fixture_from_json(&text).map(|f| f.input)
    } else {
        codec::fixture::input_doc_from_json(&text)
    };
    parsed.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn percent(used: u64, limit: u64) -> f64 {
    if limit == 0 {
        0.0
    } else {
        used as f64 * 100.0 / limit as f64
    }
}

fn report(loaded: &Loaded, invocation: &Invocation) -> Value {
    let limits = &loaded.limits;
    let (output, error) = match &invocation.outcome {
        Ok(o) => (serde_json::to_value(OutputDoc::from_output(o)).ok(), None),
        Err(e) => (
            None,
            Some(json!({"kind": e.kind(), "message": e.to_string(), "limit": e.is_limit()})),
        ),
    };
    json!({
        "ok": invocation.outcome.is_ok(),
        "hook": loaded.plugin.hook(),
        "language": loaded.plugin.language(),
        "contract": loaded.plugin.contract(),
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

fn print_run(loaded: &Loaded, invocation: &Invocation) {
    let limits = &loaded.limits;
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
    println!(
        "plugin:  {} {}, contract {}",
        loaded.plugin.language(),
        loaded.plugin.hook(),
        loaded.plugin.contract()
    );
    if !invocation.logs.is_empty() {
        println!("logs:");
        for line in invocation.logs.lines() {
            println!("  {line}");
        }
    }
}

/// What the plugin's `validate-config` says of `config`, as a binding's
/// save would: `Err` with the JSON path when it refuses it.
pub fn check_config(loaded: &Loaded, config: &Value) -> std::result::Result<(), Value> {
    let text = match config {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    match loaded
        .runtime
        .validate_config(&loaded.plugin, &text, &loaded.limits)
    {
        ConfigCheck::Valid | ConfigCheck::NotSupported => Ok(()),
        ConfigCheck::Invalid { path, message } => Err(json!({"path": path, "message": message})),
        ConfigCheck::Failed(e) => Err(
            json!({"path": "$", "message": format!("validate-config failed: the plugin {e}"), "kind": e.kind()}),
        ),
    }
}

/// `tollgate plugin run FILE --input INPUT [--config CONFIG] [--json]`.
/// With `--config`, the plugin's `validate-config` runs first (as when a
/// binding is saved) and an invalid config stops the run.
pub fn run(file: &Path, input: &Path, config: Option<&Path>, as_json: bool) -> Result<ExitCode> {
    let loaded = load(file)?;
    let mut doc = input_from(input)?;
    if let Some(config) = config {
        doc.config = read_json(config)?;
        if let Err(problem) = check_config(&loaded, &doc.config) {
            if as_json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"ok": false, "config_error": problem}))?
                );
            } else {
                println!(
                    "INVALID CONFIG:  {}: {} — {}",
                    config.display(),
                    problem["path"].as_str().unwrap_or("$"),
                    problem["message"].as_str().unwrap_or_default()
                );
            }
            return Ok(ExitCode::from(FAILED));
        }
    }
    let invocation = loaded
        .runtime
        .invoke(&loaded.plugin, &doc.into_input(), &loaded.limits);
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report(&loaded, &invocation))?
        );
    } else {
        print_run(&loaded, &invocation);
    }
    Ok(if invocation.outcome.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(FAILED)
    })
}

/// One fixture's result.
pub struct Verdict {
    pub file: String,
    pub passed: bool,
    pub detail: String,
    pub report: Option<Value>,
}

/// Whether `outcome` is what `expect` says, and in words when it is not.
fn compare(
    expect: &Expectation,
    outcome: &std::result::Result<
        tollgate::domain::hook::HookOutput,
        tollgate::runtime::PluginError,
    >,
) -> Option<String> {
    let json = |o: &OutputDoc| serde_json::to_string(o).unwrap_or_default();
    match (expect, outcome) {
        (Expectation::Output(expected), Ok(actual)) => {
            let actual = OutputDoc::from_output(actual);
            (*expected != actual)
                .then(|| format!("expected {}, got {}", json(expected), json(&actual)))
        }
        (Expectation::Error { error }, Err(e)) if e.kind() == error => None,
        (Expectation::Error { error }, Err(e)) => Some(format!(
            "expected the error {error}, got {}: the plugin {e}",
            e.kind()
        )),
        (Expectation::Error { error }, Ok(o)) => Some(format!(
            "expected the error {error}, got {}",
            codec::output_to_json(o)
        )),
        (Expectation::Output(expected), Err(e)) => Some(format!(
            "expected {}, but the plugin {e} ({})",
            json(expected),
            e.kind()
        )),
    }
}

fn check(loaded: &Loaded, path: &Path) -> Verdict {
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
        Err(e) => return fail(format!("{}: {e}", path.display())),
    };
    let hook = loaded.plugin.hook();
    if fixture.hook != hook {
        return fail(format!(
            "it is a {} fixture; the plugin implements {hook}",
            fixture.hook
        ));
    }
    let invocation =
        loaded
            .runtime
            .invoke(&loaded.plugin, &fixture.input.into_input(), &loaded.limits);
    let mismatch = compare(&fixture.expect, &invocation.outcome);
    Verdict {
        file,
        passed: mismatch.is_none(),
        detail: mismatch.unwrap_or(fixture.description),
        report: Some(report(loaded, &invocation)),
    }
}

/// Every fixture (`*.json`) of `dir`, in name order.
pub fn fixture_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        bail!("no fixtures (*.json) in {}", dir.display());
    }
    Ok(paths)
}

/// Run every fixture of `fixtures` against the compiled component.
pub fn run_fixtures(loaded: &Loaded, fixtures: &Path) -> Result<Vec<Verdict>> {
    Ok(fixture_files(fixtures)?
        .iter()
        .map(|p| check(loaded, p))
        .collect())
}

/// What to test: a component and a fixtures directory, or a project
/// directory (its build, its `fixtures/`).
pub struct TestTarget<'a> {
    pub path: &'a Path,
    pub fixtures: Option<&'a Path>,
    pub build: bool,
}

/// `tollgate plugin test FILE FIXTURES_DIR | DIR [--build] [--json]`.
pub fn test(target: TestTarget<'_>, as_json: bool) -> Result<ExitCode> {
    let (file, fixtures) = if target.path.is_dir() {
        let project = Project::open(target.path)?;
        let file = if target.build {
            project.build()?
        } else {
            project.built_artifact()?
        };
        let fixtures = target
            .fixtures
            .map(Path::to_path_buf)
            .unwrap_or_else(|| project.root.join("fixtures"));
        (file, fixtures)
    } else {
        if target.build {
            bail!(
                "--build needs a project directory, not the component {}",
                target.path.display()
            );
        }
        let fixtures = target.fixtures.with_context(|| {
            format!(
                "which fixtures? `tollgate plugin test {} FIXTURES_DIR`",
                target.path.display()
            )
        })?;
        (target.path.to_path_buf(), fixtures.to_path_buf())
    };
    let loaded = load(&file)?;
    let verdicts = run_fixtures(&loaded, &fixtures)?;
    print_verdicts(&verdicts, as_json)?;
    Ok(if verdicts.iter().all(|v| v.passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(FAILED)
    })
}

fn print_verdicts(verdicts: &[Verdict], as_json: bool) -> Result<()> {
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
        for v in verdicts {
            println!(
                "{} {}  {}",
                if v.passed { "PASS" } else { "FAIL" },
                v.file,
                v.detail
            );
        }
        println!("\n{} passed, {failed} failed", verdicts.len() - failed);
    }
    Ok(())
}
