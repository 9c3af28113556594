//! `GET /tickets/{id}`: one ticket with its messages (its client or the provider).

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http::{self, visible_ticket, Query};
use shared::{views, ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, get_ticket).await
}

async fn get_ticket(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    Query::parse(&req, &[])?;
    let ticket = visible_ticket(app, &principal, &req).await?;
    Ok(Reply::ok(views::ticket(app, &principal, &ticket).await?)?.versioned(ticket.version))
}
