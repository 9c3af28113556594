//! `record-paid-time`: gives every service stored before the paid time's record was kept a
//! record built from its ledger. Invoked by hand, as often as needed: a run within its time
//! does what it can, the next goes on, and a run with nothing left changes nothing.

mod entry;
pub use entry::serve;

use lambda_runtime::{Error, LambdaEvent};
use shared::App;

/// Runs the migration once (the payload is not read) and answers what it did.
pub async fn handle(app: &App, event: LambdaEvent<serde_json::Value>) -> Result<serde_json::Value, Error> {
    let budget = shared::sweeps::Budget::of_invocation(app, event.context.deadline);
    let summary = Box::pin(shared::migrations::record_paid_time(app, budget))
        .await
        .map_err(|e| Error::from(e.to_string()))?;
    tracing::info!(job = "record-paid-time", ?summary, "run done");
    Ok(serde_json::to_value(summary)?)
}
