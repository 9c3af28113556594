//! `reconcile`: the scheduled reconciliation of billing with the control panels
//! (`shared::reconciliation`). Each invocation carries on the runs not done yet, oldest first;
//! the first invocation of a UTC day with no run started that day starts one over every
//! product type. A run left unfinished when the budget is spent is resumed by the next.

mod entry;
pub use entry::serve;

use lambda_runtime::{Error, LambdaEvent};
use shared::budget::Budget;
use shared::{reconciliation, App};

pub async fn handle(app: &App, event: LambdaEvent<serde_json::Value>) -> Result<serde_json::Value, Error> {
    let budget = Budget::of_invocation(app, event.context.deadline);
    let summary =
        Box::pin(reconciliation::scheduled(app, budget)).await.map_err(|e| Error::from(e.to_string()))?;
    tracing::info!(job = "reconcile", scheduled = %event.payload["time"], ?summary, "run done");
    Ok(serde_json::to_value(summary)?)
}
