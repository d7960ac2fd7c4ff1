//! Property-based fuzzing of request parsing. Arbitrary JSON, mutated spec
//! bodies and raw bytes go through the parser and through the whole router:
//! parsing never panics, every refusal names a field, and no input makes
//! the server answer 5xx.
//!
//! Longer runs: `PROPTEST_CASES=100000 cargo test --release -p tollgate --test fuzz_requests`.

mod common;

use common::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::{Map, Value, json};
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

/// A valid body with one key somewhere replaced by an arbitrary value.
fn arb_mutated() -> impl Strategy<Value = Value> {
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
        b
    })
}

fn names_a_field(e: &FieldError) -> bool {
    let text = e.to_string();
    !text.is_empty() && text.ends_with('.') && text.len() < 400
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn parsing_arbitrary_json_never_panics(value in arb_json(), require_id in any::<bool>()) {
        if let Err(e) = lenient::service_definition(&value, require_id) {
            prop_assert!(names_a_field(&e), "{e}");
        }
        let _ = lenient::account_body(&value, require_id);
        let _ = lenient::field_values(&value);
    }

    #[test]
    fn mutated_spec_bodies_parse_or_name_the_field(value in arb_mutated()) {
        match lenient::service_definition(&value, false) {
            Ok(def) => prop_assert!(def.quantity >= i64::from(i32::MIN) && def.quantity <= i64::from(i32::MAX)),
            Err(e) => prop_assert!(names_a_field(&e), "{e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_input_makes_the_server_answer_5xx() {
    let server = Server::start().await;
    let tenant = server.tenant("Fuzz").await;
    tenant
        .bind(
            "quantity-limits",
            "min-max",
            test_plugins::MIN_MAX_QUANTITY,
            min_max_config(),
        )
        .await;
    let cases: u32 = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(64);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
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
    let mut inputs = Vec::new();
    for _ in 0..cases {
        inputs.push(strategy.new_tree(&mut runner).expect("case").current());
    }
    let http = client();
    for (path, body) in inputs {
        let response = http
            .post(format!("{}{path}", server.url))
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
        assert!(
            !status.is_server_error(),
            "{path} {}: {status}",
            String::from_utf8_lossy(&body)
        );
        let (_, answer) = read(response).await;
        assert!(
            answer["Code"].is_i64() || answer.is_array() || answer.is_boolean(),
            "{path}: {answer}"
        );
    }
    server.stop().await;
}
