//! `GET /reconciliations/{id}` (provider): a reconciliation run and its drift counts by kind.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::ids::parse_id;
use shared::domain::Principal;
use shared::http::{self, path_param, require_provider, Query};
use shared::{views, ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, get_reconciliation).await
}

async fn get_reconciliation(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    Query::parse(&req, &[])?;
    let read = app
        .store
        .get_run(&parse_id(&path_param(&req, "id")?).ok_or_else(|| ApiError::not_found("reconciliation"))?)
        .await?
        .ok_or_else(|| ApiError::not_found("reconciliation"))?;
    Reply::ok(views::reconciliation(&read))
}
