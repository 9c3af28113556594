//! `POST /services/{id}/abuse-reports` `{score, description}`: the provider (or the abuse feed
//! with a provider token) adds to a service's abuse score; the abuse sweep suspends it at the
//! product type's limit.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::domain::{Bounded, Principal};
use shared::http::{self, json_body, require_provider};
use shared::operations::{operate, Money};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, report_abuse).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportBody {
    score: u32,
    description: Bounded<MAX_DESCRIPTION_LEN>,
}

const MAX_DESCRIPTION_LEN: usize = 2_000;

async fn report_abuse(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    let body: ReportBody = json_body(&req)?;
    let description = shared::domain::text::paragraphs(&body.description, "description", MAX_DESCRIPTION_LEN)
        .map_err(|e| ApiError::BadRequest(e.0))?;
    operate(app, &principal, &req, |service, actor, now| {
        Ok((service.report_abuse(body.score, &description, actor, now)?, Money::None))
    })
    .await
}
