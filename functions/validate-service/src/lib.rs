//! `POST /services/{id}/validation`: the client says it published its certificate order's
//! challenges; the worker asks the certificate authority to validate them (409 unless an
//! order waits on them).

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http;
use shared::operations::{operate, Money};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, validate_service).await
}

async fn validate_service(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    http::no_body(&req)?;
    operate(app, &principal, &req, |service, actor, now| {
        Ok((service.request_validation(actor, now)?, Money::None))
    })
    .await
}
