//! A service's paid time as a record, like an invoice's lines: stretches `[from, to)` of its
//! validity, each with what was charged for it line by line (the tariff, each option) and the
//! period length it was bought in. Activation, renewals, changes and credits write it in the
//! same transaction as the ledger entry; every credit and charge of a change is worked out from
//! it (what the time left was paid), never from today's prices alone.
//!
//! The README's "Money" section states the rules with worked examples.

use super::catalog::Tariff;
use super::lifecycle::Refusal;
use super::pricing::{checked, days_started};
use super::{OptionLine, TariffId, Timestamp};
use serde::{Deserialize, Serialize};

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
    checked(u64::try_from(amount).ok().filter(|a| *a <= super::pricing::MAX_AMOUNT))
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
    record
        .iter()
        .filter(|s| s.kind == StretchKind::Paid)
        .map(|s| s.lines.iter().map(|l| share(l.amount, s.days_after(at, false), s.days())).sum::<u64>())
        .sum()
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
        let days = stretch.days();
        let used = days - stretch.days_after(at, false);
        let lines =
            stretch.lines.iter().map(|l| PaidLine { amount: share(l.amount, used, days), ..l.clone() });
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
    let mut next = record.to_vec();
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
        return Ok(PricedChange { amount, record: rewrite(record, target, at, &charged) });
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
        return Ok(PricedChange { amount: 0, record: rewrite(record, target, at, &kept) });
    }
    let amount = checked(i64::try_from(as_credit).ok())?;
    Ok(PricedChange { amount, record: rewrite(record, target, at, &credited) })
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
        let (left, days) = (stretch.days_after(at, today_counts), stretch.days());
        let unused: Vec<PaidLine> = stretch
            .lines
            .iter()
            .map(|l| PaidLine { amount: share(l.amount, left, days), ..l.clone() })
            .collect();
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

/// The record once the change is made: each stretch after `at` split there, its used part
/// keeping the rest of what was paid, its part left holding the new configuration at `quotes`'
/// new lines.
fn rewrite(record: &[Stretch], target: Target, at: Timestamp, quotes: &[PieceQuote]) -> Vec<Stretch> {
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
        if stretch.from < at {
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
            next.push(Stretch { to: at, lines: used_lines, ..stretch.clone() });
        }
        next.push(Stretch {
            from: stretch.from.max(at),
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
    // Owed time before the renewal's end is paid now, at what it ran at.
    let within = |s: &Stretch| s.kind == StretchKind::Owed && s.to <= to;
    let mut next: Vec<Stretch> = record
        .iter()
        .map(|s| if within(s) { Stretch { kind: StretchKind::Paid, ..s.clone() } } else { s.clone() })
        .collect();
    let owed: Vec<&Stretch> = record.iter().filter(|s| within(s)).collect();
    let owed_amount: u64 = owed.iter().map(|s| s.amount()).sum();
    let owed_end = owed.iter().map(|s| s.to).max();
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
        });
    }
    next.sort_by_key(|s| s.from);
    let charged = checked(owed_amount.checked_add(if rest_from < to { rest } else { 0 }))?;
    Ok(PricedRenewal { charged, record: next })
}
