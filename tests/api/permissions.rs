//! Every AWS call a function makes is one its policies in infra/template.yaml allow. The
//! emulator checks no permissions, so each `Stack` records the calls of the functions it runs
//! and fails its test on one the template does not allow (see `helpers::Stack`); this test runs
//! every function of the template, the worker and the scheduled jobs included, through the
//! paths that reach each AWS call, and lists what the policies allow that nothing called.

use crate::helpers::{id_of, Call, Stack};
use crate::security::sample_body;
use serde_json::{json, Value};
use shared::domain::{Clock, Timestamp};
use tests::policies::{listing, Policies};
use tests::recording::AwsCalls;

/// Allowed for Lambda rather than for the function's code: the event source mappings read the
/// queues and the table's stream with the functions' roles (the bridges here receive and
/// delete as they would, but never read a queue's attributes), and send a stream batch that
/// kept failing to the publisher's failure queue.
const LAMBDAS_OWN: [(&str, &str); 8] = [
    ("operations-worker", "sqs:GetQueueAttributes"),
    ("notifier", "sqs:GetQueueAttributes"),
    ("events-publisher", "dynamodb:DescribeStream"),
    ("events-publisher", "dynamodb:GetRecords"),
    ("events-publisher", "dynamodb:GetShardIterator"),
    ("events-publisher", "dynamodb:ListStreams"),
    ("events-publisher", "sqs:SendMessage"),
    ("notifier", "sqs:ChangeMessageVisibility"),
];

#[tokio::test]
async fn every_function_calls_only_what_its_policies_allow() {
    let stack = Stack::with_events().await;
    run_every_function(&stack).await;
    let made = stack.aws_calls.made();
    let policies = Policies::of_template();
    let never_run: Vec<&str> = policies.functions().filter(|f| !made.contains_key(*f)).collect();
    assert!(never_run.is_empty(), "functions this test does not run: {never_run:?}");
    let mut unused = policies.unused(&made);
    for (function, action) in LAMBDAS_OWN {
        unused.get_mut(function).map(|actions| actions.remove(action));
    }
    unused.retain(|_, actions| !actions.is_empty());
    println!("allowed by infra/template.yaml and never called here:\n{}", listing(&unused));
    let ungranted = policies.ungranted(&made);
    assert!(ungranted.is_empty(), "calls infra/template.yaml does not allow:\n{}", listing(&ungranted));
}

#[tokio::test]
async fn a_call_the_policies_do_not_allow_is_caught_by_its_iam_action() {
    let stack = Stack::new().await;
    let calls = AwsCalls::default();
    // A reader writes: a transaction is checked by the action of each item, not its own name.
    let reader = calls.app_for(&stack.app, "get-service");
    let (service, entry) =
        tests::stack::vps_order("alice", Timestamp::parse("2026-11-01T00:00:00Z").unwrap());
    reader.store.insert_service(&service, &entry).await.expect("written");
    let made = calls.made();
    let ungranted = Policies::of_template().ungranted(&made);
    assert_eq!(made.keys().collect::<Vec<_>>(), ["get-service"]);
    assert!(ungranted["get-service"].contains("dynamodb:PutItem"), "{made:?}");
    assert!(made["get-service"].iter().all(|action| !action.contains("Transact")), "{made:?}");
}

/// A reconciliation that finds the VPS suspended on its panel, read and resolved by bringing
/// the panel back in step (through the queue); the scheduled job's run.
async fn reconciliations(stack: &Stack, vps: &str) {
    let provider = stack.provider();
    stack.panel_control("drift", json!({"service_id": vps, "status": "suspended"})).await;
    let run = done(stack, "POST", "/reconciliations", &provider, Some(json!({"product_type": "vps"}))).await;
    let run = id_of(&run);
    done(stack, "GET", &format!("/reconciliations/{run}"), &provider, None).await;
    done(stack, "GET", "/reconciliations", &provider, None).await;
    let items = done(stack, "GET", &format!("/reconciliations/{run}/items"), &provider, None).await;
    assert_eq!(items["items"][0]["service_id"], vps, "{items}");
    let resolve = format!("/reconciliations/{run}/items/{vps}/resolve");
    done(stack, "POST", &resolve, &provider, Some(json!({"action": "apply_billing"}))).await;
    stack.drain_queue(5).await;
    stack.run_job("reconcile").await;
}

/// A bulk operation drafted, previewed, approved (its first service queued), carried on by
/// the worker and by its job; another drafted and cancelled.
async fn bulk_operations(stack: &Stack, vps: &str) {
    let provider = stack.provider();
    let body = json!({"operation": "set_renewal_price", "percent": 10, "service_ids": [vps],
                      "from": stack.clock.now().plus_seconds(40 * 86_400)});
    let draft = id_of(&done(stack, "POST", "/bulk-operations", &provider, Some(body)).await);
    done(stack, "GET", &format!("/bulk-operations/{draft}/preview"), &provider, None).await;
    done(stack, "POST", &format!("/bulk-operations/{draft}/approve"), &provider, None).await;
    done(stack, "GET", &format!("/bulk-operations/{draft}"), &provider, None).await;
    done(stack, "GET", "/bulk-operations", &provider, None).await;
    let reboot = json!({"operation": "disable", "service_ids": [vps]});
    let second = id_of(&done(stack, "POST", "/bulk-operations", &provider, Some(reboot.clone())).await);
    done(stack, "POST", &format!("/bulk-operations/{second}/cancel"), &provider, None).await;
    let third = id_of(&done(stack, "POST", "/bulk-operations", &provider, Some(reboot)).await);
    done(stack, "POST", &format!("/bulk-operations/{third}/approve"), &provider, None).await;
    stack.drain_queue(5).await;
    stack.run_job("carry-on-bulk-operations").await;
    let enable = json!({"operation": "enable", "service_ids": [vps]});
    let fourth = id_of(&done(stack, "POST", "/bulk-operations", &provider, Some(enable)).await);
    done(stack, "POST", &format!("/bulk-operations/{fourth}/approve"), &provider, None).await;
    stack.drain_queue(5).await;
}

/// An import from WHMCS staged, previewed and applied (its balance credited, its service
/// written), and the job that carries imports on.
async fn imports(stack: &Stack) {
    let provider = stack.provider();
    let mapping =
        json!({"products": {"1": "vps-start"}, "clients": {"prefix": "imported-"}, "currencies": {"USD": 2}});
    let import =
        done(stack, "POST", "/imports", &provider, Some(json!({"source": "whmcs", "mapping": mapping})))
            .await;
    let import = id_of(&import);
    let details = json!({"result": "success", "client": {"id": 1, "email": "i@example.com", "currency_code": "USD", "credit": "1.00"}});
    let products = json!({"result": "success", "products": {"product": [{"id": 1, "clientid": 1, "pid": 1,
        "nextduedate": "2027-01-01", "billingcycle": "Monthly", "recurringamount": "5.00", "status": "Active"}]}});
    for (name, body) in [("details.json", details), ("products.json", products)] {
        done(stack, "PUT", &format!("/imports/{import}/files/{name}"), &provider, Some(body)).await;
    }
    let preview = done(stack, "GET", &format!("/imports/{import}/preview"), &provider, None).await;
    assert_eq!(preview["summary"]["services"]["create"], 1, "{preview}");
    let applied = done(stack, "POST", &format!("/imports/{import}/apply"), &provider, Some(json!({}))).await;
    assert_eq!(applied["status"], "done", "{applied}");
    done(stack, "GET", &format!("/imports/{import}"), &provider, None).await;
    done(stack, "GET", "/imports", &provider, None).await;
    stack.run_job("carry-on-imports").await;
    stack.run_job("carry-on-bulk-operations").await;
}

/// Sends a call that must succeed, a write with an `Idempotency-Key` (whose record is written
/// and completed with the function's permissions); answers its body.
async fn done(stack: &Stack, method: &str, path: &str, token: &str, body: Option<Value>) -> Value {
    let mut call = Call::new(method, path).token(token);
    if method != "GET" {
        call = call.header("idempotency-key", &ulid::Ulid::generate().to_string());
    }
    if let Some(body) = &body {
        call = call.json(body);
    }
    let reply = stack.send(call).await;
    assert!((200..300).contains(&reply.status), "{method} {path} answered {}: {}", reply.status, reply.body);
    reply.body
}

async fn run_every_function(stack: &Stack) {
    catalog(stack).await;
    let vps = id_of(&stack.active_vps("alice").await);
    stack.fund("alice", 100_000).await;
    cart_and_payments(stack).await;
    service_reads(stack, &vps).await;
    service_changes(stack, &vps).await;
    let ticket = tickets(stack, &vps).await;
    domain_settings(stack).await;
    ssl_and_virtual_data_center(stack).await;
    let not_hosted = activation_after_no_room(stack).await;
    notifications(stack).await;
    // The console's pages: public files, no AWS call.
    done(stack, "GET", "/console/services", "", None).await;
    reconciliations(stack, &vps).await;
    imports(stack).await;
    bulk_operations(stack, &vps).await;
    accounts_and_deletion(stack, &vps, &ticket).await;
    schedules(stack, &not_hosted).await;
    // Every history entry so far, to the bus; the e-mails they make, to alice's address.
    stack.tell().await;
    // And all of it again, read back from the table (`replay-events`).
    let everything = json!({"from": "2000-01-01T00:00:00Z", "to": "2999-01-01T00:00:00Z"});
    stack.replay_events(everything).await.expect("replayed");
}

async fn notifications(stack: &Stack) {
    let (alice, provider) = (stack.client("alice"), stack.provider());
    let address = format!("alice@{}.test", stack.app.store.table());
    // Set and confirmed with the token e-mailed to it.
    stack.confirm_address("alice", &address, json!([])).await;
    done(stack, "GET", "/account/notifications", &alice, None).await;
    done(stack, "GET", "/notifications", &alice, None).await;
    done(stack, "PUT", "/clients/alice/notifications", &provider, Some(json!({"email": address}))).await;
    done(stack, "GET", "/clients/alice/notifications", &provider, None).await;
    done(stack, "GET", "/notification-templates/renewed", &provider, None).await;
    done(
        stack,
        "PUT",
        "/notification-templates/renewed",
        &provider,
        sample_body("put-notification-template"),
    )
    .await;
}

async fn catalog(stack: &Stack) {
    let provider = stack.provider();
    done(stack, "GET", "/product-types", &stack.client("alice"), None).await;
    let mut rules = sample_body("put-product-type").expect("a sample");
    rules["panel_url"] = json!(format!("{}/dedicated", stack.panel));
    done(stack, "PUT", "/product-types/dedicated", &provider, Some(rules)).await;
    done(stack, "POST", "/tariffs", &provider, sample_body("create-tariff")).await;
    done(stack, "GET", "/tariffs?product_type=vps", &provider, None).await;
    done(stack, "GET", "/tariffs/vps-start", &provider, None).await;
}

async fn cart_and_payments(stack: &Stack) {
    let alice = stack.client("alice");
    stack.order_vps(&alice).await;
    done(stack, "POST", "/cart/checkout", &alice, Some(json!({}))).await;
    stack.drain_queue(10).await;
    let payment = id_of(&done(stack, "POST", "/payments", &alice, sample_body("create-payment")).await);
    let confirm = format!("/payments/{payment}/confirm");
    done(stack, "POST", &confirm, &stack.provider(), sample_body("confirm-payment")).await;
    let reversal = format!("/payments/{payment}/reversal");
    done(stack, "POST", &reversal, &stack.provider(), sample_body("reverse-payment")).await;
}

async fn service_reads(stack: &Stack, vps: &str) {
    let alice = stack.client("alice");
    for path in ["", "/history", "/timeline", "/options", "/ip-addresses", "/paid-time"] {
        done(stack, "GET", &format!("/services/{vps}{path}"), &alice, None).await;
    }
    let week = "from=2026-11-01T00:00:00Z&to=2026-11-07T00:00:00Z";
    done(stack, "GET", &format!("/services/{vps}/statistics?{week}"), &alice, None).await;
    done(stack, "GET", "/services?limit=20", &alice, None).await;
}

/// Each operation carried out by the worker before the next; a reboot fails once on the panel,
/// so that the worker puts its retry off.
async fn service_changes(stack: &Stack, vps: &str) {
    let (alice, provider) = (stack.client("alice"), stack.provider());
    let service = format!("/services/{vps}");
    done(stack, "PATCH", &service, &alice, sample_body("edit-service")).await;
    stack.panel_control("fail", json!({"product_type": "vps", "count": 1, "status": 500})).await;
    let operations = [
        ("options", "PUT", &alice, sample_body("put-service-options")),
        ("renew", "POST", &alice, Some(json!({"periods": 1}))),
        ("change-tariff", "POST", &alice, Some(json!({"tariff_id": "vps-pro"}))),
        ("reboot", "POST", &alice, None),
        ("disable", "POST", &alice, sample_body("disable-service")),
        ("enable", "POST", &alice, None),
        ("transfer", "POST", &provider, None),
    ];
    for (operation, method, token, body) in operations {
        done(stack, method, &format!("{service}/{operation}"), token, body).await;
        stack.drain_queue(10).await;
    }
    done(stack, "POST", &format!("{service}/abuse-reports"), &provider, sample_body("report-abuse")).await;
    let added =
        done(stack, "POST", &format!("{service}/ip-addresses"), &alice, Some(json!({"version": 4}))).await;
    let address = added["address"].as_str().expect("an address");
    done(stack, "DELETE", &format!("{service}/ip-addresses/{address}"), &alice, None).await;
    // A one-time link into the panel: the service's minute counted, the sign-in recorded.
    done(stack, "POST", &format!("{service}/panel-session"), &provider, None).await;
}

/// A ticket about the VPS; answers its id.
async fn tickets(stack: &Stack, vps: &str) -> String {
    let alice = stack.client("alice");
    let ticket = id_of(
        &done(stack, "POST", &format!("/services/{vps}/tickets"), &alice, sample_body("create-ticket")).await,
    );
    done(
        stack,
        "POST",
        &format!("/tickets/{ticket}/messages"),
        &stack.provider(),
        sample_body("add-ticket-message"),
    )
    .await;
    ticket
}

async fn domain_settings(stack: &Stack) {
    let alice = stack.client("alice");
    let domain = format!("/services/{}", id_of(&stack.active_on("alice", "domain-com").await));
    for (setting, function) in [("nameservers", "put-nameservers"), ("whois", "put-whois")] {
        done(stack, "GET", &format!("{domain}/{setting}"), &alice, None).await;
        done(stack, "PUT", &format!("{domain}/{setting}"), &alice, sample_body(function)).await;
    }
    done(stack, "GET", "/domains/check?name=example.com", &alice, None).await;
}

async fn ssl_and_virtual_data_center(stack: &Stack) {
    let alice = stack.client("alice");
    let ssl = id_of(&stack.active_on("alice", "ssl-dv").await);
    done(stack, "POST", &format!("/services/{ssl}/reissue"), &alice, None).await;
    stack.drain_queue(10).await;
    let servers =
        format!("/services/{}/virtual-servers", id_of(&stack.active_on("alice", "vdc-small").await));
    done(stack, "GET", &servers, &alice, None).await;
    let made = done(stack, "POST", &servers, &alice, sample_body("create-virtual-server")).await;
    done(stack, "DELETE", &format!("{servers}/{}", id_of(&made)), &alice, None).await;
    // The ssl type through the ACME module: an account made and kept, an order placed,
    // validated, polled, finalised; a reissue that revokes.
    use crate::certificates::{ask_to_validate, csr_for, fresh_name, issued_on_demo, settle, switch_to_acme};
    switch_to_acme(stack, &tests::pebble::ensure_running().demo_directory).await;
    let name = fresh_name("permissions");
    let certificate = issued_on_demo(stack, &[&name]).await;
    done(stack, "GET", &format!("/services/{certificate}/certificate"), &alice, None).await;
    let csr = json!({"csr": csr_for(&[&name])});
    done(stack, "POST", &format!("/services/{certificate}/reissue"), &alice, Some(csr)).await;
    settle(stack, &certificate).await;
    done(stack, "GET", &format!("/services/{certificate}/validation"), &alice, None).await;
    ask_to_validate(stack, &certificate).await;
    settle(stack, &certificate).await;
}

/// A paid VPS the panel had no room for, activated by the provider once it has; answers it.
async fn activation_after_no_room(stack: &Stack) -> Value {
    let alice = stack.client("alice");
    stack.panel_control("capacity", json!({"vps": 0})).await;
    let service = stack.order_vps(&alice).await;
    stack.fund("alice", service["order_price"].as_u64().unwrap()).await;
    stack.drain_queue(10).await;
    stack.panel_control("capacity", json!({"vps": 10_000})).await;
    done(stack, "POST", &format!("/services/{}/activate", id_of(&service)), &stack.provider(), None).await;
    stack.drain_queue(10).await;
    stack.service(&id_of(&service)).await
}

/// The accounts and tickets as the client reads them, before and after a service they link
/// to is deleted.
async fn accounts_and_deletion(stack: &Stack, vps: &str, ticket: &str) {
    let alice = stack.client("alice");
    let reads = ["/account".to_owned(), "/tickets?limit=20".to_owned(), format!("/tickets/{ticket}")];
    for path in &reads {
        done(stack, "GET", path, &alice, None).await;
    }
    done(stack, "DELETE", &format!("/services/{vps}"), &alice, None).await;
    stack.drain_queue(10).await;
    for path in &reads {
        done(stack, "GET", path, &alice, None).await;
    }
    done(stack, "GET", "/clients/alice/account?limit=20", &stack.provider(), None).await;
}

/// Past the services' expiry: a stalled reboot for the operations sweep, a grace for one
/// service, and every scheduled job.
async fn schedules(stack: &Stack, service: &Value) {
    let id = id_of(service);
    done(stack, "POST", &format!("/services/{id}/reboot"), &stack.client("alice"), None).await;
    let expires = Timestamp::parse(service["expires_at"].as_str().expect("an expiry")).unwrap();
    // A week ahead of the renewal attempts: reminders.
    stack.clock.set(expires.plus_seconds(-5 * 86_400));
    assert!(stack.run_job("reminders").await["acted"].as_u64() > Some(0));
    stack.clock.set(expires.plus_seconds(3600));
    stack.run_job("operations-sweep").await;
    stack.drain_queue(10).await;
    let grace = json!({"until": expires.plus_seconds(7 * 86_400), "reason": "a transfer on its way"});
    done(stack, "POST", &format!("/services/{id}/grace"), &stack.provider(), Some(grace)).await;
    for job in ["auto-renewal", "expiry-sweep", "abuse-sweep", "record-paid-time"] {
        stack.run_job(job).await;
    }
    stack.drain_queue(10).await;
}
