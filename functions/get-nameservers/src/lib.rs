//! `GET /services/{id}/nameservers`: an active domain's nameservers, as its registrar has them.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::settings::Setting;
use shared::domain::Principal;
use shared::http::{self, Query};
use shared::panel::SettingsCall;
use shared::settings::{done, Nameservers, Target};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, get).await
}

async fn get(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    Query::parse(&req, &[])?;
    let target = Target::load(app, &principal, &req, Setting::Nameservers).await?;
    let nameservers: Nameservers =
        done(target.ask(app, &SettingsCall::get(target.path("nameservers"))).await?)?;
    Reply::ok(nameservers)
}
