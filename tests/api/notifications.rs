//! Lifecycle events and notifications through the real chain in the emulator: the table's
//! stream, the `events-publisher` function, the bus and its rules, the `events-tap` and
//! notifications queues, the `notifier` function and SES.

use crate::helpers::{id_of, ids, Call, Stack};
use serde_json::{json, Value};
use shared::domain::Timestamp;
use tests::policies::{listing, Policies};

/// A client's address unique to this stack (the emulator's SES is shared by every test).
fn address(stack: &Stack, client: &str) -> String {
    format!("{client}@{}.test", stack.app.store.table())
}

async fn set_address(stack: &Stack, client: &str, muted: Value) -> String {
    let email = address(stack, client);
    stack.confirm_address(client, &email, muted).await;
    email
}

/// The client's notification log, oldest first.
async fn log(stack: &Stack, client: &str) -> Vec<Value> {
    let page = stack.get("/notifications?limit=100", &stack.client(client)).await.ok(200).clone();
    let mut items = page["items"].as_array().unwrap().clone();
    items.reverse();
    items
}

#[tokio::test]
async fn an_activation_is_one_email_and_every_history_entry_one_event() {
    let stack = Stack::with_events().await;
    let email = set_address(&stack, "alice", json!([])).await;
    let service = stack.active_vps("alice").await;
    let id = id_of(&service);
    stack.tell().await;

    let mail = stack.mail_to(&email).await;
    assert_eq!(mail.len(), 1, "one e-mail: {mail:?}");
    let (subject, body) = &mail[0];
    assert!(
        subject.contains("VPS Start \"debian-12\""),
        "names the service as its client knows it: {subject}"
    );
    let expiry = service["expires_at"].as_str().unwrap()[..10].to_owned();
    assert!(body.contains(&expiry), "says until when it is paid ({expiry}): {body}");

    let history =
        stack.get(&format!("/services/{id}/history?limit=100"), &stack.provider()).await.ok(200).clone();
    let mut entry_ids: Vec<String> =
        history["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    let tapped = stack.tapped().await;
    let mut event_ids: Vec<String> =
        tapped.iter().map(|e| e["detail"]["id"].as_str().unwrap().to_owned()).collect();
    entry_ids.sort();
    event_ids.sort();
    assert_eq!(event_ids, entry_ids, "one event per history entry, by its id");
    let activated = tapped
        .iter()
        .find(|e| e["detail-type"] == "service.activation" && e["detail"]["status_after"] == "active");
    let activated = activated.expect("the activation's end is published");
    assert_eq!(activated["source"], "hosting.services");
    for field in [
        "service_id",
        "client_id",
        "product_type",
        "tariff_id",
        "operation",
        "status_before",
        "actor",
        "at",
        "details",
    ] {
        assert!(activated["detail"].get(field).is_some(), "detail without {field}: {activated}");
    }
    assert_eq!(
        (activated["detail"]["service_id"].as_str(), activated["detail"]["client_id"].as_str()),
        (Some(&*id), Some("alice"))
    );

    let logged = log(&stack, "alice").await;
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(
        (&logged[0]["kind"], &logged[0]["status"], &logged[0]["to"], &logged[0]["channel"]),
        (&json!("activated"), &json!("sent"), &json!(email), &json!("email"))
    );
    assert_eq!(logged[0]["subject"], json!(subject));
}

#[tokio::test]
async fn a_stream_batch_delivered_twice_sends_nothing_twice() {
    let stack = Stack::with_events().await;
    let email = set_address(&stack, "alice", json!([])).await;
    stack.active_vps("alice").await;
    // The same records twice, as after a crash between the publish and the checkpoint.
    let events = stack.events.as_ref().unwrap();
    let mut replayed = None;
    {
        let mut stream = events.stream.lock().await;
        stream
            .pump(|event| {
                replayed = Some(event.clone());
                async { Ok(Default::default()) }
            })
            .await
            .unwrap();
    }
    let replayed = replayed.expect("records");
    for _ in 0..2 {
        let event = lambda_runtime::LambdaEvent::new(replayed.clone(), lambda_runtime::Context::default());
        let response = events.publisher.handle(event).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
    }
    stack.deliver_notifications(10).await;
    assert_eq!(stack.mail_to(&email).await.len(), 1, "one e-mail for the activation");
    assert_eq!(log(&stack, "alice").await.len(), 1);
    let tapped = stack.tapped().await;
    assert_eq!(tapped.len(), 2 * replayed.records.len(), "published twice, with the same ids");
}

#[tokio::test]
async fn a_muted_kind_is_logged_muted_and_a_client_without_an_address_no_address() {
    let stack = Stack::with_events().await;
    let email = set_address(&stack, "alice", json!(["activated"])).await;
    stack.active_vps("alice").await;
    stack.active_vps("bob").await;
    stack.tell().await;
    assert!(stack.mail_to(&email).await.is_empty(), "muted");
    let alice = log(&stack, "alice").await;
    assert_eq!(
        (alice.len(), &alice[0]["status"], &alice[0]["kind"]),
        (1, &json!("muted"), &json!("activated"))
    );
    let bob = log(&stack, "bob").await;
    assert_eq!((bob.len(), &bob[0]["status"], &bob[0]["to"]), (1, &json!("no_address"), &json!(null)));
    // The provider reads bob's settings and log in one answer.
    let seen = stack.get("/clients/bob/notifications", &stack.provider()).await.ok(200).clone();
    assert_eq!((seen["email"].clone(), seen["items"].as_array().unwrap().len()), (json!(null), 1));
}

/// A client's new address receives only its confirmation until the token it carries comes
/// back: e-mails go on to the confirmed address meanwhile; a wrong or late token changes
/// nothing; the token is never shown; confirmations are limited a day.
#[tokio::test]
async fn a_new_address_gets_only_its_confirmation_until_it_is_confirmed() {
    let stack = Stack::with_events().await;
    let alice = stack.client("alice");
    let (old, new) = (address(&stack, "alice"), format!("victim@{}.test", stack.app.store.table()));
    stack.confirm_address("alice", &old, json!([])).await;
    let asked =
        stack.put("/account/notifications", &alice, json!({"email": new, "muted": []})).await.ok(200).clone();
    assert_eq!((asked["email"].clone(), asked["pending_email"].clone()), (json!(old), json!(new)));
    assert!(!asked.to_string().contains("token") && !asked.to_string().contains("sha256"), "{asked}");
    let endpoint = tests::emulator::ensure_running();
    let token = tests::events::confirmation_token(endpoint, &new).await.unwrap().expect("a confirmation");
    let confirmation = stack.confirmations_to(&new).await;
    assert_eq!(confirmation.len(), 1, "{confirmation:?}");
    let body = &confirmation[0].1;
    assert!(body.contains(&format!("{}?confirm={token}", crate::helpers::CONSOLE_ACCOUNT)), "{body}");
    assert!(!body.contains("alice"), "nothing the client chose but the address: {body}");

    // Meanwhile the service's e-mails go to the confirmed address, none to the new one.
    stack.active_vps("alice").await;
    stack.tell().await;
    assert_eq!(stack.mail_to(&old).await.len(), 1);
    assert_eq!(stack.mail_to(&new).await.len(), 0, "the confirmation only");
    assert_eq!(stack.confirmations_to(&new).await.len(), 1);

    stack.post("/account/notifications/confirm", &alice, json!({"token": "0".repeat(32)})).await.problem(422);
    stack.post("/account/notifications/confirm", &alice, json!({"code": token})).await.problem(400);
    stack
        .post("/account/notifications/confirm", &stack.provider(), json!({"token": token}))
        .await
        .problem(403);
    stack
        .post("/account/notifications/confirm", &stack.client("bob"), json!({"token": token}))
        .await
        .problem(422);
    // A day later the token has expired.
    use shared::domain::Clock;
    let now = stack.clock.now();
    let later = now.plus_seconds(24 * 3600 + 1);
    stack.clock.set(later);
    let alice_later = stack.client("alice");
    stack.post("/account/notifications/confirm", &alice_later, json!({"token": token})).await.problem(422);
    stack.clock.set(now);
    let confirmed =
        stack.post("/account/notifications/confirm", &alice, json!({"token": token})).await.ok(200).clone();
    assert_eq!((confirmed["email"].clone(), confirmed["pending_email"].clone()), (json!(new), Value::Null));
    stack.post("/account/notifications/confirm", &alice, json!({"token": token})).await.problem(422);

    // At most five confirmations a day (two asked for so far), then 429 with when to ask again.
    for i in 0..4 {
        let other = json!({"email": format!("other{i}@example.com")});
        let answer = stack.put("/account/notifications", &alice, other).await;
        if i < 3 {
            answer.ok(200);
        } else {
            let retry = answer.headers.get("retry-after").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            assert!(answer.problem(429).to_string().contains("at most 5"), "the sixth of the day");
            assert!(retry.is_some_and(|s| s <= 86_400));
        }
    }
}

/// What a client typed reaches the provider's e-mails only when it is what the service needs,
/// and then as quoted data.
#[tokio::test]
async fn client_text_in_emails_is_only_what_the_service_needs_and_quoted() {
    let stack = Stack::with_events().await;
    let email = set_address(&stack, "alice", json!([])).await;
    stack.active_vps("alice").await;
    stack.tell().await;
    let mail = stack.mail_to(&email).await;
    assert_eq!(mail[0].0, "Your service VPS Start \"debian-12\" is active", "{mail:?}");
    let lure = "debian-12 Your account is locked: call 555-0100 now";
    let order = json!({"tariff_id": "vps-start", "period_months": 1, "params": {"os_template": lure}});
    let service = stack.post("/services", &stack.client("alice"), order).await.ok(201).clone();
    stack.activate_order("alice", &service).await;
    stack.tell().await;
    let mail = stack.mail_to(&email).await;
    let last = mail.last().unwrap();
    assert_eq!(last.0, "Your service VPS Start is active");
    assert!(!last.1.contains("555-0100"), "{}", last.1);
}

/// A client is e-mailed at most `EMAILS_PER_HOUR` an hour: the rest are held, listed in its
/// notifications as held, never sent; the next hour sends again.
#[tokio::test]
async fn an_hour_sends_at_most_the_set_number_of_emails_and_lists_the_rest_as_held() {
    let mut stack = Stack::new().await;
    stack.app.settings.emails_per_hour = 3;
    let stack = stack.and_events().await;
    let email = set_address(&stack, "alice", json!([])).await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_vps("alice").await);
    for _ in 0..3 {
        stack.post(&format!("/services/{id}/disable"), &alice, json!({})).await.ok(200);
        stack.drain_queue(5).await;
        stack.post(&format!("/services/{id}/enable"), &alice, json!({})).await.ok(200);
        stack.drain_queue(5).await;
    }
    stack.tell().await;
    assert_eq!(stack.mail_to(&email).await.len(), 3, "activated, suspended, resumed; then held");
    let statuses: Vec<Value> = log(&stack, "alice").await.iter().map(|n| n["status"].clone()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == "sent").count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == "held").count(), 4, "{statuses:?}");
    let held = log(&stack, "alice").await.into_iter().find(|n| n["status"] == "held").unwrap();
    assert!(held["error"].as_str().unwrap().contains("3 e-mails"), "{held}");
    // The next hour: sent again.
    stack.clock.advance_seconds(3600);
    stack.post(&format!("/services/{id}/disable"), &alice, json!({})).await.ok(200);
    stack.drain_queue(5).await;
    stack.tell().await;
    assert_eq!(stack.mail_to(&email).await.len(), 4);
}

#[tokio::test]
async fn settings_refuse_a_bad_address_and_muting_what_a_client_must_hear() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    for body in [
        json!({"email": "not an address", "muted": []}),
        json!({"email": "alice@example.com", "muted": ["suspended"]}),
        json!({"email": "alice@example.com", "muted": ["deleted"]}),
        json!({"email": "alice@example.com", "muted": ["deletion_upcoming"]}),
    ] {
        stack.put("/account/notifications", &alice, body).await.problem(422);
    }
    stack
        .put("/account/notifications", &alice, json!({"email": "alice@example.com", "muted": ["sometimes"]}))
        .await
        .problem(400);
    let nothing = json!({"email": null, "muted": [], "pending_email": null, "pending_until": null});
    assert_eq!(stack.get("/account/notifications", &alice).await.ok(200), &nothing);
    let email = format!("alice@{}.test", stack.app.store.table());
    stack.confirm_address("alice", &email, json!(["renewed"])).await;
    let saved = json!({"email": email, "muted": ["renewed"], "pending_email": null, "pending_until": null});
    assert_eq!(stack.get("/account/notifications", &alice).await.ok(200), &saved);
    // The provider sets a client's; a client reaches no one else's.
    let provider = stack.provider();
    stack
        .put("/clients/alice/notifications", &provider, json!({"email": "billing@example.com"}))
        .await
        .ok(200);
    assert_eq!(stack.get("/account/notifications", &alice).await.ok(200)["email"], "billing@example.com");
    stack.put("/clients/bob/notifications", &alice, json!({"email": "x@example.com"})).await.problem(403);
    stack.get("/clients/bob/notifications", &alice).await.problem(403);
    stack.get("/notifications", &provider).await.problem(403);
    stack.get("/notification-templates/activated", &alice).await.problem(403);
}

#[tokio::test]
async fn a_providers_template_is_used_and_a_broken_one_refused() {
    let stack = Stack::with_events().await;
    let provider = stack.provider();
    let default = stack.get("/notification-templates/activated", &provider).await.ok(200).clone();
    assert_eq!(default["custom"], false);
    stack.get("/notification-templates/sometimes", &provider).await.problem(404);
    let broken = json!({"subject": "{% if %}", "text": "x", "html": "x"});
    stack.put("/notification-templates/activated", &provider, broken).await.problem(422);
    let unknown = json!({"subject": "{{ service }}", "text": "{{ shortfall }}", "html": "x"});
    stack.put("/notification-templates/activated", &provider, unknown).await.problem(422);
    assert_eq!(
        stack.get("/notification-templates/activated", &provider).await.ok(200),
        &default,
        "unchanged"
    );
    let ours = json!({
        "subject": "Ready: {{ service }}",
        "text": "Paid until {{ expires_at }}.",
        "html": "<p>Paid until {{ expires_at }} for {{ service }}</p>",
    });
    stack.put("/notification-templates/activated", &provider, ours).await.ok(200);
    let email = set_address(&stack, "alice", json!([])).await;
    stack.active_vps("alice").await;
    stack.tell().await;
    let mail = stack.mail_to(&email).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].0, "Ready: VPS Start \"debian-12\"");
}

#[tokio::test]
async fn a_reminder_happens_once_over_three_runs_and_two_concurrent_ones() {
    let stack = Stack::with_events().await;
    let email = set_address(&stack, "alice", json!([])).await;
    stack.clock.set(Timestamp::parse("2026-11-01T00:00:00Z").unwrap());
    let id = id_of(&stack.active_vps("alice").await);
    stack.tell().await;
    // Expires 1 December, renewed 3 days ahead: the attempt is on 28 November; the 7-day
    // reminder from 21 November.
    stack.clock.set(Timestamp::parse("2026-11-20T12:00:00Z").unwrap());
    assert_eq!(stack.run_job("reminders").await["acted"], 0, "8 days ahead");
    stack.clock.set(Timestamp::parse("2026-11-21T06:00:00Z").unwrap());
    let (first, second) = tokio::join!(stack.run_job("reminders"), stack.run_job("reminders"));
    assert_eq!(first["acted"].as_u64().unwrap() + second["acted"].as_u64().unwrap(), 1, "{first} {second}");
    for _ in 0..3 {
        stack.clock.advance_seconds(3600);
        assert_eq!(stack.run_job("reminders").await["acted"], 0);
    }
    stack.tell().await;
    let reminders: Vec<_> =
        stack.history(&id).await.into_iter().filter(|(op, _, _)| op == "renewal_upcoming").collect();
    assert_eq!(reminders.len(), 1);
    let mail = stack.mail_to(&email).await;
    assert_eq!(mail.len(), 2, "activated, then the reminder: {mail:?}");
    assert!(
        mail[1].1.contains("5.00") && mail[1].1.contains("2026-11-28"),
        "the amount and the date: {}",
        mail[1].1
    );
    // A day ahead, the 1-day reminder, once.
    stack.clock.set(Timestamp::parse("2026-11-27T01:00:00Z").unwrap());
    assert_eq!(stack.run_job("reminders").await["acted"], 1);
    assert_eq!(stack.run_job("reminders").await["acted"], 0);
}

/// Each due service is read once per reminder: the run an hour after one that read its
/// window reads nothing again, a run out of time before its first page leaves the window
/// whole for the next, and a day ahead each is read once more, for the 1-day reminder.
#[tokio::test]
async fn reminders_read_each_due_service_once_per_reminder_and_go_on_where_they_stopped() {
    use shared::sweeps::{reminders, Budget};
    let stack = Stack::on_november_first().await;
    for client in ["once-a", "once-b", "once-c", "once-d"] {
        stack.active_vps(client).await;
    }
    let run = |budget| {
        let mut app = stack.aws_calls.app_for(&stack.app, "reminders");
        app.store = app.store.with_sweep_page(1);
        async move {
            let summary = reminders(&app, budget).await.expect("the job ran");
            (summary.found, summary.acted, summary.unfinished)
        }
    };
    // Expire 1 December, renewed 3 days ahead: the 7-day reminder from 21 November.
    stack.clock.set(Timestamp::parse("2026-11-21T06:00:00Z").unwrap());
    assert_eq!(run(Budget::of(std::time::Duration::ZERO)).await, (0, 0, true), "no time: nothing read");
    assert_eq!(run(Budget::UNLIMITED).await, (4, 4, false), "the next run reads them, a page each");
    for _ in 0..3 {
        stack.clock.advance_seconds(3600);
        assert_eq!(run(Budget::UNLIMITED).await, (0, 0, false), "an hour later: nothing read again");
    }
    stack.clock.set(Timestamp::parse("2026-11-27T06:00:00Z").unwrap());
    assert_eq!(run(Budget::UNLIMITED).await, (4, 4, false), "a day ahead: the 1-day reminder");
    assert_eq!(run(Budget::UNLIMITED).await, (0, 0, false));
}

#[tokio::test]
async fn expiry_and_deletion_are_reminded_to_clients_who_renew_by_hand_or_lapsed() {
    let stack = Stack::on_november_first().await;
    let id = id_of(&stack.active_vps("alice").await);
    let off = json!({"auto_renew": {"enabled": false, "period_months": 1}});
    stack
        .send(
            crate::helpers::Call::new("PATCH", &format!("/services/{id}"))
                .token(&stack.client("alice"))
                .json(&off),
        )
        .await
        .ok(200);
    stack.clock.set(Timestamp::parse("2026-11-30T01:00:00Z").unwrap());
    assert_eq!(stack.run_job("reminders").await["acted"], 1);
    stack.clock.set(Timestamp::parse("2026-12-01T00:00:00Z").unwrap());
    stack.run_job("expiry-sweep").await;
    stack.drain_queue(5).await;
    // vps services are deleted 14 days after the suspension: on 15 December.
    stack.clock.set(Timestamp::parse("2026-12-08T12:00:00Z").unwrap());
    assert_eq!(stack.run_job("reminders").await["acted"], 1);
    let ops: Vec<String> = stack.history(&id).await.into_iter().map(|(op, _, _)| op).collect();
    assert!(
        ops.contains(&"expiry_upcoming".to_owned()) && ops.contains(&"deletion_upcoming".to_owned()),
        "{ops:?}"
    );
    let page = stack.get(&format!("/services/{id}/history?limit=1"), &stack.provider()).await.ok(200).clone();
    assert_eq!(page["items"][0]["details"]["delete_at"], "2026-12-15T00:00:00.000Z");
}

#[tokio::test]
async fn remind_days_before_is_a_short_list_of_day_counts() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let rules = |days: Value| {
        json!({"client_delete": "immediate", "client_can_suspend": true, "abuse_limit": 100,
               "auto_delete_after_days": 14, "renew_lead_days": 3, "remind_days_before": days})
    };
    for bad in [json!([0]), json!([61]), json!([1, 2, 3, 4, 5, 6]), json!([7, 7])] {
        stack.put("/product-types/vps", &provider, rules(bad)).await.problem(422);
    }
    stack.put("/product-types/vps", &provider, rules(json!([-1]))).await.problem(400);
    let saved = stack.put("/product-types/vps", &provider, rules(json!([30, 7]))).await.ok(200).clone();
    assert_eq!(saved["remind_days_before"], json!([30, 7]));
    let mut without = rules(json!([]));
    without.as_object_mut().unwrap().remove("remind_days_before");
    let saved = stack.put("/product-types/vps", &provider, without).await.ok(200).clone();
    assert_eq!(saved["remind_days_before"], json!([7, 1]), "the default");
}

#[tokio::test]
async fn a_cancelled_transaction_publishes_nothing() {
    let stack = Stack::with_events().await;
    let alice = stack.client("alice");
    let service = stack.order_vps(&alice).await;
    let id = id_of(&service);
    stack.publish_events().await;
    stack.tapped().await;
    // Ten edits race on one version: one commits, the others' transactions are cancelled.
    let edits = (0..10).map(|i| {
        let body = json!({"auto_renew": {"enabled": i % 2 == 0, "period_months": 1}});
        let call = crate::helpers::Call::new("PATCH", &format!("/services/{id}"))
            .token(&alice)
            .header("if-match", "\"1\"")
            .json(&body);
        stack.send(call)
    });
    let answers = futures::future::join_all(edits).await;
    let committed = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(committed, 1, "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    stack.publish_events().await;
    let tapped = stack.tapped().await;
    assert_eq!(tapped.len(), 1, "only the committed edit: {tapped:?}");
    let history = stack.get(&format!("/services/{id}/history"), &alice).await.ok(200).clone();
    assert_eq!(tapped[0]["detail"]["id"], history["items"][0]["id"]);
}

#[tokio::test]
async fn the_provider_lists_the_services_whose_last_operation_failed() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let fine = id_of(&stack.active_vps("alice").await);
    stack.panel_control("capacity", json!({"vps": 0})).await;
    let short = id_of(&stack.order_vps(&stack.client("bob")).await);
    stack.fund("bob", 500).await;
    stack.drain_queue(10).await;
    assert_eq!(stack.service(&short).await["status"], "not_available");
    let listed = stack.get("/services?needs_attention=true", &provider).await.ok(200).clone();
    assert_eq!(crate::helpers::ids(&listed), vec![short.clone()], "not {fine}");
    stack.get("/services?needs_attention=true", &stack.client("bob")).await.problem(403);
    stack.get("/services?needs_attention=maybe", &provider).await.problem(400);
    let only_alice =
        stack.get("/services?needs_attention=true&client_id=alice", &provider).await.ok(200).clone();
    assert!(crate::helpers::ids(&only_alice).is_empty());
    // The provider activates it once the panel has room: off the list.
    stack.panel_control("capacity", json!({"vps": 10})).await;
    stack.post(&format!("/services/{short}/activate"), &provider, json!({})).await.ok(200);
    stack.drain_queue(10).await;
    assert_eq!(stack.service(&short).await["status"], "active");
    let listed = stack.get("/services?needs_attention=true", &provider).await.ok(200).clone();
    assert!(crate::helpers::ids(&listed).is_empty(), "{listed}");
}

#[tokio::test]
async fn the_sample_events_are_what_the_publisher_and_the_notifier_take() {
    use shared::domain::events::LifecycleEvent;
    use shared::domain::notification::Kind;
    let stack = Stack::with_events().await;
    let batch: aws_lambda_events::event::dynamodb::Event =
        serde_json::from_str(include_str!("../../events/events-publisher.json")).expect("a stream event");
    let entry_id = batch.records[0].change.new_image.get("id").cloned();
    let event = lambda_runtime::LambdaEvent::new(batch, lambda_runtime::Context::default());
    let response = stack.events.as_ref().unwrap().publisher.handle(event).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    let tapped = stack.tapped().await;
    assert_eq!(tapped.len(), 1);
    assert_eq!(
        Some(serde_dynamo::AttributeValue::S(tapped[0]["detail"]["id"].as_str().unwrap().to_owned())),
        entry_id
    );
    let message: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_str(include_str!("../../events/notifier.json")).expect("a queue event");
    let body: Value = serde_json::from_str(message.records[0].body.as_deref().unwrap()).unwrap();
    let detail: LifecycleEvent = serde_json::from_value(body["detail"].clone()).expect("a lifecycle event");
    assert_eq!(
        (body["source"].as_str(), Kind::of(&detail)),
        (Some("hosting.services"), Some(Kind::Activated))
    );
}

#[tokio::test]
async fn the_provider_reads_a_clients_settings_with_every_page_of_its_log() {
    let stack = Stack::with_events().await;
    let email = set_address(&stack, "alice", json!(["renewed"])).await;
    let id = id_of(&stack.active_vps("alice").await);
    stack.post(&format!("/services/{id}/disable"), &stack.client("alice"), json!({})).await.ok(200);
    stack.drain_queue(5).await;
    stack.tell().await;
    let mut kinds = Vec::new();
    let mut path = "/clients/alice/notifications?limit=1".to_owned();
    loop {
        let page = stack.get(&path, &stack.provider()).await.ok(200).clone();
        assert_eq!(
            (page["email"].clone(), page["muted"].clone()),
            (json!(email), json!(["renewed"])),
            "{page}"
        );
        kinds
            .extend(page["items"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap().to_owned()));
        match page["cursor"].as_str() {
            Some(cursor) => path = format!("/clients/alice/notifications?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(kinds, ["suspended", "activated"], "newest first, each once");
    assert_eq!(stack.mail_to(&email).await.len(), 2);
}

/// A client that never saved settings: the provider's first page held `limit + 1` entries (the
/// query read one more, for the settings item that was not there).
#[tokio::test]
async fn a_page_of_a_clients_log_holds_at_most_limit_entries_when_it_never_saved_settings() {
    use shared::domain::notification::{Delivery, Kind, Notification};
    let stack = Stack::on_november_first().await;
    let service = shared::domain::ServiceId::generate();
    for n in 0..3 {
        let notification = Notification {
            id: format!("attempt-{n}"),
            event_id: shared::domain::HistoryId::generate(),
            client_id: shared::domain::ClientId::parse("zoe").unwrap(),
            kind: Kind::Activated,
            service_id: service.clone(),
            subject: "Your service is active".into(),
            at: Timestamp::parse("2026-11-01T00:00:00Z").unwrap(),
            channel: "email".into(),
            to: None,
            status: Delivery::NoAddress,
            error: None,
        };
        assert!(stack.app.store.claim_notification(&notification, notification.at).await.unwrap());
    }
    let mut seen = Vec::new();
    let mut path = "/clients/zoe/notifications?limit=2".to_owned();
    loop {
        let page = stack.get(&path, &stack.provider()).await.ok(200).clone();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2, "a page of {} with limit 2: {page}", items.len());
        seen.extend(items.iter().map(|n| n["event_id"].as_str().unwrap().to_owned()));
        match page["cursor"].as_str() {
            Some(cursor) => path = format!("/clients/zoe/notifications?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let unique: std::collections::BTreeSet<&String> = seen.iter().collect();
    assert_eq!((seen.len(), unique.len()), (3, 3), "every entry once: {seen:?}");
}

/// The notifier takes no message it has not the time to finish: near its deadline, every
/// message of the batch is reported failed, none is sent, and each comes back to be sent.
#[tokio::test]
async fn the_notifier_near_its_deadline_takes_nothing_and_every_message_comes_back() {
    let stack = Stack::with_events().await;
    let email = set_address(&stack, "alice", json!([])).await;
    let id = id_of(&stack.active_vps("alice").await);
    stack.tell().await;
    let told = stack.mail_to(&email).await.len();
    stack.post(&format!("/services/{id}/disable"), &stack.client("alice"), json!({})).await.ok(200);
    stack.drain_queue(5).await;
    stack.publish_events().await;
    let events = stack.events.as_ref().unwrap();
    // A message reported failed is visible again at once (as after its visibility timeout).
    let visible_at_once = aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout;
    let set = events.sqs.set_queue_attributes().queue_url(&events.queues.notifications);
    set.attributes(visible_at_once, "0").send().await.unwrap();
    let near_deadline = |event| async {
        let mut context = lambda_runtime::Context::default();
        let now_ms =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
        // Its time up (a real invocation is given 30 s, and takes a message only with 15 left).
        context.deadline = now_ms - 1_000;
        let response = events.notifier.handle(lambda_runtime::LambdaEvent::new(event, context)).await;
        response.map_err(|e| -> tests::bridge::BridgeError { e.to_string().into() })
    };
    tests::bridge::pump(&events.sqs, &events.queues.notifications, near_deadline)
        .await
        .expect("notifications");
    assert_eq!(stack.mail_to(&email).await.len(), told, "sent with no time left");
    let logged = log(&stack, "alice").await.len();
    stack.deliver_notifications(10).await;
    assert_eq!(stack.mail_to(&email).await.len(), told + 1, "sent once it had the time");
    assert_eq!(log(&stack, "alice").await.len(), logged + 1, "claimed only then");
}

/// SES's "not now" (throttling) is sent again with back-off and the e-mail goes once; its
/// "never" (a rejected message) is recorded on the notification for the provider and not sent
/// again (the message does not come back).
#[tokio::test]
async fn ses_throttling_is_retried_and_a_rejection_is_recorded_and_not_sent_again() {
    use tests::faults::{Fault, FaultProxy, Rule};
    let stack = Stack::with_events().await;
    let proxy = FaultProxy::start(tests::emulator::ensure_running(), 16).await;
    let config = tests::emulator::sdk_config_with(&proxy.endpoint, tests::faults::resilience()).await;
    let notifier = notifier::Notifier::new(
        stack.app.clone(),
        aws_sdk_sesv2::Client::new(&config),
        tests::events::SENDER,
    );
    let events = stack.events.as_ref().unwrap();
    let deliver = || {
        tests::bridge::pump(&events.sqs, &events.queues.notifications, |event| async {
            let event = lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default());
            notifier.handle(event).await.map_err(|e| -> tests::bridge::BridgeError { e.to_string().into() })
        })
    };
    let email = set_address(&stack, "alice", json!([])).await;
    let id = id_of(&stack.active_vps("alice").await);
    stack.publish_events().await;
    proxy.set_rules(vec![Rule::next("SendEmail", Fault::Throttle, 2)]);
    assert!(deliver().await.unwrap() >= 1);
    assert_eq!(stack.mail_to(&email).await.len(), 1, "sent once, after two throttled tries");
    assert_eq!(log(&stack, "alice").await[0]["status"], "sent");

    stack.post(&format!("/services/{id}/disable"), &stack.client("alice"), json!({})).await.ok(200);
    stack.drain_queue(5).await;
    stack.publish_events().await;
    proxy.set_rules(vec![Rule::always("SendEmail", Fault::Reject)]);
    assert!(deliver().await.unwrap() >= 1);
    let suspended =
        log(&stack, "alice").await.into_iter().find(|n| n["kind"] == "suspended").expect("logged");
    assert_eq!(suspended["status"], "failed");
    assert_eq!(suspended["error"], shared::domain::notification::REJECTED_FOR_CLIENT);
    let page = stack.get("/clients/alice/notifications?limit=100", &stack.provider()).await.ok(200).clone();
    let seen = page["items"].as_array().unwrap().iter().find(|n| n["kind"] == "suspended").unwrap().clone();
    let error = seen["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with(shared::domain::notification::REJECTED) && error.contains("MessageRejected"),
        "{error}"
    );
    assert_eq!(deliver().await.unwrap(), 0, "the message did not come back");
    assert_eq!(stack.mail_to(&email).await.len(), 1);
}

/// A send that provably never reached SES (its connection refused) is not "may have arrived":
/// the message comes back and the e-mail goes once the mail service can be reached.
#[tokio::test]
async fn a_send_that_never_reached_the_mail_service_is_sent_again() {
    let stack = Stack::with_events().await;
    let email = set_address(&stack, "alice", json!([])).await;
    stack.active_vps("alice").await;
    stack.publish_events().await;
    // Nothing listens on the port just freed: every connection is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let unreachable =
        tests::emulator::sdk_config_with(&format!("http://127.0.0.1:{closed}"), tests::faults::resilience())
            .await;
    let notifier = notifier::Notifier::new(
        stack.app.clone(),
        aws_sdk_sesv2::Client::new(&unreachable),
        tests::events::SENDER,
    );
    let events = stack.events.as_ref().unwrap();
    let delivered = tests::bridge::pump(&events.sqs, &events.queues.notifications, |event| async {
        let event = lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default());
        notifier.handle(event).await.map_err(|e| -> tests::bridge::BridgeError { e.to_string().into() })
    })
    .await
    .unwrap();
    assert!(delivered >= 1);
    let logged = log(&stack, "alice").await;
    assert_eq!(
        (logged[0]["status"].clone(), logged[0]["error"].clone()),
        (json!("failed"), json!("the e-mail could not be sent yet; it is sent again"))
    );
    assert!(stack.mail_to(&email).await.is_empty());
    // The message comes back after its visibility timeout: its event, to a notifier that can
    // reach the mail service.
    let activation = stack
        .tapped()
        .await
        .into_iter()
        .map(|envelope| envelope["detail"].clone())
        .find(|detail| detail["operation"] == "activation" && detail["status_after"] == "active")
        .expect("the activation's event");
    let activation: shared::domain::events::LifecycleEvent = serde_json::from_value(activation).unwrap();
    stack.clock.advance_seconds(180);
    stack.events().notifier.notify(&activation).await;
    assert_eq!(stack.mail_to(&email).await.len(), 1, "sent once it could be");
    assert_eq!(log(&stack, "alice").await[0]["status"], "sent");
}

/// What the bus carries (and its archive and the webhook): ids, statuses, amounts, dates and
/// the lifecycle's own words. Every field of every event that a run of operations publishes is
/// listed against what is allowed; what people typed, contacts and staff identities never go.
#[tokio::test]
async fn events_on_the_bus_carry_no_personal_or_typed_data() {
    let stack = Stack::with_events().await;
    let alice = stack.client("alice");
    let jane = stack.token("provider", "jane.doe@staff");
    let vps = id_of(&stack.active_vps("alice").await);
    let domain = id_of(&stack.active_on("alice", "domain-com").await);
    let typed = "TYPED-BY-A-PERSON";
    stack
        .post(&format!("/services/{vps}/tickets"), &alice, json!({"subject": typed, "message": typed}))
        .await
        .ok(201);
    stack.post(&format!("/services/{vps}/disable"), &jane, json!({"reason": typed})).await.ok(200);
    stack.drain_queue(5).await;
    stack.post(&format!("/services/{vps}/enable"), &jane, json!({})).await.ok(200);
    stack.drain_queue(5).await;
    let report = json!({"score": 10, "description": typed});
    stack.post(&format!("/services/{vps}/abuse-reports"), &jane, report).await.ok(200);
    let registrant = json!({"registrant": {
        "name": "Alice Example", "email": "alice@example.com", "phone": "+4930123456",
        "address": {"street": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}
    }});
    stack.put(&format!("/services/{domain}/whois"), &alice, registrant).await.ok(200);
    let expires = stack.service(&vps).await["expires_at"].as_str().and_then(Timestamp::parse).unwrap();
    let grace = json!({"until": expires.plus_seconds(10 * 86_400), "reason": typed});
    stack.post(&format!("/services/{vps}/grace"), &jane, grace).await.ok(200);
    stack.publish_events().await;
    let events = stack.tapped().await;
    assert!(events.len() >= 8, "{} events", events.len());
    let allowed = shared::domain::events::BUS_DETAILS;
    for event in &events {
        let detail = &event["detail"];
        let text = detail.to_string();
        for leak in [typed, "Alice Example", "alice@example.com", "Hauptstr", "jane.doe"] {
            assert!(!text.contains(leak), "{leak} on the bus: {text}");
        }
        for key in detail["details"].as_object().into_iter().flat_map(|d| d.keys()) {
            assert!(allowed.contains(&key.as_str()), "details.{key} on the bus: {text}");
        }
    }
}

/// The kinds of the client's notification log, oldest first.
async fn logged_kinds(stack: &Stack, client: &str) -> Vec<String> {
    let page = stack.get("/notifications?limit=100", &stack.client(client)).await.ok(200).clone();
    let mut kinds: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap_or_default().to_owned())
        .collect();
    kinds.reverse();
    kinds
}

#[track_caller]
fn assert_all_granted(stack: &Stack) {
    let ungranted = Policies::of_template().ungranted(&stack.aws_calls.made());
    assert!(
        ungranted.is_empty(),
        "calls infra/template.yaml does not allow (AWS refuses them):\n{}",
        listing(&ungranted)
    );
}

/// `PUT /notification-templates/{kind}` is an idempotent write like every other one: a retry
/// with the same `Idempotency-Key` reads the stored answer (GetItem) and a refused request
/// gives its key back (DeleteItem). The function's policy grants only PutItem and UpdateItem:
/// deployed, the provider's retry of a template it saved is a 500, and a 422'd template's key
/// stays held, so the corrected template under the same key is refused.
#[tokio::test]
async fn a_template_put_retried_or_refused_under_an_idempotency_key_is_allowed_by_its_policy() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let put = |key: &str, body: &Value| {
        Call::new("PUT", "/notification-templates/activated")
            .token(&provider)
            .header("idempotency-key", key)
            .json(body)
    };
    let ours = json!({"subject": "Ready: {{ service }}", "text": "Paid until {{ expires_at }}", "html": "x"});
    let first = stack.send(put("template-1", &ours)).await.ok(200).clone();
    let again = stack.send(put("template-1", &ours)).await;
    assert_eq!(again.ok(200), &first, "the retry answers as the first request did");
    let broken = json!({"subject": "{% if %}", "text": "x", "html": "x"});
    stack.send(put("template-2", &broken)).await.problem(422);
    assert_all_granted(&stack);
}

/// Same for `PUT /account/notifications` and `PUT /clients/{client_id}/notifications`: a
/// malformed address under an `Idempotency-Key` releases the key with DeleteItem, which the
/// function's policy does not grant.
#[tokio::test]
async fn a_refused_settings_put_under_an_idempotency_key_is_allowed_by_its_policy() {
    let stack = Stack::new().await;
    let call = Call::new("PUT", "/account/notifications")
        .token(&stack.client("alice"))
        .header("idempotency-key", "settings-1")
        .json(&json!({"email": "not an address", "muted": []}));
    stack.send(call).await.problem(422);
    assert_all_granted(&stack);
}

/// A client who turns auto-renewal off three and a half days before its service expires gets
/// the 7-day `expiry_upcoming` reminder at once (the nearest day count at or above the time
/// left, by design), but the e-mail says "expires in 7 days, on <a date 3 days away>": the
/// `days` a reminder's e-mail shows is the rule's day count, not the time left. The same
/// happens to every late reminder (a new day count, a deletion after fewer than 7 days, a job
/// that did not run).
#[tokio::test]
async fn a_reminder_found_late_does_not_tell_the_client_a_wrong_number_of_days() {
    let stack = Stack::with_events().await;
    let email = set_address(&stack, "alice", json!([])).await;
    stack.clock.set(Timestamp::parse("2026-11-01T00:00:00Z").unwrap());
    let id = id_of(&stack.active_vps("alice").await);
    stack.tell().await;
    // Expires on 1 December; the client turns auto-renewal off on 27 November at noon.
    stack.clock.set(Timestamp::parse("2026-11-27T12:00:00Z").unwrap());
    let off = json!({"auto_renew": {"enabled": false, "period_months": 1}});
    let patch = Call::new("PATCH", &format!("/services/{id}")).token(&stack.client("alice")).json(&off);
    stack.send(patch).await.ok(200);
    assert_eq!(stack.run_job("reminders").await["acted"], 1);
    stack.tell().await;
    let mail = stack.mail_to(&email).await;
    let (_, body) = mail.last().expect("the reminder's e-mail");
    let body = body.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(body.contains("2026-12-01"), "{body}");
    assert!(
        !body.contains("in 7 days"),
        "three and a half days before the expiry, the e-mail says 7 days: {body}"
    );
}

/// A paid order that found no resources (`not_available`) and that the provider then deletes
/// is deleted at once, its payment refunded, by a history entry without `result: done`:
/// `Kind::of` maps only a `done` deletion to `deleted`, so the client, who paid and was told
/// its activation failed, is never told its service is gone and its money back on its balance,
/// although `deleted` is one of the kinds a client must hear (it cannot even be muted).
#[tokio::test]
async fn the_provider_deleting_a_paid_service_that_found_no_resources_tells_its_client() {
    let stack = Stack::with_events().await;
    set_address(&stack, "bob", json!([])).await;
    stack.panel_control("capacity", json!({"vps": 0})).await;
    let service = stack.order_vps(&stack.client("bob")).await;
    let id = id_of(&service);
    stack.fund("bob", service["order_price"].as_u64().unwrap()).await;
    stack.drain_queue(10).await;
    assert_eq!(stack.service(&id).await["status"], "not_available");
    let deleted = stack.send(Call::new("DELETE", &format!("/services/{id}")).token(&stack.provider())).await;
    assert!((200..300).contains(&deleted.status), "{}: {}", deleted.status, deleted.body);
    assert_eq!(stack.service(&id).await["status"], "deleted");
    stack.tell().await;
    let kinds = logged_kinds(&stack, "bob").await;
    assert_eq!(kinds.first().map(String::as_str), Some("activation_failed"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "deleted"), "bob is never told: {kinds:?}");
}

/// Guard (holds): the needs_attention list pages through every failed service once, latest
/// failure first, and a forged cursor is a 400, never a 500.
#[tokio::test]
async fn the_needs_attention_list_pages_through_every_failed_service_once() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    stack.panel_control("capacity", json!({"vps": 0})).await;
    let mut failed = Vec::new();
    for (i, client) in ["c1", "c2", "c3"].iter().enumerate() {
        stack.clock.set(Timestamp::parse("2026-11-01T00:00:00Z").unwrap().plus_seconds(i as i64 * 60));
        let service = stack.order_vps(&stack.client(client)).await;
        stack.fund(client, service["order_price"].as_u64().unwrap()).await;
        stack.drain_queue(10).await;
        failed.push(id_of(&service));
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let path = match &cursor {
            Some(c) => format!("/services?needs_attention=true&limit=1&cursor={c}"),
            None => "/services?needs_attention=true&limit=1".to_owned(),
        };
        let page = stack.get(&path, &provider).await.ok(200).clone();
        seen.extend(ids(&page));
        match page["cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    failed.reverse();
    assert_eq!(seen, failed, "every failed service once, the latest failure first");
    for forged in ["djE6bm90LWEtcG9zaXRpb24", "djE6MjAyNi0xMS0wMVQwMDowMDowMC4wMDBaIw", "%%%"] {
        let path = format!("/services?needs_attention=true&cursor={forged}");
        stack.get(&path, &provider).await.problem(400);
    }
}
