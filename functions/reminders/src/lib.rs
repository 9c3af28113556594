//! `reminders`: tells clients what is coming (an auto-renewal attempt, an expiry, a deletion for non-payment) as many days ahead as their product type's `remind_days_before` says, once each; hourly.

mod entry;
pub use entry::serve;

use lambda_runtime::{Error, LambdaEvent};
use shared::App;

/// Runs the job once for the scheduled event (its payload only names the moment; the job
/// reads the clock) and answers what it did.
pub async fn handle(app: &App, event: LambdaEvent<serde_json::Value>) -> Result<serde_json::Value, Error> {
    // Boxed: inline, the job's future nested in the runtime's is too deep for the compiler to
    // lay out ("queries overflow the depth limit", first met in `expiry-sweep`).
    let summary = Box::pin(shared::sweeps::reminders(
        app,
        shared::sweeps::Budget::of_invocation(app, event.context.deadline),
    ))
    .await
    .map_err(|e| Error::from(e.to_string()))?;
    tracing::info!(job = "reminders", scheduled = %event.payload["time"], ?summary, "run done");
    Ok(serde_json::to_value(summary)?)
}
