//! Embed what the binary hands out: the example plugins compiled for
//! `wasm32-wasip2` (for `tollgate demo`), and for `tollgate plugin new` the
//! templates of every language, the three SDKs (Rust, JavaScript, Python) as
//! a new project vendors them, and the WIT contract.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::{env, fs};

/// Build outputs and local toolchains, never part of a template or an SDK.
const SKIPPED: [&str; 5] = ["target", "node_modules", "dist", ".venv", "__pycache__"];

fn files(dir: &Path, base: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path
            .file_name()
            .is_some_and(|n| SKIPPED.iter().any(|s| n == *s))
        {
            continue;
        }
        if path.is_dir() {
            files(&path, base, out)?;
        } else {
            let relative = path
                .strip_prefix(base)?
                .to_string_lossy()
                .replace('\\', "/");
            out.push((relative, path.canonicalize()?));
        }
    }
    Ok(())
}

/// A file, or every file under a directory, keyed relative to `base`.
fn single_or_tree(path: &Path, base: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    if path.is_dir() {
        return files(path, base, out);
    }
    let relative = path
        .strip_prefix(base)?
        .to_string_lossy()
        .replace('\\', "/");
    out.push((relative, path.canonicalize()?));
    Ok(())
}

fn table(name: &str, doc: &str, entries: &[(String, PathBuf)]) -> String {
    let mut s = format!("/// {doc}\npub const {name}: &[(&str, &[u8])] = &[\n");
    for (key, path) in entries {
        s.push_str(&format!(
            "    ({key:?}, include_bytes!({:?})),\n",
            path.display().to_string()
        ));
    }
    s.push_str("];\n\n");
    s
}

fn main() -> Result<()> {
    let root = wasm_build::repo_root(1)?;
    wasm_build::watch(
        &root,
        &[
            "wit",
            "plugins/Cargo.toml",
            "plugins/Cargo.lock",
            "plugins/.cargo",
            "plugins/sdk",
            "plugins/examples",
            "plugins/templates",
            "plugins/sdk-js/package.json",
            "plugins/sdk-js/README.md",
            "plugins/sdk-js/src",
            "plugins/sdk-js/tools",
            "plugins/sdk-python/tollgate_plugin",
            "plugins/sdk-python/build.py",
            "plugins/sdk-python/inspect_component.py",
            "plugins/sdk-python/requirements.txt",
            "plugins/sdk-python/README.md",
        ],
    );
    let release = wasm_build::build(&root.join("plugins"), &wasm_build::guest_target_dir()?)?;

    let mut examples = Vec::new();
    let mut dirs: Vec<PathBuf> = fs::read_dir(root.join("plugins/examples"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    dirs.sort();
    for dir in dirs.into_iter().filter(|d| d.join("Cargo.toml").exists()) {
        let name = dir
            .file_name()
            .context("example dir")?
            .to_string_lossy()
            .into_owned();
        let wasm = release.join(format!("{}.wasm", name.replace('-', "_")));
        examples.push((
            name,
            wasm.canonicalize()
                .with_context(|| format!("missing {}", wasm.display()))?,
        ));
    }

    let mut templates = Vec::new();
    let templates_dir = root.join("plugins/templates");
    files(&templates_dir, &templates_dir, &mut templates)?;

    // Every SDK implements the newest contract; the host serves every version.
    let wit = root.join("wit/v2");
    let mut contract = Vec::new();
    files(&wit, &wit, &mut contract)?;
    let contract: Vec<(String, PathBuf)> = contract
        .into_iter()
        .map(|(name, path)| (format!("wit/{name}"), path))
        .collect();

    let mut sdk = Vec::new();
    files(
        &root.join("plugins/sdk/src"),
        &root.join("plugins/sdk"),
        &mut sdk,
    )?;
    sdk.extend(contract.iter().cloned());

    // What `plugins/js/templates.mjs` copies: not the SDK's tests.
    let js_root = root.join("plugins/sdk-js");
    let mut js_sdk = Vec::new();
    for part in ["package.json", "README.md", "src", "tools"] {
        single_or_tree(&js_root.join(part), &js_root, &mut js_sdk)?;
    }
    js_sdk.extend(contract.iter().cloned());

    // What `plugins/templates/python/render.py` copies.
    let py_root = root.join("plugins/sdk-python");
    let mut py_sdk = Vec::new();
    for part in [
        "tollgate_plugin",
        "build.py",
        "inspect_component.py",
        "requirements.txt",
        "README.md",
    ] {
        single_or_tree(&py_root.join(part), &py_root, &mut py_sdk)?;
    }
    py_sdk.extend(contract);

    let mut generated = String::from("// Generated by host/build.rs.\n\n");
    generated.push_str(&table(
        "EXAMPLE_PLUGINS",
        "The example plugins, compiled: (crate name, component).",
        &examples,
    ));
    generated.push_str(&table(
        "TEMPLATE_FILES",
        "`plugins/templates`, by relative path.",
        &templates,
    ));
    generated.push_str(&table(
        "SDK_FILES",
        "The Rust SDK sources and the WIT contract, as laid out in a vendored SDK.",
        &sdk,
    ));
    generated.push_str(&table(
        "JS_SDK_FILES",
        "The JavaScript SDK (`@tollgate/plugin`) and the contract, as vendored.",
        &js_sdk,
    ));
    generated.push_str(&table(
        "PY_SDK_FILES",
        "The Python SDK (`tollgate_plugin`, `build.py`) and the contract, as vendored.",
        &py_sdk,
    ));
    fs::write(
        PathBuf::from(env::var("OUT_DIR")?).join("embedded.rs"),
        generated,
    )?;
    Ok(())
}
