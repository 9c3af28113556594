//! `auto-renewal`: renews, one period each, the services with auto-renewal on that are within their product type's lead of expiry, charged to the balance; a short balance is recorded once a day.

mod entry;
pub use entry::serve;

use lambda_runtime::{Error, LambdaEvent};
use shared::App;

/// Runs the job once for the scheduled event (its payload only names the moment; the job
/// reads the clock) and answers what it did.
pub async fn handle(app: &App, event: LambdaEvent<serde_json::Value>) -> Result<serde_json::Value, Error> {
    // Boxed: inline, the job's future nested in the runtime's is too deep for the compiler to
    // lay out ("queries overflow the depth limit", first met in `expiry-sweep`).
    let summary = Box::pin(shared::sweeps::auto_renewal(
        app,
        shared::sweeps::Budget::of_invocation(app, event.context.deadline),
    ))
    .await
    .map_err(|e| Error::from(e.to_string()))?;
    tracing::info!(job = "auto-renewal", scheduled = %event.payload["time"], ?summary, "run done");
    Ok(serde_json::to_value(summary)?)
}
