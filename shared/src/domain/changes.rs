//! Changes to a service's configuration: edits, tariff changes and options. Tariff and option
//! changes are charged (or credited) pro rata by day for the rest of the paid period.

use super::history::Actor;
use super::lifecycle::{Change, Refusal, Work};
use super::order::{check_params, list_price, options_monthly_price};
use super::{Action, AutoRenew, OptionLine, Role, Service, Status, Tariff, Timestamp};
use serde_json::json;
use std::collections::BTreeMap;

/// An edit: any of the fields, each replacing the service's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edit {
    pub renewal_price: Option<u64>,
    pub expires_at: Option<Timestamp>,
    pub auto_renew: Option<AutoRenew>,
    pub params: Option<BTreeMap<String, String>>,
}

const DAY: i64 = 86_400;

/// The part of `amount` (the price of a whole period of `period_months` ending at `expires_at`)
/// that falls on the days left from `now`, a started day counting whole.
pub fn prorate(amount: i64, period_months: u16, expires_at: Timestamp, now: Timestamp) -> i64 {
    let start = expires_at.minus_months(u32::from(period_months));
    let total_days = (start.seconds_until(expires_at) / DAY).max(1);
    let left_days = ((now.seconds_until(expires_at) + DAY - 1) / DAY).clamp(0, total_days);
    (i128::from(amount) * i128::from(left_days) / i128::from(total_days)) as i64
}

fn invalid(violation: super::RuleViolation) -> Refusal {
    Refusal::Invalid(violation.0)
}

impl Service {
    /// Edits: the provider the renewal price (a price other than the tariff's marks a special
    /// price), the validity and auto-renewal; a client auto-renewal and a quick order's missing
    /// parameters, which move it on (to the cart, or to activation when paid).
    pub fn edit(&self, edit: Edit, tariff: &Tariff, actor: &Actor, at: Timestamp) -> Result<Change, Refusal> {
        self.ensure_idle("edit")?;
        if actor.role == Role::Client && (edit.renewal_price.is_some() || edit.expires_at.is_some()) {
            return Err(Refusal::Forbidden("only the provider sets renewal_price and expires_at".into()));
        }
        let mut next = self.clone();
        let mut details = json!({});
        if let Some(auto_renew) = edit.auto_renew {
            let list =
                list_price(tariff, auto_renew.period_months, &self.options, "auto_renew.period_months")
                    .map_err(invalid)?;
            next.auto_renew = auto_renew;
            if !self.special_price {
                next.renewal_price = list;
            }
            details["auto_renew"] = json!(auto_renew);
        }
        if let Some(price) = edit.renewal_price {
            let list =
                list_price(tariff, next.auto_renew.period_months, &next.options, "auto_renew.period_months")
                    .map_err(invalid)?;
            next.renewal_price = price;
            next.special_price = price != list;
            details["renewal_price"] = json!(price);
        }
        if let Some(expires_at) = edit.expires_at {
            if self.expires_at.is_none() {
                return Err(Refusal::Conflict("a service gets its validity when it is activated".into()));
            }
            next.expires_at = Some(expires_at);
            details["expires_at"] = json!(expires_at);
        }
        if let Some(params) = edit.params {
            if self.status != Status::ConfigurationRequired {
                return Err(self.refuse_status("set the parameters of"));
            }
            let mut merged = self.params.clone();
            merged.extend(params);
            let complete = check_params(tariff, &merged).map_err(invalid)?;
            next.params = merged;
            details["params"] = json!(next.params);
            if complete && self.paid {
                return Ok(self.start(next, Work::Activation, actor, at, 0, details));
            }
            if complete {
                next.status = Status::Ordered;
            }
        }
        Ok(self.record(next, actor, Action::Edit, at, details))
    }

    fn ensure_changeable(&self, what: &str) -> Result<Timestamp, Refusal> {
        self.ensure_idle(what)?;
        let changeable = matches!(
            self.status,
            Status::Active | Status::Suspended | Status::SuspendedAbuse | Status::TemporarilySuspended
        );
        self.expires_at.filter(|_| changeable).ok_or_else(|| self.refuse_status(what))
    }

    /// Moves to tariff `to`, one the current tariff `from` may change to. Answers the change and
    /// what to charge now; an upgrade's charge is refunded if the panel fails, a downgrade's
    /// credit is given when the panel is done.
    pub fn change_tariff(
        &self,
        from: &Tariff,
        to: &Tariff,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<(Change, u64), Refusal> {
        let expires_at = self.ensure_changeable("change the tariff of")?;
        if !from.change_to.contains(&to.id) || from.product_type != to.product_type {
            return Err(Refusal::Invalid(format!("tariff `{}` cannot change to `{}`", from.id, to.id)));
        }
        let old = list_price(from, self.period_months, &self.options, "period_months").map_err(invalid)?;
        let new = list_price(to, self.period_months, &self.options, "period_months").map_err(invalid)?;
        let renewal_price =
            list_price(to, self.auto_renew.period_months, &self.options, "auto_renew.period_months")
                .map_err(invalid)?;
        let amount = prorate(new as i64 - old as i64, self.period_months, expires_at, at);
        let (charge, credit) = if amount > 0 { (amount as u64, 0) } else { (0, amount.unsigned_abs()) };
        let details = json!({"from": from.id, "to": to.id, "amount": amount});
        let work = Work::TariffChange { tariff_id: to.id.clone(), renewal_price, credit };
        Ok((self.start(self.clone(), work, actor, at, charge, details), charge))
    }

    /// Sets the whole set of options. As a tariff change, the difference for the days left is
    /// charged now, or credited when done.
    pub fn change_options(
        &self,
        tariff: &Tariff,
        options: Vec<OptionLine>,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<(Change, u64), Refusal> {
        let expires_at = self.ensure_changeable("change the options of")?;
        if self.status != Status::Active {
            return Err(self.refuse_status("change the options of"));
        }
        let new_monthly = options_monthly_price(tariff, &options).map_err(invalid)?;
        let old_monthly = options_monthly_price(tariff, &self.options).map_err(invalid)?;
        let renewal_price =
            list_price(tariff, self.auto_renew.period_months, &options, "auto_renew.period_months")
                .map_err(invalid)?;
        let whole_period = (new_monthly as i64 - old_monthly as i64) * i64::from(self.period_months);
        let amount = prorate(whole_period, self.period_months, expires_at, at);
        let (charge, credit) = if amount > 0 { (amount as u64, 0) } else { (0, amount.unsigned_abs()) };
        let details = json!({"options": options, "amount": amount});
        let work = Work::OptionsChange { options, renewal_price, credit };
        Ok((self.start(self.clone(), work, actor, at, charge, details), charge))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn prorating_counts_whole_days_left() {
        let expires = at("2026-12-01T00:00:00Z");
        // November has 30 days; 15 of them are left.
        assert_eq!(prorate(3000, 1, expires, at("2026-11-16T00:00:00Z")), 1500);
        // A started day counts whole.
        assert_eq!(prorate(3000, 1, expires, at("2026-11-16T00:00:01Z")), 1500);
        assert_eq!(prorate(3000, 1, expires, at("2026-11-15T23:59:59Z")), 1600);
        assert_eq!(prorate(-3000, 1, expires, at("2026-11-16T00:00:00Z")), -1500);
        assert_eq!(prorate(3000, 1, expires, at("2026-12-02T00:00:00Z")), 0, "expired");
        assert_eq!(prorate(3000, 1, expires, at("2026-10-01T00:00:00Z")), 3000, "capped at the period");
    }
}
