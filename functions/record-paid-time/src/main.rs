//! Lambda entry point: the migration, invoked by hand (`make record-paid-time` locally).

use lambda_runtime::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let app = &shared::App::from_env().await;
    run(service_fn(move |event| async move { record_paid_time::handle(app, event).await })).await
}
