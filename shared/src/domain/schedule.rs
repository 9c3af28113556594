//! What the schedules do to a service: auto-renewal, suspension for non-payment at expiry,
//! deletion after a long non-payment (or at a client's scheduled date), and abuse suspension.
//! Each check is made again here on the service as read, so a sweep acting on a stale index
//! entry, or running twice, changes nothing.

use super::history::Actor;
use super::lifecycle::{resting_status, Change, Hold, Refusal, Work};
use super::{Action, ProductTypeRules, Role, Service, Status, Timestamp};
use serde_json::json;

const DAY: i64 = 86_400;

/// The actor the schedules act as, in the history.
pub fn system(job: &str) -> Actor {
    Actor { id: format!("system:{job}"), role: Role::Provider }
}

/// The most score one abuse report may add.
pub const MAX_ABUSE_SCORE: u32 = 1_000;

/// Longest a grace may run past the service's expiry, and its reason's length.
pub const MAX_GRACE_MONTHS: u32 = 3;
pub const MAX_GRACE_REASON: usize = 500;

impl Service {
    /// Whether auto-renewal should try this service now: on, running (or suspended by its
    /// client), within the product type's lead of its expiry, and not declined today already.
    pub fn renewal_due(&self, rules: &ProductTypeRules, now: Timestamp) -> bool {
        let lead = i64::from(rules.renew_lead_days) * DAY;
        self.auto_renew.enabled
            && self.pending.is_none()
            && self.delete_at.is_none()
            && matches!(self.status, Status::Active | Status::Suspended)
            && self.expires_at.is_some_and(|e| now.seconds_until(e) <= lead)
            && self.renewal_declined_on.as_deref() != Some(now.day().as_str())
    }

    /// An auto-renewal the balance could not pay: recorded once a day, nothing else changes.
    pub fn decline_renewal(
        &self,
        needed: u64,
        balance: u64,
        actor: &Actor,
        now: Timestamp,
    ) -> Option<Change> {
        if self.renewal_declined_on.as_deref() == Some(now.day().as_str()) {
            return None;
        }
        let next = Service {
            renewal_declined_on: Some(now.day()),
            renewal_declined_for: self.expires_at,
            ..self.clone()
        };
        // The client is told once per validity's attempts (each day's decline is recorded).
        let first = self.renewal_declined_for.is_none() || self.renewal_declined_for != self.expires_at;
        let details = json!({
            "result": "insufficient_funds",
            "needed": needed,
            "balance": balance,
            "first_in_window": first,
        });
        Some(self.record(next, actor, Action::Renewal, now, details))
    }

    /// Past its expiry unrenewed: a client's scheduled deletion is carried out; otherwise the
    /// service is suspended for non-payment.
    pub fn expire(&self, actor: &Actor, now: Timestamp) -> Result<Change, Refusal> {
        self.ensure_idle("expire")?;
        let expired = self.lapses_at().is_some_and(|e| e <= now) || self.delete_at.is_some_and(|d| d <= now);
        if !expired || self.holds.contains(&Hold::NonPayment) {
            return Err(Refusal::Conflict("not due".into()));
        }
        if self.delete_at.is_some_and(|d| d <= now) {
            return Ok(self.start(
                self.clone(),
                Work::Deletion { credit: 0 },
                actor,
                now,
                0,
                json!({"scheduled": true}),
            ));
        }
        let mut next = self.clone();
        next.holds.push(Hold::NonPayment);
        next.holds.sort();
        next.non_payment_since = Some(now);
        next.grace = None;
        // The time it ran on a grace is owed at its renewal price, for the renewal that lifts
        // the suspension to charge first: letting a grace lapse does not make it free.
        if let (Some(grace), Some(expires_at)) = (&self.grace, self.expires_at) {
            if !self.paid_time_unknown() {
                let months = self.auto_renew.period_months;
                let ran_until = grace.until.min(now);
                next.paid_time =
                    self.owed_after(self.paid_time(), expires_at, ran_until, months, &self.renewal_lines());
            }
        }
        let details = json!({"hold": Hold::NonPayment, "expired_at": self.expires_at});
        match self.status {
            Status::Active => Ok(self.start(next, Work::Suspension, actor, now, 0, details)),
            Status::Suspended | Status::SuspendedByAdmin | Status::SuspendedAbuse => {
                next.status = resting_status(&next.holds);
                Ok(self.record(next, actor, Action::Suspension, now, details))
            }
            _ => Err(self.refuse_status("expire")),
        }
    }

    /// The provider keeps the service out of the non-payment suspension until `until`: its
    /// paid period and balance stay as they are. For a service not yet suspended for
    /// non-payment; a later grace replaces an earlier one.
    pub fn grant_grace(
        &self,
        until: Timestamp,
        reason: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Change, Refusal> {
        self.ensure_idle("extend")?;
        let running = matches!(
            self.status,
            Status::Active | Status::Suspended | Status::SuspendedByAdmin | Status::SuspendedAbuse
        );
        let Some(expires_at) = self.expires_at.filter(|_| running && !self.holds.contains(&Hold::NonPayment))
        else {
            return Err(self.refuse_status("extend"));
        };
        let reason = &super::text::paragraphs(reason, "reason", MAX_GRACE_REASON)
            .map_err(|e| Refusal::Invalid(e.0))?;
        if until <= now || until <= expires_at {
            return Err(Refusal::Invalid("until must be after now and after the service's expiry".into()));
        }
        if until > expires_at.plus_months(MAX_GRACE_MONTHS) {
            return Err(Refusal::Invalid(format!(
                "a grace lasts at most {MAX_GRACE_MONTHS} months past expiry"
            )));
        }
        let grace = super::service::Grace { until, reason: reason.to_owned() };
        let details = json!({"until": until, "reason": grace.reason, "expires_at": expires_at});
        let next = Service { grace: Some(grace), ..self.clone() };
        Ok(self.record(next, actor, Action::Grace, now, details))
    }

    /// Suspended for non-payment longer than the product type keeps such services: deleted.
    pub fn purge(&self, rules: &ProductTypeRules, actor: &Actor, now: Timestamp) -> Result<Change, Refusal> {
        self.ensure_idle("delete")?;
        let keep = i64::from(rules.auto_delete_after_days) * DAY;
        match self.non_payment_since {
            Some(since) if since.seconds_until(now) >= keep && self.holds.contains(&Hold::NonPayment) => {
                let details = json!({"reason": "non_payment", "suspended_since": since});
                Ok(self.start(self.clone(), Work::Deletion { credit: 0 }, actor, now, 0, details))
            }
            _ => Err(Refusal::Conflict("not due".into())),
        }
    }

    /// An abuse report adds its score; the abuse sweep suspends at the product type's limit.
    pub fn report_abuse(
        &self,
        score: u32,
        description: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Change, Refusal> {
        if self.status == Status::Deleted {
            return Err(self.refuse_status("report abuse of"));
        }
        if !(1..=MAX_ABUSE_SCORE).contains(&score) {
            return Err(Refusal::Invalid(format!("score must be 1 to {MAX_ABUSE_SCORE}")));
        }
        let next = Service { abuse_score: self.abuse_score.saturating_add(score), ..self.clone() };
        let details = json!({"score": score, "abuse_score": next.abuse_score, "description": description});
        Ok(self.record(next, actor, Action::AbuseReport, now, details))
    }

    /// Whether the abuse sweep should suspend this service now.
    pub fn abuse_due(&self, rules: &ProductTypeRules) -> bool {
        rules.abuse_limit > 0
            && self.abuse_score >= rules.abuse_limit
            && !self.holds.contains(&Hold::Abuse)
            && self.pending.is_none()
            && matches!(
                self.status,
                Status::Active | Status::Suspended | Status::SuspendedByAdmin | Status::TemporarilySuspended
            )
    }

    /// Suspends for abuse (the client cannot lift it; the provider's resume clears the score).
    pub fn suspend_for_abuse(
        &self,
        rules: &ProductTypeRules,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Change, Refusal> {
        if !self.abuse_due(rules) {
            return Err(Refusal::Conflict("not due".into()));
        }
        let mut next = self.clone();
        next.holds.push(Hold::Abuse);
        next.holds.sort();
        let details =
            json!({"hold": Hold::Abuse, "abuse_score": self.abuse_score, "limit": rules.abuse_limit});
        if self.status == Status::Active {
            return Ok(self.start(next, Work::Suspension, actor, now, 0, details));
        }
        next.status = resting_status(&next.holds);
        Ok(self.record(next, actor, Action::Suspension, now, details))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lifecycle::Outcome;

    fn at(day: i64) -> Timestamp {
        Timestamp::parse("2026-11-01T00:00:00Z").unwrap().plus_seconds(day * DAY)
    }

    fn rules() -> ProductTypeRules {
        crate::domain::catalog::sample_rules()
    }

    fn done(change: Change, now: Timestamp) -> Service {
        let id = change.queued.clone().expect("queued");
        change.service.finish(&id, Outcome::Done, now).unwrap().service
    }

    /// Active from day 0, expiring on day 30.
    fn active() -> Service {
        let ordered = crate::domain::order::sample_service(at(0));
        done(ordered.pay_order(&system("test"), at(0)).unwrap(), at(0))
    }

    #[test]
    fn renewal_is_due_within_the_lead_and_once_a_day_when_declined() {
        let service = active();
        assert!(!service.renewal_due(&rules(), at(26)));
        assert!(service.renewal_due(&rules(), at(27)));
        let declined = service.decline_renewal(500, 0, &system("auto-renewal"), at(27)).unwrap().service;
        assert!(!declined.renewal_due(&rules(), at(27)));
        assert_eq!(declined.decline_renewal(500, 0, &system("auto-renewal"), at(27)), None);
        assert!(declined.renewal_due(&rules(), at(28)));
        let off =
            Service { auto_renew: crate::domain::AutoRenew { enabled: false, period_months: 1 }, ..service };
        assert!(!off.renewal_due(&rules(), at(29)));
    }

    #[test]
    fn expiry_suspends_for_non_payment_then_purge_deletes() {
        let service = active();
        assert!(service.expire(&system("expiry"), at(29)).is_err(), "not expired yet");
        let lapsed = done(service.expire(&system("expiry"), at(30)).unwrap(), at(30));
        assert_eq!((lapsed.status, lapsed.non_payment_since), (Status::TemporarilySuspended, Some(at(30))));
        assert!(lapsed.expire(&system("expiry"), at(31)).is_err(), "once");
        assert!(lapsed.purge(&rules(), &system("expiry"), at(43)).is_err());
        let gone = done(lapsed.purge(&rules(), &system("expiry"), at(44)).unwrap(), at(44));
        assert_eq!(gone.status, Status::Deleted);
    }

    #[test]
    fn a_renewal_lifts_non_payment() {
        let lapsed = done(active().expire(&system("expiry"), at(30)).unwrap(), at(30));
        let renewed = done(lapsed.renew(1, &system("test"), at(32)).unwrap(), at(32));
        assert_eq!((renewed.status, renewed.non_payment_since), (Status::Active, None));
        assert_eq!(renewed.expires_at, Some(at(32).plus_months(1)));
    }

    #[test]
    fn a_grace_holds_off_the_suspension_until_it_ends_and_a_renewal_clears_it() {
        let ops = Actor { id: "ops".into(), role: Role::Provider };
        let service = active();
        assert!(service.grant_grace(at(29), "promised", &ops, at(1)).is_err(), "before expiry");
        assert!(service.grant_grace(at(40), " ", &ops, at(1)).is_err());
        let graced = service.grant_grace(at(40), "bank transfer on its way", &ops, at(1)).unwrap();
        assert_eq!((graced.entry.operation, graced.queued.clone()), (Action::Grace, None));
        let graced = graced.service;
        assert_eq!((graced.expires_at, graced.lapses_at()), (service.expires_at, Some(at(40))));
        assert!(graced.expire(&system("expiry"), at(39)).is_err(), "kept by the grace");
        let lapsed = done(graced.expire(&system("expiry"), at(40)).unwrap(), at(40));
        assert_eq!(lapsed.status, Status::TemporarilySuspended);
        assert!(lapsed.grant_grace(at(50), "again", &ops, at(41)).is_err(), "suspended already");
        let renewed = done(graced.renew(1, &ops, at(35)).unwrap(), at(35));
        assert_eq!((renewed.grace.clone(), renewed.expires_at), (None, Some(at(30).plus_months(1))));
    }

    #[test]
    fn a_scheduled_client_deletion_happens_at_expiry() {
        let scheduled = Service { delete_at: Some(at(30)), ..active() };
        let change = scheduled.expire(&system("expiry"), at(30)).unwrap();
        assert_eq!(change.service.operation, Some(crate::domain::Operation::Deletion));
    }

    #[test]
    fn abuse_reports_add_up_to_the_limit() {
        let reporter = Actor { id: "abuse-feed".into(), role: Role::Provider };
        let service = active();
        let once = service.report_abuse(60, "spam", &reporter, at(1)).unwrap().service;
        assert!(!once.abuse_due(&rules()));
        let twice = once.report_abuse(40, "spam", &reporter, at(2)).unwrap().service;
        assert!(twice.abuse_due(&rules()));
        let suspended = done(twice.suspend_for_abuse(&rules(), &system("abuse"), at(2)).unwrap(), at(2));
        assert_eq!(suspended.status, Status::SuspendedAbuse);
        assert!(suspended.enable(&Actor { id: "alice".into(), role: Role::Client }, at(3)).is_err());
        let resumed = done(suspended.enable(&reporter, at(3)).unwrap(), at(3));
        assert_eq!((resumed.status, resumed.abuse_score), (Status::Active, 0));
        assert!(service.report_abuse(0, "x", &reporter, at(1)).is_err());
    }

    /// Found by review: a declined renewal was mailed once per UTC day, so twice an hour
    /// apart around midnight and daily through the lead time and a grace.
    #[test]
    fn a_declined_renewal_is_told_once_per_attempt_window_and_recorded_each_day() {
        use crate::domain::events::LifecycleEvent;
        use crate::domain::notification::Kind;
        let told = |change: &Change| Kind::of(&LifecycleEvent::new(&change.service, &change.entry));
        let system = system("auto-renewal");
        let before_midnight = at(27).plus_seconds(-1800);
        let first = active().decline_renewal(500, 0, &system, before_midnight).unwrap();
        assert_eq!(told(&first), Some(Kind::RenewalDeclined));
        let after_midnight =
            first.service.decline_renewal(500, 0, &system, at(27).plus_seconds(1800)).unwrap();
        assert_eq!(told(&after_midnight), None, "an hour later, the same validity: recorded, not mailed");
        let next_day = after_midnight.service.decline_renewal(500, 0, &system, at(28)).unwrap();
        assert_eq!(told(&next_day), None);
        // Renewed by hand, then declined for the next validity: told again.
        let renewed = done(next_day.service.renew(1, &system, at(28)).unwrap(), at(28));
        let next_window =
            renewed.decline_renewal(500, 0, &system, renewed.expires_at.unwrap().plus_seconds(-DAY)).unwrap();
        assert_eq!(told(&next_window), Some(Kind::RenewalDeclined));
    }
}
