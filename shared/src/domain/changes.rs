//! Changes to a service's configuration: edits, tariff changes and options. Tariff and option
//! changes are charged (or credited) pro rata for the rest of the paid period (see `pricing`).

use super::history::Actor;
use super::lifecycle::{Change, Hold, Refusal, Work};
use super::order::{check_params, list_price, options_monthly_price};
use super::pricing::{charge_or_credit, checked, MAX_AMOUNT};
use super::service::SpecialPrice;
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
    /// Withdraws the deletion scheduled for the end of the period (`delete_at: null`).
    pub withdraw_deletion: bool,
}

fn invalid(violation: super::RuleViolation) -> Refusal {
    Refusal::Invalid(violation.0)
}

/// Why a service whose tariff sells no options takes no options change.
pub const NO_OPTIONS: &str = "its tariff has no options";

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
            next.renewal_price =
                if self.special_price { self.special_price_for(auto_renew.period_months)? } else { list };
            next.auto_renew = auto_renew;
            details["auto_renew"] = json!(auto_renew);
        }
        if let Some(price) = edit.renewal_price {
            if price > MAX_AMOUNT {
                return Err(Refusal::Invalid(format!("renewal_price must be at most {MAX_AMOUNT}")));
            }
            let list =
                list_price(tariff, next.auto_renew.period_months, &next.options, "auto_renew.period_months")
                    .map_err(invalid)?;
            next.renewal_price = price;
            next.special_price = price != list;
            next.special =
                next.special_price.then_some(SpecialPrice { price, months: next.auto_renew.period_months });
            details["renewal_price"] = json!(price);
        }
        if let Some(expires_at) = edit.expires_at {
            if self.expires_at.is_none() {
                return Err(Refusal::Conflict("a service gets its validity when it is activated".into()));
            }
            // Time the provider gives is not paid for: it is never credited.
            next.paid_until = self.expires_at.map(|old| self.paid_until(old).min(expires_at));
            next.expires_at = Some(expires_at);
            next.anchor_day = Some(expires_at.day_of_month());
            // A deletion scheduled for the end of the period stays at its end.
            next.delete_at = self.delete_at.map(|_| expires_at);
            details["expires_at"] = json!(expires_at);
        }
        if edit.withdraw_deletion {
            let Some(scheduled) = self.delete_at else {
                return Err(Refusal::Conflict("no deletion is scheduled for this service".into()));
            };
            next.delete_at = None;
            details["deletion_withdrawn"] = json!(scheduled);
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

    pub(crate) fn ensure_changeable(&self, what: &str) -> Result<Timestamp, Refusal> {
        self.ensure_idle(what)?;
        let changeable = matches!(
            self.status,
            Status::Active | Status::Suspended | Status::SuspendedAbuse | Status::TemporarilySuspended
        );
        self.expires_at.filter(|_| changeable).ok_or_else(|| self.refuse_status(what))
    }

    /// A change to something dearer needs paid time left to charge for: past its paid period,
    /// running on a grace, it would cost nothing, and the grace would run on it (one suspended
    /// for non-payment runs nothing). A change to something cheaper credits nothing then, and
    /// lowers what the renewal costs.
    pub(crate) fn ensure_paid_time_for_more(
        &self,
        what: &str,
        expires_at: Timestamp,
        at: Timestamp,
    ) -> Result<(), Refusal> {
        if at >= expires_at && !self.holds.contains(&Hold::NonPayment) {
            return Err(Refusal::Conflict(format!(
                "its paid period ended on {expires_at}: renew it first to {what} it"
            )));
        }
        Ok(())
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
        // The new tariff must sell the service's period as well as its renewal period.
        list_price(to, self.period_months, &self.options, "period_months").map_err(invalid)?;
        let renewal_price = self.renewal_price_moving_to(from, to, &self.options)?;
        if renewal_price > self.renewal_price {
            self.ensure_paid_time_for_more("move to a dearer tariff", expires_at, at)?;
        }
        let amount = self.tariff_difference(from, to, expires_at, at)?;
        let (charge, credit) = charge_or_credit(amount);
        let details = json!({"from": from.id, "to": to.id, "amount": amount});
        let work = Work::TariffChange { tariff_id: to.id.clone(), renewal_price, credit };
        Ok((self.start(self.clone(), work, actor, at, charge, details), charge))
    }

    /// What moving from `from` to `to` costs for the time left (a credit when negative). The
    /// time left may have been bought in periods of any length (ordered, then renewed), so it is
    /// priced as if bought in each period `from` sells, and the largest amount holds: an
    /// upgrade is charged at least what any period would charge, and a downgrade credited no
    /// more than the cheapest period would give back, never more than was paid. A period `to`
    /// does not sell is priced at `to`'s lowest rate a month (`to_equivalent`): time bought in
    /// a long period only `from` sells is not credited at a shorter period's dearer rate.
    fn tariff_difference(
        &self,
        from: &Tariff,
        to: &Tariff,
        expires_at: Timestamp,
        at: Timestamp,
    ) -> Result<i64, Refusal> {
        let mut largest = None;
        for months in from.prices.periods() {
            let old = list_price(from, months, &self.options, "period_months").map_err(invalid)?;
            let new = match to.prices.for_period(months) {
                Some(_) => list_price(to, months, &self.options, "period_months").map_err(invalid)?,
                None => self.to_equivalent(to, months)?,
            };
            let amount = self.prorate_change(difference(new, old)?, months, expires_at, at)?;
            largest = largest.max(Some(amount));
        }
        largest
            .ok_or_else(|| Refusal::Invalid(format!("tariffs `{}` and `{}` share no period", from.id, to.id)))
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
        if tariff.options.is_empty() {
            return Err(Refusal::Conflict(NO_OPTIONS.into()));
        }
        let new_monthly = options_monthly_price(tariff, &options).map_err(invalid)?;
        let old_monthly = options_monthly_price(tariff, &self.options).map_err(invalid)?;
        let renewal_price = self.renewal_price_moving_to(tariff, tariff, &options)?;
        if new_monthly > old_monthly {
            self.ensure_paid_time_for_more("add options", expires_at, at)?;
        }
        let monthly = difference(new_monthly, old_monthly)?;
        let whole_period = checked(monthly.checked_mul(i64::from(self.period_months)))?;
        let amount = self.prorate_change(whole_period, self.period_months, expires_at, at)?;
        let (charge, credit) = charge_or_credit(amount);
        let details = json!({"options": options, "amount": amount});
        let work = Work::OptionsChange { options, renewal_price, credit };
        Ok((self.start(self.clone(), work, actor, at, charge, details), charge))
    }
}

impl Service {
    /// `months` of `to` at its lowest rate a month over the periods it sells (with this
    /// service's options), rounded up.
    fn to_equivalent(&self, to: &Tariff, months: u16) -> Result<u64, Refusal> {
        let mut lowest: Option<u64> = None;
        for sold in to.prices.periods() {
            let price = list_price(to, sold, &self.options, "period_months").map_err(invalid)?;
            let scaled = u128::from(price) * u128::from(months);
            let equivalent = checked(u64::try_from(scaled.div_ceil(u128::from(sold.max(1)))).ok())?;
            lowest = Some(lowest.map_or(equivalent, |l| l.min(equivalent)));
        }
        lowest.ok_or_else(|| Refusal::Invalid(format!("tariff `{}` sells no period", to.id)))
    }
}

/// `new - old` as a signed amount, refused if it does not fit.
pub(crate) fn difference(new: u64, old: u64) -> Result<i64, Refusal> {
    checked(i128::from(new).checked_sub(i128::from(old)).and_then(|d| i64::try_from(d).ok()))
}
