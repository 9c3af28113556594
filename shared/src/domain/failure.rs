//! What a client is told of an operation the control panel did not carry out. The failure's
//! own text (the HTTP client's error, the panel's address, its status code) is the provider's:
//! it stays in the service's `last_error` and in the history entry's `error`. A client reads a
//! fixed sentence instead, saying what became of its service and its money.

use super::{Action, HistoryEntry, Service};

/// An activation given up: the service stays paid, unset up (see `Service::abandon`).
pub const SETUP_NOT_DONE: &str = "the control panel could not set the service up; \
    the payment stays with the service until the provider sets it up, and deleting the service refunds it";

/// Any other operation given up: the service is as it was before, the charge refunded.
pub const OPERATION_UNDONE: &str =
    "the control panel did not complete the operation; it was undone and any charge refunded";

/// A renewal that lifted the last suspension, made on the panel, which then would not resume
/// the service (see `Service::finish_unresumed`).
pub const RENEWED_NOT_RESUMED: &str = "the service was renewed, but the control panel did not resume it; \
    it stays suspended until the provider resumes it";

/// How the provider's `last_error` of such a renewal starts.
pub(crate) const UNRESUMED: &str = "renewed, but the control panel did not resume it: ";

/// The sentence a client reads about a given-up `operation`.
pub fn told_to_client(operation: Action) -> &'static str {
    match operation {
        Action::Activation => SETUP_NOT_DONE,
        _ => OPERATION_UNDONE,
    }
}

impl Service {
    /// `last_error` as the service's client reads it. Only a service never activated (no paid
    /// period yet) can have failed its activation; any other failure was undone, but for a
    /// renewal the panel made and would not resume.
    pub fn last_error_for_client(&self) -> Option<&'static str> {
        let error = self.last_error.as_ref()?;
        Some(if self.expires_at.is_none() {
            SETUP_NOT_DONE
        } else if error.starts_with(UNRESUMED) {
            RENEWED_NOT_RESUMED
        } else {
            OPERATION_UNDONE
        })
    }
}

impl HistoryEntry {
    /// The entry as the service's client reads it: a given-up operation's `error` is the
    /// sentence about it (an operation done with an `error` is a renewal not resumed), the
    /// provider's staff is the provider (`Actor::as_seen_by_client`), and a sign-in into the
    /// panel says who in words (`panel_login::summary_for_client`).
    pub fn for_client(&self, provider_name: &str) -> HistoryEntry {
        let mut entry = self.clone();
        entry.actor = self.actor.as_seen_by_client(provider_name);
        let done = self.details.get("result").is_some();
        if let Some(error) = entry.details.get_mut("error") {
            *error = if done { RENEWED_NOT_RESUMED } else { told_to_client(self.operation) }.into();
        }
        // A sign-in into the panel says who, in the client's words ("the provider signed in to
        // your panel").
        if let (Some(summary), Some(details)) =
            (super::panel_login::summary_for_client(self), entry.details.as_object_mut())
        {
            details.insert(super::panel_login::SUMMARY.into(), summary.into());
        }
        entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::history::Actor;
    use crate::domain::{ClientId, HistoryId, Principal, Role, Status, Timestamp};
    use serde_json::json;

    fn entry(operation: Action, details: serde_json::Value) -> HistoryEntry {
        let provider = Principal { id: ClientId::parse("ops").unwrap(), role: Role::Provider };
        HistoryEntry {
            id: HistoryId::parse("01JZZZZZZZZZZZZZZZZZZZZZZZ").unwrap(),
            at: Timestamp::parse("2026-11-01T00:00:00Z").unwrap(),
            actor: Actor::from(&provider),
            operation,
            status_before: Some(Status::InProgress),
            status_after: Status::Active,
            details,
        }
    }

    #[test]
    fn a_client_reads_what_became_of_a_given_up_operation_not_why() {
        let internal = "control panel: no answer: error sending request for url (http://10.0.0.7/operations)";
        let renewal =
            entry(Action::Renewal, json!({"operation_id": "op", "error": internal, "refunded": 500}));
        assert_eq!(
            renewal.for_client("Support").details,
            json!({"operation_id": "op", "error": OPERATION_UNDONE, "refunded": 500})
        );
        let activation = entry(Action::Activation, json!({"error": internal, "refunded": 0}));
        assert_eq!(activation.for_client("Support").details["error"], SETUP_NOT_DONE);
        let done = entry(Action::Reboot, json!({"result": "done"}));
        assert_eq!(
            done.for_client("Support").details,
            done.details,
            "an entry without an error keeps its details"
        );
    }

    #[test]
    fn a_client_reads_that_a_renewal_the_panel_did_not_resume_stands() {
        let mut lapsed =
            crate::domain::order::sample_service(Timestamp::parse("2026-10-01T00:00:00Z").unwrap());
        lapsed.status = Status::TemporarilySuspended;
        lapsed.holds = vec![crate::domain::lifecycle::Hold::NonPayment];
        lapsed.expires_at = Some(Timestamp::parse("2026-11-01T00:00:00Z").unwrap());
        lapsed.net_paid = Some(lapsed.order_price);
        let at = Timestamp::parse("2026-11-02T00:00:00Z").unwrap();
        let client = Principal { id: ClientId::parse("alice").unwrap(), role: Role::Client };
        let renewing = lapsed.renew(1, &Actor::from(&client), at).unwrap();
        let id = renewing.queued.clone().unwrap();
        let internal = "control panel: answered 500: no detail";
        let change = renewing.service.finish_unresumed(&id, internal, at).unwrap();
        assert_eq!(change.entry.for_client("Support").details["error"], RENEWED_NOT_RESUMED);
        assert_eq!(change.service.last_error_for_client(), Some(RENEWED_NOT_RESUMED));
        assert!(change.service.last_error.as_deref().is_some_and(|e| e.contains(internal)), "the provider's");
    }
}
