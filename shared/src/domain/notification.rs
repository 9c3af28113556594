//! What a client is told by e-mail: which lifecycle events it hears about (`Kind`), its address
//! and muted kinds (`Settings`), and the e-mail each kind renders to (`Template`, with a default
//! per kind in `shared/templates/notifications/`, which the provider may replace).

use super::events::LifecycleEvent;
use super::{Action, Service, Status, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The events a client hears about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Activated,
    ActivationFailed,
    Suspended,
    Resumed,
    Renewed,
    RenewalDeclined,
    RenewalUpcoming,
    ExpiryUpcoming,
    DeletionUpcoming,
    TariffChanged,
    OptionsChanged,
    Deleted,
    /// The provider set a new renewal price from a date ahead.
    PriceChange,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Kind::Activated,
        Kind::ActivationFailed,
        Kind::Suspended,
        Kind::Resumed,
        Kind::Renewed,
        Kind::RenewalDeclined,
        Kind::RenewalUpcoming,
        Kind::ExpiryUpcoming,
        Kind::DeletionUpcoming,
        Kind::TariffChanged,
        Kind::OptionsChanged,
        Kind::Deleted,
        Kind::PriceChange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Activated => "activated",
            Kind::ActivationFailed => "activation_failed",
            Kind::Suspended => "suspended",
            Kind::Resumed => "resumed",
            Kind::Renewed => "renewed",
            Kind::RenewalDeclined => "renewal_declined",
            Kind::RenewalUpcoming => "renewal_upcoming",
            Kind::ExpiryUpcoming => "expiry_upcoming",
            Kind::DeletionUpcoming => "deletion_upcoming",
            Kind::TariffChanged => "tariff_changed",
            Kind::OptionsChanged => "options_changed",
            Kind::Deleted => "deleted",
            Kind::PriceChange => "price_change",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// What a client must hear whatever it chose: its service stops or goes away.
    pub fn can_be_muted(self) -> bool {
        !matches!(self, Kind::Suspended | Kind::DeletionUpcoming | Kind::Deleted)
    }

    /// The kind of e-mail `event` is for its client, if any. The start of long work tells
    /// nothing yet (its end does); an operation undone is in the history, not in the mail box,
    /// except an activation, which the client waits for.
    pub fn of(event: &LifecycleEvent) -> Option<Kind> {
        if event.status_after == Status::InProgress {
            return None;
        }
        let result = event.details.get("result").and_then(Value::as_str);
        let failed = event.details.get("error").is_some();
        let done = result == Some("done");
        // A panel brought back in step with billing (`Work::Resync`): the service is as its
        // client was last told.
        if event.details.get("resync").and_then(Value::as_bool) == Some(true) {
            return None;
        }
        match event.operation {
            Action::Activation if failed || result == Some("not_available") => Some(Kind::ActivationFailed),
            Action::Activation if done => Some(Kind::Activated),
            // Renewed even when the panel then would not resume the service (`error` set): it
            // is paid for, and the client is told.
            Action::Renewal if done => Some(Kind::Renewed),
            _ if failed => None,
            Action::Suspension if is_suspended(event.status_after) => Some(Kind::Suspended),
            Action::Resume if done && event.status_after == Status::Active => Some(Kind::Resumed),
            // Told once per attempt window: the later declines of the same validity are recorded.
            Action::Renewal if result == Some("insufficient_funds") => {
                let later = event.details.get("first_in_window").and_then(Value::as_bool) == Some(false);
                (!later).then_some(Kind::RenewalDeclined)
            }
            Action::TariffChange if done => Some(Kind::TariffChanged),
            Action::OptionsChange if done => Some(Kind::OptionsChanged),
            Action::Deletion if done || deleted_at_once(event) => Some(Kind::Deleted),
            Action::RenewalUpcoming => Some(Kind::RenewalUpcoming),
            Action::ExpiryUpcoming => Some(Kind::ExpiryUpcoming),
            Action::DeletionUpcoming => Some(Kind::DeletionUpcoming),
            // A sign-in into the panel is in the history only: no e-mail (and no link anywhere).
            Action::PanelLogin => None,
            Action::PriceChange => Some(Kind::PriceChange),
            _ => None,
        }
    }
}

/// A service never activated is deleted at once, its payment refunded: its client hears of it,
/// unless it only took an unpaid order (a quick one waiting for its parameters included) out
/// of its cart.
fn deleted_at_once(event: &LifecycleEvent) -> bool {
    let refunded = event.details.get("refunded").and_then(Value::as_u64).unwrap_or(0);
    let in_cart = matches!(event.status_before, Some(Status::Ordered | Status::ConfigurationRequired));
    event.status_after == Status::Deleted && (!in_cart || refunded > 0)
}

fn is_suspended(status: Status) -> bool {
    matches!(
        status,
        Status::Suspended | Status::SuspendedByAdmin | Status::SuspendedAbuse | Status::TemporarilySuspended
    )
}

/// A client's notification address and the kinds it muted, as a request sets them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsRequest {
    pub email: Option<String>,
    #[serde(default)]
    pub muted: Vec<Kind>,
}

impl SettingsRequest {
    /// The request as stored: the address trimmed, the muted kinds sorted once each; a
    /// malformed address, or muting a kind that cannot be muted, is refused.
    pub fn validated(self) -> Result<SettingsRequest, super::RuleViolation> {
        let email = self.email.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty());
        if let Some(email) = &email {
            if !is_email(email) {
                return Err(super::RuleViolation::new("email is not a valid e-mail address"));
            }
        }
        if let Some(kind) = self.muted.iter().find(|k| !k.can_be_muted()) {
            return Err(super::RuleViolation::new(format!("{} cannot be muted", kind.as_str())));
        }
        let mut muted = self.muted;
        muted.sort();
        muted.dedup();
        Ok(SettingsRequest { email, muted })
    }
}

/// How long a confirmation link works.
pub const CONFIRMATION_SECONDS: i64 = 24 * 3600;

/// A client's notification settings: the confirmed address e-mails go to, the kinds muted, and
/// an address waiting for its confirmation (which receives nothing else until confirmed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub email: Option<String>,
    #[serde(default)]
    pub muted: Vec<Kind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingAddress>,
}

/// A new address and the one-time code that confirms it (kept as its SHA-256 only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAddress {
    pub email: String,
    pub code_sha256: String,
    pub until: Timestamp,
}

/// Who asks for a change of settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetBy {
    /// The client: a new address is confirmed from its mail box first.
    Client,
    /// The provider, which vouches for the address it sets.
    Provider,
}

impl Settings {
    /// These settings after `request`: the muted kinds as asked; the address as asked when the
    /// provider sets it, when it is removed, or when it is the confirmed one; else the confirmed
    /// address stays and the new one waits for `code` (the answer's address is the one to send
    /// the code to).
    pub fn change(
        &self,
        request: SettingsRequest,
        by: SetBy,
        code: &str,
        now: Timestamp,
    ) -> (Settings, Option<String>) {
        let muted = request.muted;
        match request.email {
            Some(email) if by == SetBy::Client && self.email.as_deref() != Some(email.as_str()) => {
                let pending = PendingAddress {
                    email: email.clone(),
                    code_sha256: super::ids::sha256_hex(code.as_bytes()),
                    until: now.plus_seconds(CONFIRMATION_SECONDS),
                };
                (Settings { email: self.email.clone(), muted, pending: Some(pending) }, Some(email))
            }
            email => (Settings { email, muted, pending: None }, None),
        }
    }

    /// These settings with the waiting address confirmed by `code`: `None` when no address
    /// waits, the code is not its code, or it came too late.
    pub fn confirm(&self, code: &str, now: Timestamp) -> Option<Settings> {
        let pending = self.pending.as_ref()?;
        let matches = constant_time_eq(
            pending.code_sha256.as_bytes(),
            super::ids::sha256_hex(code.trim().as_bytes()).as_bytes(),
        );
        (matches && now < pending.until).then(|| Settings {
            email: Some(pending.email.clone()),
            muted: self.muted.clone(),
            pending: None,
        })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The e-mail that asks a new address to confirm it: fixed words, the code and the link, and
/// nothing the client typed but the address itself.
pub fn confirmation_email(code: &str, link: Option<&str>, provider: &str) -> Email {
    let link_line = link.map(|l| format!("{l}?confirm={code}")).unwrap_or_default();
    let text = format!(
        "Someone asked that notifications about their hosting services with {provider} be sent to this \
         address.\n\nIf it was you, confirm the address: {}enter the code {code} on the Account page of \
         the console. The code works for 24 hours.\n\nIf it was not you, ignore this e-mail: nothing \
         else will be sent to this address.\n",
        if link_line.is_empty() { String::new() } else { format!("open {link_line} or ") },
    );
    let html = format!("<p>{}</p>", html_escape(&text).replace("\n\n", "</p><p>").replace('\n', " "));
    Email { subject: format!("Confirm your address for {provider} notifications"), text, html }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub use super::text::{is_email, MAX_EMAIL};

/// An e-mail template: subject and text are plain, html is escaped as it renders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Bounds on a provider's template, in bytes.
pub const MAX_SUBJECT: usize = 500;
pub const MAX_BODY: usize = 100_000;
/// The instructions one rendering may run: a template that loops for ever (or a billion
/// times) stops there instead of holding the notifier.
pub const RENDER_FUEL: u64 = 100_000;

/// An e-mail, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
}

macro_rules! defaults {
    ($($kind:ident => $file:literal),* $(,)?) => {
        /// The template the repository ships for `kind`.
        pub fn default_template(kind: Kind) -> Template {
            match kind {
                $(Kind::$kind => Template {
                    subject: include_str!(concat!("../../templates/notifications/", $file, ".subject")).trim().to_owned(),
                    text: include_str!(concat!("../../templates/notifications/", $file, ".txt")).to_owned(),
                    html: include_str!(concat!("../../templates/notifications/", $file, ".html")).to_owned(),
                },)*
            }
        }
    };
}

defaults! {
    Activated => "activated",
    ActivationFailed => "activation_failed",
    Suspended => "suspended",
    Resumed => "resumed",
    Renewed => "renewed",
    RenewalDeclined => "renewal_declined",
    RenewalUpcoming => "renewal_upcoming",
    ExpiryUpcoming => "expiry_upcoming",
    DeletionUpcoming => "deletion_upcoming",
    TariffChanged => "tariff_changed",
    OptionsChanged => "options_changed",
    Deleted => "deleted",
    PriceChange => "price_change",
}

impl Template {
    /// Renders with `context`; any variable the context lacks is an error, never an empty
    /// gap in a client's e-mail.
    pub fn render(&self, context: &Value) -> Result<Email, super::RuleViolation> {
        use minijinja::{AutoEscape, Environment, UndefinedBehavior};
        if self.subject.len() > MAX_SUBJECT || self.text.len() > MAX_BODY || self.html.len() > MAX_BODY {
            return Err(super::RuleViolation::new(format!(
                "a subject has at most {MAX_SUBJECT} bytes and a body at most {MAX_BODY}"
            )));
        }
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(RENDER_FUEL));
        env.set_auto_escape_callback(|name| if name == "html" { AutoEscape::Html } else { AutoEscape::None });
        let render = |name: &str, source: &str| {
            env.render_named_str(name, source, context)
                .map_err(|e| super::RuleViolation::new(format!("the {name} template does not render: {e}")))
        };
        // One line: a header cannot be split by what a variable holds.
        let subject = render("subject", &self.subject)?.split_whitespace().collect::<Vec<_>>().join(" ");
        let email = Email { subject, text: render("text", &self.text)?, html: render("html", &self.html)? };
        if email.subject.len() > MAX_SUBJECT || email.text.len() > MAX_BODY || email.html.len() > MAX_BODY {
            return Err(super::RuleViolation::new("the rendered e-mail is too long"));
        }
        Ok(email)
    }

    /// Renders with a made-up event of `kind`: how a provider's template is checked before it
    /// is kept.
    pub fn check(&self, kind: Kind) -> Result<Email, super::RuleViolation> {
        self.render(&sample_context(kind))
    }
}

/// What an e-mail about a service says, beyond the event itself: the service's name as its
/// client knows it and what it costs now.
#[derive(Debug, Clone)]
pub struct About<'a> {
    pub service: &'a Service,
    /// The name of the tariff the event names.
    pub tariff_name: &'a str,
}

/// `12.34` for 1234 minor units.
pub fn money(minor: u64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// `2026-12-25`.
pub fn date(at: Timestamp) -> String {
    at.day()
}

fn date_in(details: &Value, field: &str) -> Option<String> {
    details.get(field).and_then(Value::as_str).and_then(Timestamp::parse).map(date)
}

fn amount_in(details: &Value, field: &str) -> Option<u64> {
    details.get(field).and_then(Value::as_u64)
}

/// The variables `kind`'s template gets for `event` (docs/operations.md, "Notifications", lists them).
pub fn context(kind: Kind, event: &LifecycleEvent, about: &About) -> Value {
    let service = about.service;
    let details = &event.details;
    let expires_at = date_in(details, "expires_at").or_else(|| service.expires_at.map(date));
    let renewal_price = money(service.renewal_price);
    let at = event.at.to_string();
    let mut context = json!({
        "service": service.mail_name(about.tariff_name),
        "service_id": event.service_id,
        "kind": kind.as_str(),
        "at": format!("{} {} UTC", &at[..10], &at[11..16]),
        "status": status_in_words(event.status_after),
    });
    let days = details.get("days").cloned().unwrap_or(json!(0));
    let extra = match kind {
        Kind::Activated | Kind::Resumed => json!({"expires_at": expires_at}),
        Kind::ActivationFailed => json!({"error": if details.get("error").is_some() {
            super::failure::SETUP_NOT_DONE
        } else {
            "the control panel has no free resources for it now; the provider will set it up as soon as it can, \
             and deleting the service refunds its payment"
        }}),
        Kind::Suspended => {
            // The reason this suspension added (a lapse under a provider's or an abuse
            // suspension adds non-payment, while the status shows the stronger hold).
            let added = details.get("hold").and_then(Value::as_str);
            let non_payment =
                added == Some("non_payment") || event.status_after == Status::TemporarilySuspended;
            json!({
                "reason": if non_payment { "for non-payment" } else { suspension_reason(event.status_after) },
                "non_payment": non_payment,
                "amount": renewal_price,
                "expires_at": expires_at,
            })
        }
        Kind::Renewed => json!({
            "amount": money(amount_in(details, "charged").unwrap_or(0)),
            "expires_at": expires_at,
            "automatic": event.actor.id.starts_with("system:"),
        }),
        Kind::RenewalDeclined => {
            let (needed, balance) =
                (amount_in(details, "needed").unwrap_or(0), amount_in(details, "balance").unwrap_or(0));
            json!({
                "amount": money(needed),
                "balance": money(balance),
                "shortfall": money(needed.saturating_sub(balance)),
                "expires_at": expires_at,
            })
        }
        Kind::RenewalUpcoming => json!({
            "days": days,
            "amount": money(amount_in(details, "amount").unwrap_or(service.renewal_price)),
            "balance": money(amount_in(details, "balance").unwrap_or(0)),
            "covered": details.get("covered").and_then(Value::as_bool).unwrap_or(false),
            "attempt_at": date_in(details, "attempt_at"),
            "expires_at": expires_at,
        }),
        Kind::ExpiryUpcoming => json!({
            "days": days,
            "expires_at": expires_at,
            "amount": money(amount_in(details, "amount").unwrap_or(service.renewal_price)),
        }),
        Kind::DeletionUpcoming => json!({
            "days": days,
            "delete_at": date_in(details, "delete_at"),
            "amount": renewal_price,
        }),
        Kind::TariffChanged => json!({
            "tariff": about.tariff_name,
            "renewal_price": money(amount_in(details, "renewal_price").unwrap_or(service.renewal_price)),
        }),
        Kind::OptionsChanged => json!({
            "renewal_price": money(amount_in(details, "renewal_price").unwrap_or(service.renewal_price)),
        }),
        Kind::Deleted => json!({}),
        Kind::PriceChange => json!({
            "renewal_price": money(amount_in(details, "renewal_price").unwrap_or(service.renewal_price)),
            "renewal_price_before": money(amount_in(details, "renewal_price_before").unwrap_or(service.renewal_price)),
            "from": date_in(details, "from"),
        }),
    };
    if let (Some(context), Some(extra)) = (context.as_object_mut(), extra.as_object()) {
        context.extend(extra.clone());
    }
    context
}

fn suspension_reason(status: Status) -> &'static str {
    match status {
        Status::SuspendedByAdmin => "by the provider",
        Status::SuspendedAbuse => "for abuse",
        Status::TemporarilySuspended => "for non-payment",
        _ => "at your request",
    }
}

/// A status as the client area names it.
pub fn status_in_words(status: Status) -> &'static str {
    match status {
        Status::Ordered => "Ordered",
        Status::Active => "Active",
        Status::Suspended => "Suspended",
        Status::SuspendedByAdmin => "Suspended by administrator",
        Status::SuspendedAbuse => "Suspended due to abuse",
        Status::TemporarilySuspended => "Temporarily suspended",
        Status::Deleted => "Deleted",
        Status::InProgress => "In progress",
        Status::ConfigurationRequired => "Complete configuration",
        Status::NotAvailable => "Not available",
    }
}

/// A made-up event of `kind` on a made-up service, with every variable its template may use.
pub fn sample_context(kind: Kind) -> Value {
    let at = Timestamp::parse("2026-11-25T14:00:00Z").unwrap_or(Timestamp::LATEST);
    let (mut service, entry) = super::order::sample_order(at);
    service.status = Status::Active;
    service.expires_at = Some(at.plus_months(1));
    let details = json!({
        "result": "done", "charged": 500, "needed": 500, "balance": 120, "amount": 500, "covered": false,
        "days": 7, "attempt_at": at.plus_seconds(7 * 86_400), "expires_at": at.plus_months(1),
        "delete_at": at.plus_seconds(7 * 86_400), "renewal_price": 500,
        "renewal_price_before": 450, "from": at.plus_seconds(30 * 86_400),
    });
    let event = LifecycleEvent { details, ..LifecycleEvent::new(&service, &entry) };
    context(kind, &event, &About { service: &service, tariff_name: "VPS Start" })
}

/// What became of a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Sent,
    /// Its client muted the kind.
    Muted,
    /// Its client has no address.
    NoAddress,
    /// Not sent (yet): being sent, or the mail service refused it and it is retried.
    Failed,
    /// Not e-mailed: its client had had the most e-mails an hour allows (`EMAILS_PER_HOUR`).
    /// It stays in the client's notifications, where the console lists it.
    Held,
}

/// One event told to one client: its log entry, which is also the client's inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Changes with each attempt: the attempt that claimed it writes its outcome.
    pub id: String,
    pub event_id: super::HistoryId,
    pub client_id: super::ClientId,
    pub kind: Kind,
    pub service_id: super::ServiceId,
    pub subject: String,
    pub at: Timestamp,
    pub channel: String,
    pub to: Option<String>,
    pub status: Delivery,
    pub error: Option<String>,
}

/// An attempt that has claimed a notification but not written its outcome says so.
pub const NOT_SENT_YET: &str = "not sent yet: being sent, or to be sent again";

/// A send whose outcome is unknown (its attempt died while sending, or the mail service's
/// answer never came) says so. It is never sent again: the mail service has no idempotency
/// key, and a client told twice is worse than a log that says it may not have arrived.
pub const UNCONFIRMED: &str = "sending was interrupted: it may not have arrived, and is not sent again";

/// What a notification the mail service will never send says (the provider reads the mail
/// service's words after it).
pub const REJECTED: &str = "rejected by the mail service, not sent again";

/// A held notification's words (`Delivery::Held`).
pub fn held(per_hour: u32) -> String {
    format!("held: more than {per_hour} e-mails to this client in an hour; listed here, not e-mailed")
}

/// The same, as its client reads it.
pub const REJECTED_FOR_CLIENT: &str =
    "the mail service would not deliver it to your address, and it is not sent again: check your notification address";

impl Notification {
    /// The notification of `event`, as `settings` decide: muted, without an address, or to be
    /// sent (`Failed` with `NOT_SENT_YET` until the mail service took it).
    pub fn of(
        event: &LifecycleEvent,
        kind: Kind,
        settings: &Settings,
        subject: String,
        now: Timestamp,
    ) -> Self {
        let (status, error) = match (&settings.email, settings.muted.contains(&kind) && kind.can_be_muted()) {
            (_, true) => (Delivery::Muted, None),
            (None, false) => (Delivery::NoAddress, None),
            (Some(_), false) => (Delivery::Failed, Some(NOT_SENT_YET.to_owned())),
        };
        let to = if status == Delivery::Muted { None } else { settings.email.clone() };
        Notification {
            id: super::ids::next_id(),
            event_id: event.id.clone(),
            client_id: event.client_id.clone(),
            kind,
            service_id: event.service_id.clone(),
            subject,
            at: now,
            channel: "email".into(),
            to,
            status,
            error,
        }
    }

    /// Whether it is still to be sent.
    pub fn to_send(&self) -> bool {
        self.status == Delivery::Failed && self.error.as_deref() != Some(UNCONFIRMED)
    }

    /// Whether an attempt claimed it and has not written what came of its send.
    pub fn being_sent(&self) -> bool {
        self.status == Delivery::Failed && self.error.as_deref() == Some(NOT_SENT_YET)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::history::Actor;
    use crate::domain::{HistoryId, Role};

    fn event(operation: Action, before: Status, after: Status, details: Value) -> LifecycleEvent {
        let at = Timestamp::parse("2026-11-25T14:00:00Z").unwrap();
        let (service, entry) = super::super::order::sample_order(at);
        LifecycleEvent {
            id: HistoryId::generate(),
            operation,
            status_before: Some(before),
            status_after: after,
            actor: Actor { id: "system:auto-renewal".into(), role: Role::Provider },
            details,
            ..LifecycleEvent::new(&service, &entry)
        }
    }

    #[test]
    fn a_client_hears_of_the_end_of_work_not_its_start() {
        use Status::*;
        let cases = [
            (event(Action::Activation, Ordered, InProgress, json!({"operation_id": "o"})), None),
            (event(Action::Activation, InProgress, Active, json!({"result": "done"})), Some(Kind::Activated)),
            (
                event(Action::Activation, InProgress, NotAvailable, json!({"result": "not_available"})),
                Some(Kind::ActivationFailed),
            ),
            (
                event(Action::Activation, InProgress, Ordered, json!({"error": "x"})),
                Some(Kind::ActivationFailed),
            ),
            (event(Action::Renewal, InProgress, Active, json!({"error": "x", "refunded": 5})), None),
            (
                event(Action::Suspension, InProgress, TemporarilySuspended, json!({"result": "done"})),
                Some(Kind::Suspended),
            ),
            (
                event(Action::Suspension, Suspended, SuspendedAbuse, json!({"hold": "abuse"})),
                Some(Kind::Suspended),
            ),
            (event(Action::Resume, InProgress, Active, json!({"result": "done"})), Some(Kind::Resumed)),
            (event(Action::Resume, InProgress, SuspendedByAdmin, json!({"result": "done"})), None),
            (
                event(Action::Renewal, Active, Active, json!({"result": "insufficient_funds"})),
                Some(Kind::RenewalDeclined),
            ),
            (event(Action::Renewal, InProgress, Active, json!({"result": "done"})), Some(Kind::Renewed)),
            // Renewed, though the panel would not resume it: the client paid, and is told.
            (
                event(Action::Renewal, InProgress, SuspendedByAdmin, json!({"result": "done", "error": "x"})),
                Some(Kind::Renewed),
            ),
            // Given up and refunded: in the history only.
            (event(Action::Renewal, InProgress, Active, json!({"error": "x", "refunded": 500})), None),
            (
                event(Action::TariffChange, Active, Active, json!({"result": "done"})),
                Some(Kind::TariffChanged),
            ),
            (
                event(Action::OptionsChange, Active, Active, json!({"result": "done"})),
                Some(Kind::OptionsChanged),
            ),
            (event(Action::Deletion, InProgress, Deleted, json!({"result": "done"})), Some(Kind::Deleted)),
            // A renewal price set ahead: told when it is set, under its notice.
            (
                event(
                    Action::PriceChange,
                    Active,
                    Active,
                    json!({"renewal_price": 750, "from": "2027-01-10T00:00:00Z"}),
                ),
                Some(Kind::PriceChange),
            ),
            (event(Action::Deletion, NotAvailable, Deleted, json!({"refunded": 500})), Some(Kind::Deleted)),
            (event(Action::Deletion, Ordered, Deleted, json!({"refunded": 500})), Some(Kind::Deleted)),
            (event(Action::Deletion, Ordered, Deleted, json!({"refunded": 0})), None),
            (event(Action::Deletion, ConfigurationRequired, Deleted, json!({"refunded": 0})), None),
            (
                event(Action::Deletion, ConfigurationRequired, Deleted, json!({"refunded": 500})),
                Some(Kind::Deleted),
            ),
            (
                event(Action::Deletion, Active, Active, json!({"scheduled_for": "2026-12-01T00:00:00.000Z"})),
                None,
            ),
            (event(Action::RenewalUpcoming, Active, Active, json!({})), Some(Kind::RenewalUpcoming)),
            (event(Action::Edit, Active, Active, json!({})), None),
            (event(Action::Order, Ordered, Ordered, json!({})), None),
        ];
        for (event, kind) in cases {
            assert_eq!(Kind::of(&event), kind, "{:?} {}", event.operation, event.details);
        }
    }

    #[test]
    fn every_default_template_renders_for_its_kind() {
        for kind in Kind::ALL {
            let email =
                default_template(kind).check(kind).unwrap_or_else(|e| panic!("{}: {e}", kind.as_str()));
            assert!(
                email.subject.contains("VPS Start \"debian-12\""),
                "{}: {}",
                kind.as_str(),
                email.subject
            );
            assert!(!email.subject.contains('\n'));
            assert!(!email.text.trim().is_empty() && !email.html.trim().is_empty(), "{}", kind.as_str());
        }
        let declined = default_template(Kind::RenewalDeclined).check(Kind::RenewalDeclined).unwrap();
        assert!(declined.text.contains("3.80"), "says how much is missing: {}", declined.text);
    }

    #[test]
    fn a_template_naming_what_it_does_not_get_does_not_render() {
        let template =
            Template { subject: "{{ service }}".into(), text: "{{ balance }}".into(), html: "".into() };
        assert!(template.check(Kind::Renewed).is_err(), "no balance in a renewal");
        assert!(template.check(Kind::RenewalDeclined).is_ok());
        let broken = Template { subject: "{% if %}".into(), ..template.clone() };
        assert!(broken.check(Kind::RenewalDeclined).is_err());
        let endless = "{% for i in range(1000) %}{% for j in range(1000) %}x{% endfor %}{% endfor %}";
        let endless = Template { text: endless.into(), ..template.clone() };
        let refused = endless.check(Kind::RenewalDeclined).unwrap_err().to_string();
        assert!(refused.contains("fuel"), "stops at its fuel: {refused}");
        let huge = Template { text: "{{ '0123456789' * 20000 }}".into(), ..template };
        let refused = huge.check(Kind::RenewalDeclined).unwrap_err().to_string();
        assert!(refused.contains("too long"), "{refused}");
    }

    /// Found by review: a lapse under a provider's suspension was mailed as a second
    /// suspension "by the provider" that "remains paid until" a date already past.
    #[test]
    fn a_lapse_under_a_providers_suspension_is_mailed_as_non_payment_with_how_to_renew() {
        let at = Timestamp::parse("2026-11-25T14:00:00Z").unwrap();
        let (mut service, _) = super::super::order::sample_order(at);
        service.expires_at = Some(Timestamp::parse("2026-11-24T00:00:00Z").unwrap());
        let lapse = event(
            Action::Suspension,
            Status::SuspendedByAdmin,
            Status::SuspendedByAdmin,
            json!({"hold": "non_payment", "expired_at": "2026-11-24T00:00:00.000Z"}),
        );
        assert_eq!(Kind::of(&lapse), Some(Kind::Suspended));
        let lapsed = context(Kind::Suspended, &lapse, &About { service: &service, tariff_name: "VPS" });
        assert_eq!(
            (lapsed["reason"].as_str(), lapsed["non_payment"].as_bool()),
            (Some("for non-payment"), Some(true))
        );
        let email = default_template(Kind::Suspended).render(&lapsed).unwrap();
        assert!(
            email.text.contains("renew it") && !email.text.contains("remains paid until"),
            "{}",
            email.text
        );
        // The provider's own suspension still reads as such.
        let by_provider =
            event(Action::Suspension, Status::Active, Status::SuspendedByAdmin, json!({"hold": "admin"}));
        let held = context(Kind::Suspended, &by_provider, &About { service: &service, tariff_name: "VPS" });
        assert_eq!(
            (held["reason"].as_str(), held["non_payment"].as_bool()),
            (Some("by the provider"), Some(false))
        );
    }

    #[test]
    fn html_is_escaped_and_a_subject_is_one_line() {
        let at = Timestamp::parse("2026-11-25T14:00:00Z").unwrap();
        let (mut service, entry) = super::super::order::sample_order(at);
        service.params.insert("os_template".into(), "<b>x</b>\r\nBcc: evil@example.com".into());
        let event = LifecycleEvent::new(&service, &entry);
        let context = context(Kind::Deleted, &event, &About { service: &service, tariff_name: "VPS" });
        let template = Template {
            subject: "{{ service }}".into(),
            text: "{{ service }}".into(),
            html: "<p>{{ service }}</p>".into(),
        };
        let email = template.render(&context).unwrap();
        assert!(!email.subject.contains('\n') && !email.subject.contains('\r'));
        assert_eq!(
            (email.subject.as_str(), email.html.as_str()),
            ("VPS", "<p>VPS</p>"),
            "typed text left out"
        );
        service.params.insert("os_template".into(), "debian-12".into());
        let plain =
            super::context(Kind::Deleted, &event, &About { service: &service, tariff_name: "VPS <Pro>" });
        let email = template.render(&plain).unwrap();
        assert_eq!(
            email.html, "<p>VPS &lt;Pro&gt; &quot;debian-12&quot;</p>",
            "escaped, the parameter quoted"
        );
        assert_eq!(email.subject, "VPS <Pro> \"debian-12\"");
    }

    #[test]
    fn settings_refuse_a_bad_address_and_muting_what_must_be_heard() {
        let ok = SettingsRequest {
            email: Some(" alice@example.com ".into()),
            muted: vec![Kind::Renewed, Kind::Activated, Kind::Renewed],
        };
        assert_eq!(
            ok.validated().unwrap(),
            SettingsRequest {
                email: Some("alice@example.com".into()),
                muted: vec![Kind::Activated, Kind::Renewed]
            }
        );
        for bad in [
            "alice",
            "alice@",
            "@example.com",
            "a b@example.com",
            "alice@example",
            "a<b>@x.com",
            "al\"ice@x.com",
            "alice@-x.com",
            "alice@x..com",
        ] {
            let settings = SettingsRequest { email: Some(bad.into()), muted: vec![] };
            assert!(settings.validated().is_err(), "{bad}");
        }
        for kind in [Kind::Suspended, Kind::DeletionUpcoming, Kind::Deleted] {
            assert!(SettingsRequest { email: None, muted: vec![kind] }.validated().is_err(), "{kind:?}");
        }
        assert_eq!(
            SettingsRequest { email: Some(" ".into()), muted: vec![] }.validated().unwrap().email,
            None
        );
    }

    #[test]
    fn a_clients_new_address_waits_for_its_token_and_the_providers_does_not() {
        let now = Timestamp::parse("2026-12-01T10:00:00Z").unwrap();
        let confirmed = Settings { email: Some("old@example.com".into()), ..Settings::default() };
        let ask = |email: &str| SettingsRequest { email: Some(email.into()), muted: vec![Kind::Renewed] };
        let (waiting, to) = confirmed.change(ask("new@example.com"), SetBy::Client, "c0de", now);
        assert_eq!(
            (waiting.email.as_deref(), to.as_deref()),
            (Some("old@example.com"), Some("new@example.com"))
        );
        assert_eq!(waiting.muted, vec![Kind::Renewed], "the muted kinds change at once");
        assert!(!serde_json::to_string(&waiting).unwrap().contains("c0de"), "only the token's hash is kept");
        assert_eq!(waiting.confirm("c0dE", now), None);
        assert_eq!(waiting.confirm("c0de", now.plus_seconds(CONFIRMATION_SECONDS)), None, "too late");
        let done = waiting.confirm(" c0de ", now.plus_seconds(60)).unwrap();
        assert_eq!((done.email.as_deref(), &done.pending), (Some("new@example.com"), &None));
        assert_eq!(done.confirm("c0de", now), None, "once");
        // The confirmed address again, or none, or the provider's: no token.
        assert_eq!(waiting.change(ask("old@example.com"), SetBy::Client, "x", now).1, None);
        let (vouched, to) = confirmed.change(ask("new@example.com"), SetBy::Provider, "x", now);
        assert_eq!((vouched.email.as_deref(), to, vouched.pending), (Some("new@example.com"), None, None));
        let removed = SettingsRequest { email: None, muted: vec![] };
        assert_eq!(waiting.change(removed, SetBy::Client, "x", now).0, Settings::default());
    }

    #[test]
    fn a_confirmation_carries_the_token_and_the_link_and_nothing_a_client_typed() {
        let email = confirmation_email("ab12", Some("https://h.example/console/account"), "Support & Co");
        assert!(email.text.contains("https://h.example/console/account?confirm=ab12"), "{}", email.text);
        assert!(email.text.contains("the code ab12"));
        assert!(email.html.contains("Support &amp; Co") && !email.html.contains("Support & Co"));
        assert!(!confirmation_email("ab12", None, "S").text.contains("http"));
    }

    #[test]
    fn money_is_shown_in_units() {
        assert_eq!(
            (money(0), money(5), money(1234), money(100)),
            ("0.00".into(), "0.05".into(), "12.34".into(), "1.00".into())
        );
    }
}
