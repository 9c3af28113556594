//! `operations-worker`: carries out the long-running operations on the queue by calling the
//! product type's control panel, then writes the result. A message delivered twice finds its
//! operation over and does nothing; a failing call is retried with backoff, and on its last
//! receive the operation is abandoned (service restored, charge refunded, history told) and the
//! message left to go to the dead-letter queue. Answers partial batch failures.
//!
//! A batch always ends within the function's timeout: messages of different services are
//! carried out at once (one service's in order), and each operation's panel calls must answer
//! before the invocation's deadline less `write_reserve`, or they count as failed, so even a
//! hanging panel leaves the time to write every outcome (a restore and refund on a last
//! receive) before Lambda would end the invocation.

mod entry;
pub use entry::serve;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{Error, LambdaEvent};
use shared::acme::{self, Step};
use shared::domain::lifecycle::{Change, Outcome, PendingOperation};
use shared::domain::{ProductTypeRules, Service};
use shared::operations::{apply, Money};
use shared::panel::{PanelError, PanelRequest, ProcessingModule};
use shared::queue::OperationMessage;
use shared::store::StoreError;
use shared::telemetry::{self, Metric};
use shared::{ApiError, App};
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tracing::Instrument;

/// The function's timeout (`OperationsWorkerFunction`'s `Timeout` in the template), and the
/// budget of an invocation that names no deadline.
pub const TIMEOUT_SECONDS: u64 = 30;
/// Messages in one batch (the event source mapping's `BatchSize`).
pub const BATCH_SIZE: usize = 10;
/// Kept back from the deadline to write the batch's outcomes: a write through all its retries
/// (`shared::aws::Resilience::DEPLOYED.operation`), and a second to answer.
pub const WRITE_RESERVE_SECONDS: u64 = 7;
/// The longest a message's worker takes its bulk operation's next services for.
const BULK_TURN_SECONDS: u64 = 3;
/// The most panel calls one operation makes (a renewal that also resumes).
pub const CALLS_PER_OPERATION: u64 = 2;
// Operations run at once, so a batch lasts as long as its slowest: its panel calls, each within
// the panel's timeout, then its writes. The template's numbers are checked against these.
const _: () =
    assert!(CALLS_PER_OPERATION * shared::panel::TIMEOUT_SECONDS + WRITE_RESERVE_SECONDS <= TIMEOUT_SECONDS);

pub struct Worker {
    pub app: App,
    /// The queue's maxReceiveCount: the receive after which a message goes to the DLQ.
    pub max_receives: u32,
    /// The first retry waits this long, doubling with each receive (at most 15 minutes).
    pub retry_base_seconds: i32,
    /// Kept back from the invocation's deadline to write outcomes (`WRITE_RESERVE_SECONDS`).
    pub write_reserve: Duration,
}

#[derive(Debug)]
enum Failed {
    /// Try again later.
    Retry(String),
    /// Given up: the message should go to the dead-letter queue.
    Poison(String),
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failed::Retry(reason) => write!(f, "will retry: {reason}"),
            Failed::Poison(reason) => write!(f, "given up: {reason}"),
        }
    }
}

/// The service a message names (empty when it names none: such a message is poison).
fn service_named(record: &SqsMessage) -> String {
    let message: Option<OperationMessage> = record.body.as_deref().and_then(|b| serde_json::from_str(b).ok());
    message.map(|m| m.service_id).unwrap_or_default()
}

/// The log span of one message: its id, and the service and operation its body names.
fn operation_span(record: &SqsMessage) -> tracing::Span {
    let message: Option<OperationMessage> = record.body.as_deref().and_then(|b| serde_json::from_str(b).ok());
    let (service_id, operation_id) =
        message.map_or((String::new(), String::new()), |m| (m.service_id, m.operation_id));
    telemetry::operation_span(record.message_id.as_deref().unwrap_or_default(), &service_id, &operation_id)
}

impl Worker {
    /// `OPERATIONS_MAX_RECEIVES` (default 5) and `OPERATIONS_RETRY_BASE_SECONDS` (default 10).
    pub fn from_env(app: App) -> Self {
        let number = |name: &str, default: i64| {
            std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
        };
        Self {
            app,
            max_receives: number("OPERATIONS_MAX_RECEIVES", 5) as u32,
            retry_base_seconds: number("OPERATIONS_RETRY_BASE_SECONDS", 10) as i32,
            write_reserve: Duration::from_secs(WRITE_RESERVE_SECONDS),
        }
    }

    /// When the panel calls of this invocation must have answered: its deadline (Lambda's, in
    /// milliseconds since the epoch) less the write reserve, or less half the time left when
    /// that is shorter. A context without a deadline in the coming 15 minutes (a bare one, or
    /// a local runner's) gets `TIMEOUT_SECONDS`.
    fn panel_deadline(&self, context: &lambda_runtime::Context) -> Instant {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let left = Some(Duration::from_millis(context.deadline.saturating_sub(now_ms)))
            .filter(|left| !left.is_zero() && *left <= Duration::from_secs(15 * 60))
            .unwrap_or(Duration::from_secs(TIMEOUT_SECONDS));
        Instant::now() + left - self.write_reserve.min(left / 2)
    }

    pub async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        let deadline = self.panel_deadline(&event.context);
        // One service's messages in order (they name the same operation, or one after another);
        // different services' at once.
        let mut by_service: BTreeMap<String, Vec<SqsMessage>> = BTreeMap::new();
        for record in event.payload.records {
            by_service.entry(service_named(&record)).or_default().push(record);
        }
        let groups = by_service.into_values().map(|records| async move {
            let mut failed = Vec::new();
            for record in records {
                if !self.handle_one(&record, deadline).await {
                    failed.push(record.message_id.clone().unwrap_or_default());
                }
            }
            failed
        });
        let mut response = SqsBatchResponse::default();
        for item_identifier in futures::future::join_all(groups).await.into_iter().flatten() {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = item_identifier;
            response.batch_item_failures.push(failure);
        }
        Ok(response)
    }

    /// Carries out one message; answers whether it is done with (else it is to be retried, or
    /// to go to the dead-letter queue).
    async fn handle_one(&self, record: &SqsMessage, deadline: Instant) -> bool {
        let span = operation_span(record);
        let (operation, outcome) = self.process(record, deadline).instrument(span.clone()).await;
        let metric = match &outcome {
            Ok(false) => return true,
            Ok(true) => Metric::OperationsDone,
            Err(Failed::Retry(_)) => Metric::OperationsFailed,
            Err(Failed::Poison(_)) => Metric::OperationsDeadLettered,
        };
        // Entered only between awaits: other messages' work runs on this thread meanwhile.
        span.in_scope(|| telemetry::count(metric, &operation));
        let Err(failed) = outcome else { return true };
        span.in_scope(|| tracing::warn!(%operation, %failed, "operation not done"));
        self.back_off(record).instrument(span).await;
        false
    }

    /// Carries out one message's operation: its name (`unknown` before it is read), and whether
    /// it was done now (not a duplicate delivery).
    async fn process(&self, record: &SqsMessage, deadline: Instant) -> (String, Result<bool, Failed>) {
        let mut operation = String::from("unknown");
        let mut bulk = None;
        let outcome = self.carry_out(record, &mut operation, &mut bulk, deadline).await;
        if let (Some(bulk), Ok(true) | Err(Failed::Poison(_))) = (bulk, &outcome) {
            self.carry_bulk_on(&bulk, deadline).await;
        }
        (operation, outcome)
    }

    /// Carries on the bulk operation whose operation just ended (its next service may take the
    /// place on the panel). One that cannot be carried on now is left to the
    /// `carry-on-bulk-operations` job.
    async fn carry_bulk_on(&self, bulk: &str, deadline: Instant) {
        let left = deadline.saturating_duration_since(Instant::now());
        let budget = shared::budget::Budget::of(left.min(Duration::from_secs(BULK_TURN_SECONDS)));
        if let Err(error) = shared::bulk::carry_on(&self.app, bulk, budget).await {
            tracing::warn!(%error, bulk_operation_id = %bulk, "bulk operation not carried on: the job will");
        }
    }

    async fn carry_out(
        &self,
        record: &SqsMessage,
        operation: &mut String,
        bulk: &mut Option<String>,
        deadline: Instant,
    ) -> Result<bool, Failed> {
        let body = record.body.as_deref().unwrap_or_default();
        let message: OperationMessage = serde_json::from_str(body)
            .map_err(|e| Failed::Poison(format!("not an operation message: {e}")))?;
        let service_id = shared::domain::ServiceId::parse(&message.service_id)
            .ok_or_else(|| Failed::Poison("not a service id".into()))?;
        let store_error = |e: StoreError| Failed::Retry(e.to_string());
        // The rules come with the service: a panel the provider moved is the one asked now.
        let read = match message.product_type {
            Some(product_type) => self.app.store.service_with_rules_of(&service_id, product_type).await,
            None => self.app.store.service_with_rules(&service_id, None).await,
        };
        let read = read.map_err(store_error)?;
        let Some(service) = read.service else {
            return Err(Failed::Poison("no such service".into()));
        };
        let Some(pending) = service.pending.as_ref().filter(|p| p.id == message.operation_id) else {
            tracing::info!(operation_id = %message.operation_id, "operation over already: duplicate delivery");
            return Ok(false);
        };
        *operation = pending.work.action().name();
        bulk.clone_from(&pending.bulk_operation_id);
        if let Some(rules) = read.rules.as_ref().filter(|r| r.is_acme()) {
            return self.carry_out_acme(record, &service, pending, rules, deadline).await;
        }
        let panel_url = read.rules.and_then(|r| r.panel_url).unwrap_or_default();
        let now = self.app.clock.now();
        let mut made = 0;
        let calls = self.execute_all(&panel_url, PanelRequest::calls_for(&service, pending), &mut made);
        let answered = tokio::time::timeout_at(deadline.into(), calls)
            .await
            .unwrap_or_else(|_| Err(PanelError("no answer before the worker's deadline".into())));
        match answered {
            Ok(outcome) => {
                let change = service.finish(&pending.id, outcome, now).expect("the pending operation");
                self.write(&change, Money::Credit(pending.work.credit())).await?;
                tracing::info!(result = %change.entry.details["result"], "operation done");
                Ok(true)
            }
            Err(error) if self.receive_count(record) >= self.max_receives => {
                // A renewal the panel made, now or on an earlier receive, and only its resume
                // failed: the renewal stands.
                let renewal_made = made > 0 || pending.renewed_on_panel;
                let unresumed =
                    renewal_made.then(|| service.finish_unresumed(&pending.id, &error.to_string(), now));
                if let Some(change) = unresumed.flatten() {
                    self.write(&change, Money::Credit(pending.work.credit())).await?;
                    return Err(Failed::Poison(error.to_string()));
                }
                let (change, refund) =
                    service.abandon(&pending.id, &error.to_string(), now).expect("pending");
                self.write(&change, Money::Refund(refund)).await?;
                Err(Failed::Poison(error.to_string()))
            }
            Err(error) => {
                if made > 0 {
                    self.remember_renewal(&service, &pending.id).await;
                }
                Err(Failed::Retry(error.to_string()))
            }
        }
    }

    /// Carries one step of an ACME type's operation out (`shared::acme`): done, given up,
    /// waiting for the client, or to be asked again later (a delayed message of its own, so
    /// that polling counts no receives).
    async fn carry_out_acme(
        &self,
        record: &SqsMessage,
        service: &Service,
        pending: &PendingOperation,
        rules: &ProductTypeRules,
        deadline: Instant,
    ) -> Result<bool, Failed> {
        let now = self.app.clock.now();
        let authority = acme::Authority { store: &self.app.store, client: &self.app.acme };
        let step = tokio::time::timeout_at(deadline.into(), acme::step(authority, service, rules, now))
            .await
            .unwrap_or_else(|_| Err(acme::AcmeError("no answer before the worker's deadline".into())));
        match step {
            Ok(Step::Done(change)) => {
                self.write(&change, Money::Credit(pending.work.credit())).await?;
                tracing::info!(result = %change.entry.details["result"], "operation done");
                Ok(true)
            }
            Ok(Step::Waiting) => Ok(false),
            Ok(Step::PollAfter(seconds)) => {
                let message = OperationMessage {
                    service_id: service.id.to_string(),
                    operation_id: pending.id.clone(),
                    product_type: Some(service.product_type),
                };
                let queue = self
                    .app
                    .queue
                    .as_ref()
                    .ok_or_else(|| Failed::Retry("no queue to poll through".into()))?;
                // `send_after` keeps the delay within SQS's 15 minutes.
                let delay = i32::try_from(seconds).unwrap_or(i32::MAX);
                queue.send_after(&message, delay).await.map_err(|e| Failed::Retry(e.to_string()))?;
                Ok(false)
            }
            Ok(Step::GiveUp(why)) => {
                self.give_up(service, &pending.id, &why).await?;
                Ok(true)
            }
            Err(error) if self.receive_count(record) >= self.max_receives => {
                self.give_up(service, &pending.id, &error.to_string()).await?;
                Err(Failed::Poison(error.to_string()))
            }
            Err(error) => Err(Failed::Retry(error.to_string())),
        }
    }

    /// Abandons the operation `operation_id` of the service as it now stands (a step may have
    /// written its progress), refunding what it charged.
    async fn give_up(&self, service: &Service, operation_id: &str, why: &str) -> Result<(), Failed> {
        let now = self.app.clock.now();
        let store_error = |e: StoreError| Failed::Retry(e.to_string());
        let service = self
            .app
            .store
            .get_service(&service.id)
            .await
            .map_err(store_error)?
            .unwrap_or_else(|| service.clone());
        let Some((change, refund)) = service.abandon(operation_id, why, now) else { return Ok(()) };
        self.write(&change, Money::Refund(refund)).await
    }

    /// Notes on the service that the panel made its renewal, for a last receive that may not
    /// reach the panel at all. A note that cannot be written leaves it to the next receive
    /// (and, on the last, to what that receive learns).
    async fn remember_renewal(&self, service: &shared::domain::Service, operation_id: &str) {
        let Some(marked) = service.mark_renewed_on_panel(operation_id) else { return };
        let mut batch = self.app.store.batch();
        let written = match batch.service(&marked) {
            Ok(_) => self.app.store.commit(batch).await,
            Err(error) => Err(error),
        };
        if let Err(error) = written {
            tracing::warn!(%error, "could not note the renewal the panel made");
        }
    }

    /// Makes the operation's panel calls in order; the outcome is the last one's, and `made`
    /// counts those the panel carried out. The panel does each once per operation id, so a
    /// retry repeats the ones done before harmlessly.
    async fn execute_all(
        &self,
        panel_url: &str,
        calls: Vec<PanelRequest>,
        made: &mut usize,
    ) -> Result<Outcome, PanelError> {
        let mut outcome = Outcome::Done;
        for call in &calls {
            outcome = self.app.panel.execute(panel_url, call).await?;
            *made += 1;
        }
        Ok(outcome)
    }

    fn receive_count(&self, record: &SqsMessage) -> u32 {
        record.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1)
    }

    /// Delays the next delivery exponentially with the receives so far (a given-up message
    /// goes to the dead-letter queue at that next receive).
    async fn back_off(&self, record: &SqsMessage) {
        let (Some(queue), Some(receipt)) = (&self.app.queue, &record.receipt_handle) else {
            return;
        };
        let exponent = self.receive_count(record).saturating_sub(1).min(10);
        let delay = self.retry_base_seconds.saturating_mul(1 << exponent).min(900);
        if let Err(e) = queue.retry_after(receipt, delay).await {
            tracing::warn!(error = %e, "could not delay the retry");
        }
    }

    /// Writes an outcome. Operations of one client's services run at once and move money on
    /// the same account, so a write that lost to another on the account reads it again and
    /// tries again (the service's own version still guards against any other change).
    async fn write(&self, change: &Change, money: Money) -> Result<(), Failed> {
        let mut attempts = BATCH_SIZE;
        loop {
            attempts -= 1;
            match apply(&self.app, change, money).await {
                Err(ApiError::Conflict(_)) if attempts > 0 => continue,
                other => return other.map_err(|e| Failed::Retry(e.to_string())),
            }
        }
    }
}
