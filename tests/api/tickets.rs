//! Tickets about a service, between its client and the provider.

use crate::helpers::{id_of, ids, Stack};
use serde_json::json;

#[tokio::test]
async fn a_ticket_goes_both_ways_and_stays_private() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let provider = stack.provider();
    let service = id_of(&stack.order_vps(&alice).await);
    let opened = stack
        .post(
            &format!("/services/{service}/tickets"),
            &alice,
            json!({"subject": "Hello", "message": "Is it up?"}),
        )
        .await
        .ok(201)
        .clone();
    assert_eq!((opened["client_id"].clone(), opened["service_id"].clone()), (json!("alice"), json!(service)));
    assert_eq!(opened["messages"][0]["author"], json!({"id": "alice", "role": "client"}));
    let ticket = id_of(&opened);
    let replied = stack
        .post(&format!("/tickets/{ticket}/messages"), &provider, json!({"message": "Yes."}))
        .await
        .ok(201)
        .clone();
    assert_eq!(replied["messages"][1]["author"]["role"], "provider");
    let from_provider = stack
        .post(
            &format!("/services/{service}/tickets"),
            &provider,
            json!({"subject": "Maintenance", "message": "Tonight."}),
        )
        .await
        .ok(201)
        .clone();

    let mine = stack.get("/tickets", &alice).await.ok(200).clone();
    assert_eq!(ids(&mine), vec![id_of(&from_provider), ticket.clone()]);
    let of_service = stack.get(&format!("/tickets?service_id={service}"), &provider).await.ok(200).clone();
    assert_eq!(ids(&of_service).len(), 2);
    assert_eq!(
        stack.get(&format!("/tickets/{ticket}"), &alice).await.ok(200)["messages"].as_array().unwrap().len(),
        2
    );
    // Tickets do not show among services.
    assert_eq!(ids(stack.get("/services", &alice).await.ok(200)), vec![service.clone()]);

    let bob = stack.client("bob");
    let theirs = stack.get(&format!("/tickets/{ticket}"), &bob).await;
    let missing = stack.get("/tickets/01JZZZZZZZZZZZZZZZZZZZZZZZ", &bob).await;
    assert_eq!(theirs.problem(404), missing.problem(404));
    stack.post(&format!("/tickets/{ticket}/messages"), &bob, json!({"message": "hi"})).await.problem(404);
    stack
        .post(&format!("/services/{service}/tickets"), &bob, json!({"subject": "x", "message": "y"}))
        .await
        .problem(404);
    assert_eq!(ids(stack.get("/tickets", &bob).await.ok(200)), Vec::<String>::new());
    stack
        .post(&format!("/services/{service}/tickets"), &alice, json!({"subject": " ", "message": "y"}))
        .await
        .problem(422);
    let last = stack.history(&service).await.pop().unwrap();
    assert_eq!(last, ("ticket".to_owned(), "ordered".to_owned(), "ordered".to_owned()));
}

/// Issue 13, defect 5: once a client deleted its service, no answer about a ticket shows the
/// client that service's id: reading it, listing it, replying to it, or replaying the reply.
#[tokio::test]
async fn a_deleted_services_id_reaches_the_client_through_no_ticket_answer() {
    use crate::helpers::Call;
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let service = id_of(&stack.order_vps(&alice).await);
    let ticket = json!({"subject": "Hello", "message": "Is it up?"});
    let ticket = id_of(stack.post(&format!("/services/{service}/tickets"), &alice, ticket).await.ok(201));
    let deleted = stack.send(Call::new("DELETE", &format!("/services/{service}")).token(&alice)).await;
    assert_eq!(deleted.ok(200)["status"], "deleted", "never paid: deleted at once");

    let reply = || {
        Call::new("POST", &format!("/tickets/{ticket}/messages"))
            .token(&alice)
            .header("idempotency-key", "reply-1")
            .json(&json!({"message": "Still there?"}))
    };
    let replied = stack.send(reply()).await.ok(201).clone();
    let replayed = stack.send(reply()).await;
    assert_eq!(replayed.header("idempotency-replayed"), Some("true"));
    let read = stack.get(&format!("/tickets/{ticket}"), &alice).await.ok(200).clone();
    let listed = stack.get("/tickets", &alice).await.ok(200)["items"][0].clone();
    for (what, answer) in
        [("reply", &replied), ("replay", replayed.ok(201)), ("read", &read), ("list", &listed)]
    {
        assert_eq!(answer["service_id"], json!(null), "{what}: {answer}");
    }
    // The provider still sees the link.
    let provider_reads = stack.get(&format!("/tickets/{ticket}"), &stack.provider()).await.ok(200).clone();
    assert_eq!(provider_reads["service_id"], json!(service));
}

/// Issue 13, defect 2: a ticket is one item of at most 400 KB. Replies of long multi-byte
/// messages are taken until the ticket's text reaches its byte limit, then refused with 422
/// before the write: never a 500, and the full ticket still reads.
#[tokio::test]
async fn a_ticket_full_of_multi_byte_text_refuses_the_next_reply_with_422() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let service = id_of(&stack.order_vps(&alice).await);
    for wide in ["é", "😀"] {
        let long = wide.repeat(10_000);
        let opened = json!({"subject": "Logs", "message": long});
        let ticket = id_of(stack.post(&format!("/services/{service}/tickets"), &alice, opened).await.ok(201));
        let mut taken = 1;
        let refused = loop {
            let reply =
                stack.post(&format!("/tickets/{ticket}/messages"), &alice, json!({"message": long})).await;
            match reply.status {
                201 => taken += 1,
                _ => break reply,
            }
            assert!(taken < 30, "{wide}: never refused");
        };
        let detail = refused.problem(422);
        assert!(detail.contains("bytes"), "{detail}");
        let kept = taken * 10_000 * wide.len();
        assert!((300_000 - 10_000 * wide.len()..=300_000).contains(&kept), "{wide}: {taken} messages taken");
        let read = stack.get(&format!("/tickets/{ticket}"), &alice).await.ok(200).clone();
        assert_eq!(read["messages"].as_array().unwrap().len(), taken);
    }
}

#[tokio::test]
async fn a_client_opens_a_limited_number_of_tickets_a_day_and_the_next_is_429_until_it_ends() {
    let mut stack = Stack::on_november_first().await;
    stack.app.settings.tickets_per_day = 3;
    stack.clock.set(shared::domain::Timestamp::parse("2026-11-01T18:00:00Z").unwrap());
    let alice = stack.client("alice");
    let service = id_of(&stack.order_vps(&alice).await);
    let path = format!("/services/{service}/tickets");
    let ticket = |n: u32| json!({"subject": format!("question {n}"), "message": "hello"});
    for n in 0..3 {
        stack.post(&path, &alice, ticket(n)).await.ok(201);
    }
    let refused = stack.post(&path, &alice, ticket(3)).await;
    assert_eq!(refused.header("retry-after"), Some("21600"), "six hours to midnight");
    let detail = refused.problem(429);
    assert!(detail.contains('3'), "names the limit: {detail}");
    assert_eq!(stack.get("/tickets", &alice).await.ok(200)["items"].as_array().map(Vec::len), Some(3));
    // The provider is not limited; another client has its own count; the next day starts anew.
    stack.post(&path, &stack.provider(), ticket(4)).await.ok(201);
    let bob = stack.client("bob");
    let bobs = id_of(&stack.order_vps(&bob).await);
    stack.post(&format!("/services/{bobs}/tickets"), &bob, ticket(0)).await.ok(201);
    stack.clock.set(shared::domain::Timestamp::parse("2026-11-02T00:00:00Z").unwrap());
    stack.post(&path, &stack.client("alice"), ticket(5)).await.ok(201);
}

#[tokio::test]
async fn a_client_sees_the_providers_staff_as_the_provider_and_the_provider_sees_who() {
    let mut stack = Stack::new().await;
    stack.app.settings.provider_name = "Example Hosting".into();
    let alice = stack.client("alice");
    let jane = stack.token("provider", "jane.doe@staff");
    let service = id_of(&stack.order_vps(&alice).await);
    let from_jane = stack
        .post(
            &format!("/services/{service}/tickets"),
            &jane,
            json!({"subject": "Maintenance", "message": "Tonight."}),
        )
        .await
        .ok(201)
        .clone();
    let ticket = id_of(&from_jane);
    stack.post(&format!("/tickets/{ticket}/messages"), &alice, json!({"message": "Thanks"})).await.ok(201);
    let replied = stack
        .post(&format!("/tickets/{ticket}/messages"), &jane, json!({"message": "Done."}))
        .await
        .ok(201)
        .clone();
    assert_eq!(replied["messages"][2]["author"]["id"], "jane.doe@staff", "the provider sees who");
    let staff = json!({"id": "Example Hosting", "role": "provider"});
    let as_client = stack.get(&format!("/tickets/{ticket}"), &alice).await.ok(200).clone();
    assert_eq!(as_client["messages"][0]["author"], staff);
    assert_eq!(as_client["messages"][1]["author"], json!({"id": "alice", "role": "client"}));
    assert_eq!(as_client["messages"][2]["author"], staff);
    let listed = stack.get("/tickets", &alice).await.ok(200).clone();
    assert_eq!(listed["items"][0]["messages"][2]["author"], staff);
    let history = stack.get(&format!("/services/{service}/history"), &alice).await.ok(200).clone();
    let text = history.to_string();
    assert!(!text.contains("jane.doe"), "a staff member's identity in the client's history: {text}");
    assert!(text.contains("Example Hosting"), "{text}");
    let seen_by_provider =
        stack.get(&format!("/services/{service}/history"), &stack.provider()).await.ok(200).clone();
    assert!(seen_by_provider.to_string().contains("jane.doe@staff"));
    // A reply's answer is the ticket as the replier reads it.
    let mine = stack
        .post(&format!("/tickets/{ticket}/messages"), &alice, json!({"message": "ok"}))
        .await
        .ok(201)
        .clone();
    assert!(!mine.to_string().contains("jane.doe"), "{mine}");
}
