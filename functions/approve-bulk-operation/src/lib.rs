//! `POST /bulk-operations/{id}/approve` (provider): approves a draft. When the stack asks for
//! two people (`BULK_APPROVALS=2`), a second provider's approval is needed, and the same
//! provider approving twice is refused (409). The last approval starts it: the first services
//! are taken before the answer, the rest as the worker ends their operations.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::budget::Budget;
use shared::domain::Principal;
use shared::http::{self, path_param, require_provider};
use shared::{bulk, views, ApiError, App, Reply};

/// How long the request takes services before it answers.
const WORK_BEFORE_ANSWERING: std::time::Duration = std::time::Duration::from_secs(3);

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, approve_bulk_operation).await
}

async fn approve_bulk_operation(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    http::no_body(&req)?;
    let id = path_param(&req, "id")?;
    let approved = bulk::approve(app, &id, &principal, Budget::of(WORK_BEFORE_ANSWERING)).await?;
    Reply::ok(views::bulk_operation(&approved))
}
