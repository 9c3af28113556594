//! `make bench`: a reconciliation of `BENCH_SERVICES` (default 10,000) active VPSs against as
//! many accounts on the reference panel, 100 of them drifted (20 of each of five kinds),
//! counted in DynamoDB calls and panel pages, and timed; it must find exactly the 100.
//! Appends to BENCHMARKS.md.

use serde_json::json;
use shared::auth::Auth;
use shared::budget::Budget;
use shared::domain::drift::{DriftKind, RunStatus};
use shared::domain::lifecycle::Outcome;
use shared::domain::schedule::system;
use shared::domain::{ClientId, Clock, FixedClock, ProductType, Service, SystemClock, Timestamp};
use shared::reconciliation;
use shared::store::batch::service_item;
use shared::store::Store;
use shared::App;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use tests::counting::CallCounter;
use tests::{emulator, stack};

type Error = Box<dyn std::error::Error + Send + Sync>;

const DRIFTED_PER_KIND: usize = 20;

/// An active VPS of `client`, as the worker leaves it.
fn active_service(template: &Service, client: &str, activated: Timestamp) -> Service {
    let id = shared::domain::ServiceId::generate();
    let ordered = Service { id, client_id: ClientId::parse(client).unwrap(), ..template.clone() };
    let paying = ordered.pay_order(&system("bench"), activated).expect("payable");
    let operation = paying.queued.clone().expect("activation");
    paying.service.finish(&operation, Outcome::Done, activated).expect("pending").service
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let total: usize = std::env::var("BENCH_SERVICES").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let emulator = emulator::PrivateEmulator::start()?;
    let config = emulator::sdk_config(&emulator.endpoint).await;
    let (table, _) = stack::fresh_resources(&config, "bench", stack::MAX_RECEIVES).await?;
    let panel = format!("{}/{table}", tests::panel::ensure_running());
    let plain = Store::new(aws_sdk_dynamodb::Client::new(&config), &table);
    stack::seed_catalog(&plain, &panel).await?;
    let now = SystemClock.now();
    let template = stack::vps_order("template", now).0;
    let services: Vec<Service> = (0..total)
        .map(|i| active_service(&template, &format!("client-{}", i % 500), now.plus_seconds(-86_400)))
        .collect();
    stack::put_items(&plain, services.iter().map(service_item).collect::<Result<_, _>>()?).await?;

    // The panel holds every one, then drifts: 20 missing, 20 suspended there, 20 on another
    // tariff, 20 with other options, and 20 accounts billing never ordered.
    let http = tests::http_client();
    for chunk in services.chunks(1000) {
        let accounts: Vec<_> = chunk
            .iter()
            .map(|s| json!({"service_id": s.id, "tariff_id": s.tariff_id, "options": s.options}))
            .collect();
        let answer = http
            .post(format!("{panel}/control/accounts"))
            .json(&json!({"product_type": "vps", "accounts": accounts}))
            .send()
            .await?;
        assert!(answer.status().is_success(), "seeding the panel");
    }
    let mut expected = BTreeMap::new();
    let drifts = [
        (DriftKind::MissingOnPanel, json!({"status": "missing"})),
        (DriftKind::SuspendedOnPanel, json!({"status": "suspended"})),
        (DriftKind::TariffDiffers, json!({"status": "active", "tariff_id": "vps-pro"})),
        (DriftKind::OptionsDiffer, json!({"status": "active", "options": [{"id": "ipv4", "quantity": 7}]})),
    ];
    for (k, (kind, body)) in drifts.iter().enumerate() {
        for s in services.iter().skip(k * 997 % total.max(1)).step_by(37).take(DRIFTED_PER_KIND) {
            if expected.contains_key(&s.id.to_string()) {
                continue;
            }
            let mut body = body.clone();
            body["service_id"] = json!(s.id);
            http.post(format!("{panel}/control/drift")).json(&body).send().await?;
            expected.insert(s.id.to_string(), *kind);
        }
    }
    for n in 0..DRIFTED_PER_KIND {
        let account = format!("by-hand-{n}");
        let body =
            json!({"account_id": account, "product_type": "vps", "tariff_id": "vps-start", "params": {}});
        http.post(format!("{panel}/control/orphan")).json(&body).send().await?;
        expected.insert(account, DriftKind::OrphanOnPanel);
    }

    let counter = CallCounter::default();
    let app = App::new(
        Store::new(counter.client(&config), &table),
        Auth::Authorizer,
        Arc::new(FixedClock::at(now)),
    );
    let started = Instant::now();
    let run =
        reconciliation::start(&app, vec![ProductType::Vps], "bench").await.map_err(|e| e.to_string())?;
    let read = reconciliation::carry_on(&app, &run.id, Budget::UNLIMITED).await.map_err(|e| e.to_string())?;
    let millis = started.elapsed().as_millis();
    let calls = counter.count();
    assert_eq!(read.run.status, RunStatus::Done);

    let mut found = BTreeMap::new();
    let mut after = None;
    loop {
        let (items, next) = plain.drift_items(&run.id, None, 100, after.as_deref()).await?;
        for item in items {
            let key = item.service_id.map(|s| s.to_string()).or(item.account_id).unwrap_or_default();
            found.insert(key, item.kind);
        }
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let exact = found == expected;
    let pages = total.div_ceil(usize::from(reconciliation::PANEL_PAGE));
    println!(
        "reconcile: {total} services, {} accounts, {} drifted: found {} ({}), {calls} DynamoDB calls, {pages} panel pages, {millis} ms",
        total + DRIFTED_PER_KIND,
        expected.len(),
        found.len(),
        if exact { "exactly those" } else { "NOT those" }
    );
    let report = format!(
        "\n## Reconciliation\n\nOne run of `reconcile` over the `vps` product type: {total} active services in the table, {} accounts on the reference panel, {} of them drifted ({DRIFTED_PER_KIND} each missing on the panel, suspended there, on another tariff, with other options, and accounts billing never ordered). Counted at the SDK; the panel listed {} accounts a page. Target: exactly the drifted found, at O(services + accounts) calls.\n\n| services | accounts | drifted | found | exactly those | DynamoDB calls | time (ms) |\n|---:|---:|---:|---:|---|---:|---:|\n| {total} | {} | {} | {} | {} | {calls} | {millis} |\n",
        total + DRIFTED_PER_KIND,
        expected.len(),
        reconciliation::PANEL_PAGE,
        total + DRIFTED_PER_KIND,
        expected.len(),
        found.len(),
        if exact { "yes" } else { "**no: missed**" },
    );
    let path = emulator::workspace_root().join("BENCHMARKS.md");
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    text.push_str(&report);
    std::fs::write(path, text)?;
    assert!(exact, "the run found other differences than the drifted ones");
    Ok(())
}
