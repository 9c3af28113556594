//! An independent reference model of the money (issue 12), written from the README's rules
//! ("Money", "The lifecycle", "Schedules", "Quotes") and sharing no code with `changes.rs`,
//! `quote.rs`, `pricing.rs` or the calendar arithmetic of `clock.rs`: it keeps its own
//! calendar (civil dates on unix seconds, months added on an anchor day, periods counted back),
//! its own day counting and rounding, and its own prices.
//!
//! Time moves in random jumps (hours to months, across month ends and 29 February, from start
//! dates near month ends in leap and common years), and random sequences of orders, checkouts,
//! activations, renewals of 1 to 10 periods, special prices, period changes, tariff changes both
//! ways, options changes, paid IP addresses, suspensions, expiries, deletions and refunds (an
//! abandoned operation) run against the real domain and the model. The money moves through the
//! real `Account` as `operations::move_money` moves it: a charge when the change charges (the
//! change refused when the balance is short), a credit of `Work::credit()` when a downgrade is
//! done, a refund when an operation is abandoned.
//!
//! The two tariffs sell 1, 3 and 12 months (and `vps-pro` 24), at different prices per month
//! by period, so a tariff change, priced in every period both tariffs sell with the largest
//! amount holding, is often priced by a period other than the service's own (counted with
//! `MONEY_MODEL_STATS`); a credit counts only the days not started.
//!
//! After every step: the ledger adds up to the balance and the balance is the model's; every
//! charge, credit and refund is the model's to the minor unit; a tariff change never charges
//! less, nor credits more, than the pro rata difference at the service's own order period and
//! at its renewal period; the model predicts the refusals
//! that follow from its own state (and the domain agrees); a client's own actions never bring
//! the renewal price below the provider's special price as set, at its price per month for the
//! renewal period's months (rounded up), nor a renewal below that for each period it pays;
//! `expires_at`, the anchor day, `paid_until`, the renewal price, the special price as set
//! (price and months), `delete_at` and the rest of what prices depend on are the model's.
//!
//! A credit runs only to `paid_until` (set by an activation or a renewal; the provider's new
//! `expires_at` only ever moves it back) and is capped at the renewal price for that time (per
//! candidate period of a tariff change); a charge runs to `expires_at`. On the domain's figures,
//! a change never credits more than the same change to `expires_at` (time given is never
//! credited) nor more than the cap; and on the model's own ledger of each service (what its
//! client paid for it and got back), after a downgrade's credit (under a special price or
//! not) the client's net payments for the service are never below zero.
//!
//! `MONEY_MODEL_CASES` sets the number of cases (10,000 by default).

use super::account::{Account, LedgerEntry, LedgerKind};
use super::changes::Edit;
use super::history::Actor;
use super::lifecycle::{Change, Hold, Outcome, Refusal};
use super::order::{place_order, OrderRequest};
use super::quote::Quote;
use super::schedule::system;
use super::settings::{IpAddress, IpVersion, Setting};
use super::{
    AutoRenew, ClientDelete, ClientId, OptionLine, OptionOffer, Prices, Principal, ProductType,
    ProductTypeRules, Role, Service, Status, Tariff, TariffId, Timestamp,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRunner};
use std::collections::BTreeMap;

// ---------------------------------------------------------------------------------------------
// The model's own calendar: unix seconds, proleptic Gregorian, UTC.

const DAY: i64 = 86_400;

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn month_length(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days in the years from 1970 to `year` (negative before 1970).
fn days_before_year(year: i64) -> i64 {
    // Leap days in the years 1..year, minus those in 1..1970.
    let leaps = |y: i64| {
        let y = y - 1;
        y.div_euclid(4) - y.div_euclid(100) + y.div_euclid(400)
    };
    (year - 1970) * 365 + leaps(year) - leaps(1970)
}

/// The day number (0 = 1970-01-01) of a civil date.
fn day_number(year: i64, month: u32, day: u32) -> i64 {
    let before_month: i64 = (1..month).map(|m| i64::from(month_length(year, m))).sum();
    days_before_year(year) + before_month + i64::from(day) - 1
}

/// The civil date of a day number.
fn civil_date(days: i64) -> (i64, u32, u32) {
    // A first guess at the year, corrected by at most a step or two.
    let mut year = 1970 + days.div_euclid(365);
    while days_before_year(year) > days {
        year -= 1;
    }
    while days_before_year(year + 1) <= days {
        year += 1;
    }
    let mut left = days - days_before_year(year);
    let mut month = 1;
    while left >= i64::from(month_length(year, month)) {
        left -= i64::from(month_length(year, month));
        month += 1;
    }
    (year, month, left as u32 + 1)
}

/// `(year, month, day, second of the day)` of an instant.
fn civil(at: i64) -> (i64, u32, u32, i64) {
    let (year, month, day) = civil_date(at.div_euclid(DAY));
    (year, month, day, at.rem_euclid(DAY))
}

fn instant(year: i64, month: u32, day: u32, second_of_day: i64) -> i64 {
    day_number(year, month, day) * DAY + second_of_day
}

fn day_of_month(at: i64) -> u32 {
    civil(at).2
}

/// `months` calendar months after `at` (before, when negative), at the same time of day, on
/// `day` or on the month's last day when the month is shorter.
fn months_later_on_day(at: i64, months: i64, day: u32) -> i64 {
    let (year, month, _, second) = civil(at);
    let index = year * 12 + i64::from(month) - 1 + months;
    let (year, month) = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
    instant(year, month, day.min(month_length(year, month)), second)
}

/// Days from `from` to `to`, a started day counting whole.
fn started_days(from: i64, to: i64) -> i64 {
    let seconds = (to - from).max(0);
    seconds / DAY + i64::from(seconds % DAY != 0)
}

/// Days from `from` to `to` not yet started: a started day does not count.
fn days_not_started(from: i64, to: i64) -> i64 {
    let seconds = (to - from).max(0);
    (seconds - seconds % DAY) / DAY
}

fn timestamp(at: i64) -> Timestamp {
    Timestamp::from_unix_millis(at * 1000)
}

fn text(at: i64) -> String {
    let (y, m, d, s) = civil(at);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60)
}

// ---------------------------------------------------------------------------------------------
// The README's money rules, as the model reads them.

/// A tariff of the model: prices by months, and the per-unit-per-month price of extra IPv4
/// addresses (the option `ipv4`, at most `IPV4_MAX`).
///
/// Both sell 1, 3 and 12 months, at prices per month that differ by period (the 3-month
/// difference is the dearest per month, the 12-month one the cheapest), so which period prices
/// a tariff change depends on the time left; only `vps-pro` sells 24 months, a period a tariff
/// change never prices by (and a service of 24 months cannot change to `vps-start`).
struct Plan {
    id: &'static str,
    prices: &'static [(u32, u64)],
    ipv4: u64,
}

const PLANS: [Plan; 2] = [
    Plan { id: "vps-start", prices: &[(1, 500), (3, 1350), (12, 5000)], ipv4: 100 },
    Plan { id: "vps-pro", prices: &[(1, 1000), (3, 2900), (12, 10000), (24, 18000)], ipv4: 130 },
];
const IPV4_MAX: u32 = 4;
const MAX_SERVICES: usize = 3;
const LEAD_DAYS: i64 = 3;
const PURGE_DAYS: i64 = 14;

fn plan_price(plan: usize, months: u32) -> Option<u64> {
    PLANS[plan].prices.iter().find(|(m, _)| *m == months).map(|(_, p)| *p)
}

/// `months` if `plan` sells it, else 1 month (which every plan sells).
fn sold_or_monthly(plan: usize, months: u32) -> u32 {
    if plan_price(plan, months).is_some() {
        months
    } else {
        1
    }
}

/// README: a service's price for `months` is its tariff's price for them plus its options, each
/// priced per unit per month, for that many months.
fn list_price(plan: usize, months: u32, ipv4: u32) -> Option<u64> {
    Some(plan_price(plan, months)? + PLANS[plan].ipv4 * u64::from(ipv4) * u64::from(months))
}

/// README, "Pro rata": `difference` is the price of one period of `period_months`; the time
/// from `now` to `expires_at` is counted back from `expires_at` in such periods, each starting
/// on the service's anchor day (the month's last day when it is shorter); every whole period
/// left costs the whole difference, the started one the share of its days left (a started day
/// counting whole), rounded up for a charge; a credit counts only the days of it not started
/// (so an upgrade undone the same day still costs that day) and is rounded towards zero.
///
/// The anchor day is the day the service's periods end on ("Anchor days"): a service renewed
/// on Jan 31 that expires on Apr 30 is in the period Mar 31 to Apr 30 (30 days), the one it
/// paid for, not Mar 30 to Apr 30; and an upgrade at the very start of a period costs the whole
/// difference.
fn pro_rata(difference: i64, period_months: u32, expires_at: i64, anchor: u32, now: i64) -> i64 {
    if difference == 0 || now >= expires_at {
        return 0;
    }
    // The period that ends at `expires_at` ends there (the model keeps every expiry on its
    // anchor day, and checks it); the earlier ones on the anchor day.
    let start_of = |k: i64| match k {
        0 => expires_at,
        _ => months_later_on_day(expires_at, -k * i64::from(period_months), anchor),
    };
    let mut whole = 0i64;
    while start_of(whole + 1) >= now {
        whole += 1;
    }
    let (start, end) = (start_of(whole + 1), start_of(whole));
    let period_days = i128::from(started_days(start, end).max(1));
    let days_left = if difference > 0 { started_days(now, end) } else { days_not_started(now, end) };
    let days_left = i128::from(days_left).min(period_days);
    let magnitude = i128::from(difference.unsigned_abs());
    let share = if difference > 0 {
        (magnitude * days_left + period_days - 1) / period_days
    } else {
        magnitude * days_left / period_days
    };
    let total = i64::try_from(magnitude * i128::from(whole) + share).expect("small amounts");
    if difference > 0 {
        total
    } else {
        -total
    }
}

/// What a service's time left is, for pricing a change of it (README, "Pro rata"): a charge
/// runs to `expires_at`; a credit only to `paid_until` (the end of the last activation or
/// renewal, `expires_at` at the latest: time the provider gave is not paid for), and never
/// more than that time costs at `renewal_price` per period of `renewal_months`. Periods are
/// counted back on the service's anchor day, from whichever end.
#[derive(Debug, Clone, Copy)]
struct Left {
    expires_at: i64,
    paid_until: i64,
    anchor: u32,
    renewal_price: u64,
    renewal_months: u32,
    /// What the client has paid for the service, less what it got back: no credit exceeds it.
    net_paid: i64,
}

impl Left {
    /// The end of the time paid for: `paid_until`, never past `expires_at`.
    fn paid_end(&self) -> i64 {
        self.paid_until.min(self.expires_at)
    }

    /// A credit of `difference` (negative) per period of `months` for the time paid for,
    /// before the cap.
    fn uncapped_credit(&self, difference: i64, months: u32, now: i64) -> i64 {
        pro_rata(difference, months, self.paid_end(), self.anchor, now)
    }

    /// The most a credit may give back: the time paid for at the renewal price, as a credit
    /// (negative, or zero).
    fn cap(&self, now: i64) -> i64 {
        let price = i64::try_from(self.renewal_price).expect("small amounts");
        pro_rata(-price, self.renewal_months, self.paid_end(), self.anchor, now)
    }

    /// README, "Pro rata": what a change of `difference` per period of `months` comes to: a
    /// charge to `expires_at`; a credit to the end of the time paid for, capped.
    fn amount(&self, difference: i64, months: u32, now: i64) -> i64 {
        if difference >= 0 {
            return pro_rata(difference, months, self.expires_at, self.anchor, now);
        }
        self.uncapped_credit(difference, months, now).max(self.cap(now)).max(-self.net_paid)
    }
}

/// README, "Pro rata", a tariff change: the time left is priced as if it was bought in each
/// period both tariffs sell, each tariff's price for that period with `ipv4` addresses at that
/// tariff's option price for as many months, pro rata in periods of that many months counted
/// back on the anchor day (a charge from `expires_at`; a credit from `paid_until`, each
/// period's capped at the renewal price). Answers each such period's amount, shortest period
/// first; the largest of them (the largest charge, or the smallest credit) is what is charged
/// or credited.
fn tariff_change_amounts(from: usize, to: usize, ipv4: u32, left: &Left, now: i64) -> Vec<(u32, i64)> {
    tariff_differences(from, to, ipv4)
        .into_iter()
        .map(|(months, difference)| (months, left.amount(difference, months, now)))
        .collect()
}

/// The difference of one period of each length `from` sells, shortest first; where `to` does
/// not sell it, `to` is priced at its lowest rate a month, rounded up.
fn tariff_differences(from: usize, to: usize, ipv4: u32) -> Vec<(u32, i64)> {
    let at_lowest_rate = |months: u32| {
        PLANS[to]
            .prices
            .iter()
            .filter_map(|&(sold, _)| {
                Some((list_price(to, sold, ipv4)? * u64::from(months)).div_ceil(u64::from(sold)))
            })
            .min()
    };
    let mut differences: Vec<(u32, i64)> = PLANS[from]
        .prices
        .iter()
        .filter_map(|&(months, _)| {
            let old = list_price(from, months, ipv4)?;
            let new = list_price(to, months, ipv4).or_else(|| at_lowest_rate(months))?;
            Some((months, new as i64 - old as i64))
        })
        .collect();
    differences.sort_unstable();
    differences
}

/// The largest of `tariff_change_amounts`, and the shortest period it is reached at.
fn largest(amounts: &[(u32, i64)]) -> (i64, u32) {
    let mut best: Option<(i64, u32)> = None;
    for &(months, amount) in amounts {
        if best.is_none_or(|(b, _)| amount > b) {
            best = Some((amount, months));
        }
    }
    best.expect("the model's tariffs share a period")
}

/// Counts (with `MONEY_MODEL_STATS`) what the credit rules did to a credit of `difference` per
/// period of `months`: counted from `paid_until` short of `expires_at`, off the anchor day,
/// capped at the renewal price.
fn tally_credit(what: &str, left: &Left, difference: i64, months: u32, now: i64) {
    if !tallying() || difference >= 0 || now >= left.expires_at {
        return;
    }
    let to_expiry = pro_rata(difference, months, left.expires_at, left.anchor, now);
    let uncapped = left.uncapped_credit(difference, months, now);
    let cap = left.cap(now);
    if left.paid_end() < left.expires_at {
        tally_rule(&format!("{what} credit: after the provider gave time past paid_until"));
        if uncapped != to_expiry {
            tally_rule(&format!("{what} credit: the time given not credited (less than to expires_at)"));
        }
        if now >= left.paid_end() {
            tally_rule(&format!("{what} credit: none, paid_until already past"));
        }
        let (y, m, d, _) = civil(left.paid_end());
        if d != left.anchor.min(month_length(y, m)) {
            tally_rule(&format!("{what} credit: paid_until off the anchor day"));
        }
    }
    if cap > uncapped {
        tally_rule(&format!("{what} credit: capped at the renewal price"));
    }
}

// ---------------------------------------------------------------------------------------------
// The model of one service.

#[derive(Debug, Clone, PartialEq)]
enum Work {
    Activation,
    Renewal {
        expires_at: i64,
        anchor: u32,
        /// README, "Pro rata": the renewal's months on from the time paid for before (from now
        /// when that is past, or for a lapsed service), never past the new expiry.
        paid_until: i64,
    },
    TariffChange {
        to: usize,
        renewal_price: u64,
        credit: u64,
    },
    OptionsChange {
        ipv4: u32,
        renewal_price: u64,
        credit: u64,
    },
    Deletion,
    /// Work that moves no money and changes nothing the model keeps (suspend, resume).
    Other,
}

#[derive(Debug, Clone)]
struct Pending {
    work: Work,
    charged: u64,
    /// What an abandoned operation restores.
    expires_at: Option<i64>,
    lapsed_since: Option<i64>,
    delete_at: Option<i64>,
    declined_day: Option<i64>,
    grace: Option<i64>,
}

/// README, "Special prices": a renewal price the provider set other than the list price, kept
/// with the months (of `auto_renew.period_months`) it was set for. It is a price per month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Special {
    price: u64,
    months: u32,
}

/// `amount` for `from` months, at the same price per month for `to` months, rounded up to the
/// minor unit.
fn per_month_for(amount: u64, from: u32, to: u32) -> u64 {
    let (amount, from, to) = (u128::from(amount), u128::from(from), u128::from(to));
    let whole = amount * to / from;
    let rounded = whole + u128::from(whole * from != amount * to);
    u64::try_from(rounded).expect("small amounts")
}

impl Special {
    /// The provider's price for a renewal period of `months`: the floor no action of the
    /// client's takes the renewal price below.
    fn for_months(self, months: u32) -> u64 {
        per_month_for(self.price, self.months, months)
    }
}

/// README, "Special prices": the client changes `auto_renew.period_months` from `from` to `to`
/// under the provider's price `special`: the provider's price is scaled to the new months, and
/// so is what the client's changes added to it (the renewal price above the provider's price
/// for the old months), each rounded up.
fn special_for_period(renewal_price: u64, special: Special, from: u32, to: u32) -> u64 {
    let added = renewal_price.saturating_sub(special.for_months(from));
    if from != to {
        tally_rule(if added > 0 {
            "special price, period: the client's additions scaled"
        } else {
            "special price, period: the provider's price scaled"
        });
    }
    special.for_months(to) + per_month_for(added, from, to)
}

/// README, "Special prices": a change of the client's moves the list price of one renewal
/// period of `months` from `old` to `new`: the renewal price moves by as much, up or down, but
/// never below the provider's price for `months`.
fn special_after_change(renewal_price: u64, special: Special, months: u32, old: u64, new: u64) -> u64 {
    let moved =
        if new >= old { renewal_price + (new - old) } else { renewal_price.saturating_sub(old - new) };
    let floor = special.for_months(months);
    tally_rule(match new.cmp(&old) {
        std::cmp::Ordering::Greater => "special price, change: a rise added",
        std::cmp::Ordering::Equal => "special price, change: no move",
        std::cmp::Ordering::Less if moved > floor => "special price, change: a fall taken off",
        std::cmp::Ordering::Less if moved == floor => {
            "special price, change: a fall down to the provider's price"
        }
        std::cmp::Ordering::Less => "special price, change: a fall stopped at the provider's price",
    });
    moved.max(floor)
}

#[derive(Debug, Clone)]
struct Model {
    plan: usize,
    period_months: u32,
    auto_months: u32,
    auto_enabled: bool,
    ipv4: u32,
    order_price: u64,
    renewal_price: u64,
    /// The special price the provider set, and the months it was for; `None` when the renewal
    /// price follows the list price.
    special: Option<Special>,
    paid: bool,
    expires_at: Option<i64>,
    /// README, "Pro rata": the end of the time paid for, set to `expires_at` when an activation
    /// or a renewal is done; when the provider sets `expires_at`, the earlier of the two (time
    /// the provider gives is not paid for).
    paid_until: Option<i64>,
    /// The provider moved `expires_at` off the anchor day: the paid time is then counted back
    /// on the new one, so a credit may run past the time paid for (never past what was paid:
    /// the README names it as the limit of the credit rules). The checks that a credit keeps
    /// to the time paid for hold for every other service.
    provider_repriced: bool,
    anchor: Option<u32>,
    /// The model's own ledger of the service: what its client paid for it (charges) and got
    /// back (credits and refunds), to the minor unit.
    paid_in: u64,
    paid_back: u64,
    /// Suspended for non-payment since then.
    lapsed_since: Option<i64>,
    /// The provider keeps it out of the non-payment suspension until then.
    grace: Option<i64>,
    delete_at: Option<i64>,
    /// The UTC day number auto-renewal last found the balance short.
    declined_day: Option<i64>,
    deleted: bool,
    pending: Option<Pending>,
}

impl Model {
    fn idle(&self) -> bool {
        !self.deleted && self.pending.is_none()
    }

    fn list(&self, plan: usize, months: u32, ipv4: u32) -> u64 {
        list_price(plan, months, ipv4).expect("a period the tariff sells")
    }

    /// README, "Special prices": after a change of the client's (tariff, options, a paid
    /// address) moves the list price of a renewal period from `old` to `new`, the renewal price
    /// is the new list price, or, under a special price, moved by as much as the list price
    /// (a rise added, a fall taken off), never below the provider's price for the period.
    fn renewal_after(&self, old: u64, new: u64) -> u64 {
        match self.special {
            Some(special) => special_after_change(self.renewal_price, special, self.auto_months, old, new),
            None => new,
        }
    }

    /// README, "Special prices": the renewal price once the client changes the renewal period
    /// to `months`: the list price, or the provider's price and what the client's changes
    /// added to it, each scaled to the new months.
    fn renewal_for_period(&self, months: u32) -> u64 {
        match self.special {
            Some(special) => special_for_period(self.renewal_price, special, self.auto_months, months),
            None => self.list(self.plan, months, self.ipv4),
        }
    }

    /// README, "Tariff changes": running past its paid period (on a grace), not lapsed, where
    /// nothing dearer is taken on until it is renewed.
    fn past_paid_period(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|e| now >= e) && self.lapsed_since.is_none()
    }

    /// The time left, as a change prices it.
    fn left(&self) -> Left {
        let expires_at = self.expires_at.expect("activated");
        Left {
            expires_at,
            paid_until: self.paid_until.unwrap_or(expires_at),
            anchor: self.anchor.expect("anchored"),
            renewal_price: self.renewal_price,
            renewal_months: self.auto_months,
            net_paid: self.paid_in as i64 - self.paid_back as i64,
        }
    }

    /// A change of the options' `monthly` difference to `expires_at`, uncapped.
    fn options_to_expiry(&self, monthly: i64, now: i64) -> i64 {
        let left = self.left();
        pro_rata(
            monthly * i64::from(self.period_months),
            self.period_months,
            left.expires_at,
            left.anchor,
            now,
        )
    }

    /// README, "Pro rata": a change of the options' `monthly` difference, priced in periods of
    /// the service's `period_months`.
    fn options_amount(&self, what: &str, monthly: i64, now: i64) -> i64 {
        let (left, difference) = (self.left(), monthly * i64::from(self.period_months));
        tally_credit(what, &left, difference, self.period_months, now);
        left.amount(difference, self.period_months, now)
    }

    fn start(&mut self, work: Work, charged: u64) {
        self.pending = Some(Pending {
            work,
            charged,
            expires_at: self.expires_at,
            lapsed_since: self.lapsed_since,
            delete_at: self.delete_at,
            declined_day: self.declined_day,
            grace: self.grace,
        });
    }
}

// ---------------------------------------------------------------------------------------------
// The steps.

#[derive(Debug, Clone)]
enum Step {
    /// Time passes.
    Wait(i64),
    /// Time moves to `periods` periods (of one month, or of the service's period) before the
    /// service's expiry, counted back on its anchor day, plus `offset` seconds, if that is
    /// still ahead: the edges of the periods a change is priced by.
    WaitNear {
        service: usize,
        periods: u32,
        of_the_period: bool,
        offset: i64,
    },
    TopUp(u64),
    Order {
        plan: usize,
        period: u32,
        auto: Option<(bool, u32)>,
        ipv4: u32,
    },
    Checkout(usize),
    /// The panel answers the pending operation: done, or (an activation) no resources.
    Finish {
        service: usize,
        done: bool,
    },
    /// The worker gives the pending operation up.
    Abandon(usize),
    Activate(usize),
    Renew {
        service: usize,
        periods: u32,
        provider: bool,
    },
    AutoRenewal,
    ExpirySweep,
    SpecialPrice {
        service: usize,
        price: u64,
    },
    Period {
        service: usize,
        months: u32,
        enabled: bool,
    },
    /// The provider sets `expires_at` to `offset` seconds from now, or (`months`) that many
    /// months after the current expiry on its anchor day: time given past `paid_until`.
    SetExpiry {
        service: usize,
        offset: i64,
        months: Option<u32>,
    },
    Withdraw {
        service: usize,
        provider: bool,
    },
    /// The provider's grace until `days` days after the expiry, or until `offset` seconds
    /// from three months after it (the longest a grace may run).
    Grace {
        service: usize,
        days: i64,
        offset: Option<i64>,
    },
    ChangeTariff(usize),
    Options {
        service: usize,
        ipv4: u32,
    },
    Address {
        service: usize,
        add: bool,
    },
    Disable {
        service: usize,
        provider: bool,
    },
    Enable {
        service: usize,
        provider: bool,
    },
    Delete {
        service: usize,
        provider: bool,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let service = 0usize..MAX_SERVICES;
    let offset = prop::sample::select(vec![
        0,
        1,
        -1,
        60,
        -60,
        3600,
        -3600,
        DAY / 2,
        -DAY / 2,
        DAY,
        -DAY,
        DAY + 1,
        -DAY - 1,
        3 * DAY,
        -3 * DAY,
        -3 * DAY - 1,
    ]);
    prop_oneof![
        2 => (1i64..=48, 0i64..3600).prop_map(|(h, s)| Step::Wait(h * 3600 + s)),
        3 => (1i64..=40, 0i64..DAY).prop_map(|(d, s)| Step::Wait(d * DAY + s)),
        1 => (28i64..=400, 0i64..DAY).prop_map(|(d, s)| Step::Wait(d * DAY + s)),
        4 => (service.clone(), 0u32..=3, any::<bool>(), offset).prop_map(|(service, periods, of_the_period, offset)| {
            Step::WaitNear { service, periods, of_the_period, offset }
        }),
        2 => (1u64..=20_000).prop_map(Step::TopUp),
        1 => order(),
        3 => service.clone().prop_map(Step::Checkout),
        10 => (service.clone(), prop::bool::weighted(0.9)).prop_map(|(service, done)| Step::Finish { service, done }),
        2 => service.clone().prop_map(Step::Abandon),
        1 => service.clone().prop_map(Step::Activate),
        4 => (service.clone(), 1u32..=10, prop::bool::weighted(0.2))
            .prop_map(|(service, periods, provider)| Step::Renew { service, periods, provider }),
        2 => Just(Step::AutoRenewal),
        3 => Just(Step::ExpirySweep),
        2 => (service.clone(), prop_oneof![1u64..=3000, prop::sample::select(vec![400u64, 500, 5000, 4800, 401])])
            .prop_map(|(service, price)| Step::SpecialPrice { service, price }),
        3 => (service.clone(), prop::sample::select(vec![1u32, 12, 1, 12, 3, 24]), prop::bool::weighted(0.8))
            .prop_map(|(service, months, enabled)| Step::Period { service, months, enabled }),
        2 => (service.clone(), -40 * DAY..400 * DAY, prop::option::weighted(0.3, 1u32..=13))
            .prop_map(|(service, offset, months)| Step::SetExpiry { service, offset, months }),
        1 => (service.clone(), any::<bool>()).prop_map(|(service, provider)| Step::Withdraw { service, provider }),
        1 => (service.clone(), -5i64..=100, prop::option::weighted(0.3, -1i64..=1))
            .prop_map(|(service, days, offset)| Step::Grace { service, days, offset }),
        4 => service.clone().prop_map(Step::ChangeTariff),
        3 => (service.clone(), 0u32..=IPV4_MAX + 1).prop_map(|(service, ipv4)| Step::Options { service, ipv4 }),
        3 => (service.clone(), prop::bool::weighted(0.6)).prop_map(|(service, add)| Step::Address { service, add }),
        1 => (service.clone(), any::<bool>()).prop_map(|(service, provider)| Step::Disable { service, provider }),
        1 => (service.clone(), any::<bool>()).prop_map(|(service, provider)| Step::Enable { service, provider }),
        1 => (service, prop::bool::weighted(0.3)).prop_map(|(service, provider)| Step::Delete { service, provider }),
    ]
}

/// An order of a period its tariff sells (1, 3 or 12 months, or 24 of `vps-pro`).
fn order() -> impl Strategy<Value = Step> {
    let months = prop::sample::select(vec![1u32, 12, 1, 12, 3, 24]);
    (
        0usize..2,
        months.clone(),
        prop::option::weighted(0.4, (prop::bool::weighted(0.8), months)),
        0u32..=IPV4_MAX,
    )
        .prop_map(|(plan, period, auto, ipv4)| Step::Order {
            plan,
            period: sold_or_monthly(plan, period),
            auto: auto.map(|(enabled, months)| (enabled, sold_or_monthly(plan, months))),
            ipv4,
        })
}

/// A start near a month's end more often than not, in common and leap years.
fn start() -> impl Strategy<Value = i64> {
    let year = prop::sample::select(vec![2023i64, 2024, 2027, 2028]);
    let month = prop_oneof![3 => Just(1u32), 2 => Just(2u32), 3 => 1u32..=12];
    let day = prop_oneof![3 => 28u32..=31, 1 => 1u32..=31];
    (year, month, day, 0i64..DAY).prop_map(|(y, m, d, s)| instant(y, m, d.min(month_length(y, m)), s))
}

#[derive(Debug, Clone)]
struct Case {
    start: i64,
    balance: u64,
    first: Step,
    steps: Vec<Step>,
}

fn case() -> impl Strategy<Value = Case> {
    (start(), prop_oneof![1 => Just(0u64), 4 => 0u64..=30_000], order(), prop::collection::vec(step(), 1..60))
        .prop_map(|(start, balance, first, steps)| Case { start, balance, first, steps })
}

// ---------------------------------------------------------------------------------------------
// The world: the real services and account beside the model.

macro_rules! ensure {
    ($world:expr, $cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err($world.fail(format!($($arg)+)));
        }
    };
}

macro_rules! ensure_eq {
    ($world:expr, $actual:expr, $model:expr, $($arg:tt)+) => {{
        let (actual, model) = (&$actual, &$model);
        if actual != model {
            let what = format!($($arg)+);
            return Err($world.fail(format!("{what}: the domain has {actual:?}, the model {model:?}")));
        }
    }};
}

/// What the model expects a quote to say.
#[derive(Debug, Clone)]
struct Quoted {
    what: &'static str,
    charge: u64,
    credit: u64,
    period_months: u32,
    days: i64,
    expires_at: Option<i64>,
}

/// Money a change moves, as `operations::Money`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Money {
    None,
    Charge(LedgerKind, u64),
    /// A credit or a refund: both reach the balance as `LedgerKind::Refund`.
    Credit(u64),
}

struct World {
    now: i64,
    tariffs: [Tariff; 2],
    rules: ProductTypeRules,
    account: Account,
    ledger: Vec<LedgerEntry>,
    /// The model's balance.
    balance: u64,
    services: Vec<(Service, Model)>,
    /// What happened, kept only when `verbose` (a failing case is run again to tell it).
    log: Vec<String>,
    verbose: bool,
}

fn client() -> Actor {
    Actor { id: "alice".into(), role: Role::Client }
}

fn provider() -> Actor {
    Actor { id: "ops".into(), role: Role::Provider }
}

fn actor(provider_acts: bool) -> Actor {
    if provider_acts {
        provider()
    } else {
        client()
    }
}

fn tariff(plan: usize) -> Tariff {
    let p = &PLANS[plan];
    Tariff {
        id: TariffId::parse(p.id).unwrap(),
        product_type: ProductType::Vps,
        name: p.id.into(),
        prices: Prices::new(p.prices.iter().map(|(m, price)| (*m as u16, *price)).collect()).unwrap(),
        options: vec![OptionOffer { id: "ipv4".into(), name: "IPv4".into(), price: p.ipv4, max: IPV4_MAX }],
        required_params: vec!["os_template".into()],
        change_to: vec![TariffId::parse(PLANS[1 - plan].id).unwrap()],
    }
}

fn options(ipv4: u32) -> Vec<OptionLine> {
    if ipv4 == 0 {
        vec![]
    } else {
        vec![OptionLine { id: "ipv4".into(), quantity: ipv4 }]
    }
}

fn ipv4_of(service: &Service) -> u32 {
    service.options.iter().find(|o| o.id == "ipv4").map_or(0, |o| o.quantity)
}

impl World {
    fn new(start: i64, balance: u64, verbose: bool) -> Self {
        let alice = ClientId::parse("alice").unwrap();
        let mut account = Account::open(alice);
        let mut ledger = Vec::new();
        if balance > 0 {
            ledger.push(account.credit(LedgerKind::Payment, balance, None, timestamp(start)));
        }
        let rules = ProductTypeRules {
            product_type: ProductType::Vps,
            client_delete: ClientDelete::EndOfPeriod,
            client_can_suspend: true,
            abuse_limit: 100,
            auto_delete_after_days: PURGE_DAYS as u32,
            renew_lead_days: LEAD_DAYS as u32,
            panel_url: None,
            remind_days_before: super::catalog::default_remind_days_before(),
            refund_on_delete: super::catalog::RefundOnDelete::None,
        };
        Self {
            now: start,
            tariffs: [tariff(0), tariff(1)],
            rules,
            account,
            ledger,
            balance,
            services: Vec::new(),
            log: vec![format!("start {} with a balance of {balance}", text(start))],
            verbose,
        }
    }

    fn fail(&self, message: String) -> TestCaseError {
        TestCaseError::fail(format!(
            "{message}\nat {}; what happened:\n  {}",
            text(self.now),
            self.log.join("\n  ")
        ))
    }

    fn note(&mut self, line: impl FnOnce() -> String) {
        if self.verbose {
            self.log.push(line());
        }
    }

    /// Moves the money of a change through the real account, as `operations::move_money`:
    /// `false` (and nothing changed) when the balance cannot cover a charge.
    fn pay(&mut self, money: Money, service: &Service) -> bool {
        let at = timestamp(self.now);
        let entry = match money {
            Money::None | Money::Charge(_, 0) | Money::Credit(0) => return true,
            Money::Charge(kind, amount) => match self.account.charge(kind, amount, Some(&service.id), at) {
                Ok(entry) => entry,
                Err(_) => return false,
            },
            Money::Credit(amount) => self.account.credit(LedgerKind::Refund, amount, Some(&service.id), at),
        };
        self.ledger.push(entry);
        true
    }

    /// The model's side of `pay`.
    fn model_pay(&mut self, money: Money) -> bool {
        match money {
            Money::None => true,
            Money::Charge(_, amount) if amount > self.balance => false,
            Money::Charge(_, amount) => {
                self.balance -= amount;
                true
            }
            Money::Credit(amount) => {
                self.balance += amount;
                true
            }
        }
    }

    /// Commits a change accepted by the domain: its money (which the model must expect to the
    /// minor unit) through the account, then the service and the model's next state. Answers
    /// whether it was committed (a charge the balance cannot cover refuses it).
    fn commit(
        &mut self,
        i: usize,
        change: Change,
        money: Money,
        expected: Money,
        mut next: Model,
        what: &str,
    ) -> Result<bool, TestCaseError> {
        ensure_eq!(self, money, expected, "{what}: the money");
        let service = change.service;
        let paid = self.pay(money, &service);
        let model_paid = self.model_pay(expected);
        ensure_eq!(self, paid, model_paid, "{what}: whether the balance covers {money:?}");
        tally(what, money, paid);
        if paid {
            // The model's own ledger of the service.
            match expected {
                Money::None => {}
                Money::Charge(_, amount) => next.paid_in += amount,
                Money::Credit(amount) => next.paid_back += amount,
            }
            let (balance, paid_in, paid_back) = (self.balance, next.paid_in, next.paid_back);
            self.note(|| {
                format!("  {what}: {money:?}; balance {balance}; service {i} paid {paid_in}, got back {paid_back}")
            });
            self.services[i] = (service, next);
        } else {
            let balance = self.balance;
            self.note(|| format!("  {what}: refused, the balance of {balance} does not cover {money:?}"));
        }
        Ok(paid)
    }

    /// README, "Quotes": the dry run of a change (`quote::line` and `Quote::new`, as
    /// `operations::quote` and the checkout build it) answers what the real call does: each
    /// charge positive and each credit negative, `total` what the balance loses, the same 402
    /// when the balance is short, the months and days paid for, and `expires_at` once the work
    /// is done.
    fn quote(
        &self,
        before: &Service,
        change: &Change,
        charged: u64,
        model: Quoted,
    ) -> Result<(), TestCaseError> {
        let now = timestamp(self.now);
        let line = super::quote::line(before, change, charged, now);
        let amount = model.charge as i64 - model.credit as i64;
        let what = model.what;
        ensure_eq!(self, line.what, model.what, "{what} quote: what");
        ensure_eq!(self, line.amount, amount, "{what} quote: the amount");
        ensure_eq!(self, line.period_months, model.period_months, "{what} quote: the months");
        ensure_eq!(self, line.days, model.days, "{what} quote: the days");
        let quote = Quote::new(vec![line], &[change], self.account.balance, now);
        match quote {
            Ok(quote) => {
                ensure!(self, model.charge <= self.balance, "{what} quote: no 402 for {model:?}");
                ensure_eq!(self, quote.total, amount, "{what} quote: the total");
                ensure_eq!(
                    self,
                    quote.balance_after as i64,
                    self.balance as i64 - amount,
                    "{what} quote: after"
                );
                ensure_eq!(
                    self,
                    quote.expires_at.map(|e| e.unix_seconds()),
                    model.expires_at,
                    "{what} quote: expires_at"
                );
            }
            Err(short) => {
                ensure!(self, model.charge > self.balance, "{what} quote: a 402 ({short}) for {model:?}");
                ensure_eq!(self, short.needed, model.charge, "{what} quote: the 402's amount needed");
            }
        }
        Ok(())
    }

    /// The domain and the model must agree whether a step is accepted, where the model knows.
    fn agree<T>(
        &self,
        what: &str,
        decided: &Result<T, Refusal>,
        expected: Option<bool>,
    ) -> Result<(), TestCaseError> {
        if let Some(expected) = expected {
            if decided.is_ok() != expected {
                let refusal = decided.as_ref().err().map(|r| format!("{r:?}")).unwrap_or_default();
                return Err(self.fail(format!(
                    "{what}: the model expects it {}, the domain {} it {refusal}",
                    if expected { "accepted" } else { "refused" },
                    if decided.is_ok() { "accepted" } else { "refused" },
                )));
            }
        }
        Ok(())
    }

    fn run(&mut self, step: &Step) -> Result<(), TestCaseError> {
        let before: Vec<Service> = self.services.iter().map(|(s, _)| s.clone()).collect();
        let now = self.now;
        self.note(|| format!("{}: {step:?}", text(now)));
        self.apply(step)?;
        for (i, (service, _)) in self.services.iter().enumerate() {
            if let Some(old) = before.get(i) {
                if service.version == old.version {
                    ensure!(self, service == old, "service {i} changed without a new version");
                }
            }
        }
        self.check()
    }

    fn apply(&mut self, step: &Step) -> Result<(), TestCaseError> {
        let now = self.now;
        let at = timestamp(now);
        let count = self.services.len();
        let pick = |i: usize| (count > 0).then(|| i % count);
        match step {
            Step::Wait(seconds) => {
                self.now += seconds;
                Ok(())
            }
            Step::WaitNear { service, periods, of_the_period, offset } => {
                let Some(i) = pick(*service) else { return Ok(()) };
                let m = &self.services[i].1;
                let (Some(expires_at), Some(anchor)) = (m.expires_at, m.anchor) else { return Ok(()) };
                let months = if *of_the_period { m.period_months } else { 1 };
                let target = months_later_on_day(expires_at, -i64::from(periods * months), anchor) + offset;
                if target > now {
                    self.now = target;
                }
                Ok(())
            }
            Step::TopUp(amount) => {
                self.ledger.push(self.account.credit(LedgerKind::Payment, *amount, None, at));
                self.balance += amount;
                Ok(())
            }
            Step::Order { plan, period, auto, ipv4 } => self.order(*plan, *period, *auto, *ipv4),
            Step::Checkout(i) => {
                let Some(i) = pick(*i) else { return Ok(()) };
                self.checkout(i)
            }
            Step::Finish { service, done } => {
                let Some(i) = pick(*service) else { return Ok(()) };
                self.finish(i, *done)
            }
            Step::Abandon(i) => {
                let Some(i) = pick(*i) else { return Ok(()) };
                self.abandon(i)
            }
            Step::Activate(i) => {
                let Some(i) = pick(*i) else { return Ok(()) };
                let (s, m) = &self.services[i];
                let decided = s.activate(&provider(), at);
                self.agree("activate", &decided, Some(m.idle() && m.paid && m.expires_at.is_none()))?;
                let Ok(change) = decided else { return Ok(()) };
                let mut next = m.clone();
                next.start(Work::Activation, 0);
                let money = Money::Charge(LedgerKind::OrderCharge, change.charged());
                self.commit(i, change, money, Money::Charge(LedgerKind::OrderCharge, 0), next, "activate")?;
                Ok(())
            }
            Step::Renew { service, periods, provider } => {
                let Some(i) = pick(*service) else { return Ok(()) };
                self.renew(i, *periods, &actor(*provider)).map(|_| ())
            }
            Step::AutoRenewal => {
                for i in 0..count {
                    self.auto_renew(i)?;
                }
                Ok(())
            }
            Step::ExpirySweep => {
                for i in 0..count {
                    self.expire(i)?;
                }
                Ok(())
            }
            Step::SpecialPrice { service, price } => {
                let Some(i) = pick(*service) else { return Ok(()) };
                let (s, m) = &self.services[i];
                let edit = Edit { renewal_price: Some(*price), ..Edit::default() };
                let decided = s.edit(edit, &self.tariffs[m.plan], &provider(), at);
                self.agree("set the renewal price", &decided, Some(m.idle()))?;
                let Ok(change) = decided else { return Ok(()) };
                let mut next = m.clone();
                // README, "Special prices": a price other than the list price is a special price,
                // kept with the months it was set for; the list price ends it.
                next.renewal_price = *price;
                next.special = (*price != m.list(m.plan, m.auto_months, m.ipv4))
                    .then_some(Special { price: *price, months: m.auto_months });
                self.commit(i, change, Money::None, Money::None, next, "special price")?;
                Ok(())
            }
            Step::Period { service, months, enabled } => {
                let Some(i) = pick(*service) else { return Ok(()) };
                let (s, m) = &self.services[i];
                let auto_renew = AutoRenew { enabled: *enabled, period_months: *months as u16 };
                let edit = Edit { auto_renew: Some(auto_renew), ..Edit::default() };
                let decided = s.edit(edit, &self.tariffs[m.plan], &client(), at);
                let sold = plan_price(m.plan, *months).is_some();
                self.agree("change the auto-renewal", &decided, Some(m.idle() && sold))?;
                let Ok(change) = decided else { return Ok(()) };
                let mut next = m.clone();
                next.renewal_price = m.renewal_for_period(*months);
                next.auto_months = *months;
                next.auto_enabled = *enabled;
                self.commit(i, change, Money::None, Money::None, next, "change the auto-renewal")?;
                Ok(())
            }
            Step::SetExpiry { service, offset, months } => {
                let Some(i) = pick(*service) else { return Ok(()) };
                let (s, m) = &self.services[i];
                let expires_at = match (months, m.expires_at, m.anchor) {
                    (Some(months), Some(expires_at), Some(anchor)) => {
                        months_later_on_day(expires_at, i64::from(*months), anchor)
                    }
                    _ => now + offset,
                };
                let edit = Edit { expires_at: Some(timestamp(expires_at)), ..Edit::default() };
                let decided = s.edit(edit, &self.tariffs[m.plan], &provider(), at);
                self.agree("set expires_at", &decided, Some(m.idle() && m.expires_at.is_some()))?;
                let Ok(change) = decided else { return Ok(()) };
                let mut next = m.clone();
                // README, "Pro rata": time the provider gives is not paid for; `paid_until` (the
                // old expiry when unset) moves back with an earlier expiry, never forward.
                let paid_until = m.paid_until.or(m.expires_at).expect("activated");
                next.paid_until = Some(paid_until.min(expires_at));
                tally_rule(if expires_at > paid_until {
                    "set expires_at: past paid_until (time given)"
                } else {
                    "set expires_at: before paid_until (paid_until moved back)"
                });
                if m.anchor.is_some_and(|anchor| anchor != day_of_month(expires_at)) {
                    next.provider_repriced = true;
                }
                next.expires_at = Some(expires_at);
                next.anchor = Some(day_of_month(expires_at));
                // README, "Withdrawn deletions": a deletion scheduled for the end of the period
                // moves with it.
                next.delete_at = m.delete_at.map(|_| expires_at);
                if m.delete_at.is_some() {
                    tally_rule("set expires_at: a scheduled deletion moved with it");
                }
                self.commit(i, change, Money::None, Money::None, next, "set expires_at")?;
                Ok(())
            }
            Step::Withdraw { service, provider } => {
                let Some(i) = pick(*service) else { return Ok(()) };
                let (s, m) = &self.services[i];
                let edit = Edit { withdraw_deletion: true, ..Edit::default() };
                let decided = s.edit(edit, &self.tariffs[m.plan], &actor(*provider), at);
                self.agree("withdraw the deletion", &decided, Some(m.idle() && m.delete_at.is_some()))?;
                let Ok(change) = decided else { return Ok(()) };
                let mut next = m.clone();
                next.delete_at = None;
                self.commit(i, change, Money::None, Money::None, next, "withdraw the deletion")?;
                Ok(())
            }
            Step::Grace { service, days, offset } => {
                let Some(i) = pick(*service) else { return Ok(()) };
                self.grace(i, *days, *offset)
            }
            Step::ChangeTariff(i) => {
                let Some(i) = pick(*i) else { return Ok(()) };
                self.change_tariff(i)
            }
            Step::Options { service, ipv4 } => {
                let Some(i) = pick(*service) else { return Ok(()) };
                self.change_options(i, *ipv4)
            }
            Step::Address { service, add } => {
                let Some(i) = pick(*service) else { return Ok(()) };
                self.move_address(i, *add)
            }
            Step::Disable { service, provider } => {
                let Some(i) = pick(*service) else { return Ok(()) };
                let (s, m) = &self.services[i];
                let decided = s.disable(&actor(*provider), &self.rules, None, at);
                if m.deleted || m.pending.is_some() {
                    self.agree("suspend", &decided, Some(false))?;
                }
                let Ok(change) = decided else { return Ok(()) };
                self.follow(i, change, "suspend")
            }
            Step::Enable { service, provider } => {
                let Some(i) = pick(*service) else { return Ok(()) };
                let (s, m) = &self.services[i];
                let decided = s.enable(&actor(*provider), at);
                if m.deleted || m.pending.is_some() {
                    self.agree("resume", &decided, Some(false))?;
                }
                let Ok(change) = decided else { return Ok(()) };
                self.follow(i, change, "resume")
            }
            Step::Delete { service, provider } => {
                let Some(i) = pick(*service) else { return Ok(()) };
                self.delete(i, *provider)
            }
        }
    }

    /// A change that moves no money and nothing the model keeps but whether work is pending.
    fn follow(&mut self, i: usize, change: Change, what: &str) -> Result<(), TestCaseError> {
        let mut next = self.services[i].1.clone();
        if change.queued.is_some() {
            next.start(Work::Other, 0);
        }
        self.commit(i, change, Money::None, Money::None, next, what)?;
        Ok(())
    }

    fn order(
        &mut self,
        plan: usize,
        period: u32,
        auto: Option<(bool, u32)>,
        ipv4: u32,
    ) -> Result<(), TestCaseError> {
        if self.services.len() >= MAX_SERVICES {
            return Ok(());
        }
        let principal = Principal { id: ClientId::parse("alice").unwrap(), role: Role::Client };
        let request = OrderRequest {
            client_id: principal.id.clone(),
            period_months: period as u16,
            auto_renew: auto.map(|(enabled, months)| AutoRenew { enabled, period_months: months as u16 }),
            params: BTreeMap::from([("os_template".to_owned(), "debian-12".to_owned())]),
            options: options(ipv4),
            quick: false,
        };
        let placed = place_order(&self.tariffs[plan], request, &principal, timestamp(self.now));
        let Ok((service, _)) = placed else {
            return Err(self.fail(format!("a valid order refused: {placed:?}")));
        };
        let (auto_enabled, auto_months) = auto.unwrap_or((true, period));
        let model = Model {
            plan,
            period_months: period,
            auto_months,
            auto_enabled,
            ipv4,
            order_price: list_price(plan, period, ipv4).unwrap(),
            renewal_price: list_price(plan, auto_months, ipv4).unwrap(),
            special: None,
            paid: false,
            expires_at: None,
            paid_until: None,
            provider_repriced: false,
            anchor: None,
            paid_in: 0,
            paid_back: 0,
            lapsed_since: None,
            grace: None,
            delete_at: None,
            declined_day: None,
            deleted: false,
            pending: None,
        };
        self.services.push((service, model));
        Ok(())
    }

    fn checkout(&mut self, i: usize) -> Result<(), TestCaseError> {
        let at = timestamp(self.now);
        let (s, m) = &self.services[i];
        let decided = s.pay_order(&client(), at);
        self.agree("checkout", &decided, Some(m.idle() && !m.paid))?;
        let Ok(change) = decided else { return Ok(()) };
        // The checkout charges the service's order price (`billing::checkout`), which is what
        // the started activation holds as charged.
        ensure_eq!(self, s.order_price, m.order_price, "the order price");
        ensure_eq!(self, change.charged(), m.order_price, "what the activation holds as charged");
        let now = self.now;
        let activated = months_later_on_day(now, i64::from(m.period_months), day_of_month(now));
        let quoted = Quoted {
            what: "order",
            charge: m.order_price,
            credit: 0,
            period_months: m.period_months,
            days: started_days(now, activated),
            expires_at: Some(activated),
        };
        self.quote(s, &change, s.order_price, quoted)?;
        let mut next = m.clone();
        next.paid = true;
        next.start(Work::Activation, m.order_price);
        let money = Money::Charge(LedgerKind::OrderCharge, s.order_price);
        let expected = Money::Charge(LedgerKind::OrderCharge, m.order_price);
        self.commit(i, change, money, expected, next, "checkout")?;
        Ok(())
    }

    fn finish(&mut self, i: usize, done: bool) -> Result<(), TestCaseError> {
        let now = self.now;
        let (s, m) = &self.services[i];
        ensure_eq!(self, s.pending.is_some(), m.pending.is_some(), "service {i}: work pending");
        let (Some(pending), Some(modelled)) = (&s.pending, &m.pending) else { return Ok(()) };
        let no_resources = !done && modelled.work == Work::Activation;
        let outcome = if no_resources { Outcome::NoResources } else { Outcome::Done };
        let Some(change) = s.finish(&pending.id, outcome, timestamp(now)) else {
            return Err(self.fail("the pending operation cannot be finished".into()));
        };
        let money = Money::Credit(pending.work.credit());
        let mut next = m.clone();
        next.pending = None;
        let mut credit = 0;
        let mut downgrade = None;
        match modelled.work.clone() {
            Work::Activation if no_resources => {}
            Work::Activation => {
                // README: `expires_at` = activation time + the ordered period; the anchor day
                // is the activation's day.
                let day = day_of_month(now);
                next.expires_at = Some(months_later_on_day(now, i64::from(m.period_months), day));
                next.paid_until = next.expires_at;
                next.anchor = Some(day);
            }
            Work::Renewal { expires_at, anchor, paid_until } => {
                next.expires_at = Some(expires_at);
                next.paid_until = Some(paid_until);
                next.anchor = Some(anchor);
            }
            Work::TariffChange { to, renewal_price, credit: c } => {
                next.plan = to;
                next.renewal_price = renewal_price;
                credit = c;
                downgrade = (c > 0).then_some("a tariff change");
            }
            Work::OptionsChange { ipv4, renewal_price, credit: c } => {
                next.ipv4 = ipv4;
                next.renewal_price = renewal_price;
                credit = c;
                downgrade = (c > 0).then_some("an options change");
            }
            Work::Deletion => {
                next.deleted = true;
                next.delete_at = None;
            }
            Work::Other => {}
        }
        self.commit(i, change, money, Money::Credit(credit), next, "finish")?;
        match downgrade {
            Some(what) => self.after_downgrade(i, what),
            None => Ok(()),
        }
    }

    /// README, "Pro rata": a downgrade gives back no more than was paid. On the model's own
    /// ledger of the service, once a downgrade's credit is given under a special price (and at
    /// the list price), the client's net payments for the service are never below zero.
    fn after_downgrade(&self, i: usize, what: &str) -> Result<(), TestCaseError> {
        let m = &self.services[i].1;
        let special = m.special.is_some();
        tally_rule(if special {
            "downgrade credited under a special price"
        } else {
            "downgrade credited at the list price"
        });
        if m.paid_until.zip(m.expires_at).is_some_and(|(paid, expires)| paid < expires) {
            tally_rule("downgrade credited after the provider gave time past paid_until");
        }
        ensure!(
            self,
            m.paid_in >= m.paid_back,
            "after {what}'s credit {}, service {i} has paid {} and got back {}: credited more than it paid",
            if special { "under a special price" } else { "at the list price" },
            m.paid_in,
            m.paid_back
        );
        Ok(())
    }

    fn abandon(&mut self, i: usize) -> Result<(), TestCaseError> {
        let now = self.now;
        let (s, m) = &self.services[i];
        ensure_eq!(self, s.pending.is_some(), m.pending.is_some(), "service {i}: work pending");
        let (Some(pending), Some(modelled)) = (&s.pending, &m.pending) else { return Ok(()) };
        let Some((change, refund)) = s.abandon(&pending.id, "panel down", timestamp(now)) else {
            return Err(self.fail("the pending operation cannot be abandoned".into()));
        };
        // README: the worker restores the service (status, suspension reasons, validity) and
        // refunds what was charged; a paid activation stays paid, with the service.
        let expected = if modelled.work == Work::Activation { 0 } else { modelled.charged };
        let mut next = m.clone();
        next.pending = None;
        next.expires_at = modelled.expires_at;
        next.lapsed_since = modelled.lapsed_since;
        next.delete_at = modelled.delete_at;
        next.declined_day = modelled.declined_day;
        next.grace = modelled.grace;
        self.commit(i, change, Money::Credit(refund), Money::Credit(expected), next, "abandon")?;
        Ok(())
    }

    /// README: a renewal costs `renewal_price` per period of `auto_renew.period_months` and
    /// extends from `expires_at` (from now after a non-payment suspension) to the anchor day
    /// (the day it is renewed from, for a lapsed service); it lifts the non-payment suspension
    /// and withdraws a scheduled deletion.
    fn renewal(&self, m: &Model, periods: u32) -> (Model, u64, Quoted) {
        let now = self.now;
        let (from, anchor) = match m.lapsed_since {
            Some(_) => (now, day_of_month(now)),
            None => (m.expires_at.expect("activated"), m.anchor.expect("anchored")),
        };
        let expires_at = months_later_on_day(from, i64::from(m.auto_months * periods), anchor);
        let paid_from = match m.lapsed_since {
            Some(_) => now,
            None => m.paid_until.unwrap_or(from).min(from).max(now),
        };
        let paid_until =
            months_later_on_day(paid_from, i64::from(m.auto_months * periods), anchor).min(expires_at);
        let charged = m.renewal_price * u64::from(periods);
        let mut next = m.clone();
        next.start(Work::Renewal { expires_at, anchor, paid_until }, charged);
        next.lapsed_since = None;
        next.delete_at = None;
        next.declined_day = None;
        next.grace = None;
        let quoted = Quoted {
            what: "renewal",
            charge: charged,
            credit: 0,
            period_months: m.auto_months * periods,
            days: started_days(from, expires_at),
            expires_at: Some(expires_at),
        };
        (next, charged, quoted)
    }

    fn renew(&mut self, i: usize, periods: u32, actor: &Actor) -> Result<bool, TestCaseError> {
        let at = timestamp(self.now);
        let (s, m) = &self.services[i];
        let decided = s.renew(periods, actor, at);
        self.agree("renew", &decided, Some(m.idle() && m.expires_at.is_some()))?;
        let Ok(change) = decided else { return Ok(false) };
        let (next, charged, quoted) = self.renewal(m, periods);
        self.quote(s, &change, change.charged(), quoted)?;
        if let Some(special) = m.special {
            // No client action brings a renewal below the provider's price for its period.
            let floor = special.for_months(m.auto_months) * u64::from(periods);
            ensure!(
                self,
                change.charged() >= floor,
                "a renewal of {periods} periods of {} months at {} pays less than the special price {} for {} \
                 months ({floor})",
                m.auto_months,
                change.charged(),
                special.price,
                special.months
            );
        }
        let money = Money::Charge(LedgerKind::Renewal, change.charged());
        self.commit(i, change, money, Money::Charge(LedgerKind::Renewal, charged), next, "renew")
    }

    /// README, "Schedules": auto-renewal renews a service with auto-renewal on, active or
    /// suspended by its client, within `renew_lead_days` of expiry, for one period; a short
    /// balance charges nothing and is recorded once a day.
    fn auto_renew(&mut self, i: usize) -> Result<(), TestCaseError> {
        let now = self.now;
        let today = now.div_euclid(DAY);
        let (s, m) = &self.services[i];
        let due = m.auto_enabled
            && m.idle()
            && m.delete_at.is_none()
            && m.lapsed_since.is_none()
            && m.expires_at.is_some_and(|e| e - now <= LEAD_DAYS * DAY)
            && m.declined_day != Some(today)
            && matches!(s.status, Status::Active | Status::Suspended);
        ensure_eq!(self, s.renewal_due(&self.rules, timestamp(now)), due, "service {i}: auto-renewal due");
        if !due {
            return Ok(());
        }
        let system = system("auto-renewal");
        let (_, cost, _) = self.renewal(m, 1);
        if cost > self.balance {
            let Ok(renewal) = s.renew(1, &system, timestamp(now)) else {
                return Err(self.fail("auto-renewal: renew refused".into()));
            };
            ensure_eq!(self, renewal.charged(), cost, "auto-renewal: what it would charge");
            let Some(declined) = s.decline_renewal(cost, self.account.balance, &system, timestamp(now))
            else {
                return Err(self.fail("auto-renewal: a short balance not recorded".into()));
            };
            let mut next = m.clone();
            next.declined_day = Some(today);
            self.commit(i, declined, Money::None, Money::None, next, "auto-renewal declined")?;
            return Ok(());
        }
        let renewed = self.renew(i, 1, &system)?;
        ensure!(self, renewed, "auto-renewal: a covered renewal not made");
        Ok(())
    }

    /// README, "Schedules": the expiry sweep suspends for non-payment every service past
    /// `expires_at`, or deletes it when its client scheduled the deletion; it deletes every
    /// service suspended for non-payment longer than `auto_delete_after_days`.
    fn expire(&mut self, i: usize) -> Result<(), TestCaseError> {
        let now = self.now;
        let system = system("expiry-sweep");
        let (s, m) = &self.services[i];
        let scheduled = m.delete_at.is_some_and(|d| d <= now);
        // README, "Grace": the provider's grace keeps it out of the suspension until it ends.
        let lapses = m.expires_at.is_some_and(|e| e.max(m.grace.unwrap_or(e)) <= now);
        let due = m.idle() && m.lapsed_since.is_none() && (scheduled || lapses);
        let decided = s.expire(&system, timestamp(now));
        self.agree("expiry", &decided, Some(due))?;
        if let Ok(change) = decided {
            let mut next = m.clone();
            if scheduled {
                next.start(Work::Deletion, 0);
            } else {
                if change.queued.is_some() {
                    next.start(Work::Other, 0);
                }
                next.lapsed_since = Some(now);
                next.grace = None;
            }
            self.commit(i, change, Money::None, Money::None, next, "expiry")?;
            return Ok(());
        }
        let (s, m) = &self.services[i];
        let purge = m.idle() && m.lapsed_since.is_some_and(|since| now - since >= PURGE_DAYS * DAY);
        let decided = s.purge(&self.rules, &system, timestamp(now));
        self.agree("purge", &decided, Some(purge))?;
        let Ok(change) = decided else { return Ok(()) };
        let mut next = m.clone();
        next.start(Work::Deletion, 0);
        self.commit(i, change, Money::None, Money::None, next, "purge")?;
        Ok(())
    }

    /// README: the provider always deletes; a client at the end of the period (the sweep
    /// carries it out at `expires_at`); a service never activated is deleted at once and what
    /// was paid for it refunded.
    fn delete(&mut self, i: usize, provider_acts: bool) -> Result<(), TestCaseError> {
        let now = self.now;
        let (s, m) = &self.services[i];
        let decided = s.delete(&actor(provider_acts), &self.rules, timestamp(now));
        let at_end = !provider_acts && m.expires_at.is_some_and(|e| e > now);
        let expected = m.idle() && !(at_end && m.delete_at.is_some());
        self.agree("delete", &decided, Some(expected))?;
        let Ok((change, refund)) = decided else { return Ok(()) };
        let mut next = m.clone();
        let mut expected_refund = 0;
        if at_end {
            next.delete_at = m.expires_at;
        } else if m.expires_at.is_none() {
            next.deleted = true;
            next.delete_at = None;
            expected_refund = if m.paid { m.order_price } else { 0 };
        } else {
            next.start(Work::Deletion, 0);
        }
        self.commit(i, change, Money::Credit(refund), Money::Credit(expected_refund), next, "delete")?;
        Ok(())
    }

    /// README, "Grace": the provider keeps a service that is not yet suspended for
    /// non-payment out of that suspension until `until` (after its expiry, at most 3 months
    /// past it), without changing its paid period or charging anything.
    fn grace(&mut self, i: usize, days: i64, offset: Option<i64>) -> Result<(), TestCaseError> {
        let now = self.now;
        let (s, m) = &self.services[i];
        let Some(expires_at) = m.expires_at else { return Ok(()) };
        let longest = months_later_on_day(expires_at, 3, day_of_month(expires_at));
        let until = offset.map_or(expires_at + days * DAY, |offset| longest + offset);
        let decided = s.grant_grace(timestamp(until), "promised", &provider(), timestamp(now));
        let allowed =
            m.idle() && m.lapsed_since.is_none() && until > now && until > expires_at && until <= longest;
        let running = matches!(
            s.status,
            Status::Active | Status::Suspended | Status::SuspendedByAdmin | Status::SuspendedAbuse
        );
        self.agree("grant a grace", &decided, Some(allowed && running))?;
        let Ok(change) = decided else { return Ok(()) };
        let mut next = m.clone();
        next.grace = Some(until);
        self.commit(i, change, Money::None, Money::None, next, "grace")?;
        Ok(())
    }

    /// README: a tariff change costs, for the time left, the largest of the amounts it comes
    /// to in each period both tariffs sell (the difference of the two tariffs' prices for the
    /// period, with the service's options at each tariff's option price, pro rata to
    /// `expires_at` in periods of that many months); an increase is charged now, a decrease
    /// credited when the panel is done; the renewal price follows the new tariff (under a
    /// special price, by as much as the list price, never below the provider's price). The new
    /// tariff must sell the service's period and its renewal period.
    fn change_tariff(&mut self, i: usize) -> Result<(), TestCaseError> {
        let now = self.now;
        let (s, m) = &self.services[i];
        let to = 1 - m.plan;
        let decided = s.change_tariff(&self.tariffs[m.plan], &self.tariffs[to], &client(), timestamp(now));
        let sold = plan_price(to, m.period_months).is_some() && plan_price(to, m.auto_months).is_some();
        let dearer = sold
            && m.renewal_after(m.list(m.plan, m.auto_months, m.ipv4), m.list(to, m.auto_months, m.ipv4))
                > m.renewal_price;
        let past_paid = dearer && m.past_paid_period(now);
        if m.idle() && past_paid {
            tally_rule("a change to something dearer: refused past the paid period, unless lapsed");
        }
        let expected = if !m.idle() || m.expires_at.is_none() || !sold || past_paid {
            Some(false)
        } else if s.status == Status::Active {
            Some(true)
        } else {
            None
        };
        if m.idle() && m.expires_at.is_some() && !sold {
            tally_rule("tariff change: refused, the new tariff does not sell the service's periods");
        }
        self.agree("change the tariff", &decided, expected)?;
        let Ok((change, charge)) = decided else { return Ok(()) };
        ensure_eq!(self, change.charged(), charge, "a tariff change: what it charges and what it holds");
        let (expires_at, anchor) = (m.expires_at.expect("activated"), m.anchor.expect("anchored"));
        let left = m.left();
        let amounts = tariff_change_amounts(m.plan, to, m.ipv4, &left, now);
        ensure!(
            self,
            amounts.len() == PLANS[m.plan].prices.len(),
            "the model prices a tariff change by every period the old tariff sells: {amounts:?}"
        );
        let (amount, months) = largest(&amounts);
        let at_own = |own: u32| amounts.iter().find(|(m, _)| *m == own).map(|(_, a)| *a);
        let own = at_own(m.period_months).expect("the new tariff sells the service's period");
        tally_rule(match (amount.signum(), own == amount) {
            (0, _) => "tariff change: nothing to price",
            (1, true) => "tariff change, a charge: the largest at the service's period",
            (1, false) => "tariff change, a charge: the largest only at another period",
            (_, true) => "tariff change, a credit: the largest at the service's period",
            (_, false) => "tariff change, a credit: the largest only at another period",
        });
        if own != amount {
            tally_rule(&format!(
                "tariff change: priced by {months} months, the service's period {}",
                m.period_months
            ));
        }
        let differences = tariff_differences(m.plan, to, m.ipv4);
        // Every period's amount to `expires_at`, uncapped, as before paid_until was kept.
        let to_expiry: Vec<(u32, i64)> = differences
            .iter()
            .map(|&(months, difference)| (months, pro_rata(difference, months, expires_at, anchor, now)))
            .collect();
        if amount < 0 {
            let difference = differences.iter().find(|(m, _)| *m == months).map_or(0, |(_, d)| *d);
            tally_credit("tariff change", &left, difference, months, now);
            // Which period holds may differ once the credits run to paid_until and are capped.
            if largest(&to_expiry).1 != months {
                tally_rule(
                    "tariff change credit: another period holds than it would to expires_at, uncapped",
                );
            }
        }
        // The reviewer's invariant, checked on the domain's own figures: a tariff change
        // charges at least, and credits at most, what the time left comes to at the service's
        // own order period and at its renewal period (a downgrade never gives back more than
        // the time left was bought at, in either).
        let domain_credit = change.service.pending.as_ref().map_or(0, |p| p.work.credit());
        let domain_amount = charge as i64 - domain_credit as i64;
        let bounded = !m.provider_repriced;
        for (what, own) in
            [("order", m.period_months), ("renewal", m.auto_months)].into_iter().filter(|_| bounded)
        {
            let bound = pro_rata(
                m.list(to, own, m.ipv4) as i64 - m.list(m.plan, own, m.ipv4) as i64,
                own,
                expires_at,
                anchor,
                now,
            );
            ensure!(
                self,
                domain_amount >= bound,
                "a tariff change moves {domain_amount} (a credit when negative), beyond the pro rata \
                 difference {bound} at the service's {what} period of {own} months"
            );
        }
        if bounded {
            self.time_given_not_credited("a tariff change", domain_amount, largest(&to_expiry).0)?;
        }
        // README, "Pro rata": a credit never gives back more than the time paid for costs at the
        // renewal price, on the domain's own figures.
        ensure!(
            self,
            domain_amount >= left.cap(now).min(0),
            "a tariff change credits {}, more than the time paid for at the renewal price ({})",
            -domain_amount,
            -left.cap(now)
        );
        let renewal_price =
            m.renewal_after(m.list(m.plan, m.auto_months, m.ipv4), m.list(to, m.auto_months, m.ipv4));
        let work = |credit| Work::TariffChange { to, renewal_price, credit };
        let kind = (LedgerKind::TariffChange, "tariff_change", "change the tariff");
        self.start_change(i, change, charge, amount, work, kind)
    }

    /// Checks a tariff or options change the domain decided (`change`, charging `charge`)
    /// against the model's `amount`: its quote, the credit it holds for when it is done, and
    /// its charge; then commits it. `kind` is its ledger kind, quote line and step's name.
    fn start_change(
        &mut self,
        i: usize,
        change: Change,
        charge: u64,
        amount: i64,
        work: impl FnOnce(u64) -> Work,
        (ledger, what, step): (LedgerKind, &'static str, &str),
    ) -> Result<(), TestCaseError> {
        let (s, m) = &self.services[i];
        let credit = (-amount).max(0) as u64;
        let charged = amount.max(0) as u64;
        // The quote's line names the service's period, whichever period priced the change.
        let quoted = Quoted {
            what,
            charge: charged,
            credit,
            period_months: m.period_months,
            days: started_days(self.now, m.expires_at.unwrap()),
            expires_at: m.expires_at,
        };
        self.quote(s, &change, charge, quoted)?;
        let mut next = m.clone();
        next.start(work(credit), charged);
        ensure_eq!(
            self,
            change.service.pending.as_ref().map(|p| p.work.credit()),
            Some(credit),
            "the credit to come"
        );
        let money = Money::Charge(ledger, charge);
        self.commit(i, change, money, Money::Charge(ledger, charged), next, step)?;
        Ok(())
    }

    /// README: an options change costs the difference of the options' monthly prices times
    /// the period, pro rata to `expires_at`, as a tariff change.
    fn change_options(&mut self, i: usize, ipv4: u32) -> Result<(), TestCaseError> {
        let now = self.now;
        let (s, m) = &self.services[i];
        let decided = s.change_options(&self.tariffs[m.plan], options(ipv4), &client(), timestamp(now));
        let expected = m.idle()
            && m.expires_at.is_some()
            && !(ipv4 > m.ipv4 && m.past_paid_period(now))
            && s.status == Status::Active
            && ipv4 <= IPV4_MAX;
        self.agree("change the options", &decided, Some(expected))?;
        let Ok((change, charge)) = decided else { return Ok(()) };
        ensure_eq!(self, change.charged(), charge, "an options change: what it charges and what it holds");
        let monthly = PLANS[m.plan].ipv4 as i64 * (i64::from(ipv4) - i64::from(m.ipv4));
        let amount = m.options_amount("options change", monthly, now);
        let domain_credit = change.service.pending.as_ref().map_or(0, |p| p.work.credit());
        let to_expiry = m.options_to_expiry(monthly, now);
        if !m.provider_repriced {
            self.time_given_not_credited(
                "an options change",
                charge as i64 - domain_credit as i64,
                to_expiry,
            )?;
        }
        let renewal_price =
            m.renewal_after(m.list(m.plan, m.auto_months, m.ipv4), m.list(m.plan, m.auto_months, ipv4));
        let work = |credit| Work::OptionsChange { ipv4, renewal_price, credit };
        let kind = (LedgerKind::Options, "options_change", "change the options");
        self.start_change(i, change, charge, amount, work, kind)
    }

    /// README, "Settings": an extra IPv4 address sold as an option moves the option's
    /// quantity and is charged (or on removal credited) for the days left, as an options
    /// change, at once.
    fn move_address(&mut self, i: usize, add: bool) -> Result<(), TestCaseError> {
        let now = self.now;
        let (s, m) = &self.services[i];
        let tariff = &self.tariffs[m.plan];
        let held = 1 + ipv4_of(s);
        let delta = if add { 1 } else { -1 };
        let decided = s
            .ensure_setting(Setting::IpAddresses)
            .and_then(|()| s.move_address(tariff, IpVersion::V4, held, delta, timestamp(now)));
        let possible = if add { m.ipv4 < IPV4_MAX } else { m.ipv4 > 0 };
        let expected = m.idle()
            && m.expires_at.is_some()
            && !(add && m.past_paid_period(now))
            && s.status == Status::Active
            && possible;
        self.agree("move an address", &decided, Some(expected))?;
        let Ok(moved) = decided else { return Ok(()) };
        let Some(moved) = moved else {
            return Err(self.fail("a paid address moved no option".into()));
        };
        let address = IpAddress { address: "192.0.2.7".into(), version: IpVersion::V4 };
        let change = s.address_changed(&address, add, Some(&moved), &client(), timestamp(now));
        let ipv4 = m.ipv4.checked_add_signed(delta).unwrap();
        let monthly = PLANS[m.plan].ipv4 as i64 * i64::from(delta);
        let amount = m.options_amount("address", monthly, now);
        if !m.provider_repriced {
            self.time_given_not_credited(
                "an address moved",
                moved.amount,
                m.options_to_expiry(monthly, now),
            )?;
        }
        let mut next = m.clone();
        next.ipv4 = ipv4;
        next.renewal_price =
            m.renewal_after(m.list(m.plan, m.auto_months, m.ipv4), m.list(m.plan, m.auto_months, ipv4));
        let to_money = |amount: i64| match amount {
            a if a > 0 => Money::Charge(LedgerKind::Options, a as u64),
            a if a < 0 => Money::Credit(a.unsigned_abs()),
            _ => Money::None,
        };
        let committed =
            self.commit(i, change, to_money(moved.amount), to_money(amount), next, "move an address")?;
        if committed && amount < 0 {
            return self.after_downgrade(i, "an address removed");
        }
        Ok(())
    }

    /// README, "Pro rata": time the provider gives is not paid for, so it never adds to a
    /// credit: on the domain's own figures, a change never credits more than the same change
    /// would to `expires_at` (`to_expiry`, uncapped, from every period the change is priced
    /// by), as counted before `paid_until` was kept.
    fn time_given_not_credited(
        &self,
        what: &str,
        domain_amount: i64,
        to_expiry: i64,
    ) -> Result<(), TestCaseError> {
        ensure!(
            self,
            domain_amount >= to_expiry.min(0),
            "{what} credits {}, more than the same change to expires_at ({}): time the provider gave, \
             or more, credited",
            -domain_amount,
            -to_expiry
        );
        Ok(())
    }

    /// What must hold after every step.
    fn check(&self) -> Result<(), TestCaseError> {
        ensure_eq!(self, self.account.balance, self.balance, "the balance");
        let total: i64 = self.ledger.iter().map(|e| e.amount).sum();
        ensure_eq!(self, total, self.account.balance as i64, "the ledger's sum");
        let mut running = 0i64;
        for entry in &self.ledger {
            running += entry.amount;
            ensure_eq!(self, entry.balance_after as i64, running, "a ledger entry's balance_after");
        }
        for (i, (s, m)) in self.services.iter().enumerate() {
            ensure_eq!(self, s.expires_at.map(|e| e.unix_seconds()), m.expires_at, "service {i}: expires_at");
            ensure_eq!(self, s.anchor_day.map(u32::from), m.anchor, "service {i}: the anchor day");
            ensure_eq!(self, s.paid_until.map(|p| p.unix_seconds()), m.paid_until, "service {i}: paid_until");
            ensure_eq!(self, s.renewal_price, m.renewal_price, "service {i}: the renewal price");
            ensure_eq!(self, s.special_price, m.special.is_some(), "service {i}: a special price");
            ensure_eq!(
                self,
                s.special.map(|set| (set.price, u32::from(set.months))),
                m.special.map(|set| (set.price, set.months)),
                "service {i}: the special price as set"
            );
            ensure_eq!(self, s.tariff_id.as_str(), PLANS[m.plan].id, "service {i}: the tariff");
            ensure_eq!(self, ipv4_of(s), m.ipv4, "service {i}: the ipv4 option");
            ensure_eq!(self, s.options.len(), usize::from(m.ipv4 > 0), "service {i}: the options");
            ensure_eq!(self, s.order_price, m.order_price, "service {i}: the order price");
            ensure_eq!(
                self,
                u32::from(s.auto_renew.period_months),
                m.auto_months,
                "service {i}: the renewal period"
            );
            ensure_eq!(self, s.auto_renew.enabled, m.auto_enabled, "service {i}: auto-renewal on");
            ensure_eq!(self, u32::from(s.period_months), m.period_months, "service {i}: the period");
            ensure_eq!(self, s.paid, m.paid, "service {i}: paid");
            ensure_eq!(self, s.delete_at.map(|d| d.unix_seconds()), m.delete_at, "service {i}: delete_at");
            ensure_eq!(self, s.grace.as_ref().map(|g| g.until.unix_seconds()), m.grace, "service {i}: grace");
            ensure_eq!(self, s.status == Status::Deleted, m.deleted, "service {i}: deleted");
            ensure_eq!(self, s.pending.is_some(), m.pending.is_some(), "service {i}: work pending");
            ensure_eq!(
                self,
                s.holds.contains(&Hold::NonPayment),
                m.lapsed_since.is_some(),
                "service {i}: lapsed"
            );
            ensure_eq!(
                self,
                s.non_payment_since.map(|t| t.unix_seconds()),
                m.lapsed_since,
                "service {i}: since"
            );
            if let Some(p) = &s.pending {
                ensure_eq!(
                    self,
                    p.charged,
                    m.pending.as_ref().unwrap().charged,
                    "service {i}: what the work holds"
                );
            }
            if let Some(special) = m.special {
                // No client action brings the renewal price below the provider's price as set,
                // at its price per month for the renewal months, rounded up.
                let floor = special.for_months(u32::from(s.auto_renew.period_months));
                ensure!(
                    self,
                    s.renewal_price >= floor,
                    "service {i}: renewal price {} for {} months is below the special price {} for {} months \
                     ({floor})",
                    s.renewal_price,
                    s.auto_renew.period_months,
                    special.price,
                    special.months
                );
            }
            // The model's own invariant: an expiry falls on the anchor day, or on the last day
            // of a shorter month.
            if let (Some(expires_at), Some(anchor)) = (m.expires_at, m.anchor) {
                let (y, mo, d, _) = civil(expires_at);
                ensure_eq!(self, d, anchor.min(month_length(y, mo)), "service {i}: the model's expiry day");
            }
        }
        Ok(())
    }
}

/// With `MONEY_MODEL_STATS` set, how often each kind of committed change moved which money
/// (printed at the end of the run), to see what the cases cover.
static TALLY: std::sync::Mutex<BTreeMap<String, u64>> = std::sync::Mutex::new(BTreeMap::new());

fn tallying() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("MONEY_MODEL_STATS").is_some())
}

/// Counts an event of the model's rules (as the model works it out, whether or not the change
/// is then committed), with `MONEY_MODEL_STATS` set.
fn tally_rule(event: &str) {
    if tallying() {
        *TALLY.lock().unwrap().entry(format!("rule: {event}")).or_default() += 1;
    }
}

fn tally(what: &str, money: Money, paid: bool) {
    if !tallying() {
        return;
    }
    let moved = match money {
        _ if !paid => "refused: balance short",
        Money::None | Money::Charge(_, 0) | Money::Credit(0) => "no money",
        Money::Charge(..) => "charge",
        Money::Credit(_) => "credit",
    };
    *TALLY.lock().unwrap().entry(format!("{what}: {moved}")).or_default() += 1;
}

/// Runs a case; a failing one is run again, telling what happened.
fn run_case(case: &Case) -> Result<(), TestCaseError> {
    run_told(case, false).map_err(|failure| run_told(case, true).err().unwrap_or(failure))
}

fn run_told(case: &Case, verbose: bool) -> Result<(), TestCaseError> {
    let mut world = World::new(case.start, case.balance, verbose);
    let Step::Order { plan, period, auto, ipv4 } = case.first.clone() else { unreachable!() };
    world.order(plan, period, auto, ipv4)?;
    world.run(&Step::Checkout(0))?;
    world.run(&Step::Finish { service: 0, done: true })?;
    for step in &case.steps {
        world.run(step)?;
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("MONEY_MODEL_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000)
}

#[test]
fn the_money_follows_the_reference_model() {
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        // ChaCha, the default, takes most of the time of a debug build.
        rng_algorithm: RngAlgorithm::XorShift,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let outcome = runner.run(&case(), |case| run_case(&case));
    if tallying() {
        for (what, count) in TALLY.lock().unwrap().iter() {
            println!("{count:>9}  {what}");
        }
    }
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}

// ---------------------------------------------------------------------------------------------
// The model's calendar and rules, checked on their own.

#[test]
fn the_model_calendar_agrees_with_rfc_3339() {
    for days in day_number(1999, 12, 1)..day_number(2033, 3, 1) {
        let at = days * DAY + 12_345;
        let (y, m, d, s) = civil(at);
        assert_eq!(instant(y, m, d, s), at);
        let parsed = Timestamp::parse(&text(at)).expect("a valid time");
        assert_eq!(parsed.unix_seconds(), at, "{}", text(at));
        assert_eq!(timestamp(at).to_string()[..19], text(at)[..19]);
    }
    assert_eq!(text(instant(2024, 2, 29, 0)), "2024-02-29T00:00:00Z");
    assert_eq!(instant(1970, 1, 1, 0), 0);
}

#[test]
fn the_model_adds_months_on_the_anchor_day() {
    let jan31 = instant(2027, 1, 31, 36_000);
    let feb28 = months_later_on_day(jan31, 1, 31);
    assert_eq!(text(feb28), "2027-02-28T10:00:00Z");
    assert_eq!(text(months_later_on_day(feb28, 1, 31)), "2027-03-31T10:00:00Z");
    assert_eq!(text(months_later_on_day(jan31, 13, 31)), "2028-02-29T10:00:00Z");
    assert_eq!(text(months_later_on_day(jan31, -2, 31)), "2026-11-30T10:00:00Z");
    assert_eq!(text(months_later_on_day(jan31, -12 * 30, 29)), "1997-01-29T10:00:00Z");
}

#[test]
fn the_model_prorates_as_the_readme_says() {
    let at = |y, m, d| instant(y, m, d, 0);
    // November has 30 days; 15 of them are left.
    assert_eq!(pro_rata(3000, 1, at(2026, 12, 1), 1, at(2026, 11, 16)), 1500);
    assert_eq!(pro_rata(3000, 1, at(2026, 12, 1), 1, at(2026, 11, 16) + 1), 1500);
    assert_eq!(pro_rata(3000, 1, at(2026, 12, 1), 1, at(2026, 11, 16) - 1), 1600);
    // A credit counts only the days not started: 14 of the 30 a second into Nov 16, none once
    // the last day started; 1000 over 30 days, one day not started: 33.3 credited as 33.
    assert_eq!(pro_rata(-3000, 1, at(2026, 12, 1), 1, at(2026, 11, 16)), -1500);
    assert_eq!(pro_rata(-3000, 1, at(2026, 12, 1), 1, at(2026, 11, 16) + 1), -1400);
    assert_eq!(pro_rata(-1000, 1, at(2026, 12, 1), 1, at(2026, 11, 30) + DAY / 2), 0);
    assert_eq!(pro_rata(-1000, 1, at(2026, 12, 1), 1, at(2026, 11, 29) + DAY / 2), -33);
    assert_eq!(pro_rata(1000, 1, at(2026, 12, 1), 1, at(2026, 11, 30) + DAY / 2), 34);
    // Ten months renewed ahead: ten whole periods, and 15 of the 31 days of the started one.
    assert_eq!(pro_rata(310, 1, at(2027, 12, 1), 1, at(2027, 1, 17)), 10 * 310 + 150);
    assert_eq!(pro_rata(500, 1, at(2027, 12, 1), 1, at(2026, 12, 1)), 12 * 500);
    assert_eq!(pro_rata(500, 1, at(2027, 12, 1), 1, at(2027, 12, 1)), 0);
    // Anchored on the 31st, expiring on Apr 30: the period is Mar 31 to Apr 30, 30 days.
    assert_eq!(pro_rata(3000, 1, at(2027, 4, 30), 31, at(2027, 4, 15)), 1500);
    // Activated on 29 January 2023, expiring on 28 February: the period began on 29 January,
    // and an upgrade then costs the whole difference (not 30 of the 31 days from 28 January).
    assert_eq!(pro_rata(500, 1, at(2023, 2, 28), 29, at(2023, 1, 29)), 500);
    assert_eq!(pro_rata(-500, 1, at(2023, 2, 28), 29, at(2023, 1, 29)), -500);
    // Anchored on the 31st, expiring on 28 February 2027: the period is Jan 31 to Feb 28, 28
    // days, 14 of them left.
    assert_eq!(pro_rata(2800, 1, at(2027, 2, 28), 31, at(2027, 2, 14)), 1400);
    // Periods of 12 months anchored on the 31st, expiring on 31 March 2028: the started one
    // began on 31 March 2027 (366 days), 183 of them left from 30 September; from 31 March
    // 2026, two whole periods.
    assert_eq!(pro_rata(366, 12, at(2028, 3, 31), 31, at(2027, 9, 30)), 183);
    assert_eq!(pro_rata(366, 12, at(2028, 3, 31), 31, at(2026, 3, 31)), 2 * 366);
}

#[test]
fn the_model_prices_a_tariff_change_by_every_period_the_old_tariff_sells() {
    let at = |y, m, d| instant(y, m, d, 0);
    let (expires_at, now) = (at(2028, 1, 1), at(2027, 1, 1));
    // All of it paid for, at a renewal price that caps nothing.
    let left = Left {
        expires_at,
        paid_until: expires_at,
        anchor: 1,
        renewal_price: 1_000_000,
        renewal_months: 1,
        net_paid: i64::MAX,
    };
    // A year left, on the anchor day: twelve months of 500, four quarters of 1550, or one
    // year of 5000. An upgrade pays the most (the quarters), a downgrade gets back the least:
    // 24 months, which only `vps-pro` sells (18000), priced for `vps-start` at its lowest rate
    // a month (5000 a year: 10000), half of which is the year left.
    let up = tariff_change_amounts(0, 1, 0, &left, now);
    assert_eq!(up, vec![(1, 6000), (3, 6200), (12, 5000)]);
    assert_eq!(largest(&up), (6200, 3));
    let down = tariff_change_amounts(1, 0, 0, &left, now);
    assert_eq!(down, vec![(1, -6000), (3, -6200), (12, -5000), (24, -4000)]);
    assert_eq!(largest(&down), (-4000, 24));
    // A second later a credit counts the days not started: 364 of 365 (-4986.3), 30 of
    // January's 31 after eleven months (-5500 - 483.9), 89 of the quarter's 90 after three
    // quarters (-4650 - 1532.8), each rounded towards zero.
    let down = tariff_change_amounts(1, 0, 0, &left, now + 1);
    assert_eq!(down, vec![(1, -5983), (3, -6182), (12, -4986), (24, -3989)]);
    // With two addresses, at 100 and 130 a month: 60 more a month in each period.
    let up = tariff_change_amounts(0, 1, 2, &left, now);
    assert_eq!(up, vec![(1, 6720), (3, 6920), (12, 5720)]);
}

#[test]
fn the_model_keeps_special_prices_as_the_readme_says() {
    let monthly = Special { price: 400, months: 1 };
    // 400 for 1 month becomes 4800 for 12, and 400 again for 1.
    assert_eq!(special_for_period(400, monthly, 1, 12), 4800);
    assert_eq!(special_for_period(4800, monthly, 12, 1), 400);
    // 400 (list 500) becomes 800 with four addresses at 100, and 400 again without them.
    assert_eq!(special_after_change(400, monthly, 1, 500, 900), 800);
    assert_eq!(special_after_change(800, monthly, 1, 900, 500), 400);
    // A fall below the provider's price stops at it: a downgrade from 1000 to 500 a month.
    assert_eq!(special_after_change(400, monthly, 1, 1000, 500), 400);
    assert_eq!(special_after_change(900, monthly, 1, 1000, 500), 400);
    assert_eq!(special_after_change(1200, monthly, 1, 1000, 500), 700);
    // What the client's changes added is scaled with the provider's price, each rounded up.
    assert_eq!(special_for_period(800, monthly, 1, 12), 4800 + 4800);
    let yearly = Special { price: 401, months: 12 };
    assert_eq!(special_for_period(401, yearly, 12, 1), 34, "401/12 rounded up");
    assert_eq!(special_for_period(34, yearly, 1, 12), 401, "the provider's price as set");
    assert_eq!(special_for_period(1601, yearly, 12, 1), 34 + 100);
    assert_eq!(special_for_period(1602, yearly, 12, 1), 34 + 101);
    assert_eq!(special_for_period(134, yearly, 1, 12), 401 + 1200);
    // Under the floor for the old months (the provider's 401 a year read for a month), nothing
    // was added.
    assert_eq!(special_for_period(34, yearly, 1, 1), 34);
    assert_eq!(per_month_for(401, 12, 3), 101);
    assert_eq!(per_month_for(400, 12, 3), 100);
}

#[test]
fn the_model_credits_only_the_time_paid_for_at_most_at_the_renewal_price() {
    let at = |y, m, d| instant(y, m, d, 0);
    let (now, paid_until) = (at(2027, 1, 1), at(2027, 2, 1));
    // A month paid for, six more the provider gave: a downgrade gets back one month of the
    // difference, an upgrade pays all seven.
    let given = Left {
        expires_at: at(2027, 8, 1),
        paid_until,
        anchor: 1,
        renewal_price: 1000,
        renewal_months: 1,
        net_paid: i64::MAX,
    };
    assert_eq!(given.amount(-500, 1, now), -500);
    assert_eq!(given.amount(500, 1, now), 7 * 500);
    // (24 months: 8000 less, a month of 730 days' period left: -339.7.)
    assert_eq!(
        tariff_change_amounts(1, 0, 0, &given, now),
        vec![(1, -500), (3, -522), (12, -424), (24, -339)]
    );
    // A second later, 30 of January's 31 days not started: -483.87 towards zero.
    assert_eq!(given.amount(-500, 1, now + 1), -483);
    // Once paid_until is past, nothing is credited, and a charge still runs to expires_at.
    assert_eq!(given.amount(-500, 1, paid_until), 0);
    assert_eq!(given.amount(500, 1, paid_until), 6 * 500);
    // Eleven months paid at a special price of 1 a month: the credit is 11 at most, from
    // whichever period; a second into the first month, 10 and 30/31 of 1, towards zero: 10.
    let special = Left {
        expires_at: at(2027, 12, 1),
        paid_until: at(2027, 12, 1),
        anchor: 1,
        renewal_price: 1,
        renewal_months: 1,
        net_paid: i64::MAX,
    };
    assert_eq!(
        tariff_change_amounts(1, 0, 0, &special, at(2027, 1, 1)),
        vec![(1, -11), (3, -11), (12, -11), (24, -11)]
    );
    assert_eq!(special.amount(-500, 1, at(2027, 1, 1) + 1), -10);
    assert_eq!(special.cap(at(2027, 1, 1)), -11);
    // A renewal price of 12 for 12 months caps the same time at the same price per month,
    // counted in a year's days: 334 of 365 (10.98), towards zero.
    let yearly = Left { renewal_price: 12, renewal_months: 12, ..special };
    assert_eq!(yearly.amount(-500, 1, at(2027, 1, 1)), -10);
    // The cap does not touch a charge.
    assert_eq!(yearly.amount(500, 1, at(2027, 1, 1)), 11 * 500);
}
