//! The ACME processing module (RFC 8555): an `ssl` product type whose rules name `module: acme`
//! has its certificates issued, reissued, renewed and revoked by a certificate authority, with
//! no control panel between. The worker takes one step of an operation per message
//! (`step`), writing the order's progress on the service before the next call, so that a
//! message delivered again finds the order where it was and asks nothing twice: an order is
//! placed once, finalised once (only while the authority says it is ready), and the
//! certificate downloaded from the order as it stands.
//!
//! The steps of a certificate (`domain::certificate::Stage`): the order is placed and its
//! challenges kept for the client (`GET /services/{id}/validation`); the client says it
//! published them (`POST`), the worker asks the authority to validate and polls it with
//! back-off (a delayed message each time), finalises with the client's CSR, downloads the
//! chain. A validation that fails keeps the authority's problem and places a new order, whose
//! challenges the client publishes before asking again; an order not validated within
//! `ORDER_LIFETIME_SECONDS` is given up (and the operation refunded as any failed one).

use crate::domain::catalog::SECRET_FROM_ENV;
use crate::domain::certificate::{self, AcmeOrder, Challenge, IssuedCertificate, Stage, Validation};
use crate::domain::lifecycle::{Change, Outcome};
use crate::domain::service::Work;
use crate::domain::{ProductTypeRules, Service, Timestamp};
use crate::store::acme::StoredAcmeAccount;
use crate::store::{Store, StoreError};
use instant_acme::{
    Account, AccountBuilder, AccountCredentials, AuthorizationStatus, ChallengeStatus, ChallengeType,
    ExternalAccountKey, Identifier, NewAccount, NewOrder, OrderStatus, RevocationReason, RevocationRequest,
};
use serde_json::{json, Value};
use std::path::PathBuf;

/// How long an order waits for its names to be validated (Let's Encrypt keeps one 7 days).
pub const ORDER_LIFETIME_SECONDS: i64 = 7 * 86_400;
/// The environment variable naming a PEM file of the authority's TLS root, for an authority
/// whose TLS certificate is not publicly trusted (Pebble's, locally).
pub const ROOTS_VARIABLE: &str = "ACME_CA_ROOTS";

/// How the worker reaches certificate authorities.
#[derive(Debug, Clone, Default)]
pub struct AcmeClient {
    roots: Option<PathBuf>,
}

impl AcmeClient {
    /// With the TLS root `ACME_CA_ROOTS` names, if set.
    pub fn from_env() -> Self {
        Self { roots: std::env::var(ROOTS_VARIABLE).ok().filter(|p| !p.is_empty()).map(PathBuf::from) }
    }

    /// Trusting `roots` (a PEM file) for the authority's TLS.
    pub fn with_roots(roots: impl Into<PathBuf>) -> Self {
        Self { roots: Some(roots.into()) }
    }

    fn builder(&self) -> Result<AccountBuilder, AcmeError> {
        crate::crypto::install();
        Ok(match &self.roots {
            Some(roots) => Account::builder_with_root(roots)?,
            None => Account::builder()?,
        })
    }
}

/// A call to the authority that failed, or our own record that could not be read or written:
/// retried by the queue.
#[derive(Debug, thiserror::Error)]
#[error("certificate authority: {0}")]
pub struct AcmeError(pub String);

impl From<instant_acme::Error> for AcmeError {
    fn from(error: instant_acme::Error) -> Self {
        Self(error.to_string())
    }
}

impl From<StoreError> for AcmeError {
    fn from(error: StoreError) -> Self {
        Self(error.to_string())
    }
}

impl From<crate::domain::RuleViolation> for AcmeError {
    fn from(error: crate::domain::RuleViolation) -> Self {
        Self(error.0)
    }
}

impl From<String> for AcmeError {
    fn from(error: String) -> Self {
        Self(error)
    }
}

/// What one step of an operation came to.
#[derive(Debug)]
pub enum Step {
    /// Its progress is written; the client moves next (it publishes the challenges).
    Waiting,
    /// Ask the authority again after this many seconds.
    PollAfter(u32),
    /// The operation is over: this change ends it.
    Done(Box<Change>),
    /// Given up, for this reason: the operation is abandoned (and what it charged refunded).
    GiveUp(String),
}

/// What a step works with: the table (where the service and the accounts are) and the way to
/// the authority.
#[derive(Clone, Copy)]
pub struct Authority<'a> {
    pub store: &'a Store,
    pub client: &'a AcmeClient,
}

/// Takes the next step of `service`'s pending operation under `rules` (an ACME type's).
pub async fn step(
    app: Authority<'_>,
    service: &Service,
    rules: &ProductTypeRules,
    now: Timestamp,
) -> Result<Step, AcmeError> {
    let pending = service.pending.as_ref().ok_or_else(|| AcmeError("no operation is under way".into()))?;
    let id = pending.id.clone();
    match &pending.work {
        Work::Activation | Work::Renewal { .. } | Work::Reissue => {
            certificate_step(app, service, rules, now).await
        }
        Work::Deletion { .. } => {
            let revoked = match &service.certificate {
                Some(issued) => {
                    Some(revoke(app, rules, issued, RevocationReason::CessationOfOperation).await?)
                }
                None => None,
            };
            let mut change =
                service.finish(&id, Outcome::Done, now).ok_or_else(|| AcmeError("not pending".into()))?;
            if let (Some(revoked), Some(details)) = (revoked, change.entry.details.as_object_mut()) {
                details.insert("revocation".into(), revoked);
            }
            Ok(Step::Done(Box::new(change)))
        }
        // Nothing at the authority: a certificate is not suspended, resumed or moved.
        _ => Ok(Step::Done(Box::new(
            service.finish(&id, Outcome::Done, now).ok_or_else(|| AcmeError("not pending".into()))?,
        ))),
    }
}

/// Issues, reissues or renews `service`'s certificate as far as it can go now.
async fn certificate_step(
    app: Authority<'_>,
    service: &Service,
    rules: &ProductTypeRules,
    now: Timestamp,
) -> Result<Step, AcmeError> {
    let (account, account_name) = account(app, rules, service.client_id.as_str()).await?;
    let mut service = service.clone();
    // Placing, validating and finalising follow one another at most once each in one step.
    for _ in 0..5 {
        let order = certificate::order_for(&service)?;
        if order.stage != Stage::Finalized && order.expires_at.is_some_and(|at| at <= now) {
            return Ok(Step::GiveUp("the certificate order expired before its names were validated".into()));
        }
        let next = match order.stage {
            Stage::Placing => {
                // Checked against the tariff as it is now, before every order: a tariff changed
                // since, or a request from before terms were set, issues nothing it does not sell.
                if let Err(refused) = within_terms(app, &service, &order).await? {
                    return Ok(Step::GiveUp(refused));
                }
                place(&account, order, now).await?
            }
            Stage::Published => return Ok(Step::Waiting),
            Stage::Validating => match validate(&account, &order).await? {
                Validated::Ready(mut at_authority) => {
                    let csr = certificate::read_csr(&order.csr)?;
                    at_authority.finalize_csr(&csr.der).await?;
                    AcmeOrder { stage: Stage::Finalized, polls: 0, ..order }
                }
                Validated::Finalized => AcmeOrder { stage: Stage::Finalized, polls: 0, ..order },
                Validated::Pending => return poll_again(app, &service, order).await,
                Validated::Failed(problem) if order.attempts >= certificate::MAX_ATTEMPTS => {
                    let attempts = order.attempts;
                    return Ok(Step::GiveUp(format!(
                        "the names failed validation {attempts} times; the last: {problem}"
                    )));
                }
                Validated::Failed(problem) => {
                    // The next order keeps the first one's lifetime: retries never extend it.
                    let again = AcmeOrder {
                        problem: Some(problem),
                        attempts: order.attempts,
                        expires_at: order.expires_at,
                        ..AcmeOrder::new(&order.operation_id, &order.csr, order.validation)
                    };
                    place(&account, again, now).await?
                }
                Validated::Gone(why) => return Ok(Step::GiveUp(why)),
            },
            Stage::Finalized => {
                let url =
                    order.url.clone().ok_or_else(|| AcmeError("a finalised order without its URL".into()))?;
                let mut at_authority = account.order(url).await?;
                match at_authority.certificate().await? {
                    Some(chain) => {
                        let issued =
                            IssuedCertificate { account: account_name, ..IssuedCertificate::read(&chain)? };
                        return finish_issued(app, rules, &service, &order, issued, now).await;
                    }
                    None => return poll_again(app, &service, order).await,
                }
            }
        };
        service = save(app, &service, next).await?;
    }
    Err(AcmeError("the order did not settle within one step".into()))
}

/// Asks the authority again later: the wait grows with each poll the order counts.
async fn poll_again(app: Authority<'_>, service: &Service, order: AcmeOrder) -> Result<Step, AcmeError> {
    let wait = order.next_poll_seconds();
    save(app, service, AcmeOrder { polls: order.polls.saturating_add(1), ..order }).await?;
    Ok(Step::PollAfter(wait))
}

/// Whether the order's request is within the service's tariff's certificate terms: the
/// refusal in words when not.
async fn within_terms(
    app: Authority<'_>,
    service: &Service,
    order: &AcmeOrder,
) -> Result<Result<(), String>, AcmeError> {
    let tariff = app.store.get_tariff(&service.tariff_id).await?;
    let Some(terms) = tariff.and_then(|t| t.certificate) else {
        return Ok(Err("the service's tariff sells no certificates (it sets no certificate terms)".into()));
    };
    Ok(certificate::check_order(&order.csr, order.validation.as_str(), &terms).map(|_| ()).map_err(|v| v.0))
}

/// The operation done with the certificate `issued`: a reissue revokes the certificate it
/// replaces first (a message delivered again revokes it again, which the authority answers
/// as revoked before).
async fn finish_issued(
    app: Authority<'_>,
    rules: &ProductTypeRules,
    service: &Service,
    order: &AcmeOrder,
    issued: IssuedCertificate,
    now: Timestamp,
) -> Result<Step, AcmeError> {
    let pending = service.pending.as_ref().ok_or_else(|| AcmeError("no operation is under way".into()))?;
    let superseded = service.certificate.as_ref().filter(|old| old.serial != issued.serial);
    let revoked = match (&pending.work, superseded) {
        (Work::Reissue, Some(old)) => Some(revoke(app, rules, old, RevocationReason::Superseded).await?),
        _ => None,
    };
    let mut change = service
        .certificate_issued(&order.operation_id, issued, now)
        .ok_or_else(|| AcmeError("the operation is no longer pending".into()))?;
    if let (Some(revoked), Some(details)) = (revoked, change.entry.details.as_object_mut()) {
        details.insert("revocation".into(), revoked);
    }
    Ok(Step::Done(Box::new(change)))
}

/// Writes the order's progress on the service (conditional on its version: a change that came
/// meanwhile fails this step, which the queue retries).
async fn save(app: Authority<'_>, service: &Service, order: AcmeOrder) -> Result<Service, AcmeError> {
    let next = service.with_acme_order(order);
    let mut batch = app.store.batch();
    batch.service(&next)?;
    app.store.commit(batch).await?;
    Ok(next)
}

fn challenge_type(validation: Validation) -> ChallengeType {
    match validation {
        Validation::Http01 => ChallengeType::Http01,
        Validation::Dns01 => ChallengeType::Dns01,
    }
}

/// Places `order` at the authority for its CSR's names: its challenges kept for the client
/// (none when every name is validated already, and then the authority is asked at once).
async fn place(account: &Account, order: AcmeOrder, now: Timestamp) -> Result<AcmeOrder, AcmeError> {
    let csr = certificate::read_csr(&order.csr)?;
    let identifiers: Vec<Identifier> = csr.names.iter().map(|n| Identifier::Dns(n.clone())).collect();
    let mut at_authority = account.new_order(&NewOrder::new(&identifiers)).await?;
    let mut challenges = Vec::new();
    let mut authorizations = at_authority.authorizations();
    while let Some(authorization) = authorizations.next().await {
        let mut authorization = authorization?;
        match authorization.status {
            AuthorizationStatus::Valid => continue,
            AuthorizationStatus::Pending => {}
            other => return Err(AcmeError(format!("a new order's authorization is {other:?}"))),
        }
        let name = authorization.identifier().to_string();
        let challenge = authorization.challenge(challenge_type(order.validation)).ok_or_else(|| {
            AcmeError(format!("the authority offers no {} challenge", order.validation.as_str()))
        })?;
        let key_authorization = challenge.key_authorization();
        let value = match order.validation {
            Validation::Http01 => key_authorization.as_str().to_owned(),
            Validation::Dns01 => key_authorization.dns_value(),
        };
        challenges.push(Challenge {
            name,
            kind: order.validation,
            token: challenge.token.clone(),
            key_authorization: key_authorization.as_str().to_owned(),
            value,
            url: challenge.url.clone(),
        });
    }
    let stage = if challenges.is_empty() { Stage::Validating } else { Stage::Published };
    Ok(AcmeOrder {
        stage,
        url: Some(at_authority.url().to_owned()),
        expires_at: order.expires_at.or(Some(now.plus_seconds(ORDER_LIFETIME_SECONDS))),
        challenges,
        polls: 0,
        attempts: order.attempts.saturating_add(1),
        ..order
    })
}

/// Where an order being validated stands.
enum Validated {
    /// Validated: to be finalised.
    Ready(Box<instant_acme::Order>),
    /// Finalised already (by a delivery whose write was lost).
    Finalized,
    /// Still validating.
    Pending,
    /// A validation failed: the authority's problem, in words.
    Failed(String),
    /// The authority gave the order up for another reason.
    Gone(String),
}

/// Asks the authority to validate the challenges still pending (each once), and answers
/// where the order then stands.
async fn validate(account: &Account, order: &AcmeOrder) -> Result<Validated, AcmeError> {
    let url =
        order.url.clone().ok_or_else(|| AcmeError("an order being validated without its URL".into()))?;
    let mut at_authority = account.order(url).await?;
    if at_authority.state().status == OrderStatus::Pending {
        let mut authorizations = at_authority.authorizations();
        while let Some(authorization) = authorizations.next().await {
            let mut authorization = authorization?;
            if authorization.status != AuthorizationStatus::Pending {
                continue;
            }
            let Some(mut challenge) = authorization.challenge(challenge_type(order.validation)) else {
                continue;
            };
            if challenge.status == ChallengeStatus::Pending {
                challenge.set_ready().await?;
            }
        }
        at_authority.refresh().await?;
    }
    Ok(match at_authority.state().status {
        OrderStatus::Ready => Validated::Ready(Box::new(at_authority)),
        OrderStatus::Processing | OrderStatus::Valid => Validated::Finalized,
        OrderStatus::Pending => Validated::Pending,
        OrderStatus::Invalid => match problem_of(&mut at_authority).await? {
            Some(problem) => Validated::Failed(problem),
            None => Validated::Gone("the certificate authority gave the order up".into()),
        },
    })
}

/// Why an invalid order's validation failed, in the authority's words (`None` when no
/// challenge failed: the order expired or was refused as a whole).
async fn problem_of(at_authority: &mut instant_acme::Order) -> Result<Option<String>, AcmeError> {
    let mut authorizations = at_authority.authorizations();
    while let Some(authorization) = authorizations.next().await {
        let authorization = authorization?;
        let name = authorization.identifier().to_string();
        for challenge in &authorization.challenges {
            if let Some(problem) = &challenge.error {
                let detail = problem.detail.as_deref().unwrap_or_default();
                return Ok(Some(certificate::problem_in_words(&format!("{name}: {detail}"))));
            }
        }
    }
    Ok(None)
}

/// Revokes `issued` with the account that holds it; a certificate revoked before counts as
/// revoked, and one the authority refuses to revoke is recorded as refused (the operation goes
/// on).
async fn revoke(
    app: Authority<'_>,
    rules: &ProductTypeRules,
    issued: &IssuedCertificate,
    reason: RevocationReason,
) -> Result<Value, AcmeError> {
    let reason_name = format!("{reason:?}");
    let outcome = |result: &str, detail: Option<&str>| {
        let mut outcome = json!({"serial": issued.serial, "reason": reason_name, "result": result});
        if let Some(detail) = detail {
            outcome["detail"] = json!(detail);
        }
        outcome
    };
    let Some(kept) = app.store.acme_account(rules.product_type, &issued.account).await? else {
        return Ok(outcome("refused", Some("the account that holds it is not kept")));
    };
    let account = restore(app, &kept).await?;
    let der = rustls::pki_types::CertificateDer::from(issued.leaf_der()?);
    match account.revoke(&RevocationRequest { certificate: &der, reason: Some(reason) }).await {
        Ok(()) => Ok(outcome("revoked", None)),
        Err(instant_acme::Error::Api(problem)) => {
            if problem.r#type.as_deref().is_some_and(|t| t.ends_with(":alreadyRevoked")) {
                return Ok(outcome("revoked_before", None));
            }
            let detail = certificate::problem_in_words(problem.detail.as_deref().unwrap_or_default());
            Ok(outcome("refused", Some(&detail)))
        }
        Err(other) => Err(other.into()),
    }
}

/// A client's account at the product type's authority, with its name: the one kept, else one
/// made now (with its External Account Binding when the rules name one) and kept; two made at
/// once keep the first. Each client has its own: an authority reuses what an account validated,
/// so a shared one would let a client have a name another proved.
pub async fn account(
    app: Authority<'_>,
    rules: &ProductTypeRules,
    client: &str,
) -> Result<(Account, String), AcmeError> {
    let directory = rules
        .processing
        .acme_directory_url
        .as_deref()
        .ok_or_else(|| AcmeError("no acme_directory_url is set".into()))?;
    let name = account_name(rules, directory, client);
    if let Some(kept) = app.store.acme_account(rules.product_type, &name).await? {
        return Ok((restore(app, &kept).await?, name));
    }
    let contact = format!("mailto:{}", rules.processing.contact.as_deref().unwrap_or_default());
    let new = NewAccount { contact: &[&contact], terms_of_service_agreed: true, only_return_existing: false };
    let binding = external_account_key(rules)?;
    let (account, credentials) =
        app.client.builder()?.create(&new, directory.to_owned(), binding.as_ref()).await?;
    let kept = StoredAcmeAccount {
        credentials: serde_json::to_string(&credentials).map_err(|e| AcmeError(e.to_string()))?,
    };
    match app.store.insert_acme_account(rules.product_type, &name, &kept).await {
        Ok(()) => Ok((account, name)),
        Err(StoreError::ConditionFailed) => {
            let kept = app.store.acme_account(rules.product_type, &name).await?;
            let kept = kept.ok_or_else(|| AcmeError("the account kept meanwhile is gone".into()))?;
            Ok((restore(app, &kept).await?, name))
        }
        Err(other) => Err(other.into()),
    }
}

async fn restore(app: Authority<'_>, kept: &StoredAcmeAccount) -> Result<Account, AcmeError> {
    // serde's message could quote the key: a fixed one instead.
    let credentials: AccountCredentials = serde_json::from_str(&kept.credentials)
        .map_err(|_| AcmeError("a kept ACME account does not read as one".into()))?;
    Ok(app.client.builder()?.from_credentials(credentials).await?)
}

/// One account per product type, directory, EAB key id and client: a provider that moves to
/// another authority gets new accounts there.
fn account_name(rules: &ProductTypeRules, directory: &str, client: &str) -> String {
    let kid = rules.processing.eab_kid.as_deref().unwrap_or_default();
    crate::domain::ids::sha256_hex(format!("{directory}\n{kid}\n{client}").as_bytes())[..32].to_owned()
}

/// The EAB key the rules name, read from where they say it is kept (never logged: an error
/// names the variable only).
fn external_account_key(rules: &ProductTypeRules) -> Result<Option<ExternalAccountKey>, AcmeError> {
    let (Some(kid), Some(kept)) = (&rules.processing.eab_kid, &rules.processing.eab_hmac_key) else {
        return Ok(None);
    };
    let variable = kept
        .strip_prefix(SECRET_FROM_ENV)
        .ok_or_else(|| AcmeError("eab_hmac_key names no environment variable".into()))?;
    let encoded = std::env::var(variable)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| AcmeError(format!("{variable} (the EAB key) is not set")))?;
    use base64::Engine;
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded.trim().trim_end_matches('='))
        .map_err(|_| AcmeError(format!("{variable} (the EAB key) is not base64url")))?;
    Ok(Some(ExternalAccountKey::new(kid.clone(), &key)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::{Module, Processing};

    fn rules_with(key: &str) -> ProductTypeRules {
        ProductTypeRules {
            product_type: crate::domain::ProductType::Ssl,
            processing: Processing {
                module: Module::Acme,
                acme_directory_url: Some("https://acme.example.net/directory".into()),
                eab_kid: Some("kid-1".into()),
                eab_hmac_key: Some(key.into()),
                contact: Some("certificates@hosting.example".into()),
            },
            ..crate::domain::catalog::sample_rules()
        }
    }

    #[test]
    fn the_eab_key_is_read_from_its_variable_and_never_told() {
        let secret = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
        std::env::set_var("ACME_TEST_EAB_KEY_SET", secret);
        std::env::set_var("ACME_TEST_EAB_KEY_BAD", "%%%bad-value%%%");
        assert!(external_account_key(&rules_with("env:ACME_TEST_EAB_KEY_SET")).unwrap().is_some());
        let missing = external_account_key(&rules_with("env:ACME_TEST_EAB_KEY_UNSET")).err().unwrap();
        assert!(missing.0.contains("ACME_TEST_EAB_KEY_UNSET"), "{missing}");
        let bad = external_account_key(&rules_with("env:ACME_TEST_EAB_KEY_BAD")).err().unwrap();
        assert!(!bad.0.contains("bad-value"), "the value is never told: {bad}");
        let kept = StoredAcmeAccount { credentials: secret.into() };
        assert!(!format!("{kept:?}").contains(secret));
    }

    #[test]
    fn each_client_has_its_own_account_at_each_authority() {
        let rules = rules_with("env:X");
        let directory = "https://acme.example.net/directory";
        assert_ne!(account_name(&rules, directory, "alice"), account_name(&rules, directory, "bob"));
        assert_ne!(
            account_name(&rules, directory, "alice"),
            account_name(&rules, "https://other.example/dir", "alice")
        );
        assert_eq!(account_name(&rules, directory, "alice"), account_name(&rules, directory, "alice"));
    }
}
