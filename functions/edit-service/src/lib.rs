//! `PATCH /services/{id}`: edits `{renewal_price, expires_at, auto_renew, params, delete_at}`
//! (renewal price and validity by the provider only; `delete_at: null` withdraws a scheduled
//! deletion). Honours `If-Match`.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::domain::changes::Edit;
use shared::domain::pricing::Amount;
use shared::domain::{AutoRenew, Principal, Timestamp};
use shared::http::{self, json_body};
use shared::operations::{load_visible_service_alone, tariff_of, write_decision, Money};
use shared::{ApiError, App, Reply};
use std::collections::BTreeMap;

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, edit).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    renewal_price: Option<Amount>,
    expires_at: Option<Timestamp>,
    auto_renew: Option<AutoRenew>,
    params: Option<BTreeMap<String, String>>,
    /// Absent: untouched; `null`: the scheduled deletion is withdrawn. A date is refused:
    /// `DELETE /services/{id}` schedules one.
    #[serde(default, deserialize_with = "present")]
    delete_at: Option<Option<Timestamp>>,
}

/// A field that is present, even as `null`, as `Some`.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Option<Timestamp>>, D::Error> {
    Option::<Timestamp>::deserialize(deserializer).map(Some)
}

async fn edit(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let body: EditBody = json_body(&req)?;
    if !principal.is_provider() && (body.renewal_price.is_some() || body.expires_at.is_some()) {
        return Err(ApiError::BadRequest("renewal_price and expires_at are set by the provider".into()));
    }
    if matches!(body.delete_at, Some(Some(_))) {
        return Err(ApiError::BadRequest(
            "delete_at can only be withdrawn (null); DELETE /services/{id} schedules a deletion".into(),
        ));
    }
    let edit = Edit {
        renewal_price: body.renewal_price.map(|a| a.0),
        expires_at: body.expires_at,
        auto_renew: body.auto_renew,
        params: body.params,
        withdraw_deletion: body.delete_at.is_some(),
    };
    if edit == Edit::default() {
        return Err(ApiError::BadRequest("nothing to change".into()));
    }
    // An edit reads no rules and moves no money: the service is all it reads.
    let target = load_visible_service_alone(app, &principal, &req).await?;
    let tariff = tariff_of(app, &target.service).await?;
    write_decision(app, &principal, &req, target, |service, actor, now| {
        Ok((service.edit(edit, &tariff, actor, now)?, Money::None))
    })
    .await
}
