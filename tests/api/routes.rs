//! The route table is one truth: what `cargo lambda watch` serves (Cargo.toml's router), what
//! openapi.yaml documents, what infra/template.yaml deploys, the function packages, and the
//! sample events all name the same routes and functions.

use crate::helpers::{Call, Stack};
use std::collections::BTreeSet;
use tests::emulator::workspace_root;
use tests::router::{routes, Route};

pub(crate) type RouteSet = BTreeSet<(String, String, String)>;

/// The console's function: its routes serve web pages, not the API (docs/console.md).
pub(crate) const CONSOLE: &str = "console";

/// The API's routes: every route but the console's.
pub(crate) fn routed() -> RouteSet {
    routes()
        .into_iter()
        .filter(|route| route.function != CONSOLE)
        .map(|Route { method, path, function }| (method.to_uppercase(), path, function))
        .collect()
}

fn yaml(path: &str) -> serde_yaml::Value {
    let text = std::fs::read_to_string(workspace_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn openapi_documents_exactly_the_served_routes() {
    let spec = yaml("openapi.yaml");
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_mapping().expect("paths") {
        for (method, _) in item.as_mapping().expect("path item") {
            let method = method.as_str().unwrap();
            if ["get", "put", "post", "delete", "patch"].contains(&method) {
                documented.insert((method.to_uppercase(), path.as_str().unwrap().to_owned()));
            }
        }
    }
    let served: BTreeSet<_> = routed().into_iter().map(|(m, p, _)| (m, p)).collect();
    assert_eq!(documented, served, "openapi.yaml and the router disagree");
}

#[test]
fn the_template_deploys_every_route_to_its_function() {
    let template = yaml("infra/template.yaml");
    let mut deployed = RouteSet::new();
    for (_, resource) in template["Resources"].as_mapping().expect("Resources") {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = resource["Properties"]["Handler"].as_str().expect("Handler").to_owned();
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (_, event) in events {
            if event["Type"] == "HttpApi" && binary != CONSOLE {
                let method = event["Properties"]["Method"].as_str().unwrap().to_uppercase();
                let path = event["Properties"]["Path"].as_str().unwrap().to_owned();
                deployed.insert((method, path, binary.clone()));
            }
        }
    }
    assert_eq!(deployed, routed(), "infra/template.yaml and the router disagree");
}

/// The functions the template triggers other than by HTTP (queue, schedules), and those it
/// deploys with no trigger (a migration, invoked by hand).
fn event_functions() -> BTreeSet<String> {
    let template = yaml("infra/template.yaml");
    let mut functions = BTreeSet::new();
    for (_, resource) in template["Resources"].as_mapping().expect("Resources") {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = resource["Properties"]["Handler"].as_str().expect("Handler");
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            functions.insert(binary.to_owned());
            continue;
        };
        if events.values().any(|e| e["Type"] != "HttpApi") {
            functions.insert(binary.to_owned());
        }
    }
    functions
}

#[test]
fn every_function_package_is_deployed_and_has_a_sample_event() {
    let packages = tests::emulator::function_packages();
    let mut functions: BTreeSet<String> = routed().into_iter().map(|(_, _, f)| f).collect();
    functions.insert(CONSOLE.to_owned());
    let queue_functions = event_functions();
    for expected in ["operations-worker", "auto-renewal", "expiry-sweep", "abuse-sweep", "operations-sweep"] {
        assert!(queue_functions.contains(expected), "{expected} is not deployed");
    }
    functions.extend(queue_functions.iter().cloned());
    assert_eq!(packages, functions, "functions/ and the router and template disagree");
    let read = |function: &str| {
        let file = workspace_root().join(format!("events/{function}.json"));
        std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
    };
    // A function serving two routes (a client's and the provider's) has one sample, of either.
    let mut route_keys: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (method, path, function) in routed() {
        route_keys.entry(function).or_default().push(format!("{method} {path}"));
    }
    for (function, keys) in route_keys {
        let text = read(&function);
        let event: serde_json::Value = serde_json::from_str(&text).unwrap();
        let key = event["routeKey"].as_str().unwrap_or_default().to_owned();
        assert!(keys.contains(&key), "{function}: {key} is not one of {keys:?}");
        lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{function}: {e}"));
    }
    for function in queue_functions {
        if function == "operations-worker" {
            let event: aws_lambda_events::event::sqs::SqsEvent =
                serde_json::from_str(&read(&function)).unwrap();
            assert!(!event.records.is_empty(), "{function}");
        }
    }
    // The scheduled jobs share one sample: the event EventBridge Scheduler sends.
    let scheduled: serde_json::Value = serde_json::from_str(&read("scheduled")).unwrap();
    assert_eq!(scheduled["detail-type"], "Scheduled Event");
}

#[tokio::test]
async fn every_route_reaches_a_handler_that_demands_a_principal() {
    let stack = Stack::new().await;
    for (method, path, function) in routed() {
        let concrete = path.replace("{id}", "01JZZZZZZZZZZZZZZZZZZZZZZZ").replace("{type}", "vps");
        let reply = stack.send(Call::new(&method, &concrete)).await;
        assert_eq!(reply.status, 401, "{method} {path} ({function}) answered {}", reply.body);
    }
}

#[test]
fn the_http_api_is_throttled_and_logs_each_request_as_json() {
    let template = yaml("infra/template.yaml");
    let api = &template["Resources"]["HttpApi"]["Properties"];
    let route = &api["DefaultRouteSettings"];
    // `!Ref Parameter`: the limits are the stack's parameters.
    let reference = |value: &serde_yaml::Value| format!("{value:?}");
    assert!(reference(&route["ThrottlingRateLimit"]).contains("ApiRateLimit"), "{route:?}");
    assert!(reference(&route["ThrottlingBurstLimit"]).contains("ApiBurstLimit"), "{route:?}");
    for parameter in ["ApiRateLimit", "ApiBurstLimit"] {
        assert_eq!(template["Parameters"][parameter]["Type"], "Number", "{parameter}");
    }
    let format = api["AccessLogSettings"]["Format"].as_str().expect("an access log format");
    let line: serde_json::Value = serde_json::from_str(format).expect("one JSON object per request");
    assert_eq!(line["requestId"], "$context.requestId");
    let destination = format!("{:?}", api["AccessLogSettings"]["DestinationArn"]);
    assert!(destination.contains("ApiAccessLogs"), "{destination}");
    assert_eq!(template["Resources"]["ApiAccessLogs"]["Type"], "AWS::Logs::LogGroup");
}

#[test]
fn every_function_has_time_for_a_call_through_all_its_retries() {
    let template = yaml("infra/template.yaml");
    let default = template["Globals"]["Function"]["Timeout"].as_u64().expect("a default timeout");
    let call = shared::aws::Resilience::DEPLOYED.operation;
    let mut functions = 0;
    for (name, resource) in template["Resources"].as_mapping().expect("resources") {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        functions += 1;
        let timeout = resource["Properties"]["Timeout"].as_u64().unwrap_or(default);
        // One call that AWS keeps refusing, then the answer (a 503): within the timeout.
        assert!(
            timeout >= call.as_secs() + 3,
            "{name:?}: a timeout of {timeout} s leaves no room for one call's retries ({call:?})"
        );
    }
    assert!(functions > 60, "{functions} functions");
    assert!(shared::sweeps::RUN_RESERVE > call, "a job stops in time to finish its service in hand");
    assert!(
        std::time::Duration::from_secs(operations_worker::WRITE_RESERVE_SECONDS) > call,
        "the worker stops in time to write its outcomes"
    );
}
