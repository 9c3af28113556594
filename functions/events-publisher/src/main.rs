//! Lambda entry point: the table's stream (history inserts) to the event bus.

use events_publisher::Publisher;
use lambda_runtime::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = shared::app::sdk_config_from_env();
    let bus = std::env::var("EVENT_BUS_NAME").expect("EVENT_BUS_NAME is set");
    let publisher = &Publisher::new(aws_sdk_eventbridge::Client::new(&config), bus);
    run(service_fn(move |event| async move { publisher.handle(event).await })).await
}
