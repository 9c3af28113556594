//! `replay-events`: publishes again the lifecycle events of the history entries written in a
//! window of time, read from the table: what the stream did not deliver (a batch the stream
//! mapping gave up on, reported to its failure queue) or what a consumer lost. Each event goes
//! out as the publisher sent it, with the same `id`, which the notifier and the webhook
//! deduplicate by; a service's events in the order of its history. Invoked by hand (`make
//! replay-events` locally):
//! - `{"from": "...", "to": "..."}` (RFC 3339): the entries written in that window;
//! - `{"failure": <a message of the failure queue>}`: the window of the batch it reports.
//!
//! An answer with a `cursor` ran out of time: invoke again with the same window and it.

mod entry;
pub use entry::serve;

use events_publisher::Publisher;
use lambda_runtime::{Error, LambdaEvent};
use serde::{Deserialize, Serialize};
use shared::domain::Timestamp;
use shared::store::keys::Key;
use shared::sweeps::Budget;
use shared::App;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    from: Option<String>,
    to: Option<String>,
    failure: Option<serde_json::Value>,
    cursor: Option<Key>,
}

#[derive(Debug, Serialize)]
pub struct Replayed {
    from: Timestamp,
    to: Timestamp,
    published: usize,
    /// Where to go on from when the time ran out (none: the window is done).
    cursor: Option<Key>,
}

pub async fn handle(
    app: &App,
    publisher: &Publisher,
    event: LambdaEvent<serde_json::Value>,
) -> Result<Replayed, Error> {
    let replay: Replay = serde_json::from_value(event.payload)?;
    let (from, to) = window(&replay)?;
    let budget = Budget::of_invocation(app, event.context.deadline);
    let mut answer = Replayed { from, to, published: 0, cursor: replay.cursor };
    loop {
        let (events, next) = app
            .store
            .history_written_between(from, to, answer.cursor.as_ref())
            .await
            .map_err(|e| e.to_string())?;
        answer.published += publisher.publish_events(&events).await?;
        answer.cursor = next;
        if answer.cursor.is_none() || budget.spent() {
            break;
        }
    }
    tracing::info!(job = "replay-events", ?answer, "run done");
    Ok(answer)
}

fn window(replay: &Replay) -> Result<(Timestamp, Timestamp), Error> {
    let parse = |raw: &Option<String>, name: &str| {
        let raw =
            raw.as_deref().ok_or_else(|| format!("give `{name}` (RFC 3339), or a `failure` message"))?;
        Timestamp::parse(raw).ok_or_else(|| format!("`{name}` is not an RFC 3339 time: {raw}"))
    };
    let (from, to) = match &replay.failure {
        Some(report) => shared::domain::events::window_of_failure(report)
            .ok_or("`failure` is not a stream batch report (DDBStreamBatchInfo) of the failure queue")?,
        None => (parse(&replay.from, "from")?, parse(&replay.to, "to")?),
    };
    if from > to {
        return Err("`from` is after `to`".into());
    }
    Ok((from, to))
}
