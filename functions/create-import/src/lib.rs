//! `POST /imports {"source": "whmcs", "mapping": {...}}` (provider): stages an import from
//! WHMCS (`shared::import`); its files are uploaded next, one WHMCS API answer each.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::domain::import::Mapping;
use shared::domain::Principal;
use shared::http::{self, json_body, require_provider};
use shared::{import, views, ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, create_import).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    source: String,
    mapping: Mapping,
}

async fn create_import(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    let body: CreateBody = json_body(&req)?;
    let created = import::create(app, &body.source, body.mapping, principal.id.as_str()).await?;
    Reply::created(views::import(&created, &[]))
}
