//! `POST /payments/{id}/confirm` `{amount}`: the gateway's callback (the provider stands for
//! it): the amount the gateway settled is received and credited (recorded beside the amount
//! asked for when it differs), and a cart it covers is checked out with it.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::billing::{payment_view, receive_payment, Client};
use shared::domain::history::Actor;
use shared::domain::payment::settled_amount;
use shared::domain::Principal;
use shared::http::{self, json_body, payment_id_in_path, require_provider};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, confirm_payment).await
}

/// What the gateway settled, in minor units.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettledBody {
    amount: u64,
}

async fn confirm_payment(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    let body: SettledBody = json_body(&req)?;
    let settled = settled_amount(body.amount).map_err(|v| ApiError::BadRequest(v.0))?;
    let id = payment_id_in_path(&req)?;
    let payment = app.store.get_payment(&id).await?.ok_or_else(|| ApiError::not_found("payment"))?;
    let received = payment.settle(settled)?;
    let activated = receive_payment(app, &received, Client::MayBeNew, &Actor::from(&principal)).await?;
    let mut body = payment_view(&received);
    body["checked_out"] = activated.iter().map(|c| c.service.id.to_string()).collect();
    Reply::ok(body)
}
