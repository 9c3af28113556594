//! `PUT /account/notifications` (a client, its own) and `PUT /clients/{client_id}/notifications`
//! (the provider, any client's): the address notifications go to and the kinds muted. A
//! malformed address, or muting `suspended`, `deletion_upcoming` or `deleted`, is 422.
//!
//! A client's new address gets only a confirmation e-mail with a one-time token until it is
//! confirmed (`POST /account/notifications/confirm`); e-mails go on to the confirmed address
//! meanwhile. A client asks for at most `CONFIRMATIONS_PER_DAY` confirmations a day (429). The
//! provider vouches for an address it sets: it is confirmed at once.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::notification::{confirmation_email, SetBy, SettingsRequest};
use shared::domain::Principal;
use shared::http::{self, json_body};
use shared::notifications::{settings_view, whose};
use shared::store::keys;
use shared::{ApiError, App, Reply};

/// The most confirmation e-mails one client asks for in a UTC day.
pub const CONFIRMATIONS_PER_DAY: u32 = 5;
const DAY: i64 = 86_400;

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, put_notification_settings).await
}

async fn put_notification_settings(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let client = whose(&principal, &req)?;
    let request = json_body::<SettingsRequest>(&req)?.validated()?;
    let by = if principal.is_provider() { SetBy::Provider } else { SetBy::Client };
    let now = app.clock.now();
    let token = shared::mail::one_time_code()?;
    let current = app.store.notification_settings(&client).await?;
    let (settings, to_confirm) = current.change(request, by, &token, now);
    if let Some(address) = &to_confirm {
        let mail = app.mail()?;
        let day_left = DAY - now.unix_seconds().rem_euclid(DAY);
        let counter = keys::confirmations_sent(client.as_str(), &now.day());
        if !app.store.count_up(counter, CONFIRMATIONS_PER_DAY, now.unix_seconds() + day_left + DAY).await? {
            return Err(ApiError::TooManyRequests {
                message: format!(
                    "an address is confirmed with at most {CONFIRMATIONS_PER_DAY} e-mails a day: use a code already sent, or ask again tomorrow"
                ),
                retry_after: day_left as u64,
            });
        }
        // Sent before the settings are written: a send that fails changes nothing (and the
        // request's key is not spent on a write), and a write that fails after it leaves a
        // token that confirms nothing.
        let email = confirmation_email(&token, mail.console_url.as_deref(), &app.settings.provider_name);
        mail.send(address, &email).await?;
        app.store.put_notification_settings(&client, &settings).await?;
    } else {
        app.store.put_notification_settings(&client, &settings).await?;
    }
    Reply::ok(settings_view(&settings))
}
