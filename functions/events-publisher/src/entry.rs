//! Lambda entry point: the table's stream (history inserts) to the event bus.

use crate::Publisher;
use lambda_runtime::{run, service_fn, Error};

/// Serves the Lambda runtime's invocations until it stops.
pub async fn serve() -> Result<(), Error> {
    let config = shared::aws::sdk_config_from_env();
    let events = aws_sdk_eventbridge::config::Builder::from(&config).interceptor(shared::aws::CrashPoint);
    let events = aws_sdk_eventbridge::Client::from_conf(events.build());
    let bus = std::env::var("EVENT_BUS_NAME").expect("EVENT_BUS_NAME is set");
    let publisher = &Publisher::new(events, bus);
    Box::pin(run(service_fn(move |event| async move { publisher.handle(event).await }))).await
}
