//! `GET /imports/{id}` (provider): an import, its files, and how far its preview and its apply
//! have come.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http::{self, path_param, require_provider, Query};
use shared::{import, views, ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, get_import).await
}

async fn get_import(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    Query::parse(&req, &[])?;
    let found = import::get(app, &path_param(&req, "id")?).await?;
    let files = app.store.import_files(&found.id).await?;
    Reply::ok(views::import(&found, &files))
}
