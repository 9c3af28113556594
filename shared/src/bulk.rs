//! Bulk operations (`domain::bulk` decides; this module reads and writes).
//!
//! - **Drafted**: the services a filter (or a list of ids) names are frozen in order, each with
//!   what its operation would do now: the quote, or the refusal its own route would answer
//!   (the clients' balances spent in order, so that a client's tenth renewal is refused when
//!   its balance covers nine).
//! - **Approved**: by one provider, or two different ones when `BULK_APPROVALS` is 2.
//! - **Carried on**: a service at a time, each the ordinary change its own route writes (the
//!   service, its history entry naming the bulk operation, the money) in one transaction with
//!   the service's place in the bulk operation, then queued to the worker as any operation.
//!   Never more than `concurrency` operations of bulk operations are under way on one panel,
//!   counting every bulk operation there: each holds a place on the panel's record while under
//!   way. The next service waits until the worker has ended one (the worker carries the bulk
//!   operation on when it does, and the bulk operations waiting for that panel; the
//!   `carry-on-bulk-operations` job does every minute, after a crash). A bulk operation refused
//!   a place waits its turn: the next place goes to one that waits. A service that changed since
//!   the preview is refused at its turn if its quote changed.

use crate::budget::Budget;
use crate::domain::account::{Account, LedgerKind};
use crate::domain::bulk::{
    BulkAction, BulkItem, BulkOperation, BulkStatus, Counts, Filter, InFlight, ItemQuote, ItemRefusal,
    ItemState, Totals, MAX_SERVICES,
};
use crate::domain::catalog::RulesByType;
use crate::domain::history::Actor;
use crate::domain::lifecycle::Change;
use crate::domain::{
    ClientId, Principal, ProductTypeRules, Role, Service, ServiceId, Tariff, TariffId, Timestamp,
};
use crate::error::ApiError;
use crate::operations::{add_change, enqueue, move_money, Money};
use crate::store::services::ServiceFilter;
use crate::store::{PageRequest, StoreError};
use crate::App;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Which services a draft takes.
#[derive(Debug, Clone)]
pub enum Selection {
    Filter(Filter),
    Ids(Vec<ServiceId>),
}

/// What a draft is asked to do, as the request gave it.
#[derive(Debug, Clone)]
pub struct DraftRequest {
    pub action: BulkAction,
    pub selection: Selection,
}

/// What a decision on one service needs beside the service: read once per draft or turn.
#[derive(Default)]
struct Context {
    rules: RulesByType,
    tariffs: HashMap<TariffId, Tariff>,
    accounts: HashMap<ClientId, Account>,
}

impl Context {
    async fn tariff(&mut self, app: &App, id: &TariffId) -> Result<Option<Tariff>, ApiError> {
        if !self.tariffs.contains_key(id) {
            match app.store.get_tariff(id).await? {
                Some(tariff) => self.tariffs.insert(id.clone(), tariff),
                None => return Ok(None),
            };
        }
        Ok(self.tariffs.get(id).cloned())
    }

    async fn account(&mut self, app: &App, client: &ClientId) -> Result<Account, ApiError> {
        if !self.accounts.contains_key(client) {
            let account = crate::operations::account(app, client).await?;
            self.accounts.insert(client.clone(), account);
        }
        Ok(self.accounts[client].clone())
    }
}

/// Drafts a bulk operation: 422 when it asks what no service could be given (a price change
/// sooner than the notice period, a tariff that is not there) or names more than
/// `MAX_SERVICES` services.
pub async fn create(app: &App, request: DraftRequest, by: &Principal) -> Result<BulkOperation, ApiError> {
    let now = app.clock.now();
    let mut context = Context {
        rules: crate::domain::catalog::RulesByType::new(app.store.list_product_types().await?),
        ..Context::default()
    };
    check_action(app, &mut context, &request.action, now).await?;
    let services = select(app, &request.selection).await?;
    let id = crate::domain::ids::next_id();
    let actor = Actor::from(by);
    let mut totals = Totals::default();
    let mut items = Vec::with_capacity(services.len());
    for (seq, service) in services.into_iter().enumerate() {
        let (quote, refusal) =
            match preview(app, &mut context, &request.action, &service, &actor, &id, now).await? {
                Ok(quote) => (Some(quote), None),
                Err(refusal) => (None, Some(refusal)),
            };
        let item = BulkItem {
            seq: seq as u32,
            service_id: service.id.clone(),
            client_id: service.client_id.clone(),
            product_type: service.product_type,
            version: service.version,
            quote,
            refusal,
            state: ItemState::Pending,
            reason: None,
            operation_id: None,
            finished_at: None,
        };
        totals.add(&item);
        items.push(item);
    }
    let (filter, named_ids) = match request.selection {
        Selection::Filter(filter) => (Some(filter), false),
        Selection::Ids(_) => (None, true),
    };
    let bulk = BulkOperation {
        id,
        action: request.action,
        filter,
        named_ids,
        status: BulkStatus::Draft,
        created_by: by.id.to_string(),
        created_at: now,
        approvals: Vec::new(),
        approvals_needed: app.settings.bulk_approvals,
        concurrency: app.settings.bulk_panel_concurrency,
        totals,
        counts: Counts::default(),
        cursor: 0,
        in_flight: Vec::new(),
        finished_at: None,
        version: 1,
    };
    app.store.put_bulk_draft(&bulk, &items).await?;
    Ok(bulk)
}

/// Refuses what no service could be given.
async fn check_action(
    app: &App,
    context: &mut Context,
    action: &BulkAction,
    now: Timestamp,
) -> Result<(), ApiError> {
    match action {
        BulkAction::SetRenewalPrice { price, from } => {
            price.check().map_err(ApiError::Unprocessable)?;
            short_notice(app, *from, now).map_err(ApiError::Unprocessable)?;
            if !from.is_storable() {
                return Err(ApiError::Unprocessable("from is too far ahead".into()));
            }
        }
        BulkAction::ChangeTariff { tariff_id } => {
            let found = context.tariff(app, tariff_id).await?;
            found.ok_or_else(|| ApiError::Unprocessable(format!("no tariff `{tariff_id}`")))?;
        }
        BulkAction::Renew { periods }
            if !(1..=crate::domain::lifecycle::MAX_RENEW_PERIODS).contains(periods) =>
        {
            return Err(ApiError::Unprocessable(format!(
                "periods must be 1 to {}",
                crate::domain::lifecycle::MAX_RENEW_PERIODS
            )));
        }
        _ => {}
    }
    Ok(())
}

/// Why a renewal price from `from` gives clients too short a notice at `now`, if it does
/// (`PRICE_NOTICE_DAYS`).
fn short_notice(app: &App, from: Timestamp, now: Timestamp) -> Result<(), String> {
    let days = i64::from(app.settings.price_notice_days);
    let earliest = now.plus_seconds(days * 86_400);
    if from < earliest {
        return Err(format!(
            "from must be at least {days} days ahead (the notice clients are given): {earliest} or later"
        ));
    }
    Ok(())
}

/// The services a selection names, in order (each once): 422 past `MAX_SERVICES`, or for an
/// id that names no service.
async fn select(app: &App, selection: &Selection) -> Result<Vec<Service>, ApiError> {
    let too_many = || {
        ApiError::Unprocessable(format!(
            "a bulk operation takes at most {MAX_SERVICES} services: narrow the filter"
        ))
    };
    match selection {
        Selection::Ids(ids) => {
            if ids.len() > MAX_SERVICES {
                return Err(too_many());
            }
            let mut unique = Vec::new();
            for id in ids {
                if !unique.contains(id) {
                    unique.push(id.clone());
                }
            }
            let mut services = Vec::with_capacity(unique.len());
            for chunk in unique.chunks(100) {
                for (id, found) in chunk.iter().zip(app.store.services_now(chunk).await?) {
                    services
                        .push(found.ok_or_else(|| ApiError::Unprocessable(format!("no service `{id}`")))?);
                }
            }
            Ok(services)
        }
        Selection::Filter(filter) => {
            let mut services = matching(app, filter, MAX_SERVICES + 1).await?;
            if services.len() > MAX_SERVICES {
                return Err(too_many());
            }
            // Oldest first: the order they were ordered in.
            services.reverse();
            Ok(services)
        }
    }
}

/// Up to `limit` services the filter names, newest first (as `GET /services` lists them).
async fn matching(app: &App, filter: &Filter, limit: usize) -> Result<Vec<Service>, ApiError> {
    let keep = |s: &Service| {
        filter.product_type.is_none_or(|t| s.product_type == t)
            && filter.status.is_none_or(|st| s.status == st)
            && filter.client_id.as_ref().is_none_or(|c| &s.client_id == c)
            && filter.tariff_id.as_ref().is_none_or(|t| &s.tariff_id == t)
    };
    if let Some(due) = &filter.due {
        let due = crate::sweeps::Due::parse(due)
            .ok_or_else(|| ApiError::Unprocessable("filter.due must be renewal or deletion".into()))?;
        if filter.needs_attention {
            return Err(ApiError::Unprocessable("filter.due goes without needs_attention".into()));
        }
        let before = filter.before.unwrap_or_else(|| app.clock.now());
        // Every type's due services, read past the limit: the filter's own narrowing comes after.
        let read = limit.saturating_mul(20);
        let found = crate::sweeps::due_services(app, due, before, read).await?;
        if found.len() >= read {
            return Err(ApiError::Unprocessable(format!(
                "more than {read} services are due by then: narrow the filter (before)"
            )));
        }
        let mut services: Vec<Service> = found.into_iter().map(|(_, s)| s).filter(keep).collect();
        // Soonest first is the order they are due in: kept as such (reversed by the caller).
        services.reverse();
        return Ok(services);
    }
    if filter.before.is_some() {
        return Err(ApiError::Unprocessable("filter.before goes with filter.due".into()));
    }
    let store_filter = ServiceFilter {
        owner: filter.client_id.clone(),
        product_type: filter.product_type,
        status: filter.status,
        // Deleted services only when the filter asks for them.
        hide_deleted: filter.status != Some(crate::domain::Status::Deleted),
    };
    let mut services = Vec::new();
    if filter.needs_attention {
        let mut after = None;
        loop {
            let page = app
                .store
                .services_needing_attention(&store_filter, PageRequest { limit: 100, after })
                .await?;
            services.extend(page.items.into_iter().filter(|s| keep(s)));
            match page.next {
                Some(next) if services.len() < limit => after = Some(next),
                _ => break,
            }
        }
    } else {
        let mut after = None;
        loop {
            let page = app.store.list_services(&store_filter, PageRequest { limit: 100, after }).await?;
            services.extend(page.items.into_iter().filter(|s| keep(s)));
            match page.next {
                Some(next) if services.len() < limit => after = Some(next),
                _ => break,
            }
        }
    }
    services.truncate(limit);
    Ok(services)
}

/// What the operation would do to `service` now: its quote, or the refusal its route answers.
async fn preview(
    app: &App,
    context: &mut Context,
    action: &BulkAction,
    service: &Service,
    actor: &Actor,
    bulk_id: &str,
    now: Timestamp,
) -> Result<Result<ItemQuote, ItemRefusal>, ApiError> {
    let decided = decide(app, context, action, service, actor, bulk_id, now).await?;
    let (change, money) = match decided {
        Ok(decided) => decided,
        Err(refusal) => return Ok(Err(refusal)),
    };
    // The balance as the earlier services of the same client leave it.
    let account = context.account(app, &service.client_id).await?;
    match move_money(account, money, service, now) {
        Ok(Some((account, _))) => {
            context.accounts.insert(service.client_id.clone(), account);
        }
        Ok(None) => {}
        Err(error) => return Ok(Err(refusal_of(&error))),
    }
    Ok(Ok(quote_of(&change, money, now)))
}

fn refusal_of(error: &ApiError) -> ItemRefusal {
    ItemRefusal { status: error.status().as_u16(), detail: error.to_string() }
}

/// What a change and its money come to: charged now, credited (now or once done), and the
/// service once done.
fn quote_of(change: &Change, money: Money, now: Timestamp) -> ItemQuote {
    let done = crate::domain::quote::when_done(change, now);
    let work_credit = change.service.pending.as_ref().map_or(0, |p| p.work.credit());
    let (charge, credit) = match money {
        Money::Charge(_, amount) => (amount, work_credit),
        Money::Refund(amount) | Money::Credit(amount) => (0, amount.saturating_add(work_credit)),
        Money::None => (0, work_credit),
    };
    let renewal_price = done.price_change.as_ref().map_or(done.renewal_price, |p| p.renewal_price);
    ItemQuote { charge, credit, renewal_price, status: done.status, expires_at: done.expires_at }
}

/// The change `action` makes to `service`, as its own route decides it (the same refusals),
/// naming the bulk operation in its history entry and its pending operation.
async fn decide(
    app: &App,
    context: &mut Context,
    action: &BulkAction,
    service: &Service,
    actor: &Actor,
    bulk_id: &str,
    now: Timestamp,
) -> Result<Result<(Change, Money), ItemRefusal>, ApiError> {
    let rules = context.rules.get(service.product_type).cloned();
    let decided = match decide_with(app, context, action, service, rules.as_ref(), actor, now).await {
        // The table not answering now: tried again, never the service's refusal.
        Err(ApiError::Unavailable(why)) => return Err(ApiError::Unavailable(why)),
        Err(error) => return Ok(Err(refusal_of(&error))),
        Ok(decided) => decided,
    };
    let (mut change, money) = decided;
    if change.queued.is_some() {
        if let Err(no_panel) = crate::domain::catalog::operable(rules.as_ref(), service.product_type) {
            return Ok(Err(refusal_of(&ApiError::from(no_panel))));
        }
    }
    change.entry.details["bulk_operation_id"] = serde_json::json!(bulk_id);
    if let Some(pending) = change.service.pending.as_mut() {
        pending.bulk_operation_id = Some(bulk_id.to_owned());
    }
    if let Some(price_change) = change
        .service
        .price_change
        .as_mut()
        .filter(|_| change.entry.operation == crate::domain::Action::PriceChange)
    {
        price_change.bulk_operation_id = Some(bulk_id.to_owned());
    }
    Ok(Ok((change, money)))
}

async fn decide_with(
    app: &App,
    context: &mut Context,
    action: &BulkAction,
    service: &Service,
    rules: Option<&ProductTypeRules>,
    actor: &Actor,
    now: Timestamp,
) -> Result<(Change, Money), ApiError> {
    let no_rules =
        || ApiError::Conflict(format!("the {} product type has no rules set", service.product_type.as_str()));
    Ok(match action {
        BulkAction::Disable { reason } => {
            let rules = rules.ok_or_else(no_rules)?;
            (service.disable(actor, rules, reason.as_deref(), now)?, Money::None)
        }
        BulkAction::Enable => (service.enable(actor, now)?, Money::None),
        BulkAction::Renew { periods } => {
            let change = service.renew(*periods, actor, now)?;
            let charged = change.charged();
            (change, Money::Charge(LedgerKind::Renewal, charged))
        }
        BulkAction::ChangeTariff { tariff_id } => {
            let no_tariff = || ApiError::Unprocessable(format!("no tariff `{tariff_id}`"));
            let missing = || ApiError::Internal(format!("service {} is on a missing tariff", service.id));
            let from = context.tariff(app, &service.tariff_id).await?.ok_or_else(missing)?;
            let to = context.tariff(app, tariff_id).await?.ok_or_else(no_tariff)?;
            let (change, charge) = service.change_tariff(&from, &to, actor, now)?;
            (change, Money::Charge(LedgerKind::TariffChange, charge))
        }
        BulkAction::SetRenewalPrice { price, from } => {
            (service.schedule_renewal_price(*price, *from, actor, now)?, Money::None)
        }
        BulkAction::Transfer { product_type } => {
            if service.product_type != *product_type {
                return Err(ApiError::Conflict(format!(
                    "this transfer moves {} services; this one is {}",
                    product_type.as_str(),
                    service.product_type.as_str()
                )));
            }
            (service.transfer(actor, now)?, Money::None)
        }
        BulkAction::Delete => {
            let rules = rules.ok_or_else(no_rules)?;
            let (change, refund) = service.delete(actor, rules, now)?;
            (change, Money::Refund(refund))
        }
    })
}

pub async fn get(app: &App, id: &str) -> Result<BulkOperation, ApiError> {
    let not_found = || ApiError::not_found("bulk operation");
    let id = crate::domain::ids::parse_id(id).ok_or_else(not_found)?;
    app.store.get_bulk_operation(&id).await?.ok_or_else(not_found)
}

/// Writes `next` over `bulk` as read: 409 when another request or invocation moved it on.
async fn save(app: &App, next: &BulkOperation) -> Result<(), ApiError> {
    let mut batch = app.store.batch();
    batch.bulk_operation(next)?;
    commit(app, batch).await
}

async fn commit(app: &App, batch: crate::store::batch::Batch) -> Result<(), ApiError> {
    match app.store.commit(batch).await {
        Err(StoreError::ConditionFailed) => Err(moved_on()),
        other => Ok(other?),
    }
}

fn moved_on() -> ApiError {
    ApiError::Conflict("the bulk operation or one of its services changed meanwhile; try again".into())
}

/// An approval by `by` (a provider); the last one needed starts it, and the first services are
/// taken within `budget`.
pub async fn approve(app: &App, id: &str, by: &Principal, budget: Budget) -> Result<BulkOperation, ApiError> {
    let now = app.clock.now();
    // Two providers approving at once both count, and one approving twice at once counts once.
    let next = rewrite(app, id, |bulk| {
        if let BulkAction::SetRenewalPrice { from, .. } = &bulk.action {
            // Clients are told as it is carried out: the notice is counted from its approval.
            short_notice(app, *from, now)
                .map_err(|why| ApiError::Conflict(format!("{why} now: cancel it and draft it again")))?;
        }
        Ok(bulk.approve(by.id.as_str(), now)?)
    })
    .await?;
    if next.status != BulkStatus::Approved {
        return Ok(next);
    }
    match carry_on(app, &next.id, budget).await {
        Ok(running) => Ok(running),
        Err(error) => {
            // The approval stands: the job carries it on.
            tracing::warn!(%error, bulk_operation_id = %next.id, "approved, not carried on yet");
            get(app, &next.id).await
        }
    }
}

/// Cancels what has not started (read again when a service was taken meanwhile).
pub async fn cancel(app: &App, id: &str) -> Result<BulkOperation, ApiError> {
    rewrite(app, id, |bulk| Ok(bulk.cancel(app.clock.now())?)).await
}

/// Writes the next version `step` makes of the bulk operation; read and stepped again when
/// another writer moved it on meanwhile.
async fn rewrite(
    app: &App,
    id: &str,
    step: impl Fn(BulkOperation) -> Result<BulkOperation, ApiError>,
) -> Result<BulkOperation, ApiError> {
    let mut tries = 0;
    loop {
        let mut next = step(get(app, id).await?)?;
        next.version += 1;
        match save(app, &next).await {
            Err(ApiError::Conflict(_)) if tries < TRIES => tries += 1,
            Err(error) => return Err(error),
            Ok(()) => return Ok(next),
        }
    }
}

/// How many times a turn is tried again when another writer moved the bulk operation on.
const TRIES: u32 = 5;

/// Carries the bulk operation on until it waits for the worker or a panel, is over, or
/// `budget` is spent; then, on each panel where it gave places back, the bulk operations
/// waiting there. The bulk operation as it then stands.
pub async fn carry_on(app: &App, id: &str, budget: Budget) -> Result<BulkOperation, ApiError> {
    let mut freed = BTreeSet::new();
    let bulk = carry_on_alone(app, id, budget, &mut freed).await?;
    for panel in freed {
        for waiting in app.store.panel_places(&panel).await?.waiting {
            if waiting == id || budget.spent() {
                continue;
            }
            if let Err(error) = carry_on_alone(app, &waiting, budget, &mut BTreeSet::new()).await {
                tracing::warn!(%error, bulk_operation_id = %waiting, "waiting bulk operation not carried on");
            }
        }
    }
    Ok(bulk)
}

/// `carry_on` for this bulk operation alone, adding the panels where it gave places back to
/// `freed`.
async fn carry_on_alone(
    app: &App,
    id: &str,
    budget: Budget,
    freed: &mut BTreeSet<String>,
) -> Result<BulkOperation, ApiError> {
    let mut conflicts = 0;
    loop {
        let mut bulk = get(app, id).await?;
        if !bulk.carried_on() || budget.spent() {
            return Ok(bulk);
        }
        match turn(app, &mut bulk, freed).await {
            Ok(true) => conflicts = 0,
            Ok(false) => return Ok(bulk),
            // Another writer moved it on, or held one of its items (a panel's record is
            // shared): read again and try again.
            Err(ApiError::Conflict(_) | ApiError::Unavailable(_)) if conflicts < TRIES => conflicts += 1,
            Err(ApiError::Conflict(_)) => return get(app, id).await,
            Err(error) => return Err(error),
        }
    }
}

/// One step: settles the operations the worker ended (adding the panels it gave places back
/// on to `freed`), else takes the next service, else finishes. Whether it moved anything.
async fn turn(app: &App, bulk: &mut BulkOperation, freed: &mut BTreeSet<String>) -> Result<bool, ApiError> {
    let now = app.clock.now();
    if settle(app, bulk, now, freed).await? {
        return Ok(true);
    }
    if bulk.cursor < bulk.total() && bulk.status != BulkStatus::Cancelled {
        return take_next(app, bulk, now).await;
    }
    let before = bulk.clone();
    bulk.finish_if_over(now);
    if *bulk == before {
        return Ok(false);
    }
    bulk.version += 1;
    save(app, bulk).await?;
    Ok(true)
}

/// The most operations `settle` counts in one transaction: each writes its item, and a place
/// is given back on at most as many panels, beside the bulk operation and an idempotency key.
const SETTLED_AT_ONCE: usize = 40;

/// Counts the operations under way that the worker has ended (done, or given up), giving
/// their places back: whether any had.
async fn settle(
    app: &App,
    bulk: &mut BulkOperation,
    now: Timestamp,
    freed_panels: &mut BTreeSet<String>,
) -> Result<bool, ApiError> {
    if bulk.in_flight.is_empty() {
        return Ok(false);
    }
    let ids: Vec<ServiceId> = bulk.in_flight.iter().map(|f| f.service_id.clone()).collect();
    let mut services = Vec::new();
    for chunk in ids.chunks(100) {
        services.extend(app.store.services_now(chunk).await?);
    }
    let mut next = bulk.clone();
    let mut batch = app.store.batch();
    let mut ended = 0;
    let mut freed: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for (flight, service) in bulk.in_flight.iter().zip(services) {
        let under_way =
            service.as_ref().and_then(|s| s.pending.as_ref()).is_some_and(|p| p.id == flight.operation_id);
        if under_way || ended >= SETTLED_AT_ONCE {
            continue;
        }
        let state = match &service {
            Some(_) if gave_up(app, &flight.service_id, &flight.operation_id).await? => ItemState::Failed,
            _ => ItemState::Done,
        };
        let mut item = app.store.get_bulk_service(&bulk.id, flight.seq).await?.ok_or_else(|| {
            ApiError::Internal(format!("bulk operation {} lost service {}", bulk.id, flight.seq))
        })?;
        item.state = state;
        item.finished_at = Some(now);
        if state == ItemState::Failed {
            item.reason = service.and_then(|s| s.last_error);
        }
        batch.bulk_service(&bulk.id, &item)?;
        freed.entry(flight.panel.as_str()).or_default().push(flight.seq);
        next.settled(flight.seq, state);
        ended += 1;
    }
    if ended == 0 {
        return Ok(false);
    }
    for (panel, seqs) in &freed {
        batch.panel_places_freed(panel, &bulk.id, seqs)?;
    }
    next.finish_if_over(now);
    next.version += 1;
    batch.bulk_operation(&next)?;
    commit(app, batch).await?;
    freed_panels.extend(freed.into_keys().map(str::to_owned));
    *bulk = next;
    Ok(true)
}

/// Whether the worker gave the operation up: its history's entry for it says what it
/// refunded (a renewal the panel made whose resume alone failed stands: it was done).
async fn gave_up(app: &App, service: &ServiceId, operation_id: &str) -> Result<bool, ApiError> {
    let page = app.store.list_history(service, PageRequest { limit: 20, after: None }).await?;
    Ok(page.items.iter().any(|entry| {
        entry.details.get("operation_id").and_then(|v| v.as_str()) == Some(operation_id)
            && entry.details.get("refunded").is_some()
    }))
}

/// Where the operations of a type are carried out (what the concurrency bound counts by).
fn panel_of(rules: Option<&ProductTypeRules>) -> String {
    let Some(rules) = rules else { return String::new() };
    match rules.panel() {
        Ok(url) => url.to_owned(),
        Err(_) => rules.processing.acme_directory_url.clone().unwrap_or_default(),
    }
}

/// Takes the next service: refused (as its route would refuse it, or because its quote
/// changed since the preview), or its change written with its place in the bulk operation and
/// its work queued. `false` when its panel has no room for it yet (it then waits its turn).
async fn take_next(app: &App, bulk: &mut BulkOperation, now: Timestamp) -> Result<bool, ApiError> {
    let seq = bulk.cursor;
    let mut item = app
        .store
        .get_bulk_service(&bulk.id, seq)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("bulk operation {} lost service {seq}", bulk.id)))?;
    let read = app.store.service_with_rules(&item.service_id, Some(&item.client_id)).await?;
    let by = bulk.approvals.last().map_or(bulk.created_by.clone(), |a| a.by.clone());
    let actor = Actor { id: by, role: Role::Provider };
    let Some(service) = read.service else {
        return refuse(app, bulk, item, "the service is not there any more".into(), now).await;
    };
    let mut context = Context {
        rules: RulesByType::new(read.rules.clone()),
        accounts: HashMap::from([(
            service.client_id.clone(),
            read.account.clone().unwrap_or_else(|| Account::open(service.client_id.clone())),
        )]),
        ..Context::default()
    };
    let decided = decide(app, &mut context, &bulk.action, &service, &actor, &bulk.id, now).await?;
    let (change, money) = match decided {
        Ok(decided) => decided,
        Err(refusal) => return refuse(app, bulk, item, refusal.detail, now).await,
    };
    let account = context.account(app, &service.client_id).await?;
    let moved = match move_money(account, money, &service, now) {
        Ok(moved) => moved,
        Err(error) => return refuse(app, bulk, item, error.to_string(), now).await,
    };
    let quote = quote_of(&change, money, now);
    if let Err(why) = item.check_turn(service.version, Ok(&quote)) {
        return refuse(app, bulk, item, why, now).await;
    }
    let flight = match &change.queued {
        Some(operation_id) => {
            let panel = panel_of(read.rules.as_ref());
            if !bulk.has_room_on(&panel) {
                // Full with its own: no need to ask the panel's record.
                return Ok(false);
            }
            item.state = ItemState::Started;
            item.operation_id = Some(operation_id.clone());
            Some(InFlight {
                seq,
                service_id: service.id.clone(),
                operation_id: operation_id.clone(),
                panel,
                started_at: now,
            })
        }
        None => {
            item.state = ItemState::Done;
            item.finished_at = Some(now);
            None
        }
    };
    let panel = flight.as_ref().map(|f| f.panel.clone());
    let mut next = bulk.clone();
    next.took(item.state, flight);
    next.version += 1;
    let mut batch = app.store.batch();
    add_change(&mut batch, &change)?;
    if let Some((account, entries)) = moved {
        batch.account(&account, &entries)?;
    }
    if let Some(panel) = &panel {
        // The bound holds across bulk operations: each takes its place on the panel's one
        // record in the transaction that starts the service. The stack's setting now bounds a
        // bulk operation drafted under a larger one.
        let limit = bulk.concurrency.min(app.settings.bulk_panel_concurrency);
        batch.panel_place_taken(panel, &bulk.id, seq, limit)?;
    }
    batch.bulk_service(&bulk.id, &item)?.bulk_operation(&next)?;
    match (app.store.commit(batch).await, &panel) {
        (Err(StoreError::LimitReached), Some(panel)) => return wait_for_place(app, bulk, panel).await,
        (Err(StoreError::ConditionFailed), _) => return Err(moved_on()),
        (other, _) => other?,
    }
    *bulk = next;
    enqueue(app, &[&change]).await?;
    Ok(true)
}

/// The bulk operation was refused a place on `panel` (it is full, or others wait for it):
/// places held and turns waited by bulk operations that no longer need them are given back
/// (`true`: try again), else it waits its turn (`false`). A place no bulk operation counts
/// under way can only be left by a writer that stopped between the two (or one older than
/// the places); without this, such places would fill the panel for good.
async fn wait_for_place(app: &App, bulk: &BulkOperation, panel: &str) -> Result<bool, ApiError> {
    let record = app.store.panel_places(panel).await?;
    let holders: BTreeSet<&str> = record
        .places
        .iter()
        .map(|(id, _)| id.as_str())
        .chain(record.waiting.iter().map(String::as_str))
        .collect();
    let mut still = HashMap::new();
    for holder in holders {
        if let Some(found) = app.store.get_bulk_operation(holder).await? {
            still.insert(holder, found);
        }
    }
    let holds = |id: &str, seq: u32| still.get(id).is_some_and(|b| b.holds(seq));
    let wants = |id: &str| still.get(id).is_some_and(BulkOperation::takes_more);
    let stale_places: Vec<(String, u32)> =
        record.places.iter().filter(|(id, seq)| !holds(id, *seq)).cloned().collect();
    let stale_waiting: Vec<String> =
        record.waiting.iter().filter(|id| **id != bulk.id && !wants(id)).cloned().collect();
    if !stale_places.is_empty() || !stale_waiting.is_empty() {
        tracing::warn!(panel, places = ?stale_places, waiting = ?stale_waiting, "stale places given back");
        app.store.free_panel(panel, &stale_places, &stale_waiting).await?;
        return Ok(true);
    }
    app.store.wait_for_panel(panel, &bulk.id).await?;
    Ok(false)
}

/// Refuses the service at its turn, saying why.
async fn refuse(
    app: &App,
    bulk: &mut BulkOperation,
    mut item: BulkItem,
    why: String,
    now: Timestamp,
) -> Result<bool, ApiError> {
    let mut next = bulk.clone();
    item.state = ItemState::Refused;
    item.reason = Some(why);
    item.finished_at = Some(now);
    next.took(ItemState::Refused, None);
    next.version += 1;
    let mut batch = app.store.batch();
    batch.bulk_service(&bulk.id, &item)?.bulk_operation(&next)?;
    commit(app, batch).await?;
    *bulk = next;
    Ok(true)
}

/// Carries on every bulk operation under way, oldest first, within `budget` (the
/// `carry-on-bulk-operations` job): how many it carried on.
pub async fn scheduled(app: &App, budget: Budget) -> Result<usize, ApiError> {
    let under_way = app.store.bulk_operations_under_way().await?;
    let mut carried = 0;
    for id in under_way {
        if budget.spent() {
            break;
        }
        // One that cannot be carried on now holds up none of the others.
        match carry_on(app, &id, budget).await {
            Ok(_) => carried += 1,
            Err(error) => tracing::warn!(%error, bulk_operation_id = %id, "bulk operation not carried on"),
        }
    }
    Ok(carried)
}
