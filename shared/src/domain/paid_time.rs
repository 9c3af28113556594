//! A service's paid time as a record, like an invoice's lines: stretches `[from, to)` of its
//! validity, each with what was charged for it line by line (the tariff, each option) and the
//! period length it was bought in. Activation, renewals, changes and credits write it in the
//! same transaction as the ledger entry; every credit and charge of a change is worked out from
//! it (what the time left was paid), never from today's prices alone.
//!
//! docs/money.md states the rules with worked examples.

use super::amount::{checked, days_started};
use super::catalog::Tariff;
use super::refusal::Refusal;
use super::{TariffId, Timestamp};
use serde::{Deserialize, Serialize};

/// A quantity of one of the tariff's options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionLine {
    pub id: String,
    pub quantity: u32,
}

const DAY: i64 = 86_400;

/// Whether a stretch was paid for, given by the provider, or ran unpaid on a grace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StretchKind {
    /// Bought: its lines are what the client paid for it.
    Paid,
    /// Given by the provider (`expires_at` moved past the paid time): nothing paid, never
    /// credited, never charged for.
    Given,
    /// Ran past the paid time on a grace, on a configuration the client has since left: its
    /// lines are owed, at the renewal price it ran at, and the next renewal charges them first.
    Owed,
}

/// The part of a configuration a line is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Tariff,
    Option,
}

/// What one part of a configuration was charged for a stretch: the tariff (`id` the tariff's)
/// or one option (`id` the option's), in minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaidLine {
    pub kind: LineKind,
    pub id: String,
    pub amount: u64,
}

/// A stretch of a service's validity with what it was charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stretch {
    pub from: Timestamp,
    pub to: Timestamp,
    pub kind: StretchKind,
    pub tariff_id: TariffId,
    #[serde(default)]
    pub options: Vec<OptionLine>,
    /// The period it was bought in (a renewal's, the order's): another configuration's price
    /// for this time is that configuration's price for this period.
    pub months: u16,
    /// The calendar months and days of the purchase it comes from (a change splits a stretch;
    /// its pieces keep them): `span_months` months of the period's price spread over
    /// `span_days` days.
    pub span_months: u32,
    pub span_days: u32,
    pub lines: Vec<PaidLine>,
    /// Paid for in the billing system the service was imported from (`domain::import`): what
    /// the client paid there for the period it was in, credited as any paid time is.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub imported: bool,
}

impl Stretch {
    /// What was charged for it.
    pub fn amount(&self) -> u64 {
        self.lines.iter().map(|l| l.amount).sum()
    }

    /// Its length in days, a started day whole (at least one).
    fn days(&self) -> i64 {
        days_started(self.from, self.to).max(1)
    }

    /// The days of it after `at`: all of them before it starts; after its start, the day of
    /// `at` counting whole (`today_counts`) or not at all.
    fn days_after(&self, at: Timestamp, today_counts: bool) -> i64 {
        if at <= self.from {
            return self.days();
        }
        if at >= self.to {
            return 0;
        }
        let left = if today_counts { days_started(at, self.to) } else { at.seconds_until(self.to) / DAY };
        left.clamp(0, self.days())
    }

    /// Its share after `at` as seconds of its seconds: the days after `at` as `days_after`
    /// counts them, never more than all of it. In seconds, so that a stretch a change split in
    /// the middle of a day does not count that day whole among its own.
    fn share_after(&self, at: Timestamp, today_counts: bool) -> (i64, i64) {
        let whole = self.from.seconds_until(self.to).max(1);
        if at <= self.from {
            return (whole, whole);
        }
        ((self.days_after(at, today_counts) * DAY).min(whole), whole)
    }

    /// Its lines' share after `at` (see `share_after`), each rounded down.
    fn lines_after(&self, at: Timestamp, today_counts: bool) -> Vec<PaidLine> {
        let (part, whole) = self.share_after(at, today_counts);
        self.lines.iter().map(|l| PaidLine { amount: share(l.amount, part, whole), ..l.clone() }).collect()
    }
}

/// The configuration a service holds: its tariff and options.
#[derive(Debug, Clone, Copy)]
pub struct Holding<'a> {
    pub tariff: &'a Tariff,
    pub options: &'a [OptionLine],
}

/// The list-price lines of `months` of a configuration: the tariff's price for the period (a
/// period it does not sell: its lowest rate a month, rounded up) and each option's price a
/// unit a month, times its quantity and the months.
pub fn list_lines(holding: Holding, months: u16) -> Result<Vec<PaidLine>, Refusal> {
    let tariff = holding.tariff;
    let price = match tariff.prices.for_period(months) {
        Some(price) => price,
        None => lowest_rate(tariff, months)?,
    };
    let mut lines = vec![PaidLine { kind: LineKind::Tariff, id: tariff.id.to_string(), amount: price }];
    for line in holding.options {
        let offer = tariff
            .option(&line.id)
            .ok_or_else(|| Refusal::Invalid(format!("tariff `{}` has no option `{}`", tariff.id, line.id)))?;
        let amount = u128::from(offer.price) * u128::from(line.quantity) * u128::from(months);
        lines.push(PaidLine { kind: LineKind::Option, id: line.id.clone(), amount: fits(amount)? });
    }
    Ok(lines)
}

/// `months` of `tariff` at its lowest price a month over the periods it sells, rounded up.
fn lowest_rate(tariff: &Tariff, months: u16) -> Result<u64, Refusal> {
    let mut lowest: Option<u64> = None;
    for sold in tariff.prices.periods() {
        let price = tariff.prices.for_period(sold).unwrap_or(0);
        let scaled = (u128::from(price) * u128::from(months)).div_ceil(u128::from(sold.max(1)));
        let scaled = fits(scaled)?;
        lowest = Some(lowest.map_or(scaled, |l| l.min(scaled)));
    }
    lowest.ok_or_else(|| Refusal::Invalid(format!("tariff `{}` sells no period", tariff.id)))
}

fn fits(amount: u128) -> Result<u64, Refusal> {
    checked(u64::try_from(amount).ok().filter(|a| *a <= super::amount::MAX_AMOUNT))
}

/// The sum of some lines.
pub fn total(lines: &[PaidLine]) -> u64 {
    lines.iter().map(|l| l.amount).sum()
}

/// `lines` scaled to add up to `amount`, each in proportion, rounded down, what rounding
/// leaves on the first (the tariff's) line.
pub fn scaled_to(lines: &[PaidLine], amount: u64) -> Vec<PaidLine> {
    let sum = total(lines);
    let mut scaled: Vec<PaidLine> = lines
        .iter()
        .map(|l| PaidLine {
            amount: if sum == 0 {
                0
            } else {
                (u128::from(l.amount) * u128::from(amount) / u128::from(sum)) as u64
            },
            ..l.clone()
        })
        .collect();
    let rest = amount.saturating_sub(total(&scaled));
    match scaled.first_mut() {
        Some(first) => first.amount += rest,
        None if amount > 0 => scaled.push(PaidLine { kind: LineKind::Tariff, id: String::new(), amount }),
        None => {}
    }
    scaled
}

/// A stretch bought now: `[from, to)` of `holding` at `lines`, in periods of `months`.
pub fn bought(
    from: Timestamp,
    to: Timestamp,
    months: u16,
    span_months: u32,
    tariff_id: &TariffId,
    options: &[OptionLine],
    lines: Vec<PaidLine>,
) -> Stretch {
    Stretch {
        from,
        to,
        kind: StretchKind::Paid,
        tariff_id: tariff_id.clone(),
        options: options.to_vec(),
        months,
        span_months,
        span_days: days_started(from, to).max(1) as u32,
        lines,
        imported: false,
    }
}

/// The record's end: where its last stretch paid for or given ends (owed stretches, past the
/// validity, not counted).
pub fn covered_until(record: &[Stretch]) -> Option<Timestamp> {
    record.iter().filter(|s| s.kind != StretchKind::Owed).map(|s| s.to).max()
}

/// The end of the time paid for.
pub fn paid_until(record: &[Stretch]) -> Option<Timestamp> {
    record.iter().filter(|s| s.kind == StretchKind::Paid).map(|s| s.to).max()
}

/// What the time after `at` was paid, each stretch's lines' share by days (a started day not
/// counting), rounded down: what a deletion refunding the unused time gives back.
pub fn unused_after(record: &[Stretch], at: Timestamp) -> u64 {
    record.iter().filter(|s| s.kind == StretchKind::Paid).map(|s| total(&s.lines_after(at, false))).sum()
}

/// `amount` times `part` over `whole`, rounded down.
fn share(amount: u64, part: i64, whole: i64) -> u64 {
    (u128::from(amount) * part.max(0) as u128 / whole.max(1) as u128) as u64
}

/// The record cut at `at`: what lies after it dropped (a stretch across it keeps its share).
pub fn cut_at(record: &[Stretch], at: Timestamp) -> Vec<Stretch> {
    let mut kept = Vec::with_capacity(record.len());
    for stretch in record {
        if stretch.from >= at {
            continue;
        }
        if stretch.to <= at {
            kept.push(stretch.clone());
            continue;
        }
        let after = stretch.lines_after(at, false);
        let lines = stretch
            .lines
            .iter()
            .zip(after)
            .map(|(l, a)| PaidLine { amount: l.amount - a.amount, ..l.clone() });
        kept.push(Stretch { to: at, lines: lines.collect(), ..stretch.clone() });
    }
    kept
}

/// The record once the provider moves the validity's end to `expires_at`: time past what is
/// recorded is given (a stretch with nothing paid); time taken back is cut.
pub fn with_validity_until(record: &[Stretch], expires_at: Timestamp, months: u16) -> Vec<Stretch> {
    let Some(end) = covered_until(record) else { return record.to_vec() };
    if expires_at <= end {
        return cut_at(record, expires_at);
    }
    // Time run on a grace that the new validity covers is given now, no longer owed.
    let mut next: Vec<Stretch> = record
        .iter()
        .filter(|s| s.kind != StretchKind::Owed || s.to > expires_at)
        .map(|s| match s.kind {
            StretchKind::Owed if s.from < expires_at => {
                Stretch { from: expires_at, lines: s.lines_after(expires_at, false), ..s.clone() }
            }
            _ => s.clone(),
        })
        .collect();
    let last = record.iter().filter(|s| s.kind != StretchKind::Owed).max_by_key(|s| s.to).cloned();
    if let Some(last) = last {
        next.push(Stretch {
            from: end,
            to: expires_at,
            kind: StretchKind::Given,
            months,
            span_months: 0,
            span_days: days_started(end, expires_at).max(1) as u32,
            lines: Vec::new(),
            ..last
        });
    }
    next.sort_by_key(|s| s.from);
    next
}

/// A change of configuration priced from the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedChange {
    /// Charged when positive, credited when negative.
    pub amount: i64,
    /// The record once the change is made.
    pub record: Vec<Stretch>,
}

/// How the new configuration's part of each stretch is priced.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub holding: Holding<'a>,
    /// An options change: the tariff's part keeps what was paid for it (a special price
    /// included); only the options are priced anew.
    pub keeps_tariff_line: bool,
    /// A move to a tariff with a lower list price: never a charge.
    pub never_charges: bool,
}

struct PieceQuote {
    /// What the time after the change was paid, line by line.
    unused: Vec<PaidLine>,
    /// What it costs in the new configuration.
    new: Vec<PaidLine>,
}

impl PieceQuote {
    fn difference(&self) -> i128 {
        i128::from(total(&self.new)) - i128::from(total(&self.unused))
    }
}

/// Prices moving the service whose paid time is `record` to `target` at `at`, and rewrites the
/// record: for each stretch after `at`, what its time left was paid (its lines' share by days,
/// rounded down) against what the new configuration costs for the same time in the period the
/// stretch was bought in (rounded up). The difference over the whole time left is charged
/// (the day of the change counting whole) or credited (the day not counting); a move that
/// never charges credits at most, and the stretches keep what was paid. Time given is neither
/// charged nor credited; it takes the new configuration.
pub fn price_change(record: &[Stretch], target: Target, at: Timestamp) -> Result<PricedChange, Refusal> {
    let charged = quote_pieces(record, target, at, true)?;
    let as_charge: i128 = charged.iter().map(PieceQuote::difference).sum();
    if as_charge > 0 && !target.never_charges {
        let amount = checked(i64::try_from(as_charge).ok())?;
        return Ok(PricedChange { amount, record: rewrite(record, target, at, true, &charged) });
    }
    let credited = quote_pieces(record, target, at, false)?;
    let as_credit: i128 = credited.iter().map(PieceQuote::difference).sum();
    if as_credit > 0 {
        // Never a charge: the time left keeps what was paid for it, lines as the new
        // configuration's.
        let kept: Vec<PieceQuote> = credited
            .into_iter()
            .map(|q| PieceQuote { new: scaled_to(&q.new, total(&q.unused)), unused: q.unused })
            .collect();
        return Ok(PricedChange { amount: 0, record: rewrite(record, target, at, false, &kept) });
    }
    let amount = checked(i64::try_from(as_credit).ok())?;
    Ok(PricedChange { amount, record: rewrite(record, target, at, false, &credited) })
}

/// Each stretch's quote after `at` (given and owed ones: nothing on either side).
fn quote_pieces(
    record: &[Stretch],
    target: Target,
    at: Timestamp,
    today_counts: bool,
) -> Result<Vec<PieceQuote>, Refusal> {
    let mut quotes = Vec::new();
    for stretch in record.iter().filter(|s| s.to > at && s.kind != StretchKind::Owed) {
        if stretch.kind == StretchKind::Given {
            quotes.push(PieceQuote { unused: Vec::new(), new: Vec::new() });
            continue;
        }
        let left = stretch.days_after(at, today_counts);
        let unused = stretch.lines_after(at, today_counts);
        let mut new = Vec::new();
        for line in list_lines(target.holding, stretch.months)? {
            if target.keeps_tariff_line && line.kind == LineKind::Tariff {
                continue;
            }
            // The line's price for the stretch's months, spread over its days: rounded up.
            let numerator = u128::from(line.amount) * u128::from(stretch.span_months) * left as u128;
            let denominator = u128::from(stretch.months.max(1)) * u128::from(stretch.span_days.max(1));
            new.push(PaidLine { amount: fits(numerator.div_ceil(denominator))?, ..line });
        }
        if target.keeps_tariff_line {
            let kept = unused.iter().filter(|l| l.kind == LineKind::Tariff).cloned();
            new.splice(0..0, kept);
        }
        quotes.push(PieceQuote { unused, new });
    }
    Ok(quotes)
}

/// The record once the change is made: each stretch after `at` split where the days the quote
/// counted begin (the start of the day of `at` when it counted whole, the end when it did not
/// count), its used part keeping the rest of what was paid, its part left holding the new
/// configuration at `quotes`' new lines. Split there, the part left is as long as what it was
/// priced for, and a later change counts its days as this one did.
fn rewrite(
    record: &[Stretch],
    target: Target,
    at: Timestamp,
    today_counts: bool,
    quotes: &[PieceQuote],
) -> Vec<Stretch> {
    let tariff_id = target.holding.tariff.id.clone();
    let options = target.holding.options.to_vec();
    let mut next = Vec::with_capacity(record.len() + 1);
    let mut quotes = quotes.iter();
    for stretch in record {
        if stretch.to <= at || stretch.kind == StretchKind::Owed {
            next.push(stretch.clone());
            continue;
        }
        let quote = quotes.next();
        let new_lines = quote.map(|q| q.new.clone()).unwrap_or_default();
        let split = if at <= stretch.from {
            stretch.from
        } else {
            stretch.to.plus_seconds(-stretch.days_after(at, today_counts) * DAY).max(stretch.from)
        };
        if split >= stretch.to {
            // No day of it left to count: it stays as it was.
            next.push(stretch.clone());
            continue;
        }
        if stretch.from < split {
            let unused = quote.map(|q| q.unused.as_slice()).unwrap_or_default();
            let used_lines = stretch
                .lines
                .iter()
                .map(|l| {
                    let gone =
                        unused.iter().find(|u| u.kind == l.kind && u.id == l.id).map_or(0, |u| u.amount);
                    PaidLine { amount: l.amount.saturating_sub(gone), ..l.clone() }
                })
                .collect();
            next.push(Stretch { to: split, lines: used_lines, ..stretch.clone() });
        }
        next.push(Stretch {
            from: split,
            tariff_id: tariff_id.clone(),
            options: options.clone(),
            lines: if stretch.kind == StretchKind::Given { Vec::new() } else { new_lines },
            ..stretch.clone()
        });
    }
    next
}

/// The time a service ran past its paid time on a grace, from the record's end to `at`, at the
/// renewal price it ran at (`renewal_lines` for `renewal_months` from `expires_at`): appended
/// as owed when the client leaves that configuration before renewing.
pub fn with_owed_until(
    record: &[Stretch],
    at: Timestamp,
    expires_at: Timestamp,
    renewal_months: u16,
    anchor_day: u8,
    held: (&TariffId, &[OptionLine]),
    renewal_lines: &[PaidLine],
) -> Vec<Stretch> {
    let from = record.iter().map(|s| s.to).max().unwrap_or(expires_at).max(expires_at);
    if at <= from {
        return record.to_vec();
    }
    let period_end = expires_at.plus_months_on_day(u32::from(renewal_months.max(1)), anchor_day);
    let period_days = days_started(expires_at, period_end).max(1);
    let days = days_started(from, at);
    let lines = renewal_lines
        .iter()
        .map(|l| PaidLine {
            amount: (u128::from(l.amount) * days as u128).div_ceil(period_days as u128) as u64,
            ..l.clone()
        })
        .collect();
    let mut next = record.to_vec();
    next.push(Stretch {
        from,
        to: at,
        kind: StretchKind::Owed,
        tariff_id: held.0.clone(),
        options: held.1.to_vec(),
        months: renewal_months,
        span_months: u32::from(renewal_months),
        span_days: period_days as u32,
        lines,
        imported: false,
    });
    next
}

/// A renewal priced from the record: what it charges, and the record once it is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedRenewal {
    pub charged: u64,
    pub record: Vec<Stretch>,
}

/// A renewal of `[from, to)` at `price` (`lines`, `months` a period, `span_months` in all), on
/// a record that may hold owed time: the owed stretches within it are charged first at what
/// they are owed, the rest of it at the renewal price's share by days; time between the
/// record's end and `from` (a lapsed service, suspended) is given.
#[allow(clippy::too_many_arguments)]
pub fn price_renewal(
    record: &[Stretch],
    from: Timestamp,
    to: Timestamp,
    months: u16,
    span_months: u32,
    held: (&TariffId, &[OptionLine]),
    lines: &[PaidLine],
) -> Result<PricedRenewal, Refusal> {
    let price = total(lines);
    let span_days = days_started(from, to).max(1);
    // Owed time before the renewal's end is paid now, at what it ran at; owed time past it
    // stays owed, for the renewal after.
    let mut next = Vec::with_capacity(record.len() + 2);
    let (mut owed_amount, mut owed_end) = (0u64, None);
    for stretch in record {
        if stretch.kind != StretchKind::Owed || stretch.from >= to {
            next.push(stretch.clone());
            continue;
        }
        let mut paid = Stretch { kind: StretchKind::Paid, ..stretch.clone() };
        if stretch.to > to {
            let later = stretch.lines_after(to, false);
            paid.lines = stretch
                .lines
                .iter()
                .zip(&later)
                .map(|(l, after)| PaidLine { amount: l.amount - after.amount, ..l.clone() })
                .collect();
            paid.to = to;
            next.push(Stretch { from: to, lines: later, ..stretch.clone() });
        }
        owed_amount = checked(owed_amount.checked_add(paid.amount()))?;
        owed_end = owed_end.max(Some(paid.to));
        next.push(paid);
    }
    let end = covered_until(record).max(owed_end).unwrap_or(from);
    if from > end {
        // A lapsed service, suspended until now: nothing paid, nothing owed.
        next.push(Stretch {
            from: end,
            to: from,
            kind: StretchKind::Given,
            tariff_id: held.0.clone(),
            options: held.1.to_vec(),
            months,
            span_months: 0,
            span_days: days_started(end, from).max(1) as u32,
            lines: Vec::new(),
            imported: false,
        });
    }
    // The rest of the renewal: the whole price, or, after owed time it covers, the price's
    // share by days, rounded up.
    let rest_from = end.max(from);
    let rest = if rest_from <= from {
        price
    } else {
        let days = days_started(rest_from, to).min(span_days);
        fits((u128::from(price) * days as u128).div_ceil(span_days as u128))?
    };
    if rest_from < to {
        next.push(Stretch {
            from: rest_from,
            to,
            kind: StretchKind::Paid,
            tariff_id: held.0.clone(),
            options: held.1.to_vec(),
            months,
            span_months,
            span_days: span_days as u32,
            lines: scaled_to(lines, rest),
            imported: false,
        });
    }
    next.sort_by_key(|s| s.from);
    let charged = checked(owed_amount.checked_add(if rest_from < to { rest } else { 0 }))?;
    Ok(PricedRenewal { charged, record: next })
}

/// The findings of the review of the pricing code (issue 22), each with its numbers worked out
/// by hand from what was paid; every one failed on the rules that priced from today's prices.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::changes::Edit;
    use crate::domain::history::Actor;
    use crate::domain::lifecycle::{Change, Outcome};
    use crate::domain::order::{place_order, OrderRequest};
    use crate::domain::service::Grace;
    use crate::domain::{AutoRenew, ClientId, Prices, Principal, Role, Service};
    use std::collections::BTreeMap;

    /// 1 November 2026, 12:00, and `days` later.
    fn day(days: i64) -> Timestamp {
        Timestamp::parse("2026-11-01T12:00:00Z").unwrap().plus_seconds(days * DAY)
    }

    fn client() -> Actor {
        Actor { id: "alice".into(), role: Role::Client }
    }

    fn provider() -> Actor {
        Actor { id: "ops".into(), role: Role::Provider }
    }

    fn tariff(id: &str, prices: &[(u16, u64)], change_to: &[&str]) -> Tariff {
        Tariff {
            id: TariffId::parse(id).unwrap(),
            prices: Prices::new(prices.iter().copied().collect()).unwrap(),
            change_to: change_to.iter().map(|t| TariffId::parse(t).unwrap()).collect(),
            ..crate::domain::catalog::sample_tariff()
        }
    }

    /// `vps-start` (500 a month, 5000 a year) and `vps-pro` (1500, 15000), each able to move to
    /// the other.
    fn start_and_pro() -> (Tariff, Tariff) {
        (
            tariff("vps-start", &[(1, 500), (12, 5000)], &["vps-pro"]),
            tariff("vps-pro", &[(1, 1500), (12, 15000)], &["vps-start"]),
        )
    }

    /// Work done by the panel at `at`: the service once finished.
    fn done(change: Change, at: Timestamp) -> Service {
        let id = change.queued.clone().expect("queued work");
        change.service.finish(&id, Outcome::Done, at).expect("pending").service
    }

    /// An order of `tariff` for `months`, paid and activated at day 0.
    fn active_on(tariff: &Tariff, months: u16) -> Service {
        let alice = Principal { id: ClientId::parse("alice").unwrap(), role: Role::Client };
        let order = OrderRequest {
            client_id: alice.id.clone(),
            period_months: months,
            auto_renew: None,
            params: BTreeMap::from([("os_template".to_owned(), "debian-12".to_owned())]),
            options: vec![],
            quick: false,
        };
        let (service, _) = place_order(tariff, order, &alice, day(0)).unwrap();
        done(service.pay_order(&client(), day(0)).unwrap(), day(0))
    }

    fn renewed(service: &Service, periods: u32, at: Timestamp) -> (Service, u64) {
        let change = service.renew(periods, &client(), at).unwrap();
        let charged = change.charged();
        (done(change, at), charged)
    }

    fn special(service: &Service, tariff: &Tariff, price: u64, at: Timestamp) -> Service {
        let edit = Edit { renewal_price: Some(price), ..Edit::default() };
        service.edit(edit, tariff, &provider(), at).unwrap().service
    }

    /// Moves tariffs at `at`: (charged, credited, the service once done).
    fn moved(service: &Service, from: &Tariff, to: &Tariff, at: Timestamp) -> (u64, u64, Service) {
        let (change, charged) = service.change_tariff(from, to, &client(), at).unwrap();
        let credit = change.service.pending.as_ref().unwrap().work.credit();
        (charged, credit, done(change, at))
    }

    fn unused_paid(service: &Service, at: Timestamp) -> u64 {
        unused_after(&service.paid_time(), at)
    }

    #[test]
    fn an_ended_special_price_credits_nothing_for_time_bought_at_it() {
        let (start, pro) = start_and_pro();
        let on_pro = special(&active_on(&pro, 1), &pro, 1, day(1));
        let (prepaid, charged) = renewed(&on_pro, 10, day(1));
        assert_eq!(charged, 10);
        let back_at_list = special(&prepaid, &pro, 1500, day(1));
        let (_, credit, after) = moved(&back_at_list, &pro, &start, day(1));
        // A month of 1500 and ten of 1: the time left costs 500 a month on vps-start, more than
        // its 29 days of 1500 and ten months of 1 were paid: nothing to credit (it was 1510).
        assert_eq!(credit, 0);
        assert!(credit <= unused_paid(&back_at_list, day(1)));
        // The stretches keep what was paid for them.
        assert_eq!(unused_paid(&after, day(1)), unused_paid(&back_at_list, day(1)));
    }

    #[test]
    fn a_year_at_list_price_behind_a_special_price_does_not_raise_its_credit() {
        let (start, pro) = start_and_pro();
        let (ten, _) = renewed(&active_on(&pro, 1), 10, day(1));
        let (year, _) = renewed(&ten, 2, day(1));
        // Thirteen months used at list price, the last day of them left.
        let last_day = year.expires_at.unwrap().plus_seconds(-DAY);
        let cheap = special(&year, &pro, 1, last_day);
        let (prepaid, _) = renewed(&cheap, 10, last_day);
        let back_at_list = special(&prepaid, &pro, 1500, last_day);
        let paid_for_the_time_left = unused_paid(&back_at_list, last_day);
        assert!(paid_for_the_time_left <= 10 + 50, "a day at list and ten months at 1");
        let (_, credit, _) = moved(&back_at_list, &pro, &start, last_day);
        assert!(credit <= paid_for_the_time_left, "credited {credit}: it was 8,328");
    }

    #[test]
    fn a_raised_special_price_credits_nothing_for_time_bought_below_it() {
        let (start, pro) = start_and_pro();
        let on_pro = special(&active_on(&pro, 1), &pro, 1, day(1));
        let (prepaid, _) = renewed(&on_pro, 10, day(1));
        let raised = special(&prepaid, &pro, 1400, day(1));
        let (_, credit, _) = moved(&raised, &pro, &start, day(1));
        assert_eq!(credit, 0);
    }

    #[test]
    fn a_retention_discount_after_a_prepay_at_list_keeps_what_was_paid() {
        let (start, pro) = start_and_pro();
        let (prepaid, charged) = renewed(&active_on(&pro, 1), 10, day(0));
        assert_eq!(charged, 15_000);
        let discounted = special(&prepaid, &pro, 100, day(0));
        let (_, credit, after) = moved(&discounted, &pro, &start, day(0));
        // Eleven months paid at 1500, now 500 each: 1000 back for each (it was capped at 1,100).
        assert_eq!(credit, 11_000);
        assert_eq!(after.renewal_price, 500, "the special price ended with its tariff");
    }

    #[test]
    fn a_move_to_a_cheaper_tariff_credits_even_when_the_old_one_sells_a_long_period_cheaply() {
        let pro = tariff("vps-pro", &[(1, 1500), (12, 15000), (24, 18000)], &["vps-mid"]);
        let mid = tariff("vps-mid", &[(1, 1200)], &["vps-pro"]);
        let (prepaid, _) = renewed(&active_on(&pro, 1), 10, day(0));
        let (charged, credit, _) = moved(&prepaid, &pro, &mid, day(0));
        // Eleven months bought monthly at 1500, now 1200 each (it was charged 2,754).
        assert_eq!((charged, credit), (0, 11 * 300));
    }

    #[test]
    fn a_downgrade_credits_what_the_time_left_cost_less_the_new_price() {
        let (start, pro) = start_and_pro();
        let (prepaid, _) = renewed(&active_on(&pro, 1), 10, day(0));
        // 30 days on: the first month (November's 30 days) used, ten bought at 1500 left, each
        // 500 on vps-start (it was 9,150, as if bought yearly).
        let (_, credit, _) = moved(&prepaid, &pro, &start, day(30));
        assert_eq!(credit, 10 * 1000);
        // Halfway through November: 14 whole days of 30 not started, 1000 a month less.
        let (_, credit, _) = moved(&prepaid, &pro, &start, day(15).plus_seconds(3600));
        assert_eq!(credit, 10 * 1000 + 1000 * 14 / 30);
    }

    #[test]
    fn time_run_on_a_grace_is_owed_at_the_configuration_it_ran_on() {
        let (start, pro) = start_and_pro();
        let on_pro = active_on(&pro, 1);
        let expiry = on_pro.expires_at.unwrap();
        let until = expiry.plus_seconds(92 * DAY);
        let on_grace = Service { grace: Some(Grace { until, reason: "asked".into() }), ..on_pro };
        let late = expiry.plus_seconds(89 * DAY);
        let (_, credit, on_start) = moved(&on_grace, &pro, &start, late);
        assert_eq!(credit, 0);
        let three_months =
            Edit { auto_renew: Some(AutoRenew { enabled: true, period_months: 1 }), ..Edit::default() };
        let on_start = on_start.edit(three_months, &start, &client(), late).unwrap().service;
        let (renewed, renewal) = renewed(&on_start, 3, late);
        let (upgrade, _, _) = moved(&renewed, &start, &pro, late);
        // 89 days of December's rate on vps-pro (1500 for 31 days) are owed: 4307; a day of the
        // renewal's 90 at 500 a month: 17; the upgrade for that day: 33 (it was 1,533 in all).
        assert_eq!((renewal, upgrade), (4307 + 17, 50 - 17));
    }

    #[test]
    fn a_special_price_ends_with_the_tariff_it_was_set_on() {
        let (start, pro) = start_and_pro();
        let discounted = special(&active_on(&pro, 1), &pro, 1000, day(1));
        let (change, _) = discounted.change_tariff(&pro, &start, &client(), day(1)).unwrap();
        assert_eq!(change.entry.details["special_price_ended"], true, "the quote says so");
        let after = done(change, day(1));
        // vps-start's list price, not 1000 kept as a floor.
        assert_eq!((after.renewal_price, after.special_price, after.special), (500, false, None));
    }

    #[test]
    fn an_upgrade_is_charged_in_the_period_the_time_was_bought_in() {
        let (start, pro) = start_and_pro();
        let yearly = active_on(&start, 12);
        let (charged, _, _) = moved(&yearly, &start, &pro, day(30));
        // 335 of 365 days left of a year bought at 5000, at 15000 a year: 13768 - 4589 (it was
        // 11,000, at the monthly price's difference).
        assert_eq!(charged, 13_768 - 4_589);
    }

    #[test]
    fn time_the_provider_gives_stays_given_across_a_renewal_and_is_never_credited() {
        let (start, pro) = start_and_pro();
        let on_pro = active_on(&pro, 1);
        let later = on_pro.expires_at.unwrap().plus_seconds(3 * DAY);
        let edit = Edit { expires_at: Some(later), ..Edit::default() };
        let given = on_pro.edit(edit, &pro, &provider(), day(1)).unwrap().service;
        let (renewed, charged) = renewed(&given, 1, day(1));
        assert_eq!(charged, 1500);
        let kinds: Vec<StretchKind> = renewed.paid_time().iter().map(|s| s.kind).collect();
        assert_eq!(kinds, [StretchKind::Paid, StretchKind::Given, StretchKind::Paid]);
        assert_eq!(renewed.paid_time()[1].amount(), 0);
        // A downgrade credits the two months' paid days only: November's 29 days left at 1000
        // a month less, and December's month.
        let (_, credit, _) = moved(&renewed, &pro, &start, day(1));
        assert_eq!(credit, 1000 * 29 / 30 + 1000);
    }

    /// Found by the money model: a grace run longer than the renewal that follows it was
    /// charged by that renewal at the renewal price and again, as owed, by the next one.
    #[test]
    fn owed_time_longer_than_a_renewal_is_charged_once() {
        let (start, pro) = start_and_pro();
        let on_pro = active_on(&pro, 1);
        let expired = on_pro.expires_at.unwrap();
        let grace =
            on_pro.grant_grace(expired.plus_seconds(80 * DAY), "promised", &provider(), day(1)).unwrap();
        // 40 days on vps-pro past the paid time (December's 31 and 9 of January), then a move
        // to vps-start: owed at 1500 for December's 31 days, 1500 * 40 / 31 = 1936 (rounded
        // up), the month of the renewal price from the expiry.
        let at = expired.plus_seconds(40 * DAY);
        let (_, _, moved) = moved(&grace.service, &pro, &start, at);
        let owed: u64 =
            moved.paid_time().iter().filter(|s| s.kind == StretchKind::Owed).map(Stretch::amount).sum();
        assert_eq!(owed, 1936);
        // The first renewal (December) pays the owed time in it: 1936 less the 9 January days'
        // share, 1936 * 9 / 40 = 435 (rounded down): 1501. The second (January) pays those 9
        // days, 435, and vps-start for January's 22 days left, 500 * 22 / 31 = 355 (rounded up).
        let (once, first) = renewed(&moved, 1, at);
        let (twice, second) = renewed(&once, 1, at);
        assert_eq!((first, second), (1501, 435 + 355));
        let paid: u64 =
            twice.paid_time().iter().filter(|s| s.kind == StretchKind::Paid).map(Stretch::amount).sum();
        assert_eq!(paid, 1500 + first + second);
        assert!(twice.paid_time().iter().all(|s| s.kind == StretchKind::Paid));
    }

    /// Found by the money model: the provider moving the validity's end over time a client ran
    /// on a grace after a change gave that time and left it owed too, two stretches over it.
    #[test]
    fn time_the_provider_gives_over_a_grace_is_no_longer_owed() {
        let (start, pro) = start_and_pro();
        let on_pro = active_on(&pro, 1);
        let expired = on_pro.expires_at.unwrap();
        let grace =
            on_pro.grant_grace(expired.plus_seconds(20 * DAY), "promised", &provider(), day(1)).unwrap();
        // Ten days on vps-pro past the paid time, then a move to vps-start: owed.
        let (_, _, moved) = moved(&grace.service, &pro, &start, expired.plus_seconds(10 * DAY));
        assert_eq!(moved.paid_time().last().map(|s| s.kind), Some(StretchKind::Owed));
        let edit = Edit { expires_at: Some(expired.plus_seconds(15 * DAY)), ..Edit::default() };
        let given = moved.edit(edit, &start, &provider(), expired.plus_seconds(10 * DAY)).unwrap().service;
        let kinds: Vec<StretchKind> = given.paid_time().iter().map(|s| s.kind).collect();
        assert_eq!(kinds, [StretchKind::Paid, StretchKind::Given]);
        // The renewal that follows charges its own period only: nothing is owed.
        let (_, charged) = renewed(&given, 1, expired.plus_seconds(10 * DAY));
        assert_eq!(charged, 500);
    }

    /// Found by the money model: a validity ending before the activation left a service with
    /// an empty record, which reads as one stored before records were kept.
    #[test]
    fn the_provider_cannot_end_the_validity_before_the_activation() {
        let (_, pro) = start_and_pro();
        let service = active_on(&pro, 1);
        for end in [day(0), day(0).plus_seconds(-1)] {
            let edit = Edit { expires_at: Some(end), ..Edit::default() };
            let refused = service.edit(edit, &pro, &provider(), day(1)).unwrap_err();
            assert!(matches!(refused, Refusal::Invalid(_)), "{refused:?}");
        }
        let edit = Edit { expires_at: Some(day(0).plus_seconds(1)), ..Edit::default() };
        let cut = service.edit(edit, &pro, &provider(), day(1)).unwrap().service;
        assert_eq!(cut.paid_time().len(), 1);
    }

    #[test]
    fn a_special_price_rounded_up_by_period_changes_never_credits_more_than_was_paid() {
        let (start, pro) = start_and_pro();
        let mut service = special(&active_on(&pro, 1), &pro, 13, day(1));
        for months in [12, 1, 12, 1] {
            let edit = Edit {
                auto_renew: Some(AutoRenew { enabled: true, period_months: months }),
                ..Edit::default()
            };
            service = service.edit(edit, &pro, &client(), day(1)).unwrap().service;
        }
        let (prepaid, _) = renewed(&service, 10, day(1));
        let (_, credit, _) = moved(&prepaid, &pro, &start, day(1));
        assert!(credit <= unused_paid(&prepaid, day(1)));
    }

    #[test]
    fn a_service_stored_before_the_record_is_credited_no_more_than_its_ledger_says_it_paid() {
        let (start, pro) = start_and_pro();
        let (prepaid, _) = renewed(&active_on(&pro, 1), 10, day(0));
        let old_shape = Service { paid_time: Vec::new(), net_paid: None, ..prepaid.clone() };
        let migrated = Service { paid_time: old_shape.legacy_record(16_500), ..old_shape };
        let (_, credit, _) = moved(&migrated, &pro, &start, day(30));
        assert!(credit <= unused_paid(&migrated, day(30)) && credit > 0, "credited {credit}");
    }

    /// `service` as it was stored before the record and its lines were kept.
    fn in_the_old_shape(service: &Service) -> Service {
        let mut stored = serde_json::to_value(service).unwrap();
        for field in ["paid_time", "renewal_lines", "order_lines"] {
            stored.as_object_mut().unwrap().remove(field);
        }
        serde_json::from_value(stored).unwrap()
    }

    #[test]
    fn the_migration_gives_an_old_shape_service_its_record_from_the_ledger_once() {
        use crate::domain::account::{paid_for, Account, LedgerKind};
        let (start, pro) = start_and_pro();
        let (prepaid, charged) = renewed(&active_on(&pro, 1), 10, day(0));
        let old = in_the_old_shape(&prepaid);
        assert!(old.paid_time.is_empty() && old.net_paid.is_none());
        // Its client's ledger: a payment, its order and renewal, another service's charge.
        let mut account = Account::open(old.client_id.clone());
        let other = crate::domain::ServiceId::generate();
        let ledger = [
            account.credit(LedgerKind::Payment, 20_000, None, day(0)),
            account.charge(LedgerKind::OrderCharge, 1500, Some(&old.id), day(0)).unwrap(),
            account.charge(LedgerKind::Renewal, charged, Some(&old.id), day(0)).unwrap(),
            account.charge(LedgerKind::OrderCharge, 500, Some(&other), day(0)).unwrap(),
        ];
        let (paid, since) = paid_for(&old.id, &ledger);
        assert_eq!((paid, since), (1500 + 15_000, Some(day(0))));
        let migrated = old.with_paid_time_recorded(paid, since).expect("a record to write");
        let record = migrated.paid_time.clone();
        assert_eq!(migrated.version, old.version + 1);
        assert_eq!(record.iter().map(Stretch::amount).sum::<u64>(), paid);
        assert_eq!((record[0].from, paid_until(&record)), (old.created_at, old.expires_at));
        assert_eq!(migrated.with_paid_time_recorded(paid, since), None, "a second run changes nothing");
        // A move with a month used credits no more than was paid for the ten months left.
        let (_, credit, _) = moved(&migrated, &pro, &start, day(30));
        assert!(credit > 0 && credit <= unused_paid(&migrated, day(30)), "credited {credit}");
        // Nothing to record on a service never activated, or deleted.
        let cart = Service { expires_at: None, ..old.clone() };
        assert_eq!(cart.with_paid_time_recorded(paid, since), None);
        let deleted = Service { status: crate::domain::Status::Deleted, ..old };
        assert_eq!(deleted.with_paid_time_recorded(paid, since), None);
    }

    #[test]
    fn the_ledger_counts_what_came_back_against_what_was_paid_and_never_below_nothing() {
        use crate::domain::account::{paid_for, Account, LedgerKind};
        let id = crate::domain::ServiceId::generate();
        let mut account = Account::open(ClientId::parse("alice").unwrap());
        let mut ledger = vec![
            account.credit(LedgerKind::Payment, 3000, None, day(0)),
            account.charge(LedgerKind::OrderCharge, 1500, Some(&id), day(0)).unwrap(),
            account.credit(LedgerKind::TariffChange, 400, Some(&id), day(1)),
        ];
        assert_eq!(paid_for(&id, &ledger), (1100, Some(day(0))));
        ledger.push(account.credit(LedgerKind::Refund, 2000, Some(&id), day(2)));
        assert_eq!(paid_for(&id, &ledger).0, 0);
    }

    #[test]
    fn two_credited_moves_a_few_hours_apart_lose_no_more_than_a_day_of_each() {
        let (start, pro) = start_and_pro();
        let pro = Tariff { change_to: vec![start.id.clone(), TariffId::parse("vps-mid").unwrap()], ..pro };
        let mid = tariff("vps-mid", &[(1, 1000), (12, 10_000)], &["vps-start"]);
        let (prepaid, _) = renewed(&active_on(&pro, 1), 10, day(0));
        // Its days end at noon, when it was activated: the first move is three hours before
        // one, the second five hours after it.
        let morning = day(40).plus_seconds(-3 * 3600);
        let (_, direct, _) = moved(&prepaid, &pro, &start, morning);
        let (_, first, on_mid) = moved(&prepaid, &pro, &mid, morning);
        let (_, second, _) = moved(&on_mid, &mid, &start, morning.plus_seconds(8 * 3600));
        let stepped = first + second;
        // The second move's day (a day of mid less start, 500 over December's 31 days) is all
        // the two steps may lose against the one, and they never gain.
        let day_of_the_second = 500_u64.div_ceil(31);
        assert!(
            stepped <= direct + 2 && stepped + day_of_the_second + 2 >= direct,
            "directly {direct}, in two steps {first} + {second}"
        );
        assert!(first.abs_diff(direct / 2) <= 2, "half the way credits half: {first} of {direct}");
    }

    /// Found by review: the move was judged "never a charge" on the renewal period alone.
    #[test]
    fn a_move_cheaper_by_the_month_but_dearer_by_the_year_is_charged_for_the_year_left() {
        let a = tariff("vps-start", &[(1, 1000), (12, 6000)], &["vps-pro"]);
        let b = tariff("vps-pro", &[(1, 900), (12, 10_000)], &["vps-start"]);
        let yearly = active_on(&a, 12);
        let monthly =
            Edit { auto_renew: Some(AutoRenew { enabled: true, period_months: 1 }), ..Edit::default() };
        let flipped = yearly.edit(monthly, &a, &client(), day(30)).unwrap().service;
        let (charged, _, _) = moved(&flipped, &a, &b, day(30));
        // The year bought at 6000 has 335 of its 365 days left: 5506 paid (rounded down), 9179
        // on B by the year (rounded up). It was charged nothing, holding B's year for A's.
        assert_eq!(charged, 9179 - 5506);
        assert_eq!(moved(&yearly, &a, &b, day(30)).0, charged, "the renewal period changes nothing");
    }

    /// Found by review: a tariff that does not sell the renewal period renewed at its cheapest
    /// rate a month, that of its longest period.
    #[test]
    fn a_move_to_a_tariff_that_does_not_sell_the_renewal_period_is_refused() {
        let a = tariff("vps-start", &[(1, 1000), (12, 12_000)], &["vps-pro"]);
        let b = tariff("vps-pro", &[(12, 9000), (24, 12_000)], &["vps-start"]);
        let monthly =
            Edit { auto_renew: Some(AutoRenew { enabled: true, period_months: 1 }), ..Edit::default() };
        let service = active_on(&a, 12).edit(monthly, &a, &client(), day(1)).unwrap().service;
        let refused = service.change_tariff(&a, &b, &client(), day(1)).unwrap_err();
        assert!(
            matches!(&refused, Refusal::Invalid(m) if m.contains("auto_renew.period_months")),
            "{refused:?}"
        );
    }

    /// Found by review: time owed on a grace was priced at whatever renewal period the client
    /// set just before leaving (24 months: 750 a month instead of 1500).
    #[test]
    fn the_renewal_period_stays_on_a_grace_and_owed_time_is_priced_at_it() {
        let start = tariff("vps-start", &[(1, 500), (12, 5000), (24, 6000)], &["vps-pro"]);
        let pro = tariff("vps-pro", &[(1, 1500), (12, 15_000), (24, 18_000)], &["vps-start"]);
        let on_pro = active_on(&pro, 1);
        let expiry = on_pro.expires_at.unwrap();
        let until = expiry.plus_seconds(92 * DAY);
        let on_grace = Service { grace: Some(Grace { until, reason: "asked".into() }), ..on_pro };
        let late = expiry.plus_seconds(89 * DAY);
        let biennial =
            Edit { auto_renew: Some(AutoRenew { enabled: true, period_months: 24 }), ..Edit::default() };
        assert!(matches!(on_grace.edit(biennial, &pro, &client(), late), Err(Refusal::Conflict(_))));
        let (_, _, on_start) = moved(&on_grace, &pro, &start, late);
        let owed: u64 =
            on_start.paid_time().iter().filter(|s| s.kind == StretchKind::Owed).map(Stretch::amount).sum();
        // 89 days at the month's renewal price, 1500 over December's 31 days, rounded up.
        assert_eq!(owed, (1500 * 89_u64).div_ceil(31));
    }

    /// Found by review: a grace left to lapse made the time run on it free, the renewal after
    /// the suspension renewing from then.
    #[test]
    fn time_run_on_a_grace_is_owed_when_the_service_lapses_and_is_renewed() {
        let (_, pro) = start_and_pro();
        let on_pro = active_on(&pro, 1);
        let expiry = on_pro.expires_at.unwrap();
        let grace = on_pro
            .grant_grace(expiry.plus_seconds(89 * DAY), "promised", &provider(), day(1))
            .unwrap()
            .service;
        let lapse_at = expiry.plus_seconds(89 * DAY + 3600);
        let lapsed = done(grace.expire(&provider(), lapse_at).unwrap(), lapse_at);
        let (after, charged) = renewed(&lapsed, 1, lapse_at.plus_seconds(3600));
        // The 89 days of the grace, at 1500 over December's 31 days (rounded up), then the month
        // from now; the hour between the grace's end and the suspension is not counted.
        assert_eq!(charged, (1500 * 89_u64).div_ceil(31) + 1500);
        let kinds: Vec<StretchKind> = after.paid_time().iter().map(|s| s.kind).collect();
        assert_eq!(kinds, [StretchKind::Paid, StretchKind::Paid, StretchKind::Given, StretchKind::Paid]);
    }

    /// Found by review: a renewal under way when the migration ran was counted twice, once in
    /// what the ledger says was paid and once more when it finished.
    #[test]
    fn the_migration_leaves_a_service_with_work_under_way_to_its_next_run() {
        use crate::domain::lifecycle::Work;
        let (_, pro) = start_and_pro();
        let change = active_on(&pro, 1).renew(10, &client(), day(0)).unwrap();
        let (charged, id) = (change.charged(), change.queued.clone().unwrap());
        let mut pending = change.service.clone();
        // As stored before the record: no record on the service, nor in the renewal.
        if let Some(Work::Renewal { record, paid_until, expires_at, .. }) =
            pending.pending.as_mut().map(|p| &mut p.work)
        {
            *record = None;
            *paid_until = Some(*expires_at);
        }
        let old = Service { net_paid: None, ..in_the_old_shape(&pending) };
        assert_eq!(old.with_paid_time_recorded(1500 + charged, Some(day(0))), None, "under way");
        let finished = old.finish(&id, Outcome::Done, day(0)).unwrap().service;
        assert!(finished.paid_time.is_empty(), "left to the migration");
        let migrated = finished.with_paid_time_recorded(1500 + charged, Some(day(0))).unwrap();
        assert_eq!(migrated.paid_time.iter().map(Stretch::amount).sum::<u64>(), 1500 + charged);
    }

    /// Found by review: a change or a renewal before the migration wrote a record with nothing
    /// paid for a service whose paid amount was never stored, and the migration then left it.
    #[test]
    fn nothing_moves_money_on_a_service_whose_paid_time_is_not_known_until_it_is_recorded() {
        let (start, pro) = start_and_pro();
        let (prepaid, _) = renewed(&active_on(&start, 1), 10, day(0));
        let old = Service { net_paid: None, ..in_the_old_shape(&prepaid) };
        assert!(old.paid_time_unknown());
        let conflict = |r: Result<(Change, u64), Refusal>| matches!(r, Err(Refusal::Conflict(_)));
        assert!(conflict(old.change_tariff(&start, &pro, &client(), day(30))));
        assert!(matches!(old.renew(1, &client(), day(30)), Err(Refusal::Conflict(_))));
        let later = Edit { expires_at: old.expires_at.map(|e| e.plus_seconds(DAY)), ..Edit::default() };
        let given = old.edit(later, &start, &provider(), day(30)).unwrap().service;
        assert!(given.paid_time.is_empty(), "the provider's edit writes no record built from nothing");
        let migrated = given.with_paid_time_recorded(5500, Some(day(0))).unwrap();
        let (charged, _, _) = moved(&migrated, &start, &pro, day(30));
        assert!(charged > 0 && charged <= 10 * 1000 + 1000, "charged {charged}");
    }

    /// Found by review: the migration spread what was paid from the order, counting the time a
    /// service sat in the cart as used.
    #[test]
    fn the_migration_spreads_what_was_paid_from_when_it_was_first_charged() {
        let (start, pro) = start_and_pro();
        let alice = Principal { id: ClientId::parse("alice").unwrap(), role: Role::Client };
        let order = OrderRequest {
            client_id: alice.id.clone(),
            period_months: 12,
            auto_renew: None,
            params: BTreeMap::from([("os_template".to_owned(), "debian-12".to_owned())]),
            options: vec![],
            quick: false,
        };
        let (service, _) = place_order(&pro, order, &alice, day(0)).unwrap();
        let active = done(service.pay_order(&client(), day(150)).unwrap(), day(150));
        let migrated = in_the_old_shape(&active).with_paid_time_recorded(15_000, Some(day(150))).unwrap();
        let (_, credit, _) = moved(&migrated, &pro, &start, day(151));
        let (_, recorded, _) = moved(&active, &pro, &start, day(151));
        assert!(credit.abs_diff(recorded) <= 1, "migrated {credit}, as recorded {recorded}");
    }

    #[test]
    fn a_deletion_refunds_the_unused_share_when_the_rules_say_so() {
        let (_, pro) = start_and_pro();
        let (prepaid, _) = renewed(&active_on(&pro, 1), 1, day(0));
        let rules = crate::domain::catalog::sample_rules();
        let (kept, _) = prepaid.delete(&provider(), &rules, day(30)).unwrap();
        assert_eq!(kept.service.pending.unwrap().work.credit(), 0, "refund_on_delete: none");
        let unused = crate::domain::ProductTypeRules {
            refund_on_delete: crate::domain::catalog::RefundOnDelete::Unused,
            ..rules
        };
        let (change, _) = prepaid.delete(&provider(), &unused, day(30)).unwrap();
        assert_eq!(change.service.pending.as_ref().unwrap().work.credit(), 1500, "December unused");
        let deleted = done(change, day(30));
        assert_eq!(unused_after(&deleted.paid_time(), day(30)), 0, "nothing left to refund twice");
    }

    #[test]
    fn an_address_ordered_at_list_is_credited_what_was_paid_for_it_under_a_special_price() {
        let on_start = crate::domain::catalog::sample_tariff();
        let alice = Principal { id: ClientId::parse("alice").unwrap(), role: Role::Client };
        let order = OrderRequest {
            client_id: alice.id.clone(),
            period_months: 1,
            auto_renew: None,
            params: BTreeMap::from([("os_template".to_owned(), "debian-12".to_owned())]),
            options: vec![OptionLine { id: "ip".into(), quantity: 1 }],
            quick: false,
        };
        let (ordered, _) = place_order(&on_start, order, &alice, day(0)).unwrap();
        // The provider sets a renewal price of 0 before checkout; the order is still at list.
        let free_renewals = special(&ordered, &on_start, 0, day(0));
        let checkout = free_renewals.pay_order(&client(), day(0)).unwrap();
        assert_eq!(checkout.charged(), 600);
        let active = done(checkout, day(0));
        let (change, _) = active.change_options(&on_start, vec![], &client(), day(0)).unwrap();
        assert_eq!(change.service.pending.unwrap().work.credit(), 100, "the address, paid 100, unused");
    }

    #[test]
    fn a_renewal_after_the_provider_extends_a_lapsed_service_adds_to_the_new_validity() {
        let (_, pro) = start_and_pro();
        let service = active_on(&pro, 1);
        let expiry = service.expires_at.unwrap();
        let lapsed = done(service.expire(&provider(), expiry).unwrap(), expiry);
        assert!(lapsed.holds.contains(&crate::domain::lifecycle::Hold::NonPayment));
        let given_until = expiry.plus_months(2);
        let edit = Edit { expires_at: Some(given_until), ..Edit::default() };
        let given = lapsed.edit(edit, &pro, &provider(), expiry).unwrap().service;
        let change = given.renew(1, &client(), expiry).unwrap();
        assert_eq!(change.charged(), 1500, "a period beyond the time given");
        let renewed = done(change, expiry);
        assert_eq!(renewed.expires_at, Some(given_until.plus_months(1)), "it was cut to a month from now");
        assert_eq!(paid_until(&renewed.paid_time()), renewed.expires_at);
    }
}
