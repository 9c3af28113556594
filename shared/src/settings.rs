//! The application layer of the per-type settings (see `domain::settings`): find the service
//! and its control panel, ask the panel, and record what changed there in the service's
//! history (with any money) in one transaction.

use crate::app::App;
use crate::domain::account::{Account, LedgerKind};
use crate::domain::history::Actor;
use crate::domain::lifecycle::{Change, Refusal};
use crate::domain::settings::{AddressMove, Setting};
use crate::domain::{Principal, Service, Timestamp};
use crate::error::ApiError;
use crate::idempotency::{self, PanelChange};
use crate::operations::{account_as_read, apply_to_account, load_visible_service, move_money, Money};
use crate::panel::{ProcessingModule, SettingsAnswer, SettingsCall};
use lambda_http::Request;
use serde::de::DeserializeOwned;

/// A service whose setting a request reaches, with its product type's panel.
pub struct Target {
    pub service: Service,
    /// Its client's account when it was read with the service (a client's request).
    pub account: Option<Account>,
    pub panel_url: String,
    pub actor: Actor,
}

impl Target {
    /// The service named in the path, if the principal sees it, its type has `setting` and it
    /// is active (404, 409 otherwise).
    pub async fn load(
        app: &App,
        principal: &Principal,
        req: &Request,
        setting: Setting,
    ) -> Result<Self, ApiError> {
        let target = load_visible_service(app, principal, req).await?;
        target.service.ensure_setting(setting)?;
        let panel_url = target.panel_url()?.to_owned();
        Ok(Self {
            service: target.service,
            account: target.account,
            panel_url,
            actor: Actor::from(principal),
        })
    }

    /// The panel path of one of this service's settings (`rest` already escaped).
    pub fn path(&self, rest: &str) -> String {
        format!("services/{}/{rest}", self.service.id)
    }

    pub async fn ask(&self, app: &App, call: &SettingsCall) -> Result<SettingsAnswer, ApiError> {
        ask(app, &self.panel_url, call).await
    }
}

/// Asks a panel; no answer is a 502. A change is `PanelChange::Made` from the moment it is
/// sent: made, or cut short with no answer (the panel may have made it, and the request's
/// deadline may end it mid-call), the request's key is kept for its retry, which asks again
/// under the same request id and is answered what the panel did. Only an answer that says
/// nothing changed (a refusal, a 404) puts back what was before.
pub async fn ask(app: &App, panel_url: &str, call: &SettingsCall) -> Result<SettingsAnswer, ApiError> {
    let change = call.method != reqwest::Method::GET;
    let before = idempotency::panel_change();
    if change {
        idempotency::set_panel_change(PanelChange::Made);
    }
    let answer = app.panel.settings(panel_url, call).await;
    let unchanged = match &answer {
        Ok(SettingsAnswer::Done(_)) => false,
        Ok(SettingsAnswer::NotFound | SettingsAnswer::NoResources) => true,
        Err(e) => !e.unanswered(),
    };
    if change && unchanged {
        idempotency::set_panel_change(before);
    }
    answer.map_err(|e| {
        tracing::warn!(error = %e, path = %call.path, "control panel call failed");
        ApiError::BadGateway("the control panel did not answer; try again later".into())
    })
}

/// Gives back on the panel a change `record` could not record (`undo`, an address or server
/// made by this request), so that it is not kept unpaid; answers `error`, the reason. Once
/// given back, the request's key is released (`PanelChange::Undone`): its retry makes the
/// change anew rather than be answered the one given back.
pub async fn give_back(
    app: &App,
    target: &Target,
    undo: SettingsCall,
    what: &str,
    error: ApiError,
) -> ApiError {
    match target.ask(app, &undo).await {
        Ok(_) => idempotency::set_panel_change(PanelChange::Undone),
        Err(e) => tracing::error!(%what, error = %e, "an unrecorded change stays on the panel"),
    }
    error
}

/// The body of an answer that can only be `Done`, read as `T`.
pub fn done<T: DeserializeOwned>(answer: SettingsAnswer) -> Result<T, ApiError> {
    let unexpected = |what: String| {
        tracing::warn!(answer = %what, "unexpected control panel answer");
        ApiError::BadGateway("the control panel answered something unexpected".into())
    };
    match answer {
        SettingsAnswer::Done(body) => {
            serde_json::from_value(body.clone()).map_err(|_| unexpected(body.to_string()))
        }
        other => Err(unexpected(format!("{other:?}"))),
    }
}

/// A balance check before a chargeable change is made on the panel: 402 when it cannot be paid.
pub async fn ensure_affordable(app: &App, target: &Target, money: Money) -> Result<(), ApiError> {
    let service = &target.service;
    let account = account_as_read(app, &service.client_id, target.account.clone()).await?;
    // The same rule (and 402) as the write: the money moved on the account as read, then dropped.
    move_money(account, money, service, app.clock.now())?;
    Ok(())
}

/// How often a change already made on the panel is recorded again over a service that changed
/// meanwhile.
const RECORD_ATTEMPTS: usize = 3;

/// Records a change made on the panel: `decide` answers the change and its money for the
/// service as it now is, written in one transaction. The panel's change is done, so when the
/// service (or its account) changed meanwhile both are read again and the change recorded over
/// them.
pub async fn record<F>(app: &App, target: &Target, decide: F) -> Result<Change, ApiError>
where
    F: Fn(&Service, Timestamp) -> Result<(Change, Money), Refusal>,
{
    let (mut service, mut account) = (target.service.clone(), target.account.clone());
    for _ in 0..RECORD_ATTEMPTS {
        // Never over a running operation (one may have started since the first read): it would
        // finish with the options it read before this change.
        service.ensure_idle("change the settings of")?;
        let (change, money) = decide(&service, app.clock.now())?;
        match apply_to_account(app, &change, money, account.take()).await {
            Err(ApiError::Conflict(_)) => {
                service = app
                    .store
                    .get_service(&service.id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("service"))?;
            }
            other => return other.map(|()| change),
        }
    }
    Err(ApiError::Conflict("the service kept changing; try again".into()))
}

/// A list as the panel and this API give it: `{items: [...]}`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// The money an address moves: its option's charge, or credit, for the days left.
pub fn address_money(moved: Option<&AddressMove>) -> Money {
    match moved.map(|m| m.amount) {
        Some(amount) if amount > 0 => Money::Charge(LedgerKind::Options, amount as u64),
        Some(amount) if amount < 0 => Money::Credit(amount.unsigned_abs()),
        _ => Money::None,
    }
}

/// A domain's nameservers, on the wire and at the panel.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nameservers {
    pub nameservers: Vec<String>,
}

/// A domain's whois contact, on the wire and at the panel; null until set.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Whois {
    pub registrant: Option<crate::domain::settings::Registrant>,
}
