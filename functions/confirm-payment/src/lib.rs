//! `POST /payments/{id}/confirm`: the gateway's callback (the provider stands for it): the
//! funds are received and credited, and a cart they cover is checked out with them.

use lambda_http::{Body, Request, Response};
use shared::billing::{payment_view, receive_payment};
use shared::domain::history::Actor;
use shared::domain::payment::{Payment, PaymentStatus};
use shared::domain::Principal;
use shared::http::{self, path_param, require_provider};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, confirm_payment).await
}

async fn confirm_payment(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    http::no_body(&req)?;
    require_provider(&principal)?;
    let id = path_param(&req, "id")?;
    let payment = app.store.get_payment(&id).await?.ok_or_else(|| ApiError::not_found("payment"))?;
    if payment.status != PaymentStatus::Pending {
        return Err(ApiError::Conflict("the payment is received already".into()));
    }
    let received = Payment { status: PaymentStatus::Received, version: payment.version + 1, ..payment };
    let activated = receive_payment(app, &received, &Actor::from(&principal)).await?;
    let mut body = payment_view(&received);
    body["checked_out"] = activated.iter().map(|c| c.service.id.to_string()).collect();
    Reply::ok(body)
}
