//! Edits, tariff changes and options, with their money.

use crate::helpers::{id_of, Call, Stack};
use serde_json::json;

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
    // A special price is a price per month: twelve months of it (the README's rule).
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
