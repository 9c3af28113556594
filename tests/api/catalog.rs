//! The catalog: product types and tariffs, read by anyone and written by the provider.

use crate::helpers::{ids, Stack};
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
    assert_eq!(ids(&all).len(), 7);
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
