//! `POST /services/{id}/grace` `{until, reason}` (provider): keeps the service out of the
//! non-payment suspension until `until` without changing its paid period or charging
//! anything; shown on the service (`grace`) and in its timeline, in the history, honoured by
//! the expiry sweep, and cleared by a renewal.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::domain::schedule::MAX_GRACE_REASON;
use shared::domain::{Bounded, Principal, Timestamp};
use shared::http::{self, json_body, require_provider};
use shared::operations::{operate, Money};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, grant).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GraceBody {
    until: Timestamp,
    reason: Bounded<MAX_GRACE_REASON>,
}

async fn grant(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    let body: GraceBody = json_body(&req)?;
    operate(app, &principal, &req, |service, actor, now| {
        Ok((service.grant_grace(body.until, &body.reason, actor, now)?, Money::None))
    })
    .await
}
