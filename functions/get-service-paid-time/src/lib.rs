//! `GET /services/{id}/paid-time`: a service's paid time, stretch by stretch, with what was
//! paid for each line (the record every credit and charge is worked out from), to its client
//! and the provider alike.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http::{self, visible_service};
use shared::{views, ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, get_service_paid_time).await
}

async fn get_service_paid_time(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let service = visible_service(app, &principal, &req).await?;
    Reply::ok(views::paid_time(&service, app.clock.now()))
}
