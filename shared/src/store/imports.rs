//! Imports, their staged records and preview lines, and what each imported record became
//! (`crate::import`).

use super::keys::{self, Item};
use super::{decode, encode, s, PageQuery, Store, StoreError};
use crate::domain::account::{Account, LedgerEntry};
use crate::domain::import::{Import, ImportFile, Line, Link};
use crate::domain::whmcs;
use crate::domain::{HistoryEntry, Service};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use std::collections::HashMap;

/// Records written per transaction of an upload.
const RECORDS_PER_WRITE: usize = 90;

/// A staged record: a client's answer, or a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Staged {
    Client(whmcs::Client),
    Product(Box<whmcs::Product>),
}

impl Staged {
    /// What it weighs as JSON.
    pub fn weight(&self) -> usize {
        let bytes = match self {
            Staged::Client(c) => serde_json::to_vec(c),
            Staged::Product(p) => serde_json::to_vec(p),
        };
        bytes.map_or(usize::MAX, |b| b.len())
    }

    pub fn whmcs_id(&self) -> u64 {
        match self {
            Staged::Client(c) => c.id,
            Staged::Product(p) => p.id,
        }
    }
}

impl Store {
    /// A new import (its id unused).
    pub async fn put_import(&self, import: &Import) -> Result<(), StoreError> {
        let mut item = encode(import)?;
        item.extend(keys::import(&import.id).item());
        item.extend(keys::import_index_keys(&import.id));
        self.put_if(item, "attribute_not_exists(pk)", &[], Vec::new()).await
    }

    pub async fn get_import(&self, id: &str) -> Result<Option<Import>, StoreError> {
        self.get(keys::import(id)).await
    }

    /// Imports newest first, one page (after the import id `after`).
    pub async fn list_imports(
        &self,
        limit: u16,
        after: Option<&str>,
    ) -> Result<(Vec<Import>, Option<String>), StoreError> {
        let query = PageQuery {
            index: Some(keys::Index::All),
            partition: keys::all_imports(),
            start: after.map(keys::import_start),
            newest_first: true,
            limit,
            ..PageQuery::default()
        };
        let (items, last) = self.query_page(query).await?;
        let imports = items.into_iter().map(read_import).collect::<Result<Vec<_>, _>>()?;
        let next = last.and_then(|_| imports.last().map(|i| i.id.clone()));
        Ok((imports, next))
    }

    /// The import as `import` holds it (its `version` the one read), with a chunk of preview
    /// lines when given: one transaction, `ConditionFailed` (nothing written) when another
    /// invocation changed the import meanwhile.
    pub async fn advance_import(
        &self,
        import: &Import,
        lines: Option<(u32, Vec<String>)>,
    ) -> Result<(), StoreError> {
        let next = Import { version: import.version + 1, ..import.clone() };
        let mut item = encode(&next)?;
        item.extend(keys::import(&import.id).item());
        item.extend(keys::import_index_keys(&import.id));
        let mut batch = self.batch();
        batch.put_versioned(item, next.version)?;
        if let Some((n, lines)) = lines {
            batch.lines(&keys::import_lines(&import.id, import.files_version, n), lines)?;
        }
        self.commit(batch).await
    }

    /// Raises the import's files' version, if it is still staged: `ConditionFailed` when it is
    /// being applied (or done). A preview under way is then of an older version.
    pub async fn touch_import_files(&self, id: &str) -> Result<(), StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::import(id).item()))
            .update_expression("SET files_version = files_version + :one, version = version + :one")
            .condition_expression("#status = :staged")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":staged", s("staged"))
            .build()
            .map_err(StoreError::backend)?;
        let mut batch = self.batch();
        batch.push(TransactWriteItem::builder().update(update).build());
        self.commit(batch).await
    }

    /// Stages `records` of an import (a record staged before under the same WHMCS id is
    /// replaced), in transactions of `RECORDS_PER_WRITE`, each only while the import is staged
    /// (`ConditionFailed` once it is being applied: nothing more reaches it).
    pub async fn stage_records(&self, import: &str, records: &[Staged]) -> Result<(), StoreError> {
        for chunk in records.chunks(RECORDS_PER_WRITE) {
            let mut batch = self.batch();
            let staged = aws_sdk_dynamodb::types::ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(keys::import(import).item()))
                .condition_expression("#status = :staged")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":staged", s("staged"))
                .build()
                .map_err(StoreError::backend)?;
            batch.push(TransactWriteItem::builder().condition_check(staged).build());
            for record in chunk {
                let (key, mut item) = match record {
                    Staged::Client(c) => {
                        let part = if c.details { 'D' } else { 'L' };
                        (keys::import_record(import, 'C', c.id, Some(part)), encode(c)?)
                    }
                    Staged::Product(p) => (keys::import_record(import, 'S', p.id, None), encode(p.as_ref())?),
                };
                item.extend(key.item());
                batch.put(item)?;
            }
            self.commit(batch).await?;
        }
        Ok(())
    }

    pub async fn put_import_file(&self, import: &str, file: &ImportFile) -> Result<(), StoreError> {
        let mut item = encode(file)?;
        item.extend(keys::import_file(import, &file.name).item());
        self.put_latest(item).await
    }

    /// The client's notification address set to `email` where it has none (an imported
    /// client's address in WHMCS, which the provider vouches for): `ConditionFailed` when it
    /// has one, which stays.
    pub async fn set_address_if_none(
        &self,
        client: &crate::domain::ClientId,
        email: &str,
    ) -> Result<(), StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::notification_settings(client.as_str()).item()))
            .update_expression("SET email = :email, muted = if_not_exists(muted, :none)")
            .condition_expression("attribute_not_exists(email) OR attribute_type(email, :null)")
            .expression_attribute_values(":email", s(email))
            .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":null", s("NULL"))
            .build()
            .map_err(StoreError::backend)?;
        let mut batch = self.batch();
        batch.push(TransactWriteItem::builder().update(update).build());
        self.commit(batch).await
    }

    /// An import's files, by name.
    pub async fn import_files(&self, import: &str) -> Result<Vec<ImportFile>, StoreError> {
        let query = PageQuery {
            partition: keys::import(import).pk,
            sort_prefix: Some(keys::IMPORT_FILE_PREFIX.into()),
            limit: 100,
            consistent: true,
            ..PageQuery::default()
        };
        self.query_all(query).await?.into_iter().map(decode).collect()
    }

    /// One page of an import's staged clients (`kind` `C`) or products (`S`) whose WHMCS ids
    /// are above `after`, in id order: the items, and whether more follow.
    pub async fn staged_page(
        &self,
        import: &str,
        kind: char,
        after: Option<u64>,
        limit: u16,
    ) -> Result<(Vec<Staged>, bool), StoreError> {
        let prefix = keys::import_records_prefix(kind);
        let from = keys::import_record(import, kind, after.map_or(0, |a| a.saturating_add(1)), None).sk;
        let query = PageQuery {
            partition: keys::import(import).pk,
            sort_between: Some((from, format!("{prefix}~"))),
            limit,
            consistent: true,
            ..PageQuery::default()
        };
        let (items, last) = self.query_page(query).await?;
        let staged = items.into_iter().map(|item| read_staged(kind, item)).collect::<Result<Vec<_>, _>>()?;
        Ok((staged, last.is_some()))
    }

    /// The staged products of `ids`, those found.
    pub async fn staged_products(
        &self,
        import: &str,
        ids: &[u64],
    ) -> Result<HashMap<u64, whmcs::Product>, StoreError> {
        let mut found = HashMap::new();
        for chunk in ids.chunks(100) {
            let wanted: Vec<keys::Key> =
                chunk.iter().map(|id| keys::import_record(import, 'S', *id, None)).collect();
            for item in self.get_many(&wanted).await?.into_iter().flatten() {
                let product: whmcs::Product = decode(item)?;
                found.insert(product.id, product);
            }
        }
        Ok(found)
    }

    /// What earlier imports made of the records of a kind (`C` or `S`) at `ids`.
    pub async fn import_links(&self, kind: char, ids: &[u64]) -> Result<HashMap<u64, Link>, StoreError> {
        let mut found = HashMap::new();
        // A BatchGetItem refuses the same key twice.
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        for chunk in ids.chunks(100) {
            let wanted: Vec<keys::Key> = chunk.iter().map(|id| keys::import_link(kind, *id)).collect();
            for (id, item) in chunk.iter().zip(self.get_many(&wanted).await?) {
                if let Some(item) = item {
                    found.insert(*id, decode(item)?);
                }
            }
        }
        Ok(found)
    }

    /// Every line of the preview chunks `from..to` of the import's files' `version` (all of
    /// them when `to` is `None`), in order.
    pub async fn preview_lines(
        &self,
        import: &str,
        version: u32,
        chunks: std::ops::Range<u32>,
    ) -> Result<Vec<Line>, StoreError> {
        if chunks.is_empty() {
            return Ok(Vec::new());
        }
        let query = PageQuery {
            partition: keys::import(import).pk,
            sort_between: Some((
                keys::import_lines(import, version, chunks.start).sk,
                keys::import_lines(import, version, chunks.end - 1).sk,
            )),
            limit: 50,
            consistent: true,
            ..PageQuery::default()
        };
        let chunks = self.query_all(query).await?;
        let parse = |line: &String| {
            serde_json::from_str(line).map_err(|e| StoreError::Corrupt(format!("preview line: {e}")))
        };
        super::batch::lines_in(&chunks).iter().map(parse).collect()
    }

    /// A client brought in: its account as `account` holds it (credited with its imported
    /// balance, when any), and its link, new: one transaction, `ConditionFailed` when the
    /// client was imported meanwhile or the account changed since it was read.
    pub async fn import_client(
        &self,
        whmcs_id: u64,
        account: &Account,
        entries: &[LedgerEntry],
        link: &Link,
    ) -> Result<(), StoreError> {
        let mut batch = self.batch();
        if !entries.is_empty() {
            batch.account(account, entries)?;
        }
        batch.push(self.link_put(
            keys::import_link('C', whmcs_id),
            link,
            "attribute_not_exists(pk)",
            None,
        )?);
        self.commit(batch).await
    }

    /// A service brought in (new, or an update of what an earlier import made) with its
    /// history entry and its link: one transaction, `ConditionFailed` when the service changed
    /// since it was read, or when this import wrote the record already (`link.import_id`).
    pub async fn import_service(
        &self,
        whmcs_id: u64,
        service: &Service,
        entry: &HistoryEntry,
        link: &Link,
    ) -> Result<(), StoreError> {
        let mut batch = self.batch();
        batch.service(service)?;
        batch.history(service, entry)?;
        let key = keys::import_link('S', whmcs_id);
        let put = if service.version == 1 {
            self.link_put(key, link, "attribute_not_exists(pk)", None)?
        } else {
            self.link_put(key, link, "import_id <> :this", Some(&link.import_id))?
        };
        batch.push(put);
        self.commit(batch).await
    }

    fn link_put(
        &self,
        key: keys::Key,
        link: &Link,
        condition: &str,
        this: Option<&str>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = encode(link)?;
        item.extend(key.item());
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(this.map(|t| HashMap::from([(":this".to_owned(), s(t))])))
            .build()
            .map_err(StoreError::backend)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

fn read_import(mut item: Item) -> Result<Import, StoreError> {
    for name in keys::import_index_keys("").keys() {
        item.remove(name);
    }
    decode(item)
}

fn read_staged(kind: char, item: Item) -> Result<Staged, StoreError> {
    Ok(match kind {
        'C' => Staged::Client(decode(item)?),
        _ => Staged::Product(Box::new(decode(item)?)),
    })
}
