//! The money rules of a service's price, in one place (the README's "Money" states them):
//! amounts are bounded and every computation checked; a change within the paid period is
//! charged pro rata to `expires_at`, or credited pro rata for the time paid for and never more
//! than was paid; a special price carries across the client's own changes, never below what
//! the provider set.

use super::lifecycle::Refusal;
use super::order::list_price;
use super::{OptionLine, Service, Tariff, Timestamp};

/// The most minor units one amount read from a request may carry (a price, a payment).
pub const MAX_AMOUNT: u64 = 1_000_000_000_000;

const DAY: i64 = 86_400;

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

/// Whole days from `from` to `to`, a started day not counting (never below zero).
fn whole_days(from: Timestamp, to: Timestamp) -> i64 {
    (from.seconds_until(to) / DAY).max(0)
}

/// What a change of `per_period` (the difference in the price of one period of
/// `period_months`) costs from `now` to `expires_at`: `per_period` for each whole period left,
/// counted back from `expires_at` in calendar months, each starting on the service's
/// `anchor_day` (the month's last day when it is shorter), plus the share of the started period
/// its days left are, rounded up to the minor unit. A charge counts a started day whole; a
/// credit (negative) counts only the days not started and is rounded towards zero, so a client
/// never gains from rounding, nor from a change undone the same day.
pub fn prorate(
    per_period: i64,
    period_months: u16,
    expires_at: Timestamp,
    anchor_day: u8,
    now: Timestamp,
) -> Result<i64, Refusal> {
    if per_period == 0 || now >= expires_at {
        return Ok(0);
    }
    let months = u32::from(period_months.max(1));
    let start_of = |periods: u32| match periods {
        0 => expires_at,
        _ => expires_at.minus_months_on_day(periods.saturating_mul(months), anchor_day),
    };
    // The whole periods left: the most `whole` with the period's start not before now.
    let mut whole = (u64::from(now.months_until(expires_at)) / u64::from(months)) as u32;
    while whole > 0 && start_of(whole) < now {
        whole -= 1;
    }
    while start_of(whole + 1) >= now {
        whole += 1;
    }
    let (start, end) = (start_of(whole + 1), start_of(whole));
    let period_days = days_started(start, end).max(1);
    let days_left = if per_period > 0 { days_started(now, end) } else { whole_days(now, end) };
    let days_left = days_left.min(period_days);
    let part = ceil_div(i128::from(per_period) * i128::from(days_left), i128::from(period_days));
    let total = i128::from(per_period) * i128::from(whole) + part;
    checked(i64::try_from(total).ok())
}

fn ceil_div(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator.div_euclid(denominator);
    if numerator.rem_euclid(denominator) == 0 {
        quotient
    } else {
        quotient + 1
    }
}

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
    /// What `periods` renewals cost.
    pub fn renewal_cost(&self, periods: u32) -> Result<u64, Refusal> {
        checked(self.renewal_price.checked_mul(u64::from(periods)))
    }

    /// The end of the time the client paid for, `expires_at` at the latest.
    pub fn paid_until(&self, expires_at: Timestamp) -> Timestamp {
        self.paid_until.map_or(expires_at, |paid| paid.min(expires_at))
    }

    /// What a change of `per_period` (the difference for one period of `months`) comes to for
    /// the time left (see `prorate`): a charge to `expires_at`; a credit only for the time the
    /// client paid for (to `paid_until`), never more than that time costs at the service's
    /// renewal price (a special price may be far below the list prices the difference is of),
    /// and never more than the client has paid for the service, less what it got back.
    pub fn prorate_change(
        &self,
        per_period: i64,
        months: u16,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<i64, Refusal> {
        let anchor_day = self.anchor_day(expires_at);
        if per_period >= 0 {
            return prorate(per_period, months, expires_at, anchor_day, now);
        }
        let paid_until = self.paid_until(expires_at);
        let credit = prorate(per_period, months, paid_until, anchor_day, now)?;
        let renewal_price = checked(i64::try_from(self.renewal_price).ok())?;
        let cap = prorate(-renewal_price, self.auto_renew.period_months, paid_until, anchor_day, now)?;
        let paid = self.net_paid.map_or(i64::MIN, |paid| -i64::try_from(paid).unwrap_or(i64::MAX));
        Ok(credit.max(cap).max(paid))
    }

    /// The renewal price once the client moves from tariff `from` with its options to tariff
    /// `to` with `options` (the same tariff for an options change): see `renewal_price_after`.
    /// 422 when `to` does not sell the renewal period or an option.
    pub fn renewal_price_moving_to(
        &self,
        from: &Tariff,
        to: &Tariff,
        options: &[OptionLine],
    ) -> Result<u64, Refusal> {
        let months = self.auto_renew.period_months;
        let invalid = |v: super::RuleViolation| Refusal::Invalid(v.0);
        let old = list_price(from, months, &self.options, "auto_renew.period_months").map_err(invalid)?;
        let new = list_price(to, months, options, "auto_renew.period_months").map_err(invalid)?;
        self.renewal_price_after(old, new)
    }

    /// The renewal price once a change of the client's moves the list price of one renewal
    /// period from `old_list` to `new_list`: the new list price; under a special price, the
    /// renewal price moved by as much, never below the provider's price (see `special_floor`).
    pub fn renewal_price_after(&self, old_list: u64, new_list: u64) -> Result<u64, Refusal> {
        if !self.special_price {
            return Ok(new_list);
        }
        let floor = self.special_floor(self.auto_renew.period_months)?;
        let moved = i128::from(self.renewal_price) + i128::from(new_list) - i128::from(old_list);
        Ok(checked(u64::try_from(moved.max(0)).ok())?.max(floor))
    }

    /// The special renewal price for a renewal period of `months` instead of
    /// `auto_renew.period_months`: the provider's price and what the client's changes added to
    /// it, each at the same price per month, rounded up to the minor unit.
    pub fn special_price_for(&self, months: u16) -> Result<u64, Refusal> {
        let old_months = self.auto_renew.period_months;
        let added = self.renewal_price.saturating_sub(self.special_floor(old_months)?);
        checked(self.special_floor(months)?.checked_add(scale(added, months, old_months)?))
    }

    /// What the provider's special price comes to for `months`: the price it set, at the same
    /// price per month (a service stored before the price set was kept: its renewal price).
    fn special_floor(&self, months: u16) -> Result<u64, Refusal> {
        match &self.special {
            Some(set) => scale(set.price, months, set.months),
            None => scale(self.renewal_price, months, self.auto_renew.period_months),
        }
    }
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
    fn prorating_counts_whole_days_left_of_the_started_period() {
        let expires = at("2026-12-01T00:00:00Z");
        // November has 30 days; 15 of them are left.
        assert_eq!(prorate(3000, 1, expires, 1, at("2026-11-16T00:00:00Z")), Ok(1500));
        // A started day counts whole.
        assert_eq!(prorate(3000, 1, expires, 1, at("2026-11-16T00:00:01Z")), Ok(1500));
        assert_eq!(prorate(3000, 1, expires, 1, at("2026-11-15T23:59:59Z")), Ok(1600));
        assert_eq!(prorate(-3000, 1, expires, 1, at("2026-11-16T00:00:00Z")), Ok(-1500));
        // A credit counts only the days not started: 14 of them.
        assert_eq!(prorate(-3000, 1, expires, 1, at("2026-11-16T00:00:01Z")), Ok(-1400));
        assert_eq!(prorate(3000, 1, expires, 1, at("2026-12-02T00:00:00Z")), Ok(0), "expired");
    }

    #[test]
    fn prorating_covers_every_period_left_not_only_one() {
        let expires = at("2027-12-01T00:00:00Z");
        // A whole year left of monthly periods: twelve of them.
        assert_eq!(prorate(500, 1, expires, 1, at("2026-12-01T00:00:00Z")), Ok(6000));
        // Counted back from the expiry: ten whole months (Feb to Nov 2027), and 15 of the 31
        // days of the started period (Jan 1 to Feb 1).
        assert_eq!(prorate(310, 1, expires, 1, at("2027-01-17T00:00:00Z")), Ok(10 * 310 + 150));
        // Periods of 12 months: one whole, and the half of the started one.
        assert_eq!(
            prorate(3650, 12, at("2028-12-01T00:00:00Z"), 1, at("2027-06-01T00:00:00Z")),
            Ok(3650 + 1830)
        );
    }

    #[test]
    fn prorating_counts_periods_back_on_the_anchor_day() {
        // Activated 29 January 2023: it ends on 28 February, its period began on 29 January.
        let expires = at("2023-02-28T00:00:00Z");
        assert_eq!(prorate(500, 1, expires, 29, at("2023-01-29T00:00:00Z")), Ok(500));
        // Counted back on the day of the expiry instead, the period would have begun on
        // 28 January, and the change would miss a day of it.
        assert_eq!(prorate(310, 1, expires, 28, at("2023-01-29T00:00:00Z")), Ok(300));
    }

    #[test]
    fn prorating_rounds_charges_up_and_credits_towards_zero() {
        let expires = at("2026-12-01T00:00:00Z");
        // 1000 over 30 days, 1 day left: 33.3 charged as 34, credited as 33.
        assert_eq!(prorate(1000, 1, expires, 1, at("2026-11-30T12:00:00Z")), Ok(34));
        assert_eq!(prorate(-1000, 1, expires, 1, at("2026-11-29T12:00:00Z")), Ok(-33));
        assert_eq!(prorate(-1000, 1, expires, 1, at("2026-11-30T12:00:00Z")), Ok(0), "the last day started");
    }

    #[test]
    fn a_special_price_keeps_its_price_per_month_and_never_falls() {
        let mut service = crate::domain::order::sample_service(at("2026-11-01T00:00:00Z"));
        service.special_price = true;
        service.renewal_price = 400;
        assert_eq!(service.special_price_for(12), Ok(4800));
        service.renewal_price = 401;
        service.auto_renew.period_months = 12;
        assert_eq!(service.special_price_for(1), Ok(34), "401/12 rounded up");
        assert_eq!(service.renewal_price_after(500, 700), Ok(601));
        assert_eq!(service.renewal_price_after(700, 500), Ok(401));
        service.special_price = false;
        assert_eq!(service.renewal_price_after(700, 500), Ok(500));
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
        assert!(prorate(i64::MAX, 1, at("2999-12-01T00:00:00Z"), 1, at("2026-11-16T00:00:00Z")).is_err());
    }
}
