//! Lambda entry point: the notifications queue (lifecycle events from the bus) to e-mail.

use lambda_runtime::{run, service_fn, Error};
use notifier::Notifier;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = shared::app::sdk_config_from_env();
    let from = std::env::var("NOTIFICATIONS_FROM").expect("NOTIFICATIONS_FROM is set");
    let notifier = &Notifier::new(shared::App::from_env().await, aws_sdk_sesv2::Client::new(&config), from);
    run(service_fn(move |event| async move { notifier.handle(event).await })).await
}
