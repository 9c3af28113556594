//! `GET /services/{id}/timeline`: what will happen to the service and when — the next
//! auto-renewal attempt (its amount, and whether the balance covers it), the expiry, the
//! non-payment suspension and deletion that follow if it is not renewed, a grace's end, a
//! client's scheduled deletion. Worked out from the service, its product type and the client's
//! balance by the rules the scheduled jobs follow. The past is in the history.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http::{self, Query};
use shared::operations::{account_as_read, load_visible_service};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, timeline).await
}

async fn timeline(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    Query::parse(&req, &[])?;
    let target = load_visible_service(app, &principal, &req).await?;
    let rules = target.rules()?;
    let balance = account_as_read(app, &target.service.client_id, target.account.clone()).await?.balance;
    let items = target.service.timeline(rules, balance, app.clock.now());
    Reply::ok(serde_json::json!({"items": items}))
}
