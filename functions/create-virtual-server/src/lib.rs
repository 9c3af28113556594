//! `POST /services/{id}/virtual-servers` `{name, vcpu, memory_mb, disk_gb}`: creates a virtual
//! server within an active data center's resources (409 `not-available` when they are
//! exhausted); the creation is in the service's history.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::domain::settings::{Setting, VirtualServer, VirtualServerSpec};
use shared::domain::{Action, Principal};
use shared::http::{self, json_body};
use shared::idempotency::panel_request_id;
use shared::operations::Money;
use shared::panel::{segment, SettingsAnswer, SettingsCall};
use shared::settings::{done, give_back, record, Target};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, create).await
}

async fn create(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let spec: VirtualServerSpec = json_body(&req)?;
    spec.validate()?;
    let target = Target::load(app, &principal, &req, Setting::VirtualServers).await?;
    let mut request = json!(spec);
    request["request_id"] = json!(panel_request_id());
    let server: VirtualServer =
        match target.ask(app, &SettingsCall::post(target.path("virtual-servers"), request)).await? {
            SettingsAnswer::NoResources => {
                return Err(ApiError::NotAvailable("the data center's resources are exhausted".into()))
            }
            answer => done(answer)?,
        };
    let recorded = record(app, &target, |service, at| {
        let details = json!({"virtual_server": server});
        Ok((service.setting_changed(Action::VirtualServerCreate, details, &target.actor, at), Money::None))
    })
    .await;
    if let Err(error) = recorded {
        // Not recorded, so not kept.
        let undo = SettingsCall::delete(target.path(&format!("virtual-servers/{}", segment(&server.id))));
        return Err(give_back(app, &target, undo, &server.id, error).await);
    }
    Reply::created(server)
}
