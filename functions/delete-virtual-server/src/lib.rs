//! `DELETE /services/{id}/virtual-servers/{vs_id}`: deletes a virtual server of an active data
//! center, giving its resources back; the deletion is in the service's history.

use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::domain::settings::Setting;
use shared::domain::{Action, Principal};
use shared::http::{self, path_param};
use shared::operations::Money;
use shared::panel::{segment, SettingsAnswer, SettingsCall};
use shared::settings::{record, Target};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, remove).await
}

async fn remove(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    http::no_body(&req)?;
    let server = path_param(&req, "vs_id")?;
    let target = Target::load(app, &principal, &req, Setting::VirtualServers).await?;
    let call = SettingsCall::delete(target.path(&format!("virtual-servers/{}", segment(&server))));
    match target.ask(app, &call).await? {
        SettingsAnswer::NotFound => return Err(ApiError::not_found("virtual server")),
        SettingsAnswer::NoResources => return Err(ApiError::BadGateway("the control panel refused".into())),
        SettingsAnswer::Done(_) => {}
    }
    record(app, &target, |service, at| {
        let details = json!({"virtual_server": {"id": server}});
        Ok((service.setting_changed(Action::VirtualServerDelete, details, &target.actor, at), Money::None))
    })
    .await?;
    Ok(Reply::no_content())
}
