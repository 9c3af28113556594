//! Placing an order: a client picks a tariff, a period, options and parameters, and gets a
//! service in the cart (`ordered`), or `configuration_required` for a quick order that lacks
//! required parameters.

use super::catalog::{is_slug, MAX_PARAMS, MAX_PARAM_NAME_LEN};
use super::csr::{CSR_PARAM, MAX_CSR_LEN, VALIDATION_PARAM};
use super::{
    Action, AutoRenew, ClientId, HistoryEntry, HistoryId, OptionLine, Principal, RuleViolation, Service,
    ServiceId, Status, Tariff, Timestamp,
};
use std::collections::BTreeMap;

/// Longest parameter value accepted.
pub const MAX_PARAM_VALUE_LEN: usize = 255;

/// An order as the client asked for it, already well-formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    pub client_id: ClientId,
    pub period_months: u16,
    pub auto_renew: Option<AutoRenew>,
    pub params: BTreeMap<String, String>,
    pub options: Vec<OptionLine>,
    pub quick: bool,
}

/// Checks an order against its tariff and builds the new service with its first history entry.
pub fn place_order(
    tariff: &Tariff,
    order: OrderRequest,
    actor: &Principal,
    now: Timestamp,
) -> Result<(Service, HistoryEntry), RuleViolation> {
    let order_price = period_price(tariff, order.period_months, "period_months")?;
    let auto_renew =
        order.auto_renew.unwrap_or(AutoRenew { enabled: true, period_months: order.period_months });
    let renewal_period_price = period_price(tariff, auto_renew.period_months, "auto_renew.period_months")?;
    let options_per_month = options_monthly_price(tariff, &order.options)?;
    let complete = check_params(tariff, &order.params)?;
    let status = match (complete, order.quick) {
        (true, _) => Status::Ordered,
        (false, true) => Status::ConfigurationRequired,
        (false, false) => {
            let missing: Vec<&str> = tariff
                .required_params
                .iter()
                .filter(|p| !order.params.contains_key(*p))
                .map(String::as_str)
                .collect();
            return Err(RuleViolation::new(format!("missing required parameters: {}", missing.join(", "))));
        }
    };
    let renewal_price = with_options(renewal_period_price, options_per_month, auto_renew.period_months)?;
    let holding = super::paid_time::Holding { tariff, options: &order.options };
    let renewal_lines = super::paid_time::list_lines(holding, auto_renew.period_months)
        .map_err(|refusal| RuleViolation::new(refusal.message()))?;
    let order_price = with_options(order_price, options_per_month, order.period_months)?;
    let order_lines = super::paid_time::list_lines(holding, order.period_months)
        .map(|lines| super::paid_time::scaled_to(&lines, order_price))
        .map_err(|refusal| RuleViolation::new(refusal.message()))?;
    let service = Service {
        status,
        renewal_price,
        auto_renew,
        params: order.params,
        options: order.options,
        order_price,
        renewal_lines,
        order_lines,
        ..Service::new_on(ServiceId::generate(), order.client_id, tariff, order.period_months, now)
    };
    let entry = HistoryEntry {
        id: HistoryId::generate(),
        at: now,
        actor: actor.into(),
        operation: Action::Order,
        status_before: None,
        status_after: status,
        details: serde_json::json!({
            "tariff_id": tariff.id,
            "period_months": service.period_months,
            "price": service.order_price,
            "options": service.options,
            "quick": order.quick,
        }),
    };
    Ok((service, entry))
}

/// What `months` of the tariff cost with these options (each priced per unit per month).
pub fn list_price(
    tariff: &Tariff,
    months: u16,
    options: &[OptionLine],
    field: &str,
) -> Result<u64, RuleViolation> {
    with_options(period_price(tariff, months, field)?, options_monthly_price(tariff, options)?, months)
}

/// A period's price plus `months` of options at `options_per_month`, refused past
/// `MAX_AMOUNT`: a price is an amount like any other, and the sums of prices (a cart, a
/// ledger) stay far from overflow.
fn with_options(period_price: u64, options_per_month: u64, months: u16) -> Result<u64, RuleViolation> {
    options_per_month
        .checked_mul(u64::from(months))
        .and_then(|options| options.checked_add(period_price))
        .filter(|price| *price <= super::pricing::MAX_AMOUNT)
        .ok_or_else(too_large)
}

fn too_large() -> RuleViolation {
    RuleViolation::new("the price is larger than a service can be charged")
}

fn period_price(tariff: &Tariff, months: u16, field: &str) -> Result<u64, RuleViolation> {
    tariff.prices.for_period(months).ok_or_else(|| {
        let sold: Vec<String> = tariff.prices.periods().map(|m| m.to_string()).collect();
        RuleViolation::new(format!(
            "{field}: tariff `{}` is not sold for {months} months (sold for: {})",
            tariff.id,
            sold.join(", ")
        ))
    })
}

/// The monthly price of the chosen options, after checking each against the tariff.
pub fn options_monthly_price(tariff: &Tariff, lines: &[OptionLine]) -> Result<u64, RuleViolation> {
    let mut total = 0;
    for (i, line) in lines.iter().enumerate() {
        let offer = tariff.option(&line.id).ok_or_else(|| {
            RuleViolation::new(format!("tariff `{}` offers no option `{}`", tariff.id, line.id))
        })?;
        if lines[..i].iter().any(|l| l.id == line.id) {
            return Err(RuleViolation::new(format!("option `{}` is listed twice", line.id)));
        }
        if line.quantity == 0 || line.quantity > offer.max {
            return Err(RuleViolation::new(format!(
                "option `{}`: quantity {} is outside 1..={}",
                line.id, line.quantity, offer.max
            )));
        }
        total = offer
            .price
            .checked_mul(u64::from(line.quantity))
            .and_then(|price| price.checked_add(total))
            .ok_or_else(too_large)?;
    }
    Ok(total)
}

/// Checks the given parameters; answers whether every required one is present.
pub fn check_params(tariff: &Tariff, params: &BTreeMap<String, String>) -> Result<bool, RuleViolation> {
    if params.len() > MAX_PARAMS {
        return Err(RuleViolation::new("at most 20 parameters"));
    }
    for (name, value) in params {
        if !is_slug(name, MAX_PARAM_NAME_LEN) || !tariff.required_params.contains(name) {
            return Err(RuleViolation::new(format!("tariff `{}` takes no parameter `{name}`", tariff.id)));
        }
        let max = match (&tariff.certificate, name.as_str()) {
            (Some(_), CSR_PARAM) => MAX_CSR_LEN,
            _ => MAX_PARAM_VALUE_LEN,
        };
        // Several lines allowed: a certificate signing request is a PEM block.
        super::text::paragraphs(value, &format!("parameter `{name}`"), max)?;
    }
    // A certificate's names are checked before it is paid for: the CA would refuse it after.
    if let (Some(terms), Some(csr), Some(validation)) =
        (&tariff.certificate, params.get(CSR_PARAM), params.get(VALIDATION_PARAM))
    {
        super::csr::check_order(csr, validation, terms)?;
    }
    Ok(tariff.required_params.iter().all(|p| params.contains_key(p)))
}

/// For unit tests: alice's order of `sample_tariff` for one month, placed at `at`.
#[cfg(test)]
pub(crate) fn sample_service(at: Timestamp) -> Service {
    sample_order(at).0
}

/// `sample_service` with its order's history entry (also a made-up example for a template's
/// check).
pub(crate) fn sample_order(at: Timestamp) -> (Service, HistoryEntry) {
    let alice = Principal { id: ClientId::parse("alice").unwrap(), role: super::Role::Client };
    let order = OrderRequest {
        client_id: alice.id.clone(),
        period_months: 1,
        auto_renew: None,
        params: BTreeMap::from([("os_template".to_owned(), "debian-12".to_owned())]),
        options: vec![],
        quick: false,
    };
    place_order(&super::catalog::sample_tariff(), order, &alice, at).expect("a valid order")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::sample_tariff;
    use crate::domain::Role;

    fn alice() -> Principal {
        Principal { id: ClientId::parse("alice").unwrap(), role: Role::Client }
    }

    fn order(months: u16) -> OrderRequest {
        OrderRequest {
            client_id: alice().id,
            period_months: months,
            auto_renew: None,
            params: BTreeMap::from([("os_template".into(), "debian-12".into())]),
            options: vec![],
            quick: false,
        }
    }

    fn now() -> Timestamp {
        Timestamp::parse("2026-11-25T12:00:00Z").unwrap()
    }

    #[test]
    fn a_complete_order_lands_in_the_cart() {
        let (service, entry) = place_order(&sample_tariff(), order(12), &alice(), now()).unwrap();
        assert_eq!(service.status, Status::Ordered);
        assert_eq!(service.operation, None);
        assert_eq!(service.renewal_price, 5000);
        assert_eq!(service.auto_renew, AutoRenew { enabled: true, period_months: 12 });
        assert_eq!(service.version, 1);
        assert_eq!(service.expires_at, None);
        assert_eq!(entry.status_before, None);
        assert_eq!(entry.status_after, Status::Ordered);
        assert_eq!(entry.actor.id, "alice");
        assert_eq!(entry.details["price"], 5000);
    }

    #[test]
    fn options_are_priced_per_unit_per_month() {
        let mut o = order(12);
        o.options = vec![OptionLine { id: "ip".into(), quantity: 2 }];
        o.auto_renew = Some(AutoRenew { enabled: false, period_months: 1 });
        let (service, entry) = place_order(&sample_tariff(), o, &alice(), now()).unwrap();
        assert_eq!(entry.details["price"], 5000 + 2 * 100 * 12);
        assert_eq!(service.renewal_price, 500 + 2 * 100);
    }

    #[test]
    fn an_order_priced_past_the_largest_amount_is_refused() {
        // Each part is within bounds (an option of the largest price, 1,000 of them, a year),
        // but the whole is past what a service can be charged.
        let mut tariff = sample_tariff();
        tariff.options[0].price = crate::domain::pricing::MAX_AMOUNT;
        tariff.options[0].max = 1000;
        let mut o = order(12);
        o.options = vec![OptionLine { id: "ip".into(), quantity: 1000 }];
        let err = place_order(&tariff, o, &alice(), now()).unwrap_err();
        assert!(err.0.contains("larger than a service can be charged"), "{err}");
        let at_the_bound = list_price(&tariff, 1, &[OptionLine { id: "ip".into(), quantity: 1 }], "options");
        assert!(at_the_bound.is_err(), "500 + MAX_AMOUNT is past MAX_AMOUNT");
    }

    #[test]
    fn a_period_the_tariff_does_not_sell_is_refused() {
        let err = place_order(&sample_tariff(), order(3), &alice(), now()).unwrap_err();
        assert!(err.0.contains("not sold for 3 months"), "{err}");
        let mut o = order(1);
        o.auto_renew = Some(AutoRenew { enabled: true, period_months: 6 });
        assert!(place_order(&sample_tariff(), o, &alice(), now()).is_err());
    }

    #[test]
    fn options_must_be_offered_and_within_max() {
        for lines in [
            vec![OptionLine { id: "disk".into(), quantity: 1 }],
            vec![OptionLine { id: "ip".into(), quantity: 5 }],
            vec![OptionLine { id: "ip".into(), quantity: 0 }],
            vec![OptionLine { id: "ip".into(), quantity: 1 }, OptionLine { id: "ip".into(), quantity: 1 }],
        ] {
            let mut o = order(1);
            o.options = lines.clone();
            assert!(place_order(&sample_tariff(), o, &alice(), now()).is_err(), "{lines:?}");
        }
    }

    #[test]
    fn missing_params_need_a_quick_order() {
        let mut o = order(1);
        o.params.clear();
        let err = place_order(&sample_tariff(), o.clone(), &alice(), now()).unwrap_err();
        assert!(err.0.contains("os_template"), "{err}");
        o.quick = true;
        let (service, _) = place_order(&sample_tariff(), o, &alice(), now()).unwrap();
        assert_eq!(service.status, Status::ConfigurationRequired);
    }

    #[test]
    fn unknown_or_empty_params_are_refused() {
        let mut o = order(1);
        o.params.insert("hostname".into(), "x".into());
        assert!(place_order(&sample_tariff(), o, &alice(), now()).is_err());
        let mut o = order(1);
        o.params.insert("os_template".into(), " ".into());
        assert!(place_order(&sample_tariff(), o, &alice(), now()).is_err());
    }
}
