//! Login bodies (SPEC §3, §9) over real HTTP: arbitrary bytes, JSON and forms under every
//! content type answer 400, 401, 413 or 415, never a 5xx. The values come from proptest's
//! deterministic runner, drawn inside the test's actix runtime.

use crate::helpers::{spawn_app_with, TestApp};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Map, Value};

const CASES: usize = 300;
const MAX_BODY_BYTES: usize = 1024;

fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "application/json",
            "application/json;charset=UTF-8;charset=UTF-8",
            "APPLICATION/JSON; charset=latin1",
            "application/vnd.api+json",
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=UTF-8",
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/xml",
            ";",
            "",
        ])
        .prop_map(|s| Some(s.to_string())),
        1 => "[ -~]{0,40}".prop_map(Some),
        1 => Just(None),
    ]
}

/// A JSON value of any shape, shallow.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec!["userid", "password", "provider", "domain"])
            .prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // Bytes of any kind, and some past the body limit.
        prop::collection::vec(any::<u8>(), 0..200),
        prop::collection::vec(any::<u8>(), MAX_BODY_BYTES - 24..MAX_BODY_BYTES + 512),
        // A JSON object with the login fields holding anything.
        prop::collection::vec((field_name(), any_json()), 0..5).prop_map(|fields| {
            let object: Map<String, Value> = fields.into_iter().collect();
            serde_json::to_vec(&object).expect("JSON")
        }),
        // JSON that is not an object, or not JSON.
        any_json().prop_map(|v| serde_json::to_vec(&v).expect("JSON")),
        "[ -~]{0,120}".prop_map(String::into_bytes),
        // A form with the login fields holding anything.
        prop::collection::vec((field_name(), any::<String>()), 0..5).prop_map(|pairs| {
            serde_urlencoded::to_string(&pairs)
                .expect("form")
                .into_bytes()
        }),
    ]
}

/// A well-formed login under its own content type, with any userid and password: these get
/// as far as the password check (401).
fn well_formed_login() -> impl Strategy<Value = (Option<String>, Vec<u8>)> {
    (any::<String>(), any::<String>(), any::<bool>()).prop_map(|(userid, password, as_json)| {
        if as_json {
            let body = serde_json::json!({"userid": userid, "password": password});
            (
                Some("application/json;charset=UTF-8;charset=UTF-8".to_string()),
                serde_json::to_vec(&body).expect("JSON"),
            )
        } else {
            let body = serde_urlencoded::to_string([("userid", userid), ("password", password)])
                .expect("form");
            (
                Some("application/x-www-form-urlencoded".to_string()),
                body.into_bytes(),
            )
        }
    })
}

/// A content type and a body, mostly unrelated to each other.
fn request() -> impl Strategy<Value = (Option<String>, Vec<u8>)> {
    prop_oneof![
        3 => (content_type(), body()),
        1 => well_formed_login(),
    ]
}

fn path() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["/login", "/authService/accounts/login"])
}

async fn post(app: &TestApp, path: &str, content_type: Option<&str>, body: Vec<u8>) -> u16 {
    let mut request = app.client.post(format!("{}{path}", app.public)).body(body);
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    request.send().await.expect("request").status().as_u16()
}

#[actix_rt::test]
async fn arbitrary_login_bodies_answer_400_401_413_or_415_and_never_a_5xx() {
    // No lockout in this test: a 429 would be the right answer to hundreds of failures from
    // one address, and it is not what this test is about.
    let app = spawn_app_with(|c| {
        c.server.max_body_bytes = MAX_BODY_BYTES;
        c.login_protection.max_failures = 1_000_000;
        c.login_protection.max_failures_per_address = 1_000_000;
    })
    .await;
    let strategy = (path(), request());
    let mut runner = TestRunner::deterministic();
    let mut failures = Vec::new();

    for _ in 0..CASES {
        let (path, (content_type, body)) =
            strategy.new_tree(&mut runner).expect("a value").current();
        let shown = String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned();
        let status = post(&app, path, content_type.as_deref(), body).await;
        if ![400, 401, 413, 415].contains(&status) {
            failures.push(format!("{path} {content_type:?} {shown:?} → {status}"));
        }
    }

    assert!(
        failures.is_empty(),
        "{} of {CASES} bodies got another answer: {failures:#?}",
        failures.len()
    );
}
