//! `POST /reconciliations {product_type?}` (provider): starts a reconciliation of one product
//! type's panel, or of every type's, carries it on for a few seconds, and answers 202 with the
//! run as it then stands; the `reconcile` job carries on what is left.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::budget::Budget;
use shared::domain::{Principal, ProductType};
use shared::http::{self, json_body, require_provider};
use shared::{reconciliation, views, ApiError, App, Reply};

/// How long the request carries the run on before it answers.
const WORK_BEFORE_ANSWERING: std::time::Duration = std::time::Duration::from_secs(3);

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, create_reconciliation).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    product_type: Option<ProductType>,
}

async fn create_reconciliation(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    let body: CreateBody =
        if req.body().is_empty() { CreateBody { product_type: None } } else { json_body(&req)? };
    let run =
        reconciliation::start(app, body.product_type.into_iter().collect(), principal.id.as_str()).await?;
    let read = reconciliation::carry_on(app, &run.id, Budget::of(WORK_BEFORE_ANSWERING)).await?;
    Reply::accepted(views::reconciliation(&read))
}
