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

use crate::app::App;
use crate::domain::catalog::SECRET_FROM_ENV;
use crate::domain::certificate::{self, AcmeOrder, Challenge, IssuedCertificate, Stage, Validation};
use crate::domain::lifecycle::{Change, Outcome};
use crate::domain::service::Work;
use crate::domain::{ProductTypeRules, Service, Timestamp};
use crate::store::acme::StoredAcmeAccount;
use crate::store::StoreError;
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
    Done(Change),
    /// Given up, for this reason: the operation is abandoned (and what it charged refunded).
    GiveUp(String),
}

/// Takes the next step of `service`'s pending operation under `rules` (an ACME type's).
pub async fn step(
    app: &App,
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
                    let account = account(app, rules).await?;
                    Some(revoke(&account, issued, RevocationReason::CessationOfOperation).await?)
                }
                None => None,
            };
            let mut change =
                service.finish(&id, Outcome::Done, now).ok_or_else(|| AcmeError("not pending".into()))?;
            if let (Some(revoked), Some(details)) = (revoked, change.entry.details.as_object_mut()) {
                details.insert("revocation".into(), revoked);
            }
            Ok(Step::Done(change))
        }
        // Nothing at the authority: a certificate is not suspended, resumed or moved.
        _ => Ok(Step::Done(
            service.finish(&id, Outcome::Done, now).ok_or_else(|| AcmeError("not pending".into()))?,
        )),
    }
}

/// Issues, reissues or renews `service`'s certificate as far as it can go now.
async fn certificate_step(
    app: &App,
    service: &Service,
    rules: &ProductTypeRules,
    now: Timestamp,
) -> Result<Step, AcmeError> {
    let account = account(app, rules).await?;
    let mut service = service.clone();
    // Placing, validating and finalising follow one another at most once each in one step.
    for _ in 0..5 {
        let order = certificate::order_for(&service)?;
        if order.stage != Stage::Finalized && order.expires_at.is_some_and(|at| at <= now) {
            return Ok(Step::GiveUp("the certificate order expired before its names were validated".into()));
        }
        let next = match order.stage {
            Stage::Placing => place(&account, order, now).await?,
            Stage::Published => return Ok(Step::Waiting),
            Stage::Validating => match validate(&account, &order).await? {
                Validated::Ready(mut at_authority) => {
                    let csr = certificate::read_csr(&order.csr)?;
                    at_authority.finalize_csr(&csr.der).await?;
                    AcmeOrder { stage: Stage::Finalized, polls: 0, ..order }
                }
                Validated::Finalized => AcmeOrder { stage: Stage::Finalized, polls: 0, ..order },
                Validated::Pending => {
                    let wait = order.next_poll_seconds();
                    save(app, &service, AcmeOrder { polls: order.polls.saturating_add(1), ..order }).await?;
                    return Ok(Step::PollAfter(wait));
                }
                Validated::Failed(problem) => {
                    let again = AcmeOrder {
                        problem: Some(problem),
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
                    Some(chain) => return issued(&account, &service, &order, &chain, now).await,
                    None => {
                        let wait = order.next_poll_seconds();
                        save(app, &service, AcmeOrder { polls: order.polls.saturating_add(1), ..order })
                            .await?;
                        return Ok(Step::PollAfter(wait));
                    }
                }
            }
        };
        service = save(app, &service, next).await?;
    }
    Err(AcmeError("the order did not settle within one step".into()))
}

/// The operation done with the certificate `chain`: a reissue revokes the certificate it
/// replaces first (a message delivered again revokes it again, which the authority answers
/// as revoked before).
async fn issued(
    account: &Account,
    service: &Service,
    order: &AcmeOrder,
    chain: &str,
    now: Timestamp,
) -> Result<Step, AcmeError> {
    let issued = IssuedCertificate::read(chain)?;
    let pending = service.pending.as_ref().ok_or_else(|| AcmeError("no operation is under way".into()))?;
    let superseded = service.certificate.as_ref().filter(|old| old.serial != issued.serial);
    let revoked = match (&pending.work, superseded) {
        (Work::Reissue, Some(old)) => Some(revoke(account, old, RevocationReason::Superseded).await?),
        _ => None,
    };
    let mut change = service
        .certificate_issued(&order.operation_id, issued, now)
        .ok_or_else(|| AcmeError("the operation is no longer pending".into()))?;
    if let (Some(revoked), Some(details)) = (revoked, change.entry.details.as_object_mut()) {
        details.insert("revocation".into(), revoked);
    }
    Ok(Step::Done(change))
}

/// Writes the order's progress on the service (conditional on its version: a change that came
/// meanwhile fails this step, which the queue retries).
async fn save(app: &App, service: &Service, order: AcmeOrder) -> Result<Service, AcmeError> {
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
        expires_at: Some(now.plus_seconds(ORDER_LIFETIME_SECONDS)),
        challenges,
        polls: 0,
        ..order
    })
}

/// Where an order being validated stands.
enum Validated {
    /// Validated: to be finalised.
    Ready(instant_acme::Order),
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
        OrderStatus::Ready => Validated::Ready(at_authority),
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

/// Revokes `issued`; a certificate revoked before counts as revoked, and one the authority
/// refuses to revoke is recorded as refused (the operation goes on).
async fn revoke(
    account: &Account,
    issued: &IssuedCertificate,
    reason: RevocationReason,
) -> Result<Value, AcmeError> {
    let der = rustls::pki_types::CertificateDer::from(issued.leaf_der()?);
    let reason_name = format!("{reason:?}");
    match account.revoke(&RevocationRequest { certificate: &der, reason: Some(reason) }).await {
        Ok(()) => Ok(json!({"serial": issued.serial, "reason": reason_name, "result": "revoked"})),
        Err(instant_acme::Error::Api(problem)) => {
            let before = problem.r#type.as_deref().is_some_and(|t| t.ends_with(":alreadyRevoked"));
            let detail = certificate::problem_in_words(problem.detail.as_deref().unwrap_or_default());
            Ok(match before {
                true => json!({"serial": issued.serial, "reason": reason_name, "result": "revoked_before"}),
                false => {
                    json!({"serial": issued.serial, "reason": reason_name, "result": "refused", "detail": detail})
                }
            })
        }
        Err(other) => Err(other.into()),
    }
}

/// The product type's account at its authority: the one kept, else one made now (with its
/// External Account Binding when the rules name one) and kept. Two made at once keep the first.
pub async fn account(app: &App, rules: &ProductTypeRules) -> Result<Account, AcmeError> {
    let directory = rules
        .processing
        .acme_directory_url
        .as_deref()
        .ok_or_else(|| AcmeError("no acme_directory_url is set".into()))?;
    let name = account_name(rules, directory);
    if let Some(kept) = app.store.acme_account(rules.product_type, &name).await? {
        return restore(app, &kept).await;
    }
    let contact = format!("mailto:{}", rules.processing.contact.as_deref().unwrap_or_default());
    let new = NewAccount { contact: &[&contact], terms_of_service_agreed: true, only_return_existing: false };
    let binding = external_account_key(rules)?;
    let (account, credentials) =
        app.acme.builder()?.create(&new, directory.to_owned(), binding.as_ref()).await?;
    let kept = StoredAcmeAccount {
        credentials: serde_json::to_string(&credentials).map_err(|e| AcmeError(e.to_string()))?,
    };
    match app.store.insert_acme_account(rules.product_type, &name, &kept).await {
        Ok(()) => Ok(account),
        Err(StoreError::ConditionFailed) => {
            let kept = app.store.acme_account(rules.product_type, &name).await?;
            restore(app, &kept.ok_or_else(|| AcmeError("the account kept meanwhile is gone".into()))?).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn restore(app: &App, kept: &StoredAcmeAccount) -> Result<Account, AcmeError> {
    let credentials: AccountCredentials =
        serde_json::from_str(&kept.credentials).map_err(|e| AcmeError(format!("a kept account: {e}")))?;
    Ok(app.acme.builder()?.from_credentials(credentials).await?)
}

/// One account per product type, directory and EAB key id: a provider that moves to another
/// authority gets a new account there.
fn account_name(rules: &ProductTypeRules, directory: &str) -> String {
    let kid = rules.processing.eab_kid.as_deref().unwrap_or_default();
    crate::domain::ids::sha256_hex(format!("{directory}\n{kid}").as_bytes())[..32].to_owned()
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
    let encoded =
        std::env::var(variable).map_err(|_| AcmeError(format!("{variable} (the EAB key) is not set")))?;
    use base64::Engine;
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded.trim().trim_end_matches('='))
        .map_err(|_| AcmeError(format!("{variable} (the EAB key) is not base64url")))?;
    Ok(Some(ExternalAccountKey::new(kid.clone(), &key)))
}
