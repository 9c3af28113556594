//! `GET /account/notifications`: a client reads the address its notifications go to and the
//! kinds it muted.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http;
use shared::notifications::{settings_view, whose};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, get_notification_settings).await
}

async fn get_notification_settings(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let client = whose(&principal, &req)?;
    Reply::ok(settings_view(&app.store.notification_settings(&client).await?))
}
