//! `GET /services/{id}/certificate`: the service's certificate chain, leaf first, as
//! `application/pem-certificate-chain` (owner or provider; 404 before one is issued).

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http::{self, visible_service};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, get_service_certificate).await
}

async fn get_service_certificate(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let service = visible_service(app, &principal, &req).await?;
    let issued = service.certificate.ok_or_else(|| ApiError::not_found("certificate"))?;
    Ok(Reply::text("application/pem-certificate-chain", issued.chain))
}
