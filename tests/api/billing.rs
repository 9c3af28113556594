//! Money: accounts, payments, and paying for the cart.

use crate::helpers::{id_of, ids, Call, Stack};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};

#[tokio::test]
async fn a_short_balance_is_402_and_charges_nothing() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let service = stack.order_vps(&alice).await;
    stack.fund("alice", 100).await;
    let detail = stack.post("/cart/checkout", &alice, json!({})).await.problem(402);
    assert!(detail.contains("500"), "{detail}");
    assert_eq!(stack.balance("alice").await, 100);
    assert_eq!(stack.service(&id_of(&service)).await["status"], "ordered");
    assert_eq!(stack.drain_queue(3).await, 0, "nothing was queued");
}

#[tokio::test]
async fn checkout_from_the_balance_activates_through_the_queue() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    stack.fund("alice", 2000).await;
    let first = stack.order_vps(&alice).await;
    let second = stack.order_vps(&alice).await;
    let paid =
        stack.post("/cart/checkout", &alice, json!({"service_ids": [id_of(&first)]})).await.ok(200).clone();
    assert_eq!(ids(&paid), vec![id_of(&first)]);
    assert_eq!(paid["items"][0]["status"], "in_progress");
    assert_eq!(paid["items"][0]["operation"], "activation");
    assert_eq!(stack.balance("alice").await, 1500);
    assert_eq!(stack.service(&id_of(&second)).await["status"], "ordered", "not asked for");

    assert_eq!(stack.drain_queue(5).await, 1);
    let active = stack.service(&id_of(&first)).await;
    assert_eq!(active["status"], "active");
    assert_eq!(active["operation"], json!(null));
    assert!(active["expires_at"].is_string());
    assert_eq!(
        stack.history(&id_of(&first)).await,
        [
            ("order", "-", "ordered"),
            ("activation", "ordered", "in_progress"),
            ("activation", "in_progress", "active")
        ]
        .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()))
    );
    let calls = stack.panel_calls().await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["request"]["operation"], "activation");
    assert_eq!(calls[0]["request"]["service_id"], first["id"]);
    stack.post("/cart/checkout", &alice, json!({"service_ids": [id_of(&first)]})).await.problem(422);
}

#[tokio::test]
async fn a_confirmed_gateway_payment_checks_the_cart_out() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let service = stack.order_vps(&alice).await;
    let payment = stack.post("/payments", &alice, json!({"amount": 500})).await.ok(201).clone();
    assert_eq!(payment["status"], "pending");
    assert_eq!(stack.balance("alice").await, 0, "nothing credited before the gateway confirms");
    let waiting = stack.service(&id_of(&service)).await;
    assert_eq!(
        (waiting["status"].clone(), waiting["payment_pending"].clone()),
        (json!("ordered"), json!(true))
    );
    let confirm = format!("/payments/{}/confirm", payment["id"].as_str().unwrap());
    stack.post(&confirm, &alice, json!({"amount": 500})).await.problem(403);
    let confirmed = stack.post(&confirm, &stack.provider(), json!({"amount": 500})).await.ok(200).clone();
    assert_eq!(confirmed["status"], "received");
    assert_eq!(confirmed["checked_out"], json!([service["id"]]));
    stack.post(&confirm, &stack.provider(), json!({"amount": 500})).await.problem(409);
    assert_eq!(stack.balance("alice").await, 0);
    stack.drain_queue(5).await;
    let active = stack.service(&id_of(&service)).await;
    assert_eq!(
        (active["status"].clone(), active["payment_pending"].clone()),
        (json!("active"), json!(false))
    );
    let operations: Vec<String> =
        stack.history(&id_of(&service)).await.into_iter().map(|(op, _, _)| op).collect();
    assert_eq!(operations, ["order", "payment", "activation", "activation"]);
}

#[tokio::test]
async fn a_payment_short_of_the_cart_is_credited_and_ends_the_wait() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let service = stack.order_vps(&alice).await;
    let payment = stack.post("/payments", &alice, json!({"amount": 100})).await.ok(201).clone();
    let confirm = format!("/payments/{}/confirm", payment["id"].as_str().unwrap());
    let confirmed = stack.post(&confirm, &stack.provider(), json!({"amount": 100})).await.ok(200).clone();
    assert_eq!(confirmed["checked_out"], json!([]));
    assert_eq!(stack.balance("alice").await, 100);
    let waiting = stack.service(&id_of(&service)).await;
    assert_eq!(
        (waiting["status"].clone(), waiting["payment_pending"].clone()),
        (json!("ordered"), json!(false))
    );
}

#[tokio::test]
async fn recorded_payments_are_unique_by_external_id_and_provider_only() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let body = json!({"amount": 700, "external_id": "bank-1", "new_client": true});
    stack.post("/clients/alice/payments", &provider, body.clone()).await.ok(201);
    stack.post("/clients/alice/payments", &provider, body.clone()).await.problem(409);
    stack.post("/clients/alice/payments", &stack.client("alice"), body).await.problem(403);
    for bad in [json!({"amount": 0, "external_id": "x"}), json!({"amount": 5, "external_id": ""})] {
        assert!([400, 422].contains(&stack.post("/clients/alice/payments", &provider, bad).await.status));
    }
    assert_eq!(stack.balance("alice").await, 700);
    let own = stack.get("/account", &stack.client("alice")).await.ok(200).clone();
    assert_eq!((own["client_id"].clone(), own["balance"].clone()), (json!("alice"), json!(700)));
    assert_eq!(own["entries"][0]["kind"], "payment");
    let bob = stack.get("/account", &stack.client("bob")).await.ok(200).clone();
    assert_eq!((bob["balance"].clone(), bob["entries"].clone()), (json!(0), json!([])));
    stack.get("/clients/alice/account", &stack.client("bob")).await.problem(403);
}

#[tokio::test]
async fn ledger_pages_join_into_the_whole_ledger_and_each_carries_the_balance() {
    let stack = Stack::new().await;
    for amount in [100, 200, 300, 400, 500] {
        stack.fund("alice", amount).await;
    }
    let alice = stack.client("alice");
    let whole = stack.get("/account?limit=100", &alice).await.ok(200).clone();
    assert_eq!(whole["balance"], 1500);
    let whole: Vec<Value> = whole["entries"].as_array().unwrap().clone();
    assert_eq!(whole.len(), 5);
    let (mut paged, mut path) = (Vec::new(), "/account?limit=2".to_owned());
    loop {
        let page = stack.get(&path, &alice).await.ok(200).clone();
        assert_eq!(page["balance"], 1500, "every page: {page}");
        paged.extend(page["entries"].as_array().unwrap().iter().cloned());
        match page["cursor"].as_str() {
            Some(cursor) => path = format!("/account?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(paged, whole);
    let empty = stack.get("/account", &stack.client("newcomer")).await.ok(200).clone();
    assert_eq!((empty["balance"].clone(), empty["entries"].clone()), (json!(0), json!([])));
}

#[tokio::test]
async fn a_confirmation_credits_the_amount_the_gateway_settled() {
    let stack = Stack::new().await;
    let (alice, provider) = (stack.client("alice"), stack.provider());
    let service = stack.order_vps(&alice).await;
    // Asked for 500, settled 450: 450 is credited, short of the cart.
    let short = stack.post("/payments", &alice, json!({"amount": 500})).await.ok(201).clone();
    assert_eq!(short["settled_amount"], json!(null), "nothing settled while pending");
    let confirm = |payment: &Value| format!("/payments/{}/confirm", id_of(payment));
    let settled = stack.post(&confirm(&short), &provider, json!({"amount": 450})).await.ok(200).clone();
    assert_eq!(
        (settled["amount"].clone(), settled["settled_amount"].clone(), settled["checked_out"].clone()),
        (json!(500), json!(450), json!([]))
    );
    assert_eq!(stack.balance("alice").await, 450);
    // Asked for 10, settled 700: 700 is credited, and the cart (500) is checked out with it.
    let more = stack.post("/payments", &alice, json!({"amount": 10})).await.ok(201).clone();
    let settled = stack.post(&confirm(&more), &provider, json!({"amount": 700})).await.ok(200).clone();
    assert_eq!((settled["amount"].clone(), settled["settled_amount"].clone()), (json!(10), json!(700)));
    assert_eq!(settled["checked_out"], json!([service["id"]]));
    assert_eq!(stack.balance("alice").await, 650);
    // Each credit names its payment, and the amount asked for where the settled one differs.
    let account = stack.get("/clients/alice/account?limit=100", &provider).await.ok(200).clone();
    let payments: Vec<Value> = account["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "payment")
        .map(|e| json!([e["amount"], e["payment_id"], e["asked_amount"]]))
        .collect();
    assert_eq!(payments, [json!([700, more["id"], 10]), json!([450, short["id"], 500])]);
    // As asked, nothing more is said.
    let exact = stack.post("/payments", &alice, json!({"amount": 300})).await.ok(201).clone();
    let settled = stack.post(&confirm(&exact), &provider, json!({"amount": 300})).await.ok(200).clone();
    assert_eq!(settled["settled_amount"], 300);
    let account = stack.get("/clients/alice/account", &provider).await.ok(200).clone();
    assert_eq!(account["entries"][0]["amount"], 300);
    assert_eq!(account["entries"][0]["payment_id"], exact["id"]);
    assert!(account["entries"][0].get("asked_amount").is_none(), "{account}");
}

#[tokio::test]
async fn a_confirmation_without_a_settled_amount_of_1_to_10_to_the_12_is_400_and_changes_nothing() {
    let stack = Stack::new().await;
    let (alice, provider) = (stack.client("alice"), stack.provider());
    let service = stack.order_vps(&alice).await;
    let payment = stack.post("/payments", &alice, json!({"amount": 500})).await.ok(201).clone();
    let confirm = format!("/payments/{}/confirm", id_of(&payment));
    let bad = [
        "",
        "{}",
        r#"{"amount": 0}"#,
        r#"{"amount": -500}"#,
        r#"{"amount": 1000000000001}"#,
        r#"{"amount": 18446744073709551616}"#,
        r#"{"amount": 500.5}"#,
        r#"{"amount": "500"}"#,
        r#"{"amount": null}"#,
        r#"{"amount": 500, "status": "received"}"#,
    ];
    for body in bad {
        let call = Call::new("POST", &confirm).token(&provider).header("content-type", "application/json");
        let call = if body.is_empty() { call } else { call.raw(body) };
        stack.send(call).await.problem(400);
    }
    assert_eq!(stack.balance("alice").await, 0);
    assert_eq!(stack.service(&id_of(&service)).await["payment_pending"], true, "still waiting");
    let most = stack.post(&confirm, &provider, json!({"amount": 1_000_000_000_000u64})).await.ok(200).clone();
    assert_eq!(most["settled_amount"], 1_000_000_000_000u64);
    assert_eq!(most["checked_out"], json!([service["id"]]));
    assert_eq!(stack.balance("alice").await, 1_000_000_000_000 - 500);
}

/// Issue 13, defect 4: a reference is one payment whatever its case or surrounding spaces, and
/// is kept as it was given.
#[tokio::test]
async fn an_external_id_is_unique_trimmed_and_case_folded() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let first = json!({"amount": 700, "external_id": "bank-7206", "new_client": true});
    let recorded = stack.post("/clients/alice/payments", &provider, first).await.ok(201).clone();
    assert_eq!(recorded["external_id"], "bank-7206");
    for again in ["bank-7206 ", "BANK-7206", "  Bank-7206  "] {
        let body = json!({"amount": 700, "external_id": again});
        stack.post("/clients/alice/payments", &provider, body).await.problem(409);
    }
    let other = json!({"amount": 50, "external_id": " Bank-7207 "});
    let kept = stack.post("/clients/alice/payments", &provider, other).await.ok(201).clone();
    assert_eq!(kept["external_id"], " Bank-7207 ", "stored and shown as given");
    assert_eq!(stack.balance("alice").await, 750, "credited once each");
}

/// Issue 13, defect 3: a payment recorded for a client the backend has never seen (a typo) is
/// 404 and moves nothing, so the corrected request with the same reference goes through;
/// `new_client: true` opens the account of a new client.
#[tokio::test]
async fn a_payment_for_a_client_never_seen_is_404_unless_it_is_new() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let alice = stack.client("alice");
    stack.order_vps(&alice).await;
    let typo = json!({"amount": 500, "external_id": "bank-9001"});
    let detail = stack.post("/clients/alicee/payments", &provider, typo.clone()).await.problem(404);
    assert!(detail.contains("new_client"), "{detail}");
    let nothing = stack.get("/clients/alicee/account", &provider).await.ok(200).clone();
    assert_eq!((nothing["balance"].clone(), nothing["entries"].clone()), (json!(0), json!([])));
    // Alice has a service in her cart but no account yet: she is known.
    let paid = stack.post("/clients/alice/payments", &provider, typo).await.ok(201).clone();
    assert_eq!(paid["checked_out"].as_array().unwrap().len(), 1);
    let new = json!({"amount": 300, "external_id": "bank-9002", "new_client": true});
    stack.post("/clients/carol/payments", &provider, new).await.ok(201);
    assert_eq!(stack.balance("carol").await, 300);
}

/// Issue 13, defect 3: the provider reverses a received payment: a `reversal` entry of what it
/// credited, recorded on the payment, once; refused when the money was spent, for a pending
/// payment, and to clients.
#[tokio::test]
async fn the_provider_reverses_a_received_payment_once_while_the_money_is_there() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let mistyped = json!({"amount": 700, "external_id": "bank-1", "new_client": true});
    let recorded = stack.post("/clients/alicee/payments", &provider, mistyped).await.ok(201).clone();
    let payment = recorded["id"].as_str().unwrap().to_owned();
    let reverse = |token: &str, key: &str| {
        Call::new("POST", &format!("/payments/{payment}/reversal"))
            .token(token)
            .header("idempotency-key", key)
            .json(&json!({"reason": "recorded to a mistyped client"}))
    };
    stack.send(reverse(&stack.client("alicee"), "r-0")).await.problem(403);
    let reversed = stack.send(reverse(&provider, "r-1")).await.ok(200).clone();
    assert_eq!(reversed["reversal"]["reason"], "recorded to a mistyped client");
    assert_eq!(reversed["reversal"]["by"], "ops");
    let replayed = stack.send(reverse(&provider, "r-1")).await;
    assert_eq!((replayed.header("idempotency-replayed"), replayed.ok(200)), (Some("true"), &reversed));
    stack.send(reverse(&provider, "r-2")).await.problem(409);
    assert_eq!(stack.balance("alicee").await, 0);
    let ledger = stack.get("/clients/alicee/account", &provider).await.ok(200)["entries"].clone();
    assert_eq!(ledger[0]["kind"], "reversal");
    assert_eq!((ledger[0]["amount"].clone(), ledger[0]["payment_id"].clone()), (json!(-700), json!(payment)));
    // Its reference is given back: the payment is recorded to the client it was meant for.
    let meant = json!({"amount": 700, "external_id": "BANK-1", "new_client": true});
    stack.post("/clients/dave/payments", &provider, meant).await.ok(201);
    assert_eq!(stack.balance("dave").await, 700);

    // Spent: the balance cannot go below zero, and nothing changes.
    let alice = stack.client("alice");
    stack.order_vps(&alice).await;
    let paid = stack.fund("alice", 500).await;
    assert_eq!(paid["checked_out"].as_array().unwrap().len(), 1, "the cart took the money");
    let spent = paid["id"].as_str().unwrap().to_owned();
    let call = Call::new("POST", &format!("/payments/{spent}/reversal")).token(&provider);
    let detail = stack.send(call.json(&json!({"reason": "returned by the bank"}))).await.problem(409);
    assert!(detail.contains("spent"), "{detail}");
    // A payment still pending at the gateway is not received: nothing to take back.
    let pending = id_of(stack.post("/payments", &alice, json!({"amount": 100})).await.ok(201));
    let call = Call::new("POST", &format!("/payments/{pending}/reversal")).token(&provider);
    stack.send(call.json(&json!({"reason": "never came"}))).await.problem(409);
    let reason = json!({"reason": "x"});
    let missing = "/payments/01JDQ8Z6V5Q0M3W2Y5H7K9T1AB/reversal";
    stack.send(Call::new("POST", missing).token(&provider).json(&reason)).await.problem(404);
    stack
        .send(Call::new("POST", "/payments/nope/reversal").token(&provider).json(&reason))
        .await
        .problem(400);
    assert_eq!(stack.balance("alice").await, 0);
}

/// A reference copied from a bank statement with an invisible or compatibility character (a
/// byte-order mark from a CSV export, a zero-width space or soft hyphen from a PDF, full-width
/// letters, a non-breaking space inside) is the same reference to the provider, but trimming and
/// lower-casing leave it different: the same transfer is credited again.
#[tokio::test]
async fn a_reference_with_invisible_or_full_width_characters_is_the_same_reference() {
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
async fn a_reference_recorded_before_case_folding_is_not_credited_again_after_it() {
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
