//! `GET /notifications` (a client's own) and `GET /clients/{client_id}/notifications` (the
//! provider: that client's address and muted kinds, with the page): what each client was told,
//! newest first, one entry per event.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::Principal;
use shared::http::{self, encode_cursor, Query, PAGE_PARAMS};
use shared::notifications::{notification_view, settings_view, whose};
use shared::views::hide_deleted_links;
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::read(app, req, list_notifications).await
}

async fn list_notifications(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let client = whose(&principal, &req)?;
    let query = Query::parse(&req, &PAGE_PARAMS)?;
    let page = query.page(|raw| shared::domain::HistoryId::parse(raw).map(|id| id.to_string()))?;
    // The provider's answer carries the client's settings: on the first page, in the same Query.
    let (settings, page) = match (principal.is_provider(), page.after.is_none()) {
        (true, true) => {
            let (settings, page) = app.store.settings_with_notifications(&client, page.limit).await?;
            (Some(settings), page)
        }
        (true, false) => {
            let settings = app.store.notification_settings(&client).await?;
            (Some(settings), app.store.list_notifications(&client, page).await?)
        }
        (false, _) => (None, app.store.list_notifications(&client, page).await?),
    };
    let mut items: Vec<_> = page.items.iter().map(|n| notification_view(n, &principal)).collect();
    hide_deleted_links(app, &principal, &mut items).await?;
    let mut reply = serde_json::json!({"items": items, "cursor": page.next.as_ref().map(encode_cursor)});
    if let (Some(reply), Some(settings)) = (reply.as_object_mut(), settings) {
        if let Some(settings) = settings_view(&settings).as_object() {
            reply.extend(settings.clone());
        }
    }
    Reply::ok(reply)
}
