//! The bridge between the operations queue and the worker where no Lambda event source mapping
//! exists (the emulator): receive a batch, hand it to the worker as a real SQS event, delete
//! what the worker did not report failed. Failed messages come back after their visibility
//! timeout and, past the queue's maxReceiveCount, go to the dead-letter queue.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use std::collections::HashMap;
use std::future::Future;

pub type BridgeError = Box<dyn std::error::Error + Send + Sync>;

/// One round: delivers up to ten messages; answers how many were delivered.
pub async fn pump<F, Fut>(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    deliver: F,
) -> Result<usize, BridgeError>
where
    F: FnOnce(SqsEvent) -> Fut,
    Fut: Future<Output = Result<SqsBatchResponse, BridgeError>>,
{
    let received = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .wait_time_seconds(0)
        .send()
        .await?;
    let messages = received.messages.unwrap_or_default();
    if messages.is_empty() {
        return Ok(0);
    }
    let mut event = SqsEvent::default();
    for message in &messages {
        let mut record = SqsMessage::default();
        record.message_id = message.message_id.clone();
        record.receipt_handle = message.receipt_handle.clone();
        record.body = message.body.clone();
        record.event_source = Some("aws:sqs".into());
        record.attributes = message
            .attributes
            .iter()
            .flatten()
            .map(|(name, value)| (name.as_str().to_owned(), value.clone()))
            .collect::<HashMap<_, _>>();
        event.records.push(record);
    }
    let response = deliver(event).await?;
    let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    let done: Vec<DeleteMessageBatchRequestEntry> = messages
        .iter()
        .filter(|m| !failed.contains(&m.message_id.as_deref().unwrap_or_default()))
        .enumerate()
        .filter_map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .set_receipt_handle(m.receipt_handle.clone())
                .build()
                .ok()
        })
        .collect();
    if !done.is_empty() {
        sqs.delete_message_batch().queue_url(queue_url).set_entries(Some(done)).send().await?;
    }
    Ok(messages.len())
}

/// Runs `worker` in-process over the queue until it is empty, at most `rounds` batches; answers
/// how many messages were delivered.
pub async fn drain(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    worker: &operations_worker::Worker,
    rounds: usize,
) -> Result<usize, BridgeError> {
    drain_within(sqs, queue_url, worker, rounds, None).await
}

/// As `drain`, each invocation given `budget` before its deadline (as a function with that
/// timeout is); none: no deadline, as `cargo lambda watch` invokes.
pub async fn drain_within(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    worker: &operations_worker::Worker,
    rounds: usize,
    budget: Option<std::time::Duration>,
) -> Result<usize, BridgeError> {
    let mut delivered = 0;
    for _ in 0..rounds {
        let deliver = |event| async {
            let mut context = lambda_runtime::Context::default();
            if let Some(budget) = budget {
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
                context.deadline = (now + budget).as_millis() as u64;
            }
            let event = lambda_runtime::LambdaEvent::new(event, context);
            worker.handle(event).await.map_err(|e| -> BridgeError { e.to_string().into() })
        };
        match pump(sqs, queue_url, deliver).await? {
            0 => break,
            n => delivered += n,
        }
    }
    Ok(delivered)
}
