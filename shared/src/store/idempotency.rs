//! Idempotency records: one conditional put claims a key; the answer is stored when done.

use super::keys::{self, FORMER_TTL_ATTRIBUTE, TTL_ATTRIBUTE};
use super::{encode, s, Store, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

/// Marks a claim whose attempt failed once the control panel acted, or may have: the key is
/// kept for that request's retries (see `Store::lapse_idempotency_key`).
const PANEL_ACTED: &str = "panel_acted";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordState {
    InProgress,
    /// The request's writes are committed (in their own transaction); its answer is not stored
    /// yet. Never taken over: a replay must not do the work again.
    Committed,
    Completed,
}

/// The idempotency key the request this task serves has claimed, if any: its transaction marks
/// the key `committed` with its writes (see `Store::commit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedKey {
    pub principal: String,
    pub key: String,
    /// The claim's id for the control panel (see `IdempotencyRecord::panel_request_id`).
    pub panel_request_id: String,
    /// This attempt's claim (see `IdempotencyRecord::claim_id`): every write to the record is
    /// conditional on it, so that a write of an earlier attempt arriving late (its caller gave
    /// up on it and the key was claimed again) changes nothing.
    pub claim_id: String,
}

tokio::task_local! {
    pub static CLAIMED: ClaimedKey;
}

impl ClaimedKey {
    /// The claimed key, if this task serves a request that claimed one.
    pub fn current() -> Option<Self> {
        CLAIMED.try_with(Clone::clone).ok()
    }

    /// The transaction item that marks the key committed; it fails the transaction if the key
    /// is not this attempt's claim any more.
    pub fn commit_item(&self, table: &str) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
        let update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(table)
            .set_key(Some(keys::idempotency(&self.principal, &self.key).item()))
            .update_expression("SET #state = :committed")
            .condition_expression("claim_id = :mine AND #state <> :completed")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":committed", s("committed"))
            .expression_attribute_values(":completed", s("completed"))
            .expression_attribute_values(":mine", s(self.claim_id.clone()))
            .build()
            .map_err(StoreError::backend)?;
        Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder().update(update).build())
    }
}

/// The answer a completed request gave, replayed for the same key and body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
    pub etag: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub state: RecordState,
    /// Hash of method, path and body: a different request under the same key is refused.
    pub request_hash: String,
    /// Epoch seconds after which an unfinished claim (a crashed request) may be taken over.
    pub locked_until: i64,
    /// Epoch seconds after which the record is void (and DynamoDB's TTL removes it).
    #[serde(rename = "ttl_at", alias = "expires_at")]
    pub expires_at: i64,
    pub response: Option<StoredResponse>,
    /// The `request_id` a change on the control panel is asked under: made with the claim,
    /// kept when a crashed attempt's claim is taken over (so its retry asks the panel the same,
    /// which does it once), new once the key was released or the record expired (so a new
    /// attempt never gets an answer the panel gave an earlier one).
    #[serde(default)]
    pub panel_request_id: String,
    /// New with each attempt's claim (or takeover): a claim whose answer was lost, and which
    /// the SDK's retry then found taken, is recognised as the attempt's own.
    #[serde(default)]
    pub claim_id: String,
}

/// What claiming a key came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This attempt holds the key (under the claim id it asked with), under this panel
    /// request id.
    Claimed { panel_request_id: String },
    /// Another request, or an earlier one, holds it: its record.
    Held(IdempotencyRecord),
}

impl Store {
    /// Claims `key` for a request: a new claim where there is no record or only an expired
    /// one (the TTL may leave expired records readable for a while), else a takeover of an
    /// abandoned claim of the same request, which keeps its panel request id. Answers the
    /// record that holds the key otherwise.
    pub async fn claim_idempotency_key(
        &self,
        principal: &str,
        key: &str,
        record: &IdempotencyRecord,
        now_seconds: i64,
    ) -> Result<Claim, StoreError> {
        let at = keys::idempotency(principal, key);
        let mut item = encode(record)?;
        item.extend(at.item());
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(pk) OR #exp < :now OR (attribute_not_exists(#exp) AND #former < :now)",
            )
            .expression_attribute_names("#exp", TTL_ATTRIBUTE)
            .expression_attribute_names("#former", FORMER_TTL_ATTRIBUTE)
            .expression_attribute_values(":now", AttributeValue::N(now_seconds.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => return Ok(Claim::Claimed { panel_request_id: record.panel_request_id.clone() }),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
            Err(e) => return Err(e.into()),
        }
        if let Some(panel_request_id) =
            self.take_over_idempotency_key(principal, key, record, now_seconds).await?
        {
            return Ok(Claim::Claimed { panel_request_id });
        }
        // Whoever holds the key; if it vanished meanwhile, its holder just gave it up.
        let holder: Option<IdempotencyRecord> = self.get(at).await?;
        if let Some(own) =
            holder.as_ref().filter(|h| h.claim_id == record.claim_id && h.state == RecordState::InProgress)
        {
            return Ok(Claim::Claimed { panel_request_id: own.panel_request_id.clone() });
        }
        Ok(Claim::Held(
            holder.unwrap_or(IdempotencyRecord { state: RecordState::InProgress, ..record.clone() }),
        ))
    }

    /// Takes over the claim of the same request that lapsed (its attempt crashed): the panel
    /// request id it had, or `None` when the key is not such a claim.
    async fn take_over_idempotency_key(
        &self,
        principal: &str,
        key: &str,
        record: &IdempotencyRecord,
        now_seconds: i64,
    ) -> Result<Option<String>, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::idempotency(principal, key).item()))
            .update_expression(
                "SET locked_until = :locked, #exp = :expires, claim_id = :claim, \
                 panel_request_id = if_not_exists(panel_request_id, :panel) REMOVE #former",
            )
            .condition_expression("#state = :in_progress AND locked_until < :now AND request_hash = :hash")
            .expression_attribute_names("#exp", TTL_ATTRIBUTE)
            .expression_attribute_names("#former", FORMER_TTL_ATTRIBUTE)
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":locked", AttributeValue::N(record.locked_until.to_string()))
            .expression_attribute_values(":expires", AttributeValue::N(record.expires_at.to_string()))
            .expression_attribute_values(":panel", s(record.panel_request_id.clone()))
            .expression_attribute_values(":claim", s(record.claim_id.clone()))
            .expression_attribute_values(":now", AttributeValue::N(now_seconds.to_string()))
            .expression_attribute_values(":in_progress", s("in_progress"))
            .expression_attribute_values(":hash", s(record.request_hash.clone()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => {
                let taken: IdempotencyRecord = super::decode(output.attributes.unwrap_or_default())?;
                Ok(Some(taken.panel_request_id))
            }
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Stores the answer of the attempt that claimed `key` (while the claim is still its own).
    pub async fn complete_idempotency_key(
        &self,
        claimed: &ClaimedKey,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::idempotency(&claimed.principal, &claimed.key).item()))
            .update_expression("SET #state = :completed, #response = :response")
            .condition_expression("claim_id = :mine")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#response", "response")
            .expression_attribute_values(":completed", s("completed"))
            .expression_attribute_values(":response", AttributeValue::M(encode(response)?))
            .expression_attribute_values(":mine", s(claimed.claim_id.clone()))
            .send()
            .await;
        match result {
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Err(StoreError::ConditionFailed)
            }
            other => other.map(|_| ()).map_err(Into::into),
        }
    }

    /// Keeps `key` for the same request, to be taken over at once: its lock lapses now, and the
    /// claim keeps its request and its panel request id (see `take_over_idempotency_key`),
    /// marked `panel_acted` for every later attempt. For an attempt that failed once the panel
    /// acted: only a retry of that very request, asking the panel under the same id, is
    /// answered what the panel did, and records it.
    pub async fn lapse_idempotency_key(&self, claimed: &ClaimedKey) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::idempotency(&claimed.principal, &claimed.key).item()))
            .update_expression("SET locked_until = :lapsed, #acted = :acted")
            .condition_expression("#state = :in_progress AND claim_id = :mine")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#acted", PANEL_ACTED)
            .expression_attribute_values(":lapsed", AttributeValue::N("0".into()))
            .expression_attribute_values(":acted", AttributeValue::Bool(true))
            .expression_attribute_values(":in_progress", s("in_progress"))
            .expression_attribute_values(":mine", s(claimed.claim_id.clone()))
            .send()
            .await;
        match result {
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Ok(())
            }
            other => other.map(|_| ()).map_err(Into::into),
        }
    }

    /// Gives `key` up, so that the same request may be tried again; not once its writes are
    /// committed, nor once another attempt holds it, nor while an earlier attempt's panel
    /// change may stand (`panel_acted`): the key is then kept for the retry, lapsed.
    pub async fn release_idempotency_key(&self, claimed: &ClaimedKey) -> Result<(), StoreError> {
        if self.delete_claim(claimed, true).await? {
            return Ok(());
        }
        self.lapse_idempotency_key(claimed).await
    }

    /// Gives `key` up whatever an earlier attempt did on the panel: this attempt undid it.
    pub async fn forget_idempotency_key(&self, claimed: &ClaimedKey) -> Result<(), StoreError> {
        self.delete_claim(claimed, false).await.map(|_| ())
    }

    /// Deletes this attempt's claim, unless its writes are committed (or, `unless_acted`, a
    /// panel change may stand); answers whether it did.
    async fn delete_claim(&self, claimed: &ClaimedKey, unless_acted: bool) -> Result<bool, StoreError> {
        let mut condition = String::from("#state = :in_progress AND claim_id = :mine");
        let mut delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(keys::idempotency(&claimed.principal, &claimed.key).item()))
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":in_progress", s("in_progress"))
            .expression_attribute_values(":mine", s(claimed.claim_id.clone()));
        if unless_acted {
            condition.push_str(" AND attribute_not_exists(#acted)");
            delete = delete.expression_attribute_names("#acted", PANEL_ACTED);
        }
        match delete.condition_expression(condition).send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }
}
