//! `POST /services/{id}/renew` `{periods}`: extends the service by `periods` renewal periods
//! at its renewal price, charged to the client's balance (402 when short) in the same
//! transaction.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::domain::account::LedgerKind;
use shared::domain::Principal;
use shared::http::{self, json_body};
use shared::operations::{operate, Money};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::quotable_write(app, req, renew).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RenewBody {
    periods: u32,
}

async fn renew(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let body: RenewBody = json_body(&req)?;
    operate(app, &principal, &req, |service, actor, now| {
        let change = service.renew(body.periods, actor, now)?;
        let charged = change.charged();
        Ok((change, Money::Charge(LedgerKind::Renewal, charged)))
    })
    .await
}
