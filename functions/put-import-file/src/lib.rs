//! `PUT /imports/{id}/files/{name}` (provider): one WHMCS API answer, as WHMCS gave it, staged
//! as the import's file `name` (at most 5 MB: 413 past it; 422 when it is no WHMCS answer; 409
//! once the import is applied). The same file again replaces it: the route takes no
//! `Idempotency-Key`, as a PUT of the same body is the same upload.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http::{self, path_param, require_provider};
use shared::{import, ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, put_import_file).await
}

async fn put_import_file(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    let staged = import::get(app, &path_param(&req, "id")?).await?;
    let body: &[u8] = req.body().as_ref();
    let file = import::upload(app, &staged, &path_param(&req, "name")?, body).await?;
    Reply::ok(file)
}
