//! `GET /services/{id}/timeline`: what will happen to the service and when — the next
//! auto-renewal attempt (its amount, and whether the balance covers it), the expiry, the
//! non-payment suspension and deletion that follow if it is not renewed, a grace's end, a
//! client's scheduled deletion. Worked out from the service, its product type and the client's
//! balance by the rules the scheduled jobs follow. The past is in the history.

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http::{self, Query};
use shared::operations::{account_as_read, product_type_rules, visible_service_and_account};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, timeline).await
}

async fn timeline(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    Query::parse(&req, &[])?;
    let (service, account) = visible_service_and_account(app, &principal, &req).await?;
    let rules = product_type_rules(app, service.product_type).await?;
    let balance = account_as_read(app, &service.client_id, account).await?.balance;
    let items = service.timeline(&rules, balance, app.clock.now());
    Reply::ok(serde_json::json!({"items": items}))
}
