//! `POST /services`: a client orders a service (the provider may order for a client). The new
//! service and its first history entry are written in one transaction.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::domain::order::{place_order, OrderRequest};
use shared::domain::{AutoRenew, ClientId, OptionLine, Principal, TariffId};
use shared::http::{self, json_body};
use shared::{views, ApiError, App, Reply};
use std::collections::BTreeMap;

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, create_service).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderBody {
    tariff_id: String,
    period_months: u16,
    auto_renew: Option<AutoRenew>,
    #[serde(default)]
    params: BTreeMap<String, String>,
    #[serde(default)]
    options: Vec<OptionLine>,
    #[serde(default)]
    quick: bool,
    /// Whom the provider orders for; a client always orders for itself.
    client_id: Option<String>,
}

/// Whose service this is: the client itself, or the client the provider names.
fn owner(principal: &Principal, client_id: Option<&str>) -> Result<ClientId, ApiError> {
    match (principal.is_provider(), client_id) {
        (false, None) => Ok(principal.id.clone()),
        (false, Some(_)) => Err(ApiError::BadRequest("client_id is set by the server for a client".into())),
        (true, Some(raw)) => ClientId::parse(raw)
            .ok_or_else(|| ApiError::BadRequest("client_id must be 1 to 128 printable characters".into())),
        (true, None) => Err(ApiError::Unprocessable("the provider orders for a client_id".into())),
    }
}

async fn create_service(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let body: OrderBody = json_body(&req)?;
    let client_id = owner(&principal, body.client_id.as_deref())?;
    let no_tariff = || ApiError::Unprocessable(format!("no tariff `{}`", body.tariff_id));
    let tariff_id = TariffId::parse(&body.tariff_id).ok_or_else(no_tariff)?;
    let tariff = app.store.get_tariff(&tariff_id).await?.ok_or_else(no_tariff)?;
    let limit = app.settings.cart_limit;
    if shared::billing::cart(app.store.client_services(&client_id).await?).len() >= limit {
        return Err(ApiError::Conflict(format!(
            "a cart holds at most {limit} services: check out or remove some first"
        )));
    }
    let order = OrderRequest {
        client_id,
        period_months: body.period_months,
        auto_renew: body.auto_renew,
        params: body.params,
        options: body.options,
        quick: body.quick,
    };
    let (service, entry) = place_order(&tariff, order, &principal, app.clock.now())?;
    app.store.insert_service(&service, &entry).await?;
    let answer = views::service_answer(app, &service, &principal, None).await?;
    Ok(Reply::created(answer)?.versioned(service.version))
}
