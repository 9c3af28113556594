//! `carry-on-bulk-operations`: the scheduled job that carries on every bulk operation under
//! way, oldest first, within the invocation's budget (`shared::bulk::scheduled`). The worker
//! carries a bulk operation on as it ends each of its operations; this job takes up what a
//! crash or a lost message left waiting.

mod entry;
pub use entry::serve;

use lambda_runtime::{Error, LambdaEvent};
use shared::budget::Budget;
use shared::{bulk, App};

pub async fn handle(app: &App, event: LambdaEvent<serde_json::Value>) -> Result<serde_json::Value, Error> {
    let budget = Budget::of_invocation(app, event.context.deadline);
    let carried = Box::pin(bulk::scheduled(app, budget)).await.map_err(|e| Error::from(e.to_string()))?;
    tracing::info!(job = "carry-on-bulk-operations", scheduled = %event.payload["time"], carried, "run done");
    Ok(serde_json::json!({"carried_on": carried}))
}
