//! `PUT /account/notifications` (a client, its own) and `PUT /clients/{client_id}/notifications`
//! (the provider, any client's): the address notifications go to and the kinds muted. A
//! malformed address, or muting `suspended`, `deletion_upcoming` or `deleted`, is 422.

use lambda_http::{Body, Request, Response};
use shared::domain::notification::Settings;
use shared::domain::Principal;
use shared::http::{self, json_body};
use shared::notifications::{settings_view, whose};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, put_notification_settings).await
}

async fn put_notification_settings(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let client = whose(&principal, &req)?;
    let settings = json_body::<Settings>(&req)?.validated()?;
    app.store.put_notification_settings(&client, &settings).await?;
    Reply::ok(settings_view(&settings))
}
