//! `PUT /notification-templates/{kind}`: the provider replaces the e-mail a kind of
//! notification sends. A template that does not render for a made-up event of its kind (a
//! syntax error, a variable the kind does not have) is refused (422) and the old one stays.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::notification::Template;
use shared::domain::Principal;
use shared::http::{self, json_body, require_provider};
use shared::notifications::{kind_in_path, template_view};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, put_notification_template).await
}

async fn put_notification_template(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    let kind = kind_in_path(&req)?;
    let template: Template = json_body(&req)?;
    template.check(kind)?;
    app.store.put_notification_template(kind, &template).await?;
    Reply::ok(template_view(kind, Some(template)))
}
