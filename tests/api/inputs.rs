//! Generated input over every route (issue 12, defect 11): bodies and query strings built from
//! extreme numbers, dates at the edges of the calendar, deep nesting and odd Unicode, put in
//! place of each field of the route's sample body, or instead of the whole body. No input may
//! panic a handler or get a 5xx; every refusal is problem+json.
//!
//! `INPUT_CASES` sets the cases per route and principal (default 6) and `INPUT_SEED` the seed
//! (default fixed, so a failure repeats).

use crate::helpers::{id_of, Call, Stack};
use crate::security::sample_body;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Value};
use tests::router;

/// Numbers at the edges of what JSON, u64, i64 and f64 carry.
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(0)),
        Just(json!(-1)),
        Just(json!(1_000_000_000_001_u64)),
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(9_223_372_036_854_775_808_u64)),
        Just(json!(1e308)),
        Just(json!(-0.0)),
        Just(json!(0.5)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u32>().prop_map(|n| json!(n)),
    ]
}

/// Dates around the ends of the calendar and of months, and text that only looks like one.
const DATES: [&str; 10] = [
    "9999-12-31T23:30:00-01:00",
    "9999-12-31T23:59:59Z",
    "0000-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "2028-02-29T00:00:00Z",
    "2027-02-29T00:00:00Z",
    "2999-12-31T23:59:59.999+14:00",
    "+10000-01-01T00:00:00Z",
    "2026-11-31T00:00:00Z",
    "2026-12-01T00:00:00.000000000001Z",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(DATES.to_vec()).prop_map(str::to_owned),
        Just(String::new()),
        Just("\u{0}".to_owned()),
        Just("\u{202e}gnp.exe\u{200b}".to_owned()),
        Just("𝕏".repeat(300)),
        Just("../..".to_owned()),
        Just("%2E%2E".to_owned()),
        any::<String>(),
        "[a-z0-9-]{1,12}",
    ]
}

fn atom() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        text().prop_map(Value::String),
    ]
}

/// A JSON value of atoms, arrays and objects, sometimes nested past what a parser allows.
fn value() -> impl Strategy<Value = Value> {
    let nested = atom().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop_oneof![
        4 => nested,
        1 => (1usize..400).prop_map(|depth| (0..depth).fold(json!(1), |inner, _| json!([inner]))),
    ]
}

/// A body: the sample with one field (at any depth) replaced, or a value instead of it.
fn body(sample: Option<Value>) -> impl Strategy<Value = Option<Value>> {
    let sample = sample.unwrap_or_else(|| json!({}));
    let fields = field_paths(&sample);
    prop_oneof![
        3 => (proptest::sample::select(fields.clone().max_or_root()), value()).prop_map(move |(path, v)| {
            let mut body = sample.clone();
            replace(&mut body, &path, v);
            Some(body)
        }),
        1 => value().prop_map(Some),
        1 => Just(None),
    ]
}

/// A query string of the parameters the route reads (`names`, from openapi.yaml) and one it
/// does not, with generated values.
fn query(names: Vec<String>) -> impl Strategy<Value = String> {
    let mut names = names;
    names.push("unknown".to_owned());
    prop::collection::vec((proptest::sample::select(names), text()), 0..4).prop_map(|pairs| {
        pairs.iter().map(|(k, v)| format!("{k}={}", escape(v))).collect::<Vec<_>>().join("&")
    })
}

/// The query parameters openapi.yaml gives each route, by method and path (references to
/// `components/parameters` followed).
fn query_parameters() -> std::collections::HashMap<(String, String), Vec<String>> {
    let path = tests::emulator::workspace_root().join("openapi.yaml");
    let spec: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let resolve = |p: &serde_yaml::Value| -> serde_yaml::Value {
        match p["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/parameters/")) {
            Some(name) => spec["components"]["parameters"][name].clone(),
            None => p.clone(),
        }
    };
    let mut by_route = std::collections::HashMap::new();
    for (path, item) in spec["paths"].as_mapping().unwrap() {
        let path = path.as_str().unwrap().to_owned();
        let shared = item["parameters"].as_sequence().cloned().unwrap_or_default();
        for (method, operation) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap().to_uppercase();
            let own = operation["parameters"].as_sequence().cloned().unwrap_or_default();
            let names: Vec<String> = shared
                .iter()
                .chain(&own)
                .map(resolve)
                .filter(|p| p["in"] == "query")
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect();
            by_route.insert((method, path.clone()), names);
        }
    }
    by_route
}

fn escape(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The paths of every field of `value` (object keys and array indexes).
fn field_paths(value: &Value) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let children: Vec<(String, &Value)> = match value {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Value::Array(items) => items.iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect(),
        _ => Vec::new(),
    };
    for (key, child) in children {
        paths.push(vec![key.clone()]);
        paths.extend(field_paths(child).into_iter().map(|mut rest| {
            rest.insert(0, key.clone());
            rest
        }));
    }
    paths
}

trait OrRoot {
    fn max_or_root(self) -> Vec<Vec<String>>;
}

impl OrRoot for Vec<Vec<String>> {
    /// The paths, or the root alone when there are none (a new field is then added).
    fn max_or_root(self) -> Vec<Vec<String>> {
        if self.is_empty() {
            vec![vec!["field".to_owned()]]
        } else {
            self
        }
    }
}

fn replace(target: &mut Value, path: &[String], new: Value) {
    let Some((first, rest)) = path.split_first() else {
        *target = new;
        return;
    };
    let slot = match target {
        Value::Object(map) => map.entry(first.clone()).or_insert(Value::Null),
        Value::Array(items) => match first.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
            Some(slot) => slot,
            None => return,
        },
        other => {
            *other = json!({});
            return replace(other, path, new);
        }
    };
    replace(slot, rest, new);
}

fn generate<T>(runner: &mut TestRunner, strategy: &impl Strategy<Value = T>) -> T {
    strategy.new_tree(runner).expect("a value").current()
}

#[tokio::test]
async fn no_generated_input_panics_a_handler_or_gets_a_5xx() {
    let cases: usize = std::env::var("INPUT_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(6);
    let seed: u64 = std::env::var("INPUT_SEED").ok().and_then(|n| n.parse().ok()).unwrap_or(12);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);

    let stack = Stack::on_november_first().await;
    let alice = stack.client("alice");
    let service = id_of(&stack.active_vps("alice").await);
    let ticket = json!({"subject": "Hello", "message": "A question"});
    let ticket = id_of(stack.post(&format!("/services/{service}/tickets"), &alice, ticket).await.ok(201));
    let payment = id_of(stack.post("/payments", &alice, json!({"amount": 100})).await.ok(201));
    stack.fund("alice", 100_000).await;
    let mut answered = 0;
    let (parameters, mut queried) = (query_parameters(), 0);
    for route in router::routes().into_iter().filter(|r| r.function != crate::routes::CONSOLE) {
        let sample = sample_body(&route.function);
        let bodies = body(sample);
        let names = parameters.get(&(route.method.clone(), route.path.clone())).cloned().unwrap_or_default();
        queried += names.len();
        let queries = query(names);
        for case in 0..cases {
            let id = match route.path.as_str() {
                p if p.starts_with("/tickets/") => ticket.clone(),
                p if p.starts_with("/payments/") => payment.clone(),
                _ => service.clone(),
            };
            // A path segment is never empty: API Gateway routes no such path to a function.
            let odd = Some(escape(&generate(&mut runner, &text()))).filter(|s| !s.is_empty());
            let odd = odd.unwrap_or_else(|| "%20".to_owned());
            let path = route
                .path
                .replace("{id}", &id)
                .replace("{client_id}", if case % 2 == 0 { "alice" } else { &odd })
                .replace("{type}", if case % 3 == 0 { &odd } else { "vps" })
                .replace("{ip}", &odd)
                .replace("{vs_id}", &odd);
            let query = generate(&mut runner, &queries);
            let path = if query.is_empty() { path } else { format!("{path}?{query}") };
            let token = if case % 2 == 0 { alice.clone() } else { stack.provider() };
            let mut call = Call::new(&route.method, &path).token(&token);
            if let Some(body) = generate(&mut runner, &bodies) {
                call = call.raw(&body.to_string());
            }
            let reply = stack.send(call).await;
            let shown = format!("{} {path}: {} {}", route.method, reply.status, reply.body);
            assert!(reply.status < 500, "{shown}");
            if reply.status >= 400 {
                assert_eq!(reply.header("content-type"), Some("application/problem+json"), "{shown}");
            }
            answered += 1;
        }
    }
    assert!(answered >= 2 * 40, "every route was called: {answered}");
    assert!(queried >= 20, "the routes' query parameters were read from openapi.yaml: {queried}");
}
