//! `Idempotency-Key`: one effect per key, the first answer replayed, a different request refused.

use crate::helpers::{id_of, ids, Call, Stack};
use serde_json::json;
use shared::domain::Clock;
use shared::idempotency::fingerprint;
use shared::store::idempotency::{Claim, IdempotencyRecord, RecordState};

fn order() -> serde_json::Value {
    json!({"tariff_id": "vps-start", "period_months": 1, "params": {"os_template": "debian-12"}})
}

fn keyed(token: &str, key: &str, body: &serde_json::Value) -> Call {
    Call::new("POST", "/services").token(token).header("idempotency-key", key).json(body)
}

#[tokio::test]
async fn the_same_key_and_body_replay_the_first_answer() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let first = stack.send(keyed(&alice, "order-1", &order())).await;
    let body = first.ok(201).clone();
    for _ in 0..3 {
        let again = stack.send(keyed(&alice, "order-1", &order())).await;
        assert_eq!(again.ok(201), &body);
        assert_eq!(again.header("etag"), first.header("etag"));
        assert_eq!(again.header("idempotency-replayed"), Some("true"));
    }
    // The same JSON with its keys in another order is the same request.
    let reordered =
        r#"{"params": {"os_template": "debian-12"}, "period_months": 1, "tariff_id": "vps-start"}"#;
    let call =
        Call::new("POST", "/services").token(&alice).header("idempotency-key", "order-1").raw(reordered);
    assert_eq!(stack.send(call).await.ok(201), &body);
    assert_eq!(ids(stack.get("/services", &alice).await.ok(200)), vec![id_of(&body)]);
    // Keys belong to their principal: bob's "order-1" is his own.
    let bob = stack.send(keyed(&stack.client("bob"), "order-1", &order())).await.ok(201).clone();
    assert_ne!(bob["id"], body["id"]);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_422() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    stack.send(keyed(&alice, "k", &order())).await.ok(201);
    let mut other = order();
    other["period_months"] = json!(12);
    stack.send(keyed(&alice, "k", &other)).await.problem(422);
    assert_eq!(ids(stack.get("/services", &alice).await.ok(200)).len(), 1);
}

#[tokio::test]
async fn a_key_still_in_progress_is_409() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    // Another request with the same key and body is running: it holds the claim.
    let now = stack.clock.now().unix_seconds();
    let running = IdempotencyRecord {
        state: RecordState::InProgress,
        request_hash: fingerprint(&keyed(&alice, "busy", &order()).request()),
        locked_until: now + 60,
        expires_at: now + 24 * 3600,
        response: None,
        panel_request_id: "panel-1".into(),
        claim_id: "crashed".into(),
    };
    let claimed = stack.app.store.claim_idempotency_key("client:alice", "busy", &running, now).await.unwrap();
    assert_eq!(claimed, Claim::Claimed { panel_request_id: "panel-1".into() });
    stack.send(keyed(&alice, "busy", &order())).await.problem(409);
    let mut other = order();
    other["period_months"] = json!(3);
    stack.send(keyed(&alice, "busy", &other)).await.problem(422);
    assert_eq!(ids(stack.get("/services", &alice).await.ok(200)).len(), 0);
    // A claim abandoned past its lock (a crashed request) is taken over by the same request.
    stack.clock.advance_seconds(120);
    let alice = stack.client("alice");
    stack.send(keyed(&alice, "busy", &order())).await.ok(201);
    assert_eq!(ids(stack.get("/services", &alice).await.ok(200)).len(), 1);
}

#[tokio::test]
async fn after_an_error_the_corrected_request_may_reuse_the_key() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let mut wrong = order();
    wrong["period_months"] = json!(6);
    stack.send(keyed(&alice, "retry", &wrong)).await.problem(422);
    stack.send(keyed(&alice, "retry", &order())).await.ok(201);
    stack.send(keyed(&alice, "retry", &order())).await.ok(201);
    assert_eq!(ids(stack.get("/services", &alice).await.ok(200)).len(), 1);
}

#[tokio::test]
async fn records_expire_after_a_day() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    stack.send(keyed(&alice, "daily", &order())).await.ok(201);
    stack.clock.advance_seconds(24 * 3600 + 1);
    let alice = stack.client("alice");
    stack.send(keyed(&alice, "daily", &order())).await.ok(201);
    assert_eq!(ids(stack.get("/services", &alice).await.ok(200)).len(), 2);
}

#[tokio::test]
async fn a_bad_key_is_400() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    stack.send(keyed(&alice, &"k".repeat(300), &order())).await.problem(400);
    stack.send(keyed(&alice, "has space", &order())).await.problem(400);
}

#[tokio::test]
async fn a_crash_after_the_commit_never_does_the_work_twice() {
    use shared::store::idempotency::{ClaimedKey, CLAIMED};
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let now = stack.clock.now().unix_seconds();
    let claim = IdempotencyRecord {
        state: RecordState::InProgress,
        request_hash: fingerprint(&keyed(&alice, "crash", &order()).request()),
        locked_until: now + 60,
        expires_at: now + 24 * 3600,
        response: None,
        panel_request_id: "panel-1".into(),
        claim_id: "crashed".into(),
    };
    let claimed = stack.app.store.claim_idempotency_key("client:alice", "crash", &claim, now).await.unwrap();
    assert_eq!(claimed, Claim::Claimed { panel_request_id: "panel-1".into() });
    // The claimed request runs and commits, then "crashes" before its answer is stored.
    let claimed = ClaimedKey {
        principal: "client:alice".into(),
        key: "crash".into(),
        panel_request_id: "panel-1".into(),
        claim_id: "crashed".into(),
    };
    let call = Call::new("POST", "/services").token(&alice).json(&order());
    CLAIMED.scope(claimed, stack.send(call)).await.ok(201);
    // Long after the claim's lock lapsed, the client retries with its key.
    stack.clock.advance_seconds(600);
    let alice = stack.client("alice");
    let detail = stack.send(keyed(&alice, "crash", &order())).await.problem(409);
    assert!(detail.contains("answer was lost"), "{detail}");
    assert_eq!(ids(stack.get("/services", &alice).await.ok(200)).len(), 1, "one service, not two");
}

/// An attempt that gave up (its commit timed out through every retry: 503, key released), whose
/// commit then reaches DynamoDB after the retry has claimed the key again: the late commit
/// names a claim that is no longer the key's, and changes nothing.
#[tokio::test]
async fn a_late_commit_of_an_attempt_that_gave_up_does_nothing() {
    use shared::store::idempotency::{ClaimedKey, CLAIMED};
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let now = stack.clock.now().unix_seconds();
    let record = |claim_id: &str| IdempotencyRecord {
        state: RecordState::InProgress,
        request_hash: fingerprint(&keyed(&alice, "late", &order()).request()),
        locked_until: now + 60,
        expires_at: now + 24 * 3600,
        response: None,
        panel_request_id: format!("panel-{claim_id}"),
        claim_id: claim_id.into(),
    };
    let attempt = |claim_id: &str| ClaimedKey {
        principal: "client:alice".into(),
        key: "late".into(),
        panel_request_id: format!("panel-{claim_id}"),
        claim_id: claim_id.into(),
    };
    // The first attempt claims the key, and gives it up after its 503.
    stack.app.store.claim_idempotency_key("client:alice", "late", &record("first"), now).await.unwrap();
    stack.app.store.release_idempotency_key(&attempt("first")).await.unwrap();
    // The client's retry claims it again; the first attempt's release, arriving late again,
    // leaves the retry's claim alone.
    let retry = stack.app.store.claim_idempotency_key("client:alice", "late", &record("retry"), now).await;
    assert_eq!(retry.unwrap(), Claim::Claimed { panel_request_id: "panel-retry".into() });
    stack.app.store.release_idempotency_key(&attempt("first")).await.unwrap();
    // The first attempt's order reaches the table now: refused, nothing written.
    let call = Call::new("POST", "/services").token(&alice).json(&order());
    // (Its answer, which no one waits for any more, is an error.)
    let late = CLAIMED.scope(attempt("first"), stack.send(call)).await;
    assert!(late.status >= 400, "{}", late.body);
    let listed = stack.get("/services", &alice).await.ok(200).clone();
    assert_eq!(listed["items"].as_array().unwrap().len(), 0, "{listed}");
    // The retry's own order goes through, once.
    let call = Call::new("POST", "/services").token(&alice).json(&order());
    CLAIMED.scope(attempt("retry"), stack.send(call)).await.ok(201);
    let listed = stack.get("/services", &alice).await.ok(200).clone();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
}

/// A reply whose ticket is full of characters JSON escapes (`"`, `\`, control characters)
/// makes an answer over 400 KB: the idempotency record cannot hold it, and the client's retry
/// with the same key is told its request was carried out but its answer lost (409), instead of
/// the replay.
#[tokio::test]
async fn a_reply_full_of_escaped_characters_replays_under_its_key() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let service = id_of(&stack.order_vps(&alice).await);
    let quotes = "\"".repeat(10_000);
    let opened = json!({"subject": "Logs", "message": quotes});
    let ticket = id_of(stack.post(&format!("/services/{service}/tickets"), &alice, opened).await.ok(201));
    // Replies until the ticket is full as JSON counts it, one short of the last that fits.
    let mut replies = 0;
    while replies < 28 {
        let reply =
            stack.post(&format!("/tickets/{ticket}/messages"), &alice, json!({"message": quotes})).await;
        if reply.status == 422 {
            break;
        }
        reply.ok(201);
        replies += 1;
    }
    assert!(replies < 28, "a ticket of escaped text is full before its 30 messages");
    let read = stack.get(&format!("/tickets/{ticket}"), &alice).await.ok(200).clone();
    assert_eq!(read["messages"].as_array().unwrap().len(), replies + 1);
    let short = "\"".repeat(100);
    let reply = || {
        Call::new("POST", &format!("/tickets/{ticket}/messages"))
            .token(&alice)
            .header("idempotency-key", "reply-big")
            .json(&json!({"message": short}))
    };
    stack.send(reply()).await.ok(201);
    let replayed = stack.send(reply()).await;
    assert_eq!(
        (replayed.status, replayed.header("idempotency-replayed")),
        (201, Some("true")),
        "{:?}",
        replayed.body
    );
}
