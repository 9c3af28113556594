//! `GET /services/{id}/history`: what was done to a service, newest first, one page at a time.
//! The first page is read with the service in one Query; a later one reads the service first,
//! as the cursor comes from the caller and the service decides who may read on. A client reads
//! a given-up operation's error in words for it (`views::history_entry`).

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::{HistoryId, Principal};
use shared::http::{self, list_reply, service_id_in_path, visible_service, Query, PAGE_PARAMS};
use shared::{views, ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, get_service_history).await
}

async fn get_service_history(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let query = Query::parse(&req, &PAGE_PARAMS)?;
    let page_request = query.page(HistoryId::parse)?;
    let page = if page_request.after.is_none() {
        let (service, page) =
            app.store.service_with_history(&service_id_in_path(&req)?, page_request.limit).await?;
        service.filter(|s| s.visible_to(&principal)).ok_or_else(|| ApiError::not_found("service"))?;
        page
    } else {
        let service = visible_service(app, &principal, &req).await?;
        app.store.list_history(&service.id, page_request).await?
    };
    list_reply(page, |entry| views::history_entry(&entry, &principal, &app.settings.provider_name))
}
