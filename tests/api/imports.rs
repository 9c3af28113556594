//! Imports from WHMCS: an export written as WHMCS answers (the demo's, in
//! infra/local/whmcs-demo/, and exports made here) staged, previewed and applied; every field
//! checked; a second run that updates and doubles nothing; an apply cut short that writes each
//! record once; and nothing else happening on the way (no panel call, charge, operation, e-mail,
//! or event other than `service.imported`).

use crate::helpers::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tests::emulator::workspace_root;

fn demo(name: &str) -> String {
    std::fs::read_to_string(workspace_root().join("infra/local/whmcs-demo").join(name))
        .expect("the demo export")
}

const DEMO_FILES: [&str; 7] = [
    "GetClients.json",
    "GetClientsDetails-1.json",
    "GetClientsDetails-2.json",
    "GetClientsDetails-3.json",
    "GetClientsDetails-4.json",
    "GetClientsProducts-0.json",
    "GetClientsProducts-1.json",
];

/// A new import with `mapping`; answers its id.
async fn stage(stack: &Stack, mapping: Value) -> String {
    let body = json!({"source": "whmcs", "mapping": mapping});
    id_of(stack.post("/imports", &stack.provider(), body).await.ok(201))
}

async fn upload(stack: &Stack, import: &str, name: &str, body: &str) -> Reply {
    stack
        .send(Call::new("PUT", &format!("/imports/{import}/files/{name}")).token(&stack.provider()).raw(body))
        .await
}

/// The demo export staged; answers the import's id.
async fn stage_demo(stack: &Stack) -> String {
    let mapping: Value = serde_json::from_str(&demo("mapping.json")).unwrap();
    let import = stage(stack, mapping).await;
    for name in DEMO_FILES {
        let file = upload(stack, &import, name, &demo(name)).await.ok(200).clone();
        assert_eq!(file["name"], name);
    }
    import
}

/// The whole preview, page by page: `{"client 1": (action, reason)}`, and its summary.
async fn preview(stack: &Stack, import: &str) -> (BTreeMap<String, (String, String)>, Value) {
    let mut items = BTreeMap::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let path = match &cursor {
            Some(c) => format!("/imports/{import}/preview?limit=7&cursor={c}"),
            None => format!("/imports/{import}/preview?limit=7"),
        };
        let reply = stack.get(&path, &stack.provider()).await;
        if reply.status == 202 {
            continue;
        }
        let page = reply.ok(200).clone();
        for item in page["items"].as_array().unwrap() {
            let key = format!("{} {}", item["record"].as_str().unwrap(), item["whmcs_id"]);
            let reason = item["reason"].as_str().unwrap_or_default().to_owned();
            let action = item["action"].as_str().unwrap().to_owned();
            assert!(items.insert(key, (action, reason)).is_none(), "listed twice");
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return (items, page["summary"].clone()),
        }
    }
    panic!("the preview never ended");
}

fn action_of(items: &BTreeMap<String, (String, String)>, key: &str) -> String {
    items.get(key).map(|(a, _)| a.clone()).unwrap_or_else(|| panic!("no {key} in {items:?}"))
}

/// Applies the import until it is done (the job carrying on what a request left), its preview
/// read first.
async fn apply(stack: &Stack, import: &str, body: Value) -> Value {
    preview(stack, import).await;
    let reply = stack.post(&format!("/imports/{import}/apply"), &stack.provider(), body).await;
    assert!(matches!(reply.status, 200 | 202), "{}: {}", reply.status, reply.body);
    for _ in 0..20 {
        let now = stack.get(&format!("/imports/{import}"), &stack.provider()).await.ok(200).clone();
        if now["status"] == "done" {
            return now;
        }
        stack.run_job("carry-on-imports").await;
    }
    panic!("the apply never ended");
}

/// The services of a client, by their `params.domain` or `params.username` or id.
async fn services_of(stack: &Stack, client: &str) -> Vec<Value> {
    let list = stack
        .get(&format!("/services?client_id={client}&limit=100"), &stack.provider())
        .await
        .ok(200)
        .clone();
    list["items"].as_array().unwrap().clone()
}

/// The imported service of WHMCS record `whmcs_id`, through its history entry.
async fn imported(stack: &Stack, client: &str, whmcs_id: u64) -> (Value, Vec<Value>) {
    for service in services_of(stack, client).await {
        let id = id_of(&service);
        let history =
            stack.get(&format!("/services/{id}/history?limit=100"), &stack.provider()).await.ok(200).clone();
        let entries: Vec<Value> = history["items"].as_array().unwrap().clone();
        if entries.iter().any(|e| e["operation"] == "imported" && e["details"]["whmcs_id"] == whmcs_id) {
            return (stack.service(&id).await, entries);
        }
    }
    panic!("no service of {client} imported from {whmcs_id}");
}

#[tokio::test]
async fn a_whmcs_export_is_previewed_then_applied_field_by_field_and_nothing_else_happens() {
    let stack = Stack::with_events().await;
    let import = stage_demo(&stack).await;
    let (items, summary) = preview(&stack, &import).await;
    // Every record, and what would happen to it.
    let expected = [
        ("client 1", "create"),
        ("client 2", "create"),
        ("client 3", "error"),
        ("client 4", "create"),
        ("service 101", "create"),
        ("service 102", "create"),
        ("service 103", "create"),
        ("service 104", "create"),
        ("service 105", "create"),
        ("service 106", "create"),
        ("service 107", "create"),
        ("service 108", "skip"),
        ("service 109", "create"),
        ("service 110", "skip"),
        ("service 111", "skip"),
        ("service 112", "skip"),
        ("service 113", "skip"),
        ("service 114", "error"),
        ("service 115", "error"),
        ("service 116", "error"),
        ("service 117", "error"),
        ("service 118", "error"),
        ("service 119", "error"),
    ];
    assert_eq!(items.len(), expected.len(), "{items:?}");
    for (key, action) in expected {
        assert_eq!(action_of(&items, key), action, "{key}: {:?}", items.get(key));
    }
    let reason = |key: &str| items[key].1.clone();
    assert!(reason("client 3").contains("currency `EUR`"));
    assert!(reason("service 108").contains("one-time"));
    assert!(reason("service 110").contains("Terminated") && reason("service 112").contains("Fraud"));
    assert!(reason("service 114").contains("billing cycle `Weekly`"), "never a guess");
    assert!(reason("service 115").contains("pid `99`"));
    assert!(reason("service 116").contains("recurringamount"));
    assert!(reason("service 117").contains("due date missing"));
    assert!(reason("service 119").contains("client 9 unknown"));
    // The summary: balances in minor units, services per tariff, special prices.
    let balances: BTreeMap<String, u64> = summary["balances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["client_id"].as_str().unwrap().to_owned(), b["balance"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        balances,
        BTreeMap::from([("whmcs-1".into(), 2550), ("whmcs-2".into(), 0), ("whmcs-4".into(), 725)])
    );
    assert_eq!(summary["tariffs"], json!({"vps-start": 4, "hosting-basic": 3, "domain-com": 1}));
    let special: Vec<u64> = summary["special_prices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["whmcs_id"].as_u64().unwrap())
        .collect();
    assert_eq!(special, [102, 103, 107], "{summary}");
    assert_eq!(summary["services"]["error"], 6);

    // Refused while the preview has errors; then applied without them.
    let refused = stack.post(&format!("/imports/{import}/apply"), &stack.provider(), json!({})).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.problem(409).contains("skip_errors"));
    let panel_calls_before = stack.panel_calls().await.len();
    let done = apply(&stack, &import, json!({"skip_errors": true})).await;
    assert_eq!(done["apply"]["done"], json!({"create": 11, "update": 0, "skip": 5, "error": 7}), "{done}");
    assert_eq!(done["apply"]["failed"], 0, "{done}");

    // Accounts: the credit once, as an `imported_balance` entry.
    assert_eq!(stack.ledger("whmcs-1").await, [("imported_balance".to_owned(), 2550)]);
    assert_eq!(stack.balance("whmcs-1").await, 2550);
    assert_eq!(stack.ledger("whmcs-2").await, [], "nothing to credit: no entry");
    assert_eq!(stack.balance("whmcs-4").await, 725);
    assert_eq!(stack.balance("whmcs-3").await, 0, "in error: not imported");

    // Each field of each service.
    let (s101, history) = imported(&stack, "whmcs-1", 101).await;
    assert_eq!(s101["status"], "active");
    assert_eq!(s101["tariff_id"], "vps-start");
    assert_eq!(s101["expires_at"], "2027-01-15T00:00:00.000Z", "nextduedate exactly, midnight UTC");
    assert_eq!((s101["period_months"].as_u64(), s101["renewal_price"].as_u64()), (Some(1), Some(500)));
    assert_eq!(s101["auto_renew"], json!({"enabled": true, "period_months": 1}));
    assert_eq!(s101["flags"]["special_price"], false);
    assert_eq!(s101["params"], json!({"dedicated_ip": "192.0.2.10", "username": "ann1"}));
    assert_eq!(s101["options"], json!([]), "empty configoptions");
    let entry = history.iter().find(|e| e["operation"] == "imported").unwrap();
    assert_eq!(entry["details"]["source"], "whmcs");
    assert_eq!(entry["details"]["import_id"], import);
    assert_eq!(
        (entry["details"]["whmcs_id"].as_u64(), entry["details"]["whmcs_client_id"].as_u64()),
        (Some(101), Some(1))
    );
    assert_eq!(history.len(), 1, "one entry: nothing else happened to it");
    let paid =
        stack.get(&format!("/services/{}/paid-time", id_of(&s101)), &stack.provider()).await.ok(200).clone();
    let stretches = paid["stretches"].as_array().cloned().unwrap_or_default();
    assert_eq!(stretches.len(), 1, "{paid}");
    assert_eq!(stretches[0]["imported"], true, "{paid}");
    assert_eq!(
        (stretches[0]["from"].as_str(), stretches[0]["to"].as_str()),
        (Some("2026-12-15T00:00:00.000Z"), Some("2027-01-15T00:00:00.000Z"))
    );
    assert_eq!(stretches[0]["amount"], 500, "{paid}");

    let (s102, _) = imported(&stack, "whmcs-1", 102).await;
    assert_eq!(s102["options"], json!([{"id": "ipv4", "quantity": 2}]));
    assert_eq!(s102["params"]["assigned_ips"], "192.0.2.11, 192.0.2.12");
    assert_eq!(s102["params"]["configoption_11"], "Operating system: Debian 12", "unmapped: kept");
    assert_eq!((s102["period_months"].as_u64(), s102["renewal_price"].as_u64()), (Some(3), Some(2000)));
    assert_eq!(s102["flags"]["special_price"], true, "2000 where the list says 1400 + 2 x 150 x 3");

    let (s104, history) = imported(&stack, "whmcs-2", 104).await;
    assert_eq!(s104["status"], "suspended_by_admin");
    assert_eq!(history[0]["details"]["reason"], "Overdue on payment");
    assert_eq!((s104["period_months"].as_u64(), s104["renewal_price"].as_u64()), (Some(12), Some(5000)));

    let (s105, _) = imported(&stack, "whmcs-1", 105).await;
    assert_eq!((s105["tariff_id"].as_str(), s105["period_months"].as_u64()), (Some("domain-com"), Some(24)));
    assert_eq!(s105["params"]["domain"], "ann.example");

    let (s106, _) = imported(&stack, "whmcs-4", 106).await;
    assert_eq!((s106["period_months"].as_u64(), s106["renewal_price"].as_u64()), (Some(36), Some(9000)));
    assert_eq!(s106["params"]["customfield_7"], "Purpose: blog");

    let (free, _) = imported(&stack, "whmcs-4", 107).await;
    assert_eq!(
        (free["renewal_price"].as_u64(), free["flags"]["special_price"].as_bool()),
        (Some(0), Some(true))
    );
    assert_eq!(free["auto_renew"]["enabled"], false);
    assert_eq!(free["expires_at"], Value::Null, "WHMCS gives it no due date: it never lapses");

    let (pending, _) = imported(&stack, "whmcs-2", 109).await;
    assert_eq!((pending["status"].as_str(), pending["order_price"].as_u64()), (Some("ordered"), Some(600)));
    assert_eq!(pending["expires_at"], Value::Null);

    // Nothing else happened: no panel call, no queued operation, no charge, no e-mail.
    assert_eq!(stack.panel_calls().await.len(), panel_calls_before, "no panel call");
    assert_eq!(stack.drain_queue(3).await, 0, "no operation queued");
    stack.tell().await;
    let kinds: Vec<String> = stack
        .tapped()
        .await
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(kinds.len(), 8, "one per service: {kinds:?}");
    assert!(kinds.iter().all(|k| k == "service.imported"), "{kinds:?}");
    for address in ["ann@example.com", "bo@example.com", "not-an-address"] {
        assert!(stack.mail_to(address).await.is_empty(), "no e-mail to {address}");
    }
    // The WHMCS address became the client's notification address (the provider vouches).
    let settings = stack.get("/clients/whmcs-1/notifications", &stack.provider()).await.ok(200).clone();
    assert_eq!(settings["email"], "ann@example.com", "{settings}");
}

/// A small export: client 1 with `credit`, its product 501 as `product` says.
fn export(credit: &str, product: Value) -> (String, String) {
    export_of(1, credit, product)
}

/// A small export: client `client` with `credit`, its product 501 as `product` says.
fn export_of(client: u64, credit: &str, product: Value) -> (String, String) {
    let details = json!({"result": "success", "userid": client, "client": {"id": client.to_string(),
        "email": "c@example.com", "currency_code": "USD", "credit": credit}});
    let mut base = json!({"id": "501", "clientid": client.to_string(), "pid": "1", "name": "VPS", "groupname": "VPS",
        "domain": "", "regdate": "2025-01-01", "nextduedate": "2027-01-10", "billingcycle": "Monthly",
        "recurringamount": "5.00", "firstpaymentamount": "5.00", "status": "Active", "suspensionreason": "",
        "username": "", "dedicatedip": "", "assignedips": "", "serverid": "1",
        "configoptions": {"configoption": []}, "customfields": ""});
    for (k, v) in product.as_object().unwrap() {
        base[k] = v.clone();
    }
    let products = json!({"result": "success", "totalresults": "1", "products": {"product": [base]}});
    (details.to_string(), products.to_string())
}

fn small_mapping(prefix: &str) -> Value {
    json!({"products": {"1": "vps-start"}, "configoptions": {"10": "ipv4"}, "servers": {"1": "vps"},
           "clients": {"prefix": prefix}, "currencies": {"USD": 2}})
}

async fn import_small(stack: &Stack, mapping: Value, credit: &str, product: Value) -> (String, Value) {
    let import = stage(stack, mapping).await;
    let (details, products) = export(credit, product);
    upload(stack, &import, "details-1.json", &details).await.ok(200);
    upload(stack, &import, "products-0.json", &products).await.ok(200);
    let done = apply(stack, &import, json!({"skip_errors": true})).await;
    (import, done)
}

#[tokio::test]
async fn a_newer_export_updates_what_was_imported_and_doubles_nothing() {
    let stack = Stack::new().await;
    let (first, _) = import_small(&stack, small_mapping("two-"), "12.00", json!({})).await;
    let (service, _) = imported(&stack, "two-1", 501).await;
    assert_eq!((service["renewal_price"].as_u64(), service["status"].as_str()), (Some(500), Some("active")));
    // The same import applied again: nothing more.
    let again =
        stack.post(&format!("/imports/{first}/apply"), &stack.provider(), json!({"skip_errors": true})).await;
    assert_eq!(again.status, 200, "{}", again.body);
    // A month later in WHMCS: paid one more month, a new price, an option, suspended, and more
    // credit (which is WHMCS's to spend now: never credited again).
    let newer = json!({"nextduedate": "2027-02-10", "recurringamount": "8.00", "status": "Suspended",
        "suspensionreason": "Abuse check",
        "configoptions": {"configoption": [{"id": "10", "option": "IPv4", "type": "quantity", "value": "1"}]}});
    let (second, done) = import_small(&stack, small_mapping("two-"), "30.00", newer).await;
    assert_ne!(first, second);
    assert_eq!(done["apply"]["done"]["update"], 2, "the client and the service: {done}");
    assert_eq!(done["apply"]["done"]["create"], 0, "{done}");
    assert_eq!(services_of(&stack, "two-1").await.len(), 1, "never duplicated");
    assert_eq!(stack.ledger("two-1").await, [("imported_balance".to_owned(), 1200)], "credited once");
    let (service, history) = imported(&stack, "two-1", 501).await;
    assert_eq!(service["expires_at"], "2027-02-10T00:00:00.000Z");
    assert_eq!(service["renewal_price"], 800);
    assert_eq!(service["status"], "suspended_by_admin");
    assert_eq!(service["options"], json!([{"id": "ipv4", "quantity": 1}]));
    let imports: Vec<&Value> = history.iter().filter(|e| e["operation"] == "imported").collect();
    assert_eq!(imports.len(), 2, "one entry per import that wrote it");
    assert_eq!(imports[0]["details"]["result"], "updated", "newest first");
    // The paid time grew by the month WHMCS was paid for, and kept the first.
    let paid = stack
        .get(&format!("/services/{}/paid-time", id_of(&service)), &stack.provider())
        .await
        .ok(200)
        .clone();
    let stretches = paid["stretches"].as_array().cloned().unwrap_or_default();
    let amounts: Vec<u64> = stretches.iter().map(|s| s["amount"].as_u64().unwrap()).collect();
    assert_eq!(amounts, [500, 800], "{paid}");

    // Moved to another client in WHMCS, or its client mapped to another id here: an error,
    // never a move.
    let moved = stage(&stack, small_mapping("two-")).await;
    let (details, products) = export_of(2, "0.00", json!({"nextduedate": "2027-03-10"}));
    upload(&stack, &moved, "details-2.json", &details).await.ok(200);
    upload(&stack, &moved, "products-0.json", &products).await.ok(200);
    let (items, _) = preview(&stack, &moved).await;
    assert_eq!(action_of(&items, "client 2"), "create", "{items:?}");
    assert_eq!(action_of(&items, "service 501"), "error");
    assert!(items["service 501"].1.contains("never moves to another client"), "{items:?}");
    let remapped = stage(&stack, small_mapping("other-")).await;
    let (details, products) = export("0.00", json!({"nextduedate": "2027-03-10"}));
    upload(&stack, &remapped, "details-1.json", &details).await.ok(200);
    upload(&stack, &remapped, "products-0.json", &products).await.ok(200);
    let (items, _) = preview(&stack, &remapped).await;
    assert!(items["client 1"].1.contains("imported before as client `two-1`"), "{items:?}");
    assert_eq!(action_of(&items, "service 501"), "error");
    apply(&stack, &moved, json!({"skip_errors": true})).await;
    apply(&stack, &remapped, json!({"skip_errors": true})).await;
    let (still, _) = imported(&stack, "two-1", 501).await;
    assert_eq!(still["expires_at"], "2027-02-10T00:00:00.000Z", "left as it was");
    assert!(services_of(&stack, "other-1").await.is_empty());
    assert!(services_of(&stack, "two-2").await.is_empty());
}

#[tokio::test]
async fn an_apply_done_again_after_a_crash_writes_each_record_once() {
    let stack = Stack::new().await;
    let (import, done) = import_small(&stack, small_mapping("crash-"), "3.00", json!({})).await;
    assert_eq!(done["apply"]["done"]["create"], 2);
    // As if the invocation died after writing its records, before keeping its place: the
    // apply's place put back to the start, and carried on again.
    let mut stored = stack.app.store.get_import(&import).await.unwrap().unwrap();
    let mut at = stored.apply.clone().unwrap();
    at.chunk = 0;
    at.offset = 0;
    at.done.clear();
    at.finished_at = None;
    stored.apply = Some(at);
    stored.status = shared::domain::import::ImportStatus::Applying;
    stack.app.store.advance_import(&stored, None).await.unwrap();
    stack.run_job("carry-on-imports").await;
    let again = stack.get(&format!("/imports/{import}"), &stack.provider()).await.ok(200).clone();
    assert_eq!(again["status"], "done", "{again}");
    assert_eq!(again["apply"]["done"]["create"], 2, "counted as written: {again}");
    assert_eq!(again["apply"]["failed"], 0, "{again}");
    assert_eq!(services_of(&stack, "crash-1").await.len(), 1);
    assert_eq!(stack.ledger("crash-1").await, [("imported_balance".to_owned(), 300)]);
    let (_, history) = imported(&stack, "crash-1", 501).await;
    assert_eq!(history.iter().filter(|e| e["operation"] == "imported").count(), 1);
}

#[tokio::test]
async fn imports_are_the_providers_bounded_and_checked() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    // A client may not import, nor read one.
    let body = json!({"source": "whmcs", "mapping": small_mapping("x-")});
    assert_eq!(stack.post("/imports", &stack.client("alice"), body.clone()).await.status, 403);
    // The mapping's shape and content.
    let mut wrong = body.clone();
    wrong["mapping"]["products"]["1"] = json!("no-such-tariff");
    assert!(stack.post("/imports", &provider, wrong).await.problem(422).contains("no-such-tariff"));
    let mut extra = body.clone();
    extra["mapping"]["surprise"] = json!(1);
    assert_eq!(stack.post("/imports", &provider, extra).await.status, 400);
    let mut source = body.clone();
    source["source"] = json!("blesta");
    assert_eq!(stack.post("/imports", &provider, source).await.status, 422);
    let import = stage(&stack, small_mapping("x-")).await;
    assert_eq!(stack.get(&format!("/imports/{import}"), &stack.client("alice")).await.status, 403);
    assert_eq!(stack.get("/imports/01JDQ8Z6V5Q0M3W2Y5H7K9T1AB", &provider).await.status, 404);
    // Files: at most 5 MB, a WHMCS answer, a plain name.
    let big = format!("{{\"result\":\"success\",\"products\":\"{}\"}}", "x".repeat(5 * 1024 * 1024));
    assert_eq!(upload(&stack, &import, "big.json", &big).await.status, 413);
    let error = json!({"result": "error", "message": "Authentication Failed"}).to_string();
    assert!(upload(&stack, &import, "e.json", &error).await.problem(422).contains("Authentication Failed"));
    assert_eq!(upload(&stack, &import, "e.json", "not json").await.status, 422);
    assert_eq!(upload(&stack, &import, "a%2Fb", "{}").await.status, 400);
    let heavy: Vec<Value> = (0..10)
        .map(|n| json!({"id": n, "option": "x", "type": "dropdown", "value": "v".repeat(4000)}))
        .collect();
    let (_, heavy) = export("0.00", json!({"configoptions": {"configoption": heavy}}));
    assert!(upload(&stack, &import, "heavy.json", &heavy).await.problem(422).contains("weighs more than"));
    let files = stack.get(&format!("/imports/{import}"), &provider).await.ok(200).clone();
    assert_eq!(files["files"], json!([]), "nothing staged from what was refused");
    // Applied: no more files.
    let (details, products) = export("0.00", json!({}));
    upload(&stack, &import, "details-1.json", &details).await.ok(200);
    // Never applied unread: the preview must be done for the files as they are.
    let unread = stack.post(&format!("/imports/{import}/apply"), &provider, json!({})).await;
    assert!(unread.problem(409).contains("preview"), "{}", unread.body);
    preview(&stack, &import).await;
    upload(&stack, &import, "products-0.json", &products).await.ok(200);
    let changed = stack.post(&format!("/imports/{import}/apply"), &provider, json!({})).await;
    assert!(changed.problem(409).contains("files changed"), "{}", changed.body);
    apply(&stack, &import, json!({})).await;
    assert_eq!(upload(&stack, &import, "late.json", &products).await.status, 409);
    let listed = stack.get("/imports", &provider).await.ok(200).clone();
    assert!(ids(&listed).contains(&import));
}

#[tokio::test]
async fn after_an_import_a_reconciliation_shows_what_the_panel_does_not_hold() {
    let stack = Stack::new().await;
    import_small(&stack, small_mapping("recon-"), "0.00", json!({})).await;
    let (service, _) = imported(&stack, "recon-1", 501).await;
    // The panel was never told: the run finds the imported service missing there.
    let run = stack
        .post("/reconciliations", &stack.provider(), json!({"product_type": "vps"}))
        .await
        .ok(202)
        .clone();
    let items = stack
        .get(&format!("/reconciliations/{}/items", id_of(&run)), &stack.provider())
        .await
        .ok(200)
        .clone();
    let found: Vec<(&str, &str)> = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["service_id"].as_str().unwrap_or_default(), i["kind"].as_str().unwrap()))
        .collect();
    assert!(found.contains(&(id_of(&service).as_str(), "missing_on_panel")), "{found:?}");
}

#[tokio::test]
async fn two_imports_of_one_client_under_two_ids_bring_it_in_once() {
    let stack = Stack::new().await;
    // Both staged and previewed first, each finding client 1 new.
    let mut staged = Vec::new();
    for prefix in ["first-", "second-"] {
        let import = stage(&stack, small_mapping(prefix)).await;
        let (details, products) = export("4.00", json!({}));
        upload(&stack, &import, "details-1.json", &details).await.ok(200);
        upload(&stack, &import, "products-0.json", &products).await.ok(200);
        let (items, _) = preview(&stack, &import).await;
        assert_eq!(action_of(&items, "client 1"), "create");
        staged.push(import);
    }
    apply(&stack, &staged[0], json!({})).await;
    // The second finds it brought in meanwhile: neither the client nor its service is written.
    let second = apply(&stack, &staged[1], json!({})).await;
    assert_eq!(second["apply"]["failed"], 2, "{second}");
    assert!(services_of(&stack, "second-1").await.is_empty(), "no service split off to another client");
    assert_eq!(stack.balance("second-1").await, 0);
    assert_eq!(stack.ledger("first-1").await, [("imported_balance".to_owned(), 400)], "credited once");
    assert_eq!(services_of(&stack, "first-1").await.len(), 1);
}
