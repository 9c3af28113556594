//! A service's timeline: what the schedules will do to it and when, worked out from the service,
//! its product type's rules and the client's balance by the same rules the jobs follow (see
//! `schedule`). The past is the history; the timeline holds only what is still to come.

use super::lifecycle::Hold;
use super::{ProductTypeRules, Service, Status, Timestamp};
use serde::Serialize;

const DAY: i64 = 86_400;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Auto-renewal's next attempt, with its amount and whether the balance covers it now.
    AutoRenewal,
    /// The end of the paid period.
    Expiry,
    /// The end of a provider's grace.
    GraceEnd,
    /// Suspension for non-payment, if not renewed by then.
    Suspension,
    /// Deletion after `auto_delete_after_days` suspended for non-payment.
    Deletion,
    /// The client's deletion scheduled for the end of the period.
    ScheduledDeletion,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moment {
    pub at: Timestamp,
    pub event: Event,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub covered: Option<bool>,
}

impl Moment {
    fn new(at: Timestamp, event: Event) -> Self {
        Self { at, event, amount: None, covered: None }
    }
}

/// Midnight (UTC) after `now`.
fn next_day(now: Timestamp) -> Timestamp {
    let midnight = Timestamp::parse(&format!("{}T00:00:00Z", now.day())).unwrap_or(now);
    midnight.plus_seconds(DAY)
}

impl Service {
    /// What will happen to the service, in time order. A job whose moment has come acts on its
    /// next run, shown as `now`.
    pub fn timeline(&self, rules: &ProductTypeRules, balance: u64, now: Timestamp) -> Vec<Moment> {
        let Some(expires_at) = self.expires_at.filter(|_| self.status != Status::Deleted) else {
            return Vec::new();
        };
        let soon = |at: Timestamp| if at < now { now } else { at };
        let mut moments = Vec::new();
        match (self.non_payment_since, self.delete_at) {
            (Some(since), _) if self.holds.contains(&Hold::NonPayment) => {
                let deletion = since.plus_seconds(i64::from(rules.auto_delete_after_days) * DAY);
                moments.push(Moment::new(soon(deletion), Event::Deletion));
            }
            (_, Some(delete_at)) => moments.push(Moment::new(soon(delete_at), Event::ScheduledDeletion)),
            _ => {
                let renews =
                    self.auto_renew.enabled && matches!(self.status, Status::Active | Status::Suspended);
                let amount = self.renewal_price;
                let covered = balance >= amount;
                if renews {
                    let first = expires_at.plus_seconds(-i64::from(rules.renew_lead_days) * DAY);
                    let declined_today = self.renewal_declined_on.as_deref() == Some(now.day().as_str());
                    let attempt = if declined_today { next_day(now).max(first) } else { soon(first) };
                    moments.push(Moment {
                        amount: Some(amount),
                        covered: Some(covered),
                        ..Moment::new(attempt, Event::AutoRenewal)
                    });
                }
                moments.push(Moment::new(expires_at, Event::Expiry));
                if let Some(grace) = &self.grace {
                    moments.push(Moment::new(grace.until, Event::GraceEnd));
                }
                if !(renews && covered) {
                    let lapse = soon(self.lapses_at().unwrap_or(expires_at));
                    let deletion = lapse.plus_seconds(i64::from(rules.auto_delete_after_days) * DAY);
                    moments.push(Moment::new(lapse, Event::Suspension));
                    moments.push(Moment::new(deletion, Event::Deletion));
                }
            }
        }
        moments.retain(|m| m.at >= now);
        // Stable: at the same moment, the order pushed (renewal before expiry before suspension).
        moments.sort_by_key(|m| m.at);
        moments
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: i64) -> Timestamp {
        Timestamp::parse("2026-11-01T00:00:00Z").unwrap().plus_seconds(day * DAY)
    }

    fn rules() -> ProductTypeRules {
        crate::domain::catalog::sample_rules()
    }

    fn active() -> Service {
        let service = crate::domain::order::sample_service(at(0));
        Service { status: Status::Active, expires_at: Some(at(30)), ..service }
    }

    fn events(moments: &[Moment]) -> Vec<(Timestamp, Event)> {
        moments.iter().map(|m| (m.at, m.event.clone())).collect()
    }

    #[test]
    fn a_covered_renewal_comes_before_the_expiry_and_nothing_after() {
        let moments = active().timeline(&rules(), 10_000, at(1));
        assert_eq!(events(&moments), vec![(at(27), Event::AutoRenewal), (at(30), Event::Expiry)]);
        assert_eq!((moments[0].amount, moments[0].covered), (Some(500), Some(true)));
    }

    #[test]
    fn an_uncovered_renewal_is_followed_by_suspension_and_deletion() {
        let moments = active().timeline(&rules(), 100, at(1));
        assert_eq!(
            events(&moments),
            vec![
                (at(27), Event::AutoRenewal),
                (at(30), Event::Expiry),
                (at(30), Event::Suspension),
                (at(44), Event::Deletion)
            ]
        );
        assert_eq!(moments[0].covered, Some(false));
        let declined = Service { renewal_declined_on: Some(at(28).day()), ..active() };
        assert_eq!(declined.timeline(&rules(), 0, at(28).plus_seconds(3600))[0].at, at(29), "tried tomorrow");
    }

    #[test]
    fn a_grace_moves_the_suspension_and_a_lapse_leaves_only_the_deletion() {
        let graced = Service {
            grace: Some(crate::domain::service::Grace { until: at(40), reason: "promised".into() }),
            auto_renew: crate::domain::AutoRenew { enabled: false, period_months: 1 },
            ..active()
        };
        let moments = graced.timeline(&rules(), 0, at(31));
        assert_eq!(
            events(&moments),
            vec![(at(40), Event::GraceEnd), (at(40), Event::Suspension), (at(54), Event::Deletion)],
            "the expiry is past"
        );
        let lapsed = Service {
            status: Status::TemporarilySuspended,
            holds: vec![Hold::NonPayment],
            non_payment_since: Some(at(30)),
            ..active()
        };
        assert_eq!(events(&lapsed.timeline(&rules(), 0, at(31))), vec![(at(44), Event::Deletion)]);
        let leaving = Service { delete_at: Some(at(30)), ..active() };
        assert_eq!(events(&leaving.timeline(&rules(), 0, at(1))), vec![(at(30), Event::ScheduledDeletion)]);
        let ordered = crate::domain::order::sample_service(at(0));
        assert!(ordered.timeline(&rules(), 0, at(1)).is_empty());
    }
}
