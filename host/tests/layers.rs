//! ARCHITECTURE.md's layering invariants, checked on the source: which
//! module may name which crate. Comments are ignored (they may mention
//! anything); code is not.

use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, with its code (comments removed).
fn code_under(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(code_under(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            let code: String = text
                .lines()
                .map(|l| l.split_once("//").map_or(l, |(code, _)| code))
                .collect::<Vec<_>>()
                .join("\n");
            out.push((path, code));
        }
    }
    out
}

/// Files outside `home` (relative to `src/`) that name any of `words`.
fn offenders(home: &[&str], words: &[&str]) -> Vec<String> {
    let root = src();
    let homes: Vec<PathBuf> = home.iter().map(|h| root.join(h)).collect();
    let mut found = Vec::new();
    for (path, code) in code_under(&root) {
        if homes.iter().any(|h| path.starts_with(h)) {
            continue;
        }
        for word in words {
            if code.contains(word) {
                found.push(format!(
                    "{} names {word}",
                    path.strip_prefix(&root).unwrap().display()
                ));
            }
        }
    }
    found
}

#[test]
fn only_http_knows_http() {
    // `cli/deploy.rs` is a client of the admin API (reqwest), not a server.
    let found = offenders(
        &["http", "cli/deploy.rs"],
        &["axum", "hyper", "HeaderMap", "StatusCode", "http::header"],
    );
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn only_runtime_knows_wasmtime() {
    let found = offenders(&["runtime"], &["wasmtime", "wit_bindgen", "bindgen!"]);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn only_store_knows_sql() {
    let found = offenders(
        &["store"],
        &[
            "sqlx",
            "rusqlite",
            "SELECT ",
            "INSERT ",
            "UPDATE ",
            "DELETE FROM",
        ],
    );
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_domain_is_pure() {
    let mut found = Vec::new();
    for (path, code) in code_under(&src().join("domain")) {
        for word in [
            "tokio",
            "std::fs",
            "std::net",
            "std::env",
            "SystemTime",
            "Instant::now",
            "rand::",
            "getrandom",
            "uuid",
            "sqlx",
            "rusqlite",
            "wasmtime",
            "axum",
            "reqwest",
            "println!",
            "tracing::",
        ] {
            if code.contains(word) {
                found.push(format!("{} names {word}", path.display()));
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn wit_types_never_leave_the_runtime() {
    // The generated bindings (`runtime::bindings`) stay inside `runtime`:
    // the API's JSON is `codec`'s.
    let found = offenders(
        &["runtime"],
        &["bindings::v1", "bindings::v2", "runtime::bindings"],
    );
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_layers_below_http_know_no_wire_types() {
    // The admin and platform API's request/response types live in
    // `http::wire`; the service answers with its own data and `http` turns
    // it into JSON. No layer below `http` names them (or `http` at all).
    let mut found = Vec::new();
    for layer in ["service", "store", "runtime", "domain", "codec"] {
        for (path, code) in code_under(&src().join(layer)) {
            for word in ["crate::http", "wire::", "super::http", "utoipa::path"] {
                if code.contains(word) {
                    found.push(format!("{} names {word}", path.display()));
                }
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}
