//! Reminders: a client is told some days ahead of its next auto-renewal attempt, of the expiry
//! of a service it renews by hand, and of the deletion of a service suspended for non-payment.
//! A product type's `remind_days_before` says how many days ahead; each reminder is sent once
//! per service, kind, due date and day count (the store keeps a marker of each).

use super::history::Actor;
use super::lifecycle::Hold;
use super::{Action, HistoryEntry, HistoryId, ProductTypeRules, Service, Status, Timestamp};
use serde_json::json;

const DAY: i64 = 86_400;

/// What a reminder is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Auto-renewal will try to renew it (and charge the balance).
    Renewal,
    /// It expires and auto-renewal is off.
    Expiry,
    /// Suspended for non-payment, it will be deleted.
    Deletion,
}

impl Due {
    pub fn action(self) -> Action {
        match self {
            Due::Renewal => Action::RenewalUpcoming,
            Due::Expiry => Action::ExpiryUpcoming,
            Due::Deletion => Action::DeletionUpcoming,
        }
    }
}

/// A reminder to send now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    pub due: Due,
    /// When the renewal attempt, the expiry or the deletion happens.
    pub at: Timestamp,
    /// The day count of `remind_days_before` this reminder is for.
    pub days: u32,
}

impl Reminder {
    /// The reminder's name in its marker and history: `renewal_upcoming`, ...
    pub fn name(&self) -> String {
        self.due.action().name()
    }
}

/// How far ahead any reminder may be: the queries' window.
pub fn horizon_seconds(rules: &ProductTypeRules) -> i64 {
    i64::from(rules.remind_days_before.iter().copied().max().unwrap_or(0)) * DAY
}

impl Service {
    /// What is due next for this service and when: its auto-renewal attempt, its expiry, or
    /// its deletion for non-payment. None when nothing is (a client's deletion is scheduled,
    /// the service is busy or gone).
    pub fn next_due(&self, rules: &ProductTypeRules) -> Option<(Due, Timestamp)> {
        if !self.at_rest() || self.delete_at.is_some() {
            return None;
        }
        if self.holds.contains(&Hold::NonPayment) {
            let since = self.non_payment_since?;
            return Some((Due::Deletion, since.plus_seconds(i64::from(rules.auto_delete_after_days) * DAY)));
        }
        let renewable = matches!(self.status, Status::Active | Status::Suspended);
        if self.auto_renew.enabled && renewable {
            let lead = i64::from(rules.renew_lead_days) * DAY;
            return Some((Due::Renewal, self.expires_at?.plus_seconds(-lead)));
        }
        // Renewed by hand, or suspended by the provider or for abuse (auto-renewal does not
        // renew it then): its expiry is reminded, or it would lapse without a word.
        Some((Due::Expiry, self.lapses_at()?))
    }

    /// The reminder due now, if any: the one of the nearest day count at or above the time left
    /// (a service found 3 days ahead with `[7, 1]` gets the 7-day reminder, once; the 1-day one
    /// comes a day ahead).
    pub fn reminder_due(&self, rules: &ProductTypeRules, now: Timestamp) -> Option<Reminder> {
        // Without a control panel, no renewal, suspension or deletion happens: a reminder
        // would promise one.
        rules.operable().ok()?;
        let (due, at) = self.next_due(rules)?;
        let left = now.seconds_until(at);
        if left <= 0 {
            return None;
        }
        let days = rules.remind_days_before.iter().copied().filter(|d| i64::from(*d) * DAY >= left).min()?;
        Some(Reminder { due, at, days })
    }

    /// The history entry of `reminder`: nothing about the service changes. `renewal` is the
    /// amount auto-renewal would charge and the balance as it is now.
    pub fn remind(
        &self,
        reminder: &Reminder,
        renewal: Option<(u64, u64)>,
        actor: &Actor,
        now: Timestamp,
    ) -> HistoryEntry {
        // The days actually left (a reminder found late, after an outage or a change of the
        // rules, says so); the day count it was sent for is `reminder`.
        let left = now.seconds_until(reminder.at).max(1);
        let days_left = (left + DAY - 1) / DAY;
        let mut details =
            json!({"days": days_left, "reminder": reminder.days, "expires_at": self.expires_at});
        match reminder.due {
            Due::Renewal => {
                let (amount, balance) = renewal.unwrap_or((self.renewal_price, 0));
                details["attempt_at"] = json!(reminder.at);
                details["amount"] = json!(amount);
                details["balance"] = json!(balance);
                details["covered"] = json!(balance >= amount);
            }
            Due::Expiry => {
                details["expires_at"] = json!(reminder.at);
                details["amount"] = json!(self.renewal_price_at(reminder.at));
            }
            Due::Deletion => details["delete_at"] = json!(reminder.at),
        }
        HistoryEntry {
            id: HistoryId::generate(),
            at: now,
            actor: actor.clone(),
            operation: reminder.due.action(),
            status_before: Some(self.status),
            status_after: self.status,
            details,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::system;
    use crate::domain::service::PriceChange;
    use crate::domain::AutoRenew;

    fn at(day: i64) -> Timestamp {
        Timestamp::parse("2026-11-01T00:00:00Z").unwrap().plus_seconds(day * DAY)
    }

    /// Sample rules: renewed 3 days ahead, deleted 14 days after suspension, reminded 7 and 1
    /// days ahead.
    fn rules() -> ProductTypeRules {
        ProductTypeRules {
            panel_url: Some("http://panel.test/vps".into()),
            ..crate::domain::catalog::sample_rules()
        }
    }

    /// Active, expiring on day 30, auto-renewal on: its attempt is on day 27.
    fn active() -> Service {
        let service = crate::domain::order::sample_service(at(0));
        Service { status: Status::Active, expires_at: Some(at(30)), paid: true, ..service }
    }

    #[test]
    fn each_day_count_reminds_once_in_its_window() {
        let service = active();
        assert_eq!(service.reminder_due(&rules(), at(19)), None, "8 days ahead of the attempt");
        let seven = service.reminder_due(&rules(), at(20)).unwrap();
        assert_eq!(seven, Reminder { due: Due::Renewal, at: at(27), days: 7 });
        assert_eq!(
            service.reminder_due(&rules(), at(25)).unwrap().days,
            7,
            "2 days ahead: still the 7-day one"
        );
        assert_eq!(service.reminder_due(&rules(), at(26)).unwrap().days, 1);
        assert_eq!(service.reminder_due(&rules(), at(27)), None, "the attempt is due: no reminder");
    }

    #[test]
    fn what_is_due_follows_auto_renewal_and_non_payment() {
        let off = Service { auto_renew: AutoRenew { enabled: false, period_months: 1 }, ..active() };
        assert_eq!(
            off.reminder_due(&rules(), at(29)).unwrap(),
            Reminder { due: Due::Expiry, at: at(30), days: 1 }
        );
        let lapsed = Service {
            status: Status::TemporarilySuspended,
            holds: vec![Hold::NonPayment],
            non_payment_since: Some(at(30)),
            ..active()
        };
        assert_eq!(
            lapsed.reminder_due(&rules(), at(40)).unwrap(),
            Reminder { due: Due::Deletion, at: at(44), days: 7 }
        );
        let scheduled = Service { delete_at: Some(at(30)), ..off };
        assert_eq!(scheduled.reminder_due(&rules(), at(29)), None, "its client chose to delete it");
        let none = ProductTypeRules { remind_days_before: vec![], ..rules() };
        assert_eq!(active().reminder_due(&none, at(26)), None);
    }

    /// Found by review: an auto-renewing service suspended by the provider or for abuse (which
    /// auto-renewal does not renew) lapsed without a reminder.
    #[test]
    fn an_auto_renewing_service_held_by_the_provider_is_reminded_of_its_expiry() {
        for (status, hold) in [(Status::SuspendedByAdmin, Hold::Admin), (Status::SuspendedAbuse, Hold::Abuse)]
        {
            let held = Service { status, holds: vec![hold], ..active() };
            assert_eq!(
                held.reminder_due(&rules(), at(29)).unwrap(),
                Reminder { due: Due::Expiry, at: at(30), days: 1 },
                "{status:?}"
            );
        }
    }

    /// Found by review: a type without a panel was reminded of a renewal or deletion that does
    /// not happen without one.
    #[test]
    fn no_reminder_promises_what_a_type_without_a_panel_does_not_do() {
        let no_panel = ProductTypeRules { panel_url: None, ..rules() };
        assert_eq!(active().reminder_due(&no_panel, at(26)), None);
        let lapsed = Service {
            status: Status::TemporarilySuspended,
            holds: vec![Hold::NonPayment],
            non_payment_since: Some(at(30)),
            ..active()
        };
        assert_eq!(lapsed.reminder_due(&no_panel, at(40)), None);
    }

    /// An expiry reminder quotes the renewal price at the expiry: a price change due by then,
    /// not one due after it.
    #[test]
    fn an_expiry_reminder_quotes_the_renewal_price_due_at_the_expiry() {
        let off = Service { auto_renew: AutoRenew { enabled: false, period_months: 1 }, ..active() };
        let old = off.renewal_price;
        let change = |from| PriceChange {
            renewal_price: old + 300,
            replaces: old,
            from,
            months: 1,
            tariff_id: off.tariff_id.clone(),
            bulk_operation_id: None,
        };
        let reminder = off.reminder_due(&rules(), at(29)).unwrap();
        let amount =
            |service: &Service| service.remind(&reminder, None, &system("reminders"), at(29)).details;
        let by_then = Service { price_change: Some(change(at(30))), ..off.clone() };
        assert_eq!(amount(&by_then)["amount"], old + 300, "changed at the expiry");
        let after = Service { price_change: Some(change(at(31))), ..off.clone() };
        assert_eq!(amount(&after)["amount"], old, "changed a day after it");
        assert_eq!(amount(&off)["amount"], old);
    }

    #[test]
    fn a_renewal_reminder_says_the_amount_and_whether_the_balance_covers_it() {
        let service = active();
        let reminder = service.reminder_due(&rules(), at(20)).unwrap();
        let entry = service.remind(&reminder, Some((500, 120)), &system("reminders"), at(20));
        assert_eq!(entry.operation, Action::RenewalUpcoming);
        assert_eq!((entry.status_before, entry.status_after), (Some(Status::Active), Status::Active));
        assert_eq!(entry.details["amount"], 500);
        assert_eq!(entry.details["covered"], false);
        assert_eq!(entry.details["attempt_at"], json!(at(27)));
        assert_eq!(reminder.name(), "renewal_upcoming");
        assert_eq!((entry.details["days"].clone(), entry.details["reminder"].clone()), (json!(7), json!(7)));
        let late = service.remind(&reminder, None, &system("reminders"), at(25).plus_seconds(3600));
        assert_eq!(late.details["days"], 2, "found late: the days actually left");
    }
}
