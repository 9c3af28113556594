//! `DELETE /services/{id}`: deletes beyond recovery (through the panel); the provider always,
//! a client as the product type's `client_delete` rule says (`end_of_period` schedules it).

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http;
use shared::operations::{operate_by_rules, Money};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, delete).await
}

async fn delete(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    http::no_body(&req)?;
    operate_by_rules(app, &principal, &req, |service, rules, actor, now| {
        let (change, refund) = service.delete(actor, rules, now)?;
        Ok((change, Money::Refund(refund)))
    })
    .await
}
