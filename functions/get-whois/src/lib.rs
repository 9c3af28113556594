//! `GET /services/{id}/whois`: an active domain's registrant contact (null until set).

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::settings::Setting;
use shared::domain::Principal;
use shared::http::{self, Query};
use shared::panel::SettingsCall;
use shared::settings::{done, Target, Whois};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, get).await
}

async fn get(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    Query::parse(&req, &[])?;
    let target = Target::load(app, &principal, &req, Setting::Whois).await?;
    let whois: Whois = done(target.ask(app, &SettingsCall::get(target.path("whois"))).await?)?;
    Reply::ok(whois)
}
