//! `GET /product-types`: every product type's rules (any principal).

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http::{self, Query};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, list_product_types).await
}

async fn list_product_types(app: &App, _: Principal, req: Request) -> Result<Reply, ApiError> {
    Query::parse(&req, &[])?;
    let items = app.store.list_product_types().await?;
    Reply::ok(serde_json::json!({ "items": items, "cursor": null }))
}
