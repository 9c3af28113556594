//! The money rules of a service's price (docs/money.md states them): amounts are
//! bounded and every computation checked; the renewal price and its lines; a special price
//! belongs to the tariff it was set on. What a change charges or credits comes from the paid
//! time's record (`paid_time`).

use super::paid_time::{self, list_lines, scaled_to, total, Holding, LineKind, PaidLine, Stretch};
use super::refusal::Refusal;
use super::{OptionLine, Service, Tariff, Timestamp};

pub use super::amount::{bounded_amount, checked, days_started, too_large, Amount, MAX_AMOUNT};

/// A charge (positive) or a credit (negative) split into what is charged now and what is
/// credited once the work is done.
pub fn charge_or_credit(amount: i64) -> (u64, u64) {
    if amount > 0 {
        (amount.unsigned_abs(), 0)
    } else {
        (0, amount.unsigned_abs())
    }
}

impl Service {
    /// What `periods` renewals cost at the renewal price (owed time aside: see
    /// `paid_time::price_renewal`).
    pub fn renewal_cost(&self, periods: u32) -> Result<u64, Refusal> {
        checked(self.renewal_price.checked_mul(u64::from(periods)))
    }

    /// What one renewal costs, line by line (adding up to `renewal_price`). A service stored
    /// before the lines were kept: one tariff line.
    pub fn renewal_lines(&self) -> Vec<PaidLine> {
        if self.renewal_lines.is_empty() {
            return vec![PaidLine {
                kind: LineKind::Tariff,
                id: self.tariff_id.to_string(),
                amount: self.renewal_price,
            }];
        }
        if total(&self.renewal_lines) == self.renewal_price {
            self.renewal_lines.clone()
        } else {
            scaled_to(&self.renewal_lines, self.renewal_price)
        }
    }

    /// What the order paid, line by line: as kept when it was placed, or on services stored
    /// before that, its options at their price a month (as its renewal lines have them) and the
    /// tariff the rest.
    pub fn order_lines(&self) -> Vec<PaidLine> {
        if !self.order_lines.is_empty() {
            return self.order_lines.clone();
        }
        let renewal_months = u128::from(self.auto_renew.period_months.max(1));
        let mut options: Vec<PaidLine> = self
            .renewal_lines()
            .into_iter()
            .filter(|l| l.kind == LineKind::Option)
            .map(|l| PaidLine {
                amount: (u128::from(l.amount) * u128::from(self.period_months) / renewal_months) as u64,
                ..l
            })
            .collect();
        if total(&options) > self.order_price {
            options.clear();
        }
        let tariff = self.order_price - total(&options);
        let mut lines =
            vec![PaidLine { kind: LineKind::Tariff, id: self.tariff_id.to_string(), amount: tariff }];
        lines.append(&mut options);
        lines
    }

    /// The end of the time the client paid for, `expires_at` at the latest.
    pub fn paid_until(&self, expires_at: Timestamp) -> Timestamp {
        paid_time::paid_until(&self.paid_time()).map_or(expires_at, |paid| paid.min(expires_at))
    }

    /// Its paid time. A service activated before the record was kept gets one built from what
    /// it stored (`legacy_record`); the migration writes it with what its ledger says.
    pub fn paid_time(&self) -> Vec<Stretch> {
        match (&self.paid_time[..], self.expires_at) {
            ([], Some(_)) => self.legacy_record(self.net_paid.unwrap_or(0)),
            (record, _) => record.to_vec(),
        }
    }

    /// The record of a service stored before it was kept, with `paid` paid for it (less what
    /// it got back): that amount spread over its paid time from its order, and the time the
    /// provider gave after it. Nothing known of it is more than that.
    pub fn legacy_record(&self, paid: u64) -> Vec<Stretch> {
        self.legacy_record_from(paid, self.created_at)
    }

    /// `legacy_record`, its paid time from `from`.
    fn legacy_record_from(&self, paid: u64, from: Timestamp) -> Vec<Stretch> {
        let Some(expires_at) = self.expires_at else { return Vec::new() };
        let paid_end = self.paid_until.map_or(expires_at, |p| p.min(expires_at));
        let from = from.min(paid_end);
        let months = self.auto_renew.period_months.max(1);
        let span = from.months_until(paid_end).max(1);
        let lines = scaled_to(&self.renewal_lines(), paid);
        let stretch = paid_time::bought(from, paid_end, months, span, &self.tariff_id, &self.options, lines);
        paid_time::with_validity_until(&[stretch], expires_at, months)
    }

    /// Whether it was stored before the record was kept, with nothing to build one from
    /// (`net_paid` came later): until `record-paid-time` has given it a record from its ledger,
    /// nothing that moves money by the record is done (a record built from nothing known paid
    /// would be written, and kept, with the first change).
    pub fn paid_time_unknown(&self) -> bool {
        self.paid_time.is_empty() && self.expires_at.is_some() && self.net_paid.is_none()
    }

    /// Refuses (409) what moves money by the record while `paid_time_unknown`.
    pub fn ensure_paid_time_known(&self) -> Result<(), Refusal> {
        if self.paid_time_unknown() {
            return Err(Refusal::Conflict(
                "its paid time is being recorded from its ledger; try again in a few minutes".into(),
            ));
        }
        Ok(())
    }

    /// The service with its paid time recorded, when it was stored before the record was kept:
    /// `paid` (what its ledger says was paid for it, less what came back) over its paid time
    /// from `since` (the ledger's first charge for it, when known: not the time it sat in a
    /// cart) (`legacy_record`), one version on. `None` when there is nothing to record now: it
    /// has a record, was never activated, is deleted, or has work under way (whose end writes
    /// its own part of the record: the next run records it). Running it again on its answer
    /// gives `None`.
    pub fn with_paid_time_recorded(&self, paid: u64, since: Option<Timestamp>) -> Option<Service> {
        let recordable = self.paid_time.is_empty() && self.expires_at.is_some() && self.pending.is_none();
        if !recordable || self.status == super::Status::Deleted {
            return None;
        }
        let from = since.map_or(self.created_at, |since| since.max(self.created_at));
        let paid_time = self.legacy_record_from(paid, from);
        (!paid_time.is_empty()).then(|| Service { paid_time, version: self.version + 1, ..self.clone() })
    }

    /// The special renewal price for a renewal period of `months` instead of
    /// `auto_renew.period_months`: the same price per month, rounded up, with its lines.
    pub fn special_price_for(&self, months: u16) -> Result<(u64, Vec<PaidLine>), Refusal> {
        let old_months = self.auto_renew.period_months;
        let lines: Vec<PaidLine> = self
            .renewal_lines()
            .into_iter()
            .map(|l| Ok(PaidLine { amount: scale(l.amount, months, old_months)?, ..l }))
            .collect::<Result<_, Refusal>>()?;
        Ok((checked(lines.iter().try_fold(0u64, |sum, l| sum.checked_add(l.amount)))?, lines))
    }

    /// The renewal price and its lines once the options become `options`: under a special
    /// price the tariff's part stays what the provider set and the options are at their list
    /// prices; otherwise the list price.
    pub fn renewal_with_options(
        &self,
        tariff: &Tariff,
        options: &[OptionLine],
    ) -> Result<(u64, Vec<PaidLine>), Refusal> {
        let months = self.auto_renew.period_months;
        let mut lines = list_lines(Holding { tariff, options }, months)?;
        if self.special_price {
            let kept = self.renewal_lines().into_iter().find(|l| l.kind == LineKind::Tariff);
            if let (Some(kept), Some(first)) = (kept, lines.first_mut()) {
                *first = kept;
            }
        }
        let price = checked(lines.iter().try_fold(0u64, |sum, l| sum.checked_add(l.amount)))?;
        if price > MAX_AMOUNT {
            return Err(too_large());
        }
        Ok((price, lines))
    }
}

/// The lines of a renewal price the provider set: the options at their list prices, the
/// tariff the rest (all of it when the price is below the options' list prices).
pub fn special_lines(list: &[PaidLine], price: u64) -> Vec<PaidLine> {
    let options: u64 = list.iter().filter(|l| l.kind == LineKind::Option).map(|l| l.amount).sum();
    list.iter()
        .map(|l| match l.kind {
            LineKind::Tariff if options <= price => PaidLine { amount: price - options, ..l.clone() },
            LineKind::Tariff => PaidLine { amount: price, ..l.clone() },
            LineKind::Option if options <= price => l.clone(),
            LineKind::Option => PaidLine { amount: 0, ..l.clone() },
        })
        .collect()
}

/// `amount` for `from` months, as much per month for `to` months, rounded up.
fn scale(amount: u64, to: u16, from: u16) -> Result<u64, Refusal> {
    let scaled = (u128::from(amount) * u128::from(to)).div_ceil(u128::from(from.max(1)));
    checked(u64::try_from(scaled).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn an_amount_past_the_bound_is_refused_as_it_is_read() {
        assert_eq!(serde_json::from_str::<Amount>("1000000000000").unwrap(), Amount(MAX_AMOUNT));
        assert!(serde_json::from_str::<Amount>("1000000000001").is_err());
        assert!(serde_json::from_str::<Amount>("9223372036854775808").is_err());
        assert!(serde_json::from_str::<Amount>("-1").is_err());
    }

    #[test]
    fn money_that_would_overflow_is_refused() {
        let mut service = crate::domain::order::sample_service(at("2026-11-01T00:00:00Z"));
        service.renewal_price = u64::MAX / 2;
        assert_eq!(service.renewal_cost(4), Err(too_large()));
    }
}
