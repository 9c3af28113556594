//! Every failure answers problem+json, and nothing internal leaks into it.

use crate::helpers::{Call, Stack};
use serde_json::json;

#[tokio::test]
async fn malformed_bodies_are_400() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    for body in [
        "",
        "{",
        "[]",
        "null",
        r#"{"tariff_id": 5, "period_months": 1}"#,
        r#"{"period_months": 1}"#,
        r#"{"tariff_id": "vps-start", "period_months": -1}"#,
    ] {
        let reply = stack.send(Call::new("POST", "/services").token(&alice).raw(body)).await;
        reply.problem(400);
    }
}

#[tokio::test]
async fn a_body_not_declared_as_json_is_415_and_changes_nothing() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let order = json!({"tariff_id": "vps-start", "period_months": 1, "params": {"os_template": "debian-12"}});
    let call = || Call::new("POST", "/services").token(&alice).json(&order);
    for refused in [call().header("content-type", "text/plain"), call().without_content_type()] {
        let detail = stack.send(refused).await.problem(415);
        assert!(detail.contains("application/json"), "{detail}");
    }
    let listed = stack.get("/services", &alice).await.ok(200).clone();
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(0), "nothing ordered: {listed}");
    for accepted in ["application/json; charset=utf-8", "Application/JSON", "application/merge-patch+json"] {
        stack.send(call().header("content-type", accepted)).await.ok(201);
    }
    // A route that takes no body takes none of any type, and a `{}` only as JSON.
    let id = stack.get("/services", &alice).await.ok(200)["items"][0]["id"].as_str().unwrap().to_owned();
    let typed = Call::new("POST", &format!("/services/{id}/reboot")).token(&alice).raw("{}");
    stack.send(typed.header("content-type", "text/plain")).await.problem(415);
}

#[tokio::test]
async fn a_body_over_64_kib_is_413() {
    let stack = Stack::new().await;
    let huge =
        json!({"tariff_id": "vps-start", "period_months": 1, "params": {"os_template": "x".repeat(70_000)}});
    stack.post("/services", &stack.client("alice"), huge.clone()).await.problem(413);
    let call = Call::new("POST", "/services")
        .token(&stack.client("alice"))
        .header("idempotency-key", "k1")
        .json(&huge);
    stack.send(call).await.problem(413);
}

#[tokio::test]
async fn errors_name_no_table_keys_or_sdk_text() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let answers = [
        stack.get("/services/01JZZZZZZZZZZZZZZZZZZZZZZZ", &alice).await,
        stack.post("/services", &alice, json!({"tariff_id": "none", "period_months": 1})).await,
        stack.post("/tariffs", &alice, json!({})).await,
        stack.get("/services?cursor=djE6U1ZDIw", &alice).await,
    ];
    for reply in answers {
        let text = reply.body.to_string();
        assert!(reply.status >= 400, "{text}");
        for leak in ["SVC#", "CLIENT#", "gsi", "pk", "dynamodb", "DynamoDB", "ConditionalCheck"] {
            assert!(!text.contains(leak), "{leak} leaks in {text}");
        }
    }
}

#[tokio::test]
async fn a_cursor_that_names_no_position_of_its_list_is_a_400() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    stack.fund("alice", 100).await;
    for list in ["/tickets", "/account", "/clients/alice/account"] {
        let token = if list.starts_with("/clients") { stack.provider() } else { alice.clone() };
        // Not an id: DynamoDB would refuse a start key past its key size with a 500.
        for position in ["x".repeat(1100), "LEDGER#".into(), "not-an-id".into()] {
            let cursor = shared::http::encode_cursor(&position);
            let reply = stack.get(&format!("{list}?cursor={cursor}"), &token).await;
            assert!(reply.problem(400).contains("cursor"), "{list} {position:.20}");
        }
    }
}

#[tokio::test]
async fn a_failing_store_answers_500_without_detail() {
    let stack = Stack::new().await;
    let store = shared::store::Store::new(stack.app.store.client().clone(), "no-such-table");
    let app = shared::App::new(store, stack.app.auth.clone(), stack.app.clock.clone());
    let reply = stack.send_with(&app, Call::new("GET", "/services").token(&stack.client("alice"))).await;
    let detail = reply.problem(500);
    assert!(!detail.contains("no-such-table") && !detail.contains("ResourceNotFound"), "{detail}");
}
