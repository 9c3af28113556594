//! Quotes: what a renewal, a tariff or options change, or a checkout would charge and lead
//! to, worked out from the same change the real call would write, without writing it.

use super::account::InsufficientFunds;
use super::lifecycle::{Change, Hold, Outcome, Work};
use super::pricing::days_started;
use super::{Service, ServiceId, Status, Timestamp};
use serde::Serialize;

/// One charge (positive) or credit (negative) of a quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuoteLine {
    /// `renewal`, `tariff_change`, `options_change` or `order`.
    pub what: &'static str,
    /// The service it is for (a checkout quotes several).
    pub service_id: ServiceId,
    /// The months the amount pays for: the renewal's, or the service's period.
    pub period_months: u32,
    /// The days it covers: renewed, left in the paid period, or the new period.
    pub days: i64,
    pub amount: i64,
}

/// What the real call would do: its lines, what the balance would lose (`total`) and be left
/// at, and the service once the work is done (for a checkout of several services, null).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quote {
    pub lines: Vec<QuoteLine>,
    pub total: i64,
    pub balance_after: u64,
    pub expires_at: Option<Timestamp>,
    pub status: Option<Status>,
}

/// The service once the change's queued work is done as asked.
pub fn when_done(change: &Change, now: Timestamp) -> Service {
    change
        .queued
        .as_ref()
        .and_then(|id| change.service.finish(id, Outcome::Done, now))
        .map_or_else(|| change.service.clone(), |done| done.service)
}

/// The line of one change of `before`, which charges `charged` now.
pub fn line(before: &Service, change: &Change, charged: u64, now: Timestamp) -> QuoteLine {
    let work = change.service.pending.as_ref().map(|p| &p.work);
    let credit = work.map_or(0, Work::credit);
    let amount = charged as i64 - credit as i64;
    let period = u32::from(before.period_months);
    let days_left = || before.expires_at.map_or(0, |e| days_started(now, e));
    let (what, period_months, days) = match work {
        Some(Work::Renewal { expires_at, .. }) => {
            let lapsed = before.holds.contains(&Hold::NonPayment);
            let from = if lapsed { now } else { before.expires_at.unwrap_or(now) };
            let months = change.entry.details["months"].as_u64().unwrap_or(0) as u32;
            ("renewal", months, days_started(from, *expires_at))
        }
        Some(Work::TariffChange { .. }) => ("tariff_change", period, days_left()),
        Some(Work::OptionsChange { .. }) => ("options_change", period, days_left()),
        _ => ("order", period, days_started(now, now.plus_months(period))),
    };
    QuoteLine { what, service_id: before.id.clone(), period_months, days, amount }
}

impl Quote {
    /// The quote of changes whose lines are `lines`, against a balance of `balance`: 402 (as
    /// the real call) when the charges exceed it.
    pub fn new(
        lines: Vec<QuoteLine>,
        changes: &[&Change],
        balance: u64,
        now: Timestamp,
    ) -> Result<Self, InsufficientFunds> {
        let total: i64 = lines.iter().map(|l| l.amount).sum();
        let charged: u64 = lines.iter().map(|l| l.amount.max(0) as u64).sum();
        if charged > balance {
            return Err(InsufficientFunds { needed: charged, balance });
        }
        let (expires_at, status) = match changes {
            [change] => {
                let done = when_done(change, now);
                (done.expires_at, Some(done.status))
            }
            _ => (None, None),
        };
        Ok(Self { balance_after: (balance as i64 - total) as u64, lines, total, expires_at, status })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::history::Actor;
    use crate::domain::Role;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn active() -> Service {
        let ordered = crate::domain::order::sample_service(at("2026-11-01T00:00:00Z"));
        let actor = Actor { id: "alice".into(), role: Role::Client };
        let paid = ordered.pay_order(&actor, at("2026-11-01T00:00:00Z")).unwrap();
        when_done(&paid, at("2026-11-01T00:00:00Z"))
    }

    #[test]
    fn a_renewal_quote_names_the_new_expiry_and_what_is_left() {
        let service = active();
        let actor = Actor { id: "alice".into(), role: Role::Client };
        let now = at("2026-11-20T00:00:00Z");
        let change = service.renew(2, &actor, now).unwrap();
        let line = line(&service, &change, service.renewal_cost(2).unwrap(), now);
        assert_eq!((line.what, line.period_months, line.days, line.amount), ("renewal", 2, 62, 1000));
        let quote = Quote::new(vec![line.clone()], &[&change], 1500, now).unwrap();
        assert_eq!((quote.total, quote.balance_after), (1000, 500));
        assert_eq!(quote.expires_at, Some(at("2027-02-01T00:00:00Z")));
        assert_eq!(quote.status, Some(Status::Active));
        assert_eq!(
            Quote::new(vec![line], &[&change], 999, now),
            Err(InsufficientFunds { needed: 1000, balance: 999 })
        );
    }
}
