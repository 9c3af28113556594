//! `POST /tickets/{id}/messages` `{message}`: a reply on a ticket, by its client or the provider.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::domain::history::Actor;
use shared::domain::ticket::MAX_MESSAGE_LEN;
use shared::domain::{Bounded, Principal};
use shared::http::{self, json_body, visible_ticket};
use shared::store::StoreError;
use shared::{views, ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::write(app, req, add_message).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageBody {
    message: Bounded<MAX_MESSAGE_LEN>,
}

async fn add_message(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    let body: MessageBody = json_body(&req)?;
    let ticket = visible_ticket(app, &principal, &req).await?;
    let replied = ticket.reply(&body.message, Actor::from(&principal), app.clock.now())?;
    let mut batch = app.store.batch();
    batch.ticket(&replied)?;
    match app.store.commit(batch).await {
        Err(StoreError::ConditionFailed) => {
            Err(ApiError::Conflict("the ticket changed meanwhile; read it and reply again".into()))
        }
        Err(e) => Err(e.into()),
        // The answer (and so its replay) is the ticket as the replier reads it.
        Ok(()) => {
            Ok(Reply::created(views::ticket(app, &principal, &replied).await?)?.versioned(replied.version))
        }
    }
}
