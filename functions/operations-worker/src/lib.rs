//! `operations-worker`: carries out the long-running operations on the queue by calling the
//! product type's control panel, then writes the result. A message delivered twice finds its
//! operation over and does nothing; a failing call is retried with backoff, and on its last
//! receive the operation is abandoned (service restored, charge refunded, history told) and the
//! message left to go to the dead-letter queue. Answers partial batch failures.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{Error, LambdaEvent};
use shared::domain::lifecycle::Change;
use shared::operations::{apply, Money};
use shared::panel::{PanelRequest, ProcessingModule};
use shared::queue::OperationMessage;
use shared::store::StoreError;
use shared::telemetry::{self, Metric};
use shared::App;
use tracing::Instrument;

pub struct Worker {
    pub app: App,
    /// The queue's maxReceiveCount: the receive after which a message goes to the DLQ.
    pub max_receives: u32,
    /// The first retry waits this long, doubling with each receive (at most 15 minutes).
    pub retry_base_seconds: i32,
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
        }
    }

    pub async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        let mut response = SqsBatchResponse::default();
        for record in event.payload.records {
            let span = operation_span(&record);
            let (operation, outcome) = self.process(&record).instrument(span.clone()).await;
            let _entered = span.enter();
            let metric = match &outcome {
                Ok(false) => continue,
                Ok(true) => Metric::OperationsDone,
                Err(Failed::Retry(_)) => Metric::OperationsFailed,
                Err(Failed::Poison(_)) => Metric::OperationsDeadLettered,
            };
            telemetry::count(metric, &operation);
            if let Err(failed) = outcome {
                tracing::warn!(%operation, %failed, "operation not done");
                self.back_off(&record).await;
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = record.message_id.clone().unwrap_or_default();
                response.batch_item_failures.push(failure);
            }
        }
        Ok(response)
    }

    /// Carries out one message's operation: its name (`unknown` before it is read), and whether
    /// it was done now (not a duplicate delivery).
    async fn process(&self, record: &SqsMessage) -> (String, Result<bool, Failed>) {
        let mut operation = String::from("unknown");
        let outcome = self.carry_out(record, &mut operation).await;
        (operation, outcome)
    }

    async fn carry_out(&self, record: &SqsMessage, operation: &mut String) -> Result<bool, Failed> {
        let body = record.body.as_deref().unwrap_or_default();
        let message: OperationMessage = serde_json::from_str(body)
            .map_err(|e| Failed::Poison(format!("not an operation message: {e}")))?;
        let service_id = shared::domain::ServiceId::parse(&message.service_id)
            .ok_or_else(|| Failed::Poison("not a service id".into()))?;
        let store_error = |e: StoreError| Failed::Retry(e.to_string());
        let Some(service) = self.app.store.get_service(&service_id).await.map_err(store_error)? else {
            return Err(Failed::Poison("no such service".into()));
        };
        let Some(pending) = service.pending.as_ref().filter(|p| p.id == message.operation_id) else {
            tracing::info!(operation_id = %message.operation_id, "operation over already: duplicate delivery");
            return Ok(false);
        };
        *operation = pending.work.action().name();
        let rules = self.app.store.product_type(service.product_type).await.map_err(store_error)?;
        let panel_url = rules.and_then(|r| r.panel_url).unwrap_or_default();
        let request = PanelRequest::for_operation(&service, pending);
        let now = self.app.clock.now();
        match self.app.panel.execute(&panel_url, &request).await {
            Ok(outcome) => {
                let change = service.finish(&pending.id, outcome, now).expect("the pending operation");
                self.write(&change, Money::Credit(pending.work.credit())).await?;
                tracing::info!(result = %change.entry.details["result"], "operation done");
                Ok(true)
            }
            Err(error) if self.receive_count(record) >= self.max_receives => {
                let (change, refund) =
                    service.abandon(&pending.id, &error.to_string(), now).expect("pending");
                self.write(&change, Money::Refund(refund)).await?;
                Err(Failed::Poison(error.to_string()))
            }
            Err(error) => Err(Failed::Retry(error.to_string())),
        }
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

    async fn write(&self, change: &Change, money: Money) -> Result<(), Failed> {
        apply(&self.app, change, money).await.map_err(|e| Failed::Retry(e.to_string()))
    }
}
