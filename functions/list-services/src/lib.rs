//! `GET /services`: a client's own services (never deleted ones), or for the provider every
//! service, filtered by `product_type`, `status` and `client_id`; newest first.

use lambda_http::{Body, Request, Response};
use shared::domain::{ClientId, Principal, ProductType, ServiceId, Status};
use shared::http::{self, list_reply, Query, PAGE_PARAMS};
use shared::store::services::ServiceFilter;
use shared::{views, ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, list_services).await
}

async fn list_services(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let query =
        Query::parse(&req, &[PAGE_PARAMS.as_slice(), &["product_type", "status", "client_id"]].concat())?;
    let mut filter = ServiceFilter {
        owner: query.parsed("client_id", ClientId::parse)?,
        product_type: query.parsed("product_type", ProductType::parse)?,
        status: query.parsed("status", Status::parse)?,
        hide_deleted: false,
    };
    if !principal.is_provider() {
        if filter.owner.is_some() {
            return Err(ApiError::Forbidden("only the provider filters by client_id".into()));
        }
        filter.owner = Some(principal.id.clone());
        filter.hide_deleted = true;
    }
    let page = app.store.list_services(&filter, query.page(ServiceId::parse)?).await?;
    list_reply(page, |service| views::service(&service))
}
