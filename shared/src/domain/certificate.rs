//! SSL certificates issued through ACME (RFC 8555, `crate::acme`): what a client's certificate
//! signing request may ask for under its tariff, the order under way at the certificate
//! authority with the challenges the client publishes, and the certificate issued.
//!
//! The client's key never reaches us: it orders with a CSR (`params.csr`), which names the
//! certificate's names and proves it holds the key.

use super::history::{Action, Actor, HistoryEntry};
use super::lifecycle::{Change, Outcome, Refusal};
use super::service::Work;
use super::{HistoryId, RuleViolation, Service, Status, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The parameter holding the PEM certificate signing request.
pub const CSR_PARAM: &str = "csr";
/// The parameter naming how the names are proven (`http-01` or `dns-01`).
pub const VALIDATION_PARAM: &str = "validation";
/// The longest CSR taken (a 4096-bit RSA key's with 100 names fits).
pub const MAX_CSR_LEN: usize = 16 * 1024;
/// The most names a tariff may let one certificate hold.
pub const MAX_NAMES: u8 = 100;
/// The longest problem text kept from the certificate authority.
pub const MAX_PROBLEM_LEN: usize = 500;

/// How the client proves it controls the names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Validation {
    /// A file at `http://{name}/.well-known/acme-challenge/{token}`.
    #[serde(rename = "http-01")]
    Http01,
    /// A TXT record at `_acme-challenge.{name}`.
    #[serde(rename = "dns-01")]
    Dns01,
}

impl Validation {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "http-01" => Some(Self::Http01),
            "dns-01" => Some(Self::Dns01),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http01 => "http-01",
            Self::Dns01 => "dns-01",
        }
    }
}

/// What a certificate tariff lets one certificate hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateTerms {
    /// The most names (1 to `MAX_NAMES`).
    pub names: u8,
    /// Whether a name may be a wildcard (`*.example.com`).
    #[serde(default)]
    pub wildcard: bool,
}

impl CertificateTerms {
    pub fn validate(&self) -> Result<(), RuleViolation> {
        if self.names == 0 || self.names > MAX_NAMES {
            return Err(RuleViolation::new(format!("certificate.names must be 1 to {MAX_NAMES}")));
        }
        Ok(())
    }
}

/// A CSR as checked: its DER and the names it asks for (lower case, each once, in its order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Csr {
    pub der: Vec<u8>,
    pub names: Vec<String>,
}

fn bad_csr(why: impl std::fmt::Display) -> RuleViolation {
    RuleViolation::new(format!("params.csr is not a usable certificate signing request: {why}"))
}

/// Reads a PEM CSR: well-formed, signed by the key it carries, asking for DNS names only (its
/// subject alternative names, else its common name).
pub fn read_csr(pem: &str) -> Result<Csr, RuleViolation> {
    use x509_parser::certification_request::X509CertificationRequest;
    use x509_parser::extensions::{GeneralName, ParsedExtension};
    use x509_parser::prelude::FromDer;
    if pem.len() > MAX_CSR_LEN {
        return Err(bad_csr(format!("longer than {MAX_CSR_LEN} bytes")));
    }
    let (_, block) =
        x509_parser::pem::parse_x509_pem(pem.trim().as_bytes()).map_err(|_| bad_csr("not PEM"))?;
    if block.label != "CERTIFICATE REQUEST" && block.label != "NEW CERTIFICATE REQUEST" {
        return Err(bad_csr(format!("a PEM `{}` block, not a CERTIFICATE REQUEST", block.label)));
    }
    let (rest, csr) = X509CertificationRequest::from_der(&block.contents).map_err(|_| bad_csr("not DER"))?;
    if !rest.is_empty() {
        return Err(bad_csr("bytes after the request"));
    }
    csr.verify_signature().map_err(|_| bad_csr("its signature does not verify"))?;
    let mut names = Vec::new();
    for extension in csr.requested_extensions().into_iter().flatten() {
        if let ParsedExtension::SubjectAlternativeName(san) = extension {
            for name in &san.general_names {
                match name {
                    GeneralName::DNSName(dns) => names.push(dns.to_ascii_lowercase()),
                    other => return Err(bad_csr(format!("it names {other}, not a DNS name"))),
                }
            }
        }
    }
    if names.is_empty() {
        let subject = &csr.certification_request_info.subject;
        for cn in subject.iter_common_name() {
            names.push(cn.as_str().map_err(|_| bad_csr("its common name is not text"))?.to_ascii_lowercase());
        }
    }
    let mut unique: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        if !is_certificate_name(&name) {
            return Err(bad_csr(format!(
                "`{}` is not a DNS name",
                name.chars().take(80).collect::<String>()
            )));
        }
        if !unique.contains(&name) {
            unique.push(name);
        }
    }
    if unique.is_empty() {
        return Err(bad_csr("it names no DNS name"));
    }
    Ok(Csr { der: block.contents.clone(), names: unique })
}

/// A fully qualified DNS name of at least two labels, the first of which may be `*`.
fn is_certificate_name(name: &str) -> bool {
    let bare = name.strip_prefix("*.").unwrap_or(name);
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    // A last label of digits only would be an IP address, which a DV certificate does not name.
    let top_level = bare.rsplit('.').next().unwrap_or_default();
    (1..=253).contains(&bare.len())
        && bare.split('.').count() >= 2
        && bare.split('.').all(label_ok)
        && !top_level.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a certificate order's parameters against its tariff's terms: the CSR's names (at most
/// `terms.names`, a wildcard only if allowed, and then proven by DNS) and the validation.
pub fn check_order(csr_pem: &str, validation: &str, terms: &CertificateTerms) -> Result<Csr, RuleViolation> {
    let validation = Validation::parse(validation)
        .ok_or_else(|| RuleViolation::new("params.validation must be `http-01` or `dns-01`"))?;
    let csr = read_csr(csr_pem)?;
    check_names(&csr.names, validation, terms)?;
    Ok(csr)
}

fn check_names(
    names: &[String],
    validation: Validation,
    terms: &CertificateTerms,
) -> Result<(), RuleViolation> {
    if names.len() > usize::from(terms.names) {
        return Err(RuleViolation::new(format!(
            "the CSR names {} names; the tariff allows at most {}",
            names.len(),
            terms.names
        )));
    }
    if let Some(wildcard) = names.iter().find(|n| n.starts_with("*.")) {
        if !terms.wildcard {
            return Err(RuleViolation::new(format!(
                "the tariff allows no wildcard name such as `{wildcard}`"
            )));
        }
        if validation != Validation::Dns01 {
            return Err(RuleViolation::new("a wildcard name is proven with dns-01 only"));
        }
    }
    Ok(())
}

/// One name's challenge, as the client publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// The name proven (a wildcard's base name for its DNS record).
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Validation,
    pub token: String,
    pub key_authorization: String,
    /// What the client publishes: the file's content (http-01: the key authorization) or the
    /// TXT record's value (dns-01: its digest).
    pub value: String,
    /// The challenge at the certificate authority (never shown).
    pub url: String,
}

impl Challenge {
    /// The challenge as the client reads it: where to publish what.
    pub fn for_client(&self) -> serde_json::Value {
        let base = self.name.strip_prefix("*.").unwrap_or(&self.name);
        let publish = match self.kind {
            Validation::Http01 => json!({"file": {
                "url": format!("http://{base}/.well-known/acme-challenge/{}", self.token),
                "path": format!("/.well-known/acme-challenge/{}", self.token),
                "content": self.value,
            }}),
            Validation::Dns01 => json!({"record": {
                "name": format!("_acme-challenge.{base}"),
                "type": "TXT",
                "value": self.value,
            }}),
        };
        let mut answer = json!({"name": self.name, "type": self.kind, "token": self.token, "key_authorization": self.key_authorization});
        if let (Some(answer), Some(publish)) = (answer.as_object_mut(), publish.as_object()) {
            answer.extend(publish.clone());
        }
        answer
    }
}

/// Where an order at the certificate authority stands, as we last saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// To be placed at the certificate authority.
    Placing,
    /// Placed: its challenges wait for the client to publish them.
    Published,
    /// The client said they are published: the authority is validating.
    Validating,
    /// Validated and finalised with the CSR: the certificate is being issued.
    Finalized,
}

/// The certificate order an operation (an activation, reissue or renewal) runs at the
/// certificate authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcmeOrder {
    /// The pending operation it is for.
    pub operation_id: String,
    /// The CSR it is finalised with (a reissue's new one; else the service's).
    pub csr: String,
    pub validation: Validation,
    pub stage: Stage,
    /// The order at the authority, once placed.
    #[serde(default)]
    pub url: Option<String>,
    /// When the authority gives the order up.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    #[serde(default)]
    pub challenges: Vec<Challenge>,
    /// Why the last validation failed, in the authority's words (its problem document).
    #[serde(default)]
    pub problem: Option<String>,
    /// Polls of the authority since the validation was asked for (each waits longer).
    #[serde(default)]
    pub polls: u32,
}

impl AcmeOrder {
    pub fn new(operation_id: &str, csr: &str, validation: Validation) -> Self {
        Self {
            operation_id: operation_id.to_owned(),
            csr: csr.to_owned(),
            validation,
            stage: Stage::Placing,
            url: None,
            expires_at: None,
            challenges: Vec::new(),
            problem: None,
            polls: 0,
        }
    }

    /// How long to wait before polling the authority again: 2 s doubling, at most 5 minutes.
    pub fn next_poll_seconds(&self) -> u32 {
        2u32.saturating_mul(1 << self.polls.min(8)).min(300)
    }
}

/// A certificate the authority issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCertificate {
    /// The chain, leaf first, as the authority gave it (PEM).
    pub chain: String,
    /// The leaf's serial number, hex, lower case.
    pub serial: String,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    pub names: Vec<String>,
}

impl IssuedCertificate {
    /// Reads the authority's chain (PEM, leaf first).
    pub fn read(chain: &str) -> Result<Self, String> {
        use x509_parser::extensions::GeneralName;
        let (_, block) =
            x509_parser::pem::parse_x509_pem(chain.as_bytes()).map_err(|e| format!("not PEM: {e}"))?;
        let leaf = block.parse_x509().map_err(|e| format!("not a certificate: {e}"))?;
        let at =
            |t: x509_parser::time::ASN1Time| Timestamp::from_unix_millis(t.timestamp().saturating_mul(1000));
        let mut names = Vec::new();
        if let Ok(Some(san)) = leaf.subject_alternative_name() {
            for name in &san.value.general_names {
                if let GeneralName::DNSName(dns) = name {
                    names.push(dns.to_ascii_lowercase());
                }
            }
        }
        let serial = leaf.raw_serial().iter().map(|b| format!("{b:02x}")).collect::<String>();
        Ok(Self {
            chain: chain.to_owned(),
            serial: serial.trim_start_matches('0').to_owned(),
            not_before: at(leaf.validity().not_before),
            not_after: at(leaf.validity().not_after),
            names,
        })
    }

    /// The leaf certificate's DER (what a revocation names).
    pub fn leaf_der(&self) -> Result<Vec<u8>, String> {
        let (_, block) =
            x509_parser::pem::parse_x509_pem(self.chain.as_bytes()).map_err(|e| format!("not PEM: {e}"))?;
        Ok(block.contents)
    }

    /// What a service's answer shows of it (the chain has its own route).
    pub fn summary(&self) -> serde_json::Value {
        json!({"serial": self.serial, "not_before": self.not_before, "not_after": self.not_after, "names": self.names})
    }
}

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
        // A first certificate sets the validity: its notAfter, never past what was paid for. A
        // renewal's paid period stands as billing computed it (a certificate issued now cannot
        // cover a period that starts at the old expiry).
        if pending.work == Work::Activation {
            if next.expires_at.is_some_and(|paid_end| issued.not_after < paid_end) {
                next.expires_at = Some(issued.not_after);
                next.paid_time = super::paid_time::with_validity_until(
                    &next.paid_time(),
                    issued.not_after,
                    next.auto_renew.period_months,
                );
            }
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

/// A problem document of the authority in words, bounded.
pub fn problem_in_words(detail: &str) -> String {
    let clean: String = detail.chars().filter(|c| !c.is_control()).take(MAX_PROBLEM_LEN).collect();
    if clean.trim().is_empty() {
        "the certificate authority refused the validation without saying why".into()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // `openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=shop.example.com
    //  -addext subjectAltName=DNS:shop.example.com,DNS:www.shop.example.com`
    pub(crate) const TWO_NAMES: &str = include_str!("../../fixtures/two-names.csr");
    const WILDCARD: &str = include_str!("../../fixtures/wildcard.csr");
    const TAMPERED: &str = include_str!("../../fixtures/tampered.csr");

    fn terms(names: u8, wildcard: bool) -> CertificateTerms {
        CertificateTerms { names, wildcard }
    }

    #[test]
    fn a_csr_is_read_for_its_names_and_checked_against_the_tariff() {
        let csr = check_order(TWO_NAMES, "http-01", &terms(2, false)).unwrap();
        assert_eq!(csr.names, ["shop.example.com", "www.shop.example.com"]);
        let too_many = check_order(TWO_NAMES, "http-01", &terms(1, false)).unwrap_err();
        assert!(too_many.0.contains("at most 1"), "{too_many}");
        assert!(check_order(TWO_NAMES, "tls-alpn-01", &terms(2, false)).is_err());
    }

    #[test]
    fn a_wildcard_needs_the_tariff_and_dns() {
        assert!(check_order(WILDCARD, "dns-01", &terms(2, false)).unwrap_err().0.contains("wildcard"));
        assert!(check_order(WILDCARD, "http-01", &terms(2, true)).unwrap_err().0.contains("dns-01"));
        assert_eq!(
            check_order(WILDCARD, "dns-01", &terms(2, true)).unwrap().names,
            ["*.example.org", "example.org"]
        );
    }

    #[test]
    fn what_is_no_usable_csr_is_refused_in_words() {
        for bad in [
            "",
            "hello",
            "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----",
            TAMPERED,
        ] {
            let refused = read_csr(bad).unwrap_err();
            assert!(refused.0.starts_with("params.csr is not a usable"), "{refused}");
        }
        let long = "A".repeat(MAX_CSR_LEN + 1);
        assert!(read_csr(&long).is_err());
    }

    #[test]
    fn names_are_dns_names() {
        for good in ["example.com", "*.example.com", "a-b.c.example"] {
            assert!(is_certificate_name(good), "{good}");
        }
        for bad in [
            "localhost",
            "*.com.",
            "a..b",
            "-a.com",
            "a_b.com",
            "*.*.example.com",
            "ex ample.com",
            "127.0.0.1",
            "*.10.0.0.1",
        ] {
            assert!(!is_certificate_name(bad), "{bad}");
        }
    }

    #[test]
    fn polls_wait_longer_each_time_and_never_past_five_minutes() {
        let mut order = AcmeOrder::new("op", "csr", Validation::Http01);
        let mut waits = Vec::new();
        for polls in 0..12 {
            order.polls = polls;
            waits.push(order.next_poll_seconds());
        }
        assert_eq!(waits[..4], [2, 4, 8, 16]);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*waits.last().unwrap(), 300);
    }
}
