//! What a deployment runs: the one `bootstrap` binary (infra/bootstrap) holds every function of
//! `functions/`, the template names each by its `Handler`, and the binary serves the function
//! its handler names (Lambda passes it in `_HANDLER`).

use crate::helpers::Stack;
use std::collections::BTreeSet;
use tests::emulator::workspace_root;
use tests::runtime_api::{invoke, Ending};

/// The handler names the bootstrap binary dispatches on, read from its `functions!` table
/// (`"create-service" => create_service,`), each checked to name the crate of that package.
fn bootstrap_handlers() -> BTreeSet<String> {
    let source = std::fs::read_to_string(workspace_root().join("infra/bootstrap/src/main.rs")).unwrap();
    let table = source.split("functions! {").nth(1).expect("the functions! table").split('}').next().unwrap();
    let mut handlers = BTreeSet::new();
    for line in table.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (name, krate) = line.trim_end_matches(',').split_once(" => ").expect("\"name\" => crate");
        let name = name.trim_matches('"');
        assert_eq!(krate, name.replace('-', "_"), "{name} runs another package's crate");
        assert!(handlers.insert(name.to_owned()), "{name} is listed twice");
    }
    handlers
}

#[test]
fn the_bootstrap_binary_holds_every_function_the_template_deploys() {
    let packages = tests::emulator::function_packages();
    let template: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(workspace_root().join("infra/template.yaml")).unwrap())
            .unwrap();
    let mut deployed = BTreeSet::new();
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] == "AWS::Serverless::Function" {
            let handler = resource["Properties"]["Handler"].as_str();
            deployed.insert(handler.unwrap_or_else(|| panic!("{name:?} has no Handler")).to_owned());
        }
    }
    assert_eq!(template["Globals"]["Function"]["CodeUri"], "../target/package", "the one package");
    assert_eq!(bootstrap_handlers(), packages, "infra/bootstrap and functions/ disagree");
    assert_eq!(deployed, packages, "the template's handlers and functions/ disagree");
}

#[tokio::test]
async fn the_bootstrap_binary_serves_the_function_its_handler_names() {
    let stack = Stack::new().await;
    let event: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("events/get-tariff.json")).unwrap(),
    )
    .unwrap();
    let mut env = stack.function_env();
    env.push(("_HANDLER", "get-tariff".to_owned()));
    match invoke("bootstrap", &env, &event).await {
        // The route's own answer: the tariff the sample names, from the stack's catalog.
        Ending::Answered(answer) => {
            assert_eq!(answer["statusCode"], 200, "{answer}");
            let tariff: serde_json::Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
            assert_eq!(tariff["id"], "vps-start");
        }
        other => panic!("get-tariff through bootstrap: {other:?}"),
    }
    env.pop();
    env.push(("_HANDLER", "get-nothing".to_owned()));
    let unknown = invoke("bootstrap", &env, &event).await;
    assert!(matches!(unknown, Ending::Crashed(Some(code)) if code != 0), "an unknown handler: {unknown:?}");
}
