//! `GET /clients/{client_id}/account`: the provider reads any client's balance and ledger.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::billing::account_reply;
use shared::domain::{ClientId, Principal};
use shared::http::{self, path_param, require_provider};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, get_client_account).await
}

async fn get_client_account(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    let client =
        ClientId::parse(&path_param(&req, "client_id")?).ok_or_else(|| ApiError::not_found("client"))?;
    account_reply(app, &principal, &client, &req).await
}
