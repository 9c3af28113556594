//! `POST /services/{id}/disable` `{reason?}`: a client suspends its own service (where the
//! product type allows); the provider suspends as administrator.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::domain::Principal;
use shared::http::{self, json_body};
use shared::operations::{operate_by_rules, Money};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, disable).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DisableBody {
    reason: Option<String>,
}

const MAX_REASON_LEN: usize = 500;

async fn disable(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let body: DisableBody = if req.body().is_empty() { DisableBody::default() } else { json_body(&req)? };
    let reason = body
        .reason
        .as_deref()
        .map(|r| shared::domain::text::line(r, "reason", MAX_REASON_LEN))
        .transpose()
        .map_err(|e| ApiError::BadRequest(e.0))?;
    operate_by_rules(app, &principal, &req, |service, rules, actor, now| {
        Ok((service.disable(actor, rules, reason.as_deref(), now)?, Money::None))
    })
    .await
}
