//! `GET /tickets?service_id=...`: a client's own tickets, or all tickets for the provider;
//! newest first, filterable by service.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::{Principal, ServiceId};
use shared::http::{self, encode_cursor, Query, PAGE_PARAMS};
use shared::store::tickets::TicketFilter;
use shared::{views, ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, list_tickets).await
}

async fn list_tickets(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let query = Query::parse(&req, &[PAGE_PARAMS.as_slice(), &["service_id"]].concat())?;
    let filter = TicketFilter {
        owner: (!principal.is_provider()).then(|| principal.id.clone()),
        service: query.parsed("service_id", ServiceId::parse)?,
    };
    let page = app.store.list_tickets(&filter, query.page(shared::domain::ids::parse_id)?).await?;
    let items = views::tickets(app, &principal, &page.items).await?;
    Reply::ok(serde_json::json!({"items": items, "cursor": page.next.as_ref().map(encode_cursor)}))
}
