//! `notifier`: e-mails a client about the lifecycle events it should hear of (see
//! `domain::notification::Kind::of`), from the notifications queue a rule on the bus fills.
//!
//! One notification per event and client, at most once: the log entry of the event is claimed
//! (a conditional put) before the e-mail is sent, so a second delivery of the event finds it
//! and sends nothing. A send the mail service refused is logged `failed` and the message comes
//! back to be sent again after `CLAIM_SECONDS` (past the queue's receives it goes to the
//! dead-letter queue, its log entry still `failed`). A send whose outcome is unknown (the
//! attempt died while it held the claim, or no answer came) is logged `failed` as
//! `UNCONFIRMED` and never sent again: SES v2 has no idempotency key, so a retry could tell
//! the client twice. For the same reason the SES client does not retry.

mod entry;
pub use entry::serve;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sesv2::types::Destination;
use lambda_runtime::{Error, LambdaEvent};
use serde::Deserialize;
use shared::domain::events::{LifecycleEvent, SOURCE};
use shared::domain::notification::{
    self, default_template, About, Delivery, Email, Kind, Notification, UNCONFIRMED,
};
use shared::domain::Timestamp;
use shared::App;

/// How long an attempt holds a notification it claimed before another may take it over: past
/// the function's timeout, within the queue's visibility timeout.
pub const CLAIM_SECONDS: i64 = 60;
/// Kept back from the invocation's deadline: a message is taken only with this much time left,
/// enough for its reads, claim, send and log through the SDK's timeouts (the function's
/// timeout is 30 s). A message not taken is reported failed, and comes back.
pub const MESSAGE_RESERVE: std::time::Duration = std::time::Duration::from_secs(15);

pub struct Notifier {
    app: App,
    ses: aws_sdk_sesv2::Client,
    from: String,
    claim_seconds: i64,
}

/// How a send failed.
enum SendError {
    /// The mail service answered and did not take it, for now: it is sent again.
    Refused(String),
    /// The mail service will never send it (the message or the address is refused, the sender
    /// is not verified, sending is paused): recorded as such, not sent again.
    Rejected(String),
    /// No answer came: it may have been sent.
    Unknown(String),
}

/// Whether a send provably never reached the mail service: its connection was refused or timed
/// out connecting (the SDK's connect timeout; an attempt that timed out later is a
/// `TimeoutError`, which may have been taken).
fn never_connected<E, R>(e: &aws_sdk_sesv2::error::SdkError<E, R>) -> bool {
    let aws_sdk_sesv2::error::SdkError::DispatchFailure(failure) = e else { return false };
    let refused = failure.as_connector_error().is_some_and(|c| {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(c);
        std::iter::from_fn(|| {
            let current = source?;
            source = current.source();
            Some(current)
        })
        .any(|err| {
            err.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        })
    });
    failure.is_timeout() || refused
}

/// SES's answers that say "not now": retried here with back-off, then the message comes back.
const THROTTLED: [&str; 3] = ["ThrottlingException", "TooManyRequestsException", "LimitExceededException"];
/// SES's answers that say "never": recorded on the notification, not sent again.
const REJECTED: [&str; 5] = [
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "AccountSuspendedException",
    "SendingPausedException",
    "BadRequestException",
];
/// Sends of a throttled e-mail, with the back-off before each retry (100 ms, then 400 ms).
const SEND_ATTEMPTS: u32 = 3;
const HOUR: i64 = 3600;
const SEND_BACKOFF: std::time::Duration = std::time::Duration::from_millis(100);

/// An event as EventBridge delivers it to a queue (the fields used).
#[derive(Deserialize)]
struct Envelope {
    source: String,
    detail: LifecycleEvent,
}

/// What became of one message.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to tell its client (not a kind it hears of, or not from this product).
    Nothing,
    /// Told, or logged as muted or without an address, now or by an earlier delivery.
    Logged(Delivery),
    /// To be delivered again: another attempt holds it, or the send failed.
    Retry(String),
}

impl Notifier {
    /// A notifier sending with `ses`, which it makes never retry a send.
    pub fn new(app: App, ses: aws_sdk_sesv2::Client, from: impl Into<String>) -> Self {
        let once =
            ses.config().to_builder().retry_config(aws_sdk_sesv2::config::retry::RetryConfig::disabled());
        let ses = aws_sdk_sesv2::Client::from_conf(once.build());
        Self { app, ses, from: from.into(), claim_seconds: CLAIM_SECONDS }
    }

    /// The same, with claims that go stale after `seconds` (a crash test's, which cannot wait
    /// a minute on the real clock).
    pub fn with_claim_seconds(self, seconds: i64) -> Self {
        Self { claim_seconds: seconds, ..self }
    }

    pub async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        let mut response = SqsBatchResponse::default();
        let budget = shared::sweeps::Budget::watched(&self.app, event.context.deadline, MESSAGE_RESERVE);
        for message in &event.payload.records {
            let outcome = match budget.spent() {
                true => Outcome::Retry("not taken: the invocation's time was running out".into()),
                false => self.message(message).await,
            };
            tracing::info!(message_id = ?message.message_id, ?outcome, "notification");
            if let Outcome::Retry(_) = outcome {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = message.message_id.clone().unwrap_or_default();
                response.batch_item_failures.push(failure);
            }
        }
        Ok(response)
    }

    async fn message(&self, message: &SqsMessage) -> Outcome {
        let body = message.body.as_deref().unwrap_or_default();
        match serde_json::from_str::<Envelope>(body) {
            Ok(envelope) if envelope.source == SOURCE => self.notify(&envelope.detail).await,
            Ok(_) => Outcome::Nothing,
            // Never readable: retried until the dead-letter queue keeps it for the provider.
            Err(error) => Outcome::Retry(format!("not a lifecycle event: {error}")),
        }
    }

    /// Tells `event`'s client of it, once.
    pub async fn notify(&self, event: &LifecycleEvent) -> Outcome {
        // On the heap: the SDK calls' futures nest deep enough to overflow the compiler's layout limit.
        match Box::pin(self.try_notify(event)).await {
            Ok(outcome) => outcome,
            Err(error) => Outcome::Retry(error),
        }
    }

    async fn try_notify(&self, event: &LifecycleEvent) -> Result<Outcome, String> {
        let Some(kind) = Kind::of(event) else { return Ok(Outcome::Nothing) };
        let now = self.app.clock.now();
        let inputs = self.app.store.notification_inputs(event, kind).await.map_err(|e| e.to_string())?;
        let stale_before = now.plus_seconds(-self.claim_seconds);
        if let Some(logged) = inputs.logged.as_ref().filter(|n| n.being_sent()) {
            if logged.at > stale_before {
                return Ok(Outcome::Retry("another attempt is sending this notification".into()));
            }
            // Its attempt died while it held the claim: perhaps after the mail service took it.
            let unconfirmed = Notification { error: Some(UNCONFIRMED.into()), ..logged.clone() };
            self.app.store.settle_notification(&unconfirmed).await.map_err(|e| e.to_string())?;
            return Ok(Outcome::Logged(Delivery::Failed));
        }
        if let Some(logged) = inputs.logged.as_ref().filter(|n| !n.to_send()) {
            return Ok(Outcome::Logged(logged.status));
        }
        let service = inputs.service.ok_or("the event's service is not in the table")?;
        let tariff_name = inputs.tariff.as_ref().map_or(event.tariff_id.as_str(), |t| t.name.as_str());
        let context = notification::context(kind, event, &About { service: &service, tariff_name });
        let email = render(kind, inputs.template.as_ref(), &context)?;
        let mut notification = Notification::of(event, kind, &inputs.settings, email.subject.clone(), now);
        if !self.app.store.claim_notification(&notification, stale_before).await.map_err(|e| e.to_string())? {
            return Ok(Outcome::Retry("another attempt holds this notification".into()));
        }
        if !notification.to_send() {
            return Ok(Outcome::Logged(notification.status));
        }
        let within = match self.within_the_hour(event, kind, now).await {
            Ok(within) => within,
            Err(error) => {
                // The claim is given back as failed, so that the message, when it comes back,
                // takes it again rather than finding a dead claim.
                let released = Notification { error: Some(error.clone()), ..notification };
                self.app.store.settle_notification(&released).await.map_err(|e| e.to_string())?;
                return Ok(Outcome::Retry(error));
            }
        };
        if !within {
            let per_hour = self.app.settings.emails_per_hour;
            let held = Notification {
                status: Delivery::Held,
                error: Some(shared::domain::notification::held(per_hour)),
                ..notification
            };
            self.app.store.settle_notification(&held).await.map_err(|e| e.to_string())?;
            return Ok(Outcome::Logged(Delivery::Held));
        }
        let to = notification.to.clone().unwrap_or_default();
        let sent = self.send(&to, &email).await;
        (notification.status, notification.error) = match &sent {
            Ok(()) => (Delivery::Sent, None),
            Err(SendError::Refused(error)) => (Delivery::Failed, Some(error.clone())),
            Err(SendError::Rejected(error)) => {
                (Delivery::Failed, Some(format!("{}: {error}", shared::domain::notification::REJECTED)))
            }
            Err(SendError::Unknown(error)) => {
                tracing::warn!(%error, "no answer from the mail service: logged as unconfirmed");
                (Delivery::Failed, Some(UNCONFIRMED.into()))
            }
        };
        self.app.store.settle_notification(&notification).await.map_err(|e| e.to_string())?;
        match sent {
            Ok(()) | Err(SendError::Unknown(_) | SendError::Rejected(_)) => {
                Ok(Outcome::Logged(notification.status))
            }
            Err(SendError::Refused(error)) => Ok(Outcome::Retry(error)),
        }
    }

    /// Counts an e-mail to the event's client in this hour: false when it had its
    /// `EMAILS_PER_HOUR` already (a client cycling a service through suspensions, say).
    /// A kind a client must hear of (it cannot mute it) is not counted unless the client caused
    /// it itself: a provider's sweep suspending many services tells each.
    async fn within_the_hour(
        &self,
        event: &LifecycleEvent,
        kind: Kind,
        now: Timestamp,
    ) -> Result<bool, String> {
        if !kind.can_be_muted() && event.actor.id != event.client_id.as_str() {
            return Ok(true);
        }
        let hour_start = now.unix_seconds() - now.unix_seconds().rem_euclid(HOUR);
        let hour = Timestamp::from_unix_millis(hour_start * 1000).to_string();
        let counter = shared::store::keys::emails_sent(event.client_id.as_str(), &hour[..13]);
        let per_hour = self.app.settings.emails_per_hour;
        self.app.store.count_up(counter, per_hour, hour_start + 2 * HOUR).await.map_err(|e| e.to_string())
    }

    /// Sends, again after a throttling answer (which says it was not taken), with back-off.
    async fn send(&self, to: &str, email: &Email) -> Result<(), SendError> {
        let mut attempt = 1;
        loop {
            match self.send_once(to, email).await {
                Err(SendError::Refused(error))
                    if attempt < SEND_ATTEMPTS && THROTTLED.iter().any(|code| error.contains(code)) =>
                {
                    tokio::time::sleep(SEND_BACKOFF * 4u32.pow(attempt - 1)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn send_once(&self, to: &str, email: &Email) -> Result<(), SendError> {
        let content = shared::mail::simple_content(email).map_err(SendError::Refused)?;
        self.ses
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(content)
            .send()
            .await
            .map_err(|e| {
                // Refused: an answer that it was not taken (4xx). A 5xx, or no answer, may
                // come after the mail service took it.
                let answered = match &e {
                    aws_sdk_sesv2::error::SdkError::ServiceError(e) => !e.raw().status().is_server_error(),
                    _ => false,
                };
                // Not sent at all: the request could not be built or signed (no credentials), or
                // no connection was made (refused, or it timed out connecting).
                let unsent = matches!(e, aws_sdk_sesv2::error::SdkError::ConstructionFailure(_))
                    || never_connected(&e);
                let code = e.as_service_error().and_then(|e| e.meta().code()).unwrap_or_default().to_owned();
                let error = aws_sdk_sesv2::error::DisplayErrorContext(e).to_string();
                match (answered || unsent, REJECTED.contains(&code.as_str())) {
                    (true, true) => SendError::Rejected(error),
                    (true, false) => SendError::Refused(error),
                    (false, _) => SendError::Unknown(error),
                }
            })?;
        Ok(())
    }
}

/// The provider's template of `kind`, else the default: a provider's template was checked when
/// it was saved, but should it fail on a real event, the client still gets the default.
fn render(
    kind: Kind,
    custom: Option<&notification::Template>,
    context: &serde_json::Value,
) -> Result<Email, String> {
    if let Some(custom) = custom {
        match custom.render(context) {
            Ok(email) => return Ok(email),
            Err(error) => {
                tracing::error!(kind = kind.as_str(), %error, "the provider's template failed: the default is sent")
            }
        }
    }
    default_template(kind).render(context).map_err(|e| e.to_string())
}
