//! Bulk operations and their services (`crate::bulk`).

use super::batch::{Batch, MAX_ITEMS};
use super::keys::{self, Item};
use super::{decode, encode, PageQuery, Store, StoreError};
use crate::domain::bulk::{BulkItem, BulkOperation};
use crate::domain::{Service, ServiceId};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use std::collections::HashMap;

/// The attributes of `keys::bulk_panel`: a place (`{bulk id}#{seq}`) for each service of a
/// bulk operation under way on the panel, and the bulk operations refused one, which the next
/// places go to. Sets, so that adding or removing one twice is harmless and who holds or waits
/// for the panel can be read off them.
const PLACES: &str = "places";
const WAITING: &str = "waiting";

fn place(bulk_id: &str, seq: u32) -> String {
    format!("{bulk_id}#{seq}")
}

/// The bulk operations' places on one panel, as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PanelPlaces {
    /// The services under way: their bulk operation's id and `seq`.
    pub places: Vec<(String, u32)>,
    /// The bulk operations waiting for a place.
    pub waiting: Vec<String>,
}

fn set(values: impl IntoIterator<Item = String>) -> AttributeValue {
    AttributeValue::Ss(values.into_iter().collect())
}

/// A bulk operation as its table item.
fn bulk_item_of(bulk: &BulkOperation) -> Result<Item, StoreError> {
    let mut item = encode(bulk)?;
    item.extend(keys::bulk_operation(&bulk.id).item());
    item.extend(keys::bulk_operation_index_keys(&bulk.id));
    if bulk.carried_on() {
        item.extend(keys::bulk_operation_under_way_keys(&bulk.id));
    }
    Ok(item)
}

impl Batch {
    /// The bulk operation as it should now be (its `version` one past the one read, 1 when new).
    pub fn bulk_operation(&mut self, bulk: &BulkOperation) -> Result<&mut Self, StoreError> {
        self.put_versioned(bulk_item_of(bulk)?, bulk.version)
    }

    /// One of a bulk operation's services, over what is there (the bulk operation's own version
    /// in the same transaction keeps its writers in turn).
    pub fn bulk_service(&mut self, bulk_id: &str, item: &BulkItem) -> Result<&mut Self, StoreError> {
        let mut stored = encode(item)?;
        stored.extend(keys::bulk_item(bulk_id, item.seq).item());
        self.put(stored)
    }

    /// Holds a place on `panel` for the bulk operation's service `seq`, unless `limit` services
    /// (of any bulk operation) are under way there already, or other bulk operations wait for
    /// a place and this one does not: the commit is then `LimitReached`. A waiting bulk
    /// operation that takes a place waits no more.
    pub fn panel_place_taken(
        &mut self,
        panel: &str,
        bulk_id: &str,
        seq: u32,
        limit: u16,
    ) -> Result<&mut Self, StoreError> {
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(keys::bulk_panel(panel).item()))
            .update_expression("ADD #places :place DELETE #waiting :me")
            .condition_expression(
                "(attribute_not_exists(#places) OR size(#places) < :limit) \
                 AND (attribute_not_exists(#waiting) OR contains(#waiting, :id))",
            )
            .set_expression_attribute_names(Some(HashMap::from([
                ("#places".into(), PLACES.into()),
                ("#waiting".into(), WAITING.into()),
            ])))
            .set_expression_attribute_values(Some(HashMap::from([
                (":place".into(), set([place(bulk_id, seq)])),
                (":me".into(), set([bulk_id.to_owned()])),
                (":id".into(), AttributeValue::S(bulk_id.to_owned())),
                (":limit".into(), AttributeValue::N(limit.max(1).to_string())),
            ])))
            .build()
            .map_err(StoreError::backend)?;
        self.push_within_limit(update);
        Ok(self)
    }

    /// Gives the places on `panel` of the bulk operation's services `seqs` back (one write:
    /// a transaction writes an item once).
    pub fn panel_places_freed(
        &mut self,
        panel: &str,
        bulk_id: &str,
        seqs: &[u32],
    ) -> Result<&mut Self, StoreError> {
        let places = seqs.iter().map(|seq| place(bulk_id, *seq)).collect();
        let Some(removal) = PanelRemoval::of(places, Vec::new()) else { return Ok(self) };
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(keys::bulk_panel(panel).item()))
            .update_expression(removal.expression)
            .set_expression_attribute_names(Some(removal.names))
            .set_expression_attribute_values(Some(removal.values))
            .build()
            .map_err(StoreError::backend)?;
        self.push(TransactWriteItem::builder().update(update).build());
        Ok(self)
    }
}

/// What removes some places and turns from a panel's record: a `DELETE` update expression
/// with its names and values (DynamoDB refuses a name or value the expression does not use).
struct PanelRemoval {
    expression: String,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl PanelRemoval {
    /// `None` when there is nothing to remove.
    fn of(places: Vec<String>, waiting: Vec<String>) -> Option<Self> {
        let mut removal = Self { expression: String::new(), names: HashMap::new(), values: HashMap::new() };
        let mut removed = Vec::new();
        for (attribute, items) in [(PLACES, places), (WAITING, waiting)] {
            if !items.is_empty() {
                removed.push(format!("#{attribute} :{attribute}"));
                removal.names.insert(format!("#{attribute}"), attribute.to_owned());
                removal.values.insert(format!(":{attribute}"), set(items));
            }
        }
        if removed.is_empty() {
            return None;
        }
        removal.expression = format!("DELETE {}", removed.join(", "));
        Some(removal)
    }
}

impl Store {
    /// Who holds and who waits for places on `panel`, read consistently.
    pub async fn panel_places(&self, panel: &str) -> Result<PanelPlaces, StoreError> {
        let found = self.get_many(&[keys::bulk_panel(panel)]).await?.into_iter().flatten().next();
        let strings = |name: &str| -> Vec<String> {
            let value = found.as_ref().and_then(|item| item.get(name));
            value.and_then(|v| v.as_ss().ok().cloned()).unwrap_or_default()
        };
        let places = strings(PLACES)
            .into_iter()
            .filter_map(|p| {
                let (bulk, seq) = p.rsplit_once('#')?;
                Some((bulk.to_owned(), seq.parse().ok()?))
            })
            .collect();
        Ok(PanelPlaces { places, waiting: strings(WAITING) })
    }

    /// Puts the bulk operation `bulk_id` among those waiting for a place on `panel`.
    pub async fn wait_for_panel(&self, panel: &str, bulk_id: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(self.table())
            .set_key(Some(keys::bulk_panel(panel).item()))
            .update_expression("ADD #waiting :me")
            .expression_attribute_names("#waiting", WAITING)
            .expression_attribute_values(":me", set([bulk_id.to_owned()]))
            .send()
            .await?;
        Ok(())
    }

    /// Gives back the places and turns on `panel` of bulk operations that no longer need them.
    pub async fn free_panel(
        &self,
        panel: &str,
        places: &[(String, u32)],
        waiting: &[String],
    ) -> Result<(), StoreError> {
        let places = places.iter().map(|(bulk, seq)| place(bulk, *seq)).collect();
        let Some(removal) = PanelRemoval::of(places, waiting.to_vec()) else { return Ok(()) };
        self.client
            .update_item()
            .table_name(self.table())
            .set_key(Some(keys::bulk_panel(panel).item()))
            .update_expression(removal.expression)
            .set_expression_attribute_names(Some(removal.names))
            .set_expression_attribute_values(Some(removal.values))
            .send()
            .await?;
        Ok(())
    }

    /// A new draft with its services: the services first, then the draft, which names them (a
    /// draft is never read without them).
    pub async fn put_bulk_draft(&self, bulk: &BulkOperation, items: &[BulkItem]) -> Result<(), StoreError> {
        for chunk in items.chunks(MAX_ITEMS - 1) {
            let mut batch = self.batch();
            for item in chunk {
                batch.bulk_service(&bulk.id, item)?;
            }
            self.commit(batch).await?;
        }
        let mut batch = self.batch();
        batch.bulk_operation(bulk)?;
        self.commit(batch).await
    }

    pub async fn get_bulk_operation(&self, id: &str) -> Result<Option<BulkOperation>, StoreError> {
        self.get(keys::bulk_operation(id)).await
    }

    pub async fn get_bulk_service(&self, id: &str, seq: u32) -> Result<Option<BulkItem>, StoreError> {
        self.get(keys::bulk_item(id, seq)).await
    }

    /// Bulk operations newest first, one page (after the one `after`).
    pub async fn list_bulk_operations(
        &self,
        limit: u16,
        after: Option<&str>,
    ) -> Result<(Vec<BulkOperation>, Option<String>), StoreError> {
        let query = PageQuery {
            index: Some(keys::Index::All),
            partition: keys::all_bulk_operations(),
            start: after.map(keys::bulk_operation_start),
            newest_first: true,
            limit,
            ..PageQuery::default()
        };
        let (items, last) = self.query_page(query).await?;
        let found = items.into_iter().map(decode).collect::<Result<Vec<BulkOperation>, _>>()?;
        let next = last.and_then(|_| found.last().map(|b| b.id.clone()));
        Ok((found, next))
    }

    /// The ids of the bulk operations being carried on, oldest first (read from an index: a
    /// bulk operation approved or finished a moment ago may be missing or still listed).
    pub async fn bulk_operations_under_way(&self) -> Result<Vec<String>, StoreError> {
        let query = PageQuery {
            index: Some(keys::Index::ByStatus),
            partition: keys::bulk_operations_under_way(),
            limit: 100,
            ..PageQuery::default()
        };
        let items = self.query_all(query).await?;
        let sort_key = keys::Index::ByStatus.sk();
        Ok(items
            .iter()
            .filter_map(|item| item.get(&sort_key)?.as_s().ok())
            .filter_map(|pk| keys::bulk_operation_id_of(pk).map(str::to_owned))
            .collect())
    }

    /// A bulk operation's services in order, one page from `from` (a `seq`): the page and the
    /// `seq` the next one starts at.
    pub async fn bulk_services(
        &self,
        id: &str,
        from: u32,
        limit: u16,
    ) -> Result<(Vec<BulkItem>, Option<u32>), StoreError> {
        let start = from.checked_sub(1).map(|before| keys::bulk_item(id, before).item());
        let query = PageQuery {
            partition: keys::bulk_operation(id).pk,
            sort_prefix: Some(keys::BULK_ITEM_PREFIX.into()),
            start,
            limit,
            consistent: true,
            ..PageQuery::default()
        };
        let (items, last) = self.query_page(query).await?;
        let found = items.into_iter().map(decode).collect::<Result<Vec<BulkItem>, _>>()?;
        let next = last.and_then(|_| found.last().map(|i| i.seq + 1));
        Ok((found, next))
    }

    /// The services named, as they are now (`None` for one not there), in one read.
    pub async fn services_now(&self, ids: &[ServiceId]) -> Result<Vec<Option<Service>>, StoreError> {
        let wanted: Vec<keys::Key> = ids.iter().map(keys::service).collect();
        let found = self.get_many(&wanted).await?;
        found.into_iter().map(|item| item.map(decode).transpose()).collect()
    }
}
