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
