//! `make bench`: a backlog. `BACKLOG_SERVICES` (default 10,000) services all past their expiry at
//! once, in a table of as many, as after an outage: the expiry sweep runs again and again, each
//! run within a budget of `BACKLOG_RUN_SECONDS` (default 30; 270 in AWS, its 300 s timeout less
//! the reserve), until a run finds nothing due. Every service must be suspended once: the runs'
//! acts add up to the services, and the last run finds none left. Appends to BENCHMARKS.md.
//! With 10,000 services it takes about 10 minutes (21 runs of 30 s, and the table's set-up).

use shared::auth::Auth;
use shared::domain::lifecycle::Outcome;
use shared::domain::schedule::system;
use shared::domain::{ClientId, Clock, Service, SystemClock, Timestamp};
use shared::queue::Queue;
use shared::store::batch::service_item;
use shared::store::Store;
use shared::sweeps::{expiry_sweep, Budget};
use shared::App;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tests::counting::CallCounter;
use tests::{emulator, stack};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// An active VPS of `client`, activated a month and a day ago: past its expiry.
fn expired_service(template: &Service, client: &str, now: Timestamp) -> Service {
    let id = shared::domain::ServiceId::generate();
    let ordered = Service { id, client_id: ClientId::parse(client).unwrap(), ..template.clone() };
    let activated = now.plus_seconds(-31 * 86_400);
    let paying = ordered.pay_order(&system("bench"), activated).expect("payable");
    let operation = paying.queued.clone().expect("activation");
    paying.service.finish(&operation, Outcome::Done, activated).expect("pending").service
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let number =
        |name: &str, default: u64| std::env::var(name).ok().and_then(|n| n.parse().ok()).unwrap_or(default);
    let total = number("BACKLOG_SERVICES", 10_000) as usize;
    let run_seconds = number("BACKLOG_RUN_SECONDS", 30);
    let emulator = emulator::PrivateEmulator::start()?;
    let config = emulator::sdk_config(&emulator.endpoint).await;
    let (table, queues) = stack::fresh_resources(&config, "backlog", stack::MAX_RECEIVES).await?;
    let plain = Store::new(aws_sdk_dynamodb::Client::new(&config), &table);
    stack::seed_catalog(&plain, "http://127.0.0.1:9/unused").await?;
    let now = SystemClock.now();
    let template = stack::vps_order("template", now).0;
    let items = (0..total)
        .map(|i| service_item(&expired_service(&template, &format!("client-{}", i % 500), now)))
        .collect::<Result<_, _>>()?;
    stack::put_items(&plain, items).await?;

    let counter = CallCounter::default();
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue = Queue::new(sqs.clone(), queues.operations.clone());
    let app = App::new(Store::new(counter.client(&config), &table), Auth::Authorizer, Arc::new(SystemClock))
        .with_queue(queue);
    let (mut runs, mut acted) = (0, 0);
    let started = Instant::now();
    loop {
        runs += 1;
        let summary = expiry_sweep(&app, Budget::of(Duration::from_secs(run_seconds)))
            .await
            .map_err(|e| e.to_string())?;
        let (found, left, more) = (summary.found, summary.left, summary.unfinished);
        println!("run {runs}: {found} found, {} suspended, {left} left, unfinished: {more}", summary.acted);
        acted += summary.acted;
        // The worker would take the suspensions' panel operations as they come: the emulator's
        // SendMessage reads its whole queue, which would otherwise grow to 10,000. (A purge is
        // allowed once a minute; refused, the next run's purges.)
        let _ = sqs.purge_queue().queue_url(&queues.operations).send().await;
        if found == 0 && !more {
            break;
        }
        if runs > 1000 {
            return Err("the backlog never empties".into());
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let calls = counter.count();
    let per_service = calls as f64 / total as f64;
    println!("{total} due: {runs} runs, {acted} suspended, {calls} DynamoDB calls ({per_service:.2} a service), {seconds:.0} s");
    if acted != total {
        return Err(format!("{acted} of {total} suspended").into());
    }
    let report = format!(
        "\n## Backlog\n\n{total} services past their expiry at once, in a table of {total}: the expiry sweep run again and again, each run within a budget of {run_seconds} s (in AWS: its timeout of 300 s less the 30 s reserve), until a run finds none due. Each was suspended once (the runs' acts add up to the services; the last run found none left).\n\n| due services | runs | suspended | DynamoDB calls | calls a service | time (s) |\n|---:|---:|---:|---:|---:|---:|\n| {total} | {runs} | {acted} | {calls} | {per_service:.2} | {seconds:.0} |\n"
    );
    let path = emulator::workspace_root().join("BENCHMARKS.md");
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    text.push_str(&report);
    std::fs::write(path, text)?;
    Ok(())
}
