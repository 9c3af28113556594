//! `GET /services/{id}/history`: what was done to a service, newest first, one page at a time.

use lambda_http::{Body, Request, Response};
use shared::domain::{HistoryId, Principal};
use shared::http::{self, list_reply, visible_service, Query, PAGE_PARAMS};
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, get_service_history).await
}

async fn get_service_history(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let query = Query::parse(&req, &PAGE_PARAMS)?;
    let page_request = query.page(HistoryId::parse)?;
    let service = visible_service(app, &principal, &req).await?;
    let page = app.store.list_history(&service.id, page_request).await?;
    list_reply(page, |entry| serde_json::to_value(entry).expect("a history entry serializes"))
}
