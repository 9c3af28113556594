//! Lambda entry point: the notifications queue (lifecycle events from the bus) to e-mail.

use crate::Notifier;
use lambda_runtime::{run, service_fn, Error};

/// Serves the Lambda runtime's invocations until it stops.
pub async fn serve() -> Result<(), Error> {
    let config = shared::aws::sdk_config_from_env();
    let ses = aws_sdk_sesv2::config::Builder::from(&config).interceptor(shared::aws::CrashPoint);
    let ses = aws_sdk_sesv2::Client::from_conf(ses.build());
    let from = std::env::var("NOTIFICATIONS_FROM").expect("NOTIFICATIONS_FROM is set");
    let notifier = Notifier::new(shared::App::from_env().await, ses, from);
    // Test-only: claims that go stale sooner (see `Notifier::with_claim_seconds`).
    let notifier = &match std::env::var("NOTIFIER_CLAIM_SECONDS").ok().and_then(|s| s.parse().ok()) {
        Some(seconds) => notifier.with_claim_seconds(seconds),
        None => notifier,
    };
    Box::pin(run(service_fn(move |event| async move { notifier.handle(event).await }))).await
}
