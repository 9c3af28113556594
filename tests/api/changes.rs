//! Edits, tariff changes and options, with their money.

use crate::helpers::{address_call, id_of, Call, Stack};
use serde_json::{json, Value};
use shared::domain::{Clock, Timestamp};

const DAY: i64 = 86_400;

#[tokio::test]
async fn a_tariff_change_charges_or_credits_the_days_left() {
    let stack = Stack::on_november_first().await;
    let id = id_of(&stack.active_vps("alice").await);
    assert_eq!(stack.service(&id).await["expires_at"], "2026-12-01T00:00:00.000Z");
    stack.clock.advance_seconds(15 * DAY);
    // Tokens are signed for the stack's clock: take them after moving it.
    let alice = stack.client("alice");
    // vps-start (500 a month) to vps-pro (1500): 1000 for 15 of 30 days.
    stack
        .post(&format!("/services/{id}/change-tariff"), &alice, json!({"tariff_id": "vps-pro"}))
        .await
        .problem(402);
    stack.fund("alice", 500).await;
    let changing = stack
        .post(&format!("/services/{id}/change-tariff"), &alice, json!({"tariff_id": "vps-pro"}))
        .await
        .ok(200)
        .clone();
    assert_eq!(changing["status"], "active", "the status stays");
    assert_eq!(changing["flags"]["operations_running"], true);
    assert_eq!(changing["tariff_id"], "vps-start");
    assert_eq!(stack.balance("alice").await, 0);
    stack.drain_queue(5).await;
    let changed = stack.service(&id).await;
    assert_eq!(
        (changed["tariff_id"].clone(), changed["renewal_price"].clone()),
        (json!("vps-pro"), json!(1500))
    );
    assert_eq!(changed["flags"]["operations_running"], false);
    // And back at the same instant, credited once the panel is done: the 15 days left were
    // paid 750 (250 at vps-start, 500 for the upgrade) and cost 250 at vps-start: 500 back,
    // as no time ran on vps-pro.
    stack
        .post(&format!("/services/{id}/change-tariff"), &alice, json!({"tariff_id": "vps-start"}))
        .await
        .ok(200);
    assert_eq!(stack.balance("alice").await, 0);
    stack.drain_queue(5).await;
    assert_eq!(stack.balance("alice").await, 500);
    assert_eq!(stack.service(&id).await["renewal_price"], 500);
    let calls = stack.panel_calls().await;
    let last = &calls.last().unwrap()["request"];
    assert_eq!(
        (last["operation"].clone(), last["tariff_id"].clone()),
        (json!("tariff_change"), json!("vps-start"))
    );
}

#[tokio::test]
async fn tariff_changes_are_refused_where_the_rules_say() {
    let stack = Stack::on_november_first().await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_vps("alice").await);
    let detail = stack
        .post(&format!("/services/{id}/change-tariff"), &alice, json!({"tariff_id": "hosting-basic"}))
        .await
        .problem(422);
    assert!(detail.contains("cannot change"), "{detail}");
    stack
        .post(&format!("/services/{id}/change-tariff"), &alice, json!({"tariff_id": "nope"}))
        .await
        .problem(422);
    stack.post(&format!("/services/{id}/disable"), &stack.provider(), json!({})).await.ok(200);
    stack.drain_queue(5).await;
    let detail = stack
        .post(&format!("/services/{id}/change-tariff"), &alice, json!({"tariff_id": "vps-pro"}))
        .await
        .problem(409);
    assert!(detail.contains("suspended_by_admin"), "{detail}");
}

#[tokio::test]
async fn options_are_charged_for_the_days_left() {
    let stack = Stack::on_november_first().await;
    let id = id_of(&stack.active_vps("alice").await);
    stack.clock.advance_seconds(15 * DAY);
    let alice = stack.client("alice");
    stack.fund("alice", 150).await;
    // Two IPv4 addresses at 150 a month each, for 15 of 30 days: 150.
    let wanted = json!({"options": [{"id": "ipv4", "quantity": 2}]});
    stack
        .send(Call::new("PUT", &format!("/services/{id}/options")).token(&alice).json(&wanted))
        .await
        .ok(200);
    assert_eq!(stack.balance("alice").await, 0);
    stack.drain_queue(5).await;
    let options = stack.get(&format!("/services/{id}/options"), &alice).await.ok(200).clone();
    let ipv4 = options["items"].as_array().unwrap().iter().find(|o| o["id"] == "ipv4").unwrap().clone();
    assert_eq!((ipv4["quantity"].clone(), ipv4["max"].clone()), (json!(2), json!(4)));
    assert_eq!(stack.service(&id).await["renewal_price"], 500 + 2 * 150);
    let too_many = json!({"options": [{"id": "ipv4", "quantity": 5}]});
    stack
        .send(Call::new("PUT", &format!("/services/{id}/options")).token(&alice).json(&too_many))
        .await
        .problem(422);
    let none = json!({"options": []});
    stack.send(Call::new("PUT", &format!("/services/{id}/options")).token(&alice).json(&none)).await.ok(200);
    stack.drain_queue(5).await;
    assert_eq!(stack.balance("alice").await, 150, "the unused part comes back");
}

#[tokio::test]
async fn edits_follow_who_may_change_what() {
    let stack = Stack::on_november_first().await;
    let alice = stack.client("alice");
    let provider = stack.provider();
    let id = id_of(&stack.active_vps("alice").await);
    let patch = |token: &str, body: serde_json::Value| {
        Call::new("PATCH", &format!("/services/{id}")).token(token).json(&body)
    };
    stack.send(patch(&alice, json!({"renewal_price": 1}))).await.problem(400);
    stack.send(patch(&alice, json!({}))).await.problem(400);
    let special = stack.send(patch(&provider, json!({"renewal_price": 400}))).await.ok(200).clone();
    assert_eq!(
        (special["renewal_price"].clone(), special["flags"]["special_price"].clone()),
        (json!(400), json!(true))
    );
    let off = stack.send(patch(&alice, json!({"auto_renew": {"enabled": false, "period_months": 12}}))).await;
    let off = off.ok(200).clone();
    // A special price is a price per month: twelve months of it (docs/money.md's rule).
    assert_eq!(
        (off["flags"]["auto_renew"].clone(), off["renewal_price"].clone()),
        (json!(false), json!(4800))
    );
    stack
        .send(patch(&alice, json!({"auto_renew": {"enabled": true, "period_months": 2}})))
        .await
        .problem(422);
    let stale = patch(&provider, json!({"expires_at": "2027-06-01T00:00:00Z"})).header("if-match", "\"1\"");
    stack.send(stale).await.problem(412);
    let version = off["version"].as_u64().unwrap();
    let fresh = patch(&provider, json!({"expires_at": "2027-06-01T00:00:00Z"}))
        .header("if-match", &format!("\"{version}\""));
    assert_eq!(stack.send(fresh).await.ok(200)["expires_at"], "2027-06-01T00:00:00.000Z");
    let operations: Vec<String> = stack.history(&id).await.into_iter().map(|(op, _, _)| op).collect();
    assert_eq!(operations.iter().filter(|op| *op == "edit").count(), 3);
}

#[tokio::test]
async fn a_paid_quick_order_activates_once_configured() {
    let stack = Stack::on_november_first().await;
    let alice = stack.client("alice");
    let quick = json!({"tariff_id": "vps-start", "period_months": 1, "quick": true});
    let service = stack.post("/services", &alice, quick).await.ok(201).clone();
    let id = id_of(&service);
    stack.fund("alice", 500).await;
    let paid = stack.service(&id).await;
    assert_eq!(
        (paid["status"].clone(), paid["paid"].clone()),
        (json!("configuration_required"), json!(true))
    );
    stack.post(&format!("/services/{id}/activate"), &stack.provider(), json!({})).await.problem(409);
    let params = json!({"params": {"os_template": "debian-12"}});
    let configured =
        stack.send(Call::new("PATCH", &format!("/services/{id}")).token(&alice).json(&params)).await;
    assert_eq!(configured.ok(200)["operation"], "activation");
    stack.drain_queue(5).await;
    assert_eq!(stack.service(&id).await["status"], "active");
    let again = stack.send(Call::new("PATCH", &format!("/services/{id}")).token(&alice).json(&params)).await;
    again.problem(409);
}

// ------------------------------------------------------------------ sequences of changes
// A client's own requests in sequence must not pay less than the list prices, nor be
// credited money never paid, nor be charged for nothing.

fn set_clock(stack: &Stack, at: &str) {
    stack.clock.set(Timestamp::parse(at).unwrap());
}

async fn change_tariff(stack: &Stack, id: &str, to: &str) -> Value {
    let alice = stack.client("alice");
    let reply = stack.post(&format!("/services/{id}/change-tariff"), &alice, json!({"tariff_id": to})).await;
    let body = reply.ok(200).clone();
    stack.drain_queue(5).await;
    body
}

/// A downgrade is credited at the difference of the *monthly* prices (the service's
/// `period_months`) for every month left, although the months left were bought at the yearly
/// price. A client buys a year of vps-pro (15000, i.e. 1250 a month), downgrades at once and is
/// credited 13 x 1000: it ends with 13 months of vps-start for 3500, less than any way of
/// buying them at list prices (500 + 5000).
#[tokio::test]
async fn a_downgrade_after_a_yearly_renewal_credits_no_more_than_was_paid() {
    let stack = Stack::on_november_first().await;
    let id = id_of(&stack.active_on("alice", "vps-pro").await);
    let alice = stack.client("alice");
    let yearly = json!({"auto_renew": {"enabled": true, "period_months": 12}});
    let patched =
        stack.send(Call::new("PATCH", &format!("/services/{id}")).token(&alice).json(&yearly)).await;
    assert_eq!(patched.ok(200)["renewal_price"], 15_000);
    stack.fund("alice", 15_000).await;
    stack.post(&format!("/services/{id}/renew"), &alice, json!({"periods": 1})).await.ok(200);
    stack.drain_queue(5).await;
    assert_eq!(stack.service(&id).await["expires_at"], "2027-12-01T00:00:00.000Z");
    assert_eq!(stack.balance("alice").await, 0);

    change_tariff(&stack, &id, "vps-start").await;
    let service = stack.service(&id).await;
    assert_eq!(service["tariff_id"], "vps-start");
    let paid_in = 1_500 + 15_000;
    let net_paid = paid_in - stack.balance("alice").await;
    // 13 months of vps-start cost at least 500 (a month) + 5000 (a year) at list prices.
    assert!(
        net_paid >= 5_500,
        "13 months of vps-start (from 1 Nov 2026 to 1 Dec 2027) for {net_paid}; ledger: {:?}",
        stack.ledger("alice").await
    );
}

/// "A started day counts whole" for a credit too: an upgrade in the first second of a day and
/// a downgrade in its last second are charged and credited the same days, so a client runs
/// the better tariff all day for nothing, every day.
#[tokio::test]
async fn an_upgrade_undone_the_same_day_costs_nothing() {
    let stack = Stack::on_november_first().await;
    let id = id_of(&stack.active_vps("alice").await);
    stack.fund("alice", 1_000).await;
    set_clock(&stack, "2026-11-16T00:00:01Z");
    change_tariff(&stack, &id, "vps-pro").await;
    assert_eq!(stack.service(&id).await["tariff_id"], "vps-pro");
    set_clock(&stack, "2026-11-16T23:59:59Z");
    change_tariff(&stack, &id, "vps-start").await;
    assert_eq!(stack.service(&id).await["tariff_id"], "vps-start");
    let paid = 1_000 - stack.balance("alice").await;
    // A day of vps-pro over vps-start: 1000 a month over November's 30 days, 33.3.
    assert!(paid >= 33, "a day of vps-pro for {paid}; ledger: {:?}", stack.ledger("alice").await);
}

/// The removal of an address, replayed with its `Idempotency-Key` once the key's record has
/// expired (a day), finds the address gone and the panel answering the old removal again
/// under the same request id: it is recorded and credited a second time, and the option's
/// quantity falls below the addresses the service still holds.
#[tokio::test]
async fn an_address_removal_replayed_after_a_day_is_credited_once() {
    let stack = Stack::on_november_first().await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_vps("alice").await);
    stack.fund("alice", 300).await;
    for _ in 0..2 {
        stack.post(&format!("/services/{id}/ip-addresses"), &alice, json!({"version": 4})).await.ok(201);
    }
    assert_eq!(stack.balance("alice").await, 0);
    let listed = stack.get(&format!("/services/{id}/ip-addresses"), &alice).await.ok(200).clone();
    let last = listed["items"].as_array().unwrap().last().unwrap()["address"].as_str().unwrap().to_owned();
    let remove = |token: &str| {
        Call::new("DELETE", &format!("/services/{id}/ip-addresses/{last}"))
            .token(token)
            .header("idempotency-key", "remove-last")
    };
    assert_eq!(stack.send(remove(&alice)).await.status, 204);
    let credited_once = stack.balance("alice").await;
    assert_eq!(credited_once, 150);
    assert_eq!(stack.service(&id).await["options"], json!([{"id": "ipv4", "quantity": 1}]));

    stack.clock.advance_seconds(25 * 3600);
    let again = stack.send(remove(&stack.client("alice"))).await;
    let listed =
        stack.get(&format!("/services/{id}/ip-addresses"), &stack.client("alice")).await.ok(200).clone();
    let service = stack.service(&id).await;
    assert_eq!(
        (stack.balance("alice").await, service["options"].clone(), listed["items"].as_array().unwrap().len()),
        (credited_once, json!([{"id": "ipv4", "quantity": 1}]), 2),
        "the replay answered {} {}",
        again.status,
        again.body
    );
}

/// An address added on the panel whose record failed is released (add-ip-address), and the
/// key is released with the error; the client's retry with the same key gets the panel's old
/// answer for that request id, the released address, and is charged for it, while the panel
/// does not hold it.
#[tokio::test]
async fn a_retried_addition_after_its_release_is_not_charged_for_an_address_not_held() {
    let stack = Stack::on_november_first().await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_vps("alice").await);
    stack.fund("alice", 150).await;
    let add = || address_call("POST", &id, "", &alice, "add-1").json(&json!({"version": 4}));
    // The first attempt as the function makes it: it claims the key, the panel makes the
    // address, the record fails (say 402: the balance was spent meanwhile), the address is
    // released on the panel and the key with the error.
    let now = stack.clock.now().unix_seconds();
    let claim = shared::store::idempotency::IdempotencyRecord {
        state: shared::store::idempotency::RecordState::InProgress,
        request_hash: shared::idempotency::fingerprint(&add().request()),
        locked_until: now + 60,
        expires_at: now + 24 * 3600,
        response: None,
        panel_request_id: "attempt-1".into(),
        claim_id: "crashed".into(),
    };
    stack.app.store.claim_idempotency_key("client:alice", "add-1", &claim, now).await.unwrap();
    let panel = format!("{}/vps/services/{id}/ip-addresses", stack.panel);
    let http = tests::http_client();
    let first: Value = http
        .post(&panel)
        .json(&json!({"request_id": "attempt-1", "version": 4}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let address = first["address"].as_str().unwrap();
    let released = http.delete(format!("{panel}/{address}")).send().await.unwrap();
    assert!(released.status().is_success());
    let attempt = shared::store::idempotency::ClaimedKey {
        principal: "client:alice".into(),
        key: "add-1".into(),
        panel_request_id: "attempt-1".into(),
        claim_id: "crashed".into(),
    };
    stack.app.store.release_idempotency_key(&attempt).await.unwrap();

    let retried = stack.send(add()).await;
    let listed = stack.get(&format!("/services/{id}/ip-addresses"), &alice).await.ok(200).clone();
    let held = listed["items"].as_array().unwrap().len() as u64;
    let options = stack.service(&id).await["options"].clone();
    let extra = options
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == "ipv4")
        .map_or(0, |o| o["quantity"].as_u64().unwrap());
    assert_eq!(
        held,
        1 + extra,
        "the retry answered {} {}; the panel holds {listed}, the options say {options}, balance {}",
        retried.status,
        retried.body,
        stack.balance("alice").await
    );
}
