//! `GET /bulk-operations/{id}/preview?limit=&cursor=` (provider): each service of the bulk
//! operation in the order they are taken, with what the preview said its operation would do
//! (`quote`: charge, credit, renewal price, status and expiry once done; or `refusal`: the
//! status and words its own route answers) and what became of it (`state`, `reason`); with
//! the totals of them all.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::bulk::{BulkStatus, ItemState};
use shared::domain::Principal;
use shared::http::{self, path_param, require_provider, Query, PAGE_PARAMS};
use shared::{bulk, views, ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, get_bulk_operation_preview).await
}

async fn get_bulk_operation_preview(
    app: &App,
    principal: Principal,
    req: Request,
) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    let page = Query::parse(&req, &PAGE_PARAMS)?.page(|raw| raw.parse::<u32>().ok())?;
    let found = bulk::get(app, &path_param(&req, "id")?).await?;
    let (mut items, next) = app.store.bulk_services(&found.id, page.after.unwrap_or(0), page.limit).await?;
    if found.status == BulkStatus::Cancelled {
        // Never started, and never will be.
        for item in items.iter_mut().filter(|i| i.state == ItemState::Pending) {
            item.state = ItemState::Cancelled;
        }
    }
    Reply::ok(serde_json::json!({
        "items": items.iter().map(views::bulk_service).collect::<Vec<_>>(),
        "next_cursor": next.map(|n| http::encode_cursor(&n)),
        "totals": found.totals,
    }))
}
