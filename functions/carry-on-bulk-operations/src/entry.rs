//! Lambda entry point: the scheduled job, fired by EventBridge Scheduler.

use lambda_runtime::{run, service_fn, Error};

/// Serves the Lambda runtime's invocations until it stops.
pub async fn serve() -> Result<(), Error> {
    let app = &shared::App::from_env().await;
    Box::pin(run(service_fn(move |event| async move { crate::handle(app, event).await }))).await
}
