//! Bulk operations and their services (`crate::bulk`).

use super::batch::{Batch, MAX_ITEMS};
use super::keys::{self, Item};
use super::{decode, encode, PageQuery, Store, StoreError};
use crate::domain::bulk::{BulkItem, BulkOperation};
use crate::domain::{Service, ServiceId};

/// A bulk operation as its table item.
fn bulk_item_of(bulk: &BulkOperation) -> Result<Item, StoreError> {
    let mut item = encode(bulk)?;
    item.extend(keys::bulk_operation(&bulk.id).item());
    item.extend(keys::bulk_operation_index_keys(&bulk.id));
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
}

impl Store {
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
