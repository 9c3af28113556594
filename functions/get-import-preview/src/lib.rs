//! `GET /imports/{id}/preview?limit=&cursor=&action=` (provider): what the import would do to
//! each record, clients first, then services, with the summary of them all:
//! `{"items": [{record, whmcs_id, action, reason?}], "next_cursor", "summary"}`. Nothing is
//! written but the preview itself: the first read after an upload works it out (carried on
//! for a few seconds; 202 with `Retry-After` and no items while it is not done).

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::budget::Budget;
use shared::domain::import::Verdict;
use shared::domain::Principal;
use shared::http::{self, path_param, require_provider, Query, MAX_PAGE_LIMIT};
use shared::{import, ApiError, App, Reply};

/// How long a read carries the preview on before it answers.
const WORK_BEFORE_ANSWERING: std::time::Duration = std::time::Duration::from_secs(5);

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, get_import_preview).await
}

async fn get_import_preview(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    let query = Query::parse(&req, &["limit", "cursor", "action"])?;
    let page = query.page(|raw| raw.parse::<usize>().ok())?;
    let action = match query.get("action") {
        Some(raw) => Some(
            Verdict::parse(raw)
                .ok_or_else(|| ApiError::BadRequest("action must be create, update, skip or error".into()))?,
        ),
        None => None,
    };
    let id = path_param(&req, "id")?;
    let found = import::carry_on_preview(app, &id, Budget::of(WORK_BEFORE_ANSWERING)).await?;
    if !found.previewed() {
        let lines = found.preview.as_ref().map_or(0, |p| p.lines);
        return Reply::accepted(serde_json::json!({
            "items": [], "next_cursor": null, "summary": null,
            "status": "running", "lines": lines,
        }));
    }
    let limit = usize::from(page.limit.min(MAX_PAGE_LIMIT));
    let (lines, next, summary) =
        import::preview_page(app, &found, page.after.unwrap_or(0), limit, action).await?;
    Reply::ok(serde_json::json!({
        "items": lines.iter().map(|l| l.view()).collect::<Vec<_>>(),
        "next_cursor": next.map(|n| http::encode_cursor(&n)),
        "summary": summary,
    }))
}
