//! `GET /account`: a client's own balance and ledger, newest entries first.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::billing::account_reply;
use shared::domain::Principal;
use shared::http;
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, get_account).await
}

async fn get_account(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    if principal.is_provider() {
        return Err(ApiError::Forbidden(
            "the provider reads a client's account at /clients/{client_id}/account".into(),
        ));
    }
    account_reply(app, &principal, &principal.id, &req).await
}
