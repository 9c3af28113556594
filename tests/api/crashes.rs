//! Lambda kills a function in the middle of its work: each function that works from a queue, a
//! stream or a schedule is run as its real binary (`tests/src/runtime_api.rs`) and made to exit
//! at its first AWS call, then on a fresh case at its second, and so on through every call of
//! its run (`CRASH_AT_AWS_CALL`, see `shared::aws::CrashPoint`); after each crash it is run
//! again on the same event, as Lambda delivers it again, and the case is judged: nothing lost,
//! nothing done twice.

use crate::helpers::{id_of, Stack};
use serde_json::{json, Value};
use shared::domain::Clock;
use tests::runtime_api::{invoke, Ending};

/// `env` with the crash point at call `n`.
fn crashing(env: &[(&'static str, String)], n: u64) -> Vec<(&'static str, String)> {
    let mut env = env.to_vec();
    env.push((shared::aws::CRASH_VARIABLE, n.to_string()));
    env
}

/// Runs `function` on `event` without a crash until it answers with nothing left to retry (a
/// batch response without failures), at most three times, a second apart, as the queue or the
/// stream would deliver it again.
async fn run_to_the_end(function: &str, env: &[(&'static str, String)], event: &Value) -> Value {
    let mut last = None;
    for attempt in 0..3 {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        }
        match invoke(function, env, event).await {
            Ending::Answered(answer)
                if answer["batchItemFailures"].as_array().is_none_or(|failures| failures.is_empty()) =>
            {
                return answer
            }
            other => last = Some(other),
        }
    }
    panic!("{function} did not finish after its crash: {last:?}");
}

/// Crashes `function` at call n on the event `case(n)` makes, for n = 1, 2, ... until a run
/// makes fewer calls than n; answers how many calls a run made.
async fn crash_at_every_call<C, Fut>(function: &str, env: &[(&'static str, String)], mut case: C) -> u64
where
    C: FnMut(u64, Option<Value>) -> Fut,
    Fut: std::future::Future<Output = Option<Value>>,
{
    for n in 1..100 {
        let event = case(n, None).await.expect("a case");
        match invoke(function, &crashing(env, n), &event).await {
            Ending::Crashed(code) => {
                assert_eq!(code, Some(shared::aws::CRASH_EXIT_CODE), "{function} at call {n}");
                run_to_the_end(function, env, &event).await;
            }
            // A run of fewer calls than n: judged too, and the last.
            Ending::Answered(_) => {
                case(n, Some(event)).await;
                return n - 1;
            }
            // An error before the crash point (the emulator too busy, say): delivered again.
            Ending::Failed(_) => {
                run_to_the_end(function, env, &event).await;
            }
        }
        // The judge of the case.
        case(n, Some(event)).await;
    }
    panic!("{function} makes more than 100 calls");
}

#[tokio::test]
async fn the_worker_crashed_at_each_call_activates_once() {
    let stack = Stack::new().await;
    stack.panel_control("capacity", json!({"vps": 200})).await;
    let env = stack.function_env();
    let alice = stack.client("alice");
    let service = std::cell::RefCell::new(String::new());
    let calls = crash_at_every_call("operations-worker", &env, |n, judged| {
        let (stack, alice, service) = (&stack, &alice, &service);
        async move {
            if judged.is_none() {
                let ordered = stack.order_vps(alice).await;
                stack.fund("alice", ordered["order_price"].as_u64().unwrap()).await;
                service.replace(id_of(&ordered));
                let batch = stack.operations_batch().await.expect("the activation's message");
                return Some(serde_json::to_value(batch).unwrap());
            }
            let service = service.borrow().clone();
            let active = stack.service(&service).await;
            assert_eq!(active["status"], "active", "crashed at call {n}: {active}");
            let history = stack.history(&service).await;
            let finished = history.iter().filter(|(op, before, after)| {
                op == "activation" && before == "in_progress" && after == "active"
            });
            assert_eq!(finished.count(), 1, "crashed at call {n}: {history:?}");
            let calls = stack.panel_calls().await;
            let mut operations: Vec<&Value> = calls
                .iter()
                .filter(|c| c["request"]["service_id"].as_str() == Some(service.as_str()))
                .map(|c| &c["request"]["operation_id"])
                .collect();
            operations.dedup();
            assert_eq!(operations.len(), 1, "crashed at call {n}: one operation at the panel");
            None
        }
    })
    .await;
    assert!(calls >= 3, "an activation takes {calls} calls");
}

/// A stack for a scheduled job's cases (its panel has room for a VPS a case), its functions'
/// environment and the schedule's event.
async fn a_stack_for_a_job() -> (Stack, Vec<(&'static str, String)>, Value) {
    let stack = Stack::new().await;
    stack.panel_control("capacity", json!({"vps": 200})).await;
    let env = stack.function_env();
    let scheduled = serde_json::from_str(include_str!("../../events/scheduled.json")).unwrap();
    (stack, env, scheduled)
}

/// An active VPS of `client`, bought `days` days before `now`: the stack's clock is left then.
async fn a_vps_bought_days_before(
    stack: &Stack,
    client: &str,
    days: i64,
    now: shared::domain::Timestamp,
) -> String {
    stack.clock.set(now.plus_seconds(-days * 86_400));
    id_of(&stack.active_vps(client).await)
}

#[tokio::test]
async fn auto_renewal_crashed_at_each_call_charges_once() {
    let (stack, env, scheduled) = a_stack_for_a_job().await;
    let now = shared::domain::SystemClock.now();
    let service = std::cell::RefCell::new(String::new());
    let calls = crash_at_every_call("auto-renewal", &env, |n, judged| {
        let (stack, service, scheduled) = (&stack, &service, scheduled.clone());
        async move {
            let client = format!("renewer-{n}");
            if judged.is_none() {
                // Bought a month less two days ago: due for renewal now (3 days ahead for a VPS).
                service.replace(a_vps_bought_days_before(stack, &client, 29, now).await);
                stack.fund(&client, 10_000).await;
                return Some(scheduled);
            }
            let ledger = stack.ledger(&client).await;
            let charges = ledger.iter().filter(|(kind, _)| kind == "renewal").count();
            assert_eq!(charges, 1, "crashed at call {n}: {ledger:?}");
            stack.balance(&client).await;
            let service = service.borrow().clone();
            let history = stack.history(&service).await;
            let renewals = history.iter().filter(|(op, before, _)| op == "renewal" && before == "active");
            assert_eq!(renewals.count(), 1, "crashed at call {n}: {history:?}");
            None
        }
    })
    .await;
    assert!(calls >= 3, "a renewal takes {calls} calls");
}

#[tokio::test]
async fn the_expiry_sweep_crashed_at_each_call_suspends_once() {
    let (stack, env, scheduled) = a_stack_for_a_job().await;
    let now = shared::domain::SystemClock.now();
    let service = std::cell::RefCell::new(String::new());
    let calls = crash_at_every_call("expiry-sweep", &env, |n, judged| {
        let (stack, service, scheduled) = (&stack, &service, scheduled.clone());
        async move {
            if judged.is_none() {
                // Bought a month and two days ago, not renewed: past its expiry now.
                let client = format!("lapsed-{n}");
                let id = a_vps_bought_days_before(stack, &client, 33, now).await;
                let body = json!({"auto_renew": {"enabled": false, "period_months": 1}});
                stack
                    .send(
                        crate::helpers::Call::new("PATCH", &format!("/services/{id}"))
                            .token(&stack.client(&client))
                            .json(&body),
                    )
                    .await
                    .ok(200);
                service.replace(id);
                return Some(scheduled);
            }
            let service = service.borrow().clone();
            let history = stack.history(&service).await;
            let suspended = history.iter().filter(|(op, before, _)| op == "suspension" && before == "active");
            assert_eq!(suspended.count(), 1, "crashed at call {n}: {history:?}");
            None
        }
    })
    .await;
    assert!(calls >= 2, "a suspension takes {calls} calls");
}

#[tokio::test]
async fn the_publisher_crashed_at_each_call_publishes_every_entry() {
    let stack = Stack::with_events().await;
    let env = stack.function_env();
    let alice = stack.client("alice");
    let service = std::cell::RefCell::new(String::new());
    let calls = crash_at_every_call("events-publisher", &env, |n, judged| {
        let (stack, alice, service) = (&stack, &alice, &service);
        async move {
            if judged.is_none() {
                service.replace(id_of(&stack.order_vps(alice).await));
                let batch = stack.stream_batch().await.expect("the order's history entry");
                return Some(serde_json::to_value(batch).unwrap());
            }
            let tapped = stack.tapped().await;
            let published = tapped.iter().filter(|e| e["detail"]["service_id"] == json!(*service.borrow()));
            assert!(published.count() >= 1, "crashed at call {n}: the order is published: {tapped:?}");
            None
        }
    })
    .await;
    assert!(calls >= 1);
}

#[tokio::test]
async fn the_notifier_crashed_at_each_call_never_tells_a_client_twice() {
    let stack = Stack::with_events().await;
    let mut env = stack.function_env();
    env.push(("NOTIFIER_CLAIM_SECONDS", "1".into()));
    let email = std::cell::RefCell::new(String::new());
    let calls = crash_at_every_call("notifier", &env, |n, judged| {
        let (stack, email) = (&stack, &email);
        async move {
            let client = format!("told-{n}");
            if judged.is_none() {
                email.replace(format!("{client}@{}.test", stack.app.store.table()));
                let address = email.borrow().clone();
                stack.confirm_address(&client, &address, json!([])).await;
                stack.active_vps(&client).await;
                stack.publish_events().await;
                let batch = stack.notification_batch().await.expect("the activation's event");
                return Some(serde_json::to_value(batch).unwrap());
            }
            let email = email.borrow().clone();
            let mail = stack.mail_to(&email).await;
            assert!(mail.len() <= 1, "crashed at call {n}: told twice: {mail:?}");
            let log = stack.get("/notifications", &stack.client(&client)).await.ok(200).clone();
            let entry = &log["items"][0];
            let unconfirmed =
                entry["status"] == "failed" && entry["error"] == shared::domain::notification::UNCONFIRMED;
            // Sent and logged; or its attempt died holding the claim, perhaps after the mail
            // service took it, and the log says it may not have arrived.
            assert!(entry["status"] == "sent" || unconfirmed, "crashed at call {n}: {log}");
            if entry["status"] == "sent" {
                assert_eq!(mail.len(), 1, "crashed at call {n}: {log}");
            }
            None
        }
    })
    .await;
    assert!(calls >= 3, "a notification takes {calls} calls");
}
