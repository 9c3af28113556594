//! Ordering and the service read path, for clients and the provider.

use crate::helpers::{id_of, ids, Stack, SAMPLE_CSR};
use serde_json::json;
use shared::domain::{Clock, Status};

#[tokio::test]
async fn a_client_orders_and_sees_its_service_with_history() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let order = json!({
        "tariff_id": "vps-start", "period_months": 3,
        "params": {"os_template": "debian-12"},
        "options": [{"id": "ipv4", "quantity": 2}],
        "auto_renew": {"enabled": false, "period_months": 1}
    });
    let created = stack.post("/services", &alice, order).await;
    assert_eq!(created.header("etag"), Some("\"1\""));
    let service = created.ok(201).clone();
    assert_eq!(service["status"], "ordered");
    assert_eq!(service["operation"], json!(null));
    assert_eq!(service["client_id"], "alice");
    assert_eq!(service["product_type"], "vps");
    assert_eq!(service["expires_at"], json!(null));
    assert_eq!(service["version"], 1);
    assert_eq!(
        service["flags"],
        json!({"special_price": false, "operations_running": false, "auto_renew": false})
    );
    assert_eq!(service["renewal_price"], 500 + 2 * 150);
    assert_eq!(service["options"], json!([{"id": "ipv4", "quantity": 2}]));
    let id = service["id"].as_str().unwrap();

    let list = stack.get("/services", &alice).await.ok(200).clone();
    assert_eq!(ids(&list), vec![id]);
    assert_eq!(list["items"][0]["status"], "ordered");
    assert_eq!(list["cursor"], json!(null));

    let one = stack.get(&format!("/services/{id}"), &alice).await;
    assert_eq!(one.header("etag"), Some("\"1\""));
    assert_eq!(one.ok(200), &service);

    let history = stack.get(&format!("/services/{id}/history"), &alice).await.ok(200).clone();
    let entries = history["items"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["operation"], "order");
    assert_eq!(entries[0]["actor"], json!({"id": "alice", "role": "client"}));
    assert_eq!(entries[0]["status_before"], json!(null));
    assert_eq!(entries[0]["status_after"], "ordered");
    assert_eq!(entries[0]["details"]["price"], 1400 + 2 * 150 * 3);
    assert_eq!(entries[0]["at"], service["created_at"]);
    assert_eq!(history["cursor"], json!(null));
    stack.get(&format!("/services/{id}/history?limit=500"), &alice).await.problem(400);
}

#[tokio::test]
async fn another_client_gets_404_and_an_empty_list() {
    let stack = Stack::new().await;
    let service = stack.order_vps(&stack.client("alice")).await;
    let id = service["id"].as_str().unwrap();
    let bob = stack.client("bob");
    let missing = "01JZZZZZZZZZZZZZZZZZZZZZZZ";
    for path in [format!("/services/{id}"), format!("/services/{id}/history")] {
        let theirs = stack.get(&path, &bob).await;
        let absent = stack.get(&path.replace(id, missing), &bob).await;
        assert_eq!(theirs.problem(404), absent.problem(404), "{path} tells another's from a missing one");
        assert_eq!(theirs.body, absent.body);
    }
    assert_eq!(ids(stack.get("/services", &bob).await.ok(200)), Vec::<String>::new());
    stack.get("/services/not-an-id", &bob).await.problem(404);
}

#[tokio::test]
async fn the_provider_sees_every_service_and_filters() {
    let stack = Stack::new().await;
    let alice_vps = stack.order_vps(&stack.client("alice")).await;
    let bob_vps = stack.order_vps(&stack.client("bob")).await;
    let domain = json!({"tariff_id": "domain-com", "period_months": 12, "params": {"domain": "example.com"}});
    let bob_domain = stack.post("/services", &stack.client("bob"), domain).await.ok(201).clone();
    let provider = stack.provider();

    let all = stack.get("/services", &provider).await.ok(200).clone();
    assert_eq!(ids(&all), vec![id_of(&bob_domain), id_of(&bob_vps), id_of(&alice_vps)], "newest first");
    assert_eq!(all["items"][2]["client_id"], "alice");

    let of_bob = stack.get("/services?client_id=bob", &provider).await.ok(200).clone();
    assert_eq!(ids(&of_bob), vec![id_of(&bob_domain), id_of(&bob_vps)]);
    let bob_vps_only = stack.get("/services?client_id=bob&product_type=vps", &provider).await.ok(200).clone();
    assert_eq!(ids(&bob_vps_only), vec![id_of(&bob_vps)]);
    let domains = stack.get("/services?product_type=domain", &provider).await.ok(200).clone();
    assert_eq!(ids(&domains), vec![id_of(&bob_domain)]);
    let ordered_vps = stack.get("/services?status=ordered&product_type=vps", &provider).await.ok(200).clone();
    assert_eq!(ids(&ordered_vps), vec![id_of(&bob_vps), id_of(&alice_vps)]);
    let active = stack.get("/services?status=active", &provider).await.ok(200).clone();
    assert_eq!(ids(&active), Vec::<String>::new());

    let one = stack.get(&format!("/services/{}", alice_vps["id"].as_str().unwrap()), &provider).await;
    assert_eq!(one.ok(200)["client_id"], "alice");
    stack.get("/services?status=paused", &provider).await.problem(400);
    stack.get("/services?product_type=mainframe", &provider).await.problem(400);
    stack.get("/services?client_id=bob", &stack.client("alice")).await.problem(403);
}

#[tokio::test]
async fn lists_page_with_an_opaque_cursor() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let mut ordered = Vec::new();
    for _ in 0..5 {
        ordered.push(stack.order_vps(&alice).await["id"].as_str().unwrap().to_owned());
    }
    ordered.reverse();
    let mut seen = Vec::new();
    let mut path = "/services?limit=2".to_owned();
    loop {
        let page = stack.get(&path, &alice).await.ok(200).clone();
        assert!(page["items"].as_array().unwrap().len() <= 2);
        seen.extend(ids(&page));
        match page["cursor"].as_str() {
            Some(cursor) => {
                assert!(!ordered.iter().any(|id| cursor.contains(id.as_str())), "cursor shows an id");
                path = format!("/services?limit=2&cursor={cursor}");
            }
            None => break,
        }
    }
    assert_eq!(seen, ordered);
    for bad in ["limit=0", "limit=101", "limit=x", "cursor=bm9wZQ", "cursor=%%%"] {
        stack.get(&format!("/services?{bad}"), &alice).await.problem(400);
    }
    stack.get("/services?sort=asc", &alice).await.problem(400);
}

#[tokio::test]
async fn a_quick_order_without_parameters_needs_configuration() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let quick = json!({"tariff_id": "vps-start", "period_months": 1, "quick": true});
    let service = stack.post("/services", &alice, quick).await.ok(201).clone();
    assert_eq!(service["status"], "configuration_required");
    let listed = stack.get("/services?status=configuration_required", &alice).await.ok(200).clone();
    assert_eq!(ids(&listed), vec![id_of(&service)]);
}

#[tokio::test]
async fn orders_that_break_the_tariff_are_422_and_store_nothing() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let os = json!({"os_template": "debian-12"});
    let cases = [
        json!({"tariff_id": "no-such-tariff", "period_months": 1, "params": os}),
        json!({"tariff_id": "Not A Slug", "period_months": 1, "params": os}),
        json!({"tariff_id": "vps-start", "period_months": 6, "params": os}),
        json!({"tariff_id": "vps-start", "period_months": 1, "params": os, "auto_renew": {"enabled": true, "period_months": 24}}),
        json!({"tariff_id": "vps-start", "period_months": 1, "params": os, "options": [{"id": "gpu", "quantity": 1}]}),
        json!({"tariff_id": "vps-start", "period_months": 1, "params": os, "options": [{"id": "ipv4", "quantity": 5}]}),
        json!({"tariff_id": "vps-start", "period_months": 1}),
        json!({"tariff_id": "vps-start", "period_months": 1, "params": {"os_template": "x", "colour": "red"}}),
    ];
    for order in cases {
        let detail = stack.post("/services", &alice, order.clone()).await.problem(422);
        assert!(!detail.is_empty(), "{order}");
    }
    assert_eq!(ids(stack.get("/services", &alice).await.ok(200)), Vec::<String>::new());
}

#[tokio::test]
async fn server_owned_fields_are_never_bound_from_a_client() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let base = json!({"tariff_id": "vps-start", "period_months": 1, "params": {"os_template": "debian-12"}});
    let owned = [
        ("status", json!("active")),
        ("client_id", json!("bob")),
        ("version", json!(7)),
        ("renewal_price", json!(1)),
        ("price", json!(1)),
        ("expires_at", json!("2030-01-01T00:00:00Z")),
        ("pk", json!("SVC#x")),
        ("id", json!("01JZZZZZZZZZZZZZZZZZZZZZZZ")),
    ];
    for (field, value) in owned {
        let mut body = base.clone();
        body[field] = value;
        let detail = stack.post("/services", &alice, body).await.problem(400);
        assert!(detail.contains(field), "{field}: {detail}");
    }
    assert_eq!(ids(stack.get("/services", &alice).await.ok(200)), Vec::<String>::new());
    assert_eq!(ids(stack.get("/services", &stack.provider()).await.ok(200)), Vec::<String>::new());
}

#[tokio::test]
async fn the_provider_orders_for_a_client() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let params = json!({"csr": SAMPLE_CSR, "validation": "http-01"});
    let order = json!({"tariff_id": "ssl-dv", "period_months": 12, "params": params, "client_id": "carol"});
    let service = stack.post("/services", &provider, order).await.ok(201).clone();
    assert_eq!(service["client_id"], "carol");
    let carol = stack.client("carol");
    assert_eq!(ids(stack.get("/services", &carol).await.ok(200)), vec![id_of(&service)]);
    let history = stack.get(&format!("/services/{}/history", service["id"].as_str().unwrap()), &carol).await;
    // The client sees the provider's staff as the provider; the provider sees who.
    assert_eq!(history.ok(200)["items"][0]["actor"], json!({"id": "Support", "role": "provider"}));
    let seen_by_provider =
        stack.get(&format!("/services/{}/history", service["id"].as_str().unwrap()), &provider).await;
    assert_eq!(seen_by_provider.ok(200)["items"][0]["actor"], json!({"id": "ops", "role": "provider"}));
    let without_client = json!({"tariff_id": "ssl-dv", "period_months": 12, "params": params});
    stack.post("/services", &provider, without_client).await.problem(422);
}

#[tokio::test]
async fn a_client_never_sees_a_deleted_service() {
    let stack = Stack::new().await;
    let (mut gone, entry) = tests::stack::vps_order("alice", stack.clock.now());
    gone.status = Status::Deleted;
    stack.app.store.insert_service(&gone, &entry).await.unwrap();
    let kept = stack.order_vps(&stack.client("alice")).await;

    let token = stack.client("alice");
    stack.get(&format!("/services/{}", gone.id), &token).await.problem(404);
    stack.get(&format!("/services/{}/history", gone.id), &token).await.problem(404);
    assert_eq!(ids(stack.get("/services", &token).await.ok(200)), vec![id_of(&kept)]);
    assert_eq!(ids(stack.get("/services?status=deleted", &token).await.ok(200)), Vec::<String>::new());

    let provider = stack.provider();
    let seen = stack.get(&format!("/services/{}", gone.id), &provider).await;
    assert_eq!(seen.ok(200)["status"], "deleted");
    let deleted = stack.get("/services?status=deleted", &provider).await.ok(200).clone();
    assert_eq!(ids(&deleted), vec![gone.id.to_string()]);
}

#[tokio::test]
async fn history_pages_join_into_the_whole_history_and_only_its_client_reads_them() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_vps("alice").await);
    stack.post(&format!("/services/{id}/reboot"), &alice, json!({})).await.ok(200);
    let whole = stack.get(&format!("/services/{id}/history?limit=100"), &alice).await.ok(200).clone();
    let whole = ids(&whole);
    assert!(whole.len() >= 4, "{whole:?}");
    let (mut paged, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let path = match &cursor {
            None => format!("/services/{id}/history?limit=2"),
            Some(c) => format!("/services/{id}/history?limit=2&cursor={c}"),
        };
        let page = stack.get(&path, &alice).await.ok(200).clone();
        assert!(ids(&page).len() <= 2);
        paged.extend(ids(&page));
        // Another client reads no page: neither the first nor one after a cursor it was given.
        stack.get(&path, &stack.client("bob")).await.problem(404);
        match page["cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(paged, whole);
}

#[tokio::test]
async fn a_cart_holds_a_limited_number_of_services_and_the_next_order_is_409_naming_it() {
    let mut stack = Stack::new().await;
    stack.app.settings.cart_limit = 3;
    let alice = stack.client("alice");
    let order = json!({"tariff_id": "vps-start", "period_months": 1, "params": {"os_template": "debian-12"}});
    for _ in 0..3 {
        stack.post("/services", &alice, order.clone()).await.ok(201);
    }
    let detail = stack.post("/services", &alice, order.clone()).await.problem(409);
    assert!(detail.contains("at most 3"), "{detail}");
    // Also when the provider orders for her; another client's cart is its own.
    let for_alice = json!({"client_id": "alice", "tariff_id": "vps-start", "period_months": 1, "params": {"os_template": "debian-12"}});
    stack.post("/services", &stack.provider(), for_alice).await.problem(409);
    stack.post("/services", &stack.client("bob"), order.clone()).await.ok(201);
    let listed = stack.get("/services", &alice).await.ok(200).clone();
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(3), "nothing more ordered");
    // Once one leaves the cart (removed), another fits.
    let first = listed["items"][0]["id"].as_str().unwrap().to_owned();
    stack
        .send(crate::helpers::Call::new("DELETE", &format!("/services/{first}")).token(&alice))
        .await
        .ok(200);
    stack.post("/services", &alice, order).await.ok(201);
}
