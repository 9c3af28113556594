//! `Idempotency-Key` handling for every write: the first request with a key does the work and
//! its answer is stored; the same key with the same request replays that answer; the same key
//! with another request is a 422; while the first still runs, a repeat waits for its answer (a
//! 409 after `WAIT_FOR_FIRST`). Only successful answers are
//! stored: after an error the key is released, so the corrected request can be sent again;
//! but after an error once the control panel changed something, or may have (`PanelChange`),
//! it is kept for that very request, whose retry is answered by the panel what it did, and
//! records it.

use crate::app::App;
use crate::error::ApiError;
use crate::layers::{app_layer, Answer, Below, Outcome};
use crate::reply::Reply;
use crate::store::idempotency::{Claim, ClaimedKey, IdempotencyRecord, RecordState, StoredResponse, CLAIMED};
use lambda_http::http::StatusCode;
use lambda_http::tower::Service;
use lambda_http::Request;
use sha2::{Digest, Sha256};
use std::convert::Infallible;
use std::future::Future;
use std::task::{Context, Poll};

pub const HEADER: &str = "idempotency-key";
/// How long a record is kept: a key may be replayed for a day.
pub const RECORD_SECONDS: i64 = 24 * 60 * 60;
/// How long a claim holds before a crashed request's key may be taken over.
pub const LOCK_SECONDS: i64 = 60;
/// How long a request that ran out of time waits for its key's release, or for the store of
/// its answer: one attempt of the deployed SDK's (`aws::Resilience::DEPLOYED`). The call is on
/// its way by then; not waiting for it keeps the answer inside the route's deadline.
pub const GIVE_UP_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
const MAX_KEY_LEN: usize = 255;

/// The request's `Idempotency-Key`, if it has one.
pub fn key(req: &Request) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key)
            if !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(Some(key.to_owned()))
        }
        _ => Err(ApiError::BadRequest(format!(
            "Idempotency-Key must be 1 to {MAX_KEY_LEN} printable characters"
        ))),
    }
}

/// What makes two requests "the same": method, path with query, and the body (JSON compared by
/// value, so key order and spacing do not matter).
pub fn fingerprint(req: &Request) -> String {
    let body: &[u8] = req.body().as_ref();
    let canonical = serde_json::from_slice::<serde_json::Value>(body)
        .map(|v| v.to_string().into_bytes())
        .unwrap_or_else(|_| body.to_vec());
    let mut hash = Sha256::new();
    hash.update(req.method().as_str());
    hash.update(b"\n");
    hash.update(req.uri().path_and_query().map_or("", |p| p.as_str()));
    hash.update(b"\n");
    hash.update(&canonical);
    format!("{:x}", hash.finalize())
}

/// The `request_id` a change on the control panel is asked under: the claim's of the key this
/// request holds (see `IdempotencyRecord::panel_request_id`), the same for an attempt that
/// takes over a crashed one, so the panel, which does each request id once, never acts twice
/// for a request whose first attempt ended after the panel acted and before the change was
/// recorded. A request without a key is its own only attempt, and gets a new id.
pub fn panel_request_id() -> String {
    ClaimedKey::current().map_or_else(crate::domain::ids::next_id, |claimed| claimed.panel_request_id)
}

/// What the request this task serves did on the control panel, under `panel_request_id`,
/// which decides what becomes of its key should it fail (see `run_claimed`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PanelChange {
    /// Nothing: the key is released (unless an earlier attempt's change may stand).
    #[default]
    None,
    /// A change made, or asked for with no answer (it may have been made): the key is kept
    /// for this very request, whose retry the panel answers with what it did.
    Made,
    /// A change made and then undone on the panel (an address given back): the key is
    /// released, so that no retry is answered what the panel no longer holds.
    Undone,
}

tokio::task_local! {
    static PANEL_CHANGE: std::cell::Cell<PanelChange>;
}

/// Records what the request this task serves did on the control panel; without a claimed key
/// it does nothing.
pub fn set_panel_change(change: PanelChange) {
    let _ = PANEL_CHANGE.try_with(|cell| cell.set(change));
}

/// What the request this task serves did on the control panel so far.
pub fn panel_change() -> PanelChange {
    PANEL_CHANGE.try_with(std::cell::Cell::get).unwrap_or_default()
}

app_layer!(IdempotentLayer => Idempotent { quotes: bool });

/// Layer 3 for a write that takes no `dry_run` (400).
pub fn idempotent(app: &App) -> IdempotentLayer<'_> {
    IdempotentLayer { app, quotes: false }
}

/// Layer 3 for a write that quotes instead with `?dry_run=true` (no key is claimed for a quote).
pub fn idempotent_or_quoted(app: &App) -> IdempotentLayer<'_> {
    IdempotentLayer { app, quotes: true }
}

impl<'a, S: Below<'a>> Service<Request> for Idempotent<'a, S> {
    type Response = Outcome;
    type Error = Infallible;
    type Future = Answer<'a, Outcome>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let (app, quotes, mut inner) = (self.app, self.quotes, self.inner.clone());
        Box::pin(async move {
            let quote = match crate::layers::write_limits(&req, quotes) {
                Ok(quote) => quote,
                Err(refused) => return Ok(Err(refused)),
            };
            // A quote changes nothing, not even a key's record.
            let key = match quote {
                true => None,
                false => match key(&req) {
                    Ok(key) => key,
                    Err(refused) => return Ok(Err(refused)),
                },
            };
            match key {
                None => inner.call(req).await,
                Some(key) => Ok(run_once(app, key, req, inner).await),
            }
        })
    }
}

/// How long a repeat waits for the first request with its key to finish, to answer as it did.
const WAIT_FOR_FIRST: std::time::Duration = std::time::Duration::from_secs(5);
const POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// Runs the request below (`inner`: the route) once for its key, or answers as its first run
/// did; the principal and the budget are those the layers above set (`layers`).
pub(crate) async fn run_once<'a, S: Below<'a>>(app: &'a App, key: String, req: Request, inner: S) -> Outcome {
    let Some(principal) = crate::layers::principal_of(&req) else {
        return Err(ApiError::Internal("an idempotent write was reached without authentication".into()));
    };
    let scope = format!("{}:{}", principal.role.as_str(), principal.id);
    let request_hash = fingerprint(&req);
    let deadline = std::time::Instant::now() + WAIT_FOR_FIRST;
    let budget = crate::layers::budget_of(&req);
    loop {
        let now = app.clock.now().unix_seconds();
        let claim = IdempotencyRecord {
            state: RecordState::InProgress,
            request_hash: request_hash.clone(),
            locked_until: now + LOCK_SECONDS,
            expires_at: now + RECORD_SECONDS,
            response: None,
            panel_request_id: crate::domain::ids::next_id(),
            claim_id: crate::domain::ids::next_id(),
        };
        // On the heap, as are the other futures here: in a debug build a route's future nested
        // in these can outgrow a thread's stack.
        let claiming = Box::pin(app.store.claim_idempotency_key(&scope, &key, &claim, now));
        let claimed = match budget.remaining() {
            None => Some(claiming.await),
            Some(left) => tokio::time::timeout(left, claiming).await.ok(),
        };
        let Some(claimed) = claimed else {
            // Out of time with the claim on its way: if it lands, it is this attempt's, and
            // given up after it.
            let mine = ClaimedKey {
                principal: scope,
                key,
                panel_request_id: claim.panel_request_id.clone(),
                claim_id: claim.claim_id.clone(),
            };
            Box::pin(bounded(
                budget,
                app.store.release_idempotency_key(&mine),
                "release an unanswered claim",
            ))
            .await;
            return Err(ApiError::Unavailable("the request ran out of time claiming its key".into()));
        };
        match claimed {
            Err(e) => return Err(ApiError::from(e)),
            Ok(Claim::Claimed { panel_request_id }) => {
                let claim_id = claim.claim_id.clone();
                let claimed = ClaimedKey { principal: scope, key, panel_request_id, claim_id };
                return Box::pin(run_claimed(app, budget, claimed, req, inner)).await;
            }
            // The same request still running elsewhere: wait for its answer, or its release
            // (after an error), then answer as it did or run it here.
            Ok(Claim::Held(_)) if budget.spent() => {
                return Err(ApiError::Unavailable("the request ran out of time waiting for its twin".into()));
            }
            Ok(Claim::Held(holder))
                if holder.request_hash == request_hash
                    && matches!(holder.state, RecordState::InProgress | RecordState::Committed)
                    && std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(POLL).await;
            }
            Ok(Claim::Held(holder)) => return answer_for_holder(&holder, &request_hash),
        }
    }
}

/// Runs the request that claimed the key, and stores its answer (or releases the key).
async fn run_claimed<'a, S: Below<'a>>(
    app: &'a App,
    budget: crate::budget::Budget,
    claimed: ClaimedKey,
    req: Request,
    mut inner: S,
) -> Outcome {
    let route = async move {
        let Ok(outcome) = inner.call(req).await;
        outcome
    };
    let (outcome, panel) = PANEL_CHANGE
        .scope(std::cell::Cell::new(PanelChange::None), async {
            let outcome = CLAIMED.scope(claimed.clone(), route).await;
            (outcome, PANEL_CHANGE.with(std::cell::Cell::get))
        })
        .await;
    match outcome {
        Ok(reply) => {
            let stored = StoredResponse {
                status: reply.status.as_u16(),
                body: reply.body.to_string(),
                etag: reply.etag.clone(),
            };
            // The work is committed with the key: a replay answers 409, never does it again.
            Box::pin(bounded(
                budget,
                app.store.complete_idempotency_key(&claimed, &stored),
                "store the idempotent answer",
            ))
            .await;
            Ok(reply)
        }
        Err(err) => {
            // A panel change made and not recorded stays with the key: a new claim would ask
            // the panel under a new id, and not find what it already did (an address removed).
            let store = &app.store;
            match panel {
                PanelChange::Made => {
                    Box::pin(bounded(budget, store.lapse_idempotency_key(&claimed), "lapse a key")).await
                }
                PanelChange::Undone => {
                    Box::pin(bounded(budget, store.forget_idempotency_key(&claimed), "forget a key")).await
                }
                PanelChange::None => {
                    Box::pin(bounded(budget, store.release_idempotency_key(&claimed), "release a key")).await
                }
            }
            Err(err)
        }
    }
}

/// Waits for a write about the key, at most `GIVE_UP_WAIT` under a deadline (it is sent by
/// then), logging what did not go through: a claim left behind lapses after `LOCK_SECONDS`.
async fn bounded(
    budget: crate::budget::Budget,
    write: impl Future<Output = Result<(), crate::store::StoreError>>,
    what: &str,
) {
    let wait = if budget.remaining().is_some() { GIVE_UP_WAIT } else { std::time::Duration::MAX };
    match tokio::time::timeout(wait, write).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(%error, "could not {what}"),
        Err(_) => tracing::warn!("could not {what} in time"),
    }
}

fn answer_for_holder(holder: &IdempotencyRecord, request_hash: &str) -> Outcome {
    if holder.request_hash != request_hash {
        return Err(ApiError::Unprocessable("this Idempotency-Key was used for a different request".into()));
    }
    match (&holder.state, &holder.response) {
        (RecordState::Committed, _) => Err(ApiError::Conflict(
            "this request was carried out but its answer was lost; read the result instead of retrying"
                .into(),
        )),
        (RecordState::Completed, Some(stored)) => Ok(Reply {
            status: StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK),
            body: serde_json::from_str(&stored.body).unwrap_or(serde_json::Value::Null),
            etag: stored.etag.clone(),
            replayed: true,
            content_type: None,
        }),
        _ => Err(ApiError::Conflict("a request with this Idempotency-Key is still being processed".into())),
    }
}
