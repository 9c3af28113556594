//! Single sign-on into a service's control panel (`POST /services/{id}/panel-session`): who may
//! sign in and when, how often, what the panel's one-time link must look like, and how the
//! sign-in reads in the service's history.
//!
//! The link itself is the caller's alone: it is never stored (not in the history, not under an
//! idempotency key), logged or published. The history entry records who signed in, not how.

use super::history::Actor;
use super::refusal::Refusal;
use super::{Action, HistoryEntry, HistoryId, ProductTypeRules, Role, Service, Status, Timestamp};
use serde::Serialize;
use serde_json::{json, Value};

/// Sign-ins into one service's panel within one UTC clock minute.
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

/// The minute a sign-in is counted in (`YYYY-MM-DDTHH:MM`, UTC), how many seconds are left of
/// it (1 to 60: a refused caller's `Retry-After`), and when its counter may be forgotten (the
/// minute after it ends, epoch seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinuteWindow {
    pub minute: String,
    pub seconds_left: u64,
    pub forget_at: i64,
}

impl MinuteWindow {
    pub fn of(now: Timestamp) -> Self {
        let seconds = now.unix_seconds();
        let start = seconds - seconds.rem_euclid(60);
        let text = Timestamp::from_unix_millis(start.saturating_mul(1000)).to_string();
        let minute = text.get(..16).unwrap_or(&text).to_owned();
        Self { minute, seconds_left: (start + 60 - seconds) as u64, forget_at: start + 120 }
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

    #[test]
    fn the_minute_window_ends_on_the_minute() {
        let window = MinuteWindow::of(at("2026-11-02T10:07:00.000Z"));
        assert_eq!(window.minute, "2026-11-02T10:07");
        assert_eq!(window.seconds_left, 60);
        assert_eq!(window.forget_at, at("2026-11-02T10:09:00Z").unix_seconds());
        let late = MinuteWindow::of(at("2026-11-02T10:07:59.999Z"));
        assert_eq!((late.minute.as_str(), late.seconds_left), ("2026-11-02T10:07", 1));
        let next = MinuteWindow::of(at("2026-11-02T10:08:00.000Z"));
        assert_eq!(next.minute, "2026-11-02T10:08");
        let new_year = MinuteWindow::of(at("2026-12-31T23:59:30Z"));
        assert_eq!((new_year.minute.as_str(), new_year.seconds_left), ("2026-12-31T23:59", 30));
        assert_eq!(MinuteWindow::of(at("2027-01-01T00:00:00Z")).minute, "2027-01-01T00:00");
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
