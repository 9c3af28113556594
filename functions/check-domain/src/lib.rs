//! `GET /domains/check?name=...`: whether a domain name is free at the registrar, with what
//! registering it costs on each domain tariff and period. An invalid name is a 400.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shared::domain::catalog::panel_of;
use shared::domain::settings::domain_name;
use shared::domain::{Principal, ProductType};
use shared::http::{self, Query};
use shared::panel::SettingsCall;
use shared::settings::{ask, done};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, check).await
}

#[derive(Debug, Deserialize)]
struct Availability {
    available: bool,
}

async fn check(app: &App, _principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let query = Query::parse(&req, &["name"])?;
    let raw = query.get("name").ok_or_else(|| ApiError::BadRequest("`name` is required".into()))?;
    let name = domain_name(raw).map_err(|v| ApiError::BadRequest(v.0))?;
    let (rules, tariffs) = app.store.product_type_with_tariffs(ProductType::Domain).await?;
    let panel = panel_of(rules.as_ref(), ProductType::Domain)?;
    let call = SettingsCall::get("domains/check".into()).query("name", &name);
    let availability: Availability = done(ask(app, panel, &call).await?)?;
    let prices: Vec<_> = tariffs
        .iter()
        .flat_map(|t| {
            t.prices.periods().map(move |months| {
                json!({"tariff_id": t.id, "period_months": months, "price": t.prices.for_period(months)})
            })
        })
        .collect();
    Reply::ok(json!({"name": name, "available": availability.available, "prices": prices}))
}
