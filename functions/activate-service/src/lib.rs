//! `POST /services/{id}/activate`: the provider puts a paid service's activation back on the
//! queue (after `not_available`, or a failed activation).

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http::{self, require_provider};
use shared::operations::{operate, Money};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, activate).await
}

async fn activate(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    http::no_body(&req)?;
    require_provider(&principal)?;
    operate(app, &principal, &req, |service, actor, now| Ok((service.activate(actor, now)?, Money::None)))
        .await
}
