//! Lambda entry point: the console's files.

use lambda_http::{run, service_fn, Error};

/// Serves the Lambda runtime's invocations until it stops.
pub async fn serve() -> Result<(), Error> {
    Box::pin(run(service_fn(move |req| async move { Ok::<_, Error>(crate::handle(req)) }))).await
}
