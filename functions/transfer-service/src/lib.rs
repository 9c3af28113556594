//! `POST /services/{id}/transfer`: transfers an active domain through its registrar's panel.

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http;
use shared::operations::{operate, Money};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, transfer).await
}

async fn transfer(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    operate(app, &principal, &req, |service, actor, now| Ok((service.transfer(actor, now)?, Money::None)))
        .await
}
