//! The emulator where the suites rely on it: `infra/local/moto_server.py` replaces moto's backup
//! of a transaction (a copy of the whole table per item) with a copy of the items it names; a
//! cancelled transaction must still leave every item as it was. It also honours a transaction's
//! `ClientRequestToken` as DynamoDB does, which the fault tests' lost answers rely on. And it
//! hands moto's Query only the items of the partition asked for, which must change no answer.

use crate::helpers::Stack;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update};
use std::collections::HashMap;

fn key(pk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".into(), AttributeValue::S(pk.into())), ("sk".into(), AttributeValue::S("T".into()))])
}

fn with_value(pk: &str, value: &str) -> HashMap<String, AttributeValue> {
    let mut item = key(pk);
    item.insert("v".into(), AttributeValue::N(value.into()));
    item
}

#[tokio::test]
async fn a_cancelled_transaction_leaves_every_item_as_it_was() {
    let stack = Stack::new().await;
    let (db, table) = (stack.app.store.client(), stack.app.store.table());
    for pk in ["emu-a", "emu-b"] {
        db.put_item().table_name(table).set_item(Some(with_value(pk, "1"))).send().await.unwrap();
    }
    let items = [
        TransactWriteItem::builder()
            .put(Put::builder().table_name(table).set_item(Some(with_value("emu-new", "1"))).build().unwrap())
            .build(),
        TransactWriteItem::builder()
            .update(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(key("emu-a")))
                    .update_expression("SET v = :two")
                    .expression_attribute_values(":two", AttributeValue::N("2".into()))
                    .build()
                    .unwrap(),
            )
            .build(),
        TransactWriteItem::builder()
            .delete(Delete::builder().table_name(table).set_key(Some(key("emu-b"))).build().unwrap())
            .build(),
        TransactWriteItem::builder()
            .condition_check(
                ConditionCheck::builder()
                    .table_name(table)
                    .set_key(Some(key("emu-missing")))
                    .condition_expression("attribute_exists(pk)")
                    .build()
                    .unwrap(),
            )
            .build(),
    ];
    let cancelled = db.transact_write_items().set_transact_items(Some(items.to_vec())).send().await;
    assert!(cancelled.is_err(), "the condition check fails");
    let read = |pk: &'static str| async move {
        db.get_item()
            .table_name(table)
            .set_key(Some(key(pk)))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    };
    assert_eq!(read("emu-new").await, None, "the put is undone");
    assert_eq!(read("emu-a").await, Some(with_value("emu-a", "1")), "the update is undone");
    assert_eq!(read("emu-b").await, Some(with_value("emu-b", "1")), "the delete is undone");

    let committed = items[..2].to_vec();
    db.transact_write_items().set_transact_items(Some(committed)).send().await.unwrap();
    assert_eq!(read("emu-a").await, Some(with_value("emu-a", "2")), "a whole transaction commits");
}

/// A transaction that adds one to `v` of `pk`.
fn increment(table: &str, pk: &str) -> TransactWriteItem {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(pk)))
        .update_expression("ADD v :one")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .build()
        .unwrap();
    TransactWriteItem::builder().update(update).build()
}

#[tokio::test]
async fn a_transaction_is_done_once_per_client_request_token() {
    let stack = Stack::new().await;
    let (db, table) = (stack.app.store.client(), stack.app.store.table());
    // Tokens of this run's own (the emulator remembers them for ten minutes, across runs).
    let run = ulid::Ulid::generate().to_string();
    let token = |name: &str| format!("{name}-{run}");
    let send = |pk: &'static str, name: &str| {
        let request = db.transact_write_items().transact_items(increment(table, pk));
        request.client_request_token(token(name)).send()
    };
    let read = |pk: &'static str| async move {
        let item = db.get_item().table_name(table).set_key(Some(key(pk))).consistent_read(true).send();
        item.await.unwrap().item.and_then(|i| i.get("v").cloned())
    };
    // The same request under the same token, as the SDK retries one whose answer was lost:
    // a success each time, written once.
    send("tok-a", "token-1").await.expect("the first");
    send("tok-a", "token-1").await.expect("the same again: a success");
    assert_eq!(read("tok-a").await, Some(AttributeValue::N("1".into())), "written once");
    // Another request under that token: refused, nothing written.
    let other = send("tok-b", "token-1").await.expect_err("another request under a used token");
    assert_eq!(
        aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&other),
        Some("IdempotentParameterMismatchException"),
        "{other:?}"
    );
    assert_eq!(read("tok-b").await, None);
    // A new token is a new transaction.
    send("tok-a", "token-2").await.expect("a new token");
    assert_eq!(read("tok-a").await, Some(AttributeValue::N("2".into())));
    // A cancelled transaction is not remembered: its token runs again once it can commit.
    let gated = |name: &str| {
        let gate = ConditionCheck::builder()
            .table_name(table)
            .set_key(Some(key("tok-gate")))
            .condition_expression("attribute_exists(pk)")
            .build()
            .unwrap();
        db.transact_write_items()
            .transact_items(increment(table, "tok-c"))
            .transact_items(TransactWriteItem::builder().condition_check(gate).build())
            .client_request_token(token(name))
            .send()
    };
    gated("token-3").await.expect_err("the gate is shut");
    db.put_item().table_name(table).set_item(Some(key("tok-gate"))).send().await.unwrap();
    gated("token-3").await.expect("the gate is open");
    assert_eq!(read("tok-c").await, Some(AttributeValue::N("1".into())));
}

#[test]
fn the_query_patch_answers_every_query_as_moto_does() {
    let root = tests::emulator::workspace_root();
    let check = std::process::Command::new(root.join(".venv/bin/python"))
        .arg("check_query_patch.py")
        .current_dir(root.join("infra/local"))
        .output()
        .expect("the check runs (make venv first)");
    let said = String::from_utf8_lossy(&check.stdout).to_string() + &String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success(), "{said}");
    assert!(said.contains("answers as moto does"), "{said}");
}
