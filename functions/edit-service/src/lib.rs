//! `PATCH /services/{id}`: edits `{renewal_price, expires_at, auto_renew, params}` (renewal
//! price and validity by the provider only). Honours `If-Match`.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::domain::changes::Edit;
use shared::domain::{AutoRenew, Principal, Timestamp};
use shared::http::{self, json_body};
use shared::operations::{tariff_of, visible_service_and_account, write_decision, Money};
use shared::{ApiError, App, Reply};
use std::collections::BTreeMap;

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, edit).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    renewal_price: Option<u64>,
    expires_at: Option<Timestamp>,
    auto_renew: Option<AutoRenew>,
    params: Option<BTreeMap<String, String>>,
}

async fn edit(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let body: EditBody = json_body(&req)?;
    if !principal.is_provider() && (body.renewal_price.is_some() || body.expires_at.is_some()) {
        return Err(ApiError::BadRequest("renewal_price and expires_at are set by the provider".into()));
    }
    let edit = Edit {
        renewal_price: body.renewal_price,
        expires_at: body.expires_at,
        auto_renew: body.auto_renew,
        params: body.params,
    };
    if edit == Edit::default() {
        return Err(ApiError::BadRequest("nothing to change".into()));
    }
    let (service, account) = visible_service_and_account(app, &principal, &req).await?;
    let tariff = tariff_of(app, &service).await?;
    write_decision(app, &principal, &req, service, account, |service, actor, now| {
        Ok((service.edit(edit, &tariff, actor, now)?, Money::None))
    })
    .await
}
