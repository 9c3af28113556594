//! Changes to a service's configuration: edits, tariff changes and options. Tariff and option
//! changes are charged (or credited) pro rata for the rest of the paid period (see `pricing`).

use super::history::Actor;
use super::lifecycle::{Change, Hold, Refusal, Work};
use super::order::{check_params, list_price, options_monthly_price};
use super::paid_time::{
    list_lines, price_change, total, with_owed_until, with_validity_until, Holding, PaidLine, PricedChange,
    Stretch, StretchKind, Target,
};
use super::pricing::{charge_or_credit, special_lines, MAX_AMOUNT};
use super::service::{PriceChange, SpecialPrice};
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
            let months = auto_renew.period_months;
            list_price(tariff, months, &self.options, "auto_renew.period_months").map_err(invalid)?;
            // On a grace, the time it runs is owed at its renewal price: a period cheaper by
            // the month would lower it.
            if let (Some(expires_at), true) = (self.expires_at, months != self.auto_renew.period_months) {
                self.ensure_paid_time_for_more("change its renewal period", expires_at, at)?;
            }
            // A special price keeps its price per month; otherwise the list price.
            let (price, lines) = if self.special_price {
                self.special_price_for(months)?
            } else {
                let lines = list_lines(Holding { tariff, options: &self.options }, months)?;
                (total(&lines), lines)
            };
            next.renewal_price = price;
            next.renewal_lines = lines;
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
            let lines =
                list_lines(Holding { tariff, options: &next.options }, next.auto_renew.period_months)?;
            next.renewal_lines = special_lines(&lines, price);
            next.special_price = price != list;
            next.special =
                next.special_price.then_some(SpecialPrice { price, months: next.auto_renew.period_months });
            details["renewal_price"] = json!(price);
        }
        if let Some(expires_at) = edit.expires_at {
            if self.expires_at.is_none() {
                return Err(Refusal::Conflict("a service gets its validity when it is activated".into()));
            }
            let record = self.paid_time();
            if let Some(activated) = record.first().map(|s| s.from).filter(|from| expires_at <= *from) {
                return Err(Refusal::Invalid(format!(
                    "expires_at must be after the service's activation ({activated})"
                )));
            }
            // Time the provider gives is not paid for: it is never credited. (A service with no
            // record yet gets one from `record-paid-time`, over its validity as it is then.)
            if !self.paid_time_unknown() {
                next.paid_time = with_validity_until(&record, expires_at, self.auto_renew.period_months);
            }
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
                "its paid period ended on {expires_at}: renew it first to {what}"
            )));
        }
        Ok(())
    }

    /// Sets the renewal price from `from` on (the provider, under notice): a renewal made
    /// before `from` stays at the price it replaces (see `Service::with_price_due`).
    pub fn schedule_renewal_price(
        &self,
        price: super::bulk::NewPrice,
        from: Timestamp,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<Change, Refusal> {
        self.ensure_idle("change the renewal price of")?;
        if self.expires_at.is_none() {
            return Err(Refusal::Conflict(format!(
                "a service that is {} has no renewal to price yet",
                self.status.as_str()
            )));
        }
        if from <= at {
            return Err(Refusal::Invalid("from must be ahead".into()));
        }
        if actor.role != Role::Provider {
            return Err(Refusal::Forbidden("only the provider sets renewal prices".into()));
        }
        price.check().map_err(Refusal::Invalid)?;
        let renewal_price = price.applied_to(self.renewal_price)?;
        let mut next = self.clone();
        next.price_change = Some(PriceChange {
            renewal_price,
            replaces: self.renewal_price,
            from,
            months: self.auto_renew.period_months,
            tariff_id: self.tariff_id.clone(),
            bulk_operation_id: None,
        });
        let details = json!({
            "renewal_price_before": self.renewal_price,
            "renewal_price": renewal_price,
            "from": from,
        });
        Ok(self.record(next, actor, Action::PriceChange, at, details))
    }

    /// The service as a renewal made at `at` prices it: with the renewal price set ahead taken
    /// in once its date has come. It was announced over one renewal price, period and tariff:
    /// once any of them changed since (a tariff, options or period change, the provider's own
    /// price), it lapses unused, and the renewal is at the price the service has.
    pub(crate) fn with_price_due(&self, at: Timestamp) -> Result<Service, Refusal> {
        let Some(change) = self.price_change.as_ref().filter(|c| c.from <= at) else {
            return Ok(self.clone());
        };
        let mut next = Service { price_change: None, ..self.clone() };
        let months = self.auto_renew.period_months;
        let as_announced = change.tariff_id == self.tariff_id
            && change.months == months
            && change.replaces == self.renewal_price;
        if !as_announced {
            return Ok(next);
        }
        let price = change.renewal_price;
        next.renewal_lines = special_lines(&self.renewal_lines(), price);
        next.renewal_price = price;
        next.special_price = true;
        next.special = Some(SpecialPrice { price, months });
        Ok(next)
    }

    /// The renewal price a renewal made at `at` would be (see `with_price_due`): what a reminder
    /// of a renewal or an expiry ahead quotes.
    pub fn renewal_price_at(&self, at: Timestamp) -> u64 {
        self.with_price_due(at).map_or(self.renewal_price, |due| due.renewal_price)
    }

    /// Moves to tariff `to`, one the current tariff `from` may change to. Answers the change and
    /// what to charge now; an upgrade's charge is refunded if the panel fails, a downgrade's
    /// credit is given when the panel is done. Priced from the paid time (`paid_time`); a
    /// special price ends (it belongs to the tariff it was set on).
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
        let missing: Vec<&str> =
            to.required_params.iter().filter(|p| !self.params.contains_key(*p)).map(String::as_str).collect();
        if !missing.is_empty() {
            return Err(Refusal::Invalid(format!(
                "tariff `{}` requires parameters the service lacks: {}",
                to.id,
                missing.join(", ")
            )));
        }
        // A certificate's request must fit the new tariff's terms: its renewals are issued for it.
        if let (Some(terms), Some(csr)) = (&to.certificate, self.params.get(super::csr::CSR_PARAM)) {
            let validation = self.params.get(super::csr::VALIDATION_PARAM).map_or("", String::as_str);
            super::csr::check_order(csr, validation, terms).map_err(invalid)?;
        }
        // The new tariff must sell the service's period as well as its renewal period.
        list_price(to, self.period_months, &self.options, "period_months").map_err(invalid)?;
        let months = self.auto_renew.period_months;
        list_price(to, months, &self.options, "auto_renew.period_months").map_err(invalid)?;
        let renewal_lines = list_lines(Holding { tariff: to, options: &self.options }, months)?;
        let renewal_price = total(&renewal_lines);
        if renewal_price > self.renewal_price {
            self.ensure_paid_time_for_more("move it to a dearer tariff", expires_at, at)?;
        }
        let record = self.record_at(expires_at, at)?;
        let target = Target {
            holding: Holding { tariff: to, options: &self.options },
            keeps_tariff_line: false,
            never_charges: self.cheaper_everywhere(from, to, &record, at)?,
        };
        let priced = price_change(&record, target, at)?;
        let (charge, credit) = charge_or_credit(priced.amount);
        let mut details = json!({"from": from.id, "to": to.id, "amount": priced.amount});
        if self.special_price {
            details["special_price_ended"] = json!(true);
        }
        let work = Work::TariffChange {
            tariff_id: to.id.clone(),
            renewal_price,
            credit,
            renewal_lines,
            record: priced.record,
        };
        Ok((self.start(self.clone(), work, actor, at, charge, details), charge))
    }

    /// Whether `to` costs less than `from` at list price, with the service's options, in every
    /// period that matters: its renewal period and each period the time left was bought in.
    /// Judged on the renewal period alone, a move from a tariff cheap by the year to one cheap
    /// by the month would hold the dearer tariff's year for what the cheaper one cost.
    fn cheaper_everywhere(
        &self,
        from: &Tariff,
        to: &Tariff,
        record: &[Stretch],
        at: Timestamp,
    ) -> Result<bool, Refusal> {
        let left = record.iter().filter(|s| s.to > at && s.kind == StretchKind::Paid).map(|s| s.months);
        for months in left.chain([self.auto_renew.period_months]) {
            let old = total(&list_lines(Holding { tariff: from, options: &self.options }, months)?);
            let new = total(&list_lines(Holding { tariff: to, options: &self.options }, months)?);
            if new >= old {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The paid time as a change at `at` finds it: past the validity, on a grace, the time run
    /// since on the configuration being left is owed at its renewal price (see `owed_after`;
    /// the renewal period does not change on a grace).
    fn record_at(&self, expires_at: Timestamp, at: Timestamp) -> Result<Vec<Stretch>, Refusal> {
        self.ensure_paid_time_known()?;
        let months = self.auto_renew.period_months;
        Ok(self.owed_after(self.paid_time(), expires_at, at, months, &self.renewal_lines()))
    }

    /// `record` with the time the service ran past `expires_at` until `at` (on a grace; until
    /// its suspension for non-payment, when it was suspended) owed at `lines` for `months`.
    pub(crate) fn owed_after(
        &self,
        record: Vec<Stretch>,
        expires_at: Timestamp,
        at: Timestamp,
        months: u16,
        lines: &[PaidLine],
    ) -> Vec<Stretch> {
        // A service suspended for non-payment ran nothing after its suspension.
        let ran_until = self
            .non_payment_since
            .filter(|_| self.holds.contains(&Hold::NonPayment))
            .map_or(at, |s| s.min(at));
        if ran_until <= expires_at {
            return record;
        }
        let anchor_day = self.anchor_day(expires_at);
        let held = (&self.tariff_id, &self.options[..]);
        with_owed_until(&record, ran_until, expires_at, months, anchor_day, held, lines)
    }

    /// Sets the whole set of options. As a tariff change, priced from the paid time: the
    /// tariff's part keeps what was paid for it, the options are priced at their list prices;
    /// the difference is charged now, or credited when done.
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
        let (renewal_price, renewal_lines) = self.renewal_with_options(tariff, &options)?;
        if new_monthly > old_monthly {
            self.ensure_paid_time_for_more("add options to it", expires_at, at)?;
        }
        let priced = self.price_options(tariff, &options, expires_at, at)?;
        let (charge, credit) = charge_or_credit(priced.amount);
        let details = json!({"options": options, "amount": priced.amount});
        let work =
            Work::OptionsChange { options, renewal_price, credit, renewal_lines, record: priced.record };
        Ok((self.start(self.clone(), work, actor, at, charge, details), charge))
    }

    /// A move to `options` on `tariff` priced from the paid time, the tariff's part kept.
    pub(crate) fn price_options(
        &self,
        tariff: &Tariff,
        options: &[OptionLine],
        expires_at: Timestamp,
        at: Timestamp,
    ) -> Result<PricedChange, Refusal> {
        let target =
            Target { holding: Holding { tariff, options }, keeps_tariff_line: true, never_charges: false };
        price_change(&self.record_at(expires_at, at)?, target, at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::sample_tariff;
    use crate::domain::TariffId;

    #[test]
    fn a_move_to_a_tariff_requiring_parameters_the_service_lacks_is_refused_naming_them() {
        let at = Timestamp::parse("2026-11-01T00:00:00Z").unwrap();
        let mut service = crate::domain::order::sample_service(at);
        service.status = Status::Active;
        service.expires_at = Some(at.plus_months(1));
        service.net_paid = Some(service.order_price);
        let pro = TariffId::parse("vps-pro").unwrap();
        let from = Tariff { change_to: vec![pro.clone()], ..sample_tariff() };
        let mut to = Tariff { id: pro, change_to: vec![], ..sample_tariff() };
        to.required_params.extend(["ssh_key".to_owned(), "hostname".to_owned()]);
        let actor = Actor { id: "alice".into(), role: Role::Client };
        let refused = service.change_tariff(&from, &to, &actor, at.plus_seconds(3600)).unwrap_err();
        let Refusal::Invalid(message) = refused else { panic!("{refused:?}") };
        assert!(message.contains("ssh_key") && message.contains("hostname"), "{message}");
        assert!(!message.contains("os_template"), "the service has it: {message}");
    }
}
