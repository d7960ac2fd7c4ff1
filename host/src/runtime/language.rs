//! The source language of a component, from its `producers` custom sections
//! (the tool-conventions metadata every toolchain writes): for operators and
//! for language-specific limits. Advisory only: nothing is enforced on it.

use wasmparser::{KnownCustom, Parser, Payload};

/// The languages Tollgate tells apart, and the answer when none is found.
pub const RUST: &str = "rust";
pub const JAVASCRIPT: &str = "javascript";
pub const PYTHON: &str = "python";
pub const UNKNOWN: &str = "unknown";

/// The language of the component in `bytes`. Guest runtimes embed code
/// written in other languages (componentize-js's engine is C++ and Rust,
/// componentize-py's runtime Rust), so the signals that name the producing
/// tool decide first. What the tools write (checked empirically):
///
/// * componentize-js: top-level `processed-by: ComponentizeJS <version>`
///   and `language: JavaScript`; componentize-qjs (QuickJS) through the JS
///   SDK: `processed-by: componentize-qjs`, `language: TypeScript|JavaScript`.
/// * componentize-py (0.25): no Python entry at all; its core modules are
///   dynamically linked against `libpython3.x.so`, which is the signal.
/// * Rust (`wasm32-wasip2`, even with `strip = true`): `processed-by` names
///   `wit-bindgen-rust` (or `rustc`, or `language: Rust` when not stripped).
pub fn detect(bytes: &[u8]) -> &'static str {
    let mut signals = Signals::default();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload {
            Ok(Payload::CustomSection(section)) => {
                let KnownCustom::Producers(reader) = section.as_known() else {
                    continue;
                };
                for field in reader.into_iter().flatten() {
                    let into = match field.name {
                        "language" => &mut signals.languages,
                        "processed-by" | "sdk" => &mut signals.tools,
                        _ => continue,
                    };
                    into.extend(
                        field
                            .values
                            .into_iter()
                            .flatten()
                            .map(|v| v.name.to_ascii_lowercase()),
                    );
                }
            }
            Ok(Payload::ImportSection(reader)) if !signals.links_libpython => {
                signals.links_libpython = reader
                    .into_imports()
                    .flatten()
                    .any(|i| i.module.starts_with("libpython"));
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    signals.classify()
}

#[derive(Default)]
struct Signals {
    languages: Vec<String>,
    tools: Vec<String>,
    links_libpython: bool,
}

impl Signals {
    fn classify(&self) -> &'static str {
        let tool = |needle: &str| self.tools.iter().any(|t| t.contains(needle));
        let language = |name: &str| self.languages.iter().any(|l| l == name);
        if self.links_libpython || tool("componentize-py") || language("python") {
            PYTHON
        } else if tool("componentizejs")
            || tool("componentize-js")
            || tool("componentize-qjs")
            || language("javascript")
            || language("typescript")
        {
            JAVASCRIPT
        } else if tool("wit-bindgen-rust") || tool("rustc") || language("rust") {
            RUST
        } else {
            UNKNOWN
        }
    }
}

/// One of the names above for a stored name (unknown names read as
/// [`UNKNOWN`]), so the answer stays a `&'static str`.
pub fn canonical(name: &str) -> &'static str {
    [RUST, JAVASCRIPT, PYTHON]
        .into_iter()
        .find(|l| *l == name)
        .unwrap_or(UNKNOWN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signals(languages: &[&str], tools: &[&str], links_libpython: bool) -> &'static str {
        let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        Signals {
            languages: strings(languages),
            tools: strings(tools),
            links_libpython,
        }
        .classify()
    }

    #[test]
    fn the_producing_tool_decides_before_embedded_languages() {
        assert_eq!(signals(&["rust"], &["rustc 1.75.0"], true), PYTHON);
        assert_eq!(
            signals(
                &["c11", "rust", "c_plus_plus_14", "javascript"],
                &["componentizejs 0.23.0"],
                false
            ),
            JAVASCRIPT
        );
        assert_eq!(
            signals(
                &[],
                &["wit-component 0.245.1", "wit-bindgen-rust 0.45.0"],
                false
            ),
            RUST
        );
        assert_eq!(
            signals(&["typescript", "rust"], &["componentize-qjs 0.4.5"], false),
            JAVASCRIPT
        );
        assert_eq!(signals(&["rust"], &[], false), RUST);
        assert_eq!(signals(&[], &["wit-component 0.245.1"], false), UNKNOWN);
    }

    fn wasm(text: &str) -> Vec<u8> {
        wat::parse_str(text).expect("valid wat")
    }

    #[test]
    fn producers_sections_and_imports_are_read_at_any_depth() {
        let js = r#"(component
            (core module (@producers (language "C_plus_plus_14" "") (language "Rust" "")))
            (@producers (language "JavaScript" "") (processed-by "ComponentizeJS" "0.23.0")))"#;
        assert_eq!(detect(&wasm(js)), JAVASCRIPT);
        let py = r#"(component
            (core module (@producers (language "Rust" "") (processed-by "rustc" "1.75.0")))
            (core module (import "libpython3.14.so" "PyObject_Call" (func)))
            (@producers (processed-by "wit-component" "0.245.1")))"#;
        assert_eq!(detect(&wasm(py)), PYTHON);
        let rust = r#"(component
            (core module (@producers (processed-by "wit-bindgen-rust" "0.45.0")))
            (@producers (processed-by "wit-component" "0.245.1")))"#;
        assert_eq!(detect(&wasm(rust)), RUST);
        assert_eq!(
            detect(&wasm(
                r#"(component (@producers (processed-by "wit-component" "0.245.1")))"#
            )),
            UNKNOWN
        );
    }

    #[test]
    fn a_module_without_producers_is_unknown() {
        assert_eq!(detect(b"\0asm\x01\0\0\0"), UNKNOWN);
        assert_eq!(detect(b"not wasm at all"), UNKNOWN);
    }

    #[test]
    fn canonical_names() {
        assert_eq!(canonical("python"), PYTHON);
        assert_eq!(canonical("cobol"), UNKNOWN);
    }
}
