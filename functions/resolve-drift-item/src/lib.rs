//! `POST /reconciliations/{id}/items/{item_id}/resolve {"action", ...}` (provider): resolves
//! what a reconciliation found, through the service's ordinary history, queue and events:
//! - `apply_billing` queues the panel operation that makes the panel hold the service as
//!   billing does (`Service::resync`: suspend, resume, change tariff or options, activate a
//!   missing one again, delete a deleted one's account);
//! - `accept_panel` has billing take the panel's suspension or resumption
//!   (`Service::accept_panel`: never a change of what is paid);
//! - `ignore {reason}` keeps the item with its reason and takes the service off the attention
//!   list;
//! - `adopt {client_id, tariff_id, expires_at, renewal_price, period_months?}` makes an account
//!   of no service of ours a service of that client (`domain::adoption`), linked on the panel.
//!
//! A service that changed since the run found the item is refused (409: run one again).
//! Resolving an item again with the action it was resolved with answers it as it is; with
//! another action, 409.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shared::domain::adoption::{self, Terms};
use shared::domain::drift::{self, DriftItem, Resolution};
use shared::domain::history::Actor;
use shared::domain::Principal;
use shared::domain::{ClientId, TariffId, Timestamp};
use shared::http::{self, json_body, path_param, require_provider};
use shared::operations::{add_change, enqueue, VisibleService};
use shared::panel::{segment, ProcessingModule, SettingsAnswer, SettingsCall};
use shared::store::StoreError;
use shared::{views, ApiError, App, Reply};

/// The longest reason kept.
const MAX_REASON_CHARS: usize = 500;

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, resolve).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    action: String,
    reason: Option<String>,
    /// `adopt`'s terms (see `domain::adoption::Terms`), and the tariff it runs on.
    client_id: Option<String>,
    tariff_id: Option<String>,
    expires_at: Option<Timestamp>,
    renewal_price: Option<u64>,
    period_months: Option<u16>,
}

async fn resolve(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    require_provider(&principal)?;
    let body: ResolveBody = json_body(&req)?;
    let missing = || ApiError::not_found("drift item");
    let run = shared::domain::ids::parse_id(&path_param(&req, "id")?).ok_or_else(missing)?;
    let id = drift::parse_item_id(&path_param(&req, "item_id")?).ok_or_else(missing)?;
    let item = app.store.get_drift_item(&run, &id).await?.ok_or_else(|| ApiError::not_found("drift item"))?;
    if let Some(done) = &item.resolution {
        return if done.action == body.action {
            Reply::ok(views::drift_item(&item))
        } else {
            Err(ApiError::Conflict(format!("the item was resolved with {} already", done.action)))
        };
    }
    let reason = match body.action.as_str() {
        "ignore" => Some(reason(body.reason)?),
        "apply_billing" | "accept_panel" => None,
        "adopt" => return adopt(app, &principal, item, body).await,
        other => {
            return Err(ApiError::BadRequest(format!(
                "action must be apply_billing, adopt, accept_panel or ignore, not {other:?}"
            )))
        }
    };
    let now = app.clock.now();
    let actor = Actor::from(&principal);
    let resolution =
        Resolution { action: body.action.clone(), by: actor.id.clone(), at: now, reason, service_id: None };
    let resolved = DriftItem { resolution: Some(resolution.clone()), ..item.clone() };
    let mut batch = app.store.batch();
    let mut queued = None;
    match &item.service_id {
        Some(service_id) => {
            let read = app.store.service_with_rules(service_id, None).await?;
            let service = read.service.ok_or_else(|| ApiError::not_found("service"))?;
            let change = match body.action.as_str() {
                "ignore" => service.resolve_drift(&item, &resolution, &actor),
                _ if !as_found(&service, &item) => {
                    return Err(ApiError::Conflict(
                        "the service changed since the reconciliation found this: run one again".into(),
                    ))
                }
                "apply_billing" => service.resync(&item, &actor, now)?,
                _ => service.accept_panel(&item, &actor, now)?,
            };
            VisibleService { service: service.clone(), account: None, rules: read.rules }
                .ensure_panel_for(&change)?;
            add_change(&mut batch, &change)?;
            queued = Some(change);
        }
        None if body.action != "ignore" => {
            return Err(ApiError::Unprocessable(
                "an account of no service of ours: adopt it, or ignore it and remove it on the panel".into(),
            ))
        }
        None => {}
    }
    match app.store.resolve_drift(&resolved, batch).await {
        Err(StoreError::ConditionFailed) => {
            Err(ApiError::Conflict("the item or its service changed meanwhile; try again".into()))
        }
        other => other.map_err(ApiError::from),
    }?;
    if let Some(change) = &queued {
        enqueue(app, &[change]).await?;
    }
    Reply::ok(views::drift_item(&resolved))
}

/// Whether the service is as the run left it: one version past the one it found (the run's
/// mark), so nothing changed since, not even by a later run.
fn as_found(service: &shared::domain::Service, item: &DriftItem) -> bool {
    item.billing["version"].as_u64().and_then(|v| v.checked_add(1)) == Some(service.version)
}

/// `adopt`: the orphan account made a service of the client the provider names, linked on the
/// panel to its id first (so that the next run finds them in step), then written with the
/// item resolved: one transaction. Nothing is charged, no operation runs, no e-mail is sent.
async fn adopt(
    app: &App,
    principal: &Principal,
    item: DriftItem,
    body: ResolveBody,
) -> Result<Reply, ApiError> {
    let required = |name: &str| ApiError::BadRequest(format!("adopt needs {name}"));
    let client_id = body.client_id.ok_or_else(|| required("client_id"))?;
    let terms = Terms {
        client_id: ClientId::parse(&client_id)
            .ok_or_else(|| ApiError::BadRequest("client_id is not a client id".into()))?,
        expires_at: body.expires_at.ok_or_else(|| required("expires_at"))?,
        renewal_price: body.renewal_price.ok_or_else(|| required("renewal_price"))?,
        period_months: body.period_months.unwrap_or(1),
    };
    let tariff_id = body.tariff_id.ok_or_else(|| required("tariff_id"))?;
    let tariff_id =
        TariffId::parse(&tariff_id).ok_or_else(|| ApiError::Unprocessable("no such tariff".into()))?;
    let tariff = app
        .store
        .get_tariff(&tariff_id)
        .await?
        .ok_or_else(|| ApiError::Unprocessable("no such tariff".into()))?;
    let now = app.clock.now();
    let actor = Actor::from(principal);
    let (service, entry) = adoption::adopt(&item, &terms, &tariff, &actor, now)?;
    let rules = app.store.product_type_rules(item.product_type).await?;
    let panel_url = shared::domain::catalog::panel_of(rules.as_ref(), item.product_type)?;
    let account = item.account_id.as_deref().unwrap_or_default();
    let link = SettingsCall::put(format!("accounts/{}", segment(account)), json!({"service_id": service.id}));
    match app.panel.settings(panel_url, &link).await {
        Ok(SettingsAnswer::Done(_)) => {}
        Ok(_) => return Err(ApiError::Conflict("the panel no longer holds the account".into())),
        Err(e) => return Err(ApiError::BadGateway(e.to_string())),
    }
    let resolution = Resolution {
        action: "adopt".into(),
        by: actor.id.clone(),
        at: now,
        reason: None,
        service_id: Some(service.id.clone()),
    };
    let resolved = DriftItem { resolution: Some(resolution), ..item };
    let mut batch = app.store.batch();
    batch.service(&service)?.history(&service, &entry)?;
    match app.store.resolve_drift(&resolved, batch).await {
        Err(StoreError::ConditionFailed) => Err(ApiError::Conflict("the item was resolved meanwhile".into())),
        other => other.map_err(ApiError::from),
    }?;
    Reply::ok(views::drift_item(&resolved))
}

fn reason(reason: Option<String>) -> Result<String, ApiError> {
    let reason = reason.map(|r| r.trim().to_owned()).unwrap_or_default();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS || reason.chars().any(char::is_control)
    {
        return Err(ApiError::BadRequest(format!(
            "ignore needs a reason of 1 to {MAX_REASON_CHARS} characters on one line"
        )));
    }
    Ok(reason)
}
