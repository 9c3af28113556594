//! `POST /services/{id}/ip-addresses` `{version: 4|6}`: adds an address to an active VPS. Where
//! the tariff sells addresses of that version as an option, one more is charged for the days
//! left (402 when short, 422 over the option's max); the address is made on the panel, then
//! recorded with the charge in one transaction (and released on the panel if that fails).

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::domain::settings::{IpAddress, IpVersion, Setting};
use shared::domain::Principal;
use shared::http::{self, json_body};
use shared::idempotency::panel_request_id;
use shared::operations::tariff_of;
use shared::panel::{segment, SettingsAnswer, SettingsCall};
use shared::settings::{address_money, done, ensure_affordable, give_back, record, Items, Target};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, add).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddBody {
    version: IpVersion,
}

async fn add(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let body: AddBody = json_body(&req)?;
    let target = Target::load(app, &principal, &req, Setting::IpAddresses).await?;
    let tariff = tariff_of(app, &target.service).await?;
    let listed: Items<IpAddress> =
        done(target.ask(app, &SettingsCall::get(target.path("ip-addresses"))).await?)?;
    let held = listed.items.iter().filter(|a| a.version == body.version).count() as u32;
    let moved = target.service.move_address(&tariff, body.version, held, 1, app.clock.now())?;
    ensure_affordable(app, &target, address_money(moved.as_ref())).await?;

    let request = serde_json::json!({"request_id": panel_request_id(), "version": body.version});
    let call = SettingsCall::post(target.path("ip-addresses"), request);
    let address: IpAddress = match target.ask(app, &call).await? {
        SettingsAnswer::NoResources => {
            return Err(ApiError::NotAvailable(format!(
                "the control panel has no free IPv{} address",
                u8::from(body.version)
            )))
        }
        answer => done(answer)?,
    };
    let recorded = record(app, &target, |service, at| {
        let moved = service.move_address(&tariff, body.version, held, 1, at)?;
        let change = service.address_changed(&address, true, moved.as_ref(), &target.actor, at);
        Ok((change, address_money(moved.as_ref())))
    })
    .await;
    if let Err(error) = recorded {
        // Not recorded, so not kept: the panel gives the address back.
        let undo = SettingsCall::delete(target.path(&format!("ip-addresses/{}", segment(&address.address))));
        return Err(give_back(app, &target, undo, &address.address, error).await);
    }
    Reply::created(address)
}
