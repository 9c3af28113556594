//! What the notification routes share: whose notifications a request is about, and how
//! settings, templates and log entries are answered.

use crate::domain::notification::{default_template, Kind, Notification, Settings, Template};
use crate::domain::{ClientId, Principal};
use crate::http::path_param;
use crate::ApiError;
use lambda_http::{Request, RequestExt};
use serde_json::{json, Value};

/// The client a notification route is about: `/clients/{client_id}/...` (the provider only),
/// else the caller's own (a client only: the provider has no mail box of its own).
pub fn whose(principal: &Principal, req: &Request) -> Result<ClientId, ApiError> {
    match req.path_parameters().first("client_id") {
        Some(raw) => {
            crate::http::require_provider(principal)?;
            ClientId::parse(raw).ok_or_else(|| ApiError::not_found("client"))
        }
        None if principal.is_provider() => Err(ApiError::Forbidden(
            "the provider reads a client's notifications at /clients/{client_id}/notifications".into(),
        )),
        None => Ok(principal.id.clone()),
    }
}

/// The settings as both roles read them: the confirmed address, the muted kinds, and an
/// address waiting for its confirmation (never its token).
pub fn settings_view(settings: &Settings) -> Value {
    json!({
        "email": settings.email,
        "muted": settings.muted,
        "pending_email": settings.pending.as_ref().map(|p| &p.email),
        "pending_until": settings.pending.as_ref().map(|p| p.until),
    })
}

/// The template kind in the path (404 for a kind there is none of).
pub fn kind_in_path(req: &Request) -> Result<Kind, ApiError> {
    Kind::parse(&path_param(req, "kind")?).ok_or_else(|| ApiError::not_found("notification kind"))
}

/// A kind's template as the notifier uses it: the provider's, else the default.
pub fn template_view(kind: Kind, custom: Option<Template>) -> Value {
    let is_custom = custom.is_some();
    let template = custom.unwrap_or_else(|| default_template(kind));
    json!({
        "kind": kind,
        "subject": template.subject,
        "text": template.text,
        "html": template.html,
        "custom": is_custom,
    })
}

/// What a client reads of a failed delivery: that it failed, not the mail service's words.
const NOT_DELIVERED: &str = "the e-mail could not be sent yet; it is sent again";

/// A log entry as `principal` reads it.
pub fn notification_view(notification: &Notification, principal: &Principal) -> Value {
    let error = notification.error.as_ref().map(|error| match principal.is_provider() {
        true => error.clone(),
        false if error == crate::domain::notification::UNCONFIRMED => error.clone(),
        false if notification.status == crate::domain::notification::Delivery::Held => error.clone(),
        false if error.starts_with(crate::domain::notification::REJECTED) => {
            crate::domain::notification::REJECTED_FOR_CLIENT.to_owned()
        }
        false => NOT_DELIVERED.to_owned(),
    });
    json!({
        "id": notification.id,
        "event_id": notification.event_id,
        "kind": notification.kind,
        "service_id": notification.service_id,
        "subject": notification.subject,
        "at": notification.at,
        "channel": notification.channel,
        "to": notification.to,
        "status": notification.status,
        "error": error,
    })
}
