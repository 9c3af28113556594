//! What an adversarial pass over issue 14's change (events, notifications, reminders, the
//! provider's needs_attention list) reproduced: each test failed on the change as first
//! committed and passes with its fix, unless its comment says it guards something that held.

use crate::helpers::{id_of, ids, Call, Stack};
use serde_json::{json, Value};
use shared::domain::Timestamp;
use tests::policies::{listing, Policies};

/// A client's address unique to this stack (the emulator's SES is shared by every test).
fn address(stack: &Stack, client: &str) -> String {
    format!("{client}@{}.test", stack.app.store.table())
}

async fn set_address(stack: &Stack, client: &str) -> String {
    let email = address(stack, client);
    stack.confirm_address(client, &email, json!([])).await;
    email
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
    let email = set_address(&stack, "alice").await;
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
    set_address(&stack, "bob").await;
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
