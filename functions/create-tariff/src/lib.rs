//! `POST /tariffs`: the provider puts a tariff on sale.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::domain::certificate::CertificateTerms;
use shared::domain::{OptionOffer, Prices, Principal, ProductType, Tariff, TariffId};
use shared::http::{self, json_body, require_provider};
use shared::store::StoreError;
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, create_tariff).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TariffBody {
    /// A slug the provider chooses; generated when absent.
    id: Option<String>,
    product_type: ProductType,
    name: String,
    prices: Prices,
    #[serde(default)]
    options: Vec<OptionOffer>,
    #[serde(default)]
    required_params: Vec<String>,
    #[serde(default)]
    change_to: Vec<String>,
    /// A certificate tariff's terms (`{names, wildcard}`).
    #[serde(default)]
    certificate: Option<CertificateTerms>,
}

fn tariff_id(raw: &str, field: &str) -> Result<TariffId, ApiError> {
    TariffId::parse(raw).ok_or_else(|| {
        ApiError::BadRequest(format!("{field}: `{raw}` is not a tariff id (a-z, 0-9, - and _, at most 64)"))
    })
}

async fn create_tariff(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    let body: TariffBody = json_body(&req)?;
    let tariff = Tariff {
        id: body
            .id
            .as_deref()
            .map(|raw| tariff_id(raw, "id"))
            .transpose()?
            .unwrap_or_else(TariffId::generate),
        product_type: body.product_type,
        name: body.name,
        prices: body.prices,
        options: body.options,
        required_params: body.required_params,
        change_to: body.change_to.iter().map(|raw| tariff_id(raw, "change_to")).collect::<Result<_, _>>()?,
        certificate: body.certificate,
    };
    tariff.validate()?;
    for target in &tariff.change_to {
        let same_type = app.store.get_tariff(target).await?.map(|t| t.product_type);
        if same_type != Some(tariff.product_type) {
            return Err(ApiError::Unprocessable(format!(
                "change_to: no {} tariff `{target}`",
                tariff.product_type.as_str()
            )));
        }
    }
    match app.store.insert_tariff(&tariff).await {
        Ok(()) => Reply::created(tariff),
        Err(StoreError::ConditionFailed) => {
            Err(ApiError::Conflict(format!("a tariff with id `{}` exists", tariff.id)))
        }
        Err(e) => Err(e.into()),
    }
}
