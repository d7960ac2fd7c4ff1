//! `tollgate plugin watch DIR`: build and run the fixtures, then again on
//! every change of the project's sources, one line per run. Polls the
//! file tree (cheap for a plugin project, and the same on every OS and
//! file system); build outputs and toolchains are ignored.

use super::plugin::{self, FAILED};
use super::project::Project;
use anyhow::Result;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

/// Directories that builds and toolchains write, never sources.
const IGNORED: [&str; 8] = [
    "target",
    "node_modules",
    "dist",
    ".venv",
    "__pycache__",
    ".git",
    ".pytest_cache",
    ".mypy_cache",
];
const POLL: Duration = Duration::from_millis(250);

type Snapshot = BTreeMap<PathBuf, (SystemTime, u64)>;

/// Watch until interrupted, or for `runs` runs; the exit status is the
/// last run's.
pub fn watch(dir: &Path, runs: Option<u32>) -> Result<ExitCode> {
    let project = Project::open(dir)?;
    let mut snapshot = snapshot(&project.root);
    let mut reason = String::from("start");
    let mut run = 1u32;
    loop {
        let ok = run_once(&project, run, &reason);
        if runs.is_some_and(|n| run >= n) {
            return Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(FAILED)
            });
        }
        let (next, changed) = wait_for_change(&project.root, &snapshot);
        snapshot = next;
        reason = describe(&project.root, &changed);
        run += 1;
    }
}

/// Build, test and print the run's line; answers whether all passed.
fn run_once(project: &Project, run: u32, reason: &str) -> bool {
    let started = Instant::now();
    let outcome = project.build().and_then(|file| {
        let built = started.elapsed();
        let loaded = plugin::load(&file)?;
        let verdicts = plugin::run_fixtures(&loaded, &project.root.join("fixtures"))?;
        Ok((built, verdicts))
    });
    match outcome {
        Err(e) => {
            println!("run {run} ({reason}): FAILED: {e:#}");
            false
        }
        Ok((built, verdicts)) => {
            let failed: Vec<_> = verdicts.iter().filter(|v| !v.passed).collect();
            for v in &failed {
                println!("  FAIL {}  {}", v.file, v.detail);
            }
            println!(
                "run {run} ({reason}): built in {:.1} s; {} passed, {} failed",
                built.as_secs_f64(),
                verdicts.len() - failed.len(),
                failed.len()
            );
            failed.is_empty()
        }
    }
}

/// Block until the sources change and stay unchanged for one more poll
/// (an editor's save, a `git checkout`, end as one run).
fn wait_for_change(root: &Path, before: &Snapshot) -> (Snapshot, Vec<PathBuf>) {
    loop {
        std::thread::sleep(POLL);
        let now = snapshot(root);
        if &now == before {
            continue;
        }
        let mut settled = now;
        loop {
            std::thread::sleep(POLL);
            let again = snapshot(root);
            if again == settled {
                break;
            }
            settled = again;
        }
        let changed = before
            .keys()
            .chain(settled.keys())
            .filter(|p| before.get(*p) != settled.get(*p))
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        return (settled, changed);
    }
}

fn describe(root: &Path, changed: &[PathBuf]) -> String {
    let names: Vec<String> = changed
        .iter()
        .map(|p| p.strip_prefix(root).unwrap_or(p).display().to_string())
        .collect();
    match names.as_slice() {
        [] => "changed".into(),
        [one] => format!("{one} changed"),
        [first, rest @ ..] => format!("{first} and {} more changed", rest.len()),
    }
}

/// Every source file's modification time and size.
fn snapshot(root: &Path) -> Snapshot {
    let mut out = Snapshot::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                if !IGNORED.iter().any(|i| entry.file_name() == *i) {
                    stack.push(path);
                }
            } else if let Ok(modified) = meta.modified() {
                out.insert(path, (modified, meta.len()));
            }
        }
    }
    out
}
