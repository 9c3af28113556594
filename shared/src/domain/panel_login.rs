//! Single sign-on into a service's control panel (`POST /services/{id}/panel-session`): who may
//! sign in and when, how often, what the panel's one-time link must look like, and how the
//! sign-in reads in the service's history.
//!
//! The link itself is the caller's alone: it is never stored (not in the history, not under an
//! idempotency key), logged or published. The history entry records who signed in, not how.

use super::history::Actor;
use super::refusal::Refusal;
use super::{Action, HistoryEntry, HistoryId, ProductTypeRules, Role, Service, Status, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Sign-ins into one service's panel within any 60 seconds.
pub const PER_MINUTE: u32 = 10;
/// The longest a link may stay valid.
pub const MAX_LINK_SECONDS: i64 = 60;
/// How far ahead of ours the panel's clock may run: a link whose expiry is past
/// `MAX_LINK_SECONDS` by more than this is refused, as is one already expired by more.
pub const CLOCK_ALLOWANCE_SECONDS: i64 = 5;
/// The longest link taken from a panel.
pub const MAX_LINK_LEN: usize = 2048;

/// The history entry's `details` key that says what happened, in words.
pub const SUMMARY: &str = "summary";
/// What the history says of a sign-in (the provider reads who with it).
pub const SIGNED_IN: &str = "signed in to the panel";
/// What a client reads of the provider's sign-in into its service's panel.
pub const PROVIDER_SIGNED_IN: &str = "the provider signed in to your panel";
/// What a client reads of its own sign-in.
pub const YOU_SIGNED_IN: &str = "you signed in to the panel";

impl Service {
    /// Whether its panel may be signed in to now: its product type's rules offer it
    /// (`panel_login`) and name a panel, and the service is active (a suspended service's panel
    /// is not reached this way). 409 otherwise, in words.
    pub fn ensure_panel_login(&self, rules: &ProductTypeRules) -> Result<(), Refusal> {
        if !rules.panel_login {
            return Err(Refusal::Conflict(format!(
                "{} services offer no sign-in to their control panel",
                self.product_type.as_str()
            )));
        }
        if self.status != Status::Active {
            return Err(self.refuse_status("sign in to the control panel of"));
        }
        rules.panel().map_err(|no_panel| Refusal::Conflict(no_panel.to_string()))?;
        Ok(())
    }

    /// The history entry of `actor`'s sign-in at `at`: nothing changes (active before and
    /// after), and the details say so in words, without the link.
    pub fn panel_login(
        &self,
        rules: &ProductTypeRules,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<HistoryEntry, Refusal> {
        self.ensure_panel_login(rules)?;
        Ok(HistoryEntry {
            id: HistoryId::generate(),
            at,
            actor: actor.clone(),
            operation: Action::PanelLogin,
            status_before: Some(self.status),
            status_after: self.status,
            details: json!({ SUMMARY: SIGNED_IN }),
        })
    }
}

/// The sign-ins into one service's panel within the last minute, oldest first: a sliding
/// window, so that no 60 seconds ever hold more than `PER_MINUTE` (a calendar minute's count
/// would let twice as many through across its end).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInLog {
    pub times: Vec<Timestamp>,
    /// Of the stored log: 0 when there is none yet.
    pub version: u64,
}

/// The window the log keeps, in milliseconds.
const WINDOW_MILLIS: i64 = 60_000;

impl SignInLog {
    /// The log with a sign-in at `now` (the ones a minute old dropped, its `version` the next),
    /// or the whole seconds until one more may come (1 to 60: a refused caller's
    /// `Retry-After`).
    pub fn admit(&self, now: Timestamp) -> Result<Self, u64> {
        let since = now.unix_millis().saturating_sub(WINDOW_MILLIS);
        let mut times: Vec<Timestamp> =
            self.times.iter().copied().filter(|t| t.unix_millis() > since).collect();
        // In time order, whichever instance's clock stamped them.
        times.sort();
        let limit = PER_MINUTE as usize;
        if times.len() >= limit {
            // One more comes once the one `limit` back from the newest is a minute old.
            let oldest_counted = times[times.len() - limit].unix_millis();
            let wait = (oldest_counted + WINDOW_MILLIS - now.unix_millis()).clamp(1, WINDOW_MILLIS);
            return Err(((wait + 999) / 1000) as u64);
        }
        times.push(now);
        Ok(Self { times, version: self.version + 1 })
    }

    /// When the stored log may be forgotten: a minute after its newest sign-in (epoch seconds).
    pub fn forget_at(&self) -> i64 {
        let newest = self.times.iter().map(|t| t.unix_seconds()).max().unwrap_or_default();
        newest + 61
    }
}

/// A one-time link into a panel, as the panel answered it and the caller gets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PanelSession {
    pub url: String,
    pub expires_at: Timestamp,
}

/// Why a panel's answer cannot be handed on (502). It never carries the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnusableSession {
    #[error("the answer is not {{url, expires_at}}")]
    Malformed,
    #[error("the link is not an http(s) address")]
    NotHttp,
    #[error("the link stays valid longer than {MAX_LINK_SECONDS} seconds")]
    TooLong,
    #[error("the link has expired already")]
    Expired,
}

impl PanelSession {
    /// The panel's answer `{url, expires_at}` read at `now` (the wall clock's: the panel's
    /// links run on it): an http(s) link, valid for at most `MAX_LINK_SECONDS` and not expired
    /// (within `CLOCK_ALLOWANCE_SECONDS` either way).
    pub fn from_answer(answer: &Value, now: Timestamp) -> Result<Self, UnusableSession> {
        let url = answer.get("url").and_then(Value::as_str).ok_or(UnusableSession::Malformed)?;
        let expires_at = answer
            .get("expires_at")
            .and_then(Value::as_str)
            .and_then(Timestamp::parse)
            .ok_or(UnusableSession::Malformed)?;
        if !is_http_link(url) {
            return Err(UnusableSession::NotHttp);
        }
        let ahead = now.seconds_until(expires_at);
        if ahead > MAX_LINK_SECONDS + CLOCK_ALLOWANCE_SECONDS {
            return Err(UnusableSession::TooLong);
        }
        if ahead < -CLOCK_ALLOWANCE_SECONDS {
            return Err(UnusableSession::Expired);
        }
        Ok(Self { url: url.to_owned(), expires_at })
    }
}

/// `http(s)://host[:port]` followed by a path, query or fragment of printable ASCII that is
/// safe in a URL; no user in it, at most `MAX_LINK_LEN` long.
fn is_http_link(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let scheme = if lower.starts_with("https://") {
        8
    } else if lower.starts_with("http://") {
        7
    } else {
        return false;
    };
    let rest = &url[scheme..];
    let (authority, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    url.len() <= MAX_LINK_LEN
        && super::catalog::is_host_and_port(authority)
        && tail.bytes().all(|b| b.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&b))
}

/// What a client reads of a sign-in entry in its service's history: who signed in, in words
/// (the provider's staff is "the provider"). `None` for any other entry.
pub fn summary_for_client(entry: &HistoryEntry) -> Option<&'static str> {
    if entry.operation != Action::PanelLogin {
        return None;
    }
    Some(match entry.actor.role {
        Role::Provider => PROVIDER_SIGNED_IN,
        Role::Client => YOU_SIGNED_IN,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::events::LifecycleEvent;
    use crate::domain::notification::Kind;

    fn at(raw: &str) -> Timestamp {
        Timestamp::parse(raw).unwrap()
    }

    fn rules(panel_login: bool) -> ProductTypeRules {
        ProductTypeRules {
            panel_login,
            panel_url: Some("http://panel.example/vps".into()),
            ..crate::domain::catalog::sample_rules()
        }
    }

    fn active() -> Service {
        let service = crate::domain::order::sample_service(at("2026-11-01T00:00:00Z"));
        Service { status: Status::Active, paid: true, ..service }
    }

    fn ops() -> Actor {
        Actor { id: "ops".into(), role: Role::Provider }
    }

    #[test]
    fn only_an_active_service_of_a_type_that_offers_it_is_signed_in_to() {
        let now = at("2026-11-02T10:00:00Z");
        let entry = active().panel_login(&rules(true), &ops(), now).unwrap();
        assert_eq!(
            (entry.operation, entry.status_before, entry.status_after),
            (Action::PanelLogin, Some(Status::Active), Status::Active)
        );
        assert_eq!(entry.details, json!({"summary": "signed in to the panel"}));
        let refused = active().ensure_panel_login(&rules(false)).unwrap_err();
        assert_eq!(refused.message(), "vps services offer no sign-in to their control panel");
        let suspended = Service { status: Status::Suspended, ..active() };
        let refused = suspended.ensure_panel_login(&rules(true)).unwrap_err();
        assert_eq!(refused.message(), "cannot sign in to the control panel of a service that is suspended");
        let no_panel = ProductTypeRules { panel_url: None, ..rules(true) };
        let refused = active().ensure_panel_login(&no_panel).unwrap_err();
        assert_eq!(refused.message(), "the vps product type has no control panel set");
    }

    /// Sign-ins at `seconds` past 10:00 (fractions allowed), each admitted: the log.
    fn signed_in_at(seconds: &[f64]) -> SignInLog {
        let start = at("2026-11-02T10:00:00Z").unix_millis();
        seconds.iter().fold(SignInLog::default(), |log, s| {
            let when = Timestamp::from_unix_millis(start + (s * 1000.0) as i64);
            log.admit(when).unwrap_or_else(|wait| panic!("refused at {s} s, wait {wait} s"))
        })
    }

    #[test]
    fn no_sixty_seconds_hold_more_than_ten_sign_ins() {
        let ten: Vec<f64> = (0..10).map(|n| 50.0 + f64::from(n)).collect(); // 10:00:50 to 10:00:59
        let log = signed_in_at(&ten);
        assert_eq!((log.times.len(), log.version), (10, 10));
        let start = at("2026-11-02T10:00:00Z");
        // Past the calendar minute's end the ten are still within the last 60 seconds.
        assert_eq!(log.admit(start.plus_seconds(61)), Err(49));
        assert_eq!(log.admit(start.plus_seconds(109)), Err(1));
        // The first of them is a minute old at 10:01:50: one more, and only one.
        let eleventh = log.admit(start.plus_seconds(110)).expect("one more a minute after the first");
        assert_eq!(eleventh.times.len(), 10, "the minute-old one dropped");
        assert_eq!(eleventh.admit(start.plus_seconds(110)), Err(1));
        let twelfth = eleventh.admit(start.plus_seconds(111)).expect("the second is a minute old");
        assert_eq!(twelfth.version, 12);
        assert_eq!(twelfth.forget_at(), start.plus_seconds(111 + 61).unix_seconds());
        // A wait is whole seconds, rounded up, at least one.
        let burst = signed_in_at(&[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5]);
        let refused = |ms: i64| burst.admit(Timestamp::from_unix_millis(start.unix_millis() + ms));
        assert_eq!(refused(0), Err(60));
        assert_eq!(refused(59_999), Err(1));
        assert_eq!(refused(59_100), Err(1));
        assert_eq!(refused(58_900), Err(2));
        assert!(refused(60_000).is_ok());
        // Ten spread over a minute: the eleventh waits for the oldest only.
        let spread = signed_in_at(&[0.0, 6.0, 12.0, 18.0, 24.0, 30.0, 36.0, 42.0, 48.0, 54.0]);
        assert_eq!(spread.admit(start.plus_seconds(55)), Err(5));
        assert!(spread.admit(start.plus_seconds(60)).is_ok());
    }

    #[test]
    fn a_panels_answer_is_an_http_link_valid_a_minute_at_most() {
        let now = at("2026-11-02T10:00:00Z");
        let answer = |url: &str, expires: &str| json!({"url": url, "expires_at": expires});
        let fine = PanelSession::from_answer(
            &answer("https://panel.example/login/abc?x=1", "2026-11-02T10:01:00Z"),
            now,
        );
        assert_eq!(fine.unwrap().expires_at, at("2026-11-02T10:01:00Z"));
        assert!(PanelSession::from_answer(
            &answer("HTTP://127.0.0.1:8700/p/vps/login/t", "2026-11-02T10:00:30Z"),
            now
        )
        .is_ok());
        // A panel whose clock runs a little ahead, or behind.
        assert!(PanelSession::from_answer(&answer("http://p.example/l", "2026-11-02T10:01:04Z"), now).is_ok());
        assert!(PanelSession::from_answer(&answer("http://p.example/l", "2026-11-02T09:59:56Z"), now).is_ok());
        let cases = [
            (answer("http://p.example/l", "2026-11-02T10:01:06Z"), UnusableSession::TooLong),
            (answer("http://p.example/l", "2026-11-03T10:00:00Z"), UnusableSession::TooLong),
            (answer("http://p.example/l", "2026-11-02T09:59:50Z"), UnusableSession::Expired),
            (answer("javascript:alert(1)", "2026-11-02T10:00:30Z"), UnusableSession::NotHttp),
            (answer("ftp://p.example/l", "2026-11-02T10:00:30Z"), UnusableSession::NotHttp),
            (answer("https://user@p.example/l", "2026-11-02T10:00:30Z"), UnusableSession::NotHttp),
            (answer("https:///l", "2026-11-02T10:00:30Z"), UnusableSession::NotHttp),
            (answer("https://p.example/a b", "2026-11-02T10:00:30Z"), UnusableSession::NotHttp),
            (answer("https://p.é/l", "2026-11-02T10:00:30Z"), UnusableSession::NotHttp),
            (answer("https", "2026-11-02T10:00:30Z"), UnusableSession::NotHttp),
            (answer("http://p.example/l", "in a minute"), UnusableSession::Malformed),
            (json!({"url": "http://p.example/l"}), UnusableSession::Malformed),
            (json!({"expires_at": "2026-11-02T10:00:30Z"}), UnusableSession::Malformed),
            (json!([1, 2]), UnusableSession::Malformed),
            (json!(null), UnusableSession::Malformed),
        ];
        for (answer, expected) in cases {
            assert_eq!(PanelSession::from_answer(&answer, now), Err(expected), "{answer}");
        }
        let long = format!("https://p.example/{}", "a".repeat(MAX_LINK_LEN));
        assert_eq!(
            PanelSession::from_answer(&answer(&long, "2026-11-02T10:00:30Z"), now),
            Err(UnusableSession::NotHttp)
        );
    }

    #[test]
    fn a_sign_in_reads_in_words_and_tells_nobody_anything_else() {
        let now = at("2026-11-02T10:00:00Z");
        let service = active();
        let by_ops = service.panel_login(&rules(true), &ops(), now).unwrap();
        assert_eq!(summary_for_client(&by_ops), Some("the provider signed in to your panel"));
        let alice = Actor { id: "alice".into(), role: Role::Client };
        let by_alice = service.panel_login(&rules(true), &alice, now).unwrap();
        assert_eq!(summary_for_client(&by_alice), Some("you signed in to the panel"));
        let read = by_ops.for_client("Hosting Co");
        assert_eq!(read.details["summary"], "the provider signed in to your panel");
        assert_eq!(read.actor, Actor { id: "Hosting Co".into(), role: Role::Provider });
        for entry in [&by_ops, &by_alice] {
            let event = LifecycleEvent::new(&service, entry);
            assert_eq!(Kind::of(&event), None, "no e-mail");
            assert_eq!(event.for_the_bus().details, json!({}), "nothing but the fact on the bus");
            assert_eq!(event.detail_type(), "service.panel_login");
        }
    }
}
