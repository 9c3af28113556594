//! `POST /services/{id}/tickets` `{subject, message}`: a ticket about a service, from its client
//! to the provider or from the provider to the client. Its opening is in the service's history.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::domain::history::Actor;
use shared::domain::ticket::{Ticket, MAX_MESSAGE_LEN, MAX_SUBJECT_LEN};
use shared::domain::{Action, Bounded, HistoryEntry, HistoryId, Principal};
use shared::http::{self, json_body, visible_service};
use shared::store::{keys, StoreError};
use shared::{ApiError, App, Reply};

const DAY: i64 = 86_400;

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, create_ticket).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TicketBody {
    subject: Bounded<MAX_SUBJECT_LEN>,
    message: Bounded<MAX_MESSAGE_LEN>,
}

async fn create_ticket(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let body: TicketBody = json_body(&req)?;
    let service = visible_service(app, &principal, &req).await?;
    let now = app.clock.now();
    let ticket = Ticket::open(&service, &body.subject, &body.message, Actor::from(&principal), now)?;
    let entry = HistoryEntry {
        id: HistoryId::generate(),
        at: now,
        actor: Actor::from(&principal),
        operation: Action::Ticket,
        status_before: Some(service.status),
        status_after: service.status,
        details: serde_json::json!({"ticket_id": ticket.id, "subject": ticket.subject}),
    };
    let mut batch = app.store.batch();
    batch.ticket(&ticket)?.history(&service, &entry)?;
    // A client opens at most `tickets_per_day` a UTC day, counted in the same transaction.
    let day_left = DAY - now.unix_seconds().rem_euclid(DAY);
    if !principal.is_provider() {
        let opened = keys::tickets_opened(principal.id.as_str(), &now.day());
        batch.count_within(opened, app.settings.tickets_per_day, now.unix_seconds() + day_left + DAY)?;
    }
    match app.store.commit(batch).await {
        Err(StoreError::LimitReached) => Err(ApiError::TooManyRequests {
            message: format!(
                "a client opens at most {} tickets a day; reply to an open one, or open another tomorrow",
                app.settings.tickets_per_day
            ),
            retry_after: day_left as u64,
        }),
        other => {
            other?;
            // Its service was just read, not deleted: the client's view needs no other read.
            let provider_name = &app.settings.provider_name;
            Reply::created(if principal.is_provider() { ticket } else { ticket.for_client(provider_name) })
        }
    }
}
