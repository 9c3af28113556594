//! `make bench`: the time from a change's commit to its client's e-mail through the local chain
//! (the table's stream read as the event source mapping does, `events-publisher`, the bus and
//! its rule, the notifications queue, `notifier`, SES), in a private emulator, with the
//! functions in-process and the pollers never idle. Appends to BENCHMARKS.md.

use shared::auth::Auth;
use shared::domain::lifecycle::Outcome;
use shared::domain::notification::{Delivery, Settings};
use shared::domain::schedule::system;
use shared::domain::{ClientId, Clock, SystemClock};
use shared::store::Store;
use shared::App;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tests::{bridge, emulator, events, stack};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// How many changes are timed.
const CHANGES: usize = 100;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let emulator = emulator::PrivateEmulator::start()?;
    let config = emulator::sdk_config(&emulator.endpoint).await;
    let (table, _) = stack::fresh_resources(&config, "bench", stack::MAX_RECEIVES).await?;
    let queues =
        events::create_event_resources(&config, &table, &format!("{table}-tap"), stack::MAX_RECEIVES).await?;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&config), &table);
    stack::seed_catalog(&store, "http://127.0.0.1:9/unused").await?;
    let mut app = App::new(store, Auth::Authorizer, Arc::new(SystemClock));
    // One client gets every e-mail of the run: none held back by the hourly cap.
    app.settings.emails_per_hour = 1000;
    let client = ClientId::parse("bench").ok_or("a client id")?;
    let settings = Settings { email: Some(format!("bench@{table}.test")), ..Settings::default() };
    app.store.put_notification_settings(&client, &settings).await?;
    let publisher = events_publisher::Publisher::new(aws_sdk_eventbridge::Client::new(&config), &queues.bus);
    let notifier = notifier::Notifier::new(app.clone(), aws_sdk_sesv2::Client::new(&config), events::SENDER);
    let mut stream = events::StreamReader::open(&config, &table).await?;
    let sqs = aws_sdk_sqs::Client::new(&config);

    let mut times = Vec::with_capacity(CHANGES);
    for _ in 0..CHANGES {
        // An activation, paid and carried out: its last entry is the e-mail's.
        let now = SystemClock.now();
        let (ordered, created) = stack::vps_order("bench", now);
        app.store.insert_service(&ordered, &created).await?;
        let paid = ordered.pay_order(&system("bench"), now).map_err(|e| format!("{e:?}"))?;
        let operation = paid.queued.clone().ok_or("an activation")?;
        let done = paid.service.finish(&operation, Outcome::Done, now).ok_or("pending")?;
        let mut batch = app.store.batch();
        batch.service(&paid.service)?.history(&paid.service, &paid.entry)?;
        app.store.commit(batch).await?;
        let mut batch = app.store.batch();
        batch.service(&done.service)?.history(&done.service, &done.entry)?;
        let started = Instant::now();
        app.store.commit(batch).await?;
        loop {
            stream
                .pump(|event| async {
                    let event = lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default());
                    publisher.handle(event).await.map_err(|e| -> Error { e.to_string().into() })
                })
                .await?;
            let mut sent = false;
            bridge::pump(&sqs, &queues.notifications, |event| {
                let event = lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default());
                let sent = &mut sent;
                let notifier = &notifier;
                async move {
                    let response =
                        notifier.handle(event).await.map_err(|e| -> Error { e.to_string().into() })?;
                    *sent = true;
                    Ok(response)
                }
            })
            .await?;
            let logged = app
                .store
                .list_notifications(&client, shared::store::PageRequest { limit: 1, after: None })
                .await?;
            if logged.items.first().is_some_and(|n| n.event_id == done.entry.id && n.status == Delivery::Sent)
            {
                break;
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err("no e-mail within 30 s".into());
            }
        }
        times.push(started.elapsed());
    }
    times.sort();
    let percentile = |p: usize| times[(times.len() * p / 100).min(times.len() - 1)].as_secs_f64() * 1000.0;
    let (p50, p99) = (percentile(50), percentile(99));
    println!(
        "commit to e-mail through the local chain: p50 {p50:.1} ms, p99 {p99:.1} ms ({CHANGES} activations)"
    );
    let path = emulator::workspace_root().join("BENCHMARKS.md");
    let mut report = std::fs::read_to_string(&path).unwrap_or_default();
    report.push_str(&format!(
        "\n## From a commit to its e-mail\n\nThe time from the commit of an activation's end to its client's e-mail accepted by SES, through the local chain: the table's stream read as the event source mapping reads it, `events-publisher`, the bus and its rule, the notifications queue, `notifier` and SES, each function in-process against a private emulator and each poller asking again at once (no idle wait). {CHANGES} activations, one at a time.\n\n| p50 (ms) | p99 (ms) |\n|---:|---:|\n| {p50:.1} | {p99:.1} |\n\nIn AWS the event source mappings add their own polling: a stream is read about four times a second, a queue by long polling.\n"
    ));
    std::fs::write(path, report)?;
    Ok(())
}
