//! Events are never lost on their way to the bus: a refusal of the bus, however long while the
//! stream keeps the records, holds the stream until it passes; what the stream did not deliver
//! is published again from the table's history (`replay-events`), and the consumers see each
//! event's `id` once.

use crate::helpers::{id_of, Stack};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tests::faults::{Fault, FaultProxy, Rule};

/// The ids of every history entry of `services`, each service's oldest first.
async fn history_ids(stack: &Stack, services: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut ids = BTreeMap::new();
    for id in services {
        let page =
            stack.get(&format!("/services/{id}/history?limit=100"), &stack.provider()).await.ok(200).clone();
        let mut entries: Vec<String> =
            page["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
        entries.reverse();
        ids.insert(id.clone(), entries);
    }
    ids
}

/// The events that reached the tap since the last look: each service's event ids, in the order
/// they arrived.
async fn arrived(stack: &Stack) -> BTreeMap<String, Vec<String>> {
    let mut ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for event in stack.tapped().await {
        let detail = &event["detail"];
        let service = detail["service_id"].as_str().unwrap().to_owned();
        ids.entry(service).or_default().push(detail["id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn failure_reports(stack: &Stack) -> Vec<Value> {
    let events = stack.events();
    tests::events::drain_messages(&events.sqs, &events.queues.publisher_failures)
        .await
        .expect("the failure queue")
}

/// The bus refuses every PutEvents for longer than the ten retries the stream mapping used to
/// allow, then accepts: every event arrives, once, each service's in the order of its history,
/// and nothing is reported given up on.
#[tokio::test]
async fn events_the_bus_refuses_for_a_while_all_arrive_once_when_it_accepts() {
    let stack = Stack::with_events().await;
    let services = vec![id_of(&stack.active_vps("alice").await), id_of(&stack.active_vps("bob").await)];
    let bob = stack.client("bob");
    stack.post(&format!("/services/{}/disable", services[1]), &bob, json!({})).await.ok(200);
    stack.drain_queue(5).await;

    let proxy = FaultProxy::start(tests::emulator::ensure_running(), 24).await;
    let config = tests::emulator::sdk_config_with(&proxy.endpoint, tests::faults::resilience()).await;
    let events = stack.events();
    let publisher =
        events_publisher::Publisher::new(aws_sdk_eventbridge::Client::new(&config), &events.queues.bus);
    proxy.set_rules(vec![Rule::always("PutEvents", Fault::ServerError)]);
    let mut stream = events.stream.lock().await;
    let mut invocations = 0;
    loop {
        let deliver = |event| async {
            let event = lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default());
            publisher.handle(event).await.map_err(|e| -> tests::bridge::BridgeError { e.to_string().into() })
        };
        if stream.pump(deliver).await.expect("the stream") == 0 {
            break;
        }
        invocations += 1;
        // The bus is back after twelve refused invocations (the mapping used to give up after
        // the eleventh).
        if invocations == 12 {
            proxy.set_rules(vec![]);
        }
        assert!(invocations < 100, "the stream never drained");
    }
    drop(stream);
    assert!(invocations > 12, "the refusals reached the publisher ({invocations} invocations)");
    assert_eq!(arrived(&stack).await, history_ids(&stack, &services).await);
    assert_eq!(failure_reports(&stack).await, Vec::<Value>::new(), "nothing was given up on");
}

/// What the stream never delivered is published again from the table's history, each
/// service's events in the order of its history; a second replay publishes them again, and the
/// notifier (which deduplicates by the event's id) e-mails the client once.
#[tokio::test]
async fn a_window_replayed_from_the_history_reaches_the_consumers_once() {
    let stack = Stack::with_events().await;
    let address = format!("alice@{}.test", stack.app.store.table());
    stack.confirm_address("alice", &address, json!([])).await;
    let services = vec![id_of(&stack.active_vps("alice").await), id_of(&stack.active_vps("alice").await)];
    // Lost on the way: read off the stream and never published.
    while stack.stream_batch().await.is_some() {}
    assert!(arrived(&stack).await.is_empty());

    let written = history_ids(&stack, &services).await;
    let window = json!({"from": "2000-01-01T00:00:00Z", "to": "2999-01-01T00:00:00Z"});
    let answer = stack.replay_events(window.clone()).await.expect("replayed");
    let count: usize = written.values().map(Vec::len).sum();
    assert_eq!((answer["published"].as_u64(), answer["cursor"].clone()), (Some(count as u64), Value::Null));
    assert_eq!(arrived(&stack).await, written);
    stack.deliver_notifications(10).await;
    let activated =
        |mail: &[(String, String)]| mail.iter().filter(|(subject, _)| subject.contains("activ")).count();
    assert_eq!(activated(&stack.mail_to(&address).await), 2, "one e-mail per activation");

    stack.replay_events(window).await.expect("replayed again");
    assert_eq!(arrived(&stack).await, written, "published again: the bus delivers at least once");
    stack.deliver_notifications(10).await;
    assert_eq!(activated(&stack.mail_to(&address).await), 2, "the notifier took each event once");

    // A window outside the writes publishes nothing; a bad request is refused.
    let before = json!({"from": "2001-01-01T00:00:00Z", "to": "2001-01-02T00:00:00Z"});
    assert_eq!(stack.replay_events(before).await.expect("replayed")["published"], 0);
    for bad in [
        json!({"from": "yesterday", "to": "2001-01-02T00:00:00Z"}),
        json!({"failure": {"Records": []}}),
        json!({}),
    ] {
        assert!(stack.replay_events(bad.clone()).await.is_err(), "{bad}");
    }
}

/// A batch the stream mapping gave up on (a failure outlasting its retries) is reported to the
/// failure queue with when its records arrived; the report, handed to `replay-events`,
/// publishes what was skipped.
#[tokio::test]
async fn a_batch_given_up_on_is_published_again_from_its_failure_report() {
    let stack = Stack::with_events().await;
    let services = vec![id_of(&stack.active_vps("alice").await)];
    let events = stack.events();
    let retries = tests::events::StreamRetries { maximum_retry_attempts: 2 };
    let mut stream = events.stream.lock().await;
    stream.retry(retries);
    // Every delivery fails at its first record until the mapping gives up on the batch.
    for _ in 0..10 {
        let deliver = |event: aws_lambda_events::event::dynamodb::Event| async move {
            let mut response = aws_lambda_events::event::streams::DynamoDbEventResponse::default();
            let mut failure = aws_lambda_events::event::streams::DynamoDbBatchItemFailure::default();
            failure.item_identifier = event.records[0].change.sequence_number.clone();
            response.batch_item_failures.push(failure);
            Ok(response)
        };
        if stream.pump(deliver).await.expect("the stream") == 0 {
            break;
        }
    }
    drop(stream);
    assert!(arrived(&stack).await.is_empty());
    let reports = failure_reports(&stack).await;
    assert!(!reports.is_empty(), "the batch given up on was reported");
    for report in reports {
        stack.replay_events(json!({"failure": report})).await.expect("replayed");
    }
    assert_eq!(arrived(&stack).await, history_ids(&stack, &services).await);
}
