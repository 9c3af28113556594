//! `POST /payments`: a client starts a payment through the gateway; it stays `pending` until
//! the gateway confirms it (`POST /payments/{id}/confirm`), and meanwhile the services in the
//! cart show `payment_pending`.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::billing::{new_payment, payment_view, start_payment};
use shared::domain::history::Actor;
use shared::domain::payment::PaymentStatus;
use shared::domain::Principal;
use shared::http::{self, json_body};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, create_payment).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PaymentBody {
    amount: u64,
}

async fn create_payment(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    if principal.is_provider() {
        return Err(ApiError::Forbidden(
            "the provider records payments at /clients/{client_id}/payments".into(),
        ));
    }
    let body: PaymentBody = json_body(&req)?;
    let payment =
        new_payment(principal.id.clone(), body.amount, PaymentStatus::Pending, None, app.clock.now())?;
    start_payment(app, &payment, &Actor::from(&principal)).await?;
    Reply::created(payment_view(&payment))
}
