//! `DELETE /services/{id}/ip-addresses/{ip}`: removes an address from an active VPS (not its
//! last IPv4 address). An extra address sold as a tariff option is credited for the days left.

use lambda_http::{Body, Request, Response};
use shared::domain::settings::{IpAddress, Setting};
use shared::domain::Principal;
use shared::http::{self, path_param};
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
    let not_found = || ApiError::not_found("IP address on this service");
    let address = listed.items.iter().find(|a| a.address == wanted).cloned().ok_or_else(not_found)?;
    let held = listed.items.iter().filter(|a| a.version == address.version).count() as u32;
    let tariff = tariff_of(app, &target.service).await?;
    target.service.move_address(&tariff, address.version, held, -1, app.clock.now())?;

    let call = SettingsCall::delete(target.path(&format!("ip-addresses/{}", segment(&address.address))));
    if target.ask(app, &call).await? == SettingsAnswer::NotFound {
        return Err(not_found());
    }
    record(app, &target, |service, at| {
        let moved = service.move_address(&tariff, address.version, held, -1, at)?;
        let change = service.address_changed(&address, false, moved.as_ref(), &target.actor, at);
        Ok((change, address_money(moved.as_ref())))
    })
    .await?;
    Ok(Reply::no_content())
}
