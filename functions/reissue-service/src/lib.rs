//! `POST /services/{id}/reissue {csr}`: reissues an active SSL certificate through the queue,
//! for the new key's certificate signing request (which an ACME product type requires, checked
//! against the tariff as an order's is). The certificate it replaces is revoked once the new one
//! is issued.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::domain::Principal;
use shared::http;
use shared::operations::{load_visible_service, tariff_of, write_decision, Money};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, reissue).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReissueBody {
    /// The new key's certificate signing request (PEM).
    #[serde(default)]
    csr: Option<String>,
}

async fn reissue(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let body: ReissueBody = http::optional_json_body(&req)?;
    let target = load_visible_service(app, &principal, &req).await?;
    let acme = target.rules.as_ref().is_some_and(|rules| rules.is_acme());
    let terms = match acme || body.csr.is_some() {
        true => tariff_of(app, &target.service).await?.certificate,
        false => None,
    };
    write_decision(app, &principal, &req, target, |service, actor, now| {
        Ok((service.reissue_with(body.csr.as_deref(), terms.as_ref(), acme, actor, now)?, Money::None))
    })
    .await
}
