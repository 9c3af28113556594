//! `POST /services/{id}/reissue`: reissues an active SSL certificate through the queue.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http;
use shared::operations::{operate, Money};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, reissue).await
}

async fn reissue(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    http::no_body(&req)?;
    operate(app, &principal, &req, |service, actor, now| Ok((service.reissue(actor, now)?, Money::None)))
        .await
}
