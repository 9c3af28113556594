//! Lambda entry point: the scheduled job, fired by EventBridge Scheduler.

use lambda_runtime::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let app = &shared::App::from_env().await;
    run(service_fn(move |event| async move { reminders::handle(app, event).await })).await
}
