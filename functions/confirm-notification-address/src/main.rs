//! Lambda entry point: wires the runtime to the handler in this package's library.

use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let app = &shared::App::from_env().await;
    run(service_fn(
        move |req| async move { Ok::<_, Error>(confirm_notification_address::handle(app, req).await) },
    ))
    .await
}
