//! `POST /services/{id}/panel-session`: a one-time sign-in link into the service's control
//! panel (single sign-on), for the service's client or the provider: `{url, expires_at}`, good
//! for one use within 60 seconds. Only for an active service whose product type's rules say
//! `panel_login` (409 otherwise); at most `PER_MINUTE` within any 60 seconds per service (429
//! with `Retry-After`), counted before the panel is asked. The panel makes the link
//! (`POST {panel_url}/services/{id}/session`, see `shared::panel`); the sign-in is recorded in
//! the service's history (who, never the link) before the link is answered.
//!
//! The link is a secret of the caller's: this route has no idempotency record (an
//! `Idempotency-Key` is ignored), answers `Cache-Control: no-store`, and logs nothing of it.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use shared::domain::history::Actor;
use shared::domain::panel_login::{PanelSession, PER_MINUTE};
use shared::domain::{Clock, Principal, ProductTypeRules, Service, ServiceId, SystemClock};
use shared::http;
use shared::operations::load_visible_service;
use shared::panel::{SettingsAnswer, SettingsCall};
use shared::store::StoreError;
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::unrecorded_write(app, req, create_panel_session).await
}

async fn create_panel_session(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    http::no_body(&req)?;
    let target = load_visible_service(app, &principal, &req).await?;
    let rules = target.rules()?;
    target.service.ensure_panel_login(rules)?;
    let panel_url = target.panel_url()?;
    let service = &target.service;

    admit(app, &service.id).await?;

    let call = SettingsCall::post(format!("services/{}/session", service.id), serde_json::json!({}));
    let session = match shared::settings::ask(app, panel_url, &call).await? {
        // The panel judges its link by the wall clock, not by the app's (which tests move).
        SettingsAnswer::Done(answer) => {
            PanelSession::from_answer(&answer, SystemClock.now()).map_err(|why| {
                // Why, never the answer: it may hold a link.
                tracing::warn!(reason = %why, "unusable sign-in link from the control panel");
                ApiError::BadGateway(format!("the control panel answered an unusable sign-in link: {why}"))
            })?
        }
        SettingsAnswer::NotFound => {
            tracing::warn!("the control panel holds no such service to sign in to");
            return Err(ApiError::BadGateway(
                "the control panel does not hold this service; ask the provider".into(),
            ));
        }
        SettingsAnswer::NoResources => {
            return Err(ApiError::BadGateway("the control panel answered something unexpected".into()))
        }
    };
    record(app, service, rules, &Actor::from(&principal)).await?;
    Reply::ok(session)
}

/// How often a sign-in is counted again when another came at the same moment.
const COUNT_ATTEMPTS: usize = 5;

/// Counts a sign-in into `service`'s panel now, or refuses it (429) when `PER_MINUTE` came
/// within the last 60 seconds.
async fn admit(app: &App, service: &ServiceId) -> Result<(), ApiError> {
    for _ in 0..COUNT_ATTEMPTS {
        let log = app.store.panel_sign_ins(service).await?;
        let admitted = log.admit(app.clock.now()).map_err(|wait| ApiError::TooManyRequests {
            message: format!(
                "a service's control panel is signed in to at most {PER_MINUTE} times a minute; \
                 try again in {wait} s"
            ),
            retry_after: wait,
        })?;
        match app.store.put_panel_sign_ins(service, &admitted).await {
            Err(StoreError::ConditionFailed) => continue,
            other => return Ok(other?),
        }
    }
    Err(ApiError::TooManyRequests {
        message: "the control panel is being signed in to right now; try again in a second".into(),
        retry_after: 1,
    })
}

/// How often the sign-in is recorded again over a service that changed meanwhile.
const RECORD_ATTEMPTS: usize = 3;

/// Writes the sign-in's history entry, held to the service as read: when it changed meanwhile
/// it is read again, and the sign-in recorded only if still allowed (the link is then dropped
/// unanswered: it expires on the panel unused).
async fn record(app: &App, read: &Service, rules: &ProductTypeRules, actor: &Actor) -> Result<(), ApiError> {
    let mut service = read.clone();
    for _ in 0..RECORD_ATTEMPTS {
        let entry = service.panel_login(rules, actor, app.clock.now())?;
        let mut batch = app.store.batch();
        batch.unchanged(&service)?.history(&service, &entry)?;
        match app.store.commit(batch).await {
            Err(StoreError::ConditionFailed) => {
                service = app
                    .store
                    .get_service(&service.id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("service"))?;
            }
            other => return Ok(other?),
        }
    }
    Err(ApiError::Conflict("the service kept changing; try again".into()))
}
