//! Property-based fuzzing of request parsing. Arbitrary JSON, mutated spec
//! bodies and raw bytes go through the parser and through the whole router:
//! parsing never panics, every refusal names a field, and no input makes
//! the server answer 5xx.
//!
//! Longer runs: `PROPTEST_CASES=100000 cargo test --release -p tollgate --test fuzz_requests`.

mod common;

use common::*;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tollgate::http::json::Json;
use tollgate::http::lenient::{self, FieldError};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("Provision"),
            Just("cancel"),
            Just("7"),
            Just("-1"),
            Just("true"),
            Just("")
        ]
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("ID".to_string()),
                    Just("Quantity".to_string()),
                    Just("ProductID".to_string()),
                    Just("Account".to_string()),
                    Just("Addons".to_string()),
                    Just("AttributeList".to_string()),
                    Just("ActionType".to_string()),
                    Just("CheckOnly".to_string()),
                    Just("Value".to_string()),
                    "[A-Za-z]{1,10}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A valid body with one key somewhere replaced by an arbitrary value, and
/// the path of that key.
fn arb_mutated_at() -> impl Strategy<Value = (Vec<&'static str>, Value)> {
    let mut body = create("p-1", "20417", 5, true);
    body["Addons"] = json!([vault("Provision", 2)]);
    let paths: Vec<Vec<&'static str>> = vec![
        vec!["Quantity"],
        vec!["ProductID"],
        vec!["ActionType"],
        vec!["Account"],
        vec!["Account", "ID"],
        vec!["Account", "SyncOptions"],
        vec!["Account", "Address"],
        vec!["AttributeList"],
        vec!["AttributeList", "storage_gb"],
        vec!["AttributeList", "storage_gb", "Value"],
        vec!["Addons"],
        vec!["CustomFieldValues"],
        vec!["IsTrial"],
    ];
    (prop::sample::select(paths), arb_json()).prop_map(move |(path, value)| {
        let mut b = body.clone();
        let mut at = &mut b;
        for key in &path[..path.len() - 1] {
            at = &mut at[*key];
        }
        at[*path.last().unwrap()] = value;
        (path, b)
    })
}

fn arb_mutated() -> impl Strategy<Value = Value> {
    arb_mutated_at().prop_map(|(_, body)| body)
}

/// A path of a refusal (`Addons[0].ActionType`) as keys and indexes.
enum Step {
    Key(String),
    Index(usize),
}

fn steps(path: &str) -> Vec<Step> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, indexes) = part.split_once('[').map_or((part, ""), |(k, i)| (k, i));
        out.push(Step::Key(key.to_string()));
        for index in indexes.split('[') {
            if let Some(n) = index.strip_suffix(']') {
                out.push(Step::Index(n.parse().expect("an index")));
            }
        }
    }
    out
}

/// The value a refusal's path names in the body, looked up as the parser
/// reads keys (the exact spelling first, then ignoring case).
fn lookup<'a>(body: &'a Value, path: &str) -> Option<&'a Value> {
    let mut at = body;
    for step in steps(path) {
        at = match (step, at) {
            (Step::Key(k), Value::Object(map)) => map.get(&k).or_else(|| {
                map.iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(&k))
                    .map(|(_, v)| v)
            })?,
            (Step::Index(i), Value::Array(items)) => items.get(i)?,
            _ => return None,
        };
    }
    Some(at)
}

/// How the parser describes a value ("the text \"x\"", "a list", …).
fn described(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(_) => "the number".into(),
        Value::String(s) if s.chars().count() > 60 => {
            format!(
                "the text {:?}",
                format!("{}…", s.chars().take(60).collect::<String>())
            )
        }
        Value::String(s) => format!("the text {s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// The refusal names a field of `body`, and says what is wrong with it: a
/// wrong type names a value that is there and describes it as it is; a
/// missing field names one that is absent.
fn names_a_field(e: &FieldError, body: &Value) -> Result<(), String> {
    let text = e.to_string();
    if !text.ends_with('.') || text.len() >= 400 {
        return Err(format!("not one sentence: {text}"));
    }
    match e {
        FieldError::Type { path, found, .. } if path == "The request body" => (!body.is_object()
            && found.starts_with(&described(body)))
        .then_some(())
        .ok_or(format!("the body is an object: {text}")),
        FieldError::Type { path, found, .. } => match lookup(body, path) {
            Some(v) if found.starts_with(&described(v)) => Ok(()),
            Some(v) => Err(format!("{path} is {v}, not {found}: {text}")),
            None => Err(format!("{path} is not in the body: {text}")),
        },
        // Absent, or `null` (which the reading rules count as absent).
        FieldError::Missing { path } => match lookup(body, path) {
            None | Some(Value::Null) => Ok(()),
            Some(v) => Err(format!("{path} is there ({v}): {text}")),
        },
    }
}

/// The refusal's path is the mutated key or lies under it.
fn under(e: &FieldError, mutated: &[&str]) -> bool {
    let path = match e {
        FieldError::Type { path, .. } | FieldError::Missing { path } => path,
    };
    let prefix = mutated.join(".");
    path == &prefix
        || path.starts_with(&format!("{prefix}."))
        || path.starts_with(&format!("{prefix}["))
}

/// Failing inputs are recorded in `fuzz_requests.proptest-regressions`
/// beside this file and replayed first on every run; runs are reproducible
/// (a fixed seed, unless `PROPTEST_RNG_SEED` says otherwise).
fn config(default_cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig::with_source_file(file!());
    config.failure_persistence = Some(Box::new(
        proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
    ));
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default_cases;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = proptest::test_runner::RngSeed::Fixed(0x7011_6a7e);
    }
    config
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn parsing_arbitrary_json_never_panics(value in arb_json(), require_id in any::<bool>()) {
        let bytes = serde_json::to_vec(&value).unwrap();
        let body = Json::parse(&bytes).unwrap();
        if let Err(e) = lenient::service_definition(&body, require_id) {
            let named = names_a_field(&e, &value);
            prop_assert!(named.is_ok(), "{}", named.unwrap_err());
        }
        let _ = lenient::account_body(&body, require_id);
        let _ = lenient::field_values(&body);
    }

    #[test]
    fn mutated_spec_bodies_parse_or_name_the_field((path, value) in arb_mutated_at()) {
        let bytes = serde_json::to_vec(&value).unwrap();
        match lenient::service_definition(&Json::parse(&bytes).unwrap(), false) {
            Ok(def) => prop_assert!(def.quantity >= i64::from(i32::MIN) && def.quantity <= i64::from(i32::MAX)),
            Err(e) => {
                let named = names_a_field(&e, &value);
                prop_assert!(named.is_ok(), "{}", named.unwrap_err());
                prop_assert!(under(&e, &path), "{path:?} was mutated, the refusal names another field: {e}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_input_makes_the_server_answer_5xx() {
    let server = Server::start().await;
    let tenant = server.tenant("Fuzz").await;
    tenant.bind_min_max().await;
    let paths = [
        "/api/Subscriptions/Create",
        "/api/Subscriptions/Update",
        "/api/Addons/Create",
        "/api/Accounts/Synchronize",
        "/api/Fields/Validate",
    ];
    let strategy = (
        prop::sample::select(paths.to_vec()),
        prop_oneof![
            arb_mutated().prop_map(|v| v.to_string().into_bytes()),
            arb_json().prop_map(|v| v.to_string().into_bytes()),
            prop::collection::vec(any::<u8>(), 0..256),
        ],
    );
    // The runner shrinks a failing input to a minimal one and records it.
    let mut runner = proptest::test_runner::TestRunner::new(config(64));
    let http = client();
    let handle = tokio::runtime::Handle::current();
    let url = server.url.clone();
    let result = tokio::task::block_in_place(|| {
        runner.run(&strategy, |(path, body)| {
            handle.block_on(async {
                let response = http
                    .post(format!("{url}{path}"))
                    .header(
                        "X-CloudPlatform-ApplicationId",
                        &tenant.secrets.application_id,
                    )
                    .header("X-CloudPlatform-APIKey", tenant.api_key_header())
                    .body(body.clone())
                    .send()
                    .await
                    .expect("the server answers");
                let status = response.status();
                prop_assert!(
                    !status.is_server_error(),
                    "{path} {}: {status}",
                    String::from_utf8_lossy(&body)
                );
                let (_, answer) = read(response).await;
                prop_assert!(
                    answer["Code"].is_i64() || answer.is_array() || answer.is_boolean(),
                    "{path}: {answer}"
                );
                Ok(())
            })
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    server.stop().await;
}
