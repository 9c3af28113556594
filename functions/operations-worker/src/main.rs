//! Lambda entry point: the SQS-triggered worker of the operations queue.

use lambda_runtime::{run, service_fn, Error};
use operations_worker::Worker;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let worker = &Worker::from_env(shared::App::from_env().await);
    run(service_fn(move |event| async move { worker.handle(event).await })).await
}
