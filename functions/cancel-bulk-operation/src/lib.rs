//! `POST /bulk-operations/{id}/cancel` (provider): stops what the bulk operation has not
//! started; the operations under way finish (and are counted). 409 once it is done or
//! cancelled.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http::{self, path_param, require_provider};
use shared::{bulk, views, ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, cancel_bulk_operation).await
}

async fn cancel_bulk_operation(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    http::no_body(&req)?;
    let cancelled = bulk::cancel(app, &path_param(&req, "id")?).await?;
    Reply::ok(views::bulk_operation(&cancelled))
}
