//! The reliability suite: conflicting operations at once, idempotent replays, and the queue
//! delivering every message more than once while the panel fails at first. The longer variant
//! of the queue test runs with `RELIABILITY_OPERATIONS=1000` (see docs/development.md).

use crate::helpers::{id_of, Call, Reply, Stack};
use futures::future::join_all;
use serde_json::{json, Value};
use std::collections::HashMap;

/// One of the conflicting writes fired at a service.
fn conflicting(i: usize, id: &str, alice: &str, provider: &str) -> Call {
    let post = |op: &str, token: &str, body: Value| {
        Call::new("POST", &format!("/services/{id}/{op}")).token(token).json(&body)
    };
    match i % 6 {
        0 => post("disable", provider, json!({})),
        1 => post("enable", provider, json!({})),
        2 => post("renew", alice, json!({"periods": 1})),
        3 => post(
            "change-tariff",
            alice,
            json!({"tariff_id": if i % 12 < 6 { "vps-pro" } else { "vps-start" }}),
        ),
        4 => Call::new("PATCH", &format!("/services/{id}"))
            .token(alice)
            .json(&json!({"auto_renew": {"enabled": i.is_multiple_of(4), "period_months": 1}})),
        _ => Call::new("DELETE", &format!("/services/{id}")).token(provider),
    }
}

#[tokio::test]
async fn fifty_conflicting_writes_at_once_serialize() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let provider = stack.provider();
    let id = id_of(&stack.active_vps("alice").await);
    stack.fund("alice", 100_000).await;
    for round in 0..4 {
        let before = stack.service(&id).await;
        if before["status"] == "deleted" {
            break;
        }
        let history_before = stack.history(&id).await.len();
        // The last round includes deletions; the others do not, so the rounds go on.
        let calls: Vec<Call> = (0..50)
            .map(|i| if round < 3 && i % 6 == 5 { 0 } else { i })
            .map(|i| conflicting(i, &id, &alice, &provider))
            .collect();
        let replies: Vec<Reply> = join_all(calls.into_iter().map(|c| stack.send(c))).await;
        let accepted: Vec<&Reply> = replies.iter().filter(|r| r.status < 300).collect();
        for refused in replies.iter().filter(|r| r.status >= 300) {
            assert!([402, 403, 409, 422].contains(&refused.status), "{}", refused.body);
        }
        let after = stack.service(&id).await;
        let versions = after["version"].as_u64().unwrap() - before["version"].as_u64().unwrap();
        assert_eq!(versions, accepted.len() as u64, "round {round}: one version per accepted write");
        let history = stack.history(&id).await;
        assert_eq!(
            history.len() - history_before,
            accepted.len(),
            "round {round}: one entry per accepted write"
        );
        // A serial order: every accepted write but the last left the service at rest, since
        // nothing is accepted while an operation runs.
        for entry in &history[history_before..history.len().saturating_sub(1)] {
            assert_ne!(
                entry.2, "in_progress",
                "round {round}: accepted behind a running operation: {history:?}"
            );
        }
        // The ledger adds up to the balance (checked inside `balance`).
        stack.balance("alice").await;
        stack.drain_queue(10).await;
        let rested = stack.service(&id).await;
        assert_ne!(rested["status"], "in_progress", "{rested}");
    }
}

#[tokio::test]
async fn a_key_replayed_twenty_times_ten_at_once_has_one_effect_and_one_answer() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let order = json!({"tariff_id": "vps-start", "period_months": 1, "params": {"os_template": "debian-12"}});
    let keyed = |body: &Value| {
        Call::new("POST", "/services").token(&alice).header("idempotency-key", "once").json(body)
    };
    let concurrent: Vec<Reply> = join_all((0..10).map(|_| stack.send(keyed(&order)))).await;
    let mut answers: Vec<Reply> = concurrent;
    for _ in 0..10 {
        answers.push(stack.send(keyed(&order)).await);
    }
    let first = answers[0].ok(201).clone();
    for answer in &answers {
        assert_eq!((answer.status, &answer.body), (201, &first), "identical answers");
    }
    let listed = stack.get("/services", &alice).await.ok(200).clone();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "one effect: {listed}");

    // Another body under the key: 422, while the first runs and after it.
    let mut other = order.clone();
    other["period_months"] = json!(3);
    stack.send(keyed(&other)).await.problem(422);
    let renew = |token: &str, body: Value| {
        Call::new("POST", &format!("/services/{}/renew", id_of(&first)))
            .token(token)
            .header("idempotency-key", "once")
            .json(&body)
    };
    stack.send(renew(&alice, json!({"periods": 1}))).await.problem(422);
    let (a, b) = tokio::join!(stack.send(keyed(&order)), stack.send(keyed(&other)));
    assert_eq!((a.status, b.status), (201, 422));
}

/// Receives every message waiting on the operations queue, deleting each.
/// `count` VPS of alice, paid for with their activation queued, written straight to the table
/// (ordering and checking out through the routes is tested elsewhere; a thousand of them would
/// take the emulator half an hour): the bodies of the messages their checkout would send.
async fn paid_services(stack: &Stack, count: usize) -> Vec<String> {
    use shared::domain::{Clock, Principal, Role};
    use shared::store::batch::{history_item, service_item};
    let now = stack.clock.now();
    let alice = Principal { id: shared::domain::ClientId::parse("alice").unwrap(), role: Role::Client };
    let (mut items, mut bodies) = (Vec::new(), Vec::new());
    for i in 0..count {
        let (ordered, created) = tests::stack::vps_order("alice", now);
        let paid = ordered.pay_order(&(&alice).into(), now).expect("payable");
        items.push(service_item(&paid.service).unwrap());
        items.push(history_item(&ordered, &created).unwrap());
        items.push(history_item(&paid.service, &paid.entry).unwrap());
        let message = shared::queue::OperationMessage {
            service_id: ordered.id.to_string(),
            operation_id: paid.queued.clone().expect("an activation"),
            // As queued before messages named it (the worker reads every type's rules), or naming
            // another type than the service's (the worker reads its own type's rules too).
            product_type: (i % 2 == 1).then_some(shared::domain::ProductType::Domain),
        };
        bodies.push(serde_json::to_string(&message).unwrap());
    }
    tests::stack::put_items(&stack.app.store, items).await.expect("seeded");
    bodies
}

#[tokio::test]
async fn every_operation_is_carried_out_once_through_duplicates_and_failures() {
    let operations: usize =
        std::env::var("RELIABILITY_OPERATIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(40);
    let stack = Stack::new().await;
    stack.panel_control("capacity", json!({"vps": operations + 10})).await;
    let bodies = paid_services(&stack, operations).await;
    // Each activation delivered two or three times, poison beside them, a tenth of the panel's
    // calls failing at first.
    let sqs = stack.app.queue.as_ref().unwrap().client();
    let mut sent = 0;
    for (i, body) in bodies.iter().enumerate() {
        for _ in 0..(2 + i % 2) {
            sqs.send_message().queue_url(&stack.queues.operations).message_body(body).send().await.unwrap();
            sent += 1;
        }
    }
    let poison = ["not json", r#"{"service_id": "01JZZZZZZZZZZZZZZZZZZZZZZZ", "operation_id": "x"}"#];
    for body in poison {
        sqs.send_message().queue_url(&stack.queues.operations).message_body(body).send().await.unwrap();
    }
    // Spread out, as a flaky panel fails: every tenth call until a tenth of the operations have
    // failed once (a burst of failures longer than an operation's retries is given up instead).
    stack.panel_control("fail", json!({"product_type": "vps", "count": operations / 10, "every": 10})).await;
    let delivered = stack.drain_queue(10 * operations + 50).await;
    assert!(delivered >= sent, "{delivered} deliveries of {sent} messages");

    let calls = stack.panel_calls().await;
    let failed = calls.iter().filter(|c| c["status"] == 500).count();
    assert_eq!(failed, operations / 10, "a tenth of the operations failed once at the panel");
    let mut done: HashMap<String, usize> = HashMap::new();
    for call in calls.iter().filter(|c| c["status"] == 200) {
        *done.entry(call["request"]["operation_id"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    assert_eq!(done.len(), operations, "every operation carried out");
    assert!(calls.iter().all(|c| c["product_type"] == "vps"), "each on its own type's panel");
    assert!(done.values().all(|n| *n == 1), "none twice: {done:?}");
    let services = stack.get("/services?limit=100", &stack.provider()).await.ok(200).clone();
    let mut active = 0;
    let mut page = services;
    loop {
        for service in page["items"].as_array().unwrap() {
            assert_ne!(service["status"], "in_progress", "{service}");
            let history = stack.history(service["id"].as_str().unwrap()).await;
            let finished = history
                .iter()
                .filter(|(op, b, a)| op == "activation" && b == "in_progress" && a == "active")
                .count();
            assert_eq!(finished, 1, "{history:?}");
            active += 1;
        }
        match page["cursor"].as_str() {
            Some(cursor) => {
                page = stack
                    .get(&format!("/services?limit=100&cursor={cursor}"), &stack.provider())
                    .await
                    .ok(200)
                    .clone()
            }
            None => break,
        }
    }
    assert_eq!(active, operations);
    assert_eq!(stack.dead_letters().await, poison.len(), "the poison, and only it, dead-lettered");
}
