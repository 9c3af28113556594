//! A payment: money on its way from the gateway (`pending`) or received (`received`).

use super::{ClientId, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Pending,
    Received,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: String,
    pub client_id: ClientId,
    pub amount: u64,
    pub status: PaymentStatus,
    /// The gateway's or bank's reference, for payments the provider records.
    pub external_id: Option<String>,
    pub created_at: Timestamp,
    pub version: u64,
}

/// The largest single payment accepted, in minor units (10 million units of currency).
pub const MAX_PAYMENT: u64 = 1_000_000_000;
