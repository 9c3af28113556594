//! `GET /tariffs/{id}`: one tariff (any principal).

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::{Principal, TariffId};
use shared::http::{self, path_param, Query};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, get_tariff).await
}

async fn get_tariff(app: &App, _: Principal, req: Request) -> Result<Reply, ApiError> {
    Query::parse(&req, &[])?;
    let not_found = || ApiError::not_found("tariff");
    let id = TariffId::parse(&path_param(&req, "id")?).ok_or_else(not_found)?;
    let tariff = app.store.get_tariff(&id).await?.ok_or_else(not_found)?;
    Reply::ok(tariff)
}
