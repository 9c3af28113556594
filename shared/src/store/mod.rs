//! The DynamoDB adapter. Route handlers never build expressions; they call these methods.

pub mod accounts;
pub mod acme;
pub mod batch;
pub mod bulk;
pub mod catalog;
pub mod idempotency;
pub mod imports;
pub mod keys;
pub mod notifications;
pub mod reconciliations;
pub mod remembered;
pub mod schema;
pub mod services;
pub mod tickets;

use crate::domain::catalog::RulesByType;
use crate::domain::{ProductType, ProductTypeRules};
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use keys::Item;
use serde::de::DeserializeOwned;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost: the item exists, is gone, or changed since it was read.
    #[error("condition failed")]
    ConditionFailed,
    /// A counter the transaction raises is at its limit (`Batch::count_within`), or a panel has
    /// no place for one more bulk service (`Batch::panel_place_taken`); nothing was written.
    #[error("limit reached")]
    LimitReached,
    #[error("dynamodb: {0}")]
    Backend(String),
    /// DynamoDB throttled the call, failed it with a 5xx, or did not answer in time, through
    /// every retry of the SDK's: nothing says it was refused, and a later try may go through.
    #[error("dynamodb unavailable: {0}")]
    Unavailable(String),
    #[error("item does not decode: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn backend(err: impl std::error::Error) -> Self {
        StoreError::Backend(DisplayErrorContext(err).to_string())
    }
}

impl<E> From<SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>> for StoreError
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + 'static,
{
    fn from(err: SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>) -> Self {
        if crate::aws::is_unavailable(&err) {
            StoreError::Unavailable(DisplayErrorContext(err).to_string())
        } else {
            StoreError::backend(err)
        }
    }
}

/// The table, through one SDK client built once per function instance.
#[derive(Debug, Clone)]
pub struct Store {
    client: Client,
    table: String,
    /// The tariffs this instance read (`remembered.rs`).
    remembered: std::sync::Arc<remembered::Remembered>,
    /// How many due services a scheduled job reads at a time (`sweeps`).
    sweep_page: u16,
}

/// A scheduled job's page of due services: at a few DynamoDB calls a service, a page is a few
/// seconds' work, so a run checks its budget often and reads little it has no time for.
pub const SWEEP_PAGE: u16 = 100;

/// A page of a list: items, and where the next page starts (the last item's position).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T, P> {
    pub items: Vec<T>,
    pub next: Option<P>,
}

/// What page of a list to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest<P> {
    pub limit: u16,
    pub after: Option<P>,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into(), remembered: Default::default(), sweep_page: SWEEP_PAGE }
    }

    /// The same store, whose scheduled jobs read `n` due services at a time (small pages let
    /// a test walk several).
    pub fn with_sweep_page(self, n: u16) -> Self {
        Self { sweep_page: n.max(1), ..self }
    }

    pub fn sweep_page(&self) -> u16 {
        self.sweep_page
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The same table and remembered catalog through another client (in the tests, one whose
    /// interceptor records the calls of the function it stands for).
    pub fn with_client(&self, client: Client) -> Self {
        Self { client, ..self.clone() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn get<T: DeserializeOwned>(&self, key: keys::Key) -> Result<Option<T>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.item()))
            .consistent_read(true)
            .send()
            .await?;
        out.item.map(decode).transpose()
    }

    /// Reads the items at `wanted` (at most 100) in one strongly consistent BatchGetItem, again
    /// for any the table left unprocessed: each found item beside its key, in `wanted`'s order.
    async fn get_many(&self, wanted: &[keys::Key]) -> Result<Vec<Option<Item>>, StoreError> {
        let keys = wanted.iter().map(keys::Key::item).collect();
        let mut request = Some(
            aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(StoreError::backend)?,
        );
        let mut found: Vec<Option<Item>> = vec![None; wanted.len()];
        while let Some(batch) = request.take() {
            let out = self.client.batch_get_item().request_items(self.table.clone(), batch).send().await?;
            for item in out.responses.unwrap_or_default().remove(&self.table).unwrap_or_default() {
                if let Some(at) = wanted.iter().position(|key| key.is_of(&item)) {
                    found[at] = Some(item);
                }
            }
            request = out.unprocessed_keys.unwrap_or_default().remove(&self.table);
        }
        Ok(found)
    }

    /// As `get_many`, with the rules of `types` read in the same BatchGetItem: the items at
    /// `wanted`, and the rules as they are now. Where a service's product type is known only
    /// once it is read, all six are read (small items) rather than one more call for its own.
    async fn get_many_with_rules(
        &self,
        wanted: &[keys::Key],
        types: &[ProductType],
    ) -> Result<(Vec<Option<Item>>, RulesByType), StoreError> {
        let mut all = wanted.to_vec();
        all.extend(types.iter().map(|t| keys::product_type(*t)));
        let mut found = self.get_many(&all).await?;
        let rules = found.split_off(wanted.len()).into_iter().flatten().map(decode);
        Ok((found, RulesByType::new(rules.collect::<Result<Vec<ProductTypeRules>, _>>()?)))
    }
}

fn encode<T: Serialize>(value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    /// Puts `item` if `condition` holds (with `values` for its `:names` and `names` for its
    /// `#names`); `ConditionFailed` when it does not, and then nothing is written.
    async fn put_if(
        &self,
        item: Item,
        condition: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<(), StoreError> {
        let mut put =
            aws_sdk_dynamodb::types::Put::builder().set_item(Some(item)).condition_expression(condition);
        for (placeholder, name) in names {
            put = put.expression_attribute_names(*placeholder, *name);
        }
        for (placeholder, value) in values {
            put = put.expression_attribute_values(placeholder, value);
        }
        self.put_once(put).await
    }

    /// Puts `item` over what is there, unless a write that started later is there already: each
    /// such write stamps its item with a ULID taken as it starts, and lands only over an older
    /// stamp (or none). So a write whose caller gave up (a 503, its attempts held on the way)
    /// and which reaches the table after a newer request's write undoes nothing; a retry of the
    /// same write keeps its stamp, and its token. A write that finds a newer stamp is
    /// `ConditionFailed`: another request changed the item meanwhile.
    async fn put_latest(&self, mut item: Item) -> Result<(), StoreError> {
        let stamp = crate::domain::ids::next_id();
        item.insert(keys::WRITE_STAMP.to_owned(), s(stamp.clone()));
        let put = aws_sdk_dynamodb::types::Put::builder()
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#stamp) OR #stamp < :stamp")
            .expression_attribute_names("#stamp", keys::WRITE_STAMP)
            .expression_attribute_values(":stamp", s(stamp));
        self.put_once(put).await
    }

    /// A put as a transaction of one item, as every write here outside a batch is (but the
    /// idempotency records', which name their claim): DynamoDB does a transaction once per
    /// `ClientRequestToken`, which the SDK keeps across its retries, so a put whose answer was
    /// lost is retried into its success (not into its own condition failing), and an attempt
    /// held up on the way that arrives after its retry changes nothing.
    async fn put_once(&self, put: aws_sdk_dynamodb::types::builders::PutBuilder) -> Result<(), StoreError> {
        let put = put.table_name(&self.table).build().map_err(StoreError::backend)?;
        let put = aws_sdk_dynamodb::types::TransactWriteItem::builder().put(put).build();
        match self.client.transact_write_items().transact_items(put).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Err(StoreError::ConditionFailed),
            Err(e) => Err(e.into()),
        }
    }
}

/// An item as the value it stores: its table keys are not the value's (a type that refuses
/// unknown fields, as a request body does, reads back).
fn decode<T: DeserializeOwned>(mut item: Item) -> Result<T, StoreError> {
    item.remove(keys::PK);
    item.remove(keys::SK);
    item.remove(keys::WRITE_STAMP);
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// Whether a transaction was cancelled because one of its conditions failed.
fn is_condition_failure<R>(
    err: &SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> bool {
    !failed_conditions(err).is_empty()
}

/// The positions of a cancelled transaction's items whose condition failed.
fn failed_conditions<R>(
    err: &SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> Vec<usize> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => e
            .cancellation_reasons()
            .iter()
            .enumerate()
            .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
            .map(|(i, _)| i)
            .collect(),
        _ => Vec::new(),
    }
}

/// One page of a Query: a key condition on one partition (of the table or an index), an
/// optional sort-key prefix and filter, newest or oldest first.
#[derive(Debug, Clone, Default)]
struct PageQuery {
    index: Option<keys::Index>,
    partition: String,
    sort_prefix: Option<String>,
    /// A range on the sort key instead of a prefix: `("<=", bound)` or `(">=", bound)`.
    sort_range: Option<(&'static str, String)>,
    /// Or both ends of the range, inclusive.
    sort_between: Option<(String, String)>,
    /// A filter expression over `#f0..` names and `:f0..` values.
    filter: Vec<(String, AttributeValue, &'static str)>,
    newest_first: bool,
    limit: u16,
    start: Option<Item>,
    /// A strongly consistent read (of the table; an index cannot give one).
    consistent: bool,
}

impl PageQuery {
    /// Adds `name <op> value` to the filter (ANDed with the rest).
    fn filter(mut self, name: impl Into<String>, op: &'static str, value: AttributeValue) -> Self {
        self.filter.push((name.into(), value, op));
        self
    }
}

impl Store {
    /// The item at `head` and the first page of the entries (sort keys starting `entry_prefix`)
    /// that sort before it in its partition, newest first, in one strongly consistent Query:
    /// the head item, the entries, and where the next page starts.
    async fn head_with_entries(
        &self,
        head: &keys::Key,
        entry_prefix: &str,
        limit: u16,
    ) -> Result<(Option<Item>, Vec<Item>, Option<Item>), StoreError> {
        let query = PageQuery {
            partition: head.pk.clone(),
            sort_range: Some(("<=", head.sk.clone())),
            newest_first: true,
            limit: limit + 1,
            consistent: true,
            ..PageQuery::default()
        };
        let (mut items, last) = self.query_page(query).await?;
        let head_item = match items.first() {
            Some(first) if head.is_of(first) => Some(items.remove(0)),
            _ => None,
        };
        let is_entry = |item: &Item| {
            item.get(keys::SK).and_then(|sk| sk.as_s().ok()).is_some_and(|sk| sk.starts_with(entry_prefix))
        };
        items.retain(is_entry);
        // One more was read for the head: without it, the page ends at `limit`, and the next
        // starts after the last entry kept.
        if items.len() > usize::from(limit) {
            items.truncate(usize::from(limit));
            let last = items.last().cloned();
            return Ok((head_item, items, last));
        }
        Ok((head_item, items, last))
    }

    /// Every item `q` finds, walking all its pages (its `start` and `limit` a page's).
    async fn query_all(&self, q: PageQuery) -> Result<Vec<Item>, StoreError> {
        let mut all = Vec::new();
        let mut start = q.start.clone();
        loop {
            let (items, last) = self.query_page(PageQuery { start, ..q.clone() }).await?;
            all.extend(items);
            match last {
                Some(last) => start = Some(last),
                None => return Ok(all),
            }
        }
    }

    async fn query_page(&self, q: PageQuery) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let (pk_name, sk_name) = match q.index {
            Some(index) => (index.pk(), index.sk()),
            None => (keys::PK.to_owned(), keys::SK.to_owned()),
        };
        let mut condition = "#pk = :pk".to_owned();
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(q.index.map(|i| i.name().to_owned()))
            .expression_attribute_names("#pk", pk_name)
            .expression_attribute_values(":pk", s(q.partition))
            .scan_index_forward(!q.newest_first)
            .consistent_read(q.consistent)
            .limit(i32::from(q.limit))
            .set_exclusive_start_key(q.start);
        if let Some(prefix) = q.sort_prefix {
            condition.push_str(" AND begins_with(#sk, :sk)");
            request = request
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":sk", s(prefix));
        } else if let Some((op, bound)) = q.sort_range {
            condition.push_str(&format!(" AND #sk {op} :sk"));
            request = request
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":sk", s(bound));
        } else if let Some((from, to)) = q.sort_between {
            condition.push_str(" AND #sk BETWEEN :from AND :to");
            request = request
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":from", s(from))
                .expression_attribute_values(":to", s(to));
        }
        let mut filters = Vec::new();
        for (i, (name, value, op)) in q.filter.into_iter().enumerate() {
            filters.push(format!("#f{i} {op} :f{i}"));
            request = request
                .expression_attribute_names(format!("#f{i}"), name)
                .expression_attribute_values(format!(":f{i}"), value);
        }
        if !filters.is_empty() {
            request = request.filter_expression(filters.join(" AND "));
        }
        let out = request.key_condition_expression(condition).send().await?;
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }
}
