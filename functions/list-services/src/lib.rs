//! `GET /services`: a client's own services (never deleted ones), or for the provider every
//! service, filtered by `product_type`, `status` and `client_id`; newest first. For the
//! provider, `?due=renewal|deletion&before=...` lists what the schedules will do by then, and
//! `?needs_attention=true` the services whose latest operation failed, latest first.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::{ClientId, Principal, ProductType, ServiceId, Status, Timestamp};
use shared::http::{self, list_reply, Query, PAGE_PARAMS};
use shared::store::services::ServiceFilter;
use shared::sweeps::Due;
use shared::{views, ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, list_services).await
}

async fn list_services(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let params = ["product_type", "status", "client_id", "due", "before", "needs_attention"];
    let query = Query::parse(&req, &[PAGE_PARAMS.as_slice(), &params].concat())?;
    if let Some(due) = query.parsed("due", Due::parse)? {
        return due_list(app, &principal, &query, due).await;
    }
    if query.get("before").is_some() {
        return Err(ApiError::BadRequest("before goes with due".into()));
    }
    let mut filter = ServiceFilter {
        owner: query.parsed("client_id", ClientId::parse)?,
        product_type: query.parsed("product_type", ProductType::parse)?,
        status: query.parsed("status", Status::parse)?,
        hide_deleted: false,
    };
    if query.parsed("needs_attention", parse_bool)? == Some(true) {
        http::require_provider(&principal)?;
        let position = |raw: &str| {
            Some(raw.to_owned()).filter(|p| shared::store::keys::attention_start(p, "").is_some())
        };
        let page = app.store.services_needing_attention(&filter, query.page(position)?).await?;
        return answered_page(app, page, &principal).await;
    }
    if !principal.is_provider() {
        if filter.owner.is_some() {
            return Err(ApiError::Forbidden("only the provider filters by client_id".into()));
        }
        filter.owner = Some(principal.id.clone());
        filter.hide_deleted = true;
    }
    let page = app.store.list_services(&filter, query.page(ServiceId::parse)?).await?;
    answered_page(app, page, &principal).await
}

/// A page of services as answers (with `allowed_actions`).
async fn answered_page<P: std::fmt::Display>(
    app: &App,
    page: shared::store::Page<shared::domain::Service, P>,
    principal: &Principal,
) -> Result<Reply, ApiError> {
    let items = views::service_answers(app, &page.items, principal).await?;
    list_reply(shared::store::Page { items, next: page.next }, |answer| answer)
}

fn parse_bool(raw: &str) -> Option<bool> {
    match raw {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// `?due=renewal|deletion&before=...` (provider): what the schedules will do by `before`
/// (default now), soonest first, each with its `due_at`; one page of at most `limit`.
async fn due_list(app: &App, principal: &Principal, query: &Query, due: Due) -> Result<Reply, ApiError> {
    http::require_provider(principal)?;
    if ["product_type", "status", "client_id", "cursor", "needs_attention"]
        .iter()
        .any(|p| query.get(p).is_some())
    {
        return Err(ApiError::BadRequest("due takes only before and limit".into()));
    }
    let before = query.parsed("before", Timestamp::parse)?.unwrap_or_else(|| app.clock.now());
    let limit = query.page(|_| None::<()>)?.limit;
    let due = shared::sweeps::due_services(app, due, before, usize::from(limit)).await?;
    let (times, services): (Vec<_>, Vec<_>) = due.into_iter().unzip();
    let mut items = views::service_answers(app, &services, principal).await?;
    for (item, at) in items.iter_mut().zip(times) {
        item["due_at"] = serde_json::json!(at);
    }
    Reply::ok(serde_json::json!({"items": items, "cursor": null}))
}
