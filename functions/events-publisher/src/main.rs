//! Lambda entry point: the table's stream (history inserts) to the event bus.

use events_publisher::Publisher;
use lambda_runtime::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = shared::aws::sdk_config_from_env();
    let events = aws_sdk_eventbridge::config::Builder::from(&config).interceptor(shared::aws::CrashPoint);
    let events = aws_sdk_eventbridge::Client::from_conf(events.build());
    let bus = std::env::var("EVENT_BUS_NAME").expect("EVENT_BUS_NAME is set");
    let publisher = &Publisher::new(events, bus);
    run(service_fn(move |event| async move { publisher.handle(event).await })).await
}
