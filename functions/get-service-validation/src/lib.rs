//! `GET /services/{id}/validation`: a certificate order's challenges, to publish (owner or
//! provider): for each name, the token and key authorization, and the file (http-01) or TXT
//! record (dns-01) that proves it; where the order stands, and why its last validation failed.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::certificate::validation_view;
use shared::domain::Principal;
use shared::http::{self, visible_service};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, get_service_validation).await
}

async fn get_service_validation(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let service = visible_service(app, &principal, &req).await?;
    let view = validation_view(&service)
        .ok_or_else(|| ApiError::Conflict("no certificate is being issued for this service".into()))?;
    Ok(Reply::ok(view)?.versioned(service.version))
}
