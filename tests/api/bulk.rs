//! Bulk operations: drafted with a frozen list and a preview, approved (by two people when the
//! stack asks), carried out a service at a time through the queue and the reference panel,
//! never more than the per-panel bound at once.

use crate::helpers::{id_of, Call, Stack};
use serde_json::{json, Value};
use shared::domain::Clock;
use std::collections::{HashMap, HashSet};

fn approve(id: &str, token: &str) -> Call {
    Call::new("POST", &format!("/bulk-operations/{id}/approve")).token(token)
}

async fn bulk(stack: &Stack, id: &str) -> Value {
    stack.get(&format!("/bulk-operations/{id}"), &stack.provider()).await.ok(200).clone()
}

/// Every service of the bulk operation as its preview lists them, page by page.
async fn preview(stack: &Stack, id: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/bulk-operations/{id}/preview?limit=100&cursor={c}"),
            None => format!("/bulk-operations/{id}/preview?limit=100"),
        };
        let page = stack.get(&path, &stack.provider()).await.ok(200).clone();
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}

/// `count` active VPS spread over `clients` clients, written straight to the table as the
/// domain activates them (the routes are tested elsewhere; through them, 200 would take the
/// emulator minutes).
async fn active_services(stack: &Stack, count: usize, clients: usize) -> Vec<String> {
    use shared::domain::{ClientId, Principal, Role};
    use shared::store::batch::{history_item, service_item};
    let now = stack.clock.now();
    let (mut items, mut ids) = (Vec::new(), Vec::new());
    for i in 0..count {
        let client = format!("client{}", i % clients);
        let principal = Principal { id: ClientId::parse(&client).unwrap(), role: Role::Client };
        let (ordered, created) = tests::stack::vps_order(&client, now);
        let paid = ordered.pay_order(&(&principal).into(), now).expect("payable");
        let active = shared::domain::quote::when_done(&paid, now);
        assert_eq!(active.status, shared::domain::Status::Active);
        items.push(service_item(&active).unwrap());
        items.push(history_item(&ordered, &created).unwrap());
        items.push(history_item(&paid.service, &paid.entry).unwrap());
        ids.push(active.id.to_string());
    }
    tests::stack::put_items(&stack.app.store, items).await.expect("seeded");
    ids
}

async fn panel_concurrency(stack: &Stack) -> Value {
    let url = format!("{}/control/concurrency", stack.panel);
    tests::http_client().get(&url).send().await.expect("panel").json().await.expect("concurrency")
}

/// The messages waiting on the operations queue are received by a worker that dies before it
/// does anything with them: they come back once their visibility lapses.
async fn crash_worker(stack: &Stack) -> usize {
    let received = stack
        .sqs
        .receive_message()
        .queue_url(&stack.queues.operations)
        .max_number_of_messages(10)
        .visibility_timeout(1)
        .send()
        .await
        .expect("received");
    let lost = received.messages.unwrap_or_default().len();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    lost
}

#[tokio::test]
async fn a_bulk_suspension_of_200_services_suspends_each_once_within_the_panel_bound_through_a_crash() {
    let mut stack = Stack::new().await;
    stack.app.settings.bulk_panel_concurrency = 3;
    let ids = active_services(&stack, 200, 8).await;
    // Calls overlap: a worker batch holds ten messages, and each call takes a while.
    stack.panel_control("hang", json!({"product_type": "vps", "seconds": 0.05})).await;
    let provider = stack.provider();
    let body = json!({"operation": "disable", "reason": "hardware maintenance",
                      "filter": {"product_type": "vps", "status": "active"}});
    let draft = stack.post("/bulk-operations", &provider, body).await.ok(201).clone();
    let id = draft["id"].as_str().unwrap().to_owned();
    assert_eq!((draft["status"].as_str(), draft["operation"].as_str()), (Some("draft"), Some("disable")));
    assert_eq!(draft["counts"], json!({"done": 0, "refused": 0, "failed": 0, "left": 200, "cancelled": 0}));
    let previewed = preview(&stack, &id).await;
    assert_eq!(previewed.len(), 200);
    assert!(previewed.iter().all(|i| i["quote"]["status"] == "suspended_by_admin"), "{}", previewed[0]);
    assert_eq!(
        previewed.iter().map(|i| i["service_id"].as_str().unwrap()).collect::<HashSet<_>>(),
        ids.iter().map(String::as_str).collect::<HashSet<_>>()
    );
    assert_eq!(stack.panel_calls().await.len(), 0, "a draft does nothing");

    let approved = stack.send(approve(&id, &provider)).await.ok(200).clone();
    assert_eq!(approved["status"], "running", "{approved}");
    assert!(approved["under_way"].as_u64().unwrap() <= 3);
    let mut crashed = 0;
    for round in 0..2000 {
        if round == 10 {
            crashed = crash_worker(&stack).await;
        }
        if stack.drain_queue(1).await == 0 {
            // Nothing queued: what the worker did not carry on, the job does.
            stack.run_job("carry-on-bulk-operations").await;
            if bulk(&stack, &id).await["status"] == "done" {
                break;
            }
        }
    }
    assert!(crashed > 0, "the crash lost messages");
    let done = bulk(&stack, &id).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["counts"], json!({"done": 200, "refused": 0, "failed": 0, "left": 0, "cancelled": 0}));
    let concurrency = panel_concurrency(&stack).await;
    let most = concurrency["max_in_flight"].as_u64().unwrap();
    assert!((2..=3).contains(&most), "at most 3 at once on the panel, and more than one: {concurrency}");

    let mut operations: HashMap<String, HashSet<String>> = HashMap::new();
    for call in stack.panel_calls().await {
        assert_eq!(call["request"]["operation"], "suspension", "{call}");
        let service = call["request"]["service_id"].as_str().unwrap().to_owned();
        operations
            .entry(service)
            .or_default()
            .insert(call["request"]["operation_id"].as_str().unwrap().into());
    }
    assert_eq!(operations.len(), 200);
    assert!(operations.values().all(|ops| ops.len() == 1), "each suspended once");
    for service in &ids {
        let history = stack.get(&format!("/services/{service}/history"), &provider).await.ok(200).clone();
        let entries = history["items"].as_array().unwrap();
        let suspensions: Vec<&Value> = entries.iter().filter(|e| e["operation"] == "suspension").collect();
        let started: Vec<&&Value> =
            suspensions.iter().filter(|e| e["status_after"] == "in_progress").collect();
        assert_eq!(started.len(), 1, "{history}");
        assert_eq!(started[0]["details"]["bulk_operation_id"], id.as_str());
        assert_eq!(stack.service(service).await["status"], "suspended_by_admin");
    }
}

#[tokio::test]
async fn a_service_whose_quote_changed_since_the_preview_is_refused_at_its_turn() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let (a, b, c) =
        (stack.active_vps("alice").await, stack.active_vps("bob").await, stack.active_vps("carol").await);
    for client in ["alice", "bob", "carol"] {
        stack.fund(client, 10_000).await;
    }
    let ids = [id_of(&a), id_of(&b), id_of(&c)];
    let body = json!({"operation": "renew", "periods": 1, "service_ids": ids});
    let draft = stack.post("/bulk-operations", &provider, body).await.ok(201).clone();
    let id = draft["id"].as_str().unwrap().to_owned();
    let price = a["renewal_price"].as_u64().unwrap();
    let previewed = preview(&stack, &id).await;
    assert!(previewed.iter().all(|i| i["quote"]["charge"] == price), "{previewed:?}");
    // Bob's renewal price is raised after the preview; Carol's service changes, its quote not.
    let edit = |service: &str, body: Value| {
        Call::new("PATCH", &format!("/services/{service}")).token(&provider).json(&body)
    };
    stack.send(edit(&ids[1], json!({"renewal_price": price + 100}))).await.ok(200);
    stack.send(edit(&ids[2], json!({"auto_renew": {"enabled": true, "period_months": 1}}))).await.ok(200);
    let balances = [stack.balance("alice").await, stack.balance("bob").await, stack.balance("carol").await];

    stack.send(approve(&id, &provider)).await.ok(200);
    stack.drain_queue(10).await;
    stack.run_job("carry-on-bulk-operations").await;
    let done = bulk(&stack, &id).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["counts"], json!({"done": 2, "refused": 1, "failed": 0, "left": 0, "cancelled": 0}));
    let items = preview(&stack, &id).await;
    let refused = items.iter().find(|i| i["service_id"] == ids[1].as_str()).unwrap();
    assert_eq!(refused["state"], "refused");
    assert!(refused["reason"].as_str().unwrap().contains("changed since the preview"), "{refused}");
    assert_eq!(stack.balance("alice").await, balances[0] - price);
    assert_eq!(stack.balance("bob").await, balances[1], "nothing charged to a refused service");
    assert_eq!(stack.balance("carol").await, balances[2] - price);
    assert_eq!(stack.service(&ids[1]).await["expires_at"], b["expires_at"]);
}

#[tokio::test]
async fn a_preview_gives_each_service_its_quote_or_the_refusal_its_own_route_gives() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let rich = stack.active_vps("alice").await;
    let first = stack.active_vps("bob").await;
    let second = stack.active_vps("bob").await;
    let unpaid = stack.order_vps(&stack.client("carol")).await;
    stack.fund("alice", 10_000).await;
    let price = rich["renewal_price"].as_u64().unwrap();
    // Bob can pay one renewal: his second service is short, once his first has spent it.
    stack.fund("bob", price).await;
    let ids = [id_of(&rich), id_of(&first), id_of(&second), id_of(&unpaid)];
    let body = json!({"operation": "renew", "periods": 1, "service_ids": ids});
    let draft = stack.post("/bulk-operations", &provider, body).await.ok(201).clone();
    let items = preview(&stack, draft["id"].as_str().unwrap()).await;
    assert_eq!(
        (items[0]["quote"]["charge"].as_u64(), items[1]["quote"]["charge"].as_u64()),
        (Some(price), Some(price))
    );
    assert!(items[0]["quote"]["expires_at"].as_str().unwrap() > rich["expires_at"].as_str().unwrap());
    assert_eq!(items[2]["refusal"]["status"], 402, "{}", items[2]);
    assert_eq!(items[3]["refusal"]["status"], 409, "{}", items[3]);
    assert_eq!(
        draft["preview"],
        json!({"services": 4, "quoted": 2, "refused": 2, "charge": 2 * price, "credit": 0})
    );
    // The route itself refuses the unpaid order's renewal in the same words.
    let own = stack.post(&format!("/services/{}/renew", ids[3]), &provider, json!({"periods": 1})).await;
    assert_eq!(own.problem(409), items[3]["refusal"]["detail"].as_str().unwrap());
    assert_eq!(stack.balance("bob").await, price, "a draft charges nothing");
}

#[tokio::test]
async fn a_price_change_under_notice_renews_at_the_old_price_before_its_date_and_the_new_one_after() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let service = stack.active_vps("alice").await;
    let id = id_of(&service);
    let price = service["renewal_price"].as_u64().unwrap();
    let now = stack.clock.now();
    let sooner = json!({"operation": "set_renewal_price", "renewal_price": price + 250,
                        "from": now.plus_seconds(29 * 86_400), "service_ids": [id]});
    assert!(stack.post("/bulk-operations", &provider, sooner).await.problem(422).contains("30 days"));
    let from = now.plus_seconds(31 * 86_400);
    let body = json!({"operation": "set_renewal_price", "percent": 50, "from": from, "service_ids": [id]});
    let draft = stack.post("/bulk-operations", &provider, body).await.ok(201).clone();
    let new_price = price + price / 2;
    let items = preview(&stack, draft["id"].as_str().unwrap()).await;
    assert_eq!(items[0]["quote"]["renewal_price"], new_price);
    let approved = stack.send(approve(draft["id"].as_str().unwrap(), &provider)).await.ok(200).clone();
    assert_eq!(approved["status"], "done", "nothing to queue: {approved}");
    let scheduled = stack.service(&id).await;
    assert_eq!(scheduled["price_change"]["renewal_price"], new_price);
    assert_eq!(scheduled["renewal_price"], price, "the old price until the date");
    let history = stack.get(&format!("/services/{id}/history"), &stack.client("alice")).await.ok(200).clone();
    assert_eq!(history["items"][0]["operation"], "price_change", "{history}");

    stack.fund("alice", 10 * price).await;
    let balance = stack.balance("alice").await;
    stack.post(&format!("/services/{id}/renew"), &stack.client("alice"), json!({"periods": 1})).await.ok(200);
    stack.drain_queue(10).await;
    assert_eq!(stack.balance("alice").await, balance - price, "renewed before the date: the old price");
    stack.clock.advance_seconds(32 * 86_400);
    let balance = stack.balance("alice").await;
    stack.post(&format!("/services/{id}/renew"), &stack.client("alice"), json!({"periods": 1})).await.ok(200);
    stack.drain_queue(10).await;
    assert_eq!(stack.balance("alice").await, balance - new_price, "renewed after it: the new price");
    let renewed = stack.service(&id).await;
    assert_eq!(renewed["renewal_price"], new_price);
    assert!(renewed["price_change"].is_null(), "{renewed}");
}

/// A renewal reminder quotes what the renewal it announces will charge: sent before a price
/// change's date for a renewal after it, the new price, and the renewal then charges that.
#[tokio::test]
async fn a_reminder_sent_before_a_price_change_quotes_what_its_renewal_will_charge() {
    use shared::domain::Timestamp;
    let stack = Stack::new().await;
    stack.clock.set(Timestamp::parse("2026-11-01T00:00:00Z").unwrap());
    let service = stack.active_vps("alice").await;
    let id = id_of(&service);
    let price = service["renewal_price"].as_u64().unwrap();
    stack.fund("alice", 10 * price).await;
    // Renewed by hand to 1 January: auto-renewal's attempt is 29 December (3 days ahead), its
    // 7-day reminder from 22 December; the price changes on 27 December, in between.
    stack.post(&format!("/services/{id}/renew"), &stack.client("alice"), json!({"periods": 1})).await.ok(200);
    stack.drain_queue(10).await;
    assert_eq!(stack.service(&id).await["expires_at"], "2027-01-01T00:00:00.000Z");
    let body = json!({"operation": "set_renewal_price", "percent": 50, "from": "2026-12-27T00:00:00Z",
                      "service_ids": [id]});
    let draft = stack.post("/bulk-operations", &stack.provider(), body).await.ok(201).clone();
    stack.send(approve(draft["id"].as_str().unwrap(), &stack.provider())).await.ok(200);
    let new_price = stack.service(&id).await["price_change"]["renewal_price"].as_u64().unwrap();
    assert_ne!(new_price, price);

    stack.clock.set(Timestamp::parse("2026-12-22T06:00:00Z").unwrap());
    assert_eq!(stack.run_job("reminders").await["acted"], 1);
    let page = stack.get(&format!("/services/{id}/history"), &stack.provider()).await.ok(200).clone();
    let reminder = page["items"][0].clone();
    assert_eq!(reminder["operation"], "renewal_upcoming", "{page}");
    assert_eq!(reminder["details"]["amount"], new_price, "the price at the attempt, not today's: {reminder}");

    stack.clock.set(Timestamp::parse("2026-12-29T01:00:00Z").unwrap());
    let balance = stack.balance("alice").await;
    stack.run_job("auto-renewal").await;
    stack.drain_queue(10).await;
    let charged = balance - stack.balance("alice").await;
    assert_eq!(json!(charged), reminder["details"]["amount"], "the renewal charged what the reminder said");
    assert_eq!(stack.service(&id).await["expires_at"], "2027-02-01T00:00:00.000Z");
}

#[tokio::test]
async fn a_two_person_approval_refuses_the_same_person_twice() {
    let mut stack = Stack::new().await;
    stack.app.settings.bulk_approvals = 2;
    let service = stack.active_vps("alice").await;
    let (ann, bob) = (stack.token("provider", "ann"), stack.token("provider", "bob"));
    let body = json!({"operation": "disable", "service_ids": [id_of(&service)]});
    let draft = stack.post("/bulk-operations", &ann, body).await.ok(201).clone();
    let id = draft["id"].as_str().unwrap();
    let once = stack.send(approve(id, &ann)).await.ok(200).clone();
    assert_eq!((once["status"].as_str(), once["approvals_needed"].as_u64()), (Some("draft"), Some(2)));
    assert!(stack.send(approve(id, &ann)).await.problem(409).contains("second provider"));
    assert_eq!(stack.service(&id_of(&service)).await["status"], "active", "nothing done on one approval");
    stack.send(approve(id, &stack.client("alice"))).await.problem(403);
    let twice = stack.send(approve(id, &bob)).await.ok(200).clone();
    assert_eq!(twice["status"], "running", "{twice}");
    stack.drain_queue(10).await;
    stack.run_job("carry-on-bulk-operations").await;
    assert_eq!(bulk(&stack, id).await["status"], "done");
    assert_eq!(stack.service(&id_of(&service)).await["status"], "suspended_by_admin");
}

/// One provider approving twice at once counts once: one approval is taken, the other is
/// refused as the same person's, and nothing runs on one person's word.
#[tokio::test]
async fn one_providers_two_approvals_at_once_count_once() {
    let mut stack = Stack::new().await;
    stack.app.settings.bulk_approvals = 2;
    let service = stack.active_vps("alice").await;
    let ann = stack.token("provider", "ann");
    let body = json!({"operation": "disable", "service_ids": [id_of(&service)]});
    let draft = stack.post("/bulk-operations", &ann, body).await.ok(201).clone();
    let id = draft["id"].as_str().unwrap();
    let (first, second) = tokio::join!(stack.send(approve(id, &ann)), stack.send(approve(id, &ann)));
    let mut statuses = [first.status, second.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{} {}", first.body, second.body);
    let seen = bulk(&stack, id).await;
    assert_eq!(seen["status"], "draft", "{seen}");
    assert_eq!(seen["approvals"].as_array().map(Vec::len), Some(1), "{seen}");
    stack.drain_queue(10).await;
    assert_eq!(stack.service(&id_of(&service)).await["status"], "active");

    // Two providers at once both count: neither is turned away, and it runs.
    let body = json!({"operation": "disable", "service_ids": [id_of(&service)]});
    let draft = stack.post("/bulk-operations", &ann, body).await.ok(201).clone();
    let id = draft["id"].as_str().unwrap();
    let bob = stack.token("provider", "bob");
    let (first, second) = tokio::join!(stack.send(approve(id, &ann)), stack.send(approve(id, &bob)));
    assert_eq!([first.status, second.status], [200, 200], "{} {}", first.body, second.body);
    stack.drain_queue(10).await;
    stack.run_job("carry-on-bulk-operations").await;
    let seen = bulk(&stack, id).await;
    assert_eq!(
        (seen["status"].as_str(), seen["approvals"].as_array().map(Vec::len)),
        (Some("done"), Some(2))
    );
    assert_eq!(stack.service(&id_of(&service)).await["status"], "suspended_by_admin");
}

#[tokio::test]
async fn two_bulk_operations_on_one_panel_share_its_bound_and_take_turns() {
    let mut stack = Stack::new().await;
    stack.app.settings.bulk_panel_concurrency = 2;
    let ids = active_services(&stack, 9, 3).await;
    let panel = format!("{}/vps", stack.panel);
    stack.panel_control("hang", json!({"product_type": "vps", "seconds": 0.05})).await;
    let provider = stack.provider();
    let mut bulks = Vec::new();
    for part in [&ids[..6], &ids[6..]] {
        let body = json!({"operation": "disable", "reason": "rack move", "service_ids": part});
        let draft = stack.post("/bulk-operations", &provider, body).await.ok(201).clone();
        bulks.push(draft["id"].as_str().unwrap().to_owned());
    }
    let first = stack.send(approve(&bulks[0], &provider)).await.ok(200).clone();
    assert_eq!(first["under_way"], 2, "{first}");
    let second = stack.send(approve(&bulks[1], &provider)).await.ok(200).clone();
    assert_eq!(second["under_way"], 0, "the panel is full with the first one's: {second}");
    assert_eq!(second["status"], "approved", "{second}");
    let record = stack.app.store.panel_places(&panel).await.unwrap();
    assert_eq!(record.places.len(), 2, "{record:?}");
    assert_eq!(record.waiting, vec![bulks[1].clone()], "the second waits its turn");
    let under_way = stack.app.store.bulk_operations_under_way().await.unwrap();
    assert_eq!(under_way, bulks, "what the job walks: both, oldest first");

    let (mut most, mut first_left_when_second_ran) = (0, None);
    for _ in 0..200 {
        if stack.drain_queue(1).await == 0 {
            stack.run_job("carry-on-bulk-operations").await;
        }
        let (a, b) = (bulk(&stack, &bulks[0]).await, bulk(&stack, &bulks[1]).await);
        let under_way = a["under_way"].as_u64().unwrap() + b["under_way"].as_u64().unwrap();
        most = most.max(under_way);
        if b["under_way"].as_u64().unwrap() > 0 && first_left_when_second_ran.is_none() {
            first_left_when_second_ran = a["counts"]["left"].as_u64();
        }
        if a["status"] == "done" && b["status"] == "done" {
            break;
        }
    }
    assert_eq!(most, 2, "never more than 2 under way on the panel, counting both");
    // Not once the first had all its services under way: the place the first one freed went
    // to the one waiting.
    let left = first_left_when_second_ran.expect("the second ran");
    assert!(left >= 3, "the second started when the first had {left} left");
    for (id, services) in bulks.iter().zip([6, 3]) {
        let done = bulk(&stack, id).await;
        let expected = json!({"done": services, "refused": 0, "failed": 0, "left": 0, "cancelled": 0});
        assert_eq!(done["counts"], expected, "{done}");
    }
    let concurrency = panel_concurrency(&stack).await;
    assert!(concurrency["max_in_flight"].as_u64().unwrap() <= 2, "{concurrency}");
    let record = stack.app.store.panel_places(&panel).await.unwrap();
    assert!(record.places.is_empty(), "every place given back: {record:?}");
    assert!(stack.app.store.bulk_operations_under_way().await.unwrap().is_empty(), "the job walks none");
}

#[tokio::test]
async fn a_place_left_on_a_panel_by_a_writer_that_stopped_is_given_back_when_it_is_needed() {
    let mut stack = Stack::new().await;
    stack.app.settings.bulk_panel_concurrency = 2;
    let ids = active_services(&stack, 2, 1).await;
    let panel = format!("{}/vps", stack.panel);
    // Two places held for services no bulk operation has under way (a finished one's, and one
    // of a bulk operation that never was), and a turn waited by one that never was.
    let provider = stack.provider();
    let body = json!({"operation": "enable", "service_ids": [ids[0]]});
    let finished =
        stack.post("/bulk-operations", &provider, body).await.ok(201)["id"].as_str().unwrap().to_owned();
    stack.send(approve(&finished, &provider)).await.ok(200);
    assert_eq!(bulk(&stack, &finished).await["status"], "done", "nothing to enable: refused, done");
    let mut batch = stack.app.store.batch();
    batch.panel_place_taken(&panel, &finished, 0, 2).unwrap();
    stack.app.store.commit(batch).await.unwrap();
    let mut batch = stack.app.store.batch();
    batch.panel_place_taken(&panel, "01NEVERWAS0000000000000000", 7, 2).unwrap();
    stack.app.store.commit(batch).await.unwrap();
    stack.app.store.wait_for_panel(&panel, "01NEVERWAS0000000000000001").await.unwrap();
    assert_eq!(stack.app.store.panel_places(&panel).await.unwrap().places.len(), 2);

    let body = json!({"operation": "disable", "service_ids": ids});
    let id = stack.post("/bulk-operations", &provider, body).await.ok(201)["id"].as_str().unwrap().to_owned();
    let running = stack.send(approve(&id, &provider)).await.ok(200).clone();
    assert_eq!(running["under_way"], 2, "the stale places given back, both taken: {running}");
    let record = stack.app.store.panel_places(&panel).await.unwrap();
    let mut held: Vec<(String, u32)> = record.places.clone();
    held.sort();
    assert_eq!(held, vec![(id.clone(), 0), (id.clone(), 1)], "{record:?}");
    assert!(record.waiting.is_empty(), "{record:?}");
}

#[tokio::test]
async fn a_cancelled_bulk_operation_starts_nothing_more_and_clients_see_none() {
    let mut stack = Stack::new().await;
    stack.app.settings.bulk_panel_concurrency = 1;
    let services =
        [stack.active_vps("alice").await, stack.active_vps("alice").await, stack.active_vps("bob").await];
    let provider = stack.provider();
    let ids: Vec<String> = services.iter().map(id_of).collect();
    let body = json!({"operation": "disable", "service_ids": ids});
    stack.post("/bulk-operations", &stack.client("alice"), body.clone()).await.problem(403);
    let draft = stack.post("/bulk-operations", &provider, body).await.ok(201).clone();
    let id = draft["id"].as_str().unwrap();
    stack.get(&format!("/bulk-operations/{id}"), &stack.client("alice")).await.problem(403);
    stack.get(&format!("/bulk-operations/{id}/preview"), &stack.client("alice")).await.problem(403);
    let running = stack.send(approve(id, &provider)).await.ok(200).clone();
    assert_eq!(running["under_way"], 1, "one at a time on the panel: {running}");
    let path = format!("/bulk-operations/{id}/cancel");
    let cancelled = stack.send(Call::new("POST", &path).token(&provider)).await.ok(200).clone();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["counts"]["cancelled"], 2);
    stack.drain_queue(10).await;
    stack.run_job("carry-on-bulk-operations").await;
    let over = bulk(&stack, id).await;
    assert_eq!(
        over["counts"],
        json!({"done": 1, "refused": 0, "failed": 0, "left": 0, "cancelled": 2}),
        "{over}"
    );
    let mut suspended = 0;
    for service in &ids {
        suspended += usize::from(stack.service(service).await["status"] == "suspended_by_admin");
    }
    assert_eq!(suspended, 1);
    stack.send(Call::new("POST", &path).token(&provider)).await.problem(409);
    stack.send(approve(id, &provider)).await.problem(409);
}

#[tokio::test]
async fn a_price_set_ahead_keeps_its_notice_at_approval_and_lapses_once_the_price_it_replaced_changed() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let (first, second) = (stack.active_vps("alice").await, stack.active_vps("alice").await);
    let price = first["renewal_price"].as_u64().unwrap();
    let from = stack.clock.now().plus_seconds(31 * 86_400);
    let draft = |ids: Vec<String>| json!({"operation": "set_renewal_price", "renewal_price": price + 300, "from": from, "service_ids": ids});
    // Approved two days later, it would give clients 29 days' notice.
    let late = stack.post("/bulk-operations", &provider, draft(vec![id_of(&first)])).await.ok(201).clone();
    stack.clock.advance_seconds(2 * 86_400);
    let provider = stack.provider();
    let refused = stack.send(approve(late["id"].as_str().unwrap(), &provider)).await.problem(409);
    assert!(refused.contains("30 days"), "{refused}");
    assert!(stack.service(&id_of(&first)).await["price_change"].is_null());

    let from = stack.clock.now().plus_seconds(31 * 86_400);
    let body = json!({"operation": "set_renewal_price", "renewal_price": price + 300, "from": from,
                      "service_ids": [id_of(&first), id_of(&second)]});
    let draft = stack.post("/bulk-operations", &provider, body).await.ok(201).clone();
    stack.send(approve(draft["id"].as_str().unwrap(), &provider)).await.ok(200);
    // The provider then sets the second one's price by hand: what was announced lapses for it.
    let edit = Call::new("PATCH", &format!("/services/{}", id_of(&second)))
        .token(&provider)
        .json(&json!({"renewal_price": price - 100}));
    stack.send(edit).await.ok(200);
    stack.clock.advance_seconds(32 * 86_400);
    let provider = stack.provider();
    stack.fund("alice", 10 * price).await;
    let balance = stack.balance("alice").await;
    for service in [&first, &second] {
        stack
            .post(&format!("/services/{}/renew", id_of(service)), &provider, json!({"periods": 1}))
            .await
            .ok(200);
        stack.drain_queue(10).await;
    }
    assert_eq!(stack.balance("alice").await, balance - (price + 300) - (price - 100));
    assert_eq!(stack.service(&id_of(&second)).await["renewal_price"], price - 100);
}

/// The history entries of `service` that name the bulk operation `bulk`.
async fn entries_naming(stack: &Stack, service: &str, bulk: &str) -> Vec<Value> {
    let history = stack.get(&format!("/services/{service}/history"), &stack.provider()).await.ok(200).clone();
    let entries = history["items"].as_array().cloned().unwrap_or_default();
    entries.into_iter().filter(|e| e["details"]["bulk_operation_id"] == bulk).collect()
}

/// Drafts `body` (a provider's), approves it and carries it through the worker to its end.
async fn run_bulk(stack: &Stack, body: Value) -> (String, Vec<Value>, Value) {
    let provider = stack.provider();
    let draft = stack.post("/bulk-operations", &provider, body).await.ok(201).clone();
    let id = draft["id"].as_str().unwrap().to_owned();
    let previewed = preview(stack, &id).await;
    stack.send(approve(&id, &provider)).await.ok(200);
    for _ in 0..20 {
        if stack.drain_queue(1).await == 0 {
            stack.run_job("carry-on-bulk-operations").await;
            if bulk(stack, &id).await["status"] == "done" {
                break;
            }
        }
    }
    let done = bulk(stack, &id).await;
    assert_eq!(done["status"], "done", "{done}");
    (id, previewed, done)
}

#[tokio::test]
async fn a_tariff_change_transfer_and_deletion_in_bulk_are_their_own_routes_to_the_minor_unit() {
    let stack = Stack::on_november_first().await;
    let mut vps = Vec::new();
    for _ in 0..5 {
        vps.push(id_of(&stack.active_vps("alice").await));
    }
    let hosting = id_of(&stack.active_on("alice", "hosting-basic").await);
    stack.fund("alice", 50_000).await;
    stack.clock.set(shared::domain::Timestamp::parse("2026-11-16T00:00:00Z").unwrap());
    let (alice, provider) = (stack.client("alice"), stack.provider());

    // A tariff change: charged what the route quotes, to each service.
    let path = format!("/services/{}/change-tariff?dry_run=true", vps[0]);
    let call = Call::new("POST", &path).token(&alice).json(&json!({"tariff_id": "vps-pro"}));
    let quoted = stack.send(call).await.ok(200)["total"].as_u64().expect("a charge");
    assert!(quoted > 0);
    let before = stack.balance("alice").await;
    let body = json!({"operation": "change_tariff", "tariff_id": "vps-pro", "service_ids": [vps[0], vps[1]]});
    let (id, previewed, done) = run_bulk(&stack, body).await;
    assert!(previewed.iter().all(|i| i["quote"]["charge"] == quoted), "{previewed:?}");
    assert_eq!(done["counts"], json!({"done": 2, "refused": 0, "failed": 0, "left": 0, "cancelled": 0}));
    assert_eq!(stack.balance("alice").await, before - 2 * quoted);
    for service in &vps[..2] {
        assert_eq!(stack.service(service).await["tariff_id"], "vps-pro");
        let named = entries_naming(&stack, service, &id).await;
        assert_eq!(named.len(), 1, "the change that started it names it: {named:?}");
    }

    // A transfer moves the type it names; a service of another type is refused as the route
    // would not, saying so.
    let before = stack.balance("alice").await;
    let body = json!({"operation": "transfer", "product_type": "vps", "service_ids": [vps[2], hosting]});
    let (id, previewed, done) = run_bulk(&stack, body).await;
    assert_eq!(previewed[1]["refusal"]["status"], 409, "{}", previewed[1]);
    assert!(previewed[1]["refusal"]["detail"].as_str().unwrap().contains("moves vps services"));
    assert_eq!(done["counts"], json!({"done": 1, "refused": 1, "failed": 0, "left": 0, "cancelled": 0}));
    assert_eq!(stack.balance("alice").await, before, "a transfer is free");
    let transfers: Vec<Value> = stack
        .panel_calls()
        .await
        .into_iter()
        .filter(|c| c["request"]["service_id"] == vps[2].as_str() && c["request"]["operation"] == "transfer")
        .collect();
    assert_eq!(transfers.len(), 1, "moved once");
    assert_eq!(stack.service(&vps[2]).await["status"], "active");
    assert!(entries_naming(&stack, &hosting, &id).await.is_empty(), "nothing happened to it");

    // A deletion refunds the unused share of what was paid where the rules say so: what the
    // route refunds for a twin bought at the same moment at the same price.
    let mut rules = crate::helpers::vps_rules_on(Some(format!("{}/vps", stack.panel)), "immediate");
    rules["refund_on_delete"] = json!("unused");
    stack.put("/product-types/vps", &provider, rules).await.ok(200);
    let before = stack.balance("alice").await;
    stack.send(Call::new("DELETE", &format!("/services/{}", vps[3])).token(&provider)).await.ok(200);
    stack.drain_queue(5).await;
    let refunded = stack.balance("alice").await - before;
    assert!(refunded > 0, "half a month unused");
    let before = stack.balance("alice").await;
    let (id, previewed, done) =
        run_bulk(&stack, json!({"operation": "delete", "service_ids": [vps[4]]})).await;
    assert_eq!(previewed[0]["quote"]["credit"], refunded, "{}", previewed[0]);
    assert_eq!(done["counts"]["done"], 1, "{done}");
    assert_eq!(stack.balance("alice").await - before, refunded);
    assert_eq!(stack.service(&vps[4]).await["status"], stack.service(&vps[3]).await["status"]);
    assert_eq!(entries_naming(&stack, &vps[4], &id).await.len(), 1);
}
