//! The lifecycle events' path in the emulator: the event bus with a rule for each of its
//! queues (`events-tap`, which `make events` prints, and the notifier's), the SES sender, and
//! the reading of the table's stream as Lambda's event source mapping does (the emulator has
//! none): history inserts only, in order, past what the publisher did not report failed.

use crate::bridge::BridgeError;
use aws_config::SdkConfig;
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use aws_sdk_dynamodbstreams::types::{AttributeValue as StreamValue, ShardIteratorType};
use aws_sdk_sqs::types::QueueAttributeName;
use shared::domain::Timestamp;
use std::collections::HashMap;
use std::future::Future;

/// The address the local stack and the tests send notifications from (verified in the
/// emulator's SES).
pub const SENDER: &str = "notifications@hosting.example";
/// What the rules match: every lifecycle event.
pub const PATTERN: &str = r#"{"source": ["hosting.services"]}"#;

/// The bus and the queues its rules fill.
#[derive(Debug, Clone)]
pub struct EventQueues {
    pub bus: String,
    pub tap: String,
    pub notifications: String,
    pub notifications_dead_letter: String,
    /// Where the stream mapping reports a batch it gave up on (`EventsPublisherFailures`).
    pub publisher_failures: String,
}

/// Creates the bus `bus` (when missing) with the queue `{tap}` and the notifications queue
/// `{bus}-notifications` (with its dead-letter queue, redrive after `max_receives`), each
/// subscribed to every lifecycle event by a rule; and verifies the SES sender.
pub async fn create_event_resources(
    config: &SdkConfig,
    bus: &str,
    tap: &str,
    max_receives: u32,
) -> Result<EventQueues, BridgeError> {
    let events = aws_sdk_eventbridge::Client::new(config);
    match events.create_event_bus().name(bus).send().await {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_already_exists_exception()) => {}
        Err(e) => return Err(e.into()),
    }
    let sqs = aws_sdk_sqs::Client::new(config);
    let (tap_url, tap_arn) = queue(&sqs, tap, None).await?;
    subscribe(&events, bus, tap, &tap_arn).await?;
    let dead_letter = format!("{bus}-notifications-dlq");
    let (dead_letter_url, dead_letter_arn) = queue(&sqs, &dead_letter, None).await?;
    let redrive =
        serde_json::json!({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": max_receives});
    let notifications = format!("{bus}-notifications");
    let (notifications_url, notifications_arn) =
        queue(&sqs, &notifications, Some(redrive.to_string())).await?;
    subscribe(&events, bus, &notifications, &notifications_arn).await?;
    let (publisher_failures, _) = queue(&sqs, &format!("{bus}-publisher-failures"), None).await?;
    verify_sender(config).await?;
    Ok(EventQueues {
        bus: bus.to_owned(),
        tap: tap_url,
        notifications: notifications_url,
        notifications_dead_letter: dead_letter_url,
        publisher_failures,
    })
}

/// Verifies `SENDER` in the emulator's SES (it may be already).
pub async fn verify_sender(config: &SdkConfig) -> Result<(), BridgeError> {
    let ses = aws_sdk_sesv2::Client::new(config);
    match ses.create_email_identity().email_identity(SENDER).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_already_exists_exception()) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// How an address confirmation's subject starts.
pub const CONFIRMATION: &str = "Confirm your address";

/// The one-time token of the last address confirmation sent to `to` (none sent: `None`).
pub async fn confirmation_token(endpoint: &str, to: &str) -> Result<Option<String>, BridgeError> {
    let mail = sent_mail(endpoint, to).await?;
    let last = mail.iter().rev().find(|(subject, _)| subject.starts_with(CONFIRMATION));
    Ok(last.and_then(|(_, body)| {
        let after = body.split("the code ").nth(1)?;
        Some(after.chars().take_while(char::is_ascii_hexdigit).collect())
    }))
}

/// The queue `name` (created when missing): its URL and ARN.
async fn queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    redrive: Option<String>,
) -> Result<(String, String), BridgeError> {
    let mut request =
        sqs.create_queue().queue_name(name).attributes(QueueAttributeName::VisibilityTimeout, "60");
    if let Some(redrive) = redrive {
        request = request.attributes(QueueAttributeName::RedrivePolicy, redrive);
    }
    let url = request.send().await?.queue_url.unwrap_or_default();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap_or_default();
    Ok((url, arn))
}

/// A rule named after the queue on `bus`, sending every lifecycle event to it.
async fn subscribe(
    events: &aws_sdk_eventbridge::Client,
    bus: &str,
    name: &str,
    arn: &str,
) -> Result<(), BridgeError> {
    events.put_rule().name(name).event_bus_name(bus).event_pattern(PATTERN).send().await?;
    let target = aws_sdk_eventbridge::types::Target::builder().id("queue").arn(arn).build()?;
    events.put_targets().rule(name).event_bus_name(bus).targets(target).send().await?;
    Ok(())
}

/// A table's stream, read from where the last delivery left it, retried as the template's
/// event source mapping retries (`StreamRetries`).
pub struct StreamReader {
    client: aws_sdk_dynamodbstreams::Client,
    arn: String,
    /// The last sequence number handled, by shard.
    after: HashMap<String, String>,
    retries: StreamRetries,
    /// The record each shard's deliveries keep failing at, and how many times it was retried.
    failing: HashMap<String, (String, i64)>,
    /// Where a batch given up on is reported, as Lambda reports it to the mapping's
    /// `OnFailure` destination.
    on_failure: Option<(aws_sdk_sqs::Client, String)>,
}

/// The template's retry policy for the stream (`EventsPublisherFunction`'s `Stream` event):
/// how many times a failed batch is retried before it is given up on and reported (`-1`:
/// until its records leave the stream), as deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamRetries {
    pub maximum_retry_attempts: i64,
}

impl StreamRetries {
    /// The template's.
    pub fn deployed() -> Result<Self, BridgeError> {
        let path = crate::emulator::workspace_root().join("infra/template.yaml");
        let template: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(path)?)?;
        let stream = &template["Resources"]["EventsPublisherFunction"]["Properties"]["Events"]["Stream"];
        let attempts = stream["Properties"]["MaximumRetryAttempts"].as_i64();
        Ok(Self {
            maximum_retry_attempts: attempts.ok_or("the stream mapping states no MaximumRetryAttempts")?,
        })
    }

    fn gives_up_after(self, retries: i64) -> bool {
        self.maximum_retry_attempts >= 0 && retries > self.maximum_retry_attempts
    }
}

/// At most this many records to a delivery, as the template's event source mapping.
pub const BATCH_SIZE: i32 = 100;

impl StreamReader {
    pub async fn open(config: &SdkConfig, table: &str) -> Result<Self, BridgeError> {
        let dynamodb = aws_sdk_dynamodb::Client::new(config);
        let described = dynamodb.describe_table().table_name(table).send().await?;
        let arn = described.table.and_then(|t| t.latest_stream_arn).ok_or("the table has no stream")?;
        Ok(Self {
            client: aws_sdk_dynamodbstreams::Client::new(config),
            arn,
            after: HashMap::new(),
            retries: StreamRetries::deployed()?,
            failing: HashMap::new(),
            on_failure: None,
        })
    }

    /// Retries as `retries` says rather than as the template does.
    pub fn retry(&mut self, retries: StreamRetries) {
        self.retries = retries;
    }

    /// Batches given up on are reported to the queue `url` (as the mapping's `OnFailure`).
    pub fn reporting_to(mut self, sqs: aws_sdk_sqs::Client, url: &str) -> Self {
        self.on_failure = Some((sqs, url.to_owned()));
        self
    }

    /// One round over every shard: the records after the last one handled (at most
    /// `BATCH_SIZE`), the history inserts among them handed to `deliver` as a stream event;
    /// then on past every record but the first one `deliver` reported failed (and those after
    /// it), which the next round delivers again. Answers how many records were delivered.
    pub async fn pump<F, Fut>(&mut self, mut deliver: F) -> Result<usize, BridgeError>
    where
        F: FnMut(Event) -> Fut,
        Fut: Future<Output = Result<DynamoDbEventResponse, BridgeError>>,
    {
        let described = self.client.describe_stream().stream_arn(&self.arn).send().await?;
        let shards = described.stream_description.map(|d| d.shards.unwrap_or_default()).unwrap_or_default();
        let mut delivered = 0;
        for shard in shards {
            let Some(shard_id) = shard.shard_id else { continue };
            let iterator = self.client.get_shard_iterator().stream_arn(&self.arn).shard_id(&shard_id);
            let iterator = match self.after.get(&shard_id) {
                Some(after) => iterator
                    .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                    .sequence_number(after),
                None => iterator.shard_iterator_type(ShardIteratorType::TrimHorizon),
            };
            let Some(iterator) = iterator.send().await?.shard_iterator else { continue };
            let records = self
                .client
                .get_records()
                .shard_iterator(iterator)
                .limit(BATCH_SIZE)
                .send()
                .await?
                .records
                .unwrap_or_default();
            let sequences: Vec<String> =
                records.iter().filter_map(|r| r.dynamodb.as_ref()?.sequence_number.clone()).collect();
            let arrivals: Vec<Timestamp> = records
                .iter()
                .filter(|r| r.dynamodb.as_ref().is_some_and(|d| d.sequence_number.is_some()))
                .map(|r| arrival(r.dynamodb.as_ref().and_then(|d| d.approximate_creation_date_time)))
                .collect();
            let Some(last) = sequences.last().cloned() else { continue };
            let mut event = Event::default();
            event.records = records
                .into_iter()
                .filter_map(|r| lambda_record(r, &self.arn))
                .filter(is_history_insert)
                .collect();
            let mut handled = last;
            if !event.records.is_empty() {
                delivered += event.records.len();
                let response = deliver(event).await?;
                if let Some(failed) =
                    response.batch_item_failures.iter().find_map(|f| f.item_identifier.clone())
                {
                    let Some(at) = sequences.iter().position(|s| *s == failed) else {
                        return Err(format!("a failure of record {failed}, which was not delivered").into());
                    };
                    let retried = match self.failing.get(&shard_id) {
                        Some((record, retried)) if *record == failed => retried + 1,
                        _ => 0,
                    };
                    if self.retries.gives_up_after(retried) {
                        // Given up on: reported, and the stream moves on past the batch.
                        self.failing.remove(&shard_id);
                        self.report(&shard_id, &sequences[at..], &arrivals[at..]).await?;
                    } else {
                        self.failing.insert(shard_id.clone(), (failed, retried));
                        match at {
                            0 => {
                                self.after.entry(shard_id).or_default();
                                continue;
                            }
                            at => handled = sequences[at - 1].clone(),
                        }
                    }
                } else {
                    self.failing.remove(&shard_id);
                }
            }
            self.after.insert(shard_id, handled);
        }
        // A shard left at its start (its first record failed) is read from its start again.
        self.after.retain(|_, after| !after.is_empty());
        Ok(delivered)
    }
}

impl StreamReader {
    /// What Lambda sends the mapping's `OnFailure` destination for a batch it gave up on: where
    /// the records were in the stream and when they arrived (`DDBStreamBatchInfo`).
    async fn report(
        &self,
        shard: &str,
        sequences: &[String],
        arrivals: &[Timestamp],
    ) -> Result<(), BridgeError> {
        let now = arrival(None);
        let (Some(first), Some(last)) = (sequences.first(), sequences.last()) else { return Ok(()) };
        let message = serde_json::json!({
            "requestContext": {"condition": "RetryAttemptsExhausted"},
            "version": "1.0",
            "timestamp": now,
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": first,
                "endSequenceNumber": last,
                "approximateArrivalOfFirstRecord": arrivals.first().unwrap_or(&now),
                "approximateArrivalOfLastRecord": arrivals.last().unwrap_or(&now),
                "batchSize": sequences.len(),
                "streamArn": self.arn,
            },
        });
        match &self.on_failure {
            Some((sqs, url)) => {
                sqs.send_message().queue_url(url).message_body(message.to_string()).send().await?;
            }
            None => eprintln!("a stream batch given up on: {message}"),
        }
        Ok(())
    }
}

/// When a record arrived in the stream (now, when the emulator does not say).
fn arrival(at: Option<aws_sdk_dynamodbstreams::primitives::DateTime>) -> Timestamp {
    let millis = match at {
        Some(at) => at.to_millis().unwrap_or_default(),
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default(),
    };
    Timestamp::from_unix_millis(millis)
}

/// What the template's event source mapping lets through: inserts of history items.
fn is_history_insert(record: &EventRecord) -> bool {
    let sort_key = record.change.keys.get("sk");
    record.event_name == "INSERT"
        && matches!(sort_key, Some(serde_dynamo::AttributeValue::S(sk)) if sk.starts_with("HIST#"))
}

/// A record as Lambda hands it to a function.
fn lambda_record(record: aws_sdk_dynamodbstreams::types::Record, arn: &str) -> Option<EventRecord> {
    let change = record.dynamodb?;
    let mut lambda = EventRecord::default();
    lambda.event_id = record.event_id.unwrap_or_default();
    lambda.event_name = record.event_name.map(|n| n.as_str().to_owned()).unwrap_or_default();
    lambda.event_source = Some("aws:dynamodb".into());
    lambda.event_source_arn = Some(arn.to_owned());
    lambda.aws_region = crate::emulator::REGION.to_owned();
    lambda.change.keys = item(change.keys.unwrap_or_default());
    lambda.change.new_image = item(change.new_image.unwrap_or_default());
    lambda.change.sequence_number = change.sequence_number;
    lambda.change.size_bytes = change.size_bytes.unwrap_or_default();
    Some(lambda)
}

fn item(attributes: HashMap<String, StreamValue>) -> serde_dynamo::Item {
    let converted: HashMap<String, aws_sdk_dynamodb::types::AttributeValue> =
        attributes.into_iter().map(|(name, value)| (name, value_of(value))).collect();
    converted.into()
}

/// A stream's attribute value as the table's (the same shapes, in another crate).
fn value_of(value: StreamValue) -> aws_sdk_dynamodb::types::AttributeValue {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    match value {
        StreamValue::S(s) => V::S(s),
        StreamValue::N(n) => V::N(n),
        StreamValue::Bool(b) => V::Bool(b),
        StreamValue::Null(n) => V::Null(n),
        StreamValue::B(b) => V::B(aws_sdk_dynamodb::primitives::Blob::new(b.into_inner())),
        StreamValue::Ss(ss) => V::Ss(ss),
        StreamValue::Ns(ns) => V::Ns(ns),
        StreamValue::Bs(bs) => {
            V::Bs(bs.into_iter().map(|b| aws_sdk_dynamodb::primitives::Blob::new(b.into_inner())).collect())
        }
        StreamValue::L(l) => V::L(l.into_iter().map(value_of).collect()),
        StreamValue::M(m) => V::M(m.into_iter().map(|(k, v)| (k, value_of(v))).collect()),
        _ => V::Null(true),
    }
}

/// Receives every message waiting in `queue_url` (deleting them): their bodies, as JSON.
pub async fn drain_messages(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> Result<Vec<serde_json::Value>, BridgeError> {
    let mut bodies = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(bodies);
        }
        for message in messages {
            bodies.push(serde_json::from_str(message.body().unwrap_or("null"))?);
            sqs.delete_message()
                .queue_url(queue_url)
                .set_receipt_handle(message.receipt_handle)
                .send()
                .await?;
        }
    }
}

/// The e-mails the emulator's SES was asked to send to `to`, oldest first: `(subject, body)`.
pub async fn sent_mail(endpoint: &str, to: &str) -> Result<Vec<(String, String)>, BridgeError> {
    let data: serde_json::Value =
        crate::http_client().get(format!("{endpoint}/moto-api/data.json")).send().await?.json().await?;
    let mut found = Vec::new();
    for message in data["ses"]["Message"].as_array().into_iter().flatten() {
        let addressed =
            message["destinations"]["ToAddresses"].as_array().into_iter().flatten().any(|a| a == to);
        if addressed {
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
            found.push((text(&message["subject"]), text(&message["body"])));
        }
    }
    Ok(found)
}
