//! `operations-sweep`: queues again every operation pending for more than an hour, whose message was lost (the request committed but its send failed, or its last receive could not write the outcome).

mod entry;
pub use entry::serve;

use lambda_runtime::{Error, LambdaEvent};
use shared::App;

/// Runs the job once for the scheduled event (its payload only names the moment; the job
/// reads the clock) and answers what it did.
pub async fn handle(app: &App, event: LambdaEvent<serde_json::Value>) -> Result<serde_json::Value, Error> {
    let summary = shared::sweeps::requeue_stalled(app).await.map_err(|e| Error::from(e.to_string()))?;
    tracing::info!(job = "operations-sweep", scheduled = %event.payload["time"], ?summary, "run done");
    Ok(serde_json::to_value(summary)?)
}
