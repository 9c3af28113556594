//! `GET /bulk-operations?limit=&cursor=` (provider): bulk operations, newest first.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http::{self, list_reply, require_provider, Query, PAGE_PARAMS};
use shared::store::Page;
use shared::{views, ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, list_bulk_operations).await
}

async fn list_bulk_operations(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    let page = Query::parse(&req, &PAGE_PARAMS)?.page(shared::domain::ids::parse_id)?;
    let (items, next) = app.store.list_bulk_operations(page.limit, page.after.as_deref()).await?;
    list_reply(Page { items, next }, |found| views::bulk_operation(&found))
}
