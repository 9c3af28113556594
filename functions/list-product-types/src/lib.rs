//! `GET /product-types`: every product type's rules (any principal; where each type's control
//! panel is, only the provider).

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http::{self, Query};
use shared::{views, ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, list_product_types).await
}

async fn list_product_types(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    Query::parse(&req, &[])?;
    let rules = app.store.list_product_types().await?;
    let items: Vec<serde_json::Value> = rules.iter().map(|r| views::product_type(r, &principal)).collect();
    Reply::ok(serde_json::json!({ "items": items, "cursor": null }))
}
