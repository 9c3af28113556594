//! Lambda entry point: the SQS-triggered worker of the operations queue.

use crate::Worker;
use lambda_runtime::{run, service_fn, Error};

/// Serves the Lambda runtime's invocations until it stops.
pub async fn serve() -> Result<(), Error> {
    let worker = &Worker::from_env(shared::App::from_env().await);
    Box::pin(run(service_fn(move |event| async move { worker.handle(event).await }))).await
}
