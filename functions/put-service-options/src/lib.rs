//! `PUT /services/{id}/options` `{options: [{id, quantity}]}`: the whole wanted set of
//! options; the added cost for the days left is charged now (402 when short), a reduction
//! credited when the panel is done.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::domain::account::LedgerKind;
use shared::domain::{OptionLine, Principal};
use shared::http::{self, json_body};
use shared::operations::{load_visible_service, tariff_of, write_decision, Money};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::quotable_write(app, req, put_options).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionsBody {
    options: Vec<OptionLine>,
}

async fn put_options(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let body: OptionsBody = json_body(&req)?;
    let target = load_visible_service(app, &principal, &req).await?;
    let tariff = tariff_of(app, &target.service).await?;
    write_decision(app, &principal, &req, target, |service, actor, now| {
        let (change, charge) = service.change_options(&tariff, body.options, actor, now)?;
        Ok((change, Money::Charge(LedgerKind::Options, charge)))
    })
    .await
}
