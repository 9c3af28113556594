//! `DELETE /services/{id}/virtual-servers/{vs_id}`: deletes a virtual server of an active data
//! center, giving its resources back; the deletion is in the service's history. The id must
//! have the form the panel gives (400 otherwise) and name a server the panel lists for this
//! service (404 otherwise), so no id walks the panel's paths.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::domain::settings::{is_virtual_server_id, Setting};
use shared::domain::{Action, Principal};
use shared::http::{self, path_param};
use shared::idempotency::panel_request_id;
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
    if !is_virtual_server_id(&server) {
        return Err(ApiError::BadRequest("vs_id: letters, digits, `-` and `_`, 1 to 64 of them".into()));
    }
    let target = Target::load(app, &principal, &req, Setting::VirtualServers).await?;
    // Asked whether listed or not: a server removed by an earlier attempt of this very request
    // (one that ended before it could record it) is answered removed again, and recorded now.
    let call = SettingsCall::delete(target.path(&format!("virtual-servers/{}", segment(&server))))
        .query("request_id", panel_request_id());
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
