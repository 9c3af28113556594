//! `GET /services/{id}`: one service, with an ETag carrying its version. Another client's
//! service, and for a client a deleted one, answer exactly as a missing one.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http::{self, Query};
use shared::{views, ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, get_service).await
}

async fn get_service(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    Query::parse(&req, &[])?;
    // One GetItem: the answer decides nothing, and its allowed_actions show the rules as a list
    // shows them.
    let read = shared::operations::load_visible_service_alone(app, &principal, &req).await?;
    let answer = views::service_answer(app, &read.service, &principal, read.rules.as_ref()).await?;
    Ok(Reply::ok(answer)?.versioned(read.service.version))
}
