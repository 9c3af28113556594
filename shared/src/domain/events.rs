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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
