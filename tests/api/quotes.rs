//! Beyond the panels: quotes (`?dry_run=true`) that agree with the real call to the minor unit
//! and change nothing, the service timeline, and the provider's grace.

use crate::helpers::{id_of, Call, Stack};
use serde_json::{json, Value};
use shared::domain::Timestamp;

const DAY: i64 = 86_400;

/// Everything a quote must leave alone: the service's version and history, the balance and the
/// ledger, and the queue.
async fn footprint(stack: &Stack, id: &str, client: &str) -> (Value, usize, u64, usize) {
    let version = stack.service(id).await["version"].clone();
    (version, stack.history(id).await.len(), stack.balance(client).await, stack.ledger(client).await.len())
}

/// A quote, then the real call: the money and the outcome agree to the minor unit.
async fn quote_then_do(stack: &Stack, method: &str, path: &str, body: Value, id: &str) -> Value {
    let alice = stack.client("alice");
    let before = footprint(stack, id, "alice").await;
    let quote =
        stack.send(Call::new(method, &format!("{path}?dry_run=true")).token(&alice).json(&body)).await;
    let quote = quote.ok(200).clone();
    assert_eq!(footprint(stack, id, "alice").await, before, "a quote changes nothing: {quote}");
    assert_eq!(stack.drain_queue(1).await, 0, "a quote queues nothing");

    let balance = stack.balance("alice").await;
    stack.send(Call::new(method, path).token(&alice).json(&body)).await.ok(200);
    stack.drain_queue(5).await;
    let total: i64 = quote["lines"].as_array().unwrap().iter().map(|l| l["amount"].as_i64().unwrap()).sum();
    assert_eq!(quote["total"].as_i64().unwrap(), total, "{quote}");
    assert_eq!(balance as i64 - total, quote["balance_after"].as_i64().unwrap());
    assert_eq!(stack.balance("alice").await, quote["balance_after"].as_u64().unwrap(), "{quote}");
    let service = stack.service(id).await;
    assert_eq!(
        (service["expires_at"].clone(), service["status"].clone()),
        (quote["expires_at"].clone(), quote["status"].clone())
    );
    quote
}

#[tokio::test]
async fn renewal_tariff_and_options_quotes_agree_with_the_real_calls() {
    let stack = Stack::on_november_first().await;
    let id = id_of(&stack.active_vps("alice").await);
    stack.fund("alice", 20_000).await;
    stack.clock.set(Timestamp::parse("2026-11-16T00:00:00Z").unwrap());

    let renewal =
        quote_then_do(&stack, "POST", &format!("/services/{id}/renew"), json!({"periods": 2}), &id).await;
    assert_eq!(
        renewal["lines"],
        json!([{"what": "renewal", "service_id": id, "period_months": 2, "days": 62, "amount": 1000}])
    );
    assert_eq!(renewal["expires_at"], "2027-02-01T00:00:00.000Z");

    let upgrade = json!({"tariff_id": "vps-pro"});
    let up = quote_then_do(&stack, "POST", &format!("/services/{id}/change-tariff"), upgrade, &id).await;
    let line = &up["lines"][0];
    assert_eq!((line["what"].clone(), line["days"].clone()), (json!("tariff_change"), json!(77)));
    assert!(line["amount"].as_i64().unwrap() > 0);

    let downgrade = json!({"tariff_id": "vps-start"});
    let down = quote_then_do(&stack, "POST", &format!("/services/{id}/change-tariff"), downgrade, &id).await;
    assert!(down["total"].as_i64().unwrap() < 0, "a credit: {down}");

    let options = json!({"options": [{"id": "ipv4", "quantity": 2}]});
    let more = quote_then_do(&stack, "PUT", &format!("/services/{id}/options"), options, &id).await;
    assert_eq!(more["lines"][0]["what"], "options_change");
}

#[tokio::test]
async fn a_checkout_quote_lists_each_order_and_agrees() {
    let stack = Stack::on_november_first().await;
    let alice = stack.client("alice");
    // Funded before ordering: a payment that covers the cart would check it out.
    stack.fund("alice", 1000).await;
    let first = stack.order_vps(&alice).await;
    let second = stack.order_on(&alice, "hosting-basic").await;
    let ids = json!([id_of(&first), id_of(&second)]);
    let body = json!({"service_ids": ids});
    let before = stack.ledger("alice").await.len();
    let quote = stack.send(Call::new("POST", "/cart/checkout?dry_run=true").token(&alice).json(&body)).await;
    let quote = quote.ok(200).clone();
    assert_eq!(stack.ledger("alice").await.len(), before);
    assert_eq!(stack.service(&id_of(&first)).await["status"], "ordered");
    let lines = quote["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (lines[0]["what"].clone(), lines[0]["amount"].clone(), lines[0]["days"].clone()),
        (json!("order"), json!(500), json!(30))
    );
    assert_eq!((quote["total"].clone(), quote["balance_after"].clone()), (json!(800), json!(200)));
    assert_eq!(
        (quote["expires_at"].clone(), quote["status"].clone()),
        (Value::Null, Value::Null),
        "several services"
    );
    stack.post("/cart/checkout", &alice, body).await.ok(200);
    assert_eq!(stack.balance("alice").await, 200);
}

#[tokio::test]
async fn a_quote_gives_the_same_error_as_the_real_call_and_only_where_one_exists() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_vps("alice").await);
    let renew = format!("/services/{id}/renew");
    let quoted = stack
        .send(Call::new("POST", &format!("{renew}?dry_run=true")).token(&alice).json(&json!({"periods": 1})))
        .await;
    let real = stack.post(&renew, &alice, json!({"periods": 1})).await;
    assert_eq!(quoted.problem(402), real.problem(402));
    let change = format!("/services/{id}/change-tariff");
    let quoted = stack
        .send(
            Call::new("POST", &format!("{change}?dry_run=true"))
                .token(&alice)
                .json(&json!({"tariff_id": "nope"})),
        )
        .await;
    assert_eq!(
        quoted.problem(422),
        stack.post(&change, &alice, json!({"tariff_id": "nope"})).await.problem(422)
    );
    stack.post(&format!("/services/{id}/reboot"), &alice, json!({})).await.ok(200);
    let quoted = stack
        .send(Call::new("POST", &format!("{renew}?dry_run=true")).token(&alice).json(&json!({"periods": 1})))
        .await;
    assert_eq!(quoted.problem(409), stack.post(&renew, &alice, json!({"periods": 1})).await.problem(409));
    stack.drain_queue(5).await;

    let bob = stack.client("bob");
    stack
        .send(Call::new("POST", &format!("{renew}?dry_run=true")).token(&bob).json(&json!({"periods": 1})))
        .await
        .problem(404);
    stack
        .send(Call::new("POST", &format!("{renew}?dry_run=maybe")).token(&alice).json(&json!({"periods": 1})))
        .await
        .problem(400);
    let history = stack.history(&id).await.len();
    stack
        .send(
            Call::new("POST", &format!("/services/{id}/reboot?dry_run=true")).token(&alice).json(&json!({})),
        )
        .await
        .problem(400);
    assert_eq!(stack.history(&id).await.len(), history, "no reboot");

    // A quote stores no idempotent answer: the same key then does the real call.
    stack.fund("alice", 500).await;
    let keyed = |path: &str| {
        Call::new("POST", path)
            .token(&alice)
            .header("idempotency-key", "renew-1")
            .json(&json!({"periods": 1}))
    };
    stack.send(keyed(&format!("{renew}?dry_run=true"))).await.ok(200);
    let done = stack.send(keyed(&renew)).await;
    assert_eq!((done.status, done.header("idempotency-replayed")), (200, None));
    assert_eq!(stack.balance("alice").await, 0);
}

fn events(timeline: &Value) -> Vec<(String, String)> {
    timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["at"].as_str().unwrap().to_owned(), m["event"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn the_timeline_shows_what_will_happen_and_when() {
    let stack = Stack::on_november_first().await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_vps("alice").await);
    let path = format!("/services/{id}/timeline");
    let unfunded = stack.get(&path, &alice).await.ok(200).clone();
    assert_eq!(
        events(&unfunded),
        [
            ("2026-11-28T00:00:00.000Z".into(), "auto_renewal".into()),
            ("2026-12-01T00:00:00.000Z".into(), "expiry".into()),
            ("2026-12-01T00:00:00.000Z".into(), "suspension".into()),
            ("2026-12-15T00:00:00.000Z".into(), "deletion".into()),
        ]
    );
    assert_eq!(
        (unfunded["items"][0]["amount"].clone(), unfunded["items"][0]["covered"].clone()),
        (json!(500), json!(false))
    );
    stack.fund("alice", 500).await;
    let funded = stack.get(&path, &stack.provider()).await.ok(200).clone();
    assert_eq!(funded["items"].as_array().unwrap().len(), 2, "renewed in time: {funded}");
    assert_eq!(funded["items"][0]["covered"], true);
    stack.get(&path, &stack.client("bob")).await.problem(404);

    // The timeline is what the jobs then do.
    stack.clock.set(Timestamp::parse("2026-11-28T00:00:00Z").unwrap());
    assert_eq!(stack.run_job("auto-renewal").await["acted"], 1);
    stack.drain_queue(5).await;
    assert_eq!(stack.service(&id).await["expires_at"], "2027-01-01T00:00:00.000Z");

    let server = id_of(&stack.active_on("alice", "dedicated-e3").await);
    stack
        .send(Call::new("DELETE", &format!("/services/{server}")).token(&stack.client("alice")))
        .await
        .ok(200);
    let leaving =
        stack.get(&format!("/services/{server}/timeline"), &stack.client("alice")).await.ok(200).clone();
    assert_eq!(events(&leaving).iter().map(|e| e.1.as_str()).collect::<Vec<_>>(), ["scheduled_deletion"]);
}

#[tokio::test]
async fn a_grace_keeps_a_service_running_past_expiry_until_it_ends() {
    let stack = Stack::on_november_first().await;
    let id = id_of(&stack.active_vps("alice").await);
    let path = format!("/services/{id}/grace");
    let grace = json!({"until": "2026-12-10T00:00:00Z", "reason": "bank transfer on its way"});
    stack.post(&path, &stack.client("alice"), grace.clone()).await.problem(403);
    let early = json!({"until": "2026-11-20T00:00:00Z", "reason": "x"});
    stack.post(&path, &stack.provider(), early).await.problem(422);
    stack.post(&path, &stack.provider(), json!({"until": "soon", "reason": "x"})).await.problem(400);
    let before = stack.balance("alice").await;
    let graced = stack.post(&path, &stack.provider(), grace).await.ok(200).clone();
    assert_eq!(graced["grace"]["until"], "2026-12-10T00:00:00.000Z");
    assert_eq!(graced["expires_at"], "2026-12-01T00:00:00.000Z", "the paid period is unchanged");
    assert_eq!(stack.balance("alice").await, before, "nothing charged");
    assert_eq!(stack.history(&id).await.last().unwrap().0, "grace");
    let timeline =
        stack.get(&format!("/services/{id}/timeline"), &stack.client("alice")).await.ok(200).clone();
    let at_grace_end: Vec<String> = events(&timeline)
        .into_iter()
        .filter(|(at, _)| at == "2026-12-10T00:00:00.000Z")
        .map(|e| e.1)
        .collect();
    assert_eq!(at_grace_end, ["grace_end", "suspension"]);

    stack.clock.set(Timestamp::parse("2026-12-02T00:00:00Z").unwrap());
    stack.run_job("expiry-sweep").await;
    stack.drain_queue(5).await;
    assert_eq!(stack.service(&id).await["status"], "active", "kept by the grace");
    stack.clock.advance_seconds(8 * DAY);
    stack.run_job("expiry-sweep").await;
    stack.drain_queue(5).await;
    let lapsed = stack.service(&id).await;
    assert_eq!(
        (lapsed["status"].clone(), lapsed["grace"].clone()),
        (json!("temporarily_suspended"), Value::Null)
    );
}

#[tokio::test]
async fn a_renewal_clears_the_grace() {
    let stack = Stack::on_november_first().await;
    let id = id_of(&stack.active_vps("alice").await);
    let grace = json!({"until": "2026-12-10T00:00:00Z", "reason": "promised"});
    stack.post(&format!("/services/{id}/grace"), &stack.provider(), grace).await.ok(200);
    stack.fund("alice", 500).await;
    stack.post(&format!("/services/{id}/renew"), &stack.client("alice"), json!({"periods": 1})).await.ok(200);
    stack.drain_queue(5).await;
    let renewed = stack.service(&id).await;
    assert_eq!(
        (renewed["grace"].clone(), renewed["expires_at"].clone()),
        (Value::Null, json!("2027-01-01T00:00:00.000Z"))
    );
}
