//! `tollgate plugin new`: a project from the embedded template of a hook in
//! a language, with the SDK vendored in `tollgate-sdk/`. Rendered exactly
//! as the reference renderers do (`plugins/js/templates.mjs`,
//! `plugins/templates/python/render.py`; Rust: `{{crate}}`).

use super::project::Language;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use tollgate::domain::hook::Hook;
use tollgate::embedded::{JS_SDK_FILES, PY_SDK_FILES, SDK_FILES, TEMPLATE_FILES};

/// Names a Python plugin module may not take (the SDK's and the build's).
const PY_RESERVED: [&str; 5] = [
    "app",
    "tollgate_plugin",
    "wit_world",
    "componentize_py_types",
    "build",
];
const PY_KEYWORDS: [&str; 32] = [
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif",
    "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
    "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];
const PY_STDLIB: &str = include_str!("python_stdlib.txt");

/// `tollgate plugin new [--lang L] --hook HOOK NAME [--dir DIR]`.
pub fn new(language: Language, hook: &str, name: &str, dir: &Path) -> Result<()> {
    let hook: Hook = hook.parse()?;
    check_name(language, name)?;
    let root = dir.join(name);
    if root.exists()
        && root
            .read_dir()
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!("{} already exists and is not empty", root.display());
    }
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{module}}", &module_name(language, name))
            .replace("{{crate}}", &name.replace('-', "_"))
    };
    let prefix = match language {
        Language::Rust => format!("{hook}/content/"),
        Language::TypeScript => format!("ts/{hook}/content/"),
        Language::JavaScript => format!("js/{hook}/content/"),
        Language::Python => format!("python/{hook}/content/"),
    };
    let mut written = Vec::new();
    for (path, bytes) in TEMPLATE_FILES {
        if let Some(relative) = path.strip_prefix(&prefix) {
            let relative = fill(relative);
            let bytes = match std::str::from_utf8(bytes) {
                Ok(text) if relative == "Cargo.lock" => sort_lock(&fill(text)).into_bytes(),
                Ok(text) => fill(text).into_bytes(),
                Err(_) => bytes.to_vec(),
            };
            write(&root, &relative, &bytes)?;
            written.push(relative);
        }
    }
    if written.is_empty() {
        bail!("no {} template for the hook {hook}", language.as_str());
    }
    for (path, bytes) in sdk_files(language)? {
        write(&root, &format!("tollgate-sdk/{path}"), bytes)?;
    }
    written.sort();
    println!(
        "Created the {hook} plugin {name} ({}) in {}:",
        language.as_str(),
        root.display()
    );
    for file in &written {
        println!("  {file}");
    }
    println!(
        "  tollgate-sdk/ (the SDK)\n\nNext:\n  cd {}\n{}",
        root.display(),
        next_steps(language)
    );
    Ok(())
}

/// What each language's SDK copy holds, by path under `tollgate-sdk/`.
fn sdk_files(language: Language) -> Result<Vec<(&'static str, &'static [u8])>> {
    Ok(match language {
        Language::Rust => {
            let manifest = TEMPLATE_FILES
                .iter()
                .find(|(p, _)| *p == "sdk/Cargo.toml")
                .map(|(_, b)| *b)
                .context("the embedded templates lack sdk/Cargo.toml")?;
            std::iter::once(("Cargo.toml", manifest))
                .chain(SDK_FILES.iter().copied())
                .collect()
        }
        Language::TypeScript | Language::JavaScript => JS_SDK_FILES.to_vec(),
        Language::Python => PY_SDK_FILES.to_vec(),
    })
}

fn next_steps(language: Language) -> &'static str {
    match language {
        Language::Rust => {
            "  cargo test                      # the rule's unit tests\n  tollgate plugin test . --build  # build for wasm32-wasip2, run fixtures/"
        }
        Language::TypeScript | Language::JavaScript => {
            "  npm ci                          # the pinned toolchain\n  npm test                        # the rule's unit tests\n  tollgate plugin test . --build  # build the component, run fixtures/"
        }
        Language::Python => {
            "  python3 -m venv .venv && .venv/bin/pip install --require-hashes -r requirements.txt\n  .venv/bin/python -m pytest      # the rule's unit tests\n  tollgate plugin test . --build  # build the component, run fixtures/"
        }
    }
}

fn write(root: &Path, relative: &str, bytes: &[u8]) -> Result<()> {
    let path: PathBuf = root.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    // Scripts (`#!`) stay runnable, as in the repository.
    #[cfg(unix)]
    if bytes.starts_with(b"#!") {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making {} executable", path.display()))?;
    }
    Ok(())
}

/// A Cargo.lock in cargo's own order (packages by name, then version), so
/// the first build does not rewrite the one a template ships with the
/// crate's real name in place of `{{name}}`.
fn sort_lock(text: &str) -> String {
    const SEPARATOR: &str = "\n[[package]]\n";
    let mut parts = text.split(SEPARATOR);
    let header = parts.next().unwrap_or_default();
    let mut packages: Vec<&str> = parts.collect();
    let key = |block: &str| {
        let field = |name: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_default()
                .to_string()
        };
        (field("name = "), field("version = "))
    };
    packages.sort_by_key(|block| key(block));
    let mut out = header.to_string();
    for block in packages {
        out.push_str(SEPARATOR);
        out.push_str(block);
    }
    out
}

/// `{{module}}`: for Python the name with `-` as `_`; for JavaScript every
/// character outside `[A-Za-z0-9_]` as `_` (the reference renderers).
fn module_name(language: Language, name: &str) -> String {
    match language {
        Language::Python => name.replace('-', "_"),
        _ => name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect(),
    }
}

/// A name that is a crate name, an npm package name and a Python module
/// name (with `-` as `_`) all at once, so one rule names every language.
fn check_name(language: Language, name: &str) -> Result<()> {
    let valid = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid {
        let what = match language {
            Language::Rust => "a crate name",
            Language::TypeScript | Language::JavaScript => "an npm package name",
            Language::Python => "a Python module name (with '-' as '_')",
        };
        bail!(
            "the plugin name {name:?} must be {what}: lower-case letters, digits, '-' or '_', starting with a letter"
        );
    }
    if language == Language::Python {
        let module = module_name(language, name);
        if PY_KEYWORDS.contains(&module.as_str()) {
            bail!("the plugin name {name:?} is a Python keyword; choose another name");
        }
        let stdlib = PY_STDLIB
            .lines()
            .filter(|l| !l.starts_with('#'))
            .any(|l| l == module);
        if stdlib || PY_RESERVED.contains(&module.as_str()) {
            bail!(
                "the plugin name {name:?}: {module:?} is taken by Python or the SDK; choose another name"
            );
        }
    }
    Ok(())
}
