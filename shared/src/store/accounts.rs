//! Accounts, their ledgers, and payments.

use super::keys;
use super::{decode, Page, PageQuery, PageRequest, Store, StoreError};
use crate::domain::account::{Account, LedgerEntry};
use crate::domain::catalog::RulesByType;
use crate::domain::payment::Payment;
use crate::domain::{ClientId, ProductType};

impl Store {
    pub async fn get_account(&self, client: &ClientId) -> Result<Option<Account>, StoreError> {
        self.get(keys::account(client.as_str())).await
    }

    /// A client's account (`None` if never written) and the first page of its ledger, newest
    /// first, in one Query.
    pub async fn account_with_ledger(
        &self,
        client: &ClientId,
        limit: u16,
    ) -> Result<(Option<Account>, Page<LedgerEntry, String>), StoreError> {
        let (_, prefix) = keys::ledger_partition(client.as_str());
        let (account, entries, last) =
            self.head_with_entries(&keys::account(client.as_str()), &prefix, limit).await?;
        Ok((
            account.map(decode).transpose()?,
            Page {
                items: entries.into_iter().map(decode).collect::<Result<_, _>>()?,
                next: last.as_ref().and_then(keys::ledger_id_of),
            },
        ))
    }

    /// A client's ledger, newest first, one page.
    pub async fn list_ledger(
        &self,
        client: &ClientId,
        page: PageRequest<String>,
    ) -> Result<Page<LedgerEntry, String>, StoreError> {
        let (partition, prefix) = keys::ledger_partition(client.as_str());
        let query = PageQuery {
            partition,
            sort_prefix: Some(prefix),
            newest_first: true,
            limit: page.limit,
            start: page.after.as_ref().map(|id| keys::ledger(client.as_str(), id).item()),
            ..PageQuery::default()
        };
        let (items, last) = self.query_page(query).await?;
        Ok(Page {
            items: items.into_iter().map(decode).collect::<Result<_, _>>()?,
            next: last.as_ref().and_then(keys::ledger_id_of),
        })
    }

    /// A client's account (`None` if never written) and every product type's rules as they are
    /// now, in one strongly consistent BatchGetItem.
    pub async fn account_with_rules(
        &self,
        client: &ClientId,
    ) -> Result<(Option<Account>, RulesByType), StoreError> {
        let (found, rules) =
            self.get_many_with_rules(&[keys::account(client.as_str())], &ProductType::ALL).await?;
        Ok((found.into_iter().next().flatten().map(decode).transpose()?, rules))
    }

    pub async fn get_payment(&self, id: &str) -> Result<Option<Payment>, StoreError> {
        self.get(keys::payment(id)).await
    }
}
