//! The local stack's helper for `make dev`:
//! - `local-stack bootstrap`: creates the table (with its stream), the operations queue with
//!   its dead-letter queue, the event bus with the `events-tap` queue and the notifications
//!   queue subscribed to it, and the verified SES sender in the emulator at `AWS_ENDPOINT_URL`,
//!   and seeds the demo catalog with each product type's panel under `PANEL_URL` (the `ssl`
//!   type's certificates through the ACME module at `ACME_DIRECTORY_URL` when it is set). Prints
//!   `OPERATIONS_QUEUE_URL=...` last. Running it again is fine.
//! - `local-stack schedules`: fires each scheduled job (`auto-renewal`, `expiry-sweep`,
//!   `abuse-sweep`, `operations-sweep`, `reminders`, `carry-on-imports`, `carry-on-bulk-operations`) every `SCHEDULE_INTERVAL_SECONDS` (default 60) through
//!   the invoke API with the sample scheduled event: the emulator stores schedules but never
//!   fires them.
//! - `local-stack bridge`: forever does what Lambda's event source mappings would (the emulator
//!   has none), through `cargo lambda watch`'s invoke API: moves messages from the operations
//!   queue to `operations-worker` and from the notifications queue to `notifier`, deleting what
//!   they did not report failed, and the table's stream (history inserts) to
//!   `events-publisher`, on past what it did not report failed.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use shared::store::Store;
use std::time::Duration;
use tests::{bridge, emulator, events, stack};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The event EventBridge Scheduler sends the jobs (`events/scheduled.json`).
const SCHEDULED_EVENT: &str = include_str!("../../../events/scheduled.json");

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = emulator::sdk_config(&emulator::endpoint()).await;
    match std::env::args().nth(1).as_deref() {
        Some("bootstrap") => {
            let table = env("TABLE_NAME", "services");
            let created = stack::create_table(&config, &table).await?;
            let queues = stack::create_messaging(&config, stack::QUEUE, stack::MAX_RECEIVES)
                .await
                .map_err(|e| e.to_string())?;
            events::create_event_resources(&config, stack::EVENT_BUS, "events-tap", stack::MAX_RECEIVES)
                .await?;
            let store = Store::new(aws_sdk_dynamodb::Client::new(&config), &table);
            let added = stack::seed_catalog(&store, &env("PANEL_URL", "http://127.0.0.1:8700")).await?;
            if let Ok(directory) = std::env::var("ACME_DIRECTORY_URL") {
                stack::certificates_through_acme(&store, &directory).await?;
            }
            println!(
                "table {table} {}; event bus {}; {added} tariffs seeded",
                if created { "created" } else { "exists" },
                stack::EVENT_BUS
            );
            println!("OPERATIONS_QUEUE_URL={}", queues.operations);
            Ok(())
        }
        Some("bridge") => {
            let operations = std::env::var("OPERATIONS_QUEUE_URL")?;
            let queues =
                events::create_event_resources(&config, stack::EVENT_BUS, "events-tap", stack::MAX_RECEIVES)
                    .await?;
            let mut stream = events::StreamReader::open(&config, &env("TABLE_NAME", "services")).await?;
            let sqs = aws_sdk_sqs::Client::new(&config);
            let http = tests::http_client();
            let invoke = |function: &str| {
                let url = format!(
                    "http://127.0.0.1:{}/2015-03-31/functions/{function}/invocations",
                    env("API_PORT", "9000")
                );
                let http = http.clone();
                move |event: serde_json::Value| {
                    let request = http.post(&url).json(&event);
                    async move {
                        Ok::<serde_json::Value, Error>(
                            request.send().await?.error_for_status()?.json().await?,
                        )
                    }
                }
            };
            let (worker, notifier, publisher) =
                (invoke("operations-worker"), invoke("notifier"), invoke("events-publisher"));
            loop {
                let moved = async {
                    let mut moved = bridge::pump(&sqs, &operations, |event: SqsEvent| {
                        let call = worker(serde_json::to_value(event).unwrap_or_default());
                        async move { Ok::<SqsBatchResponse, Error>(serde_json::from_value(call.await?)?) }
                    })
                    .await?;
                    moved +=
                        stream
                            .pump(|event| {
                                let call = publisher(serde_json::to_value(event).unwrap_or_default());
                                async move {
                                    Ok::<DynamoDbEventResponse, Error>(serde_json::from_value(call.await?)?)
                                }
                            })
                            .await?;
                    moved += bridge::pump(&sqs, &queues.notifications, |event: SqsEvent| {
                        let call = notifier(serde_json::to_value(event).unwrap_or_default());
                        async move { Ok::<SqsBatchResponse, Error>(serde_json::from_value(call.await?)?) }
                    })
                    .await?;
                    Ok::<usize, Error>(moved)
                };
                match moved.await {
                    Ok(0) => tokio::time::sleep(Duration::from_millis(500)).await,
                    Ok(_) => {}
                    Err(e) => {
                        eprintln!("bridge: {e}");
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    }
                }
            }
        }
        Some("schedules") => {
            let interval: u64 = env("SCHEDULE_INTERVAL_SECONDS", "60").parse()?;
            let event: serde_json::Value = serde_json::from_str(SCHEDULED_EVENT)?;
            shared::crypto::install();
            // An invocation `cargo lambda watch` lost (a function restarted as the tree changed)
            // would otherwise stop every schedule for good.
            let http = reqwest::Client::builder().timeout(Duration::from_secs(300)).build()?;
            loop {
                tokio::time::sleep(Duration::from_secs(interval)).await;
                for job in [
                    "auto-renewal",
                    "expiry-sweep",
                    "abuse-sweep",
                    "operations-sweep",
                    "reminders",
                    "carry-on-imports",
                    "carry-on-bulk-operations",
                ] {
                    let url = format!(
                        "http://127.0.0.1:{}/2015-03-31/functions/{job}/invocations",
                        env("API_PORT", "9000")
                    );
                    match http.post(&url).json(&event).send().await {
                        Ok(response) => println!("{job}: {}", response.text().await.unwrap_or_default()),
                        Err(e) => eprintln!("{job}: {e}"),
                    }
                }
            }
        }
        _ => Err("usage: local-stack bootstrap | bridge | schedules".into()),
    }
}
