//! The scheduled jobs. Each finds its work with Queries on a sparse index (only services a job
//! may act on carry its keys), checks each service again in the domain, and writes each change
//! conditionally on the version it read: running twice, or two runs overlapping, does the work
//! once. Each run works within a `Budget`, below its function's timeout: what it has no time
//! for is still listed by the index, and the next run takes it (nothing skipped: a service
//! leaves the index only once it was acted on; nothing repeated: the domain's own check and
//! the conditional write).

use crate::app::App;
use crate::domain::account::LedgerKind;
use crate::domain::catalog::RulesByType;
use crate::domain::schedule::system;
use crate::domain::Service;
use crate::error::ApiError;
use crate::operations::{account, apply_to_account, Money};
use crate::queue::OperationMessage;
use crate::store::keys::{self, Index};
use crate::store::services::{Checkpoint, DueCursor, DueQuery};
use crate::telemetry::{self, Metric};
use serde::Serialize;

const DAY: i64 = 86_400;

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Services the index offered.
    pub found: usize,
    /// Services changed.
    pub acted: usize,
    /// Services declined a renewal for want of funds (recorded once a day).
    pub declined: usize,
    /// Services read but left for the next run: this run's time was spent.
    pub left: usize,
    /// The run's time was spent before it went through every due service: the next run goes
    /// on (some may not even have been read, and so are in neither `found` nor `left`).
    pub unfinished: bool,
    /// Services whose write failed (AWS unavailable, say): still due, tried again next run.
    pub failed: usize,
    /// Services whose change needs a control panel their product type has none of: left as
    /// they are (and logged) until the provider sets one, as a route refuses such a change.
    pub no_panel: usize,
}

pub use crate::budget::{Budget, RUN_RESERVE};

/// A run's walk through the services of a `DueQuery`, a page at a time, within its budget.
/// It reads a page only while the budget lasts, and hands out a service only while it lasts:
/// what it had no time for is still in the index, and the next run finds it.
struct DueWalk {
    query: DueQuery,
    /// Where the next page starts; `None` before the first page and after the last.
    after: Option<DueCursor>,
    read_all: bool,
    page: std::vec::IntoIter<Service>,
    /// The services handed out: one the run changed may come back further along the index
    /// (a renewed service, once its renewal is done, at its new expiry, still within the
    /// horizon) and is not handed out again: a service is acted on once a run.
    handed: std::collections::HashSet<crate::domain::ServiceId>,
}

impl DueWalk {
    fn new(query: DueQuery) -> Self {
        Self { query, after: None, read_all: false, page: Vec::new().into_iter(), handed: Default::default() }
    }

    /// The next page (counted as `found`), or `None` once every page is read or the budget is
    /// spent (the run is then `unfinished`).
    async fn next_page(
        &mut self,
        app: &App,
        budget: Budget,
        summary: &mut Summary,
    ) -> Result<Option<Vec<Service>>, ApiError> {
        if self.read_all {
            return Ok(None);
        }
        if budget.spent() {
            summary.unfinished = true;
            return Ok(None);
        }
        let (services, after) =
            app.store.due_page(&self.query, self.after.take(), app.store.sweep_page()).await?;
        self.read_all = after.is_none();
        self.after = after;
        summary.found += services.len();
        Ok(Some(services))
    }

    /// The next service, or `None` once all are done or the budget is spent (the services
    /// read and not reached are then `left`).
    async fn next(
        &mut self,
        app: &App,
        budget: Budget,
        summary: &mut Summary,
    ) -> Result<Option<Service>, ApiError> {
        loop {
            if let Some(service) = self.page.next() {
                if self.handed.contains(&service.id) {
                    continue;
                }
                if !budget.spent() {
                    self.handed.insert(service.id.clone());
                    return Ok(Some(service));
                }
                summary.left += 1 + self.page.len();
                self.page = Vec::new().into_iter();
                summary.unfinished = true;
                return Ok(None);
            }
            match self.next_page(app, budget, summary).await? {
                Some(page) => self.page = page.into_iter(),
                None => return Ok(None),
            }
        }
    }
}

/// Writes one service's change; a conflict means another run (or a person) got there first.
async fn act(
    app: &App,
    rules: &RulesByType,
    change: Option<crate::domain::lifecycle::Change>,
    money: Money,
    summary: &mut Summary,
) -> Result<(), ApiError> {
    act_on_account(app, rules, change, money, None, summary).await
}

async fn act_on_account(
    app: &App,
    rules: &RulesByType,
    change: Option<crate::domain::lifecycle::Change>,
    money: Money,
    account: Option<crate::domain::account::Account>,
    summary: &mut Summary,
) -> Result<(), ApiError> {
    let Some(change) = change else { return Ok(()) };
    let service_id = change.service.id.clone();
    if change.queued.is_some() {
        if let Err(no_panel) = rules.operable(change.service.product_type) {
            // Queued, the work would fail on every receive and be given up: an hourly churn
            // of attempts, and a service never suspended or deleted.
            tracing::warn!(%service_id, %no_panel, "not acted on: no control panel to carry it out");
            summary.no_panel += 1;
            return Ok(());
        }
    }
    match apply_to_account(app, &change, money, account).await {
        Ok(()) => {
            summary.acted += 1;
            Ok(())
        }
        Err(ApiError::Conflict(_)) => Ok(()),
        Err(ApiError::PaymentRequired(detail)) => Err(ApiError::PaymentRequired(detail)),
        // One service that cannot be written must not hold up the others: it is still due,
        // and the next run tries it again.
        Err(error) => {
            tracing::warn!(%service_id, %error, "not acted on: left for the next run");
            summary.failed += 1;
            Ok(())
        }
    }
}

/// Renews every service with auto-renewal on within its product type's lead of expiry, one
/// renewal period, charged to the balance; a short balance is recorded (once a day) instead.
pub async fn auto_renewal(app: &App, budget: Budget) -> Result<Summary, ApiError> {
    let now = app.clock.now();
    let actor = system("auto-renewal");
    let mut summary = Summary::default();
    let by_type = RulesByType::new(app.store.list_product_types().await?);
    for rules in by_type.iter() {
        if let Err(no_panel) = rules.operable() {
            // Nothing is charged for work no panel could carry out (as a client's renewal).
            tracing::warn!(product_type = rules.product_type.as_str(), %no_panel, "auto-renewal skipped");
            continue;
        }
        let horizon = now.plus_seconds(i64::from(rules.renew_lead_days) * DAY);
        let partition = keys::renewals(rules.product_type);
        let mut due = DueWalk::new(DueQuery::at_most(Index::Renewal, partition, keys::up_to(horizon)));
        while let Some(service) = due.next(app, budget, &mut summary).await? {
            if !service.renewal_due(rules, now) {
                continue;
            }
            let Ok(renewal) = service.renew(1, &actor, now) else { continue };
            let cost = renewal.charged();
            let account = account(app, &service.client_id).await?;
            if cost > account.balance {
                summary.declined += 1;
                let declined = service.decline_renewal(cost, account.balance, &actor, now);
                act(app, &by_type, declined, Money::None, &mut summary).await?;
                continue;
            }
            let charge = Money::Charge(LedgerKind::Renewal, cost);
            // The account is written conditionally on the version read: if the balance moved
            // meanwhile the renewal is a conflict, tried again on the next run.
            match act_on_account(app, &by_type, Some(renewal), charge, Some(account), &mut summary).await {
                Err(ApiError::PaymentRequired(_)) => summary.declined += 1,
                other => other?,
            }
        }
    }
    Ok(summary)
}

/// Suspends for non-payment every service past its expiry (or deletes it at a client's
/// scheduled date), and deletes the services suspended for non-payment longer than their
/// product type keeps them.
pub async fn expiry_sweep(app: &App, budget: Budget) -> Result<Summary, ApiError> {
    let now = app.clock.now();
    let actor = system("expiry-sweep");
    let mut summary = Summary::default();
    let by_type = RulesByType::new(app.store.list_product_types().await?);
    let mut expired = DueWalk::new(DueQuery::at_most(Index::Lapse, keys::expiries(), keys::up_to(now)));
    while let Some(service) = expired.next(app, budget, &mut summary).await? {
        act(app, &by_type, service.expire(&actor, now).ok(), Money::None, &mut summary).await?;
    }
    for rules in by_type.iter() {
        let kept_since = now.plus_seconds(-i64::from(rules.auto_delete_after_days) * DAY);
        let partition = keys::purges(rules.product_type);
        let mut lapsed = DueWalk::new(DueQuery::at_most(Index::Lapse, partition, keys::up_to(kept_since)));
        while let Some(service) = lapsed.next(app, budget, &mut summary).await? {
            act(app, &by_type, service.purge(rules, &actor, now).ok(), Money::None, &mut summary).await?;
        }
    }
    Ok(summary)
}

/// Suspends for abuse every service whose abuse score reached its product type's limit.
pub async fn abuse_sweep(app: &App, budget: Budget) -> Result<Summary, ApiError> {
    let now = app.clock.now();
    let actor = system("abuse-sweep");
    let mut summary = Summary::default();
    let by_type = RulesByType::new(app.store.list_product_types().await?);
    for rules in by_type.iter().filter(|r| r.abuse_limit > 0) {
        let partition = keys::abuse_reports(rules.product_type);
        let bound = keys::abuse_order(rules.abuse_limit);
        let mut reported = DueWalk::new(DueQuery::at_least(Index::Abuse, partition, bound));
        while let Some(service) = reported.next(app, budget, &mut summary).await? {
            let suspension = service.suspend_for_abuse(rules, &actor, now).ok();
            act(app, &by_type, suspension, Money::None, &mut summary).await?;
        }
    }
    Ok(summary)
}

/// An operation pending this long has lost its message: far past the last retry of a message
/// the worker received (5 receives, backed off 10 s doubling) and the send its request made.
pub const STALLED_AFTER_SECONDS: i64 = 3600;

/// Sends again the message of every operation pending longer than `STALLED_AFTER_SECONDS`,
/// which closes the gap between a request's commit and its send (and a last receive whose
/// outcome could not be written). The worker does the operation once however many messages
/// name it, so a message that was only late costs a duplicate delivery, nothing more.
/// It reads the pending operations index up to the threshold: the stalled operations, whatever
/// their service's status (a tariff or options change keeps it), and no others.
pub async fn requeue_stalled(app: &App) -> Result<Summary, ApiError> {
    let now = app.clock.now();
    let threshold = keys::up_to(now.plus_seconds(-STALLED_AFTER_SECONDS));
    let pending = app
        .store
        .due_services(&DueQuery::at_most(Index::Lapse, keys::pending_operations(), threshold))
        .await?;
    let stalled: Vec<_> = pending
        .iter()
        .filter_map(|service| Some((service, service.stalled_operation(now, STALLED_AFTER_SECONDS)?)))
        .collect();
    let messages: Vec<OperationMessage> = stalled
        .iter()
        .map(|(service, pending)| OperationMessage {
            service_id: service.id.to_string(),
            operation_id: pending.id.clone(),
            product_type: Some(service.product_type),
        })
        .collect();
    if !messages.is_empty() {
        app.queue()?.send(&messages).await?;
    }
    for (service, pending) in &stalled {
        tracing::warn!(service_id = %service.id, operation_id = %pending.id, started_at = %pending.started_at, "operation stalled: queued again");
        telemetry::count(Metric::OperationsRequeued, &pending.work.action().name());
    }
    Ok(Summary { found: pending.len(), acted: stalled.len(), ..Summary::default() })
}

/// What a due list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Services auto-renewal will try, by the time of the attempt.
    Renewal,
    /// Services suspended for non-payment, by the time they will be deleted.
    Deletion,
}

impl Due {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "renewal" => Some(Due::Renewal),
            "deletion" => Some(Due::Deletion),
            _ => None,
        }
    }
}

/// The services due for renewal or deletion by `before`, soonest first, at most `limit`, from
/// the schedules' own indexes: each with the time it is due.
pub async fn due_services(
    app: &App,
    due: Due,
    before: crate::domain::Timestamp,
    limit: usize,
) -> Result<Vec<(crate::domain::Timestamp, crate::domain::Service)>, ApiError> {
    let mut found = Vec::new();
    for rules in app.store.list_product_types().await? {
        let (partition, shift) = match due {
            Due::Renewal => (keys::renewals(rules.product_type), i64::from(rules.renew_lead_days) * DAY),
            Due::Deletion => {
                (keys::purges(rules.product_type), -i64::from(rules.auto_delete_after_days) * DAY)
            }
        };
        let index = if due == Due::Renewal { Index::Renewal } else { Index::Lapse };
        let query = DueQuery::at_most(index, partition, keys::up_to(before.plus_seconds(shift)));
        let services = app.store.due_services(&query).await?;
        for service in services {
            let at = match due {
                Due::Renewal => service.expires_at.map(|e| e.plus_seconds(-shift)),
                Due::Deletion => service.non_payment_since.map(|s| s.plus_seconds(-shift)),
            };
            if let Some(at) = at {
                found.push((at, service));
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    found.truncate(limit);
    Ok(found)
}

/// Writes a reminder (a history entry, and so an event its client is e-mailed) for every
/// service within one of its product type's `remind_days_before` of what is due next: its
/// auto-renewal attempt, its expiry, its deletion for non-payment. Each is sent once per
/// service, kind, due date and day count: a marker written in the entry's transaction (with a
/// check that the service did not change since it was read) makes a second run, or a racing
/// one, write nothing.
///
/// Each reminder is a walk through a sparse index (`reminder_walks`): the services whose due
/// time came within its day count since the walk last stopped, which a checkpoint records (the
/// index sort key read through). A run reads each due service once per reminder, however long
/// the window; one out of time goes on where it stopped. A walk with no checkpoint (the first
/// run, or a day count just added) reads its whole window once.
pub async fn reminders(app: &App, budget: Budget) -> Result<Summary, ApiError> {
    use crate::domain::reminders::horizon_seconds;
    let now = app.clock.now();
    let actor = system("reminders");
    let mut summary = Summary::default();
    let every_rules = app.store.list_product_types().await?;
    let checkpoints = app.store.job_checkpoints(REMINDERS).await?;
    // A type without a panel renews, suspends and deletes nothing: nothing to remind of.
    let walks = every_rules.iter().filter(|r| horizon_seconds(r) > 0 && r.operable().is_ok());
    for walk in walks.flat_map(|rules| reminder_walks(rules, now)) {
        let stopped = checkpoints.iter().find(|c| c.walk == walk.name).map(|c| c.through.clone());
        // Past due before now is past reminding: never read again.
        let from = match stopped {
            Some(through) if through >= walk.from => keys::after(&through),
            _ => walk.from.clone(),
        };
        if from > walk.to {
            continue;
        }
        let mut pages =
            DueWalk::new(DueQuery::between(walk.index, walk.partition.clone(), from, walk.to.clone()));
        let (mut through, mut stuck) = (None, false);
        while let Some(page) = pages.next_page(app, budget, &mut summary).await? {
            // A walk that found nothing keeps its checkpoint: reading the same empty stretch
            // again costs the one Query a write would.
            let found = !page.is_empty();
            let (in_time, settled) =
                remind_page(app, page, (every_rules.as_slice(), &actor, now), budget, &mut summary).await?;
            if !in_time {
                break;
            }
            // A page with a service not settled (it changed as it was read, a write failed)
            // holds the checkpoint before it: the next run reads it again.
            stuck |= !settled;
            if stuck {
                continue;
            }
            through = match pages.after.as_ref() {
                Some(cursor) => cursor.sort_key_in(walk.index),
                None if found || through.is_some() => Some(walk.to.clone()),
                None => None,
            };
        }
        if let Some(through) = through {
            app.store.put_job_checkpoint(REMINDERS, &Checkpoint { walk: walk.name, through }).await?;
        }
    }
    Ok(summary)
}

const REMINDERS: &str = "reminders";

/// One reminder's walk: the services of an index partition whose sort key (`{time}#{id}`) is
/// between `from` (what was due now) and `to` (what is due within the day count).
struct ReminderWalk {
    name: String,
    index: Index,
    partition: String,
    from: String,
    to: String,
}

/// The walks of a product type's reminders at `now`: for each day count, its auto-renewal
/// attempts (the renewal index, by expiry less the lead time), the expiries of services renewed
/// by hand, and the deletions for non-payment (the lapse index, by when the suspension began).
fn reminder_walks(
    rules: &crate::domain::ProductTypeRules,
    now: crate::domain::Timestamp,
) -> Vec<ReminderWalk> {
    let t = rules.product_type;
    let lead = i64::from(rules.renew_lead_days) * DAY;
    let kept = -i64::from(rules.auto_delete_after_days) * DAY;
    let kinds = [
        ("renewal", Index::Renewal, keys::renewals(t), lead),
        ("expiry", Index::Renewal, keys::manual_renewals(t), 0),
        ("deletion", Index::Lapse, keys::purges(t), kept),
    ];
    let mut days = rules.remind_days_before.clone();
    days.sort_unstable();
    days.dedup();
    let mut walks = Vec::new();
    for (kind, index, partition, shift) in kinds {
        for &d in days.iter().rev() {
            walks.push(ReminderWalk {
                // The shift is in the name: a rule's new lead or deletion delay is a new walk.
                name: format!("{}#{kind}#{d}#{shift}", t.as_str()),
                index,
                partition: partition.clone(),
                from: keys::up_to(now.plus_seconds(shift)),
                to: keys::up_to(now.plus_seconds(shift + i64::from(d) * DAY)),
            });
        }
    }
    walks
}

/// Reminds the services of a page of what is due for each (at most once each); answers whether
/// it reached the end of the page within the budget, and whether each service was settled
/// (reminded, or found reminded already).
async fn remind_page(
    app: &App,
    page: Vec<Service>,
    (every_rules, actor, now): (
        &[crate::domain::ProductTypeRules],
        &crate::domain::history::Actor,
        crate::domain::Timestamp,
    ),
    budget: Budget,
    summary: &mut Summary,
) -> Result<(bool, bool), ApiError> {
    let due: Vec<_> = page
        .into_iter()
        .filter_map(|service| {
            let rules = every_rules.iter().find(|r| r.product_type == service.product_type)?;
            let reminder = service.reminder_due(rules, now)?;
            Some((service, reminder))
        })
        .collect();
    let markers: Vec<_> = due.iter().map(|(s, r)| keys::reminder(&s.id, &r.name(), r.at, r.days)).collect();
    let sent = app.store.present(&markers).await?;
    let (mut finished, mut settled) = (true, true);
    for ((service, reminder), (marker, sent)) in due.iter().zip(markers.iter().zip(sent)) {
        if sent {
            continue;
        }
        if budget.spent() {
            summary.left += 1;
            summary.unfinished = true;
            finished = false;
            continue;
        }
        settled &= remind(app, (service, reminder, marker), actor, now, summary).await?;
    }
    Ok((finished, settled))
}

/// Writes one reminder, with its marker, unless the service changed since it was read; answers
/// whether it is settled (written, or nothing to remind of).
async fn remind(
    app: &App,
    (service, reminder, marker): (&Service, &crate::domain::reminders::Reminder, &keys::Key),
    actor: &crate::domain::history::Actor,
    now: crate::domain::Timestamp,
    summary: &mut Summary,
) -> Result<bool, ApiError> {
    let renewal = match reminder.due {
        crate::domain::reminders::Due::Renewal => {
            // Priced at the attempt it announces: a price change due by then is its price.
            let Ok(renewal) = service.renew(1, actor, reminder.at) else { return Ok(true) };
            Some((renewal.charged(), account(app, &service.client_id).await?.balance))
        }
        _ => None,
    };
    let entry = service.remind(reminder, renewal, actor, now);
    let mut batch = app.store.batch();
    batch.unchanged(service)?.history(service, &entry)?.once(marker, reminder.at.plus_seconds(DAY))?;
    match app.store.commit(batch).await {
        Ok(()) => {
            summary.acted += 1;
            Ok(true)
        }
        // Sent by a racing run, or the service changed: the next run looks again.
        Err(crate::store::StoreError::ConditionFailed) => Ok(false),
        // As `act_on_account`: left for the next run, which finds it still due.
        Err(error) => {
            tracing::warn!(service_id = %service.id, %error, "reminder not written: left for the next run");
            summary.failed += 1;
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn in_ms(from_now: Duration) -> u64 {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
        (now + from_now).as_millis() as u64
    }

    #[test]
    fn a_run_works_until_its_deadline_less_the_reserve() {
        assert_eq!(Budget::until_deadline(0, RUN_RESERVE), Budget::UNLIMITED, "no deadline");
        let far = Budget::until_deadline(in_ms(Duration::from_secs(3600)), RUN_RESERVE);
        assert_eq!(far, Budget::UNLIMITED, "a local runner's far deadline");
        let short = Budget::until_deadline(in_ms(Duration::from_secs(20)), RUN_RESERVE);
        assert!(!short.spent(), "a short invocation works half its time");
        assert!(short.remaining().unwrap() <= Duration::from_secs(10));
        let long = Budget::until_deadline(in_ms(Duration::from_secs(300)), RUN_RESERVE);
        assert!(long.remaining().unwrap() <= Duration::from_secs(270), "the whole reserve kept back");
        assert!(long.remaining().unwrap() > Duration::from_secs(260));
        assert!(Budget::of(Duration::ZERO).spent());
        assert!(!Budget::UNLIMITED.spent());
    }
}
