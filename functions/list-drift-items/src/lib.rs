//! `GET /reconciliations/{id}/items?kind=&limit=&cursor=` (provider): what a reconciliation
//! found, one page at a time in id order; `kind` keeps one kind (a page may then hold fewer
//! than `limit`: the cursor says whether more follow).

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::drift::{self, DriftKind};
use shared::domain::ids::parse_id;
use shared::domain::Principal;
use shared::http::{self, list_reply, path_param, require_provider, Query};
use shared::store::Page;
use shared::{views, ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, list_drift_items).await
}

async fn list_drift_items(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    let query = Query::parse(&req, &["limit", "cursor", "kind"])?;
    let kind = match query.get("kind") {
        None => None,
        Some(raw) => Some(DriftKind::parse(raw).ok_or_else(|| {
            let kinds: Vec<&str> = DriftKind::ALL.iter().map(|k| k.as_str()).collect();
            ApiError::BadRequest(format!("kind must be one of {}", kinds.join(", ")))
        })?),
    };
    let page = query.page(drift::parse_item_id)?;
    let run = parse_id(&path_param(&req, "id")?).ok_or_else(|| ApiError::not_found("reconciliation"))?;
    let (items, next) = app.store.drift_items(&run, kind, page.limit, page.after.as_deref()).await?;
    // An empty page says nothing of the run: is there one?
    if items.is_empty() && app.store.get_run(&run).await?.is_none() {
        return Err(ApiError::not_found("reconciliation"));
    }
    list_reply(Page { items, next }, |item| views::drift_item(&item))
}
