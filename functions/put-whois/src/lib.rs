//! `PUT /services/{id}/whois` `{registrant: {...}}`: sets an active domain's registrant contact
//! at its registrar (e-mail, E.164 phone and ISO country checked); the change is in the
//! service's history.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shared::domain::settings::{Registrant, Setting};
use shared::domain::{Action, Principal};
use shared::http::{self, json_body};
use shared::operations::Money;
use shared::panel::SettingsCall;
use shared::settings::{done, record, Target, Whois};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, put).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WhoisBody {
    registrant: Registrant,
}

async fn put(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let body: WhoisBody = json_body(&req)?;
    let registrant = body.registrant.validated()?;
    let target = Target::load(app, &principal, &req, Setting::Whois).await?;
    let call = SettingsCall::put(target.path("whois"), json!({"registrant": registrant}));
    let set: Whois = done(target.ask(app, &call).await?)?;
    record(app, &target, |service, at| {
        // The contact is the registrar's to keep; the history notes that it changed.
        let details = json!({"registrant": {"name": registrant.name, "email": registrant.email}});
        Ok((service.setting_changed(Action::WhoisChange, details, &target.actor, at), Money::None))
    })
    .await?;
    Reply::ok(set)
}
