//! `GET /tariffs?product_type=...`: the tariffs on sale (any principal).

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::{Principal, ProductType, TariffId};
use shared::http::{self, list_reply, Query, PAGE_PARAMS};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, list_tariffs).await
}

async fn list_tariffs(app: &App, _: Principal, req: Request) -> Result<Reply, ApiError> {
    let query = Query::parse(&req, &[PAGE_PARAMS.as_slice(), &["product_type"]].concat())?;
    let product_type = query.parsed("product_type", ProductType::parse)?;
    let page = app.store.list_tariffs(product_type, query.page(TariffId::parse)?).await?;
    list_reply(page, |tariff| serde_json::to_value(tariff).expect("a tariff serializes"))
}
