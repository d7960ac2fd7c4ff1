//! Reading a platform body: the example check-mode `Subscriptions/Create`
//! (compact, as the load script sends it) parsed into the borrowed tree the
//! server reads (`http::json`), into a `serde_json::Value` (what it read
//! before stop 22), and skipped over (serde_json's parse alone), plus the
//! full read into a `ServiceDefinition` (`http::lenient`).
//!
//! Run: `cargo bench -p tollgate --bench body_parse`

use tollgate::http::json::Json;

fn main() {
    divan::main();
}

fn body() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/requests/subscription-create-check.json"
    );
    let text = std::fs::read(path).expect("the example body");
    let value: serde_json::Value = serde_json::from_slice(&text).expect("JSON");
    serde_json::to_vec(&value).expect("compact")
}

#[divan::bench]
fn borrowed_tree(bencher: divan::Bencher) {
    let body = body();
    bencher.bench_local(|| Json::parse(divan::black_box(&body)).expect("parses"));
}

#[divan::bench]
fn serde_json_value(bencher: divan::Bencher) {
    let body = body();
    bencher.bench_local(|| {
        serde_json::from_slice::<serde_json::Value>(divan::black_box(&body)).expect("parses")
    });
}

#[divan::bench]
fn parse_only(bencher: divan::Bencher) {
    let body = body();
    bencher.bench_local(|| {
        serde_json::from_slice::<serde::de::IgnoredAny>(divan::black_box(&body)).expect("parses")
    });
}

#[divan::bench]
fn service_definition(bencher: divan::Bencher) {
    let body = body();
    bencher.bench_local(|| {
        let tree = Json::parse(divan::black_box(&body)).expect("parses");
        tollgate::http::lenient::service_definition(&tree, false).expect("reads")
    });
}
