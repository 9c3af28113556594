//! Reconciliation runs, their snapshots and what they found (`crate::reconciliation`).

use super::keys::{self, Item};
use super::{decode, encode, s, PageQuery, Store, StoreError};
use crate::domain::drift::{DriftItem, DriftKind, Run, Snapped};
use crate::domain::{HistoryEntry, ProductType, Service, ServiceId};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The run's drift counts are attributes of its item, `count_{kind}`, raised in the
/// transaction that keeps each item.
fn count_attribute(kind: DriftKind) -> String {
    format!("count_{}", kind.as_str())
}

/// A run's summary: the run and its counts by kind.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRead {
    pub run: Run,
    pub counts: BTreeMap<DriftKind, u64>,
}

impl Store {
    /// A new run (its id unused).
    pub async fn put_run(&self, run: &Run) -> Result<(), StoreError> {
        let mut item = encode(run)?;
        item.extend(keys::reconciliation(&run.id).item());
        item.extend(keys::reconciliation_index_keys(&run.id));
        self.put_if(item, "attribute_not_exists(pk)", &[], Vec::new()).await
    }

    pub async fn get_run(&self, id: &str) -> Result<Option<RunRead>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(keys::reconciliation(id).item()))
            .consistent_read(true)
            .send()
            .await?;
        out.item.map(read_run).transpose()
    }

    /// Runs newest first, one page (after the run id `after`).
    pub async fn list_runs(
        &self,
        limit: u16,
        after: Option<&str>,
    ) -> Result<(Vec<RunRead>, Option<String>), StoreError> {
        let query = PageQuery {
            index: Some(keys::Index::All),
            partition: keys::all_reconciliations(),
            start: after.map(keys::reconciliation_start),
            newest_first: true,
            limit,
            ..PageQuery::default()
        };
        let (items, last) = self.query_page(query).await?;
        let runs = items.into_iter().map(read_run).collect::<Result<Vec<_>, _>>()?;
        let next = last.and_then(|_| runs.last().map(|r| r.run.id.clone()));
        Ok((runs, next))
    }

    /// The run's progress (and status) as `run` holds them, over the version it was read at,
    /// with the page's chunk of lines when it has one (`SNAP` or `SEEN` of a type, numbered):
    /// one transaction, `ConditionFailed` (and nothing written) when another invocation
    /// carried the run on meanwhile.
    pub async fn advance_run(
        &self,
        run: &Run,
        chunk: Option<(&str, ProductType, u32, Vec<String>)>,
    ) -> Result<(), StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::reconciliation(&run.id).item()))
            .update_expression("SET #at = :at, #status = :status, finished_at = :finished, version = :next")
            .condition_expression("version = :read")
            .expression_attribute_names("#at", "at")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":at", AttributeValue::M(encode(&run.at)?))
            .expression_attribute_values(
                ":status",
                serde_dynamo::to_attribute_value(run.status).map_err(corrupt)?,
            )
            .expression_attribute_values(
                ":finished",
                serde_dynamo::to_attribute_value(run.finished_at).map_err(corrupt)?,
            )
            .expression_attribute_values(":next", AttributeValue::N((run.version + 1).to_string()))
            .expression_attribute_values(":read", AttributeValue::N(run.version.to_string()))
            .build()
            .map_err(StoreError::backend)?;
        let mut batch = self.batch();
        batch.push(TransactWriteItem::builder().update(update).build());
        if let Some((part, product_type, n, lines)) = chunk {
            batch.lines(&keys::reconciliation_chunk(&run.id, part, product_type, n), lines)?;
        }
        self.commit(batch).await
    }

    /// Every line of a run's chunks of `part` for `product_type`.
    pub async fn chunk_lines(
        &self,
        run: &str,
        part: &str,
        product_type: ProductType,
    ) -> Result<Vec<String>, StoreError> {
        let query = PageQuery {
            partition: keys::reconciliation(run).pk,
            sort_prefix: Some(keys::reconciliation_chunk_prefix(part, product_type)),
            limit: 100,
            consistent: true,
            ..PageQuery::default()
        };
        Ok(super::batch::lines_in(&self.query_all(query).await?))
    }

    /// One page of the services of a type, in id order, from the index (as the snapshot reads
    /// them): the services and the key to resume after.
    pub async fn services_of_type_page(
        &self,
        product_type: ProductType,
        after: Option<&str>,
        limit: u16,
    ) -> Result<(Vec<Service>, Option<String>), StoreError> {
        let partition = keys::services_of_type(product_type);
        let start = after
            .and_then(ServiceId::parse)
            .map(|id| keys::service_start(&id, keys::Index::ByType, &partition));
        let query = PageQuery {
            index: Some(keys::Index::ByType),
            partition,
            sort_prefix: Some(keys::service_sort_prefix()),
            start,
            limit,
            ..PageQuery::default()
        };
        let (items, last) = self.query_page(query).await?;
        let services = items.into_iter().map(decode).collect::<Result<Vec<Service>, _>>()?;
        let next = last.as_ref().and_then(keys::service_id_of).map(|id| id.to_string());
        Ok((services, next))
    }

    /// The services at `ids` (any number), strongly consistent: those found.
    pub async fn services_by_id(&self, ids: &[ServiceId]) -> Result<HashMap<ServiceId, Service>, StoreError> {
        let mut found = HashMap::new();
        for chunk in ids.chunks(100) {
            let wanted: Vec<keys::Key> = chunk.iter().map(keys::service).collect();
            for item in self.get_many(&wanted).await?.into_iter().flatten() {
                let service: Service = decode(item)?;
                found.insert(service.id.clone(), service);
            }
        }
        Ok(found)
    }

    /// Keeps a drift item, raises its run's count, and when it is about a service, marks the
    /// service (as `marked` holds it, its version one past the snapshot's) with its history
    /// entries: one transaction, which fails (`ConditionFailed`) when the item exists already or
    /// the service changed since the run's snapshot.
    pub async fn keep_drift(
        &self,
        item: &DriftItem,
        marked: Option<(&Service, &[&HistoryEntry])>,
    ) -> Result<(), StoreError> {
        let mut batch = self.batch();
        if let Some((service, entries)) = marked {
            batch.service(service)?;
            for entry in entries {
                batch.history(service, entry)?;
            }
        }
        let put = self.drift_item_put(item, "attribute_not_exists(pk)")?;
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::reconciliation(&item.run_id).item()))
            .update_expression("ADD #count :one")
            .expression_attribute_names("#count", count_attribute(item.kind))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .build()
            .map_err(StoreError::backend)?;
        batch.push(put);
        batch.push(TransactWriteItem::builder().update(count).build());
        self.commit(batch).await
    }

    pub async fn get_drift_item(&self, run: &str, id: &str) -> Result<Option<DriftItem>, StoreError> {
        self.get(keys::drift_item(run, id)).await
    }

    /// A run's items in id order, one page, only those of `kind` when named (a filter: a page
    /// may hold fewer than `limit`, and `next` says whether more follow).
    pub async fn drift_items(
        &self,
        run: &str,
        kind: Option<DriftKind>,
        limit: u16,
        after: Option<&str>,
    ) -> Result<(Vec<DriftItem>, Option<String>), StoreError> {
        let partition = keys::reconciliation(run).pk;
        let mut query = PageQuery {
            start: after.map(|id| keys::drift_item(run, id).item()),
            partition,
            sort_prefix: Some(keys::DRIFT_ITEM_PREFIX.into()),
            limit,
            consistent: true,
            ..PageQuery::default()
        };
        if let Some(kind) = kind {
            query = query.filter("kind", "=", s(kind.as_str()));
        }
        let (items, last) = self.query_page(query).await?;
        let items = items.into_iter().map(decode).collect::<Result<Vec<DriftItem>, _>>()?;
        let next = last.as_ref().and_then(keys::drift_item_id_of);
        Ok((items, next))
    }

    /// The item as resolved, over its unresolved self, with what the resolution writes beside
    /// it (`batch`): one transaction; `ConditionFailed` when it was resolved meanwhile.
    pub async fn resolve_drift(
        &self,
        item: &DriftItem,
        mut batch: super::batch::Batch,
    ) -> Result<(), StoreError> {
        batch.push(self.drift_item_put(item, "attribute_exists(pk) AND attribute_not_exists(resolution)")?);
        self.commit(batch).await
    }

    /// The write of a drift item as `item` holds it, if `condition` holds.
    fn drift_item_put(&self, item: &DriftItem, condition: &str) -> Result<TransactWriteItem, StoreError> {
        let mut stored = encode(item)?;
        stored.extend(keys::drift_item(&item.run_id, &item.id).item());
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(stored))
            .condition_expression(condition)
            .build()
            .map_err(StoreError::backend)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

fn corrupt(e: serde_dynamo::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn read_run(mut item: Item) -> Result<RunRead, StoreError> {
    let mut counts = BTreeMap::new();
    for kind in DriftKind::ALL {
        if let Some(AttributeValue::N(n)) = item.remove(&count_attribute(kind)) {
            counts.insert(kind, n.parse().map_err(|_| StoreError::Corrupt(format!("count {n}")))?);
        }
    }
    for name in keys::reconciliation_index_keys("").keys() {
        item.remove(name);
    }
    Ok(RunRead { run: decode(item)?, counts })
}

/// A snapshot's line: `{id} {version} {held} {settled}` (1 or 0).
pub fn snapshot_line(service: &Service, snapped: Snapped) -> String {
    format!("{} {} {} {}", service.id, snapped.version, u8::from(snapped.held), u8::from(snapped.settled))
}

/// The snapshot's lines read back (a line that does not parse is corrupt).
pub fn read_snapshot(lines: &[String]) -> Result<HashMap<ServiceId, Snapped>, StoreError> {
    let mut snapshot = HashMap::with_capacity(lines.len());
    for line in lines {
        let parts: Vec<&str> = line.split(' ').collect();
        let parsed = match parts.as_slice() {
            [id, version, held, settled] => ServiceId::parse(id)
                .zip(version.parse().ok())
                .map(|(id, version)| (id, Snapped { version, held: *held == "1", settled: *settled == "1" })),
            _ => None,
        };
        let (id, snapped) = parsed.ok_or_else(|| StoreError::Corrupt(format!("snapshot line {line:?}")))?;
        snapshot.insert(id, snapped);
    }
    Ok(snapshot)
}

/// The service ids a run's seen chunks hold.
pub fn read_seen(lines: Vec<String>) -> HashSet<String> {
    lines.into_iter().collect()
}
