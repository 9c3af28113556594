//! `events-publisher`: publishes every history entry the table's stream carries (the event
//! source mapping passes only inserts of `HIST#` items) to the event bus, as the lifecycle
//! event it was stored as. Entries go to `PutEvents` ten at a time (one of a service a call), in stream order; the
//! entries it reports failed are sent again. A batch that still fails ends the run with the
//! first unpublished record reported, so that Lambda retries from there (records before it are
//! done; a record published twice carries the same `id`, which consumers deduplicate by).

mod entry;
pub use entry::serve;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use lambda_runtime::{Error, LambdaEvent};
use shared::domain::events::{LifecycleEvent, SOURCE};
use std::time::Duration;

/// PutEvents takes at most 10 entries and 256 KB per call.
const ENTRIES_PER_CALL: usize = 10;
const BYTES_PER_CALL: usize = 256 * 1024;
/// The largest detail published as it is (an entry, with its other fields, must fit 256 KB).
const MAX_DETAIL: usize = 200 * 1024;
/// Attempts at the entries PutEvents reports failed (throttled, internal errors), backing off.
const ATTEMPTS: u32 = 3;
const BACKOFF: Duration = Duration::from_millis(100);

pub struct Publisher {
    events: aws_sdk_eventbridge::Client,
    bus: String,
}

/// A record to publish: its sequence number (what a failure is reported by), its entry, and
/// the service it is about.
struct Pending {
    sequence: String,
    entry: PutEventsRequestEntry,
    size: usize,
    service: String,
}

impl Publisher {
    pub fn new(events: aws_sdk_eventbridge::Client, bus: impl Into<String>) -> Self {
        Self { events, bus: bus.into() }
    }

    pub async fn handle(&self, event: LambdaEvent<Event>) -> Result<DynamoDbEventResponse, Error> {
        let pending: Vec<Pending> = event.payload.records.iter().filter_map(|r| self.entry(r)).collect();
        let mut response = DynamoDbEventResponse::default();
        let mut published = 0;
        for batch in batches(&pending) {
            if let Err(error) = self.publish(batch).await {
                let first = &batch[0].sequence;
                tracing::error!(%error, sequence = %first, published, "publishing stopped; retried from this record");
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = Some(first.clone());
                response.batch_item_failures.push(failure);
                break;
            }
            published += batch.len();
        }
        tracing::info!(records = event.payload.records.len(), published, "stream batch done");
        Ok(response)
    }

    /// The event a stream record carries: a history entry inserted. Anything else (another
    /// item, a modify) is not an event; a history item that does not decode is logged, never
    /// retried for ever.
    fn entry(&self, record: &EventRecord) -> Option<Pending> {
        let sort_key = record.change.keys.get("sk");
        let is_history =
            matches!(sort_key, Some(serde_dynamo::AttributeValue::S(sk)) if sk.starts_with("HIST#"));
        if record.event_name != "INSERT" || !is_history {
            return None;
        }
        let sequence = record.change.sequence_number.clone().unwrap_or_default();
        match serde_dynamo::from_item(record.change.new_image.clone()) {
            Ok(event) => self.pending(&event, sequence),
            Err(error) => {
                tracing::error!(%error, %sequence, "a history item that is no event: not published");
                None
            }
        }
    }

    /// Publishes `events` (history entries read back from the table: the replay of what the
    /// stream missed) as the stream would have: as the bus carries them, one of a service a
    /// call, in the order given. Answers how many were published; stops at the first call that
    /// keeps failing (those before it are published).
    pub async fn publish_events(&self, events: &[LifecycleEvent]) -> Result<usize, String> {
        let pending: Vec<Pending> = events.iter().filter_map(|e| self.pending(e, e.id.to_string())).collect();
        let mut published = 0;
        for batch in batches(&pending) {
            self.publish(batch).await.map_err(|error| format!("{error} ({published} published)"))?;
            published += batch.len();
        }
        Ok(published)
    }

    /// The entry that publishes `event` as the bus carries it (`LifecycleEvent::for_the_bus`),
    /// known by `sequence`.
    fn pending(&self, event: &LifecycleEvent, sequence: String) -> Option<Pending> {
        let mut event = LifecycleEvent::for_the_bus(event);
        let mut detail = serde_json::to_string(&event).ok()?;
        if detail.len() > MAX_DETAIL {
            // Never publishable whole: published without its details, which the history keeps,
            // rather than holding up the stream behind it.
            tracing::warn!(%sequence, bytes = detail.len(), "an event's details left out: too large");
            event.details =
                serde_json::json!({"omitted": "too large for an event; the history entry has them"});
            detail = serde_json::to_string(&event).ok()?;
        }
        let size = detail.len() + 100;
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(SOURCE)
            .detail_type(event.detail_type())
            .detail(detail)
            .resources(format!("service/{}", event.service_id))
            .time(aws_sdk_eventbridge::primitives::DateTime::from_millis(event.at.unix_millis()))
            .build();
        Some(Pending { sequence, entry, size, service: event.service_id.to_string() })
    }

    /// Puts one batch, sending again what PutEvents reports failed, at most `ATTEMPTS` times.
    async fn publish(&self, batch: &[Pending]) -> Result<(), String> {
        let mut entries: Vec<PutEventsRequestEntry> = batch.iter().map(|p| p.entry.clone()).collect();
        for attempt in 1..=ATTEMPTS {
            let out = self.events.put_events().set_entries(Some(entries.clone())).send().await;
            let failed: Vec<PutEventsRequestEntry> = match out {
                Ok(out) => entries
                    .into_iter()
                    .zip(out.entries())
                    .filter(|(_, result)| result.error_code().is_some())
                    .map(|(entry, _)| entry)
                    .collect(),
                Err(error) if attempt == ATTEMPTS => {
                    return Err(aws_sdk_eventbridge::error::DisplayErrorContext(error).to_string())
                }
                Err(_) => entries,
            };
            if failed.is_empty() {
                return Ok(());
            }
            entries = failed;
            tokio::time::sleep(BACKOFF * 4u32.pow(attempt - 1)).await;
        }
        Err(format!("{} entries failed {ATTEMPTS} times", entries.len()))
    }
}

/// Consecutive runs of records that fit one PutEvents call, one event of a service a call (see
/// `events::publish_batches`: one service's events go out in the order of its history).
fn batches(pending: &[Pending]) -> Vec<&[Pending]> {
    let sized: Vec<(&str, usize)> = pending.iter().map(|p| (p.service.as_str(), p.size)).collect();
    shared::domain::events::publish_batches(&sized, ENTRIES_PER_CALL, BYTES_PER_CALL)
        .into_iter()
        .map(|range| &pending[range])
        .collect()
}
