//! `POST /clients/{client_id}/payments`: the provider records a payment it received (bank
//! transfer, cash); `external_id` is its reference and may be recorded only once. A client the
//! backend has never seen (no account, no service) is 404 unless `new_client` is true.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::billing::{new_payment, payment_view, receive_payment, Client};
use shared::domain::history::Actor;
use shared::domain::payment::{reference, PaymentStatus};
use shared::domain::{ClientId, Principal};
use shared::http::{self, json_body, path_param, require_provider};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, record_payment).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordBody {
    amount: u64,
    external_id: String,
    /// The payment opens the account of a client the backend has never seen (else 404).
    #[serde(default)]
    new_client: bool,
}

async fn record_payment(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    let client =
        ClientId::parse(&path_param(&req, "client_id")?).ok_or_else(|| ApiError::not_found("client"))?;
    let body: RecordBody = json_body(&req)?;
    reference(&body.external_id).map_err(|v| ApiError::BadRequest(v.0))?;
    let payment =
        new_payment(client, body.amount, PaymentStatus::Received, Some(body.external_id), app.clock.now())?;
    let client = if body.new_client { Client::MayBeNew } else { Client::Known };
    let activated = receive_payment(app, &payment, client, &Actor::from(&principal)).await?;
    let mut answer = payment_view(&payment);
    answer["checked_out"] = activated.iter().map(|c| c.service.id.to_string()).collect();
    Reply::created(answer)
}
