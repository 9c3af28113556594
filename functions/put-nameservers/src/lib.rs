//! `PUT /services/{id}/nameservers` `{nameservers: [...]}`: sets an active domain's nameservers
//! (2 to 13 distinct host names) at its registrar; the change is in the service's history.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::domain::settings::{nameservers, Setting};
use shared::domain::{Action, Principal};
use shared::http::{self, json_body};
use shared::operations::Money;
use shared::panel::SettingsCall;
use shared::settings::{done, record, Nameservers, Target};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, put).await
}

async fn put(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let body: Nameservers = json_body(&req)?;
    let wanted = Nameservers { nameservers: nameservers(&body.nameservers)? };
    let target = Target::load(app, &principal, &req, Setting::Nameservers).await?;
    let call = SettingsCall::put(target.path("nameservers"), json!(wanted));
    let set: Nameservers = done(target.ask(app, &call).await?)?;
    record(app, &target, |service, at| {
        let details = json!({"nameservers": set.nameservers});
        Ok((service.setting_changed(Action::NameserversChange, details, &target.actor, at), Money::None))
    })
    .await?;
    Reply::ok(set)
}
