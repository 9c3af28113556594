//! The emulator where the suites rely on it: `infra/local/moto_server.py` replaces moto's backup
//! of a transaction (a copy of the whole table per item) with a copy of the items it names; a
//! cancelled transaction must still leave every item as it was.

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
