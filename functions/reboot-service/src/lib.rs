//! `POST /services/{id}/reboot`: reboots an active VPS or dedicated server through the panel.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http;
use shared::operations::{operate, Money};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, reboot).await
}

async fn reboot(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    http::no_body(&req)?;
    operate(app, &principal, &req, |service, actor, now| Ok((service.reboot(actor, now)?, Money::None))).await
}
