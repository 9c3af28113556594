//! `GET /notification-templates/{kind}`: the provider reads the e-mail a kind of notification
//! sends: its own template if it replaced the default (`custom`), else the default.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http::{self, require_provider};
use shared::notifications::{kind_in_path, template_view};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, get_notification_template).await
}

async fn get_notification_template(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    let kind = kind_in_path(&req)?;
    Reply::ok(template_view(kind, app.store.notification_template(kind).await?))
}
