//! `POST /services/{id}/change-tariff` `{tariff_id}`: moves the service to one of the tariffs
//! its tariff may change to; the difference for the days left is charged now (402 when short)
//! or credited when the panel is done. Refused while suspended by the administrator.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::domain::account::LedgerKind;
use shared::domain::{Principal, TariffId};
use shared::http::{self, json_body};
use shared::operations::{load_visible_service, tariff_of, write_decision, Money};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::quotable_write(app, req, change_tariff).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    tariff_id: String,
}

async fn change_tariff(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let body: ChangeBody = json_body(&req)?;
    let target = load_visible_service(app, &principal, &req).await?;
    let no_tariff = || ApiError::Unprocessable(format!("no tariff `{}`", body.tariff_id));
    let to_id = TariffId::parse(&body.tariff_id).ok_or_else(no_tariff)?;
    let from = tariff_of(app, &target.service).await?;
    let to = app.store.get_tariff(&to_id).await?.ok_or_else(no_tariff)?;
    write_decision(app, &principal, &req, target, |service, actor, now| {
        let (change, charge) = service.change_tariff(&from, &to, actor, now)?;
        Ok((change, Money::Charge(LedgerKind::TariffChange, charge)))
    })
    .await
}
