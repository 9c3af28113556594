//! `GET /services/{id}/ip-addresses`: the addresses of an active VPS, as its panel has them.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::settings::{IpAddress, Setting};
use shared::domain::Principal;
use shared::http::{self, Query};
use shared::panel::SettingsCall;
use shared::settings::{done, Items, Target};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, list).await
}

async fn list(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    Query::parse(&req, &[])?;
    let target = Target::load(app, &principal, &req, Setting::IpAddresses).await?;
    let call = SettingsCall::get(target.path("ip-addresses"));
    let addresses: Items<IpAddress> = done(target.ask(app, &call).await?)?;
    Reply::ok(addresses)
}
