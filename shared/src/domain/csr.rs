//! What a certificate signing request may ask for under a certificate tariff's terms: read,
//! verified and checked before anything is charged (`domain::certificate` issues it).

use super::text::is_host_name;
use super::RuleViolation;
use serde::{Deserialize, Serialize};

/// The parameter holding the PEM certificate signing request.
pub const CSR_PARAM: &str = "csr";
/// The parameter naming how the names are proven (`http-01` or `dns-01`).
pub const VALIDATION_PARAM: &str = "validation";
/// The longest CSR taken (a 4096-bit RSA key's with 100 names fits).
pub const MAX_CSR_LEN: usize = 16 * 1024;
/// The most names a tariff may let one certificate hold.
pub const MAX_NAMES: u8 = 100;

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
    // The authority issues for the subject alternative names and the common name together.
    let subject = &csr.certification_request_info.subject;
    for cn in subject.iter_common_name() {
        names.push(cn.as_str().map_err(|_| bad_csr("its common name is not text"))?.to_ascii_lowercase());
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
    // As the certificate writes it: lower case, without the trailing dot a host name may have.
    !bare.ends_with('.') && !bare.bytes().any(|b| b.is_ascii_uppercase()) && is_host_name(bare)
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
}
