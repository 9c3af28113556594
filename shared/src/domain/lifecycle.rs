//! The lifecycle of a service after it is ordered: what each operation may do from each status,
//! and how long-running work starts (`in_progress` with its operation, queued) and ends.
//!
//! Every function here is pure: it answers the service as it should be written next, with the
//! history entry that explains it. The application layer writes both (and any money) in one
//! conditional transaction.

use super::catalog::RefundOnDelete;
use super::history::Actor;
use super::paid_time::{self, PaidLine};
use super::{Action, HistoryEntry, HistoryId, ProductType, Service, Status, Timestamp};
use super::{ClientDelete, ProductTypeRules, Role};
use serde_json::{json, Value};

pub use super::refusal::Refusal;
pub(crate) use super::service::resting_status;
pub use super::service::{Hold, PendingOperation, Restore, Work};

/// What the control panel answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// The panel lacks the resources (activation ends `not_available`).
    NoResources,
}

/// The next state of a service, with its history entry; `queued` names the operation to put
/// on the queue, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub service: Service,
    pub entry: HistoryEntry,
    pub queued: Option<String>,
}

impl Change {
    /// What the change charges now (for the work it starts).
    pub fn charged(&self) -> u64 {
        self.service.pending.as_ref().filter(|_| self.queued.is_some()).map_or(0, |p| p.charged)
    }
}

/// The most periods one renewal may buy.
pub const MAX_RENEW_PERIODS: u32 = 10;

impl Service {
    pub(crate) fn refuse_status(&self, what: &str) -> Refusal {
        Refusal::Conflict(format!("cannot {what} a service that is {}", self.shown_status()))
    }

    /// The status with its operation, for messages: `in_progress (activation)`.
    fn shown_status(&self) -> String {
        match self.operation {
            Some(op) => format!("{} ({})", self.status.as_str(), op.as_str()),
            None => self.status.as_str().to_owned(),
        }
    }

    pub(crate) fn ensure_idle(&self, what: &str) -> Result<(), Refusal> {
        if self.status == Status::Deleted || self.pending.is_some() {
            return Err(self.refuse_status(what));
        }
        Ok(())
    }

    /// A copy one version on, with the history entry for the move to `self`'s new status.
    pub(super) fn record(
        &self,
        next: Service,
        actor: &Actor,
        action: Action,
        at: Timestamp,
        details: Value,
    ) -> Change {
        let entry = HistoryEntry {
            id: HistoryId::generate(),
            at,
            actor: actor.clone(),
            operation: action,
            status_before: Some(self.status),
            status_after: next.status,
            details,
        };
        Change { service: Service { version: self.version + 1, ..next }, entry, queued: None }
    }

    /// Starts long work: `in_progress` with its operation, queued under a new operation id.
    pub(crate) fn start(
        &self,
        mut next: Service,
        work: Work,
        actor: &Actor,
        at: Timestamp,
        charged: u64,
        mut details: Value,
    ) -> Change {
        let id = super::ids::next_id();
        let action = work.action();
        match work.operation() {
            Some(operation) => {
                next.status = Status::InProgress;
                next.operation = Some(operation);
            }
            None => next.operations_running = true,
        }
        next.pending = Some(PendingOperation {
            id: id.clone(),
            work,
            actor: actor.clone(),
            started_at: at,
            status_before: self.status,
            holds_before: self.holds.clone(),
            expires_before: self.expires_at,
            charged,
            restore: Restore {
                non_payment_since: self.non_payment_since,
                grace: self.grace.clone(),
                abuse_score: self.abuse_score,
                renewal_declined_on: self.renewal_declined_on.clone(),
                delete_at: self.delete_at,
            },
            renewed_on_panel: false,
            bulk_operation_id: None,
        });
        next.last_error = None;
        next.failed_at = None;
        details["operation_id"] = json!(id);
        if charged > 0 {
            details["charged"] = json!(charged);
        }
        let mut change = self.record(next, actor, action, at, details);
        change.queued = Some(id);
        change
    }

    /// Checkout paid the order: an ordered service goes to activation; a quick order still
    /// missing parameters is only marked paid and waits for them.
    pub fn pay_order(&self, actor: &Actor, at: Timestamp) -> Result<Change, Refusal> {
        self.ensure_idle("pay for")?;
        if self.paid {
            return Err(Refusal::Conflict("the service is paid for already".into()));
        }
        let next = Service { paid: true, payment_pending: false, ..self.clone() };
        match self.status {
            Status::Ordered => Ok(self.start(next, Work::Activation, actor, at, self.order_price, json!({}))),
            Status::ConfigurationRequired => {
                Ok(self.record(next, actor, Action::Payment, at, json!({"charged": self.order_price})))
            }
            _ => Err(self.refuse_status("pay for")),
        }
    }

    /// A payment started for the cart this service is in: until it is received the service
    /// shows that its payment is in progress (`pending`), then no longer.
    pub fn mark_payment(
        &self,
        payment_id: &str,
        pending: bool,
        actor: &Actor,
        at: Timestamp,
    ) -> Option<Change> {
        if self.payment_pending == pending || self.paid {
            return None;
        }
        let next = Service { payment_pending: pending, ..self.clone() };
        let status = if pending { "pending" } else { "received" };
        let details = json!({"payment_id": payment_id, "payment": status});
        Some(self.record(next, actor, Action::Payment, at, details))
    }

    /// The provider (re)starts activation of a paid service: after `not_available`, or one
    /// whose activation failed.
    pub fn activate(&self, actor: &Actor, at: Timestamp) -> Result<Change, Refusal> {
        self.ensure_idle("activate")?;
        match self.status {
            Status::NotAvailable | Status::Ordered if self.paid => {
                Ok(self.start(self.clone(), Work::Activation, actor, at, 0, json!({"retry": true})))
            }
            Status::Ordered => Err(Refusal::Conflict("the service is not paid for yet".into())),
            _ => Err(self.refuse_status("activate")),
        }
    }

    /// Suspends: a client its own active service (where the product type allows); the provider
    /// as administrator, also on top of another suspension.
    pub fn disable(
        &self,
        actor: &Actor,
        rules: &ProductTypeRules,
        reason: Option<&str>,
        at: Timestamp,
    ) -> Result<Change, Refusal> {
        self.ensure_idle("suspend")?;
        let hold = match actor.role {
            Role::Client if !rules.client_can_suspend => {
                return Err(Refusal::Forbidden(format!(
                    "clients cannot suspend {} services",
                    self.product_type.as_str()
                )))
            }
            Role::Client => Hold::Client,
            Role::Provider => Hold::Admin,
        };
        let details = json!({"hold": hold, "reason": reason});
        let mut next = self.clone();
        next.holds.push(hold);
        next.holds.sort();
        match self.status {
            Status::Active => Ok(self.start(next, Work::Suspension, actor, at, 0, details)),
            Status::Suspended | Status::SuspendedAbuse | Status::TemporarilySuspended
                if hold == Hold::Admin && !self.holds.contains(&hold) =>
            {
                // Already suspended on the panel: only the reason (and so the status) changes.
                next.status = resting_status(&next.holds);
                Ok(self.record(next, actor, Action::Suspension, at, details))
            }
            _ => Err(self.refuse_status("suspend")),
        }
    }

    /// Lifts the suspensions this principal may lift; the service runs again (through the
    /// panel) only when no reason is left.
    pub fn enable(&self, actor: &Actor, at: Timestamp) -> Result<Change, Refusal> {
        self.ensure_idle("resume")?;
        let (lifted, kept): (Vec<Hold>, Vec<Hold>) =
            self.holds.iter().partition(|h| h.liftable_by(actor.role));
        if lifted.is_empty() {
            let who = if self.holds.is_empty() { "" } else { " by this principal" };
            return Err(Refusal::Conflict(format!(
                "cannot resume a service that is {}{who}",
                self.shown_status()
            )));
        }
        let abuse_score = if lifted.contains(&Hold::Abuse) { 0 } else { self.abuse_score };
        let next = Service { holds: kept.clone(), abuse_score, ..self.clone() };
        let details = json!({"lifted": lifted});
        if kept.is_empty() {
            Ok(self.start(next, Work::Resume, actor, at, 0, details))
        } else {
            let next = Service { status: resting_status(&kept), ..next };
            Ok(self.record(next, actor, Action::Resume, at, details))
        }
    }

    /// Renews for `periods` renewal periods (`auto_renew.period_months` each): from the current
    /// expiry on its anchor day, or from now when the service was suspended for non-payment,
    /// which it lifts (the panel resumes it when no other suspension is left). A deletion the
    /// client scheduled for the end of the period is withdrawn: the period was paid for.
    pub fn renew(&self, periods: u32, actor: &Actor, at: Timestamp) -> Result<Change, Refusal> {
        self.ensure_idle("renew")?;
        if self.price_change.is_some() {
            // Priced as the renewal price stands at `at`; the version read stays the one held.
            return self.with_price_due(at)?.renew_at_price(periods, actor, at);
        }
        self.renew_at_price(periods, actor, at)
    }

    fn renew_at_price(&self, periods: u32, actor: &Actor, at: Timestamp) -> Result<Change, Refusal> {
        if !(1..=MAX_RENEW_PERIODS).contains(&periods) {
            return Err(Refusal::Invalid(format!("periods must be 1 to {MAX_RENEW_PERIODS}")));
        }
        let renewable = matches!(
            self.status,
            Status::Active
                | Status::Suspended
                | Status::SuspendedByAdmin
                | Status::SuspendedAbuse
                | Status::TemporarilySuspended
        );
        let Some(expires_at) = self.expires_at.filter(|_| renewable) else {
            return Err(self.refuse_status("renew"));
        };
        let unpaid = self.holds.contains(&Hold::NonPayment);
        // Suspended for non-payment and past its validity, it renews from now (the time between
        // given); a validity the provider moved ahead since is renewed from its end.
        let lapsed = unpaid && expires_at <= at;
        let (from, anchor_day) =
            if lapsed { (at, at.day_of_month()) } else { (expires_at, self.anchor_day(expires_at)) };
        let months = u32::from(self.auto_renew.period_months) * periods;
        let new_expiry = from.plus_months_on_day(months, anchor_day);
        if !new_expiry.is_storable() {
            let last = super::clock::LAST_STORABLE_YEAR;
            return Err(Refusal::Invalid(format!("the renewal would run the service past the year {last}")));
        }
        let holds: Vec<Hold> = self.holds.iter().copied().filter(|h| *h != Hold::NonPayment).collect();
        let resume = unpaid && holds.is_empty() && self.status == Status::TemporarilySuspended;
        let next = Service {
            holds,
            non_payment_since: None,
            renewal_declined_on: None,
            grace: None,
            delete_at: None,
            ..self.clone()
        };
        let span_months = u32::from(self.auto_renew.period_months) * periods;
        let lines: Vec<PaidLine> = self
            .renewal_lines()
            .into_iter()
            .map(|l| {
                Ok(PaidLine {
                    amount: super::pricing::checked(l.amount.checked_mul(u64::from(periods)))?,
                    ..l
                })
            })
            .collect::<Result<_, Refusal>>()?;
        self.renewal_cost(periods)?;
        self.ensure_paid_time_known()?;
        let held = (&self.tariff_id, &self.options[..]);
        let priced = paid_time::price_renewal(
            &self.paid_time(),
            from,
            new_expiry,
            self.auto_renew.period_months,
            span_months,
            held,
            &lines,
        )?;
        let charged = priced.charged;
        let mut details = json!({"periods": periods, "months": months, "expires_at": new_expiry});
        if let Some(scheduled) = self.delete_at {
            details["deletion_withdrawn"] = json!(scheduled);
        }
        if resume {
            details["resume"] = json!(true);
        }
        let work = Work::Renewal {
            expires_at: new_expiry,
            anchor_day: Some(anchor_day),
            resume,
            paid_until: None,
            record: Some(priced.record),
        };
        Ok(self.start(next, work, actor, at, charged, details))
    }

    /// Deletes: the provider always; a client as the product type's rule says. A service never
    /// activated is deleted at once (`refund` is what was paid for it).
    pub fn delete(
        &self,
        actor: &Actor,
        rules: &ProductTypeRules,
        at: Timestamp,
    ) -> Result<(Change, u64), Refusal> {
        self.ensure_idle("delete")?;
        if actor.role == Role::Client {
            match rules.client_delete {
                ClientDelete::Forbidden => {
                    return Err(Refusal::Forbidden(format!(
                        "clients cannot delete {} services",
                        self.product_type.as_str()
                    )))
                }
                ClientDelete::EndOfPeriod if self.expires_at.is_some_and(|e| e > at) => {
                    if self.delete_at.is_some() {
                        return Err(Refusal::Conflict("the deletion is scheduled already".into()));
                    }
                    let next = Service { delete_at: self.expires_at, ..self.clone() };
                    let details = json!({"scheduled_for": self.expires_at});
                    return Ok((self.record(next, actor, Action::Deletion, at, details), 0));
                }
                _ => {}
            }
        }
        if self.expires_at.is_none() {
            let refund = if self.paid { self.order_price } else { 0 };
            let next = Service { status: Status::Deleted, delete_at: None, ..self.clone() };
            let details = json!({"refunded": refund});
            return Ok((self.record(next, actor, Action::Deletion, at, details), refund));
        }
        let credit = match rules.refund_on_delete {
            RefundOnDelete::None => 0,
            RefundOnDelete::Unused => {
                self.ensure_paid_time_known()?;
                paid_time::unused_after(&self.paid_time(), at)
            }
        };
        let details = if credit > 0 { json!({"credit": credit}) } else { json!({}) };
        Ok((self.start(self.clone(), Work::Deletion { credit }, actor, at, 0, details), 0))
    }

    /// Reboots an active VPS or dedicated server.
    pub fn reboot(&self, actor: &Actor, at: Timestamp) -> Result<Change, Refusal> {
        self.only_for(&[ProductType::Vps, ProductType::Dedicated], "reboot")?;
        self.ensure_idle("reboot")?;
        match self.status {
            Status::Active => Ok(self.start(self.clone(), Work::Reboot, actor, at, 0, json!({}))),
            _ => Err(self.refuse_status("reboot")),
        }
    }

    /// Transfers an active service: a domain to another registrar (its client or the provider);
    /// a server or hosting account to another node of the panel (the provider).
    pub fn transfer(&self, actor: &Actor, at: Timestamp) -> Result<Change, Refusal> {
        use ProductType as T;
        self.only_for(&[T::Domain, T::Vps, T::SharedHosting, T::Dedicated, T::Vdc], "transfer")?;
        if self.product_type != T::Domain && actor.role == Role::Client {
            return Err(Refusal::Forbidden(format!(
                "only the provider moves {} services to another node",
                self.product_type.as_str()
            )));
        }
        self.ensure_idle("transfer")?;
        match self.status {
            Status::Active => Ok(self.start(self.clone(), Work::Transfer, actor, at, 0, json!({}))),
            _ => Err(self.refuse_status("transfer")),
        }
    }

    /// Issues an active SSL certificate anew (a new key, the same validity).
    pub fn reissue(&self, actor: &Actor, at: Timestamp) -> Result<Change, Refusal> {
        self.only_for(&[ProductType::Ssl], "reissue")?;
        self.ensure_idle("reissue")?;
        match self.status {
            Status::Active => Ok(self.start(self.clone(), Work::Reissue, actor, at, 0, json!({}))),
            _ => Err(self.refuse_status("reissue")),
        }
    }

    pub(crate) fn only_for(&self, types: &[ProductType], what: &str) -> Result<(), Refusal> {
        if types.contains(&self.product_type) {
            Ok(())
        } else {
            Err(Refusal::Conflict(format!(
                "{what} is not available for {} services",
                self.product_type.as_str()
            )))
        }
    }

    /// Ends the pending operation `operation_id` as the panel answered. `None` when it is not
    /// the pending one: a duplicate delivery of work already done.
    pub fn finish(&self, operation_id: &str, outcome: Outcome, at: Timestamp) -> Option<Change> {
        let pending = self.pending.as_ref().filter(|p| p.id == operation_id)?;
        let mut next = Service {
            pending: None,
            operation: None,
            operations_running: false,
            last_error: None,
            failed_at: None,
            acme: None,
            ..self.clone()
        };
        let result = match (&pending.work, outcome) {
            (Work::Activation, Outcome::NoResources) => {
                next.status = Status::NotAvailable;
                "not_available"
            }
            (Work::Activation, _) => {
                let expires_at = at.plus_months(u32::from(self.period_months));
                next.status = Status::Active;
                next.expires_at = Some(expires_at);
                next.anchor_day = Some(at.day_of_month());
                let months = self.period_months;
                next.paid_time = vec![paid_time::bought(
                    at,
                    expires_at,
                    months,
                    u32::from(months),
                    &self.tariff_id,
                    &self.options,
                    self.order_lines(),
                )];
                "done"
            }
            (Work::Deletion { credit }, _) => {
                next.status = Status::Deleted;
                next.delete_at = None;
                if *credit > 0 {
                    next.paid_time = paid_time::cut_at(&self.paid_time(), pending.started_at);
                }
                "done"
            }
            (Work::Renewal { expires_at, anchor_day, paid_until, record, .. }, _) => {
                next.expires_at = Some(*expires_at);
                match record {
                    Some(record) => next.paid_time = record.clone(),
                    // Started before the record was kept on a service with nothing to build one
                    // from: left to `record-paid-time`, whose ledger holds this renewal's charge.
                    None if self.paid_time_unknown() => {}
                    // Started before the record was kept: the time it pays for appended.
                    None => {
                        let from = self.paid_until(self.expires_at.unwrap_or(at)).min(*expires_at);
                        let to = paid_until.unwrap_or(*expires_at);
                        let span = from.months_until(to).max(1);
                        let lines = paid_time::scaled_to(&self.renewal_lines(), pending.charged);
                        let mut record = paid_time::cut_at(&self.paid_time(), from);
                        record.push(paid_time::bought(
                            from,
                            to,
                            self.auto_renew.period_months,
                            span,
                            &self.tariff_id,
                            &self.options,
                            lines,
                        ));
                        next.paid_time = paid_time::with_validity_until(
                            &record,
                            *expires_at,
                            self.auto_renew.period_months,
                        );
                    }
                }
                next.anchor_day = anchor_day.or(next.anchor_day);
                next.status = resting_status(&next.holds);
                "done"
            }
            (Work::Suspension | Work::Resume, _) => {
                next.status = resting_status(&next.holds);
                "done"
            }
            (Work::Resync { .. }, Outcome::NoResources) => {
                next.last_error = Some("the panel has no room to activate it again".into());
                "not_available"
            }
            (Work::Resync { .. }, _) => "done",
            (Work::Reboot | Work::Transfer | Work::Reissue, _) => {
                next.status = pending.status_before;
                "done"
            }
            // The renewal price was worked out when the change was asked for (special prices
            // included: see `Service::renewal_price_after`).
            (Work::TariffChange { tariff_id, renewal_price, renewal_lines, record, .. }, _) => {
                next.tariff_id = tariff_id.clone();
                next.renewal_price = *renewal_price;
                next.renewal_lines = renewal_lines.clone();
                // A special price belongs to the tariff it was set on.
                next.special_price = false;
                next.special = None;
                if !record.is_empty() {
                    next.paid_time = record.clone();
                }
                "done"
            }
            (Work::OptionsChange { options, renewal_price, renewal_lines, record, .. }, _) => {
                next.options = options.clone();
                next.renewal_price = *renewal_price;
                next.renewal_lines = renewal_lines.clone();
                if !record.is_empty() {
                    next.paid_time = record.clone();
                }
                "done"
            }
        };
        let actor = pending.actor.clone();
        let mut details = json!({"operation_id": pending.id, "result": result});
        if pending.work.credit() > 0 {
            details["credited"] = json!(pending.work.credit());
        }
        // What the service is now, so that the entry (and the event it is published as) tells
        // its client without another read: the paid period, the holds, the price.
        if let Some(expires_at) = next.expires_at {
            details["expires_at"] = json!(expires_at);
        }
        match &pending.work {
            Work::Suspension | Work::Resume => details["holds"] = json!(next.holds),
            Work::Renewal { .. } => details["charged"] = json!(pending.charged),
            Work::TariffChange { .. } | Work::OptionsChange { .. } => {
                details["renewal_price"] = json!(next.renewal_price)
            }
            Work::Resync { .. } => details["resync"] = json!(true),
            _ => {}
        }
        if result == "not_available" {
            next.failed_at = Some(at);
        }
        Some(self.record(next, &actor, pending.work.action(), at, details))
    }

    /// Ends a renewal that lifted the last suspension, when the panel made the renewal and
    /// would not resume the service (`error`): the renewal stands, paid, with its period, and
    /// the service stays suspended, here as on the panel, held by the provider (`Hold::Admin`,
    /// with `last_error`) until the provider resumes it. Refunding it instead would give the
    /// client a renewal the panel (for a domain, its registry) had made. `None` for any other
    /// operation.
    pub fn finish_unresumed(&self, operation_id: &str, error: &str, at: Timestamp) -> Option<Change> {
        let pending = self.pending.as_ref().filter(|p| p.id == operation_id)?;
        if !matches!(pending.work, Work::Renewal { resume: true, .. }) {
            return None;
        }
        let mut change = self.finish(operation_id, Outcome::Done, at)?;
        let next = &mut change.service;
        if !next.holds.contains(&Hold::Admin) {
            next.holds.push(Hold::Admin);
        }
        next.status = resting_status(&next.holds);
        next.last_error = Some(format!("{}{error}", super::failure::UNRESUMED));
        next.failed_at = Some(at);
        change.entry.status_after = next.status;
        change.entry.details["error"] = json!(error);
        change.entry.details["holds"] = json!(next.holds);
        Some(change)
    }

    /// The service, one version on, with its pending renewal `operation_id` marked made on the
    /// panel (`PendingOperation::renewed_on_panel`); `None` when there is nothing to mark.
    pub fn mark_renewed_on_panel(&self, operation_id: &str) -> Option<Service> {
        let pending = self.pending.as_ref().filter(|p| p.id == operation_id && !p.renewed_on_panel)?;
        if !matches!(pending.work, Work::Renewal { resume: true, .. }) {
            return None;
        }
        let mut next = self.clone();
        next.pending.as_mut()?.renewed_on_panel = true;
        next.version += 1;
        Some(next)
    }

    /// Gives up the pending operation `operation_id` after its last failure: the service
    /// returns to where it was, with `last_error` set, and what was charged for it is refunded
    /// (answered beside the change). A paid activation stays paid, with the service: the
    /// provider retries it, or deleting the service refunds it.
    pub fn abandon(&self, operation_id: &str, error: &str, at: Timestamp) -> Option<(Change, u64)> {
        let pending = self.pending.as_ref().filter(|p| p.id == operation_id)?;
        let restore = &pending.restore;
        // Reports that came in while a lift of the abuse suspension ran add to the old score.
        let lifted_abuse = pending.holds_before.contains(&Hold::Abuse) && !self.holds.contains(&Hold::Abuse);
        let abuse_score = if lifted_abuse {
            restore.abuse_score.saturating_add(self.abuse_score)
        } else {
            self.abuse_score
        };
        let next = Service {
            status: pending.status_before,
            holds: pending.holds_before.clone(),
            expires_at: pending.expires_before,
            non_payment_since: restore.non_payment_since,
            grace: restore.grace.clone(),
            renewal_declined_on: restore.renewal_declined_on.clone(),
            delete_at: restore.delete_at,
            abuse_score,
            pending: None,
            operation: None,
            operations_running: false,
            last_error: Some(error.to_owned()),
            failed_at: Some(at),
            // A certificate order given up is the authority's to expire.
            acme: None,
            ..self.clone()
        };
        let refund = if pending.work == Work::Activation { 0 } else { pending.charged };
        let mut details = json!({"operation_id": pending.id, "error": error, "refunded": refund});
        if let Work::Resync { .. } = pending.work {
            // The provider's to see (the attention list), not its client's to be mailed.
            details["resync"] = json!(true);
        }
        let actor = pending.actor.clone();
        Some((self.record(next, &actor, pending.work.action(), at, details), refund))
    }

    /// The operation still pending `after_seconds` after it started: its message is taken as
    /// lost (never sent, or dead-lettered before its outcome could be written).
    pub fn stalled_operation(&self, now: Timestamp, after_seconds: i64) -> Option<&PendingOperation> {
        self.pending.as_ref().filter(|p| p.started_at.plus_seconds(after_seconds) <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Operation, OptionLine, TariffId};

    fn at(day: u32) -> Timestamp {
        Timestamp::parse("2026-11-01T12:00:00Z").unwrap().plus_seconds(i64::from(day) * 86_400)
    }

    fn client() -> Actor {
        Actor { id: "alice".into(), role: Role::Client }
    }

    fn provider() -> Actor {
        Actor { id: "ops".into(), role: Role::Provider }
    }

    fn rules(client_delete: ClientDelete, client_can_suspend: bool) -> ProductTypeRules {
        ProductTypeRules { client_delete, client_can_suspend, ..crate::domain::catalog::sample_rules() }
    }

    fn ordered() -> Service {
        crate::domain::order::sample_service(at(0))
    }

    fn done(change: Change, day: u32) -> Service {
        let id = change.queued.clone().expect("queued work");
        change.service.finish(&id, Outcome::Done, at(day)).expect("pending").service
    }

    fn active() -> Service {
        done(ordered().pay_order(&client(), at(0)).unwrap(), 0)
    }

    #[test]
    fn paying_queues_activation_which_sets_the_expiry() {
        let change = ordered().pay_order(&client(), at(0)).unwrap();
        assert_eq!(change.service.status, Status::InProgress);
        assert_eq!(change.service.operation, Some(Operation::Activation));
        assert_eq!(change.entry.details["charged"], 500);
        assert_eq!(change.service.version, 2);
        let service = done(change, 1);
        assert_eq!(service.status, Status::Active);
        assert_eq!(service.operation, None);
        assert_eq!(service.expires_at, Some(at(1).plus_months(1)));
        assert_eq!(service.version, 3);
    }

    #[test]
    fn an_operation_stalls_only_once_it_is_older_than_the_limit() {
        let change = ordered().pay_order(&client(), at(0)).unwrap();
        let pending = change.service.pending.clone().unwrap();
        let hour = 3600;
        assert_eq!(change.service.stalled_operation(at(0).plus_seconds(hour - 1), hour), None);
        assert_eq!(change.service.stalled_operation(at(0).plus_seconds(hour), hour), Some(&pending));
        assert_eq!(done(change, 0).stalled_operation(at(9), hour), None, "done: nothing pending");
    }

    #[test]
    fn no_resources_gives_not_available_and_the_provider_retries() {
        let change = ordered().pay_order(&client(), at(0)).unwrap();
        let id = change.queued.clone().unwrap();
        let service = change.service.finish(&id, Outcome::NoResources, at(0)).unwrap().service;
        assert_eq!(service.status, Status::NotAvailable);
        assert!(matches!(service.activate(&provider(), at(1)), Ok(Change { queued: Some(_), .. })));
    }

    #[test]
    fn a_duplicate_delivery_finds_nothing_to_do() {
        let change = ordered().pay_order(&client(), at(0)).unwrap();
        let id = change.queued.clone().unwrap();
        let service = change.service.finish(&id, Outcome::Done, at(0)).unwrap().service;
        assert_eq!(service.finish(&id, Outcome::Done, at(0)), None);
        assert_eq!(service.abandon(&id, "late", at(0)), None);
    }

    #[test]
    fn a_paid_quick_order_waits_for_its_parameters() {
        let mut service = ordered();
        service.status = Status::ConfigurationRequired;
        let change = service.pay_order(&client(), at(0)).unwrap();
        assert_eq!(
            (change.service.status, change.service.paid, change.queued),
            (Status::ConfigurationRequired, true, None)
        );
        assert!(change.service.pay_order(&client(), at(0)).is_err(), "paid twice");
    }

    #[test]
    fn suspensions_stack_and_the_strongest_shows() {
        let suspended =
            done(active().disable(&client(), &rules(ClientDelete::Immediate, true), None, at(2)).unwrap(), 2);
        assert_eq!(suspended.status, Status::Suspended);
        let by_admin = suspended
            .disable(&provider(), &rules(ClientDelete::Immediate, true), Some("spam"), at(3))
            .unwrap();
        assert_eq!(by_admin.queued, None, "already suspended on the panel");
        let by_admin = by_admin.service;
        assert_eq!(by_admin.status, Status::SuspendedByAdmin);
        assert_eq!(by_admin.holds, vec![Hold::Admin, Hold::Client]);
        // The client lifts its own reason; the administrator's remains.
        let still = by_admin.enable(&client(), at(4)).unwrap();
        assert_eq!((still.service.status, still.queued.is_some()), (Status::SuspendedByAdmin, false));
        assert!(matches!(still.service.enable(&client(), at(4)), Err(Refusal::Conflict(_))));
        let resumed = done(still.service.enable(&provider(), at(5)).unwrap(), 5);
        assert_eq!((resumed.status, resumed.holds.is_empty()), (Status::Active, true));
    }

    #[test]
    fn clients_suspend_only_where_the_product_type_allows() {
        let refused = active().disable(&client(), &rules(ClientDelete::Immediate, false), None, at(1));
        assert!(matches!(refused, Err(Refusal::Forbidden(_))));
        assert!(matches!(
            ordered().disable(&provider(), &rules(ClientDelete::Immediate, true), None, at(1)),
            Err(Refusal::Conflict(_))
        ));
    }

    #[test]
    fn renewal_extends_from_expiry_or_from_now_after_non_payment() {
        let service = active();
        let expiry = service.expires_at.unwrap();
        let renewed = done(service.renew(2, &client(), at(10)).unwrap(), 10);
        assert_eq!(renewed.expires_at, Some(expiry.plus_months(2)));
        let mut lapsed = renewed.clone();
        lapsed.holds = vec![Hold::NonPayment];
        lapsed.status = Status::TemporarilySuspended;
        let change = lapsed.renew(1, &client(), at(100)).unwrap();
        assert_eq!(change.entry.details["charged"], 500);
        let back = done(change, 100);
        assert_eq!((back.status, back.expires_at), (Status::Active, Some(at(100).plus_months(1))));
        assert!(matches!(ordered().renew(1, &client(), at(0)), Err(Refusal::Conflict(_))));
        assert!(matches!(active().renew(0, &client(), at(0)), Err(Refusal::Invalid(_))));
    }

    #[test]
    fn a_failed_operation_restores_the_service_and_refunds() {
        let service = active();
        let change = service.renew(1, &client(), at(3)).unwrap();
        let id = change.queued.clone().unwrap();
        let (restored, refund) = change.service.abandon(&id, "panel down", at(4)).unwrap();
        assert_eq!(refund, 500);
        assert_eq!(restored.service.status, Status::Active);
        assert_eq!(restored.service.expires_at, service.expires_at);
        assert_eq!(restored.service.last_error.as_deref(), Some("panel down"));
        assert_eq!(restored.entry.details["error"], "panel down");
    }

    #[test]
    fn deletion_follows_the_client_delete_rule() {
        let service = active();
        let forbidden = service.delete(&client(), &rules(ClientDelete::Forbidden, true), at(1));
        assert!(matches!(forbidden, Err(Refusal::Forbidden(_))));
        let (scheduled, _) =
            service.delete(&client(), &rules(ClientDelete::EndOfPeriod, true), at(1)).unwrap();
        assert_eq!((scheduled.service.delete_at, scheduled.queued), (service.expires_at, None));
        let (now, _) = service.delete(&client(), &rules(ClientDelete::Immediate, true), at(1)).unwrap();
        let gone = done(now, 1);
        assert_eq!(gone.status, Status::Deleted);
        assert!(matches!(gone.renew(1, &provider(), at(2)), Err(Refusal::Conflict(_))));
        assert!(matches!(
            gone.delete(&provider(), &rules(ClientDelete::Immediate, true), at(2)),
            Err(Refusal::Conflict(_))
        ));
    }

    #[test]
    fn an_unactivated_service_is_deleted_at_once_with_a_refund() {
        let paid = ordered().pay_order(&client(), at(0)).unwrap();
        let id = paid.queued.clone().unwrap();
        let not_available = paid.service.finish(&id, Outcome::NoResources, at(0)).unwrap().service;
        let (gone, refund) =
            not_available.delete(&provider(), &rules(ClientDelete::Immediate, true), at(1)).unwrap();
        assert_eq!((gone.service.status, gone.queued, refund), (Status::Deleted, None, 500));
    }

    #[test]
    fn one_operation_at_a_time() {
        let busy = active().renew(1, &client(), at(1)).unwrap().service;
        assert!(matches!(busy.reboot(&client(), at(1)), Err(Refusal::Conflict(_))));
        assert!(matches!(
            busy.disable(&provider(), &rules(ClientDelete::Immediate, true), None, at(1)),
            Err(Refusal::Conflict(_))
        ));
    }

    #[test]
    fn reboot_transfer_and_reissue_are_for_their_product_types() {
        assert!(active().reboot(&client(), at(1)).is_ok());
        assert!(matches!(active().transfer(&client(), at(1)), Err(Refusal::Forbidden(_))));
        assert!(active().transfer(&provider(), at(1)).is_ok());
        assert!(matches!(active().reissue(&client(), at(1)), Err(Refusal::Conflict(_))));
        let certificate = Service { product_type: ProductType::Ssl, ..active() };
        assert!(matches!(certificate.transfer(&provider(), at(1)), Err(Refusal::Conflict(_))));
        let reissuing = certificate.reissue(&client(), at(1)).unwrap();
        assert_eq!(reissuing.service.operation, Some(Operation::Reissue));
        assert_eq!(done(reissuing, 1).status, Status::Active);
    }

    fn end_of_period_rules() -> ProductTypeRules {
        rules(ClientDelete::EndOfPeriod, true)
    }

    #[test]
    fn a_renewal_withdraws_a_scheduled_deletion_and_a_failed_one_puts_it_back() {
        let service = active();
        let (scheduled, _) = service.delete(&client(), &end_of_period_rules(), at(2)).unwrap();
        let scheduled = scheduled.service;
        assert_eq!(scheduled.delete_at, service.expires_at);
        let renewing = scheduled.renew(2, &client(), at(3)).unwrap();
        assert_eq!(renewing.service.delete_at, None);
        assert_eq!(renewing.entry.details["deletion_withdrawn"], json!(service.expires_at));
        let id = renewing.queued.clone().unwrap();
        let (failed, _) = renewing.service.abandon(&id, "panel down", at(4)).unwrap();
        assert_eq!(failed.service.delete_at, service.expires_at, "the renewal was refunded");
        assert_eq!(done(renewing, 4).delete_at, None);
    }

    #[test]
    fn the_owner_or_the_provider_withdraws_a_scheduled_deletion() {
        use crate::domain::changes::Edit;
        let tariff = crate::domain::catalog::sample_tariff();
        let withdraw = || Edit { withdraw_deletion: true, ..Edit::default() };
        let service = active();
        let refused = service.edit(withdraw(), &tariff, &client(), at(2));
        assert!(matches!(refused, Err(Refusal::Conflict(_))), "nothing scheduled");
        let (scheduled, _) = service.delete(&client(), &end_of_period_rules(), at(2)).unwrap();
        for actor in [client(), provider()] {
            let withdrawn = scheduled.service.edit(withdraw(), &tariff, &actor, at(3)).unwrap();
            assert_eq!(withdrawn.service.delete_at, None);
            assert_eq!(withdrawn.entry.details["deletion_withdrawn"], json!(service.expires_at));
        }
    }

    #[test]
    fn a_special_price_keeps_its_price_per_month_across_a_period_change() {
        use crate::domain::changes::Edit;
        use crate::domain::AutoRenew;
        let tariff = crate::domain::catalog::sample_tariff();
        let special = Edit { renewal_price: Some(400), ..Edit::default() };
        let service = active().edit(special, &tariff, &provider(), at(1)).unwrap().service;
        assert!(service.special_price);
        let yearly =
            Edit { auto_renew: Some(AutoRenew { enabled: false, period_months: 12 }), ..Edit::default() };
        let yearly = service.edit(yearly, &tariff, &client(), at(2)).unwrap().service;
        assert_eq!(yearly.renewal_price, 4800, "400 a month, not 400 a year");
        assert_eq!(yearly.renew(1, &client(), at(3)).unwrap().charged(), 4800);
        let monthly = Edit {
            auto_renew: Some(crate::domain::AutoRenew { enabled: true, period_months: 1 }),
            ..Edit::default()
        };
        assert_eq!(yearly.edit(monthly, &tariff, &client(), at(3)).unwrap().service.renewal_price, 400);
    }

    #[test]
    fn a_special_price_takes_the_rise_of_options_and_their_fall_down_to_itself() {
        use crate::domain::changes::Edit;
        let tariff = crate::domain::catalog::sample_tariff();
        let special = Edit { renewal_price: Some(400), ..Edit::default() };
        let service = active().edit(special, &tariff, &provider(), at(1)).unwrap().service;
        let two_ips = vec![OptionLine { id: "ip".into(), quantity: 2 }];
        let (more, _) = service.change_options(&tariff, two_ips, &client(), at(2)).unwrap();
        let more = done(more, 2);
        assert_eq!(more.renewal_price, 600, "400 and two addresses at 100");
        let (fewer, _) = more.change_options(&tariff, vec![], &client(), at(3)).unwrap();
        let fewer = done(fewer, 3);
        assert_eq!(fewer.renewal_price, 400, "back to the provider's price");
        // Scaled to a year and back, the price per month holds.
        let yearly = crate::domain::AutoRenew { enabled: true, period_months: 12 };
        let edit = Edit { auto_renew: Some(yearly), ..Edit::default() };
        assert_eq!(fewer.edit(edit, &tariff, &client(), at(4)).unwrap().service.renewal_price, 4800);
    }

    #[test]
    fn an_upgrade_is_charged_for_every_period_left_not_one() {
        let (start, pro) = start_and_pro();
        let service = active();
        let expiry = service.expires_at.unwrap();
        let renewed = done(service.renew(10, &client(), at(1)).unwrap(), 1);
        assert_eq!(renewed.expires_at, Some(expiry.plus_months(10)));
        // Eleven months paid from the start of the first: 1000 more a month for each.
        let (upgrade, charged) = renewed.change_tariff(&start, &pro, &client(), at(0)).unwrap();
        assert_eq!(charged, 11 * 1000);
        let upgraded = done(upgrade, 0);
        assert_eq!(upgraded.renewal_price, 1500);
        let (downgrade, charged) = upgraded.change_tariff(&pro, &start, &client(), at(0)).unwrap();
        // The eleven months were bought monthly and are now paid at 1500 each: back to 500 a
        // month credits 1000 for each, as its record says, not as if bought yearly.
        assert_eq!((charged, downgrade.service.pending.unwrap().work.credit()), (0, 11_000));
    }

    #[test]
    fn a_renewal_keeps_the_anchor_day_across_short_months() {
        let jan31 = Timestamp::parse("2027-01-31T09:00:00Z").unwrap();
        let paid = crate::domain::order::sample_service(jan31).pay_order(&client(), jan31).unwrap();
        let id = paid.queued.clone().unwrap();
        let mut service = paid.service.finish(&id, Outcome::Done, jan31).unwrap().service;
        assert_eq!(service.expires_at.unwrap().to_string(), "2027-02-28T09:00:00.000Z");
        for expected in ["2027-03-31", "2027-04-30", "2027-05-31"] {
            let renewing = service.renew(1, &client(), jan31).unwrap();
            let id = renewing.queued.clone().unwrap();
            service = renewing.service.finish(&id, Outcome::Done, jan31).unwrap().service;
            assert_eq!(service.expires_at.unwrap().day(), expected);
        }
    }

    /// `active()` past its expiry, suspended for non-payment.
    fn lapsed() -> Service {
        Service { holds: vec![Hold::NonPayment], status: Status::TemporarilySuspended, ..active() }
    }

    #[test]
    fn a_renewal_that_lifts_the_last_suspension_resumes_on_the_panel() {
        let mut lapsed = lapsed();
        let renewing = lapsed.renew(1, &client(), at(40)).unwrap();
        assert!(matches!(
            renewing.service.pending.as_ref().unwrap().work,
            Work::Renewal { resume: true, .. }
        ));
        assert_eq!(done(renewing, 40).status, Status::Active);
        // Still suspended by its client: the panel keeps it suspended.
        lapsed.holds = vec![Hold::NonPayment, Hold::Client];
        let renewing = lapsed.renew(1, &client(), at(40)).unwrap();
        assert!(matches!(
            renewing.service.pending.as_ref().unwrap().work,
            Work::Renewal { resume: false, .. }
        ));
        assert_eq!(done(renewing, 40).status, Status::Suspended);
    }

    #[test]
    fn a_renewal_the_panel_made_stands_when_only_its_resume_failed() {
        let lapsed = lapsed();
        let renewing = lapsed.renew(1, &client(), at(40)).unwrap();
        let id = renewing.queued.clone().unwrap();
        let renewed = renewing.service.finish(&id, Outcome::Done, at(40)).unwrap().service;
        let change = renewing.service.finish_unresumed(&id, "resume refused", at(40)).unwrap();
        let kept = &change.service;
        assert_eq!(
            (kept.expires_at, kept.paid_until, kept.net_paid),
            (renewed.expires_at, renewed.paid_until, renewed.net_paid)
        );
        assert_eq!(change.charged(), 0, "nothing charged again");
        // Suspended on the panel still: here too, held by the provider, who resumes it.
        assert_eq!((kept.status, kept.holds.clone()), (Status::SuspendedByAdmin, vec![Hold::Admin]));
        assert!(kept.last_error.as_deref().is_some_and(|e| e.contains("resume refused")));
        assert_eq!(change.entry.details["result"], "done");
        assert!(kept.pending.is_none());
        // Only such a renewal: any other operation is not the case.
        let plain = active().renew(1, &client(), at(1)).unwrap();
        let plain_id = plain.queued.clone().unwrap();
        assert!(plain.service.finish_unresumed(&plain_id, "x", at(1)).is_none());
        assert!(plain.service.mark_renewed_on_panel(&plain_id).is_none());
        // The renewal made on an earlier receive is noted once, one version on.
        let marked = renewing.service.mark_renewed_on_panel(&id).unwrap();
        assert!(marked.pending.as_ref().unwrap().renewed_on_panel);
        assert_eq!(marked.version, renewing.service.version + 1);
        assert!(marked.mark_renewed_on_panel(&id).is_none());
    }

    #[test]
    fn a_renewal_past_the_years_a_timestamp_is_read_in_is_refused() {
        // Stored, an expiry in the year 3000 could not be read back: the service, and every
        // page of an index that lists it, would fail to load.
        let far = Service { expires_at: Timestamp::parse("2999-12-01T00:00:00Z"), ..active() };
        assert!(matches!(far.renew(1, &client(), at(1)), Err(Refusal::Invalid(_))));
        let near = Service { expires_at: Timestamp::parse("2999-10-01T00:00:00Z"), ..active() };
        assert!(near.renew(1, &client(), at(1)).is_ok());
    }

    #[test]
    fn money_past_the_bounds_is_refused_not_wrapped() {
        use crate::domain::changes::Edit;
        let tariff = crate::domain::catalog::sample_tariff();
        let huge = Edit { renewal_price: Some(crate::domain::pricing::MAX_AMOUNT + 1), ..Edit::default() };
        assert!(matches!(active().edit(huge, &tariff, &provider(), at(1)), Err(Refusal::Invalid(_))));
        let service = Service { renewal_price: u64::MAX / 4, ..active() };
        assert!(matches!(service.renew(5, &client(), at(1)), Err(Refusal::Invalid(_))));
    }

    /// The sample tariff (500 a month, 5000 a year) and a `vps-pro` (1500, 15000), each able
    /// to change to the other.
    fn start_and_pro() -> (crate::domain::Tariff, crate::domain::Tariff) {
        let tariff = crate::domain::catalog::sample_tariff();
        let pro = crate::domain::Tariff {
            id: TariffId::parse("vps-pro").unwrap(),
            prices: crate::domain::Prices::new([(1, 1500), (12, 15000)].into()).unwrap(),
            change_to: vec![tariff.id.clone()],
            ..tariff.clone()
        };
        (crate::domain::Tariff { change_to: vec![pro.id.clone()], ..tariff }, pro)
    }

    #[test]
    fn no_tariff_or_options_change_while_running_on_grace_past_the_paid_period() {
        let (start, pro) = start_and_pro();
        let on_start = Service { tariff_id: start.id.clone(), ..active() };
        let expiry = on_start.expires_at.unwrap();
        let on_grace = Service {
            grace: Some(super::super::service::Grace {
                until: expiry.plus_seconds(30 * 86_400),
                reason: "ok".into(),
            }),
            ..on_start.clone()
        };
        // A day past the paid period: an upgrade now would cost nothing (no time left to
        // prorate), and the grace would run on the dearer tariff.
        let after = expiry.plus_seconds(86_400);
        let upgrade = on_grace.change_tariff(&start, &pro, &client(), after);
        assert!(matches!(upgrade, Err(Refusal::Conflict(ref m)) if m.contains("renew")), "{upgrade:?}");
        let options = vec![super::super::paid_time::OptionLine { id: "ip".into(), quantity: 1 }];
        assert!(matches!(
            on_grace.change_options(&start, options, &client(), after),
            Err(Refusal::Conflict(_))
        ));
        // Something cheaper is fine: it credits nothing, and lowers the renewal.
        let on_pro = Service { tariff_id: pro.id.clone(), renewal_price: 1500, ..on_grace.clone() };
        let (downgrade, charged) = on_pro.change_tariff(&pro, &start, &client(), after).unwrap();
        assert_eq!((charged, downgrade.service.pending.unwrap().work.credit()), (0, 0));
        // Suspended for non-payment it runs nothing: a change before renewing is fine.
        let lapsed = Service { tariff_id: start.id.clone(), ..lapsed() };
        assert!(lapsed.change_tariff(&start, &pro, &client(), after).is_ok());
    }

    #[test]
    fn a_downgrade_credits_no_more_than_the_time_left_was_paid() {
        use crate::domain::changes::Edit;
        let (start, pro) = start_and_pro();
        let on_pro = Service { tariff_id: pro.id.clone(), renewal_price: 1500, ..active() };
        // Ten months at a special price of 1 a month, then a downgrade at once.
        let special = Edit { renewal_price: Some(1), ..Edit::default() };
        let cheap = on_pro.edit(special, &pro, &provider(), at(0)).unwrap().service;
        let renewed = done(cheap.renew(10, &client(), at(0)).unwrap(), 0);
        let (downgrade, _) = renewed.change_tariff(&pro, &start, &client(), at(0)).unwrap();
        let credit = downgrade.service.pending.unwrap().work.credit();
        assert!(credit <= 11, "eleven months paid 1 each: credited {credit}");

        // Six months the provider gave are not credited: only the month paid for.
        let given = Edit { expires_at: Some(on_pro.expires_at.unwrap().plus_months(6)), ..Edit::default() };
        let gifted = on_pro.edit(given, &pro, &provider(), at(0)).unwrap().service;
        let (downgrade, _) = gifted.change_tariff(&pro, &start, &client(), at(0)).unwrap();
        let credit = downgrade.service.pending.unwrap().work.credit();
        assert!(credit <= 1000, "one month paid at 1000 more: credited {credit}");
        // An upgrade over the time given costs nothing for it: only the month paid for.
        let given = Edit { expires_at: Some(on_pro.expires_at.unwrap().plus_months(6)), ..Edit::default() };
        let on_start = active().edit(given, &start, &provider(), at(0)).unwrap().service;
        let (_, charged) = on_start.change_tariff(&start, &pro, &client(), at(0)).unwrap();
        assert_eq!(charged, 1000);
    }

    #[test]
    fn time_bought_in_a_period_only_the_old_tariff_sells_is_not_credited_at_a_dearer_rate() {
        use crate::domain::changes::Edit;
        let (start, pro) = start_and_pro();
        let pro = crate::domain::Tariff {
            prices: crate::domain::Prices::new([(1, 1500), (12, 15000), (24, 18000)].into()).unwrap(),
            ..pro
        };
        let on_pro =
            Service { tariff_id: pro.id.clone(), renewal_price: 1500, net_paid: Some(1500), ..active() };
        // Two years bought at 18000, then auto-renewal back to a month, then a downgrade.
        let biennial = Edit {
            auto_renew: Some(crate::domain::AutoRenew { enabled: true, period_months: 24 }),
            ..Edit::default()
        };
        let set = on_pro.edit(biennial, &pro, &client(), at(1)).unwrap().service;
        let renewed = done(set.renew(1, &client(), at(1)).unwrap(), 1);
        let monthly = Edit {
            auto_renew: Some(crate::domain::AutoRenew { enabled: true, period_months: 1 }),
            ..Edit::default()
        };
        let back = renewed.edit(monthly, &pro, &client(), at(1)).unwrap().service;
        let (downgrade, _) = back.change_tariff(&pro, &start, &client(), at(1)).unwrap();
        let credit = downgrade.service.pending.unwrap().work.credit();
        // 19500 paid; what is left (25 months less a day) costs at least 10000 on vps-start.
        assert!(1500 + 18000 - credit >= 500 + 10000, "credited {credit}");
    }
}
