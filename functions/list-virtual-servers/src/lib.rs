//! `GET /services/{id}/virtual-servers`: the virtual servers of an active data center.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::settings::{Setting, VirtualServer};
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
    let target = Target::load(app, &principal, &req, Setting::VirtualServers).await?;
    let call = SettingsCall::get(target.path("virtual-servers"));
    let servers: Items<VirtualServer> = done(target.ask(app, &call).await?)?;
    Reply::ok(servers)
}
