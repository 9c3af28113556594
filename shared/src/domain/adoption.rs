//! Adoption: an account a control panel holds and billing never ordered (a reconciliation's
//! `orphan_on_panel`) made a service of one client, as it runs, with nothing charged, no panel
//! operation and no e-mail. The time until `expires_at` is given, never paid: no credit ever
//! comes from it (see `domain::paid_time`).

use super::drift::{DriftItem, DriftKind, PanelAccount, PanelStatus};
use super::lifecycle::Hold;
use super::paid_time::{list_lines, Holding, Stretch, StretchKind};
use super::pricing::{special_lines, MAX_AMOUNT};
use super::refusal::Refusal;
use super::service::{resting_status, SpecialPrice};
use super::{Action, AutoRenew, ClientId, HistoryEntry, HistoryId, Service, ServiceId, Tariff, Timestamp};
use serde::Deserialize;

/// What the provider says of the account it adopts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Terms {
    pub client_id: ClientId,
    pub expires_at: Timestamp,
    /// What one renewal of `period_months` costs, in minor units.
    pub renewal_price: u64,
    #[serde(default = "one_month")]
    pub period_months: u16,
}

fn one_month() -> u16 {
    1
}

/// The id the service adopted from `item` gets: the same for every attempt (the panel's link
/// and the write may be tried again), a ULID of the item's finding time and its ids' hash.
pub fn adopted_id(item: &DriftItem) -> ServiceId {
    ServiceId::derived(Some(item.found_at), &format!("{}/{}", item.run_id, item.id))
}

/// The service `item`'s account becomes, on `tariff`, with its history entry (`adoption`).
pub fn adopt(
    item: &DriftItem,
    terms: &Terms,
    tariff: &Tariff,
    actor: &super::principal::Actor,
    now: Timestamp,
) -> Result<(Service, HistoryEntry), Refusal> {
    if item.kind != DriftKind::OrphanOnPanel || item.service_id.is_some() {
        return Err(Refusal::Invalid("only an account of no service of ours is adopted".into()));
    }
    let account: PanelAccount = serde_json::from_value(item.panel.clone())
        .map_err(|e| Refusal::Invalid(format!("the panel's account cannot be read: {e}")))?;
    if account.service_id.is_some() {
        return Err(Refusal::Invalid("the account names a service already".into()));
    }
    if account.status == PanelStatus::Missing {
        return Err(Refusal::Invalid("the panel holds nothing for the account".into()));
    }
    if tariff.product_type != item.product_type {
        return Err(Refusal::Invalid(format!(
            "tariff `{}` is not a {} tariff",
            tariff.id,
            item.product_type.as_str()
        )));
    }
    if terms.expires_at <= now {
        return Err(Refusal::Invalid("expires_at must be in the future".into()));
    }
    if terms.renewal_price > MAX_AMOUNT {
        return Err(Refusal::Invalid(format!("renewal_price must be at most {MAX_AMOUNT}")));
    }
    let months = terms.period_months;
    if months == 0 || months > 120 {
        return Err(Refusal::Invalid("period_months must be 1 to 120".into()));
    }
    let options = account.options.clone();
    let list = list_lines(Holding { tariff, options: &options }, months)?;
    let list_total: u64 = list.iter().map(|l| l.amount).sum();
    let special = terms.renewal_price != list_total;
    let holds = match account.status {
        PanelStatus::Suspended => vec![Hold::Admin],
        _ => Vec::new(),
    };
    let status = resting_status(&holds);
    let given = Stretch {
        from: now,
        to: terms.expires_at,
        kind: StretchKind::Given,
        tariff_id: tariff.id.clone(),
        options: options.clone(),
        months,
        span_months: 0,
        span_days: super::amount::days_started(now, terms.expires_at).max(1) as u32,
        lines: Vec::new(),
        imported: false,
    };
    let service = Service {
        status,
        special_price: special,
        renewal_price: terms.renewal_price,
        // Off until the client or the provider turns it on: nothing is charged that nobody
        // agreed to here.
        auto_renew: AutoRenew { enabled: false, period_months: months },
        expires_at: Some(terms.expires_at),
        params: account.params.clone(),
        options,
        paid: true,
        holds,
        anchor_day: Some(terms.expires_at.day_of_month()),
        special: special.then_some(SpecialPrice { price: terms.renewal_price, months }),
        paid_time: vec![given],
        renewal_lines: if special { special_lines(&list, terms.renewal_price) } else { list },
        ..Service::new_on(adopted_id(item), terms.client_id.clone(), tariff, months, now)
    };
    let entry = HistoryEntry {
        id: HistoryId::generate(),
        at: now,
        actor: actor.clone(),
        operation: Action::Adoption,
        status_before: None,
        status_after: status,
        details: serde_json::json!({
            "result": "done",
            "tariff_id": tariff.id,
            "expires_at": terms.expires_at,
            "renewal_price": terms.renewal_price,
            "period_months": months,
            "reconciliation_id": item.run_id,
        }),
    };
    Ok((service, entry))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::sample_tariff;
    use crate::domain::principal::Actor;
    use crate::domain::{ProductType, Role};

    fn now() -> Timestamp {
        Timestamp::parse("2026-11-01T00:00:00Z").unwrap()
    }

    fn orphan(status: &str) -> DriftItem {
        DriftItem {
            id: "acct-x".into(),
            run_id: "r".into(),
            kind: DriftKind::OrphanOnPanel,
            product_type: ProductType::Vps,
            service_id: None,
            account_id: Some("by-hand".into()),
            billing: serde_json::Value::Null,
            panel: serde_json::json!({"service_id": null, "account_id": "by-hand", "status": status,
                                      "tariff_id": "vps-start", "options": [], "params": {"os_template": "debian-12"}}),
            found_at: now(),
            resolution: None,
        }
    }

    fn terms(expires_at: &str, renewal_price: u64) -> Terms {
        Terms {
            client_id: ClientId::parse("alice").unwrap(),
            expires_at: Timestamp::parse(expires_at).unwrap(),
            renewal_price,
            period_months: 1,
        }
    }

    fn provider() -> Actor {
        Actor { id: "ops".into(), role: Role::Provider }
    }

    #[test]
    fn an_adopted_account_runs_as_it_did_with_its_time_given_and_nothing_to_credit() {
        let tariff = sample_tariff();
        let (service, entry) =
            adopt(&orphan("active"), &terms("2026-11-21T00:00:00Z", 500), &tariff, &provider(), now())
                .unwrap();
        assert_eq!(service.status, super::super::Status::Active);
        assert_eq!((service.order_price, service.paid, service.auto_renew.enabled), (0, true, false));
        assert_eq!(service.params["os_template"], "debian-12");
        let record = service.paid_time();
        assert_eq!(record.len(), 1);
        assert_eq!(record[0].kind, StretchKind::Given);
        assert_eq!(record[0].amount(), 0, "nothing was paid for it");
        assert_eq!(crate::domain::paid_time::unused_after(&record, now()), 0, "so nothing is ever credited");
        assert_eq!(entry.operation, Action::Adoption);
        assert_eq!(service.id, adopted_id(&orphan("active")), "the same id on every attempt");
        let (suspended, _) =
            adopt(&orphan("suspended"), &terms("2026-11-21T00:00:00Z", 500), &tariff, &provider(), now())
                .unwrap();
        assert_eq!(suspended.status, super::super::Status::SuspendedByAdmin);
    }

    #[test]
    fn an_adoption_is_refused_where_it_would_be_wrong() {
        let tariff = sample_tariff();
        let refused =
            |item: &DriftItem, terms: &Terms| adopt(item, terms, &tariff, &provider(), now()).is_err();
        assert!(refused(&orphan("active"), &terms("2026-10-01T00:00:00Z", 500)), "expired");
        assert!(refused(&orphan("active"), &terms("2026-12-01T00:00:00Z", MAX_AMOUNT + 1)), "price");
        let mut ours = orphan("active");
        ours.kind = DriftKind::MissingOnPanel;
        assert!(refused(&ours, &terms("2026-12-01T00:00:00Z", 500)), "not an orphan");
        let mut other_type = orphan("active");
        other_type.product_type = ProductType::Domain;
        assert!(refused(&other_type, &terms("2026-12-01T00:00:00Z", 500)), "another type's tariff");
        assert!(refused(&orphan("missing"), &terms("2026-12-01T00:00:00Z", 500)), "nothing held");
        let mut unknown_option = orphan("active");
        unknown_option.panel["options"] = serde_json::json!([{"id": "gpu", "quantity": 1}]);
        assert!(refused(&unknown_option, &terms("2026-12-01T00:00:00Z", 500)), "an option the tariff lacks");
    }
}
