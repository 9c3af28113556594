//! `make bench`: what each scheduled job (reminders included) costs with 100 due services in a table of 100 services
//! and in one of `BENCH_SERVICES` (default 10,000), counted in DynamoDB calls at the SDK (every attempt that reaches the
//! wire) and timed. The sparse indexes should make the two counts equal. Writes BENCHMARKS.md.

use shared::auth::Auth;
use shared::domain::lifecycle::Outcome;
use shared::domain::schedule::system;
use shared::domain::{ClientId, Clock, FixedClock, Service, SystemClock, Timestamp};
use shared::queue::Queue;
use shared::store::batch::service_item;
use shared::store::Store;
use shared::App;
use std::sync::Arc;
use std::time::Instant;
use tests::counting::CallCounter;
use tests::{emulator, stack};

type Error = Box<dyn std::error::Error + Send + Sync>;

const DUE: usize = 100;
/// The reminders' next run, an hour after one that sent every reminder due: it reads only what
/// came due in that hour.
const HOUR_LATER: &str = "reminders an hour later";
const DAY: i64 = 86_400;

/// An active VPS of `client`, activated at `activated`, as the worker would leave it.
fn active_service(template: &Service, client: &str, activated: Timestamp) -> Service {
    let id = shared::domain::ServiceId::generate();
    let ordered = Service { id, client_id: ClientId::parse(client).unwrap(), ..template.clone() };
    let actor = system("bench");
    let paying = ordered.pay_order(&actor, activated).expect("payable");
    let operation = paying.queued.clone().expect("activation");
    paying.service.finish(&operation, Outcome::Done, activated).expect("pending").service
}

/// What makes a service due for each job (and not due for the rest).
fn services(job: &str, total: usize, template: &Service, now: Timestamp) -> Vec<Service> {
    (0..total)
        .map(|i| {
            let due = i < DUE;
            let client = format!("client-{}", i % 500);
            // Activated a month ago expires now (due); activated ten days ago expires in 20 days;
            // activated 25 days ago, it is renewed in 2 or 3 days (reminded a week ahead).
            let activated = match (due, job) {
                (true, "abuse-sweep") | (false, _) => now.plus_seconds(-10 * DAY),
                (true, "reminders" | HOUR_LATER) => now.plus_seconds(-25 * DAY),
                (true, _) => now.plus_seconds(-31 * DAY),
            };
            let mut service = active_service(template, &client, activated);
            if job == "abuse-sweep" && due {
                service.abuse_score = 500;
            }
            if job == "operations-sweep" && due {
                // A reboot whose message was lost two hours ago.
                let started = now.plus_seconds(-2 * 3600);
                service = service.reboot(&system("bench"), started).expect("an active VPS reboots").service;
            }
            service
        })
        .collect()
}

struct Measure {
    job: &'static str,
    total: usize,
    calls: usize,
    acted: u64,
    millis: u128,
}

async fn measure(job: &'static str, total: usize, template: &Service) -> Result<Measure, Error> {
    // A fresh emulator per measurement: it keeps the memory of every table it ever held.
    let emulator = emulator::PrivateEmulator::start()?;
    let config = emulator::sdk_config(&emulator.endpoint).await;
    let (table, queues) = stack::fresh_resources(&config, "bench", stack::MAX_RECEIVES).await?;
    let plain = Store::new(aws_sdk_dynamodb::Client::new(&config), &table);
    stack::seed_catalog(&plain, "http://127.0.0.1:9/unused").await?;
    let now = SystemClock.now();
    let items = services(job, total, template, now).iter().map(service_item).collect::<Result<_, _>>()?;
    stack::put_items(&plain, items).await?;

    let counter = CallCounter::default();
    let store = Store::new(counter.client(&config), &table);
    let queue = Queue::new(aws_sdk_sqs::Client::new(&config), queues.operations);
    let clock = FixedClock::at(now);
    let app = App::new(store, Auth::Authorizer, Arc::new(clock.clone())).with_queue(queue);
    if job == HOUR_LATER {
        // The run before it, uncounted: the reminders it sent, and where its walks stopped.
        shared::sweeps::reminders(&app, shared::sweeps::Budget::UNLIMITED)
            .await
            .map_err(|e| e.to_string())?;
        clock.set(now.plus_seconds(3600));
        counter.take();
    }
    let started = Instant::now();
    let summary = match job {
        "auto-renewal" => shared::sweeps::auto_renewal(&app, shared::sweeps::Budget::UNLIMITED).await,
        "expiry-sweep" => shared::sweeps::expiry_sweep(&app, shared::sweeps::Budget::UNLIMITED).await,
        "abuse-sweep" => shared::sweeps::abuse_sweep(&app, shared::sweeps::Budget::UNLIMITED).await,
        "reminders" | HOUR_LATER => shared::sweeps::reminders(&app, shared::sweeps::Budget::UNLIMITED).await,
        _ => shared::sweeps::requeue_stalled(&app).await,
    }
    .map_err(|e| e.to_string())?;
    let millis = started.elapsed().as_millis();
    Ok(Measure { job, total, calls: counter.count(), acted: summary.acted as u64, millis })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let template = stack::vps_order("template", SystemClock.now()).0;
    let large: usize = std::env::var("BENCH_SERVICES").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let mut rows = Vec::new();
    for job in ["auto-renewal", "expiry-sweep", "abuse-sweep", "operations-sweep", "reminders", HOUR_LATER] {
        for total in [DUE, large.max(DUE)] {
            let m = measure(job, total, &template).await?;
            println!(
                "{:<13} {:>6} services, {DUE} due: {:>4} DynamoDB calls, {:>3} acted, {} ms",
                m.job, m.total, m.calls, m.acted, m.millis
            );
            rows.push(m);
        }
    }
    let mut report = String::from("# Benchmarks\n\n");
    report.push_str(&format!(
        "Measured by `make bench` on {} at commit {} ({} cores), in one run, against the local emulator (moto, single-threaded): the functions in-process built with the profile `measure` (opt-level s, without link-time optimisation), the console through `make dev` (debug build), the package and the starts release builds.\n\n",
        SystemClock.now().day(),
        commit(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    ));
    report.push_str(&format!("## Sweep cost\n\nEach scheduled job with 100 due services, in a table of 100 services and in one of {large}. DynamoDB calls are counted at the SDK (every operation asked for, once however many attempts the SDK makes). The sparse indexes make the counts equal: a run reads the due services and no others (`operations-sweep` reads the pending operations up to its threshold in the lapse index's `PENDING` partition: its 100 due services are reboots whose message was lost two hours ago, among active services; `reminders` reads the services within the longest reminder window of their renewal attempt, expiry or deletion: its 100 due services are renewed automatically in 2 to 3 days, and each costs one read of its client's balance and one transaction; each reminder's walk keeps where it stopped, so `reminders an hour later` reads only what came due in that hour: none of the 100, reminded already). The emulator answers a query on an index by walking the whole table, so its times grow with the table; DynamoDB's do not.\n\n"));
    report.push_str("| job | services in table | due | DynamoDB calls | acted | time (ms) |\n|---|---:|---:|---:|---:|---:|\n");
    for m in &rows {
        report.push_str(&format!(
            "| {} | {} | {DUE} | {} | {} | {} |\n",
            m.job, m.total, m.calls, m.acted, m.millis
        ));
    }
    // A job whose calls grow with the table misses the target; it is reported, and the other
    // benchmarks still run.
    let unequal: Vec<String> = rows
        .chunks(2)
        .filter(|pair| pair[0].calls != pair[1].calls)
        .map(|pair| format!("`{}` ({} calls, then {})", pair[0].job, pair[0].calls, pair[1].calls))
        .collect();
    report.push_str(&match unequal.is_empty() {
        true => "\nEvery job makes as many calls in the large table as in the small one.\n".to_owned(),
        false => format!(
            "\n**Missed**: more calls in the large table than in the small one: {}.\n",
            unequal.join(", ")
        ),
    });
    std::fs::write(emulator::workspace_root().join("BENCHMARKS.md"), report)?;
    Ok(())
}

/// The commit measured (and whether the work tree had changes).
fn commit() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(emulator::workspace_root())
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    let head = git(&["rev-parse", "--short=12", "HEAD"]);
    let changed = !git(&["status", "--porcelain", "--untracked-files=no"]).is_empty();
    format!("`{head}`{}", if changed { " with uncommitted changes" } else { "" })
}
