//! SSL certificates issued through ACME (RFC 8555, `crate::acme`): the order under way at the
//! certificate authority with the challenges the client publishes, and the certificate issued.
//!
//! The client's key never reaches us: it orders with a CSR (`params.csr`, checked by
//! `domain::csr`), which names the certificate's names and proves it holds the key.

pub use super::acme_order::{problem_in_words, AcmeOrder, Challenge, IssuedCertificate, Stage, MAX_ATTEMPTS};
pub use super::csr::{check_order, read_csr, CertificateTerms, Csr, Validation, CSR_PARAM, VALIDATION_PARAM};
use super::history::{Action, Actor, HistoryEntry};
use super::lifecycle::{Change, Outcome, Refusal};
use super::service::Work;
use super::{HistoryId, Service, Status, Timestamp};
use serde_json::json;

/// The certificate order an operation of `service` runs: the one under way, else a new one
/// for the pending operation (with a reissue's CSR when it set one, else the service's).
pub fn order_for(service: &Service) -> Result<AcmeOrder, String> {
    let pending = service.pending.as_ref().ok_or("no operation is under way")?;
    if let Some(order) = service.acme.as_ref().filter(|o| o.operation_id == pending.id) {
        return Ok(order.clone());
    }
    let csr = service.params.get(CSR_PARAM).ok_or("the service has no certificate signing request")?;
    let validation = service
        .params
        .get(VALIDATION_PARAM)
        .and_then(|v| Validation::parse(v))
        .ok_or("the service names no validation method")?;
    Ok(AcmeOrder::new(&pending.id, csr, validation))
}

impl Service {
    /// The service with its certificate order as it now stands (the worker's progress, written
    /// under the service's version).
    pub fn with_acme_order(&self, order: AcmeOrder) -> Service {
        Service { acme: Some(order), version: self.version + 1, ..self.clone() }
    }

    /// The client says it published the challenges: the worker asks the authority to validate
    /// (queued under the pending operation). Refused unless an order waits on them.
    pub fn request_validation(&self, actor: &Actor, at: Timestamp) -> Result<Change, Refusal> {
        let pending = self.pending.as_ref().ok_or_else(|| no_order_waiting(self))?;
        let order = self
            .acme
            .as_ref()
            .filter(|o| o.operation_id == pending.id && o.stage == Stage::Published)
            .ok_or_else(|| no_order_waiting(self))?;
        let mut next =
            self.with_acme_order(AcmeOrder { stage: Stage::Validating, polls: 0, ..order.clone() });
        next.last_error = None;
        let entry = HistoryEntry {
            id: HistoryId::generate(),
            at,
            actor: actor.clone(),
            operation: Action::Validation,
            status_before: Some(self.status),
            status_after: next.status,
            details: json!({"names": order.challenges.iter().map(|c| &c.name).collect::<Vec<_>>()}),
        };
        Ok(Change { service: next, entry, queued: Some(pending.id.clone()) })
    }

    /// Reissues the certificate (see `Service::reissue`) with the new key's `csr`, checked
    /// against the tariff's `terms` and the service's validation method: an ACME type's
    /// reissue needs one; a panel type's passes it to the panel in the service's parameters.
    pub fn reissue_with(
        &self,
        csr: Option<&str>,
        terms: Option<&CertificateTerms>,
        acme: bool,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<Change, Refusal> {
        let mut change = self.reissue(actor, at)?;
        let Some(csr) = csr else {
            return match acme {
                true => Err(Refusal::Invalid("a reissue names the new key's request: {\"csr\": \"-----BEGIN CERTIFICATE REQUEST-----...\"}".into())),
                false => Ok(change),
            };
        };
        let terms = terms.ok_or_else(|| Refusal::Invalid("this tariff's certificates take no CSR".into()))?;
        let validation = self.params.get(VALIDATION_PARAM).map_or("http-01", String::as_str);
        let checked = check_order(csr, validation, terms).map_err(|v| Refusal::Invalid(v.0))?;
        let csr = csr.trim();
        let operation_id = change.service.pending.as_ref().map(|p| p.id.clone()).unwrap_or_default();
        match acme {
            true => {
                let validation = Validation::parse(validation).unwrap_or(Validation::Http01);
                change.service.acme = Some(AcmeOrder::new(&operation_id, csr, validation));
            }
            false => {
                change.service.params.insert(CSR_PARAM.to_owned(), csr.to_owned());
            }
        }
        if let Some(details) = change.entry.details.as_object_mut() {
            details.insert("names".into(), json!(checked.names));
        }
        Ok(change)
    }

    /// The certificate `issued` for the pending operation `operation_id`: the operation ends
    /// done, and the certificate replaces the one before.
    pub fn certificate_issued(
        &self,
        operation_id: &str,
        issued: IssuedCertificate,
        at: Timestamp,
    ) -> Option<Change> {
        let pending = self.pending.as_ref().filter(|p| p.id == operation_id)?;
        let csr = self.acme.as_ref().filter(|o| o.operation_id == operation_id).map(|o| o.csr.clone());
        let mut change = self.finish(operation_id, Outcome::Done, at)?;
        let next = &mut change.service;
        // A first certificate sets the validity: its notAfter, never past what was paid for; the
        // paid time is then the whole order's price over it (a credit is worked out from that,
        // so nothing paid is lost). A renewal's paid period stands as billing computed it (a
        // certificate issued now cannot cover a period that starts at the old expiry).
        let shorter = next.expires_at.is_some_and(|paid_end| issued.not_after < paid_end);
        if pending.work == Work::Activation && shorter {
            let months = self.period_months;
            next.expires_at = Some(issued.not_after);
            next.paid_time = vec![super::paid_time::bought(
                at,
                issued.not_after,
                months,
                u32::from(months),
                &self.tariff_id,
                &self.options,
                self.order_lines(),
            )];
        }
        if let Some(csr) = csr {
            next.params.insert(CSR_PARAM.to_owned(), csr);
        }
        next.acme = None;
        if let Some(details) = change.entry.details.as_object_mut() {
            details.insert("certificate".into(), issued.summary());
        }
        next.certificate = Some(issued);
        Some(change)
    }
}

/// A certificate operation's order as its client reads it (`GET /services/{id}/validation`):
/// where it stands, why the last validation failed, and what to publish where. `None` when no
/// certificate is being issued.
pub fn validation_view(service: &Service) -> Option<serde_json::Value> {
    let pending = service.pending.as_ref()?;
    if !matches!(pending.work, Work::Activation | Work::Reissue | Work::Renewal { .. }) {
        return None;
    }
    let order = service.acme.as_ref().filter(|o| o.operation_id == pending.id);
    let status = match order.map(|o| (o.stage, o.problem.is_some())) {
        None | Some((Stage::Placing, _)) => "placing",
        Some((Stage::Published, false)) => "awaiting_publication",
        Some((Stage::Published, true)) => "failed",
        Some((Stage::Validating, _)) => "validating",
        Some((Stage::Finalized, _)) => "issuing",
    };
    let challenges: Vec<serde_json::Value> =
        order.map(|o| o.challenges.iter().map(Challenge::for_client).collect()).unwrap_or_default();
    Some(json!({
        "service_id": service.id,
        "operation": pending.work.action(),
        "status": status,
        "validation": order.map(|o| o.validation),
        "error": order.and_then(|o| o.problem.clone()),
        "order_expires_at": order.and_then(|o| o.expires_at),
        "challenges": challenges,
    }))
}

fn no_order_waiting(service: &Service) -> Refusal {
    let stage = service.acme.as_ref().map(|o| o.stage);
    Refusal::Conflict(match (service.status, stage) {
        (Status::InProgress, Some(Stage::Validating | Stage::Finalized)) => {
            "the certificate authority is validating already".into()
        }
        (Status::InProgress, Some(Stage::Placing) | None) => {
            "the order is being placed at the certificate authority; its challenges are not ready yet".into()
        }
        _ => "no certificate order waits for validation".into(),
    })
}
