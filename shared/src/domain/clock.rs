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

impl Timestamp {
    pub fn from_unix_millis(millis: i64) -> Self {
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Self(at)
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let at = OffsetDateTime::parse(raw, &Rfc3339).ok()?.to_offset(UtcOffset::UTC);
        Some(Self::from_unix_millis((at.unix_timestamp_nanos() / 1_000_000) as i64))
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0 + Duration::seconds(seconds))
    }

    /// The same time `months` calendar months later; a day past the end of the target month
    /// becomes its last day (Jan 31 + 1 month = Feb 28 or 29).
    pub fn plus_months(self, months: u32) -> Self {
        let total = self.0.month() as u32 - 1 + months;
        let year = self.0.year() + (total / 12) as i32;
        let month = time::Month::try_from((total % 12 + 1) as u8).expect("a month");
        let day = self.0.day().min(time::util::days_in_month(month, year));
        let date = time::Date::from_calendar_date(year, month, day).expect("a valid date");
        Self(self.0.replace_date(date))
    }

    /// The same time `months` calendar months earlier (clamped to the month's last day).
    pub fn minus_months(self, months: u32) -> Self {
        let index = self.0.year() * 12 + self.0.month() as i32 - 1 - months as i32;
        let (year, month) = (index.div_euclid(12), (index.rem_euclid(12) + 1) as u8);
        let month = time::Month::try_from(month).expect("a month");
        let day = self.0.day().min(time::util::days_in_month(month, year));
        let date = time::Date::from_calendar_date(year, month, day).expect("a valid date");
        Self(self.0.replace_date(date))
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
    fn fixed_clock_moves_only_when_told() {
        let clock = FixedClock::at(Timestamp::from_unix_millis(0));
        assert_eq!(clock.now().unix_seconds(), 0);
        clock.advance_seconds(90);
        assert_eq!(clock.now().unix_seconds(), 90);
    }
}
