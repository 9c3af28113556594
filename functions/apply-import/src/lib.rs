//! `POST /imports/{id}/apply {"skip_errors"?}` (provider): writes what the preview says, each
//! record once whatever the number of calls (refused with 409 while the preview has errors,
//! unless `skip_errors`). Carried on for a few seconds, then answered 202 with the import as
//! it stands (200 once done); the `carry-on-imports` job carries on the rest.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::budget::Budget;
use shared::domain::import::ImportStatus;
use shared::domain::Principal;
use shared::http::{self, json_body, path_param, require_provider};
use shared::{import, views, ApiError, App, Reply};

/// How long the request carries the apply on before it answers.
const WORK_BEFORE_ANSWERING: std::time::Duration = std::time::Duration::from_secs(5);

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, apply_import).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplyBody {
    #[serde(default)]
    skip_errors: bool,
}

async fn apply_import(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    let body: ApplyBody = if req.body().is_empty() { ApplyBody::default() } else { json_body(&req)? };
    let id = path_param(&req, "id")?;
    let budget = Budget::of(WORK_BEFORE_ANSWERING);
    let applied = import::apply(app, &id, body.skip_errors, principal.id.as_str(), budget).await?;
    let files = app.store.import_files(&applied.id).await?;
    let view = views::import(&applied, &files);
    if applied.status == ImportStatus::Done {
        Reply::ok(view)
    } else {
        Reply::accepted(view)
    }
}
