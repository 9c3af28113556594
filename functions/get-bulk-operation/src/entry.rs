//! Lambda entry point: wires the runtime to the handler in this package's library.

use lambda_http::{run, service_fn, Error};

/// Serves the Lambda runtime's invocations until it stops.
pub async fn serve() -> Result<(), Error> {
    let app = &shared::App::from_env().await;
    Box::pin(run(service_fn(move |req| async move { Ok::<_, Error>(crate::handle(app, req).await) }))).await
}
