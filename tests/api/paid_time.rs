//! The paid time's record through the API: `GET /services/{id}/paid-time` for the service's
//! client and the provider (nobody else), a change priced from it with the ledger in step, and
//! `refund_on_delete`.

use crate::helpers::{id_of, vps_rules_on, Call, Stack};
use serde_json::{json, Value};
use shared::domain::Timestamp;

async fn paid_time(stack: &Stack, id: &str, token: &str) -> Value {
    stack.get(&format!("/services/{id}/paid-time"), token).await.ok(200).clone()
}

fn amounts(record: &Value) -> Vec<(String, u64)> {
    let stretches = record["stretches"].as_array().expect("stretches");
    stretches
        .iter()
        .map(|s| (s["kind"].as_str().unwrap().to_owned(), s["amount"].as_u64().unwrap()))
        .collect()
}

#[tokio::test]
async fn the_paid_time_shows_what_each_stretch_was_paid_to_its_client_and_the_provider_only() {
    let stack = Stack::on_november_first().await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_vps("alice").await);
    stack.fund("alice", 1000).await;
    stack.post(&format!("/services/{id}/renew"), &alice, json!({"periods": 2})).await.ok(200);
    stack.drain_queue(5).await;
    let record = paid_time(&stack, &id, &alice).await;
    assert_eq!(amounts(&record), [("paid".to_owned(), 500), ("paid".to_owned(), 1000)]);
    assert_eq!(
        (record["paid"].clone(), record["paid_until"].clone()),
        (json!(1500), record["expires_at"].clone())
    );
    assert_eq!(
        record["stretches"][1]["lines"][0],
        json!({"kind": "tariff", "id": "vps-start", "amount": 1000})
    );
    assert_eq!(paid_time(&stack, &id, &stack.provider()).await, record);
    let bob = stack.client("bob");
    stack.get(&format!("/services/{id}/paid-time"), &bob).await.problem(404);
    // The service itself does not carry the record.
    assert!(stack.service(&id).await.get("paid_time").is_none());
}

#[tokio::test]
async fn a_downgrade_credits_from_the_record_and_the_ledger_moves_with_it() {
    let stack = Stack::on_november_first().await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_on("alice", "vps-pro").await);
    stack.fund("alice", 3000).await;
    stack.post(&format!("/services/{id}/renew"), &alice, json!({"periods": 2})).await.ok(200);
    stack.drain_queue(5).await;
    // 1 December: November used, two months bought at 1500 left, each 500 on vps-start.
    stack.clock.set(Timestamp::parse("2026-12-01T00:00:00Z").unwrap());
    let alice = stack.client("alice");
    let before = stack.balance("alice").await;
    let unused = paid_time(&stack, &id, &alice).await["unused"].as_u64().unwrap();
    assert_eq!(unused, 3000);
    stack
        .post(&format!("/services/{id}/change-tariff"), &alice, json!({"tariff_id": "vps-start"}))
        .await
        .ok(200);
    stack.drain_queue(5).await;
    assert_eq!(stack.balance("alice").await, before + 2000);
    let record = paid_time(&stack, &id, &alice).await;
    let left: Vec<&Value> =
        record["stretches"].as_array().unwrap().iter().filter(|s| s["tariff_id"] == "vps-start").collect();
    let paid_left: u64 = left.iter().map(|s| s["amount"].as_u64().unwrap()).sum();
    assert_eq!((paid_left, record["unused"].clone()), (1000, json!(1000)), "{record}");
}

#[tokio::test]
async fn a_deletion_refunds_the_unused_share_only_where_the_rules_say_so() {
    let stack = Stack::on_november_first().await;
    let rules = |refund: &str| {
        let mut rules = vps_rules_on(Some(format!("{}/vps", stack.panel)), "immediate");
        rules["refund_on_delete"] = json!(refund);
        rules
    };
    stack.put("/product-types/vps", &stack.provider(), rules("none")).await.ok(200);
    let kept = id_of(&stack.active_vps("alice").await);
    let refunded = id_of(&stack.active_vps("bob").await);
    stack.clock.set(Timestamp::parse("2026-11-16T00:00:00Z").unwrap());
    let alice = stack.client("alice");
    stack.send(Call::new("DELETE", &format!("/services/{kept}")).token(&alice)).await.ok(200);
    stack.drain_queue(5).await;
    assert_eq!(stack.service(&kept).await["status"], "deleted");
    assert_eq!(stack.balance("alice").await, 0, "refund_on_delete: none");

    let answered = stack.put("/product-types/vps", &stack.provider(), rules("unused")).await.ok(200).clone();
    assert_eq!(answered["refund_on_delete"], "unused");
    let bob = stack.client("bob");
    stack.send(Call::new("DELETE", &format!("/services/{refunded}")).token(&bob)).await.ok(200);
    stack.drain_queue(5).await;
    // Fifteen days of November's thirty not started, of 500.
    assert_eq!(stack.service(&refunded).await["status"], "deleted");
    assert_eq!(stack.balance("bob").await, 250);
    stack.put("/product-types/vps", &stack.provider(), rules("all")).await.problem(400);
}

#[tokio::test]
async fn the_migration_records_the_paid_time_of_services_stored_before_it_from_their_ledger_once() {
    let stack = Stack::on_november_first().await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_vps("alice").await);
    stack.fund("alice", 1000).await;
    stack.post(&format!("/services/{id}/renew"), &alice, json!({"periods": 2})).await.ok(200);
    stack.drain_queue(5).await;
    let recorded = paid_time(&stack, &id, &alice).await;
    // Stored again as it was before the record and its lines were kept.
    let service_id = shared::domain::ServiceId::parse(&id).unwrap();
    let service = stack.app.store.get_service(&service_id).await.unwrap().unwrap();
    let mut item = shared::store::batch::service_item(&service).unwrap();
    for attribute in ["paid_time", "renewal_lines", "order_lines"] {
        assert!(item.remove(attribute).is_some(), "{attribute} stored");
    }
    let store = &stack.app.store;
    store.client().put_item().table_name(store.table()).set_item(Some(item)).send().await.unwrap();
    let old = paid_time(&stack, &id, &alice).await;
    assert_eq!(old["paid"], 0, "nothing known paid before the migration: {old}");

    let first = stack.run_job("record-paid-time").await;
    assert_eq!((first["acted"].clone(), first["failed"].clone()), (json!(1), json!(0)), "{first}");
    let migrated = paid_time(&stack, &id, &alice).await;
    // What the ledger says was paid for it (500 and 1000), over the three months it paid for.
    assert_eq!(
        (migrated["paid"].clone(), migrated["paid_until"].clone(), migrated["unused"].clone()),
        (json!(1500), recorded["paid_until"].clone(), json!(1500)),
        "{migrated}"
    );
    let stored = stack.app.store.get_service(&service_id).await.unwrap().unwrap();
    assert_eq!((stored.paid_time.len(), stored.version), (1, service.version + 1));

    let second = stack.run_job("record-paid-time").await;
    assert_eq!(second["acted"], 0, "a second run changes nothing: {second}");
    assert_eq!(stack.app.store.get_service(&service_id).await.unwrap().unwrap(), stored);
}
