//! `GET /services/{id}/statistics?from=...&to=...`: usage over time (CPU, memory, disk,
//! traffic) of an active VPS or hosting account, as its panel reports it. The period defaults
//! to the last 30 days; reversed or longer than a year is a 400.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::domain::settings::{statistics_period, Setting, UsagePoint};
use shared::domain::{Principal, Timestamp};
use shared::http::{self, Query};
use shared::panel::SettingsCall;
use shared::settings::{done, Items, Target};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, statistics).await
}

/// The period when none is asked for.
const DEFAULT_DAYS: i64 = 30;

async fn statistics(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let query = Query::parse(&req, &["from", "to"])?;
    let to = query.parsed("to", Timestamp::parse)?.unwrap_or_else(|| app.clock.now());
    let from =
        query.parsed("from", Timestamp::parse)?.unwrap_or_else(|| to.plus_seconds(-DEFAULT_DAYS * 86_400));
    let (from, to) = statistics_period(from, to).map_err(|v| ApiError::BadRequest(v.0))?;
    let target = Target::load(app, &principal, &req, Setting::Statistics).await?;
    let call = SettingsCall::get(target.path("statistics")).query("from", from).query("to", to);
    let usage: Items<UsagePoint> = done(target.ask(app, &call).await?)?;
    Reply::ok(json!({"from": from, "to": to, "items": usage.items}))
}
