//! The security suite, over every route in the route table: object level (another client's
//! service, ticket or payment answers exactly as a missing one), function level (provider-only
//! routes refuse clients; methods a path does not serve reach no handler), property level
//! (server-owned fields are refused and change nothing) and resource limits. Authentication is
//! in `auth.rs`.

use crate::helpers::{id_of, Call, Reply, Stack};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use tests::emulator::workspace_root;
use tests::router::{self, Resolved};

/// Routes only the provider may call.
pub(crate) const PROVIDER_ONLY: [(&str, &str); 30] = [
    ("PUT", "/product-types/{type}"),
    ("POST", "/tariffs"),
    ("POST", "/services/{id}/activate"),
    ("POST", "/services/{id}/abuse-reports"),
    ("POST", "/services/{id}/grace"),
    ("GET", "/clients/{client_id}/account"),
    ("POST", "/clients/{client_id}/payments"),
    ("POST", "/payments/{id}/confirm"),
    ("POST", "/payments/{id}/reversal"),
    ("GET", "/clients/{client_id}/notifications"),
    ("PUT", "/clients/{client_id}/notifications"),
    ("GET", "/notification-templates/{kind}"),
    ("PUT", "/notification-templates/{kind}"),
    ("POST", "/reconciliations"),
    ("GET", "/reconciliations"),
    ("GET", "/reconciliations/{id}"),
    ("GET", "/reconciliations/{id}/items"),
    ("POST", "/reconciliations/{id}/items/{item_id}/resolve"),
    ("POST", "/imports"),
    ("GET", "/imports"),
    ("GET", "/imports/{id}"),
    ("PUT", "/imports/{id}/files/{name}"),
    ("GET", "/imports/{id}/preview"),
    ("POST", "/imports/{id}/apply"),
    ("POST", "/bulk-operations"),
    ("GET", "/bulk-operations"),
    ("GET", "/bulk-operations/{id}"),
    ("GET", "/bulk-operations/{id}/preview"),
    ("POST", "/bulk-operations/{id}/approve"),
    ("POST", "/bulk-operations/{id}/cancel"),
];

fn provider_only(method: &str, path: &str) -> bool {
    PROVIDER_ONLY.contains(&(method, path))
}

/// The sample body of a function's event, if it has one.
pub(crate) fn sample_body(function: &str) -> Option<Value> {
    let text = std::fs::read_to_string(workspace_root().join(format!("events/{function}.json"))).ok()?;
    let event: Value = serde_json::from_str(&text).ok()?;
    event["body"].as_str().and_then(|b| serde_json::from_str(b).ok())
}

/// Whose things a call names.
struct Owner {
    client: &'static str,
    service: String,
    ticket: String,
    payment: String,
}

impl Owner {
    async fn new(stack: &Stack, client: &'static str) -> Self {
        let token = stack.client(client);
        let service = id_of(&stack.active_vps(client).await);
        let ticket = json!({"subject": "Hello", "message": "A question"});
        let ticket = id_of(stack.post(&format!("/services/{service}/tickets"), &token, ticket).await.ok(201));
        let payment = id_of(stack.post("/payments", &token, json!({"amount": 100})).await.ok(201));
        Self { client, service, ticket, payment }
    }

    /// The route's path with this owner's ids (`missing` instead where given).
    fn path(&self, template: &str, missing: Option<&str>) -> String {
        let id = match template {
            t if t.starts_with("/tickets/") => &self.ticket,
            t if t.starts_with("/payments/") => &self.payment,
            _ => &self.service,
        };
        template
            .replace("{id}", missing.unwrap_or(id))
            .replace("{client_id}", missing.unwrap_or(self.client))
            .replace("{type}", "vps")
            .replace("{ip}", "198.51.100.1")
            .replace("{vs_id}", "vs-1")
            .replace("{kind}", "activated")
    }
}

async fn call(stack: &Stack, method: &str, path: &str, token: &str, body: Option<&Value>) -> Reply {
    let mut call = Call::new(method, path).token(token);
    if let Some(body) = body {
        call = call.json(body);
    }
    stack.send(call).await
}

/// What must not move when a call is refused: a service's version and history, a client's
/// balance and ledger, a ticket's messages.
async fn footprint(stack: &Stack, owner: &Owner) -> Value {
    let ticket = stack.get(&format!("/tickets/{}", owner.ticket), &stack.provider()).await.ok(200).clone();
    json!({
        "version": stack.service(&owner.service).await["version"],
        "history": stack.history(&owner.service).await.len(),
        "balance": stack.balance(owner.client).await,
        "ledger": stack.ledger(owner.client).await.len(),
        "messages": ticket["messages"].as_array().unwrap().len(),
    })
}

#[tokio::test]
async fn another_clients_things_answer_exactly_as_missing_ones_and_nothing_leaks() {
    let stack = Stack::new().await;
    let (alice, bob) = (Owner::new(&stack, "alice").await, Owner::new(&stack, "bob").await);
    let token = stack.client("alice");
    let before = footprint(&stack, &bob).await;
    let missing = ulid::Ulid::generate().to_string();
    let mut checked = 0;
    for (method, template, function) in crate::routes::routed() {
        let owned = ["/services/{id}", "/tickets/{id}", "/payments/{id}", "/clients/{client_id}"];
        if !owned.iter().any(|prefix| template.starts_with(prefix)) {
            continue;
        }
        let body = sample_body(&function);
        let another = call(&stack, &method, &bob.path(&template, None), &token, body.as_ref()).await;
        let absent =
            call(&stack, &method, &alice.path(&template, Some(&missing)), &token, body.as_ref()).await;
        let expected = if provider_only(&method, &template) { 403 } else { 404 };
        assert_eq!(another.status, expected, "{method} {template}: {}", another.body);
        assert_eq!((another.status, &another.body), (absent.status, &absent.body), "{method} {template}");
        // A certificate's chain is 404 to its owner too until one is issued (tests/api/certificates.rs).
        if method == "GET"
            && expected == 404
            && !template.contains("{vs_id}")
            && !template.ends_with("/certificate")
        {
            let own = call(&stack, &method, &alice.path(&template, None), &token, None).await;
            assert_ne!(own.status, 404, "{method} {template}: the owner reaches its own");
        }
        checked += 1;
    }
    assert!(checked >= 34, "only {checked} routes take an owned id");
    assert_eq!(footprint(&stack, &bob).await, before, "bob's things did not move");
    let listed = stack.get("/services", &token).await.ok(200).clone();
    assert_eq!(crate::helpers::ids(&listed), vec![alice.service.clone()], "nothing of bob's is listed");
    let tickets = stack.get("/tickets", &token).await.ok(200).clone();
    assert!(tickets["items"].as_array().unwrap().iter().all(|t| t["client_id"] == "alice"));
}

#[tokio::test]
async fn provider_only_routes_refuse_clients_and_unserved_methods_reach_no_handler() {
    let stack = Stack::new().await;
    let alice = Owner::new(&stack, "alice").await;
    let token = stack.client("alice");
    let routed = crate::routes::routed();
    let before = footprint(&stack, &alice).await;
    for (method, template) in PROVIDER_ONLY {
        let function = routed.iter().find(|(m, p, _)| *m == method && *p == template).map(|r| r.2.clone());
        let function = function.unwrap_or_else(|| panic!("{method} {template} is not routed"));
        let reply =
            call(&stack, method, &alice.path(template, None), &token, sample_body(&function).as_ref()).await;
        assert_eq!(reply.status, 403, "{method} {template}: {}", reply.body);
    }
    assert_eq!(footprint(&stack, &alice).await, before);

    let routes = router::routes();
    let paths: BTreeSet<&str> = routes.iter().map(|r| r.path.as_str()).collect();
    for path in paths {
        let concrete = alice.path(path, None);
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] {
            let served = routes.iter().any(|r| r.path == path && r.method == method);
            if !served {
                let resolved = router::resolve(&routes, method, &concrete);
                assert!(matches!(resolved, Resolved::MethodNotAllowed), "{method} {path}: {resolved:?}");
            }
        }
    }
}

/// Fields the server owns (and, from a client, `client_id` and prices): never bound from a
/// request.
fn server_owned() -> Vec<(&'static str, Value)> {
    vec![
        ("status", json!("active")),
        ("version", json!(99)),
        ("balance", json!(1_000_000)),
        ("order_price", json!(1)),
        ("paid", json!(true)),
        ("pk", json!("SVC#x")),
        ("gsi1pk", json!("CLIENT#bob")),
        ("client_id", json!("bob")),
        ("renewal_price", json!(1)),
    ]
}

#[tokio::test]
async fn server_owned_fields_are_refused_and_change_nothing() {
    let stack = Stack::new().await;
    let alice = Owner::new(&stack, "alice").await;
    let provider = stack.provider();
    let before = footprint(&stack, &alice).await;
    let services = stack.get("/services", &provider).await.ok(200)["items"].as_array().unwrap().len();
    for (method, template, function) in crate::routes::routed() {
        // An upload's body is a WHMCS answer, whose fields are WHMCS's (a client's `status`
        // among them): it is read, never taken as what to set.
        if method == "GET" || template == "/imports/{id}/files/{name}" {
            continue;
        }
        // A client where a client may call it; the provider on its own routes, where only the
        // client-only fields (`client_id`, prices) are its to set.
        let as_provider = provider_only(&method, &template);
        let token = if as_provider { provider.clone() } else { stack.client("alice") };
        for (field, value) in server_owned() {
            if as_provider && ["client_id", "renewal_price"].contains(&field) {
                continue;
            }
            let mut body = sample_body(&function).unwrap_or_else(|| json!({}));
            body[field] = value.clone();
            let reply = call(&stack, &method, &alice.path(&template, None), &token, Some(&body)).await;
            assert_eq!(reply.status, 400, "{method} {template} with `{field}`: {}", reply.body);
        }
    }
    assert_eq!(footprint(&stack, &alice).await, before, "nothing moved");
    assert_eq!(stack.get("/services", &provider).await.ok(200)["items"].as_array().unwrap().len(), services);
    assert_eq!(stack.drain_queue(1).await, 0, "nothing queued");
}

#[tokio::test]
async fn limits_on_pages_bodies_and_strings_are_400_and_413() {
    let stack = Stack::new().await;
    let alice = Owner::new(&stack, "alice").await;
    let token = stack.client("alice");
    let provider = stack.provider();
    let service = &alice.service;
    for path in ["/services", "/tickets", "/account", &format!("/services/{service}/history")] {
        stack.get(&format!("{path}?limit=101"), &token).await.problem(400);
        stack.get(&format!("{path}?limit=100"), &token).await.ok(200);
    }
    let huge = json!({"subject": "x", "message": "y".repeat(70_000)});
    stack.post(&format!("/services/{service}/tickets"), &token, huge).await.problem(413);
    let long = |n: usize| "x".repeat(n);
    let cases = [
        (format!("/services/{service}/tickets"), &token, json!({"subject": long(201), "message": "m"})),
        (format!("/services/{service}/tickets"), &token, json!({"subject": "s", "message": long(10_001)})),
        (format!("/tickets/{}/messages", alice.ticket), &token, json!({"message": long(10_001)})),
        (
            format!("/services/{service}/abuse-reports"),
            &provider,
            json!({"score": 1, "description": long(2_001)}),
        ),
        (
            format!("/services/{service}/grace"),
            &provider,
            json!({"until": "2027-01-01T00:00:00Z", "reason": long(501)}),
        ),
    ];
    let before = footprint(&stack, &alice).await;
    for (path, who, body) in cases {
        let reply = stack.post(&path, who, body).await;
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
    }
    assert_eq!(footprint(&stack, &alice).await, before);
}
