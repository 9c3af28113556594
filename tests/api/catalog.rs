//! The catalog: product types and tariffs, read by anyone and written by the provider.

use crate::helpers::{id_of, ids, vps_rules_on, Call, Stack};
use serde_json::json;

fn vps_rules() -> serde_json::Value {
    json!({"client_delete": "end_of_period", "client_can_suspend": false, "abuse_limit": 50,
           "auto_delete_after_days": 10, "renew_lead_days": 2, "panel_url": "https://panel.example.net/vps"})
}

#[tokio::test]
async fn every_product_type_is_seeded_and_readable_by_a_client() {
    let stack = Stack::new().await;
    let list = stack.get("/product-types", &stack.client("alice")).await.ok(200).clone();
    let mut types: Vec<&str> =
        list["items"].as_array().unwrap().iter().map(|t| t["type"].as_str().unwrap()).collect();
    types.sort();
    assert_eq!(types, ["dedicated", "domain", "shared_hosting", "ssl", "vdc", "vps"]);
    assert_eq!(list["cursor"], json!(null));
    let vps = list["items"].as_array().unwrap().iter().find(|t| t["type"] == "vps").unwrap();
    for field in
        ["client_delete", "client_can_suspend", "abuse_limit", "auto_delete_after_days", "renew_lead_days"]
    {
        assert!(!vps[field].is_null(), "{field} missing");
    }
}

#[tokio::test]
async fn the_provider_sets_a_product_types_rules() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let put = stack.put("/product-types/vps", &provider, vps_rules()).await.ok(200).clone();
    let mut expected = vps_rules();
    expected["type"] = json!("vps");
    expected["remind_days_before"] = json!([7, 1]);
    expected["refund_on_delete"] = json!("none");
    expected["reconcile"] = json!("report");
    expected["panel_login"] = json!(false);
    assert_eq!(put, expected);
    let list = stack.get("/product-types", &provider).await.ok(200).clone();
    let vps = list["items"].as_array().unwrap().iter().find(|t| t["type"] == "vps").unwrap().clone();
    assert_eq!(vps, expected);
}

#[tokio::test]
async fn product_type_writes_are_refused_when_wrong() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    stack.put("/product-types/vps", &stack.client("alice"), vps_rules()).await.problem(403);
    stack.put("/product-types/mainframe", &provider, vps_rules()).await.problem(404);
    let mut unknown_field = vps_rules();
    unknown_field["type"] = json!("ssl");
    stack.put("/product-types/vps", &provider, unknown_field).await.problem(400);
    let mut bad_enum = vps_rules();
    bad_enum["client_delete"] = json!("sometimes");
    stack.put("/product-types/vps", &provider, bad_enum).await.problem(400);
    let mut not_http = vps_rules();
    not_http["panel_url"] = json!("ftp://panel.example.net");
    stack.put("/product-types/vps", &provider, not_http).await.problem(422);
    let mut too_long = vps_rules();
    too_long["renew_lead_days"] = json!(4000);
    stack.put("/product-types/vps", &provider, too_long).await.problem(422);
    let list = stack.get("/product-types", &provider).await.ok(200).clone();
    let vps = list["items"].as_array().unwrap().iter().find(|t| t["type"] == "vps").unwrap().clone();
    assert_eq!(vps["renew_lead_days"], 3, "a refused write changed the rules");
}

#[tokio::test]
async fn tariffs_list_filter_page_and_read() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let all = stack.get("/tariffs?limit=100", &alice).await.ok(200).clone();
    assert_eq!(ids(&all).len(), 8);
    let vps = stack.get("/tariffs?product_type=vps", &alice).await.ok(200).clone();
    assert_eq!(ids(&vps), ["vps-pro", "vps-start"]);

    let mut walked = Vec::new();
    let mut path = "/tariffs?limit=3".to_owned();
    loop {
        let page = stack.get(&path, &alice).await.ok(200).clone();
        walked.extend(ids(&page));
        let Some(cursor) = page["cursor"].as_str() else {
            break;
        };
        path = format!("/tariffs?limit=3&cursor={cursor}");
    }
    assert_eq!(walked, ids(&all));

    let start = stack.get("/tariffs/vps-start", &alice).await.ok(200).clone();
    assert_eq!(start["prices"], json!({"1": 500, "3": 1400, "12": 5000}));
    assert_eq!(start["change_to"], json!(["vps-pro"]));
    assert_eq!(start["required_params"], json!(["os_template"]));
    assert_eq!(
        start["options"][0],
        json!({"id": "ipv4", "name": "Extra IPv4 address", "price": 150, "max": 4})
    );
    stack.get("/tariffs/no-such", &alice).await.problem(404);
    stack.get("/tariffs/BAD%20ID", &alice).await.problem(404);
    stack.get("/tariffs?product_type=mainframe", &alice).await.problem(400);
}

fn new_tariff() -> serde_json::Value {
    json!({"id": "vps-mega", "product_type": "vps", "name": "VPS Mega", "prices": {"1": 3000, "12": 30000},
           "options": [{"id": "ipv4", "name": "IPv4", "price": 150, "max": 16}],
           "required_params": ["os_template"], "change_to": ["vps-pro"]})
}

#[tokio::test]
async fn the_provider_adds_a_tariff() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let created = stack.post("/tariffs", &provider, new_tariff()).await.ok(201).clone();
    assert_eq!(created, new_tariff());
    assert_eq!(stack.get("/tariffs/vps-mega", &stack.client("alice")).await.ok(200), &created);
    stack.post("/tariffs", &provider, new_tariff()).await.problem(409);

    let mut generated = new_tariff();
    generated.as_object_mut().unwrap().remove("id");
    let made = stack.post("/tariffs", &provider, generated).await.ok(201).clone();
    let id = made["id"].as_str().unwrap();
    assert_eq!(stack.get(&format!("/tariffs/{id}"), &provider).await.ok(200)["name"], "VPS Mega");
}

#[tokio::test]
async fn bad_tariffs_are_refused_and_not_stored() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    stack.post("/tariffs", &stack.client("alice"), new_tariff()).await.problem(403);
    let bad_request = [
        ("price", json!(5)),
        ("id", json!("Has Spaces")),
        ("product_type", json!("mainframe")),
        ("prices", json!({"monthly": 5})),
        ("prices", json!({"1": -5})),
    ];
    for (field, value) in bad_request {
        let mut body = new_tariff();
        body[field] = value;
        stack.post("/tariffs", &provider, body).await.problem(400);
    }
    let unprocessable = [
        ("prices", json!({})),
        ("prices", json!({"0": 5})),
        ("name", json!("")),
        ("change_to", json!(["domain-com"])),
        ("change_to", json!(["nope"])),
        (
            "options",
            json!([{"id": "a", "name": "A", "price": 1, "max": 1}, {"id": "a", "name": "B", "price": 1, "max": 1}]),
        ),
    ];
    for (field, value) in unprocessable {
        let mut body = new_tariff();
        body[field] = value.clone();
        stack.post("/tariffs", &provider, body).await.problem(422);
    }
    stack.get("/tariffs/vps-mega", &provider).await.problem(404);
}

/// A second instance of every function, as Lambda runs several: its own SDK client and its
/// own memory, on the same table, queue and clock.
fn another_instance(stack: &Stack) -> shared::App {
    let store = shared::store::Store::new(stack.app.store.client().clone(), stack.app.store.table());
    shared::App { store, ..stack.app.clone() }
}

#[tokio::test]
async fn a_rule_change_holds_from_the_next_request_on_in_every_instance() {
    let stack = Stack::new().await;
    let (alice, provider) = (stack.client("alice"), stack.provider());
    let id = id_of(&stack.active_vps("alice").await);
    let vps_panel = Some(format!("{}/vps", stack.panel));
    let other = another_instance(&stack);
    let delete = || Call::new("DELETE", &format!("/services/{id}")).token(&alice);
    // Both instances have read the vps rules (`client_delete: immediate`) for this client.
    for app in [&stack.app, &other] {
        stack
            .send_with(app, Call::new("GET", &format!("/services/{id}/timeline")).token(&alice))
            .await
            .ok(200);
    }
    let version = stack.service(&id).await["version"].clone();

    stack.put("/product-types/vps", &provider, vps_rules_on(vps_panel.clone(), "forbidden")).await.ok(200);
    for app in [&other, &stack.app] {
        stack.send_with(app, delete()).await.problem(403);
    }
    let untouched = stack.service(&id).await;
    assert_eq!((untouched["status"].clone(), untouched["version"].clone()), (json!("active"), version));

    stack.put("/product-types/vps", &provider, vps_rules_on(vps_panel, "immediate")).await.ok(200);
    let deleting = stack.send_with(&other, delete()).await.ok(200).clone();
    assert_eq!(
        (deleting["status"].clone(), deleting["operation"].clone()),
        (json!("in_progress"), json!("deletion"))
    );
}

#[tokio::test]
async fn a_panel_url_must_be_an_http_url_with_a_host() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let with_panel = |url: &str| vps_rules_on(Some(url.to_owned()), "immediate");
    for bad in [
        "https://",
        "http:///vps",
        "https://panel example.net/vps",
        "https://panel.example.net/v ps",
        "https://user:secret@panel.example.net",
        "https://panel.example.net:99999",
        "https://panel.example.net/vps?token=1",
        "https://panel.example.net/#vps",
        "HTTPS//panel.example.net",
    ] {
        let detail = stack.put("/product-types/vps", &provider, with_panel(bad)).await.problem(422);
        assert!(detail.contains("panel_url"), "{bad}: {detail}");
    }
    let list = stack.get("/product-types", &provider).await.ok(200).clone();
    let vps = list["items"].as_array().unwrap().iter().find(|t| t["type"] == "vps").unwrap().clone();
    assert_eq!(vps["panel_url"], format!("{}/vps", stack.panel), "a refused write changed the rules");
    for good in ["https://panel.example.net", "http://127.0.0.1:8700/t/vps/", "https://[::1]:8443/vps"] {
        stack.put("/product-types/vps", &provider, with_panel(good)).await.ok(200);
    }
    let no_panel =
        stack.put("/product-types/vps", &provider, vps_rules_on(None, "immediate")).await.ok(200).clone();
    assert_eq!(no_panel["panel_url"], json!(null));
}

#[tokio::test]
async fn a_type_without_a_panel_refuses_what_needs_the_panel_before_charging_or_queueing() {
    let stack = Stack::new().await;
    let (alice, provider) = (stack.client("alice"), stack.provider());
    let active = id_of(&stack.active_vps("alice").await);
    stack.fund("alice", 20_000).await;
    let ordered = id_of(&stack.order_vps(&alice).await);
    let unpaid = id_of(&stack.order_vps(&alice).await);
    let calls_before = stack.panel_calls().await.len();
    stack.put("/product-types/vps", &provider, vps_rules_on(None, "immediate")).await.ok(200);
    let (balance, ledger) = (stack.balance("alice").await, stack.ledger("alice").await);
    let (active_before, ordered_before) = (stack.service(&active).await, stack.service(&ordered).await);

    let on_active = |path: &str| format!("/services/{active}{path}");
    let refused = [
        (&alice, Call::new("POST", "/cart/checkout").json(&json!({"service_ids": [ordered]}))),
        (&alice, Call::new("POST", "/cart/checkout?dry_run=true").json(&json!({}))),
        (&alice, Call::new("POST", &on_active("/renew")).json(&json!({"periods": 1}))),
        (&alice, Call::new("POST", &on_active("/renew?dry_run=true")).json(&json!({"periods": 1}))),
        (&alice, Call::new("POST", &on_active("/change-tariff")).json(&json!({"tariff_id": "vps-pro"}))),
        (
            &alice,
            Call::new("PUT", &on_active("/options"))
                .json(&json!({"options": [{"id": "disk-10gb", "quantity": 2}]})),
        ),
        (&alice, Call::new("POST", &on_active("/disable"))),
        (&alice, Call::new("POST", &on_active("/reboot"))),
        (&alice, Call::new("DELETE", &on_active(""))),
        (&alice, Call::new("POST", &on_active("/ip-addresses")).json(&json!({"version": 4}))),
        (&provider, Call::new("POST", &on_active("/transfer"))),
        (&provider, Call::new("DELETE", &on_active(""))),
    ];
    for (token, call) in refused {
        let what = format!("{} {}", call.request().method(), call.request().uri());
        let reply = stack.send(call.token(token)).await;
        let detail = reply.problem(409);
        assert!(detail.contains("vps") && detail.contains("control panel"), "{what}: {detail}");
    }

    // A gateway's payment is received all the same; it checks nothing out.
    let payment = stack.post("/payments", &alice, json!({"amount": 500})).await.ok(201).clone();
    let confirm = format!("/payments/{}/confirm", id_of(&payment));
    let confirmed = stack.post(&confirm, &provider, json!({"amount": 500})).await.ok(200).clone();
    assert_eq!(confirmed["checked_out"], json!([]));

    assert_eq!(stack.balance("alice").await, balance + 500, "only the payment moved money");
    assert_eq!(stack.ledger("alice").await.len(), ledger.len() + 1);
    assert_eq!(stack.drain_queue(3).await, 0, "nothing was queued");
    assert_eq!(stack.panel_calls().await.len(), calls_before, "the panel was never asked");
    assert_eq!(stack.service(&active).await["version"], active_before["version"]);
    let still_ordered = stack.service(&ordered).await;
    assert_eq!(still_ordered["status"], "ordered");
    assert_eq!(still_ordered["paid"], ordered_before["paid"]);
    // What needs no panel still works: an unpaid order leaves the cart, a ticket is opened.
    stack.send(Call::new("DELETE", &format!("/services/{unpaid}")).token(&alice)).await.ok(200);
    let ticket = json!({"subject": "Where is my panel?", "message": "Nothing works"});
    stack.post(&format!("/services/{active}/tickets"), &alice, ticket).await.ok(201);
}

#[tokio::test]
async fn the_jobs_queue_no_panel_work_for_a_type_without_a_panel() {
    let stack = Stack::on_november_first().await;
    let provider = stack.provider();
    let expired = id_of(&stack.active_vps("alice").await);
    let reported = id_of(&stack.active_vps("bob").await);
    let report = json!({"score": 100, "description": "spam"});
    stack.post(&format!("/services/{reported}/abuse-reports"), &provider, report).await.ok(200);
    stack.clock.set(shared::domain::Timestamp::parse("2026-12-02T00:00:00Z").unwrap());
    let provider = stack.provider();
    stack.put("/product-types/vps", &provider, vps_rules_on(None, "immediate")).await.ok(200);
    let calls_before = stack.panel_calls().await.len();
    let versions =
        (stack.service(&expired).await["version"].clone(), stack.service(&reported).await["version"].clone());

    let expiry = stack.run_job("expiry-sweep").await;
    let abuse = stack.run_job("abuse-sweep").await;
    assert_eq!((expiry["acted"].clone(), expiry["no_panel"].clone()), (json!(0), json!(2)), "{expiry}");
    assert_eq!((abuse["acted"].clone(), abuse["no_panel"].clone()), (json!(0), json!(1)), "{abuse}");
    assert_eq!(stack.drain_queue(3).await, 0, "nothing was queued");
    assert_eq!(stack.panel_calls().await.len(), calls_before, "the panel was never asked");
    let after =
        (stack.service(&expired).await["version"].clone(), stack.service(&reported).await["version"].clone());
    assert_eq!(after, versions, "both are left as they were, for when the panel is back");

    // With the panel back, the next runs do what was due.
    stack
        .put("/product-types/vps", &provider, vps_rules_on(Some(format!("{}/vps", stack.panel)), "immediate"))
        .await
        .ok(200);
    assert_eq!(stack.run_job("abuse-sweep").await["acted"], 1);
    assert_eq!(stack.run_job("expiry-sweep").await["acted"], 1, "Bob's is busy being suspended for abuse");
    stack.drain_queue(5).await;
    assert_eq!(stack.service(&expired).await["status"], "temporarily_suspended");
    assert_eq!(stack.service(&reported).await["status"], "suspended_abuse");
}
