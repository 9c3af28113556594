//! `POST /services/{id}/transfer`: a domain to another registrar (its client or the provider), or
//! a server or hosting account to another node of its panel (the provider).

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http;
use shared::operations::{operate, Money};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, transfer).await
}

async fn transfer(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    http::no_body(&req)?;
    operate(app, &principal, &req, |service, actor, now| Ok((service.transfer(actor, now)?, Money::None)))
        .await
}
