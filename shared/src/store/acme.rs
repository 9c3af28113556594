//! The ACME accounts product types hold at certificate authorities (`crate::acme`).

use super::{encode, keys, Store, StoreError};
use crate::domain::ProductType;
use serde::{Deserialize, Serialize};

/// An ACME account as kept: its credentials as the client library serialises them (the
/// account's key and URL, and the directory).
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredAcmeAccount {
    pub credentials: String,
}

/// Never the key, in a log or a panic.
impl std::fmt::Debug for StoredAcmeAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoredAcmeAccount { credentials: <kept secret> }")
    }
}

impl Store {
    pub async fn acme_account(
        &self,
        t: ProductType,
        account: &str,
    ) -> Result<Option<StoredAcmeAccount>, StoreError> {
        self.get(keys::acme_account(t, account)).await
    }

    /// Keeps a new account; `ConditionFailed` when one is kept already (the one to use).
    pub async fn insert_acme_account(
        &self,
        t: ProductType,
        account: &str,
        stored: &StoredAcmeAccount,
    ) -> Result<(), StoreError> {
        let mut item = encode(stored)?;
        item.extend(keys::acme_account(t, account).item());
        self.put_if(item, "attribute_not_exists(pk)", &[], vec![]).await
    }
}
