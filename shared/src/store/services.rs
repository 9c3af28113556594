//! Services and their history.

use super::keys::{self, Index};
use super::{decode, s, Page, PageQuery, PageRequest, Store, StoreError};
use crate::domain::account::Account;
use crate::domain::events::LifecycleEvent;
use crate::domain::panel_login::SignInLog;
use crate::domain::{
    ClientId, HistoryEntry, HistoryId, ProductType, ProductTypeRules, Service, ServiceId, Status, Timestamp,
};
use std::collections::HashSet;

/// A service as a request on it reads it (`Store::service_with_rules`).
#[derive(Debug, Clone)]
pub struct ServiceWithRules {
    pub service: Option<Service>,
    /// The account of the client named in the read (`None` when none was named, or its account
    /// was never written).
    pub account: Option<Account>,
    /// The service's product type's rules as they are now (`None` when none are set).
    pub rules: Option<ProductTypeRules>,
}

/// Which services a list shows. The store picks the index from the most selective filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceFilter {
    pub owner: Option<ClientId>,
    pub product_type: Option<ProductType>,
    pub status: Option<Status>,
    /// Leave out deleted services (a client's view).
    pub hide_deleted: bool,
}

impl Store {
    /// Writes a new service and its first history entry in one transaction.
    pub async fn insert_service(&self, service: &Service, entry: &HistoryEntry) -> Result<(), StoreError> {
        let mut batch = self.batch();
        batch.service(service)?.history(service, entry)?;
        self.commit(batch).await
    }

    pub async fn get_service(&self, id: &ServiceId) -> Result<Option<Service>, StoreError> {
        self.get(keys::service(id)).await
    }

    /// A service with its product type's rules as they are now and, when `client` is named,
    /// that client's account, in one strongly consistent BatchGetItem.
    pub async fn service_with_rules(
        &self,
        id: &ServiceId,
        client: Option<&ClientId>,
    ) -> Result<ServiceWithRules, StoreError> {
        let mut wanted = vec![keys::service(id)];
        wanted.extend(client.map(|c| keys::account(c.as_str())));
        let (found, every_rules) = self.get_many_with_rules(&wanted, &ProductType::ALL).await?;
        let mut found = found.into_iter();
        let service: Option<Service> = found.next().flatten().map(decode).transpose()?;
        let account = found.next().flatten().map(decode).transpose()?;
        let rules = service.as_ref().and_then(|s| every_rules.get(s.product_type).cloned());
        Ok(ServiceWithRules { service, account, rules })
    }

    /// A service with its product type's rules as they are now, where the caller expects its
    /// product type (the worker, from its message): that type's rules only, in one strongly
    /// consistent BatchGetItem; one more read of its own type's rules should it be another.
    pub async fn service_with_rules_of(
        &self,
        id: &ServiceId,
        expected: ProductType,
    ) -> Result<ServiceWithRules, StoreError> {
        let (found, rules) = self.get_many_with_rules(&[keys::service(id)], &[expected]).await?;
        let service: Option<Service> = found.into_iter().next().flatten().map(decode).transpose()?;
        let rules = match &service {
            Some(s) if s.product_type == expected => rules.get(expected).cloned(),
            Some(s) => self.get(keys::product_type(s.product_type)).await?,
            None => None,
        };
        Ok(ServiceWithRules { service, account: None, rules })
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
            start: page.after.as_ref().map(|id| keys::service_start(id, index, &partition)),
            partition,
            // Tickets share the client's partition of this index.
            sort_prefix: Some(keys::service_sort_prefix()),
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

    /// The services whose latest operation failed (`Service::needs_attention`), the latest
    /// failure first, one page; `filter`'s owner, type and status narrow it. A page resumes
    /// after the position `{failed_at}#{id}` (see `keys::attention_position`).
    pub async fn services_needing_attention(
        &self,
        filter: &ServiceFilter,
        page: PageRequest<String>,
    ) -> Result<Page<Service, String>, StoreError> {
        let index = Index::Attention;
        let partition = keys::needing_attention();
        let mut query = PageQuery {
            index: Some(index),
            start: page.after.as_deref().and_then(|position| keys::attention_start(position, &partition)),
            partition,
            newest_first: true,
            limit: page.limit,
            ..PageQuery::default()
        };
        if let Some(owner) = &filter.owner {
            query = query.filter("client_id", "=", s(owner.as_str()));
        }
        if let Some(status) = filter.status {
            query = query.filter("status", "=", s(status.as_str()));
        }
        if let Some(t) = filter.product_type {
            query = query.filter("product_type", "=", s(t.as_str()));
        }
        let (items, last) = self.query_page(query).await?;
        Ok(Page {
            items: items.into_iter().map(decode).collect::<Result<_, _>>()?,
            next: last.as_ref().and_then(|item| item.get(&index.sk())?.as_s().ok().cloned()),
        })
    }

    /// Every service of a client (its cart is among them), walking all pages.
    pub async fn client_services(&self, owner: &ClientId) -> Result<Vec<Service>, StoreError> {
        let filter =
            ServiceFilter { owner: Some(owner.clone()), hide_deleted: true, ..ServiceFilter::default() };
        let mut services = Vec::new();
        let mut after = None;
        loop {
            let page = self.list_services(&filter, PageRequest { limit: 100, after }).await?;
            services.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(services),
            }
        }
    }

    /// A service and the first page of its history in one Query: the service item (`META`)
    /// sorts after its history entries (`HIST#...`), so newest first it comes first.
    pub async fn service_with_history(
        &self,
        id: &ServiceId,
        limit: u16,
    ) -> Result<(Option<Service>, Page<HistoryEntry, HistoryId>), StoreError> {
        let (_, prefix) = keys::history_partition(id);
        let (service, entries, last) = self.head_with_entries(&keys::service(id), &prefix, limit).await?;
        Ok((
            service.map(decode).transpose()?,
            Page {
                items: entries.into_iter().map(decode).collect::<Result<_, _>>()?,
                next: last.as_ref().and_then(keys::history_id_of),
            },
        ))
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
            // Read right after the worker writes (a bulk operation settling what it ended).
            consistent: true,
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

/// A page of the replay's reading of the history (`Store::history_written_between`).
pub const REPLAY_PAGE: i32 = 500;

impl Store {
    /// One page of the history entries of every service written from `from` to `to`, as the
    /// events they were published as, and where the next page starts. A Scan: only the replay
    /// of missed events reads this way, by hand. Each service's entries come in the order of
    /// its history (a partition's items are read in sort key order).
    pub async fn history_written_between(
        &self,
        from: Timestamp,
        to: Timestamp,
        start: Option<&keys::Key>,
    ) -> Result<(Vec<LifecycleEvent>, Option<keys::Key>), StoreError> {
        let (low, high) = keys::history_written_between(from, to);
        let out = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("#sk BETWEEN :low AND :high")
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":low", s(low))
            .expression_attribute_values(":high", s(high))
            .limit(REPLAY_PAGE)
            .set_exclusive_start_key(start.map(keys::Key::item))
            .consistent_read(true)
            .send()
            .await?;
        // A history item that is no event is passed over, as the stream's publisher does.
        let events = out
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|item| {
                let key = keys::Key::of(&item);
                decode(item)
                    .map_err(|error| tracing::error!(?key, %error, "a history item that is no event"))
                    .ok()
            })
            .collect();
        Ok((events, out.last_evaluated_key.as_ref().and_then(keys::Key::of)))
    }

    /// Which of `ids` are deleted services, read in one BatchGetItem per 100: a client's
    /// listings leave out links to them.
    pub async fn deleted_among(&self, ids: &[ServiceId]) -> Result<HashSet<ServiceId>, StoreError> {
        let mut unique: Vec<&ServiceId> = ids.iter().collect();
        unique.sort();
        unique.dedup();
        let mut deleted = HashSet::new();
        for chunk in unique.chunks(100) {
            let wanted: Vec<keys::Key> = chunk.iter().map(|id| keys::service(id)).collect();
            for (id, item) in chunk.iter().zip(self.get_many(&wanted).await?) {
                let status = item.as_ref().and_then(|item| item.get("status")?.as_s().ok());
                if status.is_some_and(|s| s == Status::Deleted.as_str()) {
                    deleted.insert((*id).clone());
                }
            }
        }
        Ok(deleted)
    }

    /// Every service in `status`, walking all pages: for statuses few services are in at once.
    pub async fn all_in_status(&self, status: Status) -> Result<Vec<Service>, StoreError> {
        let partition = keys::services_in_status(status);
        self.due_services(&DueQuery::at_least(Index::ByStatus, partition, keys::service_sort_prefix())).await
    }

    /// Every service `due` finds, walking all pages: the cost follows the due services only.
    pub async fn due_services(&self, due: &DueQuery) -> Result<Vec<Service>, StoreError> {
        let mut services = Vec::new();
        let mut after = None;
        loop {
            // Large pages: a list of due services usually fits in one Query.
            let (page, next) = self.due_page(due, after, 1000).await?;
            services.extend(page);
            match next {
                Some(next) => after = Some(next),
                None => return Ok(services),
            }
        }
    }

    /// One page of at most `limit` of the services `due` finds, after `after`, and where the
    /// next page starts (`None`: this was the last). A service that left the index since its
    /// page was read is no obstacle: the cursor is a position in the index, not an item.
    pub async fn due_page(
        &self,
        due: &DueQuery,
        after: Option<DueCursor>,
        limit: u16,
    ) -> Result<(Vec<Service>, Option<DueCursor>), StoreError> {
        let page = PageQuery { limit, start: after.map(|cursor| cursor.0), ..due.0.clone() };
        let (items, last) = self.query_page(page).await?;
        // A service that cannot be read is logged and passed over: it must not hold up a job's
        // run for every other service on its page (and every page after it).
        let services = items
            .into_iter()
            .filter_map(|item| {
                let key = item.get(keys::PK).and_then(|pk| pk.as_s().ok()).cloned().unwrap_or_default();
                decode::<Service>(item)
                    .map_err(|error| tracing::error!(item = %key, %error, "a due service cannot be read: passed over"))
                    .ok()
            })
            .collect();
        Ok((services, last.map(DueCursor)))
    }
}

/// The services of one partition of a sparse schedule index whose sort key is in a range:
/// the services a scheduled job is due to look at.
#[derive(Debug, Clone)]
pub struct DueQuery(PageQuery);

/// Where a walk through a `DueQuery`'s pages goes on: after the last service read.
#[derive(Debug, Clone)]
pub struct DueCursor(keys::Item);

impl DueCursor {
    /// The sort key in `index` of the last service read.
    pub fn sort_key_in(&self, index: Index) -> Option<String> {
        self.0.get(&index.sk())?.as_s().ok().cloned()
    }
}

/// Where a job's walk through an index stopped: the last sort key it read through.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    pub walk: String,
    pub through: String,
}

impl Store {
    /// Where each of `job`'s walks stopped, in one Query.
    pub async fn job_checkpoints(&self, job: &str) -> Result<Vec<Checkpoint>, StoreError> {
        let (partition, prefix) = keys::job_checkpoints(job);
        let query = PageQuery { partition, sort_prefix: Some(prefix), limit: 1000, ..PageQuery::default() };
        let (items, _) = self.query_page(query).await?;
        Ok(items
            .into_iter()
            .filter_map(|item| {
                let through = item.get("through")?.as_s().ok()?.clone();
                Some(Checkpoint { walk: keys::walk_of(&item)?, through })
            })
            .collect())
    }

    pub async fn put_job_checkpoint(&self, job: &str, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        let mut item = keys::job_checkpoint(job, &checkpoint.walk).item();
        item.insert("through".into(), s(checkpoint.through.clone()));
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await?;
        Ok(())
    }
}

impl DueQuery {
    /// Sort keys up to `bound`, inclusive.
    pub fn at_most(index: Index, partition: String, bound: String) -> Self {
        Self::of(index, partition, PageQuery { sort_range: Some(("<=", bound)), ..PageQuery::default() })
    }

    /// Sort keys from `bound`, inclusive.
    pub fn at_least(index: Index, partition: String, bound: String) -> Self {
        Self::of(index, partition, PageQuery { sort_range: Some((">=", bound)), ..PageQuery::default() })
    }

    /// Sort keys from `from` to `to`, both inclusive.
    pub fn between(index: Index, partition: String, from: String, to: String) -> Self {
        Self::of(index, partition, PageQuery { sort_between: Some((from, to)), ..PageQuery::default() })
    }

    fn of(index: Index, partition: String, range: PageQuery) -> Self {
        Self(PageQuery { index: Some(index), partition, ..range })
    }
}

impl Store {
    /// The sign-ins into `service`'s panel within about the last minute (empty, version 0,
    /// when there are none).
    pub async fn panel_sign_ins(&self, service: &ServiceId) -> Result<SignInLog, StoreError> {
        Ok(self.get(keys::panel_sign_ins(service)).await?.unwrap_or_default())
    }

    /// Writes the log as `SignInLog::admit` left it, only over the version it was read at
    /// (`ConditionFailed` when another sign-in came meanwhile). The table's TTL forgets it a
    /// minute after its newest sign-in. One conditional PutItem, outside any request's
    /// transaction: a sign-in counts whatever the panel answers next, and two at once are a
    /// condition that fails, not a transaction conflict.
    pub async fn put_panel_sign_ins(&self, service: &ServiceId, log: &SignInLog) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::AttributeValue;
        let mut item = super::encode(log)?;
        item.extend(keys::panel_sign_ins(service).item());
        item.insert(keys::TTL_ATTRIBUTE.into(), AttributeValue::N(log.forget_at().to_string()));
        let (condition, values) = super::batch::over_version(log.version);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(values);
        match put.send().await {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Err(StoreError::ConditionFailed)
            }
            Err(e) => Err(e.into()),
        }
    }
}
