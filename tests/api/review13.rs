//! What an adversarial pass over issue 13's change reproduced, kept as regression tests (each
//! failed before its fix); one open defect is kept ignored, with its reason.

use crate::helpers::{id_of, Call, Stack};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;

/// A reference copied from a bank statement with an invisible or compatibility character (a
/// byte-order mark from a CSV export, a zero-width space or soft hyphen from a PDF, full-width
/// letters, a non-breaking space inside) is the same reference to the provider, but trimming and
/// lower-casing leave it different: the same transfer is credited again.
#[tokio::test]
async fn a_reference_with_invisible_or_full_width_characters_credits_again() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let first = json!({"amount": 700, "external_id": "bank-7206", "new_client": true});
    stack.post("/clients/alice/payments", &provider, first).await.ok(201);
    let spaced = json!({"amount": 100, "external_id": "bank 7300"});
    stack.post("/clients/alice/payments", &provider, spaced).await.ok(201);
    let mut accepted = Vec::new();
    for (what, again, amount) in [
        ("byte-order mark", "\u{FEFF}bank-7206", 700),
        ("zero-width space", "bank-7206\u{200B}", 700),
        ("soft hyphen", "bank-72\u{AD}06", 700),
        ("full-width letters", "\u{FF22}\u{FF21}\u{FF2E}\u{FF2B}-7206", 700),
        ("full-width digits", "bank-\u{FF17}\u{FF12}\u{FF10}\u{FF16}", 700),
        ("non-breaking space inside", "bank\u{A0}7300", 100),
    ] {
        let body = json!({"amount": amount, "external_id": again});
        let reply = stack.post("/clients/alice/payments", &provider, body).await;
        if reply.status == 201 {
            accepted.push(what);
        }
    }
    assert_eq!(stack.balance("alice").await, 800, "credited again for: {accepted:?}");
}

/// Markers written before this change are keyed by the reference byte for byte
/// (`EXTPAY#BANK-8000`); the change looks them up by the case-folded identity
/// (`EXTPAY#bank-8000`) and has nothing that moves them, so a reference recorded before the
/// deployment is recorded (and credited) again after it.
#[tokio::test]
#[ignore = "open: markers written before references were case-folded need a one-off migration (see the closing note of issues 12 and 13)"]
async fn a_reference_recorded_before_the_change_is_credited_again_after_it() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let body = json!({"amount": 700, "external_id": "BANK-8000", "new_client": true});
    stack.post("/clients/alice/payments", &provider, body.clone()).await.ok(201);
    // The marker as the code before the change wrote it.
    let (client, table) = (stack.app.store.client(), stack.app.store.table());
    let key = |pk: &str| {
        std::collections::HashMap::from([
            ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
            ("sk".to_owned(), AttributeValue::S("META".to_owned())),
        ])
    };
    client.delete_item().table_name(table).set_key(Some(key("EXTPAY#bank-8000"))).send().await.unwrap();
    client.put_item().table_name(table).set_item(Some(key("EXTPAY#BANK-8000"))).send().await.unwrap();

    let again = stack.post("/clients/alice/payments", &provider, body).await;
    assert_eq!(again.status, 409, "the same reference recorded again: {:?}", again.body);
    assert_eq!(stack.balance("alice").await, 700);
}

/// Issue 13 item 7 asks every id to be checked for form and length before any call; the new
/// reversal route puts any string in the payment key (DynamoDB refuses keys past 2,048 bytes:
/// deployed, a 500).
#[tokio::test]
async fn a_reversal_of_an_oversized_payment_id_is_400_before_any_call() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let id = "a".repeat(3_000);
    let call = Call::new("POST", &format!("/payments/{id}/reversal")).token(&provider);
    let reply = stack.send(call.json(&json!({"reason": "returned by the bank"}))).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
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
