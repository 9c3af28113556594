//! The application layer of the lifecycle: load what a decision needs, let the domain decide,
//! write the outcome (service, history, money) in one transaction, then queue the work.

use crate::app::App;
use crate::domain::account::{Account, LedgerEntry, LedgerKind};
use crate::domain::catalog::{operable, panel_of, RulesByType};
use crate::domain::history::Actor;
use crate::domain::lifecycle::{Change, Refusal};
use crate::domain::quote::Quote;
use crate::domain::{ClientId, Principal, ProductTypeRules, Service, Timestamp};
use crate::error::ApiError;
use crate::http::{dry_run, if_match, service_id_in_path, Reply};
use crate::queue::OperationMessage;
use crate::store::batch::Batch;
use crate::store::StoreError;
use crate::views;
use lambda_http::Request;

/// Money a change moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Money {
    None,
    /// Charge the client this much (402 when the balance is short).
    Charge(LedgerKind, u64),
    /// Give the client this much back: what was charged for work that failed.
    Refund(u64),
    /// Credit the client this much: the unused part of what a change gave up.
    Credit(u64),
}

/// The tariff a service is on.
pub async fn tariff_of(app: &App, service: &Service) -> Result<crate::domain::Tariff, ApiError> {
    app.store
        .get_tariff(&service.tariff_id)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("service {} is on a missing tariff", service.id)))
}

/// The client's account; a client that never paid has an empty one.
pub async fn account(app: &App, client: &ClientId) -> Result<Account, ApiError> {
    Ok(app.store.get_account(client).await?.unwrap_or_else(|| Account::open(client.clone())))
}

/// The client's account: `read` when it was read already, else read now.
pub async fn account_as_read(
    app: &App,
    client: &ClientId,
    read: Option<Account>,
) -> Result<Account, ApiError> {
    match read {
        Some(account) => Ok(account),
        None => account(app, client).await,
    }
}

/// The client's account (empty if it never paid) and every product type's rules as they are
/// now, in one read.
pub async fn account_with_rules(app: &App, client: &ClientId) -> Result<(Account, RulesByType), ApiError> {
    let (account, rules) = app.store.account_with_rules(client).await?;
    Ok((account.unwrap_or_else(|| Account::open(client.clone())), rules))
}

/// The service a request names, as one read brings it with what a decision on it needs.
#[derive(Debug, Clone)]
pub struct VisibleService {
    pub service: Service,
    /// Its client's account, read with it for a client's request (a service a client sees is
    /// its own). A provider's write reads the account later, and only if it moves money.
    pub account: Option<Account>,
    /// Its product type's rules as they are now (`None` when none are set).
    pub rules: Option<ProductTypeRules>,
}

impl VisibleService {
    /// Its product type's rules (409 naming the type when none are set).
    pub fn rules(&self) -> Result<&ProductTypeRules, ApiError> {
        let product_type = self.service.product_type;
        self.rules.as_ref().ok_or_else(|| {
            ApiError::Conflict(format!("the {} product type has no rules set", product_type.as_str()))
        })
    }

    /// Where its product type's control panel is (409 naming the type when none is set).
    pub fn panel_url(&self) -> Result<&str, ApiError> {
        Ok(panel_of(self.rules.as_ref(), self.service.product_type)?)
    }

    /// With its product type's rules as they are now, when `change` starts an operation and
    /// they were not read with the service (an edit that completes a quick order's
    /// configuration starts its activation): one more read, for that change only.
    pub async fn with_rules_for(self, app: &App, change: &Change) -> Result<Self, ApiError> {
        if self.rules.is_some() || change.queued.is_none() {
            return Ok(self);
        }
        let rules = app.store.product_type_rules(self.service.product_type).await?;
        Ok(Self { rules, ..self })
    }

    /// Refuses `change` when it starts an operation, which the worker carries out on the
    /// control panel (or at the certificate authority), and its product type has neither (409
    /// naming the type): before anything is charged, written or queued.
    pub fn ensure_panel_for(&self, change: &Change) -> Result<(), ApiError> {
        match change.queued {
            Some(_) => Ok(operable(self.rules.as_ref(), self.service.product_type)?),
            None => Ok(()),
        }
    }
}

/// The service named in the path, if the principal sees it, with its product type's rules as
/// they are now and, for a client, its account: one read.
pub async fn load_visible_service(
    app: &App,
    principal: &Principal,
    req: &Request,
) -> Result<VisibleService, ApiError> {
    let client = (!principal.is_provider()).then_some(&principal.id);
    let read = app.store.service_with_rules(&service_id_in_path(req)?, client).await?;
    let service =
        read.service.filter(|s| s.visible_to(principal)).ok_or_else(|| ApiError::not_found("service"))?;
    let account = client.map(|client| read.account.unwrap_or_else(|| Account::open(client.clone())));
    Ok(VisibleService { service, account, rules: read.rules })
}

/// The service named in the path, if the principal sees it, alone: one GetItem, for a read or
/// for a change decided without its product type's rules that moves no money (an edit). Its answer's
/// `allowed_actions` show the rules as a list shows them (read in the last 10 seconds).
pub async fn load_visible_service_alone(
    app: &App,
    principal: &Principal,
    req: &Request,
) -> Result<VisibleService, ApiError> {
    let service = app.store.get_service(&service_id_in_path(req)?).await?;
    let service =
        service.filter(|s| s.visible_to(principal)).ok_or_else(|| ApiError::not_found("service"))?;
    Ok(VisibleService { service, account: None, rules: None })
}

/// Applies `money` to the account: the account as it should be written, with its entries.
pub fn move_money(
    mut account: Account,
    money: Money,
    service: &Service,
    at: Timestamp,
) -> Result<Option<(Account, Vec<LedgerEntry>)>, ApiError> {
    let entry = match money {
        Money::None | Money::Charge(_, 0) | Money::Refund(0) | Money::Credit(0) => return Ok(None),
        Money::Charge(kind, amount) => account.charge(kind, amount, Some(&service.id), at)?,
        Money::Refund(amount) | Money::Credit(amount) => {
            account.credit(LedgerKind::Refund, amount, Some(&service.id), at)
        }
    };
    account.version += 1;
    Ok(Some((account, vec![entry])))
}

/// Adds a change (service and history) to a batch.
pub fn add_change(batch: &mut Batch, change: &Change) -> Result<(), ApiError> {
    batch.service(&change.service)?.history(&change.service, &change.entry)?;
    Ok(())
}

/// Queues the work the changes started. The changes are stored first: a message always finds
/// its operation, and the worker ignores one whose operation is over; a message that cannot be
/// sent is left to `operations-sweep`.
pub async fn enqueue(app: &App, changes: &[&Change]) -> Result<(), ApiError> {
    let messages: Vec<OperationMessage> = changes
        .iter()
        .filter_map(|c| {
            c.queued.as_ref().map(|operation_id| OperationMessage {
                service_id: c.service.id.to_string(),
                operation_id: operation_id.clone(),
                product_type: Some(c.service.product_type),
            })
        })
        .collect();
    if !messages.is_empty() {
        // The changes are committed, and the answer stands: a message SQS would not take is
        // sent by `operations-sweep` once its operation has stalled.
        if let Err(error) = app.queue()?.send(&messages).await {
            tracing::warn!(%error, "work committed but not queued: operations-sweep will queue it");
        }
    }
    Ok(())
}

/// One operation on the service named in the path: the principal must see it, an `If-Match`
/// must name its version; `decide` answers the change and the money it moves.
pub async fn operate<F>(app: &App, principal: &Principal, req: &Request, decide: F) -> Result<Reply, ApiError>
where
    F: FnOnce(&Service, &Actor, Timestamp) -> Result<(Change, Money), Refusal>,
{
    let target = load_visible_service(app, principal, req).await?;
    write_decision(app, principal, req, target, decide).await
}

/// As `operate`, for decisions that follow the service's product type rules.
pub async fn operate_by_rules<F>(
    app: &App,
    principal: &Principal,
    req: &Request,
    decide: F,
) -> Result<Reply, ApiError>
where
    F: FnOnce(&Service, &ProductTypeRules, &Actor, Timestamp) -> Result<(Change, Money), Refusal>,
{
    let target = load_visible_service(app, principal, req).await?;
    let rules = target.rules()?.clone();
    write_decision(app, principal, req, target, |s, actor, now| decide(s, &rules, actor, now)).await
}

/// Decides on an already loaded service (see `operate`) and writes the outcome. A change that
/// needs the control panel is refused when its product type has none.
pub async fn write_decision<F>(
    app: &App,
    principal: &Principal,
    req: &Request,
    target: VisibleService,
    decide: F,
) -> Result<Reply, ApiError>
where
    F: FnOnce(&Service, &Actor, Timestamp) -> Result<(Change, Money), Refusal>,
{
    let expected = if_match(req)?;
    if expected.is_some_and(|v| v != target.service.version) {
        return Err(ApiError::PreconditionFailed(format!(
            "the service is at version {}, not the one If-Match names",
            target.service.version
        )));
    }
    let now = app.clock.now();
    let (change, money) = decide(&target.service, &Actor::from(principal), now)?;
    let target = target.with_rules_for(app, &change).await?;
    target.ensure_panel_for(&change)?;
    if dry_run(req)? {
        return quote(app, &target.service, &change, money, now, target.account).await;
    }
    match apply_to_account(app, &change, money, target.account).await {
        Err(ApiError::Conflict(_)) if expected.is_some() => {
            Err(ApiError::PreconditionFailed("the service changed meanwhile".into()))
        }
        Err(e) => Err(e),
        Ok(()) => {
            let answer =
                views::service_answer(app, &change.service, principal, target.rules.as_ref()).await?;
            Ok(Reply::ok(answer)?.versioned(change.service.version))
        }
    }
}

/// What writing `change` of `service` would do, against the client's balance now; written
/// nowhere. The same 402 as the real call when the balance is short.
async fn quote(
    app: &App,
    service: &Service,
    change: &Change,
    money: Money,
    now: Timestamp,
    read: Option<Account>,
) -> Result<Reply, ApiError> {
    let charged = match money {
        Money::Charge(_, amount) => amount,
        _ => 0,
    };
    let balance = account_as_read(app, &service.client_id, read).await?.balance;
    let line = crate::domain::quote::line(service, change, charged, now);
    Reply::ok(Quote::new(vec![line], &[change], balance, now)?)
}

/// Writes a change with the money it moves in one transaction (409 when the service or the
/// account changed since they were read), then queues its work.
pub async fn apply(app: &App, change: &Change, money: Money) -> Result<(), ApiError> {
    apply_to_account(app, change, money, None).await
}

/// As `apply`, with the client's account as already read (when the caller had to read it).
pub async fn apply_to_account(
    app: &App,
    change: &Change,
    money: Money,
    read: Option<Account>,
) -> Result<(), ApiError> {
    let mut batch = app.store.batch();
    add_change(&mut batch, change)?;
    if money != Money::None {
        let account = account_as_read(app, &change.service.client_id, read).await?;
        if let Some((account, entries)) = move_money(account, money, &change.service, change.entry.at)? {
            batch.account(&account, &entries)?;
        }
    }
    match app.store.commit(batch).await {
        Err(StoreError::ConditionFailed) => {
            return Err(ApiError::Conflict("the service or its account changed meanwhile; try again".into()))
        }
        other => other?,
    }
    enqueue(app, &[change]).await
}
