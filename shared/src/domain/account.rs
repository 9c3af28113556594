//! A client's money: a balance in minor units and the ledger that explains it. The balance is
//! always the sum of the ledger and never below zero.

use super::payment::Payment;
use super::{ClientId, ServiceId, Timestamp};
use serde::{Deserialize, Serialize};

/// Why money moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    Payment,
    OrderCharge,
    Renewal,
    TariffChange,
    Options,
    Refund,
    /// A received payment taken back by the provider (`payment_id` names it).
    Reversal,
    /// A client's balance brought in from another billing system (`domain::import`), once.
    ImportedBalance,
}

/// One movement of money: positive when it reaches the balance, negative when it is charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub id: String,
    pub at: Timestamp,
    pub kind: LedgerKind,
    pub amount: i64,
    pub service_id: Option<ServiceId>,
    pub balance_after: u64,
    /// The payment a `payment` entry credits, or a `reversal` entry takes back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// The amount that payment asked for, when what was received (`amount`) differs from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked_amount: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub client_id: ClientId,
    pub balance: u64,
    /// Rises with every write; 0 for an account not stored yet.
    pub version: u64,
}

/// A charge the balance cannot cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the balance of {balance} does not cover {needed}")]
pub struct InsufficientFunds {
    pub needed: u64,
    pub balance: u64,
}

impl Account {
    pub fn open(client_id: ClientId) -> Self {
        Self { client_id, balance: 0, version: 0 }
    }

    /// Adds money to the balance and answers its ledger entry.
    pub fn credit(
        &mut self,
        kind: LedgerKind,
        amount: u64,
        service: Option<&ServiceId>,
        at: Timestamp,
    ) -> LedgerEntry {
        self.balance += amount;
        self.entry(kind, amount as i64, service, at)
    }

    /// Credits what a received payment brought: its entry names the payment, and the amount it
    /// asked for when what was received differs from it.
    pub fn credit_payment(&mut self, payment: &Payment, at: Timestamp) -> LedgerEntry {
        LedgerEntry {
            payment_id: Some(payment.id.clone()),
            asked_amount: payment.asked_instead(),
            ..self.credit(LedgerKind::Payment, payment.credited(), None, at)
        }
    }

    /// Takes back what a received payment credited (its `reversal` entry), or refuses without
    /// touching the balance when it would go below zero.
    pub fn reverse_payment(
        &mut self,
        payment: &Payment,
        at: Timestamp,
    ) -> Result<LedgerEntry, InsufficientFunds> {
        let entry = self.charge(LedgerKind::Reversal, payment.credited(), None, at)?;
        Ok(LedgerEntry { payment_id: Some(payment.id.clone()), ..entry })
    }

    /// Takes money from the balance, or refuses without touching it.
    pub fn charge(
        &mut self,
        kind: LedgerKind,
        amount: u64,
        service: Option<&ServiceId>,
        at: Timestamp,
    ) -> Result<LedgerEntry, InsufficientFunds> {
        if amount > self.balance {
            return Err(InsufficientFunds { needed: amount, balance: self.balance });
        }
        self.balance -= amount;
        Ok(self.entry(kind, -(amount as i64), service, at))
    }

    fn entry(
        &self,
        kind: LedgerKind,
        amount: i64,
        service: Option<&ServiceId>,
        at: Timestamp,
    ) -> LedgerEntry {
        LedgerEntry {
            id: super::ids::next_id(),
            at,
            kind,
            amount,
            service_id: service.cloned(),
            balance_after: self.balance,
            payment_id: None,
            asked_amount: None,
        }
    }
}

/// What a client paid for `service`, less what it got back, by the ledger's entries about it
/// (payments and reversals name no service; none when it got back more than it paid), and when
/// it was first charged.
pub fn paid_for(service: &ServiceId, entries: &[LedgerEntry]) -> (u64, Option<Timestamp>) {
    let about: Vec<&LedgerEntry> =
        entries.iter().filter(|e| e.service_id.as_ref() == Some(service)).collect();
    let net: i128 = about.iter().map(|e| -i128::from(e.amount)).sum();
    let first_charge = about.iter().filter(|e| e.amount < 0).map(|e| e.at).min();
    (u64::try_from(net.max(0)).unwrap_or(u64::MAX), first_charge)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::parse("2026-11-25T12:00:00Z").unwrap()
    }

    #[test]
    fn the_balance_is_the_sum_of_the_ledger() {
        let mut account = Account::open(ClientId::parse("alice").unwrap());
        let mut ledger = vec![account.credit(LedgerKind::Payment, 1000, None, now())];
        ledger.push(account.charge(LedgerKind::OrderCharge, 300, None, now()).unwrap());
        ledger.push(account.credit(LedgerKind::Refund, 50, None, now()));
        assert_eq!(account.balance, 750);
        assert_eq!(ledger.iter().map(|e| e.amount).sum::<i64>(), 750);
        assert_eq!(ledger.last().unwrap().balance_after, 750);
    }

    /// A payment of 500 for `account`'s client: received with `settled`, else pending.
    fn payment(id: &str, account: &Account, settled: Option<u64>) -> Payment {
        use super::super::payment::PaymentStatus;
        Payment {
            id: id.into(),
            client_id: account.client_id.clone(),
            amount: 500,
            status: if settled.is_some() { PaymentStatus::Received } else { PaymentStatus::Pending },
            settled_amount: settled,
            external_id: None,
            created_at: now(),
            version: 1,
            reversal: None,
        }
    }

    #[test]
    fn a_payment_credits_what_was_received_and_its_entry_says_what_was_asked() {
        let mut account = Account::open(ClientId::parse("alice").unwrap());
        let payment = payment("pay-1", &account, None);
        let entry = account.credit_payment(&payment.settle(450).unwrap(), now());
        assert_eq!((entry.kind, entry.amount, entry.balance_after), (LedgerKind::Payment, 450, 450));
        assert_eq!((entry.payment_id.as_deref(), entry.asked_amount), (Some("pay-1"), Some(500)));
        let entry = account.credit_payment(&payment.settle(500).unwrap(), now());
        assert_eq!((entry.amount, entry.asked_amount, account.balance), (500, None, 950));
        let wire = serde_json::to_value(&entry).unwrap();
        assert!(wire.get("asked_amount").is_none(), "said only when it differs: {wire}");
    }

    #[test]
    fn a_reversal_takes_back_what_the_payment_credited_and_never_below_zero() {
        let mut account = Account::open(ClientId::parse("alice").unwrap());
        let payment = payment("pay-2", &account, Some(500));
        account.credit_payment(&payment, now());
        account.charge(LedgerKind::Renewal, 100, None, now()).unwrap();
        let short = account.clone().reverse_payment(&payment, now());
        assert_eq!(short, Err(InsufficientFunds { needed: 500, balance: 400 }));
        account.credit(LedgerKind::Refund, 100, None, now());
        let entry = account.reverse_payment(&payment, now()).unwrap();
        assert_eq!((entry.kind, entry.amount, entry.balance_after), (LedgerKind::Reversal, -500, 0));
        assert_eq!(entry.payment_id.as_deref(), Some("pay-2"));
        let reversed = payment.reverse("wrong client", "ops", now()).unwrap();
        assert_eq!((reversed.version, reversed.reversal.as_ref().map(|r| r.by.as_str())), (2, Some("ops")));
        assert!(reversed.reverse("again", "ops", now()).is_err(), "once");
    }

    #[test]
    fn a_charge_over_the_balance_changes_nothing() {
        let mut account = Account::open(ClientId::parse("alice").unwrap());
        account.credit(LedgerKind::Payment, 100, None, now());
        let err = account.charge(LedgerKind::Renewal, 101, None, now()).unwrap_err();
        assert_eq!(err, InsufficientFunds { needed: 101, balance: 100 });
        assert_eq!(account.balance, 100);
    }
}
