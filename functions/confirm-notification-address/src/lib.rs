//! `POST /account/notifications/confirm` (a client, its own): confirms the address waiting for
//! its confirmation with the token e-mailed to it; e-mails go to that address from then on. A
//! token that is not the one sent, or came after its 24 hours, is 422 and changes nothing.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::domain::Principal;
use shared::http::{self, json_body};
use shared::notifications::{settings_view, whose};
use shared::{ApiError, App, Reply};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirmation {
    token: String,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, confirm_notification_address).await
}

async fn confirm_notification_address(
    app: &App,
    principal: Principal,
    req: Request,
) -> Result<Reply, ApiError> {
    let client = whose(&principal, &req)?;
    let body: Confirmation = json_body(&req)?;
    if body.token.len() > 64 {
        return Err(ApiError::BadRequest("token is at most 64 characters".into()));
    }
    let settings = app.store.notification_settings(&client).await?;
    let confirmed = settings.confirm(&body.token, app.clock.now()).ok_or_else(|| {
        ApiError::Unprocessable(
            "the token is not the one sent to the address waiting for confirmation, or it expired: ask for a new one by setting the address again"
                .into(),
        )
    })?;
    app.store.put_notification_settings(&client, &confirmed).await?;
    Reply::ok(settings_view(&confirmed))
}
