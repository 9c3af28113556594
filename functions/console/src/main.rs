//! Lambda entry point: the console's files.

use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    run(service_fn(move |req| async move { Ok::<_, Error>(console::handle(req)) })).await
}
