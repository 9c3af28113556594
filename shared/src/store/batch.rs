//! One atomic write of everything a request changes: services (each conditional on the version
//! it was read at), their history entries, a client's account (conditional on its version) with
//! its ledger entries, and payments. Money and state move together or not at all.

use super::keys::{self, Item};
use super::{encode, failed_conditions, Store, StoreError};
use crate::domain::account::{Account, LedgerEntry};
use crate::domain::events::LifecycleEvent;
use crate::domain::payment::Payment;
use crate::domain::ticket::Ticket;
use crate::domain::{HistoryEntry, Service};
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};

/// The attribute a chunk of lines keeps them in.
const LINES: &str = "lines";

/// Every line of chunks `Batch::lines` wrote, in the items' order.
pub(super) fn lines_in(items: &[Item]) -> Vec<String> {
    let lists = items.iter().filter_map(|item| item.get(LINES).and_then(|l| l.as_l().ok()));
    lists.flat_map(|list| list.iter().filter_map(|v| v.as_s().ok().cloned())).collect()
}

/// DynamoDB's limit on the items of one transaction.
pub const MAX_ITEMS: usize = 100;

/// A service as its table item: its attributes, its key and its index keys.
pub fn service_item(service: &Service) -> Result<Item, StoreError> {
    let mut item = encode(service)?;
    item.extend(keys::service(&service.id).item());
    item.extend(keys::service_index_keys(service));
    Ok(item)
}

/// A history entry of a service as its table item: the event it is published as (the entry
/// with the service's client, type and tariff), which the table's stream carries to the bus.
pub fn history_item(service: &Service, entry: &HistoryEntry) -> Result<Item, StoreError> {
    let mut item = encode(&LifecycleEvent::new(service, entry))?;
    item.extend(keys::history(&service.id, &entry.id).item());
    Ok(item)
}

#[derive(Debug)]
pub struct Batch {
    table: String,
    items: Vec<TransactWriteItem>,
    /// The positions of the writes whose condition is a limit (`count_within`,
    /// `push_within_limit`).
    counters: Vec<usize>,
}

impl Batch {
    /// Puts `item`: new when `version` is 1, else only over the stored `version - 1`.
    pub(super) fn put_versioned(&mut self, item: Item, version: u64) -> Result<&mut Self, StoreError> {
        let (condition, values) = over_version(version);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(values);
        self.items.push(TransactWriteItem::builder().put(put.build().map_err(StoreError::backend)?).build());
        Ok(self)
    }

    /// Puts `item` over whatever is there.
    pub(super) fn put(&mut self, item: Item) -> Result<&mut Self, StoreError> {
        let put = Put::builder().table_name(&self.table).set_item(Some(item));
        self.items.push(TransactWriteItem::builder().put(put.build().map_err(StoreError::backend)?).build());
        Ok(self)
    }

    /// A chunk of lines (a page of a run's or a preview's lines) at `key`, over whatever is
    /// there: read back by `lines_in`.
    pub(super) fn lines(&mut self, key: &keys::Key, lines: Vec<String>) -> Result<&mut Self, StoreError> {
        let mut item = key.item();
        item.insert(LINES.into(), AttributeValue::L(lines.into_iter().map(AttributeValue::S).collect()));
        self.put(item)
    }

    /// Puts an item that must not exist yet.
    fn put_new(&mut self, item: Item) -> Result<&mut Self, StoreError> {
        self.put_versioned(item, 1)
    }

    /// The service as it should now be; its `version` is one past the one read.
    pub fn service(&mut self, service: &Service) -> Result<&mut Self, StoreError> {
        self.put_versioned(service_item(service)?, service.version)
    }

    /// A history entry of `service` (as the change leaves it).
    pub fn history(&mut self, service: &Service, entry: &HistoryEntry) -> Result<&mut Self, StoreError> {
        self.put_new(history_item(service, entry)?)
    }

    /// The account as it should now be (its `version` one past the one read, 1 when new),
    /// with the ledger entries that explain the change.
    pub fn account(&mut self, account: &Account, entries: &[LedgerEntry]) -> Result<&mut Self, StoreError> {
        let mut item = encode(account)?;
        item.extend(keys::account(account.client_id.as_str()).item());
        self.put_versioned(item, account.version)?;
        for entry in entries {
            let mut item = encode(entry)?;
            item.extend(keys::ledger(account.client_id.as_str(), &entry.id).item());
            self.put_new(item)?;
        }
        Ok(self)
    }

    /// Writes nothing to `service`, but holds the transaction to the version it was read at.
    pub fn unchanged(&mut self, service: &Service) -> Result<&mut Self, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(keys::service(&service.id).item()))
            .condition_expression("version = :read")
            .expression_attribute_values(":read", AttributeValue::N(service.version.to_string()))
            .build()
            .map_err(StoreError::backend)?;
        self.items.push(TransactWriteItem::builder().condition_check(check).build());
        Ok(self)
    }

    /// A marker that something happened once: the transaction fails if it exists already.
    /// DynamoDB's TTL removes it after `until`.
    pub fn once(
        &mut self,
        marker: &keys::Key,
        until: crate::domain::Timestamp,
    ) -> Result<&mut Self, StoreError> {
        let mut item = marker.item();
        item.insert(keys::TTL_ATTRIBUTE.to_owned(), AttributeValue::N(until.unix_seconds().to_string()));
        self.put_new(item)
    }

    pub fn payment(&mut self, payment: &Payment) -> Result<&mut Self, StoreError> {
        let mut item = encode(payment)?;
        item.extend(keys::payment(&payment.id).item());
        self.put_versioned(item, payment.version)?;
        if let (Some(external), 1) = (&payment.external_id, payment.version) {
            // One payment per gateway reference: a second one with it fails the transaction.
            self.put_new(keys::external_payment(external).item())?;
        }
        if let (Some(external), Some(_)) = (&payment.external_id, &payment.reversal) {
            // A reversed payment gives its reference back: it may be recorded again (to the
            // client it was meant for).
            let delete = aws_sdk_dynamodb::types::Delete::builder()
                .table_name(&self.table)
                .set_key(Some(keys::external_payment(external).item()))
                .build()
                .map_err(StoreError::backend)?;
            self.items.push(TransactWriteItem::builder().delete(delete).build());
        }
        Ok(self)
    }

    /// The ticket as it should now be (its `version` one past the one read, 1 when new).
    pub fn ticket(&mut self, ticket: &Ticket) -> Result<&mut Self, StoreError> {
        let mut item = encode(ticket)?;
        item.extend(keys::ticket(&ticket.id).item());
        item.extend(keys::ticket_index_keys(&ticket.id, ticket.client_id.as_str(), &ticket.service_id));
        self.put_versioned(item, ticket.version)
    }

    /// Raises the counter at `key` by one, unless it is at `limit` already (the commit is then
    /// `LimitReached`); the counter is forgotten at `forget_at` (the table's time to live).
    pub fn count_within(
        &mut self,
        key: keys::Key,
        limit: u32,
        forget_at: i64,
    ) -> Result<&mut Self, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key.item()))
            .update_expression(COUNT_UP)
            .condition_expression(BELOW_LIMIT)
            .set_expression_attribute_names(Some(counter_names()))
            .set_expression_attribute_values(Some(counter_values(limit, forget_at)))
            .build()
            .map_err(StoreError::backend)?;
        self.push_within_limit(update);
        Ok(self)
    }

    /// Adds a write the store's own modules build.
    pub(super) fn push(&mut self, item: TransactWriteItem) {
        self.items.push(item);
    }

    /// Adds an update whose condition is a limit: when it fails, the commit is `LimitReached`.
    pub(super) fn push_within_limit(&mut self, update: Update) {
        self.counters.push(self.items.len());
        self.items.push(TransactWriteItem::builder().update(update).build());
    }

    pub(super) fn table(&self) -> &str {
        &self.table
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl Store {
    /// Raises the counter at `counter` by one against at most `limit` (forgotten at
    /// `forget_at`): false when it had its `limit` already (nothing counted). A single
    /// conditional UpdateItem, outside any request's transaction: a count stands whatever the
    /// request does next (e-mails an hour, confirmations a day).
    pub async fn count_up(&self, counter: keys::Key, limit: u32, forget_at: i64) -> Result<bool, StoreError> {
        let counted = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(counter.item()))
            .update_expression(COUNT_UP)
            .condition_expression(BELOW_LIMIT)
            .set_expression_attribute_names(Some(counter_names()))
            .set_expression_attribute_values(Some(counter_values(limit, forget_at)))
            .send()
            .await;
        match counted {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub fn batch(&self) -> Batch {
        Batch { table: self.table.clone(), items: Vec::new(), counters: Vec::new() }
    }

    /// Writes the batch in one transaction; `ConditionFailed` when anything changed since it
    /// was read (or a new item exists already), and then nothing is written. A request under
    /// an idempotency key marks its key committed in the same transaction, so that a replay
    /// after a crash never does the work again.
    pub async fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        let (mut items, counters) = (batch.items, batch.counters);
        if let Some(claim) = super::idempotency::ClaimedKey::current() {
            items.push(claim.commit_item(&self.table)?);
        }
        if items.len() > MAX_ITEMS {
            return Err(StoreError::Backend(format!("a transaction of {} items", items.len())));
        }
        let result = self.client.transact_write_items().set_transact_items(Some(items)).send().await;
        let failed = result.as_ref().err().map(failed_conditions).unwrap_or_default();
        match result {
            Ok(_) => Ok(()),
            Err(_) if failed.iter().any(|i| counters.contains(i)) => Err(StoreError::LimitReached),
            Err(_) if !failed.is_empty() => Err(StoreError::ConditionFailed),
            Err(e) => Err(e.into()),
        }
    }
}

/// The condition of a put of an item's `version`: new when it is 1 (or 0), else only over the
/// stored `version - 1`; with its values.
pub(super) fn over_version(
    version: u64,
) -> (&'static str, Option<std::collections::HashMap<String, AttributeValue>>) {
    if version <= 1 {
        ("attribute_not_exists(pk)", None)
    } else {
        let expected = AttributeValue::N((version - 1).to_string());
        ("version = :expected", Some(std::collections::HashMap::from([(":expected".to_owned(), expected)])))
    }
}

/// A counter raised by one unless it is at its limit, forgotten at a time (the table's TTL):
/// the update and its condition, with their names and values (`Batch::count_within`, and
/// `Store::count_up` outside a transaction).
const COUNT_UP: &str = "ADD #count :one SET #ttl = :ttl";
const BELOW_LIMIT: &str = "attribute_not_exists(#count) OR #count < :limit";

fn counter_names() -> std::collections::HashMap<String, String> {
    [("#count", "count"), ("#ttl", keys::TTL_ATTRIBUTE)]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}

fn counter_values(limit: u32, forget_at: i64) -> std::collections::HashMap<String, AttributeValue> {
    [(":one", 1), (":limit", i64::from(limit)), (":ttl", forget_at)]
        .into_iter()
        .map(|(k, v)| (k.into(), AttributeValue::N(v.to_string())))
        .collect()
}
