//! `DELETE /services/{id}/ip-addresses/{ip}`: removes an address from an active VPS (not its
//! last IPv4 address). An extra address sold as a tariff option is credited for the days left.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::settings::{IpAddress, Setting};
use shared::domain::Principal;
use shared::http::{self, path_param};
use shared::idempotency::panel_request_id;
use shared::operations::tariff_of;
use shared::panel::{segment, SettingsAnswer, SettingsCall};
use shared::settings::{address_money, done, record, Items, Target};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, remove).await
}

async fn remove(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    http::no_body(&req)?;
    let wanted = path_param(&req, "ip")?;
    let target = Target::load(app, &principal, &req, Setting::IpAddresses).await?;
    let listed: Items<IpAddress> =
        done(target.ask(app, &SettingsCall::get(target.path("ip-addresses"))).await?)?;
    let tariff = tariff_of(app, &target.service).await?;
    let listed_address = listed.items.iter().find(|a| a.address == wanted);
    if let Some(address) = listed_address {
        let held = held_of(&listed, address);
        target.service.move_address(&tariff, address.version, held, -1, app.clock.now())?;
    }
    // Removed under this request's id: at once, or by an earlier attempt of this very request
    // that ended before it could record the removal (the panel answers it again), which is
    // recorded now. Any other address that is not there is a 404; what is not an address at
    // all never reaches the panel's paths.
    if listed_address.is_none() && wanted.parse::<std::net::IpAddr>().is_err() {
        return Err(ApiError::not_found("IP address on this service"));
    }
    let request_id = panel_request_id();
    let path = target.path(&format!("ip-addresses/{}", segment(&wanted)));
    let call = SettingsCall::delete(path).query("request_id", &request_id);
    let removed: IpAddress = match target.ask(app, &call).await? {
        SettingsAnswer::NotFound => return Err(ApiError::not_found("IP address on this service")),
        answer => done(answer)?,
    };
    // The count of its version before the removal: one more than listed when it was gone already.
    let held = held_of(&listed, &removed) + u32::from(listed_address.is_none());
    record(app, &target, |service, at| {
        let moved = service.move_address(&tariff, removed.version, held, -1, at)?;
        let change = service.address_changed(&removed, false, moved.as_ref(), &target.actor, at);
        Ok((change, address_money(moved.as_ref())))
    })
    .await?;
    Ok(Reply::no_content())
}

/// How many addresses of `address`'s version the panel listed.
fn held_of(listed: &Items<IpAddress>, address: &IpAddress) -> u32 {
    listed.items.iter().filter(|a| a.version == address.version).count() as u32
}
