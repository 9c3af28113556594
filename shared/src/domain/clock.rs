//! Time: UTC timestamps with one fixed text form, and a clock that tests can set.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::sync::{Arc, Mutex};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

/// A UTC instant with millisecond precision. Its text form (RFC 3339, always `Z`, always three
/// fraction digits) sorts lexicographically in time order, which the store's indexes rely on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// The latest instant a timestamp holds: arithmetic past it stops there rather than fail.
const LATEST: OffsetDateTime = time::macros::datetime!(9999-12-31 23:59:59.999 UTC);
/// The years a timestamp read from a request may fall in; anything else is refused as it is read.
const READABLE_YEARS: std::ops::RangeInclusive<i32> = 1970..=LAST_STORABLE_YEAR;
/// The last year a stored timestamp may fall in (see `Timestamp::is_storable`).
pub const LAST_STORABLE_YEAR: i32 = 2999;

impl Timestamp {
    pub const LATEST: Timestamp = Timestamp(LATEST);

    pub fn from_unix_millis(millis: i64) -> Self {
        let beyond = if millis > 0 { LATEST } else { OffsetDateTime::UNIX_EPOCH };
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).unwrap_or(beyond);
        Self(at.min(LATEST))
    }

    /// An RFC 3339 time in the years 1970 to 2999 (UTC); anything else is `None`, never a panic.
    pub fn parse(raw: &str) -> Option<Self> {
        let at = OffsetDateTime::parse(raw, &Rfc3339).ok()?.checked_to_offset(UtcOffset::UTC)?;
        if !READABLE_YEARS.contains(&at.year()) {
            return None;
        }
        Some(Self::from_unix_millis((at.unix_timestamp_nanos() / 1_000_000) as i64))
    }

    /// Whether it can be stored: read back, a timestamp must fall in the years `parse` takes.
    pub fn is_storable(self) -> bool {
        READABLE_YEARS.contains(&self.0.year())
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    pub fn unix_millis(self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// `seconds` later (earlier when negative), stopping at the ends of the calendar.
    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(Duration::seconds(seconds)).min(LATEST))
    }

    /// The day of the month, 1 to 31.
    pub fn day_of_month(self) -> u8 {
        self.0.day()
    }

    /// The same time `months` calendar months later; a day past the end of the target month
    /// becomes its last day (Jan 31 + 1 month = Feb 28 or 29).
    pub fn plus_months(self, months: u32) -> Self {
        self.plus_months_on_day(months, self.0.day())
    }

    /// `months` calendar months later, on the day `anchor_day` of that month (its last day
    /// when the month is shorter): a Jan 31 anchor gives Feb 28, then Mar 31, never drifting.
    pub fn plus_months_on_day(self, months: u32, anchor_day: u8) -> Self {
        self.in_month(self.month_index() + i64::from(months), anchor_day)
    }

    /// The same time `months` calendar months earlier (clamped to the month's last day).
    pub fn minus_months(self, months: u32) -> Self {
        self.in_month(self.month_index() - i64::from(months), self.0.day())
    }

    /// `months` calendar months earlier, on the day `anchor_day` of that month (its last day
    /// when the month is shorter).
    pub fn minus_months_on_day(self, months: u32, anchor_day: u8) -> Self {
        self.in_month(self.month_index() - i64::from(months), anchor_day)
    }

    /// Calendar months from `self`'s month to `later`'s (0 when `later` is not in a later month).
    pub fn months_until(self, later: Timestamp) -> u32 {
        u32::try_from(later.month_index() - self.month_index()).unwrap_or(0)
    }

    /// Months since year 0: `year * 12 + month - 1`.
    fn month_index(self) -> i64 {
        i64::from(self.0.year()) * 12 + i64::from(u8::from(self.0.month())) - 1
    }

    /// This time of day, in the month `index` (see `month_index`), on `day` or the month's
    /// last day; past the ends of the calendar, the end it went past.
    fn in_month(self, index: i64, day: u8) -> Self {
        let beyond = if index > self.month_index() { Self::LATEST } else { Self(OffsetDateTime::UNIX_EPOCH) };
        let (year, month0) = (index.div_euclid(12), index.rem_euclid(12) as u8);
        let Ok(year) = i32::try_from(year) else { return beyond };
        let month = time::Month::January.nth_next(month0);
        let day = day.clamp(1, time::util::days_in_month(month, year));
        time::Date::from_calendar_date(year, month, day)
            .map_or(beyond, |date| Self(self.0.replace_date(date).min(LATEST)))
    }

    /// The UTC day, `YYYY-MM-DD`.
    pub fn day(self) -> String {
        self.to_string()[..10].to_owned()
    }

    /// Seconds from `self` to `later` (negative when `later` is earlier).
    pub fn seconds_until(self, later: Timestamp) -> i64 {
        (later.0 - self.0).whole_seconds()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.format(FORMAT).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Timestamp::parse(&raw).ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 time"))
    }
}

/// Where "now" comes from. Handlers take it from the app, so a test can set the time.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let now = OffsetDateTime::now_utc();
        Timestamp::from_unix_millis((now.unix_timestamp_nanos() / 1_000_000) as i64)
    }
}

/// A clock that stands still until it is moved.
#[derive(Debug, Clone)]
pub struct FixedClock(Arc<Mutex<Timestamp>>);

impl FixedClock {
    pub fn at(now: Timestamp) -> Self {
        Self(Arc::new(Mutex::new(now)))
    }

    pub fn set(&self, now: Timestamp) {
        *self.0.lock().expect("clock lock") = now;
    }

    pub fn advance_seconds(&self, seconds: i64) {
        let mut now = self.0.lock().expect("clock lock");
        *now = now.plus_seconds(seconds);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().expect("clock lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_is_fixed_width_utc() {
        let t = Timestamp::parse("2026-11-25T14:30:00+02:00").unwrap();
        assert_eq!(t.to_string(), "2026-11-25T12:30:00.000Z");
        assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
    }

    #[test]
    fn text_form_sorts_in_time_order() {
        let a = Timestamp::parse("2026-01-01T00:00:00.5Z").unwrap();
        let b = a.plus_seconds(1);
        assert!(a.to_string() < b.to_string());
    }

    #[test]
    fn months_are_calendar_months() {
        let jan31 = Timestamp::parse("2027-01-31T10:00:00Z").unwrap();
        assert_eq!(jan31.plus_months(1).to_string(), "2027-02-28T10:00:00.000Z");
        assert_eq!(jan31.plus_months(12).to_string(), "2028-01-31T10:00:00.000Z");
        assert_eq!(jan31.plus_months(13).to_string(), "2028-02-29T10:00:00.000Z");
        let nov = Timestamp::parse("2026-11-25T12:00:00Z").unwrap();
        assert_eq!(nov.plus_months(3).to_string(), "2027-02-25T12:00:00.000Z");
        assert_eq!(nov.seconds_until(nov.plus_seconds(90)), 90);
        assert_eq!(nov.minus_months(11).to_string(), "2025-12-25T12:00:00.000Z");
        assert_eq!(
            Timestamp::parse("2027-03-31T00:00:00Z").unwrap().minus_months(1).to_string(),
            "2027-02-28T00:00:00.000Z"
        );
    }

    #[test]
    fn an_anchor_day_keeps_month_ends_from_drifting() {
        let feb28 = Timestamp::parse("2027-02-28T10:00:00Z").unwrap();
        assert_eq!(feb28.plus_months_on_day(1, 31).to_string(), "2027-03-31T10:00:00.000Z");
        assert_eq!(feb28.plus_months_on_day(2, 30).to_string(), "2027-04-30T10:00:00.000Z");
        assert_eq!(feb28.plus_months_on_day(12, 29).to_string(), "2028-02-29T10:00:00.000Z");
        assert_eq!(feb28.plus_months_on_day(24, 29).to_string(), "2029-02-28T10:00:00.000Z");
        assert_eq!(feb28.plus_months_on_day(0, 31).to_string(), "2027-02-28T10:00:00.000Z");
    }

    #[test]
    fn times_at_the_edges_of_the_calendar_are_refused_or_stop_there() {
        // 9999-12-31T23:30-01:00 is in year 10000 once in UTC: refused, never a panic.
        assert_eq!(Timestamp::parse("9999-12-31T23:30:00-01:00"), None);
        assert_eq!(Timestamp::parse("3000-01-01T00:00:00Z"), None);
        assert_eq!(Timestamp::parse("1969-12-31T23:59:59Z"), None);
        assert!(Timestamp::parse("2999-12-31T23:59:59Z").is_some());
        let late = Timestamp::parse("2999-12-31T00:00:00Z").unwrap();
        assert_eq!(late.plus_months(u32::MAX), Timestamp::LATEST);
        assert_eq!(late.plus_seconds(i64::MAX), Timestamp::LATEST);
        assert_eq!(Timestamp::LATEST.plus_months(1200), Timestamp::LATEST);
        let _ = Timestamp::from_unix_millis(0).minus_months(u32::MAX);
        assert_eq!(Timestamp::from_unix_millis(i64::MAX), Timestamp::LATEST);
    }

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let clock = FixedClock::at(Timestamp::from_unix_millis(0));
        assert_eq!(clock.now().unix_seconds(), 0);
        clock.advance_seconds(90);
        assert_eq!(clock.now().unix_seconds(), 90);
    }
}
