//! The lifecycle events the product publishes: every history entry, with the service it is
//! about. A history entry is stored in this form, in the transaction of the change it records,
//! so the table's stream is the outbox: an event exists exactly when its change committed.

use super::history::Actor;
use super::{
    Action, ClientId, HistoryEntry, HistoryId, ProductType, Service, ServiceId, Status, TariffId, Timestamp,
};
use serde::{Deserialize, Serialize};

/// The `source` of every event on the bus.
pub const SOURCE: &str = "hosting.services";

/// An event's `detail`. `id` is the history entry's: consumers deduplicate by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleEvent {
    pub id: HistoryId,
    pub service_id: ServiceId,
    pub client_id: ClientId,
    pub product_type: ProductType,
    pub tariff_id: TariffId,
    pub operation: Action,
    pub status_before: Option<Status>,
    pub status_after: Status,
    pub actor: Actor,
    pub at: Timestamp,
    pub details: serde_json::Value,
}

impl LifecycleEvent {
    /// `entry`, recorded on `service` (as the change leaves it).
    pub fn new(service: &Service, entry: &HistoryEntry) -> Self {
        Self {
            id: entry.id.clone(),
            service_id: service.id.clone(),
            client_id: service.client_id.clone(),
            product_type: service.product_type,
            tariff_id: service.tariff_id.clone(),
            operation: entry.operation,
            status_before: entry.status_before,
            status_after: entry.status_after,
            actor: entry.actor.clone(),
            at: entry.at,
            details: entry.details.clone(),
        }
    }

    /// `service.activation`, `service.tariff_change`, ...
    pub fn detail_type(&self) -> String {
        format!("service.{}", self.operation.name())
    }

    /// The event as the bus carries it (and its archive, and the webhook): the details in
    /// `BUS_DETAILS` only, a failure's words replaced by a mark (the panel's answer, its URL
    /// among them, stays in the history), and the provider's staff as the provider. What
    /// people typed, contacts and the rest are read through the API by who may read them.
    pub fn for_the_bus(&self) -> LifecycleEvent {
        let mut event = self.clone();
        if let Some(details) = event.details.as_object_mut() {
            details.retain(|key, _| BUS_DETAILS.contains(&key.as_str()));
            if details.contains_key("error") {
                details.insert("error".into(), serde_json::json!(FAILED));
            }
        }
        event.actor = self.actor.as_seen_by_client("provider");
        event
    }
}

/// The details an event may carry on the bus: ids, statuses, amounts, dates, counts and the
/// lifecycle's own words.
pub const BUS_DETAILS: [&str; 56] = [
    "accepted_from_panel",
    "action",
    "address",
    "amount",
    "attempt_at",
    "auto_renew",
    "balance",
    "charged",
    "covered",
    "credit",
    "credited",
    "days",
    "delete_at",
    "deletion_withdrawn",
    "due",
    "error",
    "expired_at",
    "expires_at",
    "first_in_window",
    "from",
    "hold",
    "import_id",
    "holds",
    "kind",
    "lifted",
    "months",
    "needed",
    "operation_id",
    "options",
    "payment_id",
    "period_months",
    "periods",
    "price",
    "quick",
    "reconciliation_id",
    "reminder",
    "refunded",
    "renewal_price",
    "result",
    "resume",
    "resync",
    "retry",
    "scheduled",
    "scheduled_for",
    "score",
    "shortfall",
    "source",
    "special_price_ended",
    "tariff_id",
    "ticket_id",
    "to",
    "until",
    "version",
    "whmcs_client_id",
    "whmcs_id",
    "omitted",
];

/// What a failed operation's `error` says on the bus.
pub const FAILED: &str = "failed: the service's history says why";

/// How a run of events, in stream order, is cut into PutEvents calls: consecutive runs of at
/// most `max_entries` events and `max_bytes`, and never two events of one service in one call.
/// A call's failed entries are sent again before the next call: were two events of a service
/// in one call and only the first failed, sending it again would publish it after the second.
/// `events` gives each event's service and size; the answer is each call's range.
pub fn publish_batches(
    events: &[(&str, usize)],
    max_entries: usize,
    max_bytes: usize,
) -> Vec<std::ops::Range<usize>> {
    let mut batches = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, (service, size)) in events.iter().enumerate() {
        let full = i - start == max_entries || bytes + size > max_bytes;
        let again = events[start..i].iter().any(|(s, _)| s == service);
        if i > start && (full || again) {
            batches.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < events.len() {
        batches.push(start..events.len());
    }
    batches
}

/// How much earlier than its arrival in the stream a history entry's id may have been made:
/// the id is taken as its change is worked out, and the write lands within the function's time
/// (a scheduled job's is 15 minutes), with a margin for the stream's own lag.
pub const ID_BEFORE_ARRIVAL_SECONDS: i64 = 20 * 60;

/// The window of history to publish again for a batch the stream mapping gave up on: the
/// message Lambda sends its `OnFailure` destination (`DDBStreamBatchInfo` gives when the first
/// and last records arrived), widened by `ID_BEFORE_ARRIVAL_SECONDS` before and a second after
/// (arrival times are approximate). `None` when the message is not such a report.
pub fn window_of_failure(report: &serde_json::Value) -> Option<(Timestamp, Timestamp)> {
    let info = &report["DDBStreamBatchInfo"];
    let first = Timestamp::parse(info["approximateArrivalOfFirstRecord"].as_str()?)?;
    let last = Timestamp::parse(info["approximateArrivalOfLastRecord"].as_str()?)?;
    (first <= last).then(|| (first.plus_seconds(-ID_BEFORE_ARRIVAL_SECONDS), last.plus_seconds(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_given_up_on_is_replayed_from_twenty_minutes_before_its_first_record_arrived() {
        let report = serde_json::json!({
            "requestContext": {"condition": "RetryAttemptsExhausted"},
            "DDBStreamBatchInfo": {
                "shardId": "shardId-1",
                "approximateArrivalOfFirstRecord": "2026-12-01T10:00:00.500Z",
                "approximateArrivalOfLastRecord": "2026-12-01T10:05:00Z",
                "batchSize": 3,
            },
        });
        let (from, to) = window_of_failure(&report).unwrap();
        assert_eq!(from, Timestamp::parse("2026-12-01T09:40:00.500Z").unwrap());
        assert_eq!(to, Timestamp::parse("2026-12-01T10:05:01Z").unwrap());
        assert_eq!(window_of_failure(&serde_json::json!({"Records": []})), None);
        let backwards = serde_json::json!({"DDBStreamBatchInfo": {
            "approximateArrivalOfFirstRecord": "2026-12-01T10:05:00Z",
            "approximateArrivalOfLastRecord": "2026-12-01T10:00:00Z"}});
        assert_eq!(window_of_failure(&backwards), None);
    }

    #[test]
    fn an_event_is_its_history_entry_with_the_service_it_is_about() {
        let now = Timestamp::parse("2026-11-01T00:00:00Z").unwrap();
        let (service, entry) = super::super::order::sample_order(now);
        let event = LifecycleEvent::new(&service, &entry);
        assert_eq!(event.detail_type(), "service.order");
        let detail = serde_json::to_value(&event).unwrap();
        let fields: Vec<&str> = detail.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            fields.len(),
            11,
            "{{id, service_id, client_id, product_type, tariff_id, operation, status_before, status_after, actor, at, details}}: {fields:?}"
        );
        assert_eq!(
            (detail["id"].as_str(), detail["client_id"].as_str()),
            (Some(&*entry.id.to_string()), Some("alice"))
        );
        let read_back: HistoryEntry = serde_json::from_value(detail).unwrap();
        assert_eq!(read_back, entry, "the stored event reads back as the history entry");
    }

    #[test]
    fn a_call_never_holds_two_events_of_one_service_and_keeps_the_streams_order() {
        let events = [("a", 10), ("b", 10), ("a", 10), ("c", 10), ("c", 10), ("d", 10)];
        let batches = publish_batches(&events, 10, 1000);
        assert_eq!(batches, [0..2, 2..4, 4..6]);
        for batch in &batches {
            let services: std::collections::BTreeSet<&str> =
                events[batch.clone()].iter().map(|e| e.0).collect();
            assert_eq!(services.len(), batch.len(), "one event of a service a call: {batch:?}");
        }
        // The limits still cut: entries and bytes.
        let many: Vec<(&str, usize)> = ["a", "b", "c", "d"].iter().map(|s| (*s, 10)).collect();
        assert_eq!(publish_batches(&many, 3, 1000), [0..3, 3..4]);
        assert_eq!(publish_batches(&many, 10, 25), [0..2, 2..4]);
        assert!(publish_batches(&[], 10, 25).is_empty());
    }
}
