//! Per-type settings through the routes and the reference panel over HTTP: IP addresses,
//! statistics, nameservers and whois, domain checks and virtual servers, each for the client,
//! the provider and another client, with the refusals.

use crate::helpers::{id_of, Call, Stack};
use serde_json::{json, Value};

fn addresses(list: &Value, version: u64) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["version"] == version)
        .map(|a| a["address"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn extra_ip_addresses_are_charged_as_the_tariffs_option_up_to_its_max() {
    let stack = Stack::on_november_first().await;
    let alice = stack.client("alice");
    let vps = stack.active_vps("alice").await;
    let id = id_of(&vps);
    let path = format!("/services/{id}/ip-addresses");
    let listed = stack.get(&path, &alice).await.ok(200).clone();
    assert_eq!(addresses(&listed, 4).len(), 1, "every VPS has one IPv4 address: {listed}");

    // Short of money: 402, and nothing made on the panel.
    stack.post(&path, &alice, json!({"version": 4})).await.problem(402);
    assert_eq!(stack.get(&path, &alice).await.ok(200), &listed);

    stack.fund("alice", 10_000).await;
    let before = stack.balance("alice").await;
    let added = stack.post(&path, &alice, json!({"version": 4})).await.ok(201).clone();
    assert_eq!(added["version"], 4);
    let charge = before - stack.balance("alice").await;
    assert!(charge > 0 && charge <= 150, "the ipv4 option (150 a month) for the days left: {charge}");
    let service = stack.service(&id).await;
    assert_eq!(service["options"], json!([{"id": "ipv4", "quantity": 1}]));
    assert_eq!(service["renewal_price"], vps["renewal_price"].as_u64().unwrap() + 150);
    assert_eq!(stack.history(&id).await.last().unwrap().0, "ip_address_add");

    // The provider adds up to the option's max (4 on vps-start); one more is 422.
    let provider = stack.provider();
    for _ in 0..3 {
        stack.post(&path, &provider, json!({"version": 4})).await.ok(201);
    }
    let history_before = stack.history(&id).await.len();
    stack.post(&path, &alice, json!({"version": 4})).await.problem(422);
    assert_eq!(addresses(stack.get(&path, &alice).await.ok(200), 4).len(), 5);
    assert_eq!(stack.history(&id).await.len(), history_before, "a refusal changes nothing");

    // IPv6 is not sold as an option on this tariff: free.
    let balance = stack.balance("alice").await;
    stack.post(&path, &alice, json!({"version": 6})).await.ok(201);
    assert_eq!(stack.balance("alice").await, balance);
    stack.post(&path, &alice, json!({"version": 5})).await.problem(400);

    // Removing an extra address credits the days left and lowers the option.
    let extra = added["address"].as_str().unwrap();
    let removed = stack.send(Call::new("DELETE", &format!("{path}/{extra}")).token(&alice)).await;
    assert_eq!(removed.status, 204, "{}", removed.body);
    assert!(stack.balance("alice").await > balance);
    assert_eq!(stack.service(&id).await["options"], json!([{"id": "ipv4", "quantity": 3}]));
    stack.send(Call::new("DELETE", &format!("{path}/{extra}")).token(&alice)).await.problem(404);
    stack
        .send(Call::new("DELETE", &format!("{path}/{extra}")).token(&stack.client("bob")))
        .await
        .problem(404);
    stack.get(&path, &stack.client("bob")).await.problem(404);
}

#[tokio::test]
async fn the_last_ipv4_address_stays_and_settings_need_an_active_vps() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_vps("alice").await);
    let path = format!("/services/{id}/ip-addresses");
    let only = addresses(stack.get(&path, &alice).await.ok(200), 4).remove(0);
    let detail = stack.send(Call::new("DELETE", &format!("{path}/{only}")).token(&alice)).await.problem(409);
    assert!(detail.contains("last IPv4"), "{detail}");

    stack.post(&format!("/services/{id}/disable"), &alice, json!({})).await.ok(200);
    let detail = stack.get(&path, &alice).await.problem(409);
    assert!(detail.contains("in_progress"), "{detail}");
    stack.drain_queue(5).await;
    let detail = stack.post(&path, &alice, json!({"version": 4})).await.problem(409);
    assert!(detail.contains("suspended"), "{detail}");

    let hosting = id_of(&stack.active_on("alice", "hosting-basic").await);
    let detail = stack.get(&format!("/services/{hosting}/ip-addresses"), &alice).await.problem(409);
    assert!(detail.contains("shared_hosting"), "{detail}");
}

#[tokio::test]
async fn statistics_cover_a_checked_period_of_a_vps_or_hosting_account() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let vps = id_of(&stack.active_vps("alice").await);
    let hosting = id_of(&stack.active_on("alice", "hosting-basic").await);
    let week = "from=2026-11-01T00:00:00Z&to=2026-11-07T00:00:00Z";
    for (id, token) in [(&vps, &alice), (&hosting, &stack.provider())] {
        let usage = stack.get(&format!("/services/{id}/statistics?{week}"), token).await.ok(200).clone();
        let items = usage["items"].as_array().unwrap();
        assert_eq!(items.len(), 7, "{usage}");
        assert!(items.iter().all(|p| p["cpu_percent"].is_number() && p["traffic_mb"].is_number()));
        assert_eq!(usage["from"], "2026-11-01T00:00:00.000Z");
    }
    let recent = stack.get(&format!("/services/{vps}/statistics"), &alice).await.ok(200).clone();
    assert_eq!(recent["items"].as_array().unwrap().len(), 31, "the last 30 days by default");
    let reversed = "from=2026-11-07T00:00:00Z&to=2026-11-01T00:00:00Z";
    stack.get(&format!("/services/{vps}/statistics?{reversed}"), &alice).await.problem(400);
    let too_long = "from=2025-01-01T00:00:00Z&to=2026-11-01T00:00:00Z";
    stack.get(&format!("/services/{vps}/statistics?{too_long}"), &alice).await.problem(400);
    stack.get(&format!("/services/{vps}/statistics?from=yesterday"), &alice).await.problem(400);
    stack.get(&format!("/services/{vps}/statistics?{week}"), &stack.client("bob")).await.problem(404);
    let domain = id_of(&stack.active_on("alice", "domain-com").await);
    let detail = stack.get(&format!("/services/{domain}/statistics?{week}"), &alice).await.problem(409);
    assert!(detail.contains("domain"), "{detail}");
}

fn registrant() -> Value {
    json!({"registrant": {
        "name": "Alice Example", "organization": "Example GmbH", "email": "alice@example.com",
        "phone": "+4930123456",
        "address": {"street": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}
    }})
}

#[tokio::test]
async fn a_domains_nameservers_and_whois_are_set_at_the_registrar_and_checked() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_on("alice", "domain-com").await);
    let nameservers = format!("/services/{id}/nameservers");
    let initial = stack.get(&nameservers, &alice).await.ok(200).clone();
    assert_eq!(initial["nameservers"].as_array().unwrap().len(), 2);
    let wanted = json!({"nameservers": ["NS1.Example.net.", "ns2.example.net", "ns3.example.org"]});
    let set = stack.put(&nameservers, &alice, wanted).await.ok(200).clone();
    assert_eq!(set["nameservers"], json!(["ns1.example.net", "ns2.example.net", "ns3.example.org"]));
    assert_eq!(stack.get(&nameservers, &stack.provider()).await.ok(200), &set);
    for bad in [
        json!({"nameservers": ["ns1.example.net"]}),
        json!({"nameservers": ["ns1.example.net", "not a host"]}),
    ] {
        stack.put(&nameservers, &alice, bad).await.problem(422);
    }
    stack.put(&nameservers, &alice, json!({"servers": []})).await.problem(400);
    assert_eq!(stack.get(&nameservers, &alice).await.ok(200), &set, "refusals change nothing");

    let whois = format!("/services/{id}/whois");
    assert_eq!(stack.get(&whois, &alice).await.ok(200)["registrant"], Value::Null);
    let set = stack.put(&whois, &alice, registrant()).await.ok(200).clone();
    assert_eq!(set, registrant());
    assert_eq!(stack.get(&whois, &alice).await.ok(200), &registrant());
    for (field, value) in [("email", "alice-at-example"), ("phone", "030 123456"), ("country", "Germany")] {
        let mut bad = registrant();
        if field == "country" {
            bad["registrant"]["address"]["country"] = json!(value);
        } else {
            bad["registrant"][field] = json!(value);
        }
        let detail = stack.put(&whois, &alice, bad).await.problem(422);
        assert!(detail.contains(field), "{field}: {detail}");
    }
    let operations: Vec<String> = stack.history(&id).await.into_iter().map(|e| e.0).collect();
    assert_eq!(operations[operations.len() - 2..], ["nameservers_change", "whois_change"]);

    stack.get(&whois, &stack.client("bob")).await.problem(404);
    stack
        .put(&nameservers, &stack.client("bob"), json!({"nameservers": ["a.example.com", "b.example.com"]}))
        .await
        .problem(404);
    let vps = id_of(&stack.active_vps("alice").await);
    let detail = stack.get(&format!("/services/{vps}/whois"), &alice).await.problem(409);
    assert!(detail.contains("vps"), "{detail}");
}

#[tokio::test]
async fn a_domain_check_answers_availability_with_prices() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let free = stack.get("/domains/check?name=Fresh-Name.com", &alice).await.ok(200).clone();
    assert_eq!((free["name"].clone(), free["available"].clone()), (json!("fresh-name.com"), json!(true)));
    let prices = free["prices"].as_array().unwrap();
    assert!(
        prices.contains(&json!({"tariff_id": "domain-com", "period_months": 12, "price": 1200})),
        "{free}"
    );
    assert!(
        prices.contains(&json!({"tariff_id": "domain-com", "period_months": 24, "price": 2300})),
        "{free}"
    );
    let taken = stack.get("/domains/check?name=taken-name.com", &stack.provider()).await.ok(200).clone();
    assert_eq!(taken["available"], false);
    let registered = stack.active_on("alice", "domain-com").await;
    let name = registered["params"]["domain"].as_str().unwrap();
    assert_eq!(stack.get(&format!("/domains/check?name={name}"), &alice).await.ok(200)["available"], false);
    for bad in ["name=not_a_domain", "name=com", "name=a..com", "", "domain=example.com"] {
        stack.get(&format!("/domains/check?{bad}"), &alice).await.problem(400);
    }
}

#[tokio::test]
async fn an_international_domain_is_checked_by_its_a_labels() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let a_labels = stack.get("/domains/check?name=xn--e1afmkfd.xn--p1ai", &alice).await.ok(200).clone();
    assert_eq!(a_labels["name"], "xn--e1afmkfd.xn--p1ai");
    // The Unicode name, percent-encoded in the query, is the same name.
    let unicode = "%D0%BF%D1%80%D0%B8%D0%BC%D0%B5%D1%80.%D1%80%D1%84";
    let converted = stack.get(&format!("/domains/check?name={unicode}"), &alice).await.ok(200).clone();
    assert_eq!(converted["name"], "xn--e1afmkfd.xn--p1ai");
    stack.get("/domains/check?name=xn--zz.com", &alice).await.problem(400);
}

#[tokio::test]
async fn virtual_servers_fit_in_the_data_centers_resources() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_on("alice", "vdc-small").await);
    let path = format!("/services/{id}/virtual-servers");
    let server =
        |name: &str, vcpu: u32| json!({"name": name, "vcpu": vcpu, "memory_mb": 2048, "disk_gb": 40});
    let web = stack.post(&path, &alice, server("web", 2)).await.ok(201).clone();
    stack.post(&path, &stack.provider(), server("db", 2)).await.ok(201);
    let detail = stack.post(&path, &alice, server("extra", 1)).await.problem(409);
    assert!(detail.contains("exhausted"), "{detail}");
    let listed = stack.get(&path, &alice).await.ok(200).clone();
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);

    let web_path = format!("{path}/{}", web["id"].as_str().unwrap());
    assert_eq!(stack.send(Call::new("DELETE", &web_path).token(&stack.client("bob"))).await.status, 404);
    assert_eq!(stack.send(Call::new("DELETE", &web_path).token(&alice)).await.status, 204);
    stack.send(Call::new("DELETE", &web_path).token(&alice)).await.problem(404);
    stack.post(&path, &alice, server("extra", 1)).await.ok(201);
    stack.post(&path, &alice, server("bad name", 1)).await.problem(422);
    stack.post(&path, &alice, json!({"name": "x", "vcpu": 1})).await.problem(400);
    stack.get(&path, &stack.client("bob")).await.problem(404);
    let operations: Vec<String> = stack.history(&id).await.into_iter().map(|e| e.0).collect();
    let created = operations.iter().filter(|o| *o == "virtual_server_create").count();
    let deleted = operations.iter().filter(|o| *o == "virtual_server_delete").count();
    assert_eq!((created, deleted), (3, 1));
    let vps = id_of(&stack.active_vps("alice").await);
    let detail = stack.get(&format!("/services/{vps}/virtual-servers"), &alice).await.problem(409);
    assert!(detail.contains("vps"), "{detail}");
}

#[tokio::test]
async fn the_provider_reaches_every_clients_settings() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let vps = id_of(&stack.active_vps("alice").await);
    let domain = id_of(&stack.active_on("bob", "domain-com").await);
    let vdc = id_of(&stack.active_on("carol", "vdc-small").await);
    for path in [
        format!("/services/{vps}/ip-addresses"),
        format!("/services/{vps}/statistics"),
        format!("/services/{domain}/nameservers"),
        format!("/services/{domain}/whois"),
        format!("/services/{vdc}/virtual-servers"),
    ] {
        stack.get(&path, &provider).await.ok(200);
    }
    stack.put(&format!("/services/{domain}/whois"), &provider, registrant()).await.ok(200);
    let server = json!({"name": "ops-1", "vcpu": 1, "memory_mb": 1024, "disk_gb": 20});
    let created =
        stack.post(&format!("/services/{vdc}/virtual-servers"), &provider, server).await.ok(201).clone();
    let path = format!("/services/{vdc}/virtual-servers/{}", created["id"].as_str().unwrap());
    assert_eq!(stack.send(Call::new("DELETE", &path).token(&provider)).await.status, 204);
    let added = stack
        .post(&format!("/services/{vps}/ip-addresses"), &provider, json!({"version": 6}))
        .await
        .ok(201)
        .clone();
    let path = format!("/services/{vps}/ip-addresses/{}", added["address"].as_str().unwrap());
    assert_eq!(stack.send(Call::new("DELETE", &path).token(&provider)).await.status, 204);
    let operations: Vec<String> = stack.history(&vps).await.into_iter().map(|e| e.0).collect();
    assert_eq!(operations[operations.len() - 2..], ["ip_address_add", "ip_address_remove"]);
}

/// Issue 13, defect 1: a virtual server's id from the path never walks the panel's paths: `.`,
/// `..` and their escapes are 400 (an empty segment or a slash reaches no function), and a
/// delete names a server the panel listed for the service (404 otherwise). Nothing is deleted
/// and nothing is written in the history.
#[tokio::test]
async fn a_virtual_server_id_cannot_walk_the_panels_paths() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_on("alice", "vdc-small").await);
    let path = format!("/services/{id}/virtual-servers");
    let web = json!({"name": "web", "vcpu": 2, "memory_mb": 2048, "disk_gb": 40});
    stack.post(&path, &alice, web).await.ok(201);
    let history = stack.history(&id).await.len();
    for walk in [".", "..", "%2E%2E", "%2e", ".%2E", "vs-1%2F..", "vs%201"] {
        let reply = stack.send(Call::new("DELETE", &format!("{path}/{walk}")).token(&alice)).await;
        reply.problem(400);
    }
    for unrouted in [format!("{path}/"), format!("{path}/a/b")] {
        let resolved = tests::router::resolve(&tests::router::routes(), "DELETE", &unrouted);
        assert!(!matches!(resolved, tests::router::Resolved::Function { .. }), "{unrouted}: {resolved:?}");
    }
    stack.send(Call::new("DELETE", &format!("{path}/vs-404")).token(&alice)).await.problem(404);
    assert_eq!(stack.get(&path, &alice).await.ok(200)["items"].as_array().unwrap().len(), 1);
    assert_eq!(stack.service(&id).await["status"], "active");
    assert_eq!(stack.history(&id).await.len(), history, "nothing recorded");
}
