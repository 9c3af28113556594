//! Lambda entry point: the replay of missed events, invoked by hand (`make replay-events`).

use events_publisher::Publisher;
use lambda_runtime::{run, service_fn, Error};

/// Serves the Lambda runtime's invocations until it stops.
pub async fn serve() -> Result<(), Error> {
    let app = &shared::App::from_env().await;
    let events = aws_sdk_eventbridge::Client::new(&shared::aws::sdk_config_from_env());
    let bus = std::env::var("EVENT_BUS_NAME").expect("EVENT_BUS_NAME is set");
    let publisher = &Publisher::new(events, bus);
    Box::pin(run(service_fn(move |event| async move { crate::handle(app, publisher, event).await }))).await
}
