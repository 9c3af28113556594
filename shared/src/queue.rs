//! The operations queue: long-running work is put on SQS and carried out by the
//! `operations-worker` function.

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use serde::{Deserialize, Serialize};

/// What the worker needs to find its work: the service holds the rest (its pending operation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationMessage {
    pub service_id: String,
    pub operation_id: String,
    /// The service's product type when the work was queued, so that the worker reads only that
    /// type's rules with the service (absent from messages queued before it was added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_type: Option<crate::domain::ProductType>,
}

#[derive(Debug, thiserror::Error)]
#[error("queue: {message}")]
pub struct QueueError {
    message: String,
    /// SQS throttled the call, failed it with a 5xx or did not answer (`aws::is_unavailable`).
    pub unavailable: bool,
}

impl QueueError {
    fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), unavailable: false }
    }
}

impl<E> From<aws_sdk_sqs::error::SdkError<E, aws_sdk_sqs::config::http::HttpResponse>> for QueueError
where
    E: std::error::Error + aws_sdk_sqs::error::ProvideErrorMetadata + 'static,
{
    fn from(err: aws_sdk_sqs::error::SdkError<E, aws_sdk_sqs::config::http::HttpResponse>) -> Self {
        let unavailable = crate::aws::is_unavailable(&err);
        Self { message: aws_sdk_sqs::error::DisplayErrorContext(err).to_string(), unavailable }
    }
}

#[derive(Debug, Clone)]
pub struct Queue {
    client: aws_sdk_sqs::Client,
    url: String,
}

/// SQS takes at most ten messages a batch.
const BATCH: usize = 10;

impl Queue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self { client, url: url.into() }
    }

    pub fn client(&self) -> &aws_sdk_sqs::Client {
        &self.client
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub async fn send(&self, messages: &[OperationMessage]) -> Result<(), QueueError> {
        for chunk in messages.chunks(BATCH) {
            let mut request = self.client.send_message_batch().queue_url(&self.url);
            for (i, message) in chunk.iter().enumerate() {
                let body = serde_json::to_string(message).map_err(|e| QueueError::new(e.to_string()))?;
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
                    .map_err(|e| QueueError::new(e.to_string()))?;
                request = request.entries(entry);
            }
            let out = request.send().await?;
            if let Some(failed) = out.failed.first() {
                return Err(QueueError::new(format!("message refused: {:?}", failed.message)));
            }
        }
        Ok(())
    }

    /// Sends `message` to be received only after `seconds` (at most 900, SQS's bound).
    pub async fn send_after(&self, message: &OperationMessage, seconds: i32) -> Result<(), QueueError> {
        let body = serde_json::to_string(message).map_err(|e| QueueError::new(e.to_string()))?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .delay_seconds(seconds.clamp(0, 900))
            .send()
            .await?;
        Ok(())
    }

    /// Makes a message that failed visible again only after `seconds` (the retry backoff).
    pub async fn retry_after(&self, receipt_handle: &str, seconds: i32) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds)
            .send()
            .await?;
        Ok(())
    }
}
