//! The documents name the tests that prove their claims (SECURITY.md's
//! bounds, ARCHITECTURE.md's claims table, README, PLUGINS.md): every test
//! they name must exist where its path says, so a renamed or moved test
//! cannot leave a claim pointing at nothing.

use std::fs;
use std::path::{Path, PathBuf};

const DOCUMENTS: [&str; 4] = ["SECURITY.md", "ARCHITECTURE.md", "README.md", "PLUGINS.md"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// A backticked `a::b::test_name` (or `a::test_prefix_*`): lowercase path
/// segments, and a last segment with at least three underscores — the
/// shape of this project's test names, not of its functions and types.
fn named_tests(text: &str) -> Vec<(Vec<String>, String)> {
    let prose = outside_fences(text);
    prose
        .split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|span| {
            let mut segments: Vec<&str> = span.split("::").collect();
            let name = segments.pop()?;
            let test_like = name.matches('_').count() >= 3
                && name
                    .trim_end_matches('*')
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            let lowercase_path = !segments.is_empty()
                && segments.iter().all(|s| {
                    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                });
            (test_like && lowercase_path).then(|| {
                let segments = segments.iter().map(|s| s.to_string()).collect();
                (segments, name.to_string())
            })
        })
        .collect()
}

/// The text outside fenced code blocks (a fence's backticks would
/// otherwise pair with the inline ones). An inline span may wrap across
/// lines; a test path has no whitespace, so a wrapped span is not one.
fn outside_fences(text: &str) -> String {
    let mut fenced = false;
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect();
    lines.join("\n")
}

/// Where a test named `segments::name` may live: an end-to-end test
/// binary, one of the host's own test binaries, or a library module (its
/// `tests` submodule in the same file).
fn candidates(root: &Path, segments: &[String]) -> Vec<PathBuf> {
    let first = &segments[0];
    let module: Vec<&str> = segments
        .iter()
        .map(String::as_str)
        .filter(|s| *s != "tests")
        .collect();
    let module = module.join("/");
    vec![
        root.join(format!("tests/e2e/{first}.rs")),
        root.join(format!("host/tests/{first}.rs")),
        root.join(format!("host/src/{module}.rs")),
        root.join(format!("host/src/{module}/mod.rs")),
    ]
}

fn defines(source: &str, name: &str) -> bool {
    match name.strip_suffix('*') {
        Some(prefix) => source.contains(&format!("fn {prefix}")),
        None => source.contains(&format!("fn {name}(")),
    }
}

#[test]
fn every_test_a_document_names_exists_where_its_path_says() {
    let root = root();
    let mut checked = 0;
    let mut missing = Vec::new();
    for document in DOCUMENTS {
        let text = fs::read_to_string(root.join(document)).expect(document);
        for (segments, name) in named_tests(&text) {
            let files: Vec<PathBuf> = candidates(&root, &segments)
                .into_iter()
                .filter(|f| f.is_file())
                .collect();
            let found = files
                .iter()
                .any(|f| defines(&fs::read_to_string(f).unwrap_or_default(), &name));
            checked += 1;
            if !found {
                missing.push(format!("{document}: {}::{name}", segments.join("::")));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "named but not found:\n{}",
        missing.join("\n")
    );
    // The documents name well over a hundred tests; far fewer means the
    // extraction broke, not that the documents changed.
    assert!(checked > 100, "only {checked} test names found");
}

#[test]
fn a_test_name_is_told_apart_from_other_code_spans() {
    let text = "see `operations::a_stalled_log_reader_does_not_stall_calls`, \
                `hardening::a_plugin_that_logs_megabytes_*`, `store::decisions::merged_input`, \
                `Component::initialize_copy_on_write_image`, `--log-queue-lines`";
    let found = named_tests(text);
    let found: Vec<(Vec<&str>, &str)> = found
        .iter()
        .map(|(path, name)| (path.iter().map(String::as_str).collect(), name.as_str()))
        .collect();
    assert_eq!(
        found,
        vec![
            (
                vec!["operations"],
                "a_stalled_log_reader_does_not_stall_calls"
            ),
            (vec!["hardening"], "a_plugin_that_logs_megabytes_*"),
        ]
    );
    let fenced = "```sh\ncargo test `odd\n```\n`budgets::a_b_c_d`";
    assert_eq!(named_tests(fenced).len(), 1);
    assert!(defines("fn a_b_c_d() {}", "a_b_c_d"));
    assert!(!defines("fn a_b_c_de() {}", "a_b_c_d"));
    assert!(defines("fn a_b_c_de() {}", "a_b_c_*"));
}
