//! `GET /services/{id}/options`: the options the service's tariff offers, with the quantity
//! the service has of each.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http::{self, visible_service, Query};
use shared::operations::tariff_of;
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, get_options).await
}

async fn get_options(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    Query::parse(&req, &[])?;
    let service = visible_service(app, &principal, &req).await?;
    let tariff = tariff_of(app, &service).await?;
    let items: Vec<serde_json::Value> = tariff
        .options
        .iter()
        .map(|offer| {
            let quantity = service.options.iter().find(|o| o.id == offer.id).map_or(0, |o| o.quantity);
            serde_json::json!({"id": offer.id, "name": offer.name, "price": offer.price, "max": offer.max, "quantity": quantity})
        })
        .collect();
    Reply::ok(serde_json::json!({"service_id": service.id, "items": items}))
}
