//! `POST /services/{id}/enable`: lifts the suspensions this principal may lift; the service
//! resumes (through the panel) when none is left.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http;
use shared::operations::{operate, Money};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, enable).await
}

async fn enable(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    http::no_body(&req)?;
    operate(app, &principal, &req, |service, actor, now| Ok((service.enable(actor, now)?, Money::None))).await
}
