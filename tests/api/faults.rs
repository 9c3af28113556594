//! What AWS does to a busy system, through the fault proxy (`tests/src/faults.rs`): each kind of
//! fault, on the calls where it hurts, is absorbed with nothing lost and nothing done twice, or
//! answered 503 with `Retry-After` when the SDK's retries cannot absorb it.

use crate::helpers::{address_call, id_of, Call, Stack};
use serde_json::{json, Value};
use shared::domain::Clock;
use tests::faults::{Fault, FaultProxy, Rule};

async fn behind_a_proxy() -> (FaultProxy, Stack) {
    let proxy = FaultProxy::start(tests::emulator::ensure_running(), 16).await;
    let stack = Stack::behind(&proxy).await;
    (proxy, stack)
}

fn order() -> Value {
    json!({"tariff_id": "vps-start", "period_months": 1, "params": {"os_template": "debian-12"}})
}

fn keyed_order(token: &str, key: &str) -> Call {
    Call::new("POST", "/services").token(token).header("idempotency-key", key).json(&order())
}

async fn services_of(stack: &Stack, token: &str) -> usize {
    stack.get("/services?limit=100", token).await.ok(200)["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn throttling_is_retried_and_throttling_that_lasts_is_a_503_with_retry_after() {
    let (proxy, stack) = behind_a_proxy().await;
    let alice = stack.client("alice");
    proxy.set_rules(vec![Rule::next("TransactWriteItems", Fault::Throttle, 2)]);
    stack.order_vps(&alice).await;
    assert_eq!(proxy.faults().get(&Fault::Throttle), Some(&2), "both throttled, then retried");

    proxy.set_rules(vec![Rule::always("TransactWriteItems", Fault::Throttle)]);
    let busy = stack.send(keyed_order(&alice, "busy")).await;
    assert!(busy.problem(503).contains("again"));
    assert_eq!(busy.header("retry-after"), Some("1"));
    proxy.set_rules(vec![Rule::share(1.0, &[Fault::Throttle])]);
    let read = stack.get("/services", &alice).await;
    read.problem(503);
    assert_eq!(read.header("retry-after"), Some("1"));

    // Once AWS takes calls again, the same request goes through, once.
    proxy.set_rules(vec![]);
    stack.send(keyed_order(&alice, "busy")).await.ok(201);
    stack.send(keyed_order(&alice, "busy")).await.ok(201);
    assert_eq!(services_of(&stack, &alice).await, 2);
}

#[tokio::test]
async fn a_500_or_a_broken_connection_is_retried() {
    let (proxy, stack) = behind_a_proxy().await;
    proxy.set_rules(vec![
        Rule::next("TransactWriteItems", Fault::ServerError, 1),
        Rule::next("BatchGetItem", Fault::Reset, 1),
        Rule::next("GetItem", Fault::Reset, 1),
    ]);
    stack.fund("alice", 5000).await;
    let faults = proxy.faults();
    assert_eq!(faults.get(&Fault::ServerError), Some(&1), "{faults:?}");
    assert!(faults.get(&Fault::Reset).is_some_and(|n| *n >= 1), "{faults:?}");
    proxy.set_rules(vec![]);
    assert_eq!(stack.balance("alice").await, 5000, "credited once");
}

#[tokio::test]
async fn an_answer_lost_after_a_write_is_retried_into_its_success_once() {
    let (proxy, stack) = behind_a_proxy().await;
    let alice = stack.client("alice");
    // The order's transaction commits; its retry, under the same ClientRequestToken, is told
    // it succeeded (without the emulator's token, the retry's own condition would fail it).
    proxy.set_rules(vec![Rule::next("TransactWriteItems", Fault::LoseAnswer, 1)]);
    let ordered = stack.order_vps(&alice).await;
    assert_eq!(proxy.faults().get(&Fault::LoseAnswer), Some(&1));
    assert_eq!(services_of(&stack, &alice).await, 1);
    assert_eq!(stack.history(&id_of(&ordered)).await.len(), 1, "one history entry");

    // The idempotency key's claim (a conditional put) is written, its answer lost: the retry
    // finds the claim its own, rather than waiting on itself.
    proxy.set_rules(vec![Rule::next("PutItem", Fault::LoseAnswer, 1)]);
    stack.send(keyed_order(&alice, "claim-lost")).await.ok(201);
    assert_eq!(proxy.faults().get(&Fault::LoseAnswer), Some(&2));
    assert_eq!(services_of(&stack, &alice).await, 2);

    // A payment: credited once.
    proxy.set_rules(vec![Rule::next("TransactWriteItems", Fault::LoseAnswer, 1)]);
    stack.fund("alice", 700).await;
    proxy.set_rules(vec![]);
    assert_eq!(stack.balance("alice").await, 700);

    // A conditional put of its own (a new tariff): created, not "exists already".
    proxy.set_rules(vec![Rule::next("TransactWriteItems", Fault::LoseAnswer, 1)]);
    let tariff = json!({"id": "vps-lost", "product_type": "vps", "name": "VPS Lost", "prices": {"1": 900},
                        "required_params": ["os_template"]});
    stack.post("/tariffs", &stack.provider(), tariff).await.ok(201);

    // The activation's message is sent, its answer lost, and sent again by the retry: the
    // worker activates once.
    proxy.set_rules(vec![Rule::next("SendMessageBatch", Fault::LoseAnswer, 1)]);
    stack.fund("alice", ordered["order_price"].as_u64().unwrap()).await;
    proxy.set_rules(vec![]);
    stack.drain_queue(10).await;
    let active = stack.service(&id_of(&ordered)).await;
    assert_eq!(active["status"], "active", "{active}");
    let history = stack.history(&id_of(&ordered)).await;
    let activated = history.iter().filter(|(_, before, after)| before == "in_progress" && after == "active");
    assert_eq!(activated.count(), 1, "{history:?}");
    // Both messages may be in one batch and ask the panel at once: under one operation id,
    // which the panel does once.
    let calls = stack.panel_calls().await;
    let mut operations: Vec<&Value> = calls
        .iter()
        .filter(|c| c["request"]["service_id"] == ordered["id"])
        .map(|c| &c["request"]["operation_id"])
        .collect();
    operations.dedup();
    assert_eq!(operations.len(), 1, "one operation asked of the panel: {calls:?}");
}

#[tokio::test]
async fn a_call_held_past_the_timeout_is_tried_again_and_its_late_arrival_changes_nothing() {
    let (proxy, stack) = behind_a_proxy().await;
    let alice = stack.client("alice");
    proxy.set_rules(vec![Rule::next("TransactWriteItems", Fault::Delay, 1)]);
    // The SDK gives the held attempt up and tries again: the order is answered while the
    // held call is still on its way.
    let held = tests::faults::DELAY - std::time::Duration::from_secs(1);
    let ordered =
        tokio::time::timeout(held, stack.order_vps(&alice)).await.expect("answered before the held call");
    assert_eq!(proxy.faults().get(&Fault::Delay), Some(&1));
    proxy.set_rules(vec![]);
    // The held call reaches the emulator after its retry committed.
    tokio::time::sleep(tests::faults::DELAY + std::time::Duration::from_millis(500)).await;
    assert_eq!(services_of(&stack, &alice).await, 1);
    assert_eq!(stack.history(&id_of(&ordered)).await.len(), 1);
}

#[tokio::test]
async fn a_replacing_write_held_past_its_answer_does_not_undo_a_newer_one() {
    let (proxy, stack) = behind_a_proxy().await;
    let (alice, provider) = (stack.client("alice"), stack.provider());
    let settings = |email: &str| {
        let body = json!({"email": email, "muted": []});
        Call::new("PUT", "/clients/alice/notifications").token(&provider).json(&body)
    };
    // Every attempt of the first write is held: its client is answered 503, and sets the
    // address again, which is written at once.
    proxy.set_rules(vec![Rule::always("TransactWriteItems", Fault::Delay)]);
    stack.send(settings("old@example.com")).await.problem(503);
    proxy.set_rules(vec![]);
    stack.send(settings("new@example.com")).await.ok(200);
    // The held attempts of the first write reach the table after the second.
    tokio::time::sleep(tests::faults::DELAY).await;
    let now = stack.get("/account/notifications", &alice).await.ok(200).clone();
    assert_eq!(now["email"], "new@example.com", "{now}");
}

#[tokio::test]
async fn a_change_whose_message_sqs_will_not_take_stands_and_is_queued_by_the_sweep() {
    let (proxy, stack) = behind_a_proxy().await;
    let alice = stack.client("alice");
    let ordered = stack.order_vps(&alice).await;
    proxy.set_rules(vec![Rule::always("SendMessageBatch", Fault::Throttle)]);
    // The payment and the activation it starts are committed: the answer says so.
    stack.fund("alice", ordered["order_price"].as_u64().unwrap()).await;
    let pending = stack.service(&id_of(&ordered)).await;
    assert_eq!(pending["status"], "in_progress", "{pending}");
    assert_eq!(stack.drain_queue(3).await, 0, "no message was sent");
    // SQS takes messages again; the operation, stalled, is queued by the sweep.
    proxy.set_rules(vec![]);
    stack.clock.set(stack.clock.now().plus_seconds(shared::sweeps::STALLED_AFTER_SECONDS + 60));
    stack.run_job("operations-sweep").await;
    stack.drain_queue(10).await;
    assert_eq!(stack.service(&id_of(&ordered)).await["status"], "active");
}

#[tokio::test]
async fn a_request_out_of_time_answers_503_before_its_deadline_and_releases_its_key() {
    let (proxy, stack) = behind_a_proxy().await;
    let alice = stack.client("alice");
    // Every read held: each one alone would take the SDK its whole operation timeout (the
    // key's claim and release go through).
    let held = ["GetItem", "BatchGetItem", "Query", "TransactWriteItems"];
    proxy.set_rules(held.iter().map(|operation| Rule::always(operation, Fault::Delay)).collect());
    let left = std::time::Duration::from_secs(9);
    let slow = stack.send(keyed_order(&alice, "slow").deadline_in(left));
    let answer = tokio::time::timeout(left, slow).await.expect("answered before Lambda's deadline");
    answer.problem(503);
    assert_eq!(answer.header("retry-after"), Some("1"));
    // The key was given up: the same request goes through once AWS answers again.
    proxy.set_rules(vec![]);
    tokio::time::sleep(tests::faults::DELAY).await;
    stack.send(keyed_order(&alice, "slow")).await.ok(201);
    assert_eq!(services_of(&stack, &alice).await, 1);
}

#[tokio::test]
async fn an_address_removed_on_the_panel_whose_record_failed_is_recorded_by_the_retry() {
    let (proxy, stack) = behind_a_proxy().await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_vps("alice").await);
    stack.fund("alice", 150).await;
    let added = stack.post(&format!("/services/{id}/ip-addresses"), &alice, json!({"version": 4})).await;
    let address = added.ok(201)["address"].as_str().unwrap().to_owned();
    assert_eq!(stack.balance("alice").await, 0);
    let remove = || address_call("DELETE", &id, &format!("/{address}"), &alice, "remove-1");
    // The panel removes the address; the write of that removal is throttled past its retries.
    proxy.set_rules(vec![Rule::always("TransactWriteItems", Fault::Throttle)]);
    stack.send(remove()).await.problem(503);
    proxy.set_rules(vec![]);
    let listed = addresses(&stack, &id).await;
    assert_eq!(listed.len(), 1, "gone from the panel: {listed:?}");

    // A retry that fails before it reaches the panel keeps the key all the same.
    let reads = ["GetItem", "BatchGetItem", "Query"];
    proxy.set_rules(reads.iter().map(|read| Rule::always(read, Fault::Throttle)).collect());
    stack.send(remove()).await.problem(503);
    proxy.set_rules(vec![]);

    // The client's next retry is answered the panel's removal again, and records it, once.
    let retried = stack.send(remove()).await;
    assert_eq!(retried.status, 204, "{}", retried.body);
    assert_eq!(stack.service(&id).await["options"], json!([]), "no longer paid for");
    assert!(stack.balance("alice").await > 0, "the days left are credited");
    let removals =
        stack.history(&id).await.into_iter().filter(|(op, _, _)| op == "ip_address_remove").count();
    assert_eq!(removals, 1);
    assert_eq!(stack.send(remove()).await.status, 204, "and answered again as it was");
}

#[tokio::test]
async fn an_address_given_back_after_its_record_failed_is_not_charged_by_the_retry() {
    let (proxy, stack) = behind_a_proxy().await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_vps("alice").await);
    stack.fund("alice", 150).await;
    let add = || address_call("POST", &id, "", &alice, "add-1").json(&json!({"version": 4}));
    // The panel adds an address; its record is throttled; the panel takes it back.
    proxy.set_rules(vec![Rule::always("TransactWriteItems", Fault::Throttle)]);
    stack.send(add()).await.problem(503);
    proxy.set_rules(vec![]);
    assert_eq!(addresses(&stack, &id).await.len(), 1, "given back");
    assert_eq!(stack.balance("alice").await, 150, "nothing charged");

    // The retry adds an address anew, which the panel holds, and pays for it once.
    let added = stack.send(add()).await.ok(201).clone();
    let held = addresses(&stack, &id).await;
    assert_eq!(held.len(), 2, "{held:?}");
    assert!(
        held.iter().any(|a| a["address"] == added["address"]),
        "the address charged for is held: {held:?}"
    );
    assert_eq!(stack.balance("alice").await, 0, "charged once");
    assert_eq!(stack.service(&id).await["options"], json!([{"id": "ipv4", "quantity": 1}]));
}

async fn addresses(stack: &Stack, id: &str) -> Vec<Value> {
    let listed = stack.get(&format!("/services/{id}/ip-addresses"), &stack.client("alice")).await;
    listed.ok(200)["items"].as_array().unwrap().clone()
}

/// Every route, against a table that answers nothing in time (every call held past the SDK's
/// timeouts): each answers before its invocation's deadline, never 500, and leaves no key
/// claimed once the held calls have landed (a release sent when time ran out lands after the
/// claim it gives up).
#[tokio::test]
async fn every_route_answers_in_time_on_a_table_too_slow_to_answer_and_leaves_no_key_claimed() {
    let (proxy, stack) = behind_a_proxy().await;
    let alice = stack.client("alice");
    let provider = stack.provider();
    let service = id_of(&stack.active_vps("alice").await);
    let ticket = json!({"subject": "Hello", "message": "A question"});
    let ticket = id_of(stack.post(&format!("/services/{service}/tickets"), &alice, ticket).await.ok(201));
    let payment = id_of(stack.post("/payments", &alice, json!({"amount": 100})).await.ok(201));
    let left = std::time::Duration::from_secs(6);
    let mut calls = Vec::new();
    for (n, route) in tests::router::routes().into_iter().enumerate() {
        if route.function == crate::routes::CONSOLE {
            continue;
        }
        let id = match route.path.as_str() {
            p if p.starts_with("/tickets/") => ticket.clone(),
            p if p.starts_with("/payments/") => payment.clone(),
            _ => service.clone(),
        };
        let path = route
            .path
            .replace("{id}", &id)
            .replace("{client_id}", "alice")
            .replace("{type}", "vps")
            .replace("{kind}", "activated")
            .replace("{ip}", "203.0.113.9")
            .replace("{vs_id}", "vs-1");
        let provider_only =
            crate::security::PROVIDER_ONLY.contains(&(route.method.as_str(), route.path.as_str()));
        let (scope, token) =
            if provider_only { ("provider:ops", &provider) } else { ("client:alice", &alice) };
        let key = format!("slow-{n}");
        let mut call = Call::new(&route.method, &path).token(token).deadline_in(left);
        if route.method != "GET" {
            call = call.header("idempotency-key", &key);
            if let Some(body) = crate::security::sample_body(&route.function) {
                call = call.json(&body);
            }
        }
        calls.push((format!("{} {}", route.method, route.path), scope, key, call));
    }
    proxy.set_rules(vec![Rule::share(1.0, &[Fault::Delay])]);
    let answers = futures::future::join_all(
        calls
            .iter()
            .map(|(_, _, _, call)| async { tokio::time::timeout(left, stack.send(call.clone())).await }),
    )
    .await;
    proxy.set_rules(vec![]);
    for ((route, _, _, _), answer) in calls.iter().zip(&answers) {
        let answer = answer.as_ref().unwrap_or_else(|_| panic!("{route}: no answer before the deadline"));
        assert_ne!(answer.status, 500, "{route}: {}", answer.body);
        if answer.status >= 500 {
            assert_eq!(answer.header("content-type"), Some("application/problem+json"), "{route}");
        }
    }
    // The held calls land; then no key is claimed by an attempt that is over.
    tokio::time::sleep(tests::faults::DELAY + std::time::Duration::from_secs(3)).await;
    let direct =
        aws_sdk_dynamodb::Client::new(&tests::emulator::sdk_config(tests::emulator::ensure_running()).await);
    let now = stack.clock.now().unix_seconds();
    for (route, scope, key, _) in &calls {
        if route.starts_with("GET ") {
            continue;
        }
        let at = shared::store::keys::idempotency(scope, key);
        let item = direct
            .get_item()
            .table_name(stack.app.store.table())
            .set_key(Some(at.item()))
            .send()
            .await
            .unwrap();
        let Some(item) = item.item else { continue };
        let state = item.get("state").and_then(|s| s.as_s().ok()).cloned().unwrap_or_default();
        let locked_until: i64 =
            item.get("locked_until").and_then(|l| l.as_n().ok()).and_then(|l| l.parse().ok()).unwrap_or(0);
        assert!(state != "in_progress" || locked_until <= now, "{route}: its key is still claimed ({state})");
    }
}
