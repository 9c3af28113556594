//! `carry-on-imports`: the scheduled job that carries on the imports from WHMCS being applied
//! (and previews left under way), oldest first, within the invocation's budget
//! (`shared::import::scheduled`). A request starts an apply and carries it on for a few
//! seconds; this job does the rest, a page at a time, each resumable where it stopped.

mod entry;
pub use entry::serve;

use lambda_runtime::{Error, LambdaEvent};
use shared::budget::Budget;
use shared::{import, App};

pub async fn handle(app: &App, event: LambdaEvent<serde_json::Value>) -> Result<serde_json::Value, Error> {
    let budget = Budget::of_invocation(app, event.context.deadline);
    let summary = Box::pin(import::scheduled(app, budget)).await.map_err(|e| Error::from(e.to_string()))?;
    tracing::info!(job = "carry-on-imports", scheduled = %event.payload["time"], ?summary, "run done");
    Ok(serde_json::to_value(summary)?)
}
