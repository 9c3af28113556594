//! `GET /bulk-operations/{id}` (provider): a bulk operation and its progress: `{"id",
//! "operation", "status", "counts": {"done", "refused", "failed", "left"}, ...}`.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http::{self, path_param, require_provider};
use shared::{bulk, views, ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, get_bulk_operation).await
}

async fn get_bulk_operation(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    let found = bulk::get(app, &path_param(&req, "id")?).await?;
    Reply::ok(views::bulk_operation(&found))
}
