//! Services and their history.

use super::keys::{self, Index, Item};
use super::{decode, encode, is_condition_failure, s, Page, PageQuery, PageRequest, Store, StoreError};
use crate::domain::{ClientId, HistoryEntry, HistoryId, ProductType, Service, ServiceId, Status};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

/// Which services a list shows. The store picks the index from the most selective filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceFilter {
    pub owner: Option<ClientId>,
    pub product_type: Option<ProductType>,
    pub status: Option<Status>,
    /// Leave out deleted services (a client's view).
    pub hide_deleted: bool,
}

fn service_item(service: &Service) -> Result<Item, StoreError> {
    let mut item = encode(service)?;
    item.extend(keys::service(&service.id).item());
    item.extend(keys::service_index_keys(
        &service.id,
        service.client_id.as_str(),
        service.product_type,
        service.status,
    ));
    Ok(item)
}

fn history_item(service: &ServiceId, entry: &HistoryEntry) -> Result<Item, StoreError> {
    let mut item = encode(entry)?;
    item.extend(keys::history(service, &entry.id).item());
    Ok(item)
}

impl Store {
    /// Writes a new service and its first history entry in one transaction.
    pub async fn insert_service(&self, service: &Service, entry: &HistoryEntry) -> Result<(), StoreError> {
        let put = |item: Item| -> Result<TransactWriteItem, StoreError> {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(StoreError::backend)?;
            Ok(TransactWriteItem::builder().put(put).build())
        };
        let result = self
            .client
            .transact_write_items()
            .transact_items(put(service_item(service)?)?)
            .transact_items(put(history_item(&service.id, entry)?)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Err(StoreError::ConditionFailed),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn get_service(&self, id: &ServiceId) -> Result<Option<Service>, StoreError> {
        self.get(keys::service(id)).await
    }

    /// Services newest first, one page.
    pub async fn list_services(
        &self,
        filter: &ServiceFilter,
        page: PageRequest<ServiceId>,
    ) -> Result<Page<Service, ServiceId>, StoreError> {
        let (index, partition) = match (&filter.owner, filter.status, filter.product_type) {
            (Some(owner), _, _) => (Index::ByOwner, keys::owners_services(owner.as_str())),
            (None, Some(status), _) => (Index::ByStatus, keys::services_in_status(status)),
            (None, None, Some(t)) => (Index::ByType, keys::services_of_type(t)),
            (None, None, None) => (Index::All, keys::all_services()),
        };
        let mut query = PageQuery {
            index: Some(index),
            start: page
                .after
                .as_ref()
                .map(|id| keys::service_start(id, index, &partition)),
            partition,
            newest_first: true,
            limit: page.limit,
            ..PageQuery::default()
        };
        // The index covers one filter; the others are filter expressions.
        if let Some(status) = filter.status.filter(|_| index != Index::ByStatus) {
            query = query.filter("status", "=", s(status.as_str()));
        }
        if let Some(t) = filter.product_type.filter(|_| index != Index::ByType) {
            query = query.filter("product_type", "=", s(t.as_str()));
        }
        if filter.hide_deleted {
            query = query.filter("status", "<>", s(Status::Deleted.as_str()));
        }
        let (items, last) = self.query_page(query).await?;
        Ok(Page {
            items: items.into_iter().map(decode).collect::<Result<_, _>>()?,
            next: last.as_ref().and_then(keys::service_id_of),
        })
    }

    /// A service's history, newest first, one page.
    pub async fn list_history(
        &self,
        service: &ServiceId,
        page: PageRequest<HistoryId>,
    ) -> Result<Page<HistoryEntry, HistoryId>, StoreError> {
        let (partition, prefix) = keys::history_partition(service);
        let query = PageQuery {
            partition,
            sort_prefix: Some(prefix),
            newest_first: true,
            limit: page.limit,
            start: page.after.as_ref().map(|id| keys::history(service, id).item()),
            ..PageQuery::default()
        };
        let (items, last) = self.query_page(query).await?;
        Ok(Page {
            items: items.into_iter().map(decode).collect::<Result<_, _>>()?,
            next: last.as_ref().and_then(keys::history_id_of),
        })
    }
}
