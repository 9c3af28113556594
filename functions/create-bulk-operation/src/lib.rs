//! `POST /bulk-operations {"operation", "filter" | "service_ids", ...}` (provider): drafts a
//! bulk operation, its services frozen with what each would do (`GET .../preview`); nothing is
//! done to them until it is approved. Operations and their fields: `disable {reason?}`,
//! `enable`, `renew {periods}`, `change_tariff {tariff_id}`, `set_renewal_price
//! {renewal_price | percent, from}`, `transfer {product_type}`, `delete`.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::bulk::{DraftRequest, Selection};
use shared::domain::bulk::{BulkAction, Filter, NewPrice, MAX_SERVICES};
use shared::domain::{Principal, ProductType, ServiceId, TariffId, Timestamp};
use shared::http::{self, json_body, require_provider};
use shared::{bulk, views, ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, create_bulk_operation).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DraftBody {
    operation: String,
    filter: Option<Filter>,
    service_ids: Option<Vec<String>>,
    reason: Option<String>,
    periods: Option<u32>,
    tariff_id: Option<String>,
    renewal_price: Option<u64>,
    percent: Option<i32>,
    from: Option<String>,
    product_type: Option<String>,
}

const MAX_REASON_LEN: usize = 500;

async fn create_bulk_operation(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    let body: DraftBody = json_body(&req)?;
    let selection = selection(&body)?;
    let action = action(&body)?;
    let bulk = bulk::create(app, DraftRequest { action, selection }, &principal).await?;
    Reply::created(views::bulk_operation(&bulk))
}

fn bad(message: &str) -> ApiError {
    ApiError::BadRequest(message.to_owned())
}

fn selection(body: &DraftBody) -> Result<Selection, ApiError> {
    match (&body.filter, &body.service_ids) {
        (Some(filter), None) => Ok(Selection::Filter(filter.clone())),
        (None, Some(ids)) => {
            if ids.is_empty() || ids.len() > MAX_SERVICES {
                return Err(ApiError::Unprocessable(format!(
                    "service_ids names 1 to {MAX_SERVICES} services"
                )));
            }
            let ids = ids
                .iter()
                .map(|raw| {
                    ServiceId::parse(raw)
                        .ok_or_else(|| ApiError::Unprocessable(format!("no service `{raw}`")))
                })
                .collect::<Result<_, _>>()?;
            Ok(Selection::Ids(ids))
        }
        _ => Err(bad("give either filter or service_ids")),
    }
}

/// The operation with its fields: each field only with its operation.
fn action(body: &DraftBody) -> Result<BulkAction, ApiError> {
    let given = [
        ("reason", body.reason.is_some()),
        ("periods", body.periods.is_some()),
        ("tariff_id", body.tariff_id.is_some()),
        ("renewal_price", body.renewal_price.is_some()),
        ("percent", body.percent.is_some()),
        ("from", body.from.is_some()),
        ("product_type", body.product_type.is_some()),
    ];
    let takes: &[&str] = match body.operation.as_str() {
        "disable" => &["reason"],
        "enable" | "delete" => &[],
        "renew" => &["periods"],
        "change_tariff" => &["tariff_id"],
        "set_renewal_price" => &["renewal_price", "percent", "from"],
        "transfer" => &["product_type"],
        _ => return Err(bad(
            "operation must be disable, enable, renew, change_tariff, set_renewal_price, transfer or delete",
        )),
    };
    if let Some((field, _)) = given.iter().find(|(field, set)| *set && !takes.contains(field)) {
        return Err(ApiError::BadRequest(format!("{} takes no {field}", body.operation)));
    }
    let needs = |field: &str| ApiError::BadRequest(format!("{} needs {field}", body.operation));
    Ok(match body.operation.as_str() {
        "disable" => {
            let reason = body
                .reason
                .as_deref()
                .map(|r| shared::domain::text::line(r, "reason", MAX_REASON_LEN))
                .transpose()
                .map_err(|e| ApiError::BadRequest(e.0))?;
            BulkAction::Disable { reason }
        }
        "enable" => BulkAction::Enable,
        "delete" => BulkAction::Delete,
        "renew" => BulkAction::Renew { periods: body.periods.ok_or_else(|| needs("periods"))? },
        "change_tariff" => {
            let raw = body.tariff_id.as_deref().ok_or_else(|| needs("tariff_id"))?;
            let tariff_id =
                TariffId::parse(raw).ok_or_else(|| ApiError::Unprocessable(format!("no tariff `{raw}`")))?;
            BulkAction::ChangeTariff { tariff_id }
        }
        "set_renewal_price" => {
            let price = match (body.renewal_price, body.percent) {
                (Some(amount), None) => NewPrice::Amount(amount),
                (None, Some(percent)) => NewPrice::Percent(percent),
                _ => return Err(bad("set_renewal_price needs renewal_price or percent, not both")),
            };
            let raw = body.from.as_deref().ok_or_else(|| needs("from"))?;
            let from = Timestamp::parse(raw).ok_or_else(|| bad("from must be an RFC 3339 time"))?;
            BulkAction::SetRenewalPrice { price, from }
        }
        _ => {
            let raw = body.product_type.as_deref().ok_or_else(|| needs("product_type"))?;
            let product_type =
                ProductType::parse(raw).ok_or_else(|| bad("product_type is not a product type"))?;
            BulkAction::Transfer { product_type }
        }
    })
}
