//! `make bench`: an import from WHMCS of `BENCH_SERVICES` (default 10,000) services of half as
//! many clients, written as WHMCS answers (pages of 250 `GetClientsProducts` and `GetClients`,
//! one `GetClientsDetails` a client), uploaded, previewed and applied; counted in DynamoDB calls
//! and timed, each step beside the jobs' budget (a 900 s invocation less its reserve). Every
//! client and service must be written once. Appends to BENCHMARKS.md.

use serde_json::{json, Value};
use shared::auth::Auth;
use shared::budget::{Budget, RUN_RESERVE};
use shared::domain::import::{ImportStatus, Mapping, Verdict};
use shared::domain::{Clock, FixedClock, SystemClock};
use shared::import;
use shared::store::Store;
use shared::App;
use std::sync::Arc;
use std::time::Instant;
use tests::counting::CallCounter;
use tests::{emulator, stack};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Records a WHMCS page holds here.
const PAGE: usize = 250;
/// A scheduled job's timeout, in seconds.
const JOB_TIMEOUT: u64 = 900;

const CYCLES: [(&str, &str); 4] =
    [("Monthly", "5.00"), ("Quarterly", "14.00"), ("Annually", "50.00"), ("Free Account", "0.00")];

fn product(id: usize, clients: usize) -> Value {
    let (cycle, price) = CYCLES[id % CYCLES.len()];
    let due = if cycle == "Free Account" {
        "0000-00-00".to_owned()
    } else {
        format!("2027-{:02}-{:02}", 1 + id % 12, 1 + id % 28)
    };
    json!({"id": (id + 1).to_string(), "clientid": (id % clients + 1).to_string(), "pid": "1", "name": "VPS",
        "groupname": "VPS", "domain": format!("s{id}.example"), "regdate": "2025-01-01", "nextduedate": due,
        "billingcycle": cycle, "recurringamount": price, "firstpaymentamount": price,
        "status": if id.is_multiple_of(10) { "Suspended" } else { "Active" }, "suspensionreason": "",
        "username": format!("u{id}"), "dedicatedip": "", "assignedips": "", "serverid": "1",
        "configoptions": if id.is_multiple_of(3) { json!({"configoption": [{"id": 10, "option": "IPv4", "type": "quantity", "value": "1"}]}) } else { json!("") },
        "customfields": ""})
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let services: usize = std::env::var("BENCH_SERVICES").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let clients = (services / 2).max(1);
    let emulator = emulator::PrivateEmulator::start()?;
    let config = emulator::sdk_config(&emulator.endpoint).await;
    let (table, _) = stack::fresh_resources(&config, "bench", stack::MAX_RECEIVES).await?;
    let plain = Store::new(aws_sdk_dynamodb::Client::new(&config), &table);
    stack::seed_catalog(&plain, "http://127.0.0.1:9/none").await?;
    let counter = CallCounter::default();
    let app = App::new(
        Store::new(counter.client(&config), &table),
        Auth::Authorizer,
        Arc::new(FixedClock::at(SystemClock.now())),
    );
    let mapping: Mapping =
        serde_json::from_value(json!({"products": {"1": "vps-start"}, "configoptions": {"10": "ipv4"},
        "servers": {"1": "vps"}, "clients": {"prefix": "whmcs-"}, "currencies": {"USD": 2}}))?;
    let created = import::create(&app, "whmcs", mapping, "bench").await.map_err(|e| e.to_string())?;

    // The export, uploaded as the provider would: every page and every client's details.
    let started = Instant::now();
    let mut files = Vec::new();
    for (n, page) in (0..clients).collect::<Vec<_>>().chunks(PAGE).enumerate() {
        let list: Vec<Value> =
            page.iter().map(|c| json!({"id": c + 1, "email": format!("c{c}@example.com")})).collect();
        files.push((
            format!("GetClients-{n}.json"),
            json!({"result": "success", "clients": {"client": list}}),
        ));
    }
    for c in 0..clients {
        let details = json!({"result": "success", "client": {"id": c + 1, "email": format!("c{c}@example.com"),
            "currency_code": "USD", "credit": format!("{}.{:02}", c % 50, c % 100)}});
        files.push((format!("GetClientsDetails-{}.json", c + 1), details));
    }
    for (n, page) in (0..services).collect::<Vec<_>>().chunks(PAGE).enumerate() {
        let list: Vec<Value> = page.iter().map(|&i| product(i, clients)).collect();
        files.push((
            format!("GetClientsProducts-{n}.json"),
            json!({"result": "success", "products": {"product": list}}),
        ));
    }
    let staged = app.store.get_import(&created.id).await?.ok_or("the import")?;
    for (name, body) in &files {
        import::upload(&app, &staged, name, body.to_string().as_bytes()).await.map_err(|e| e.to_string())?;
    }
    let (upload_calls, upload_ms) = (counter.count(), started.elapsed().as_millis());

    let started = Instant::now();
    let previewed =
        import::carry_on_preview(&app, &created.id, Budget::UNLIMITED).await.map_err(|e| e.to_string())?;
    let (_, _, summary) =
        import::preview_page(&app, &previewed, 0, 0, None).await.map_err(|e| e.to_string())?;
    let (preview_calls, preview_ms) = (counter.count() - upload_calls, started.elapsed().as_millis());

    let started = Instant::now();
    let applied = import::apply(&app, &created.id, false, "bench", Budget::UNLIMITED)
        .await
        .map_err(|e| e.to_string())?;
    let (apply_calls, apply_ms) =
        (counter.count() - upload_calls - preview_calls, started.elapsed().as_millis());

    let done = applied.apply.clone().ok_or("applied")?;
    let count = |v: Verdict| done.done.get(&v).copied().unwrap_or(0);
    let exact = applied.status == ImportStatus::Done
        && count(Verdict::Create) == (services + clients) as u64
        && done.failed == 0
        && summary.errors() == 0;
    let budget_ms = u128::from(JOB_TIMEOUT - RUN_RESERVE.as_secs()) * 1000;
    let within = |ms: u128| if ms <= budget_ms { "yes" } else { "**no**" };
    println!(
        "import: {services} services, {clients} clients, {} files: upload {upload_calls} calls {upload_ms} ms; preview {preview_calls} calls {preview_ms} ms; apply {apply_calls} calls {apply_ms} ms; {}",
        files.len(),
        if exact { "each written once" } else { "NOT each written once" }
    );
    let report = format!(
        "\n## Import from WHMCS\n\nAn export of {services} services of {clients} clients written as WHMCS answers ({} files: pages of {PAGE} `GetClients` and `GetClientsProducts`, one `GetClientsDetails` a client), uploaded, previewed and applied against the emulator, counted at the SDK. Target: the preview and the apply each within one job invocation's budget ({JOB_TIMEOUT} s less its {} s reserve), at O(records) calls; every record written once.\n\n| step | DynamoDB calls | time (ms) | within a job's budget |\n|---|---:|---:|---|\n| upload ({} files) | {upload_calls} | {upload_ms} | (one request a file) |\n| preview | {preview_calls} | {preview_ms} | {} |\n| apply | {apply_calls} | {apply_ms} | {} |\n\nWritten: {} clients and services created, {} failed: {}.\n",
        files.len(),
        RUN_RESERVE.as_secs(),
        files.len(),
        within(preview_ms),
        within(apply_ms),
        count(Verdict::Create),
        done.failed,
        if exact { "each once" } else { "**not each once**" },
    );
    let path = emulator::workspace_root().join("BENCHMARKS.md");
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    text.push_str(&report);
    std::fs::write(path, text)?;
    assert!(exact, "the import did not write each record once");
    Ok(())
}
