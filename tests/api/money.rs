//! Issue 12's defects in the money and the lifecycle, each reproduced through the API as it was
//! reported (see the rules in docs/money.md).

use crate::helpers::{address_call, id_of, Call, Stack};
use serde_json::{json, Value};
use shared::domain::{Clock, Timestamp};

const DAY: i64 = 86_400;

fn patch(id: &str, token: &str, body: Value) -> Call {
    Call::new("PATCH", &format!("/services/{id}")).token(token).json(&body)
}

fn renewal_quote(id: &str, token: &str, periods: u32) -> Call {
    Call::new("POST", &format!("/services/{id}/renew?dry_run=true"))
        .token(token)
        .json(&json!({"periods": periods}))
}

async fn end_of_period_deletion(stack: &Stack) {
    let rules = json!({"client_delete": "end_of_period", "client_can_suspend": true, "abuse_limit": 100,
                       "auto_delete_after_days": 14, "renew_lead_days": 3, "panel_url": format!("{}/vps", stack.panel)});
    stack.put("/product-types/vps", &stack.provider(), rules).await.ok(200);
}

/// Defect 1: a renewal withdraws a scheduled deletion; `delete_at: null` withdraws one.
#[tokio::test]
async fn a_renewal_withdraws_a_scheduled_deletion_so_the_sweep_keeps_the_service() {
    let stack = Stack::on_november_first().await;
    end_of_period_deletion(&stack).await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_vps("alice").await);
    let scheduled = stack.send(Call::new("DELETE", &format!("/services/{id}")).token(&alice)).await;
    assert_eq!(scheduled.ok(200)["delete_at"], "2026-12-01T00:00:00.000Z");
    stack.fund("alice", 1000).await;
    stack.post(&format!("/services/{id}/renew"), &alice, json!({"periods": 2})).await.ok(200);
    stack.drain_queue(5).await;
    let renewed = stack.service(&id).await;
    assert_eq!(
        (renewed["delete_at"].clone(), renewed["expires_at"].clone()),
        (json!(null), json!("2027-02-01T00:00:00.000Z"))
    );
    let timeline = stack.get(&format!("/services/{id}/timeline"), &alice).await.ok(200).clone();
    assert!(!timeline.to_string().contains("scheduled_deletion"), "{timeline}");
    let history = stack.get(&format!("/services/{id}/history"), &alice).await.ok(200).clone();
    let renewal = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["operation"] == "renewal" && e["details"]["periods"] == 2);
    assert_eq!(renewal.unwrap()["details"]["deletion_withdrawn"], "2026-12-01T00:00:00.000Z");
    stack.clock.set(Timestamp::parse("2026-12-01T01:00:00Z").unwrap());
    stack.run_job("expiry-sweep").await;
    stack.drain_queue(5).await;
    assert_eq!(stack.service(&id).await["status"], "active", "paid for: not deleted");

    // Scheduled again, then withdrawn by its owner; then nothing is left to withdraw.
    let alice = stack.client("alice");
    stack.send(Call::new("DELETE", &format!("/services/{id}")).token(&alice)).await.ok(200);
    stack.send(patch(&id, &alice, json!({"delete_at": "2027-02-01T00:00:00Z"}))).await.problem(400);
    let withdrawn = stack.send(patch(&id, &alice, json!({"delete_at": null}))).await;
    assert_eq!(withdrawn.ok(200)["delete_at"], json!(null));
    stack.send(patch(&id, &stack.provider(), json!({"delete_at": null}))).await.problem(409);
    stack.clock.set(Timestamp::parse("2027-02-01T01:00:00Z").unwrap());
    stack.run_job("expiry-sweep").await;
    stack.drain_queue(5).await;
    assert_ne!(stack.service(&id).await["status"], "deleted");
}

/// Defect 2: a special price is a price per month across a period change.
#[tokio::test]
async fn a_special_price_is_not_stretched_over_a_longer_period() {
    let stack = Stack::on_november_first().await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_vps("alice").await);
    stack.send(patch(&id, &stack.provider(), json!({"renewal_price": 400}))).await.ok(200);
    let yearly = json!({"auto_renew": {"enabled": false, "period_months": 12}});
    assert_eq!(stack.send(patch(&id, &alice, yearly)).await.ok(200)["renewal_price"], 4800);
    stack.fund("alice", 4800).await;
    let quote = stack.send(renewal_quote(&id, &alice, 1)).await.ok(200).clone();
    assert_eq!((quote["total"].clone(), quote["lines"][0]["days"].clone()), (json!(4800), json!(365)));
}

/// Defect 3: an upgrade costs the difference for every day left, not one period's.
#[tokio::test]
async fn an_upgrade_after_a_long_renewal_costs_every_month_left() {
    let stack = Stack::on_november_first().await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_vps("alice").await);
    stack.fund("alice", 5000).await;
    stack.post(&format!("/services/{id}/renew"), &alice, json!({"periods": 10})).await.ok(200);
    stack.drain_queue(5).await;
    assert_eq!(stack.service(&id).await["expires_at"], "2027-10-01T00:00:00.000Z");
    // 1 Nov 2026 to 1 Oct 2027: eleven whole months at 1000 more each.
    let upgrade = Call::new("POST", &format!("/services/{id}/change-tariff?dry_run=true"))
        .token(&alice)
        .json(&json!({"tariff_id": "vps-pro"}));
    stack.fund("alice", 11_000).await;
    let quote = stack.send(upgrade).await.ok(200).clone();
    assert_eq!(quote["total"], 11_000, "{quote}");
    // Half way through: November's 15 days left, then ten whole months.
    stack.clock.set(Timestamp::parse("2026-11-16T00:00:00Z").unwrap());
    let upgrade = Call::new("POST", &format!("/services/{id}/change-tariff?dry_run=true"))
        .token(&stack.client("alice"))
        .json(&json!({"tariff_id": "vps-pro"}));
    assert_eq!(stack.send(upgrade).await.ok(200)["total"], 10_000 + 500);
}

/// Defect 11: dates at the edge of the calendar are 400 problem+json, never a panic.
#[tokio::test]
async fn a_date_past_the_calendar_is_a_bad_request_not_a_panic() {
    let stack = Stack::on_november_first().await;
    let id = id_of(&stack.active_vps("alice").await);
    let edge = "9999-12-31T23:30:00-01:00";
    let reply = stack.send(patch(&id, &stack.provider(), json!({"expires_at": edge}))).await;
    reply.problem(400);
    let statistics = format!("/services/{id}/statistics?to={}", edge.replace('+', "%2B"));
    stack.get(&statistics, &stack.client("alice")).await.problem(400);
    let statistics = format!("/services/{id}/statistics?from=0001-01-01T00:00:00Z");
    stack.get(&statistics, &stack.client("alice")).await.problem(400);
}

/// Defect 12: an amount past 10^12 minor units is refused as it is read.
#[tokio::test]
async fn a_renewal_price_past_the_bound_is_refused() {
    let stack = Stack::on_november_first().await;
    let id = id_of(&stack.active_vps("alice").await);
    for price in [json!(9_223_372_036_854_775_808_u64), json!(1_000_000_000_001_u64)] {
        stack.send(patch(&id, &stack.provider(), json!({"renewal_price": price}))).await.problem(400);
    }
    let top =
        stack.send(patch(&id, &stack.provider(), json!({"renewal_price": 1_000_000_000_000_u64}))).await;
    assert_eq!(top.ok(200)["renewal_price"], 1_000_000_000_000_u64);
    stack.send(renewal_quote(&id, &stack.client("alice"), 10)).await.problem(402);
    assert_eq!(stack.service(&id).await["version"], top.ok(200)["version"]);
}

/// Defect 13: a service keeps its anchor day (Jan 31 → Feb 28 → Mar 31).
#[tokio::test]
async fn monthly_renewals_keep_the_end_of_the_month() {
    let stack = Stack::new().await;
    stack.clock.set(Timestamp::parse("2027-01-31T12:00:00Z").unwrap());
    let id = id_of(&stack.active_vps("alice").await);
    assert_eq!(stack.service(&id).await["expires_at"], "2027-02-28T12:00:00.000Z");
    stack.fund("alice", 1000).await;
    for expected in ["2027-03-31T12:00:00.000Z", "2027-04-30T12:00:00.000Z"] {
        let alice = stack.client("alice");
        stack.post(&format!("/services/{id}/renew"), &alice, json!({"periods": 1})).await.ok(200);
        stack.drain_queue(5).await;
        assert_eq!(stack.service(&id).await["expires_at"], expected);
        stack.clock.advance_seconds(DAY);
    }
}

/// Defect 4: a tariff change keeps the status; its lost message is found all the same.
#[tokio::test]
async fn a_tariff_change_whose_message_was_lost_is_queued_again() {
    let stack = Stack::on_november_first().await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_vps("alice").await);
    stack.fund("alice", 1000).await;
    let upgrade = json!({"tariff_id": "vps-pro"});
    stack.post(&format!("/services/{id}/change-tariff"), &alice, upgrade).await.ok(200);
    let sqs = stack.app.queue.as_ref().unwrap().client();
    sqs.purge_queue().queue_url(&stack.queues.operations).send().await.unwrap();
    assert_eq!(stack.drain_queue(2).await, 0);
    assert_eq!(stack.service(&id).await["status"], "active");
    stack.post(&format!("/services/{id}/reboot"), &alice, json!({})).await.problem(409);

    stack.clock.advance_seconds(3600);
    assert_eq!(stack.run_job("operations-sweep").await["acted"], 1);
    stack.drain_queue(5).await;
    let changed = stack.service(&id).await;
    assert_eq!(
        (changed["tariff_id"].clone(), changed["flags"]["operations_running"].clone()),
        (json!("vps-pro"), json!(false))
    );
    assert_eq!(changed["renewal_price"], 1500);
    assert_eq!(stack.balance("alice").await, 0, "charged once");
    let alice = stack.client("alice");
    stack.post(&format!("/services/{id}/reboot"), &alice, json!({})).await.ok(200);
}

/// Defect 8: an address is never recorded over a tariff or options change that started after
/// the request first read the service (the re-read refuses, as the first read does).
#[tokio::test]
async fn a_setting_is_not_recorded_over_an_operation_that_started_meanwhile() {
    use shared::domain::history::Actor;
    use shared::domain::{Principal, Role, ServiceId};
    let stack = Stack::on_november_first().await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_vps("alice").await);
    let service_id = ServiceId::parse(&id).unwrap();
    let read_first = stack.app.store.get_service(&service_id).await.unwrap().unwrap();
    stack.fund("alice", 1000).await;
    let options = json!({"options": [{"id": "ipv4", "quantity": 1}]});
    stack.put(&format!("/services/{id}/options"), &alice, options).await.ok(200);
    stack.post(&format!("/services/{id}/ip-addresses"), &alice, json!({"version": 4})).await.problem(409);

    let principal = Principal { id: read_first.client_id.clone(), role: Role::Client };
    let target = shared::settings::Target {
        service: read_first,
        account: None,
        panel_url: format!("{}/vps", stack.panel),
        actor: Actor::from(&principal),
    };
    let recorded = shared::settings::record(&stack.app, &target, |service, at| {
        let change =
            service.setting_changed(shared::domain::Action::IpAddressAdd, json!({}), &target.actor, at);
        Ok((change, shared::operations::Money::None))
    })
    .await;
    assert!(matches!(recorded, Err(shared::ApiError::Conflict(_))), "{recorded:?}");
    let history = stack.history(&id).await;
    assert!(history.iter().all(|(op, _, _)| op != "ip_address_add"), "{history:?}");
    stack.drain_queue(5).await;
    assert_eq!(stack.service(&id).await["options"], json!([{"id": "ipv4", "quantity": 1}]));
}

/// Defect 7: a panel that hangs cannot make the worker outlive its timeout; each operation is
/// restored and refunded on its last receive, within the batch's time.
#[tokio::test]
async fn a_hanging_panel_leaves_the_worker_time_to_restore_and_refund() {
    use std::time::{Duration, Instant};
    let stack = Stack::on_november_first().await;
    let alice = stack.client("alice");
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(id_of(&stack.active_vps("alice").await));
    }
    stack.fund("alice", 1500).await;
    for id in &ids {
        stack.post(&format!("/services/{id}/renew"), &alice, json!({"periods": 1})).await.ok(200);
    }
    assert_eq!(stack.balance("alice").await, 0);
    stack.panel_control("hang", json!({"product_type": "vps", "seconds": 4})).await;
    // A 2-second function: the panel gets 1 second, the writes the other.
    let sqs = stack.app.queue.as_ref().unwrap().client();
    let budget = Some(Duration::from_secs(2));
    for _ in 0..crate::helpers::MAX_RECEIVES {
        let started = Instant::now();
        let delivered = tests::bridge::drain_within(sqs, &stack.queues.operations, &stack.worker, 1, budget)
            .await
            .unwrap();
        assert_eq!(delivered, 3, "the three renewals in one batch");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the batch outlived its 2 seconds: {:?}",
            started.elapsed()
        );
    }
    stack.panel_control("hang", json!({"product_type": "vps", "seconds": 0})).await;
    assert_eq!(stack.balance("alice").await, 1500, "every renewal refunded");
    for id in &ids {
        let service = stack.service(id).await;
        assert_eq!(
            (service["status"].clone(), service["expires_at"].clone()),
            (json!("active"), json!("2026-12-01T00:00:00.000Z"))
        );
        assert!(service["last_error"].is_string(), "{service}");
    }
    // Given up: the next receive moves them to the dead-letter queue.
    assert_eq!(stack.drain_queue(1).await, 0);
    assert_eq!(stack.dead_letters().await, 3);
}

fn template() -> serde_yaml::Value {
    let path = tests::emulator::workspace_root().join("infra/template.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Defect 7: the template's worker timeout, batch size and queue visibility follow the
/// worker's own numbers.
#[test]
fn the_templates_worker_limits_are_the_workers() {
    let template = template();
    let resources = &template["Resources"];
    let worker = &resources["OperationsWorkerFunction"]["Properties"];
    assert_eq!(worker["Timeout"].as_u64(), Some(operations_worker::TIMEOUT_SECONDS));
    let batch = worker["Events"]
        .as_mapping()
        .unwrap()
        .values()
        .find_map(|event| event["Properties"]["BatchSize"].as_u64())
        .unwrap();
    assert_eq!(batch, operations_worker::BATCH_SIZE as u64);
    let visibility = resources["OperationsQueue"]["Properties"]["VisibilityTimeout"].as_u64().unwrap();
    assert!(visibility >= 6 * operations_worker::TIMEOUT_SECONDS, "AWS advises six times the timeout");
}

/// Defect 9: a function that calls the control panel while a person waits has the time for
/// every call it makes, within API Gateway's 30 seconds.
#[test]
fn functions_that_call_the_panel_have_the_time_for_their_calls() {
    use shared::panel::{MAX_SETTINGS_CALLS, SETTINGS_TIMEOUT_SECONDS};
    let template = template();
    let default = template["Globals"]["Function"]["Timeout"].as_u64().unwrap();
    let root = tests::emulator::workspace_root();
    let mut checked = 0;
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        let properties = &resource["Properties"];
        let Some(binary) = resource["Properties"]["Handler"].as_str() else { continue };
        let source = std::fs::read_to_string(root.join(format!("functions/{binary}/src/lib.rs"))).unwrap();
        let calls_panel = ["Target::load", "settings::{ask", "ask(app"].iter().any(|s| source.contains(s));
        let http =
            properties["Events"].as_mapping().is_some_and(|e| e.values().any(|e| e["Type"] == "HttpApi"));
        if !(calls_panel && http) {
            continue;
        }
        let timeout = properties["Timeout"].as_u64().unwrap_or(default);
        let needed = MAX_SETTINGS_CALLS * SETTINGS_TIMEOUT_SECONDS + 3;
        assert!((needed..30).contains(&timeout), "{name:?}: a timeout of {timeout} s, {needed} to 29 needed");
        checked += 1;
    }
    assert_eq!(checked, 13, "every function that calls the panel while a person waits");
}

/// A first attempt of `call` under its `Idempotency-Key` that claimed the key with the panel
/// request id `panel_request_id` and then crashed (its claim lapses after a minute).
async fn crashed_attempt(stack: &Stack, call: &Call, key: &str, panel_request_id: &str) {
    use shared::store::idempotency::{Claim, IdempotencyRecord, RecordState};
    let now = stack.clock.now().unix_seconds();
    let claim = IdempotencyRecord {
        state: RecordState::InProgress,
        request_hash: shared::idempotency::fingerprint(&call.request()),
        locked_until: now + 60,
        expires_at: now + 24 * 3600,
        response: None,
        panel_request_id: panel_request_id.into(),
        claim_id: "crashed".into(),
    };
    let claimed = stack.app.store.claim_idempotency_key("client:alice", key, &claim, now).await.unwrap();
    assert_eq!(claimed, Claim::Claimed { panel_request_id: panel_request_id.into() });
}

/// Defect 9: an attempt that crashed after the panel acted and before the change was recorded
/// is retried under the same panel request id: an address is added once and recorded (and
/// charged) once; a removal is found made and recorded (and credited) once.
#[tokio::test]
async fn a_retried_address_change_is_made_once_and_recorded_once() {
    let stack = Stack::on_november_first().await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_vps("alice").await);
    stack.fund("alice", 150).await;
    let add = |token: &str| {
        Call::new("POST", &format!("/services/{id}/ip-addresses"))
            .token(token)
            .header("idempotency-key", "add-1")
            .json(&json!({"version": 4}))
    };
    // The first attempt: its claim, its panel call, then nothing (the function timed out).
    crashed_attempt(&stack, &add(&alice), "add-1", "attempt-1").await;
    let panel = format!("{}/vps/services/{id}/ip-addresses", stack.panel);
    let http = tests::http_client();
    let request = json!({"request_id": "attempt-1", "version": 4});
    let first: Value = http.post(&panel).json(&request).send().await.unwrap().json().await.unwrap();
    stack.send(add(&alice)).await.problem(409);
    stack.clock.advance_seconds(61);
    let alice = stack.client("alice");
    let added = stack.send(add(&alice)).await.ok(201).clone();
    assert_eq!(added["address"], first["address"], "the panel made one address, not two");
    let listed = stack.get(&format!("/services/{id}/ip-addresses"), &alice).await.ok(200).clone();
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    assert_eq!(stack.balance("alice").await, 0, "charged once");

    let address = added["address"].as_str().unwrap().to_owned();
    let remove = |token: &str| {
        Call::new("DELETE", &format!("/services/{id}/ip-addresses/{address}"))
            .token(token)
            .header("idempotency-key", "remove-1")
    };
    crashed_attempt(&stack, &remove(&alice), "remove-1", "attempt-2").await;
    let gone = http.delete(format!("{panel}/{address}?request_id=attempt-2")).send().await.unwrap();
    assert!(gone.status().is_success());
    stack.clock.advance_seconds(61);
    let removed = stack.send(remove(&stack.client("alice"))).await;
    assert_eq!(removed.status, 204, "{}", removed.body);
    // Two minutes into the month: 29 whole days of 30 left, credited once.
    assert_eq!(stack.balance("alice").await, 145, "the removal credited, once");
    assert_eq!(stack.service(&id).await["options"], json!([]));
    let other =
        Call::new("DELETE", &format!("/services/{id}/ip-addresses/{address}")).token(&stack.client("alice"));
    stack.send(other.header("idempotency-key", "remove-2")).await.problem(404);
}

#[tokio::test]
async fn an_address_change_the_panel_made_but_never_answered_is_recorded_by_the_retry() {
    let stack = Stack::on_november_first().await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_vps("alice").await);
    stack.fund("alice", 150).await;
    let call = |method: &str, path: &str, key: &str| address_call(method, &id, path, &alice, key);
    let unanswered =
        json!({"product_type": "vps", "settings_seconds": shared::panel::SETTINGS_TIMEOUT_SECONDS + 1});
    let answered = json!({"product_type": "vps", "settings_seconds": 0});

    // The panel adds the address; its answer comes after the function stopped waiting.
    stack.panel_control("hang", unanswered.clone()).await;
    stack.send(call("POST", "", "add-1").json(&json!({"version": 4}))).await.problem(502);
    stack.panel_control("hang", answered.clone()).await;
    let added = stack.send(call("POST", "", "add-1").json(&json!({"version": 4}))).await.ok(201).clone();
    let listed = stack.get(&format!("/services/{id}/ip-addresses"), &alice).await.ok(200).clone();
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "one address added, not two: {listed}");
    assert_eq!(stack.balance("alice").await, 0, "and paid for");

    // The panel removes it; again no answer.
    let address = added["address"].as_str().unwrap().to_owned();
    stack.panel_control("hang", unanswered).await;
    stack.send(call("DELETE", &format!("/{address}"), "remove-1")).await.problem(502);
    stack.panel_control("hang", answered).await;
    let removed = stack.send(call("DELETE", &format!("/{address}"), "remove-1")).await;
    assert_eq!(removed.status, 204, "{}", removed.body);
    assert_eq!(stack.service(&id).await["options"], json!([]), "no longer paid for");
    assert!(stack.balance("alice").await > 0, "the days left are credited");
    let history: Vec<String> = stack.history(&id).await.into_iter().map(|(op, _, _)| op).collect();
    let count = |what: &str| history.iter().filter(|op| *op == what).count();
    assert_eq!((count("ip_address_add"), count("ip_address_remove")), (1, 1), "{history:?}");
}
