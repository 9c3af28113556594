//! What a service keeps of its certificate (an ACME product type's, `crate::acme`): the order
//! under way at the certificate authority, with the challenges its client publishes, and the
//! certificate issued. Stored with the service; `domain::certificate` moves them on.

use super::csr::Validation;
use super::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The most orders one operation places: a validation that failed this often is given up (an
/// authority limits the orders an account places).
pub const MAX_ATTEMPTS: u32 = 5;
/// The longest problem text kept from the certificate authority.
pub const MAX_PROBLEM_LEN: usize = 500;

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
    /// Orders placed for the operation so far (a failed validation places the next).
    #[serde(default)]
    pub attempts: u32,
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
            attempts: 0,
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
    /// The ACME account that holds it (the one that revokes it).
    #[serde(default)]
    pub account: String,
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
            account: String::new(),
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
