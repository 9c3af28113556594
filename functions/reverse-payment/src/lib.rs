//! `POST /payments/{id}/reversal` `{reason}`: the provider takes back a received payment (a
//! transfer recorded to the wrong client, or returned by the bank). A `reversal` ledger entry
//! of what the payment credited, written with the payment's record of it in one transaction;
//! refused with 409 when the payment is not received, is reversed already, or the client's
//! balance would go below zero (the money was spent).

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::billing::payment_view;
use shared::domain::{Bounded, Principal};
use shared::http::{self, json_body, payment_id_in_path, require_provider};
use shared::operations::account;
use shared::store::StoreError;
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, reverse_payment).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReversalBody {
    reason: Bounded<500>,
}

async fn reverse_payment(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    let body: ReversalBody = json_body(&req)?;
    let reason = shared::domain::text::line(&body.reason, "reason (why the payment is taken back)", 500)
        .map_err(|e| ApiError::BadRequest(e.0))?;
    let id = payment_id_in_path(&req)?;
    let payment = app.store.get_payment(&id).await?.ok_or_else(|| ApiError::not_found("payment"))?;
    let now = app.clock.now();
    let reversed =
        payment.reverse(&reason, principal.id.as_str(), now).map_err(|e| ApiError::Conflict(e.0.into()))?;
    let mut account = account(app, &payment.client_id).await?;
    let entry = account.reverse_payment(&payment, now).map_err(|short| {
        ApiError::Conflict(format!(
            "the balance of {} cannot take back {}: the money was spent",
            short.balance, short.needed
        ))
    })?;
    account.version += 1;
    let mut batch = app.store.batch();
    batch.payment(&reversed)?.account(&account, &[entry])?;
    match app.store.commit(batch).await {
        Err(StoreError::ConditionFailed) => {
            Err(ApiError::Conflict("the payment or the account changed meanwhile; try again".into()))
        }
        Err(e) => Err(e.into()),
        Ok(()) => Reply::ok(payment_view(&reversed)),
    }
}
