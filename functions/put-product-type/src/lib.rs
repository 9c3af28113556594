//! `PUT /product-types/{type}`: the provider sets a product type's rules.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::domain::catalog::{Module, Processing, ReconcileMode, RefundOnDelete};
use shared::domain::{ClientDelete, Principal, ProductType, ProductTypeRules};
use shared::http::{self, json_body, path_param, require_provider};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, put_product_type).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesBody {
    client_delete: ClientDelete,
    client_can_suspend: bool,
    abuse_limit: u32,
    auto_delete_after_days: u32,
    renew_lead_days: u32,
    #[serde(default)]
    panel_url: Option<String>,
    #[serde(default = "shared::domain::catalog::default_remind_days_before")]
    remind_days_before: Vec<u32>,
    #[serde(default)]
    refund_on_delete: RefundOnDelete,
    #[serde(default)]
    reconcile: ReconcileMode,
    #[serde(default)]
    panel_login: bool,
    #[serde(default)]
    module: Module,
    #[serde(default)]
    acme_directory_url: Option<String>,
    #[serde(default)]
    eab_kid: Option<String>,
    #[serde(default)]
    eab_hmac_key: Option<String>,
    #[serde(default)]
    contact: Option<String>,
}

async fn put_product_type(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    let product_type =
        ProductType::parse(&path_param(&req, "type")?).ok_or_else(|| ApiError::not_found("product type"))?;
    let body: RulesBody = json_body(&req)?;
    let rules = ProductTypeRules {
        product_type,
        client_delete: body.client_delete,
        client_can_suspend: body.client_can_suspend,
        abuse_limit: body.abuse_limit,
        auto_delete_after_days: body.auto_delete_after_days,
        renew_lead_days: body.renew_lead_days,
        panel_url: body.panel_url,
        remind_days_before: body.remind_days_before,
        refund_on_delete: body.refund_on_delete,
        reconcile: body.reconcile,
        panel_login: body.panel_login,
        processing: Processing {
            module: body.module,
            acme_directory_url: body.acme_directory_url,
            eab_kid: body.eab_kid,
            eab_hmac_key: body.eab_hmac_key,
            contact: body.contact,
        },
    };
    rules.validate()?;
    app.store.put_product_type(&rules).await?;
    Reply::ok(rules)
}
