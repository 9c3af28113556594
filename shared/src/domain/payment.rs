//! A payment: money on its way from the gateway (`pending`) or received (`received`).

use super::pricing::MAX_AMOUNT;
use super::{ClientId, RuleViolation, Timestamp};
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
    /// The amount asked for: what the client started the payment with, or what the provider
    /// recorded.
    pub amount: u64,
    pub status: PaymentStatus,
    /// What was received and credited: what the gateway settled, which may differ from
    /// `amount`; null while pending.
    #[serde(default)]
    pub settled_amount: Option<u64>,
    /// The gateway's or bank's reference, for payments the provider records.
    pub external_id: Option<String>,
    pub created_at: Timestamp,
    pub version: u64,
    /// Set when the provider took the payment back.
    #[serde(default)]
    pub reversal: Option<Reversal>,
}

/// The provider's reversal of a received payment (a mistaken or returned transfer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reversal {
    pub at: Timestamp,
    pub reason: String,
    pub by: String,
}

/// A payment that cannot be reversed: pending, or reversed already (409).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotReversible(pub &'static str);

/// The largest single payment accepted, in minor units (10 million units of currency).
pub const MAX_PAYMENT: u64 = 1_000_000_000;

/// The amount a gateway settled, as its confirmation carries it: 1 to `MAX_AMOUNT` minor units.
/// It is not bounded by `MAX_PAYMENT`: the money has been taken, and is credited.
pub fn settled_amount(raw: u64) -> Result<u64, RuleViolation> {
    if raw == 0 || raw > MAX_AMOUNT {
        return Err(RuleViolation::new(format!("amount must be 1 to {MAX_AMOUNT} minor units")));
    }
    Ok(raw)
}

/// A payment that is not pending any more (409).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the payment is received already")]
pub struct ReceivedAlready;

impl Payment {
    /// The pending payment received with what the gateway settled (see `settled_amount`).
    pub fn settle(&self, settled: u64) -> Result<Payment, ReceivedAlready> {
        if self.status != PaymentStatus::Pending {
            return Err(ReceivedAlready);
        }
        Ok(Payment {
            status: PaymentStatus::Received,
            settled_amount: Some(settled),
            version: self.version + 1,
            ..self.clone()
        })
    }

    /// The received payment taken back, for `reason`, by `by`.
    pub fn reverse(&self, reason: &str, by: &str, at: Timestamp) -> Result<Payment, NotReversible> {
        if self.status != PaymentStatus::Received {
            return Err(NotReversible("only a received payment can be reversed"));
        }
        if self.reversal.is_some() {
            return Err(NotReversible("the payment is reversed already"));
        }
        let reversal = Reversal { at, reason: reason.to_owned(), by: by.to_owned() };
        Ok(Payment { reversal: Some(reversal), version: self.version + 1, ..self.clone() })
    }

    /// What the payment credits: what was received (nothing while pending).
    pub fn credited(&self) -> u64 {
        self.settled_amount.unwrap_or(0)
    }

    /// The amount asked for, when what was received differs from it.
    pub fn asked_instead(&self) -> Option<u64> {
        self.settled_amount.filter(|settled| *settled != self.amount).map(|_| self.amount)
    }
}

/// The longest gateway reference accepted, in characters.
pub const MAX_REFERENCE_LEN: usize = 128;

/// A gateway reference as given, if it is one: 1 to `MAX_REFERENCE_LEN` printable ASCII
/// characters, not all spaces. Anything else (a byte-order mark, a zero-width or non-breaking
/// space, full-width letters, as copies from exports and statements carry) is refused, so no
/// two spellings of one reference slip past `reference_identity`.
pub fn reference(raw: &str) -> Result<&str, RuleViolation> {
    let printable = raw.bytes().all(|b| (0x20..=0x7e).contains(&b));
    if !printable || raw.trim().is_empty() || raw.len() > MAX_REFERENCE_LEN {
        return Err(RuleViolation::new(format!(
            "external_id must be 1 to {MAX_REFERENCE_LEN} printable ASCII characters"
        )));
    }
    Ok(raw)
}

/// What makes two gateway references the same payment: compared trimmed, with runs of spaces
/// as one, and case-folded (`bank-7206`, `"bank-7206 "` and `BANK-7206` are one payment),
/// while the payment keeps it as it was given.
pub fn reference_identity(external_id: &str) -> String {
    external_id.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_is_the_same_whatever_its_case_or_surrounding_spaces() {
        let same = ["bank-7206", "bank-7206 ", " BANK-7206", "Bank-7206\t"];
        assert!(same.iter().all(|r| reference_identity(r) == "bank-7206"));
        assert_eq!(reference_identity("bank  7300"), reference_identity("BANK 7300"));
        assert_ne!(reference_identity("bank-7206"), reference_identity("bank-72O6"));
        for unseen in [
            "\u{FEFF}bank-7206",
            "bank-7206\u{200B}",
            "bank-72\u{AD}06",
            "\u{FF22}ank",
            "bank\u{A0}7300",
            "",
            "  ",
        ] {
            assert!(reference(unseen).is_err(), "{unseen:?}");
        }
        assert_eq!(reference(" bank-7206 "), Ok(" bank-7206 "));
    }

    fn pending(amount: u64) -> Payment {
        Payment {
            id: "01JDQ8Z6V5Q0M3W2Y5H7K9T1PY".into(),
            client_id: ClientId::parse("alice").unwrap(),
            amount,
            status: PaymentStatus::Pending,
            settled_amount: None,
            external_id: None,
            created_at: Timestamp::parse("2026-11-25T12:00:00Z").unwrap(),
            version: 1,
            reversal: None,
        }
    }

    #[test]
    fn a_payment_credits_what_was_settled_and_keeps_what_was_asked() {
        assert_eq!((pending(500).credited(), pending(500).asked_instead()), (0, None));
        let short = pending(500).settle(450).unwrap();
        assert_eq!((short.status, short.version), (PaymentStatus::Received, 2));
        assert_eq!((short.amount, short.settled_amount), (500, Some(450)));
        assert_eq!((short.credited(), short.asked_instead()), (450, Some(500)));
        let exact = pending(500).settle(500).unwrap();
        assert_eq!((exact.credited(), exact.asked_instead()), (500, None));
        assert_eq!(short.settle(450), Err(ReceivedAlready), "settled once");
    }

    #[test]
    fn a_settled_amount_is_1_to_10_to_the_12() {
        assert!(settled_amount(0).is_err());
        assert_eq!(settled_amount(1), Ok(1));
        assert_eq!(settled_amount(MAX_PAYMENT + 1), Ok(MAX_PAYMENT + 1));
        assert_eq!(settled_amount(1_000_000_000_000), Ok(1_000_000_000_000));
        assert!(settled_amount(1_000_000_000_001).is_err());
        assert!(settled_amount(u64::MAX).is_err());
    }
}
