//! What a client sees: `display_status` for every row of docs/api.md's table, and no deleted
//! service anywhere.

use crate::helpers::{id_of, Stack};
use serde_json::{json, Value};
use shared::domain::failure;

fn shown(service: &Value) -> (String, String) {
    let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    (text(&service["display_status"]), text(&service["status"]))
}

async fn display_of(stack: &Stack, id: &str, token: &str) -> (String, String) {
    shown(stack.get(&format!("/services/{id}"), token).await.ok(200))
}

#[tokio::test]
async fn ordering_and_paying_show_as_the_client_area_names_them() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let service = stack.order_vps(&alice).await;
    let id = id_of(&service);
    assert_eq!(shown(&service), ("in_cart".into(), "ordered".into()));
    stack.post("/payments", &alice, json!({"amount": 500})).await.ok(201);
    assert_eq!(display_of(&stack, &id, &alice).await, ("payment_in_progress".into(), "ordered".into()));

    let quick = json!({"tariff_id": "vps-start", "period_months": 1, "quick": true});
    let quick = stack.post("/services", &alice, quick).await.ok(201).clone();
    assert_eq!(shown(&quick), ("complete_configuration".into(), "configuration_required".into()));

    let bob = stack.client("bob");
    let paid = stack.order_vps(&bob).await;
    stack.fund("bob", 500).await;
    let activating = stack.get(&format!("/services/{}", id_of(&paid)), &bob).await.ok(200).clone();
    assert_eq!(shown(&activating), ("in_progress".into(), "in_progress".into()));
    assert_eq!(activating["operation"], "activation");
    let listed = stack.get("/services", &bob).await.ok(200).clone();
    assert_eq!(listed["items"][0]["display_status"], "in_progress", "lists carry it too");
}

#[tokio::test]
async fn operations_on_a_vps_show_in_progress_or_their_own_name() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let provider = stack.provider();
    let id = id_of(&stack.active_vps("alice").await);
    stack.fund("alice", 5000).await;
    assert_eq!(display_of(&stack, &id, &alice).await, ("active".into(), "active".into()));
    let cases = [
        ("disable", &provider, "in_progress", "suspension"),
        ("enable", &provider, "in_progress", "resume"),
        ("reboot", &alice, "in_progress", "reboot"),
        ("renew", &alice, "renewal_in_progress", "renewal"),
        ("transfer", &provider, "transfer", "transfer"),
    ];
    for (operation, token, display, running) in cases {
        let body = if operation == "renew" { json!({"periods": 1}) } else { json!({}) };
        let answer = stack.post(&format!("/services/{id}/{operation}"), token, body).await.ok(200).clone();
        assert_eq!(
            (answer["display_status"].clone(), answer["operation"].clone()),
            (json!(display), json!(running)),
            "{operation}"
        );
        stack.drain_queue(5).await;
    }
    let deleting =
        stack.send(crate::helpers::Call::new("DELETE", &format!("/services/{id}")).token(&provider)).await;
    assert_eq!(shown(deleting.ok(200)), ("in_progress".into(), "in_progress".into()));
    assert_eq!(deleting.body["operation"], "deletion");
}

#[tokio::test]
async fn a_dedicated_server_offers_kvm_once_active() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let server = stack.active_on("alice", "dedicated-e3").await;
    assert_eq!(shown(&server), ("access_to_kvm".into(), "active".into()));
    let id = id_of(&server);
    stack.post(&format!("/services/{id}/disable"), &stack.provider(), json!({})).await.ok(200);
    stack.drain_queue(5).await;
    assert_eq!(
        display_of(&stack, &id, &alice).await,
        ("suspended_by_admin".into(), "suspended_by_admin".into())
    );
}

#[tokio::test]
async fn a_domain_shows_registration_then_registrar_change() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let domain = stack.order_on(&alice, "domain-com").await;
    let id = id_of(&domain);
    stack.fund("alice", domain["order_price"].as_u64().unwrap()).await;
    assert_eq!(
        display_of(&stack, &id, &alice).await,
        ("registration_in_progress".into(), "in_progress".into())
    );
    stack.drain_queue(5).await;
    let transferring =
        stack.post(&format!("/services/{id}/transfer"), &alice, json!({})).await.ok(200).clone();
    assert_eq!(shown(&transferring), ("registrar_change".into(), "in_progress".into()));
    stack.drain_queue(5).await;
    assert_eq!(display_of(&stack, &id, &alice).await, ("active".into(), "active".into()));
}

#[tokio::test]
async fn a_certificate_shows_issue_issue_error_and_reissue() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let certificate = stack.order_on(&alice, "ssl-dv").await;
    let id = id_of(&certificate);
    stack.fund("alice", certificate["order_price"].as_u64().unwrap()).await;
    assert_eq!(display_of(&stack, &id, &alice).await, ("issue".into(), "in_progress".into()));
    stack.drain_queue(5).await;
    let reissuing = stack.post(&format!("/services/{id}/reissue"), &alice, json!({})).await.ok(200).clone();
    assert_eq!(shown(&reissuing), ("reissue".into(), "in_progress".into()));
    stack.drain_queue(5).await;
    let calls = stack.panel_calls().await;
    assert_eq!(calls.last().unwrap()["request"]["operation"], "reissue");
    assert_eq!(display_of(&stack, &id, &alice).await, ("active".into(), "active".into()));

    // The certificate authority is out of capacity: not available, shown as an issue error.
    stack.panel_control("capacity", json!({"ssl": 0})).await;
    let refused = stack.order_on(&alice, "ssl-dv").await;
    stack.fund("alice", refused["order_price"].as_u64().unwrap()).await;
    stack.drain_queue(5).await;
    assert_eq!(
        display_of(&stack, &id_of(&refused), &alice).await,
        ("issue_error".into(), "not_available".into())
    );

    // Issuing fails for good: the order is restored with its error, also an issue error.
    stack.panel_control("fail", json!({"product_type": "ssl", "count": -1})).await;
    let failing = stack.order_on(&alice, "ssl-dv").await;
    stack.fund("alice", failing["order_price"].as_u64().unwrap()).await;
    stack.drain_queue(10).await;
    assert_eq!(display_of(&stack, &id_of(&failing), &alice).await, ("issue_error".into(), "ordered".into()));
}

#[tokio::test]
async fn reissue_is_for_active_certificates_only() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let vps = id_of(&stack.active_vps("alice").await);
    let detail = stack.post(&format!("/services/{vps}/reissue"), &alice, json!({})).await.problem(409);
    assert!(detail.contains("vps"), "{detail}");
    let ordered = stack.order_on(&alice, "ssl-dv").await;
    let detail =
        stack.post(&format!("/services/{}/reissue", id_of(&ordered)), &alice, json!({})).await.problem(409);
    assert!(detail.contains("ordered"), "{detail}");
    stack.post(&format!("/services/{vps}/reissue"), &stack.client("bob"), json!({})).await.problem(404);
}

#[tokio::test]
async fn a_client_never_sees_a_deleted_service_or_links_to_it() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let provider = stack.provider();
    let id = id_of(&stack.active_vps("alice").await);
    stack
        .post(
            &format!("/services/{id}/tickets"),
            &alice,
            json!({"subject": "Slow", "message": "Disk is slow"}),
        )
        .await
        .ok(201);
    stack
        .send(crate::helpers::Call::new("DELETE", &format!("/services/{id}")).token(&provider))
        .await
        .ok(200);
    stack.drain_queue(5).await;
    assert_eq!(stack.service(&id).await["status"], "deleted", "the provider still sees it");

    stack.get(&format!("/services/{id}"), &alice).await.problem(404);
    stack.get(&format!("/services/{id}/history"), &alice).await.problem(404);
    let listed = stack.get("/services", &alice).await.ok(200).clone();
    assert!(listed["items"].as_array().unwrap().is_empty(), "{listed}");
    let tickets = stack.get("/tickets", &alice).await.ok(200).clone();
    assert_eq!(tickets["items"][0]["service_id"], Value::Null, "{tickets}");
    let ticket_id = tickets["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(stack.get(&format!("/tickets/{ticket_id}"), &alice).await.ok(200)["service_id"], Value::Null);
    let account = stack.get("/account", &alice).await.ok(200).clone();
    let entries = account["entries"].as_array().unwrap();
    assert!(entries.iter().any(|e| e["kind"] == "order_charge"), "{account}");
    assert!(entries.iter().all(|e| e["service_id"].is_null()), "{account}");

    // The provider sees every link.
    let tickets = stack.get("/tickets", &provider).await.ok(200).clone();
    assert_eq!(tickets["items"][0]["service_id"], json!(id));
    let account = stack.get("/clients/alice/account", &provider).await.ok(200).clone();
    assert!(account["entries"].as_array().unwrap().iter().any(|e| e["service_id"] == json!(id)));
}

async fn history_of(stack: &Stack, id: &str, token: &str) -> Value {
    stack.get(&format!("/services/{id}/history?limit=100"), token).await.ok(200).clone()
}

/// The `error` of the entry that gave `operation` up.
fn given_up(history: &Value, operation: &str) -> Value {
    let entries = history["items"].as_array().unwrap();
    let entry = entries.iter().find(|e| e["operation"] == operation && !e["details"]["error"].is_null());
    entry.unwrap_or_else(|| panic!("no {operation} given up: {history}"))["details"]["error"].clone()
}

#[tokio::test]
async fn a_client_reads_neither_where_the_panels_are_nor_their_errors_own_words() {
    let stack = Stack::new().await;
    let (alice, provider) = (stack.client("alice"), stack.provider());
    let active = id_of(&stack.active_vps("alice").await);
    // The VPS panel stops answering; the HTTP client's error names where it was asked.
    let types = stack.get("/product-types", &provider).await.ok(200).clone();
    let mut rules = types["items"].as_array().unwrap().iter().find(|t| t["type"] == "vps").unwrap().clone();
    assert!(rules["panel_url"].is_string(), "the provider reads where the panel is: {rules}");
    rules.as_object_mut().unwrap().remove("type");
    rules["panel_url"] = json!("http://127.0.0.1:9/vps");
    stack.put("/product-types/vps", &provider, rules).await.ok(200);
    let ordered = id_of(&stack.order_vps(&alice).await);
    stack.fund("alice", 500 + 500).await;
    stack.post(&format!("/services/{active}/renew"), &alice, json!({"periods": 1})).await.ok(200);
    stack.drain_queue(20).await;

    // The provider reads the failures' own words.
    for id in [&active, &ordered] {
        let internal = stack.service(id).await["last_error"].clone();
        assert!(internal.as_str().unwrap().starts_with("control panel: "), "{internal}");
    }
    assert!(given_up(&history_of(&stack, &active, &provider).await, "renewal")
        .as_str()
        .unwrap()
        .starts_with("control panel: "));

    // A client reads what became of its service and its money.
    let renewed = stack.get(&format!("/services/{active}"), &alice).await.ok(200).clone();
    assert_eq!(renewed["last_error"], failure::OPERATION_UNDONE, "{renewed}");
    let never_set_up = stack.get(&format!("/services/{ordered}"), &alice).await.ok(200).clone();
    assert_eq!(never_set_up["last_error"], failure::SETUP_NOT_DONE, "{never_set_up}");
    let (renewal, activation) =
        (history_of(&stack, &active, &alice).await, history_of(&stack, &ordered, &alice).await);
    assert_eq!(given_up(&renewal, "renewal"), failure::OPERATION_UNDONE);
    assert_eq!(given_up(&activation, "activation"), failure::SETUP_NOT_DONE);
    let listed = stack.get("/services", &alice).await.ok(200).clone();
    let catalog = stack.get("/product-types", &alice).await.ok(200).clone();
    assert!(catalog["items"].as_array().unwrap().iter().all(|t| t.get("panel_url").is_none()), "{catalog}");
    for read in [&renewed, &never_set_up, &renewal, &activation, &listed, &catalog] {
        let text = read.to_string();
        for internal in ["127.0.0.1", "control panel: ", "panel_url"] {
            assert!(!text.contains(internal), "a client reads {internal:?}: {text}");
        }
    }
}
