//! Amounts: the bound on every amount read from a request, checked arithmetic's refusal, and
//! the started days a charge counts.

use super::refusal::Refusal;
use super::Timestamp;

const DAY: i64 = 86_400;

/// The most minor units one amount read from a request may carry (a price, a payment).
pub const MAX_AMOUNT: u64 = 1_000_000_000_000;

/// An amount read from a request (a price): 0 to `MAX_AMOUNT` minor units. A larger one is
/// refused as it is read (400), so no computation ever starts from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Amount(pub u64);

impl<'de> serde::Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        bounded_amount(deserializer).map(Self)
    }
}

/// As `Amount`, for a plain `u64` field (`#[serde(deserialize_with = ...)]`).
pub fn bounded_amount<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let amount = <u64 as serde::Deserialize>::deserialize(deserializer)?;
    if amount > MAX_AMOUNT {
        return Err(serde::de::Error::custom(format!("an amount of at most {MAX_AMOUNT} minor units")));
    }
    Ok(amount)
}

/// An amount that would not fit: refused as against the rules (422), never wrapped.
pub fn too_large() -> Refusal {
    Refusal::Invalid("the amount is larger than this service can be charged".into())
}

/// `value`, or the refusal of an overflow.
pub fn checked<T>(value: Option<T>) -> Result<T, Refusal> {
    value.ok_or_else(too_large)
}

/// Whole days from `from` to `to`, a started day counting whole (never below zero).
pub fn days_started(from: Timestamp, to: Timestamp) -> i64 {
    let seconds = i128::from(from.seconds_until(to));
    ((seconds + i128::from(DAY) - 1) / i128::from(DAY)).max(0) as i64
}
