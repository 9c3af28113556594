//! `make bench` (part two): the DynamoDB calls each route makes, counted at the SDK, and the
//! latency of a read and of a write beside a bare emulator GetItem from the same client, in the
//! same run. Every route is called once as its sample event (`events/`) describes, on fresh
//! services of the product type it concerns, against the emulator and the reference panel.
//! Appends to BENCHMARKS.md (written by `bench-sweeps` first).

use lambda_http::{Body, RequestExt};
use serde_json::{json, Value};
use shared::auth::{sign_hs256, Auth};
use shared::domain::{Clock, FixedClock, SystemClock, Timestamp};
use shared::queue::Queue;
use shared::store::Store;
use shared::App;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tests::counting::CallCounter;
use tests::router::{self, Resolved, Route};
use tests::{bridge, emulator, stack};

type Error = Box<dyn std::error::Error + Send + Sync>;

const SECRET: &[u8] = b"bench-secret";

/// The routes that take more calls than their kind's target, how many at most, and why.
const OVER_TARGET: &[(&str, usize, &str)] = &[
    ("POST /cart/checkout", 3, "a checkout reads the cart (a Query of the client's services) apart from the account and the rules (one BatchGetItem) before its one transaction"),
    ("POST /clients/{client_id}/payments", 3, "a payment that checks a cart out reads the cart (a Query) apart from the account and the rules before its one transaction"),
    ("POST /payments/{id}/confirm", 4, "a confirmed payment is read first (which client, how much), then the cart and the account with the rules, before its one transaction"),
    ("GET /account", 2, "a client's ledger hides the links to its deleted services: the services an entry of the page links are read (one BatchGetItem, none when the page links none); keeping that on the entries would rewrite every entry of a service in its deletion's transaction"),
    ("GET /tickets", 2, "a client's tickets hide the links to its deleted services (one BatchGetItem of the services the page links, as for the ledger)"),
    ("POST /reconciliations", 60, "starting a reconciliation is a run over every product type (the sample names none), carried on for a few seconds before the answer: each type's services and its panel's accounts a page at a time, the run's progress written with each page (O(services + accounts); here a few services)"),
    ("POST /services/{id}/panel-session", 3, "a sign-in is counted against the service's minute (one conditional update) before the panel is asked, and recorded (one transaction) only once the panel has made the link"),
    ("PUT /account/notifications", 3, "a new address is mailed its confirmation, counted against the client's confirmations of the day (one conditional update) beside the read and the write"),
    ("POST /reconciliations/{id}/items/{item_id}/resolve", 3, "the item is read before its service (which it names) with the rules, then one transaction"),
    ("GET /tickets/{id}", 2, "a client's ticket hides its link to a deleted service (one read of that service, when the ticket links one)"),
    ("POST /tickets/{id}/messages", 3, "the answer, the ticket as its client reads it, hides its link to a deleted service (one read of that service, when the ticket links one)"),
    ("POST /imports", 3, "a new import's mapping is checked against the catalog (its tariffs read, a page of 100) before it is written"),
    ("PUT /imports/{id}/files/{name}", 6, "an upload reads its import, raises its files' version before and after staging the records (a transaction per 90 records) and keeps the file's description"),
    ("GET /imports/{id}", 2, "an import is shown with its files (one Query of its partition)"),
    ("GET /imports/{id}/preview", 12, "the first read after an upload works the preview out, a page of clients and of services at a time (each page: its staged records, what earlier imports made of them, and one transaction keeping its lines), then reads the lines for the page and the summary (O(records)); a read after that is 2 calls"),
    ("POST /imports/{id}/apply", 16, "an apply reads the preview's lines, then writes each record in its own transaction with its link (O(records), a few seconds' worth before the answer, the job carrying on the rest)"),
];

struct Bench {
    app: App,
    /// The app's clock: set to now before each route; a grace moves it past the expiry.
    clock: FixedClock,
    worker: operations_worker::Worker,
    counter: CallCounter,
    routes: Vec<Route>,
    operations_queue: String,
    /// This run's prefix on the reference panel.
    panel: String,
}

impl Bench {
    fn token(&self, role: &str, sub: &str) -> String {
        let now = self.clock.now().unix_seconds();
        sign_hs256(&json!({"sub": sub, "role": role, "exp": now + 3600}), SECRET)
    }

    /// Sends one request through the route table to its handler: status and body.
    async fn send(&self, method: &str, path: &str, token: &str, body: Option<&Value>) -> (u16, Value) {
        let bare = path.split('?').next().unwrap_or_default();
        let Resolved::Function { function, params } = router::resolve(&self.routes, method, bare) else {
            panic!("{method} {bare} is not routed");
        };
        let query: HashMap<String, String> = path
            .split_once('?')
            .map(|(_, q)| {
                q.split('&').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect()
            })
            .unwrap_or_default();
        let request = lambda_http::http::Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(body.map_or(Body::Empty, |b| Body::Text(b.to_string())))
            .expect("request")
            .with_query_string_parameters(query)
            .with_path_parameters(params);
        let response = router::invoke(&function, &self.app, request).await.expect("a handler");
        let status = response.status().as_u16();
        let body = match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        (status, body)
    }

    async fn drain(&self) {
        let sqs = self.app.queue.as_ref().expect("queue").client();
        bridge::drain(sqs, &self.operations_queue, &self.worker, 20).await.expect("drain");
    }

    /// A fresh active service of `client` on `tariff`, with a ticket and a pending payment.
    async fn fixture(&self, client: &str, tariff: &str) -> Fixture {
        let token = self.token("client", client);
        let params = match tariff {
            "domain-com" => {
                json!({"domain": format!("b{}.com", ulid::Ulid::generate().to_string().to_lowercase())})
            }
            "ssl-dv" => {
                json!({"csr": include_str!("../../../shared/fixtures/two-names.csr"), "validation": "http-01"})
            }
            "vdc-small" => json!({}),
            _ => json!({"os_template": "debian-12"}),
        };
        let period = if matches!(tariff, "domain-com" | "ssl-dv") { 12 } else { 1 };
        let order = json!({"tariff_id": tariff, "period_months": period, "params": params});
        let (_, service) = self.send("POST", "/services", &token, Some(&order)).await;
        let funds = json!({"amount": 100_000, "external_id": ulid::Ulid::generate().to_string()});
        self.send(
            "POST",
            &format!("/clients/{client}/payments"),
            &self.token("provider", "ops"),
            Some(&funds),
        )
        .await;
        self.drain().await;
        let id = service["id"].as_str().expect("a service").to_owned();
        let ticket = json!({"subject": "Hello", "message": "A question"});
        let (_, ticket) = self.send("POST", &format!("/services/{id}/tickets"), &token, Some(&ticket)).await;
        let (_, payment) = self.send("POST", "/payments", &token, Some(&json!({"amount": 100}))).await;
        Fixture {
            client: client.to_owned(),
            service: id,
            ticket: ticket["id"].as_str().unwrap_or_default().to_owned(),
            payment: payment["id"].as_str().unwrap_or_default().to_owned(),
        }
    }

    /// The fixture of a route, and its path and body brought to where the route's sample
    /// succeeds (a suspended service to enable, an address to delete, an order in the cart...):
    /// the set-up calls are made before the count starts.
    async fn prepare(&self, key: &str, mut body: Option<Value>) -> (Fixture, String, Option<Value>) {
        let template = key.split_once(' ').map_or("", |(_, p)| p);
        self.clock.set(SystemClock.now());
        if key == "POST /services/{id}/activate" {
            // Not available: the panel had no room when the service was paid for.
            self.panel_capacity(0).await;
        }
        let fixture = self.fixture("alice", tariff_for(template)).await;
        let mut path = fixture.path(template);
        let client = self.token("client", &fixture.client);
        let service = format!("/services/{}", fixture.service);
        match key {
            "POST /services/{id}/activate" => self.panel_capacity(10_000).await,
            "POST /services/{id}/enable" => {
                self.send("POST", &format!("{service}/disable"), &client, None).await;
                self.drain().await;
            }
            "POST /services/{id}/grace" => {
                let (_, current) = self.send("GET", &service, &client, None).await;
                let expires = Timestamp::parse(current["expires_at"].as_str().expect("an expiry")).unwrap();
                self.clock.set(expires.plus_seconds(3600));
                body = Some(json!({"until": expires.plus_seconds(7 * 86_400), "reason": "bench"}));
            }
            "DELETE /services/{id}/ip-addresses/{ip}" => {
                let (_, added) = self
                    .send("POST", &format!("{service}/ip-addresses"), &client, Some(&json!({"version": 4})))
                    .await;
                path = format!("{service}/ip-addresses/{}", added["address"].as_str().expect("an address"));
            }
            "DELETE /services/{id}/virtual-servers/{vs_id}" => {
                let (spec, _) = sample("create-virtual-server");
                let (_, made) =
                    self.send("POST", &format!("{service}/virtual-servers"), &client, spec.as_ref()).await;
                path =
                    format!("{service}/virtual-servers/{}", made["id"].as_str().expect("a virtual server"));
            }
            "POST /services/{id}/change-tariff" => {
                // A warm instance has read the tariff it changes to before, as it did its own.
                let to = body.as_ref().and_then(|b| b["tariff_id"].as_str()).expect("a tariff");
                self.send("GET", &format!("/tariffs/{to}"), &client, None).await;
            }
            // A run that found the fixture suspended on its panel: the run and its item are the
            // ones the path names.
            k if k.contains("/reconciliations/{id}") => {
                let drift = json!({"service_id": fixture.service, "status": "suspended"});
                let url = format!("{}/control/drift", self.panel);
                tests::http_client().post(&url).json(&drift).send().await.expect("panel");
                let provider = self.token("provider", "ops");
                let (_, run) = self
                    .send("POST", "/reconciliations", &provider, Some(&json!({"product_type": "vps"})))
                    .await;
                let run = run["id"].as_str().expect("a run").to_owned();
                path = template.replace("{id}", &run).replace("{item_id}", &fixture.service);
                if key.ends_with("/resolve") {
                    body = Some(json!({"action": "apply_billing"}));
                }
            }
            // An import of one client and one product of the fixture's client: staged (its
            // details uploaded) for the upload, and previewed for the preview and the apply.
            k if k.contains("/imports/{id}") => {
                let provider = self.token("provider", "ops");
                let (_, made) =
                    self.send("POST", "/imports", &provider, sample("create-import").0.as_ref()).await;
                let import = made["id"].as_str().expect("an import").to_owned();
                let details = json!({"result": "success", "client": {"id": 1, "email": "b@example.com", "currency_code": "USD", "credit": "1.00"}});
                let products = json!({"result": "success", "products": {"product": [{"id": 1, "clientid": 1, "pid": 1,
                    "nextduedate": "2027-01-01", "billingcycle": "Monthly", "recurringamount": "5.00", "status": "Active"}]}});
                self.send("PUT", &format!("/imports/{import}/files/details.json"), &provider, Some(&details))
                    .await;
                if !key.starts_with("PUT") {
                    self.send(
                        "PUT",
                        &format!("/imports/{import}/files/products.json"),
                        &provider,
                        Some(&products),
                    )
                    .await;
                }
                if key.ends_with("/apply") {
                    self.send("GET", &format!("/imports/{import}/preview"), &provider, None).await;
                }
                path = template.replace("{id}", &import).replace("{name}", "products.json");
                if key.starts_with("PUT") {
                    body = Some(products);
                }
            }
            "POST /cart/checkout" => {
                let order = json!({"tariff_id": "vps-start", "period_months": 1, "params": {"os_template": "debian-12"}});
                self.send("POST", "/services", &client, Some(&order)).await;
            }
            _ => {}
        }
        (fixture, path, body)
    }

    /// How many VPS the reference panel can still host.
    async fn panel_capacity(&self, vps: u32) {
        let url = format!("{}/control/capacity", self.panel);
        let answer = tests::http_client().post(&url).json(&json!({"vps": vps})).send().await.expect("panel");
        assert!(answer.status().is_success(), "panel capacity");
    }
}

struct Fixture {
    client: String,
    service: String,
    ticket: String,
    payment: String,
}

impl Fixture {
    fn path(&self, template: &str) -> String {
        let id = match template {
            t if t.starts_with("/tariffs/") => "vps-start",
            t if t.starts_with("/tickets/") => &self.ticket,
            t if t.starts_with("/payments/") => &self.payment,
            _ => &self.service,
        };
        template
            .replace("{id}", id)
            .replace("{client_id}", &self.client)
            .replace("{type}", "vps")
            .replace("{ip}", "198.51.100.250")
            .replace("{vs_id}", "vs-none")
            .replace("{kind}", "activated")
    }
}

/// The tariff a route's fixture is on.
fn tariff_for(path: &str) -> &'static str {
    match path {
        p if p.contains("nameservers") || p.contains("whois") => "domain-com",
        p if p.contains("virtual-servers") => "vdc-small",
        p if p.contains("reissue") => "ssl-dv",
        _ => "vps-start",
    }
}

/// The sample of a function's event: its body and query string.
fn sample(function: &str) -> (Option<Value>, String) {
    let text = std::fs::read_to_string(emulator::workspace_root().join(format!("events/{function}.json")))
        .unwrap_or_default();
    let event: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let body = event["body"].as_str().and_then(|b| serde_json::from_str(b).ok());
    (body, event["rawQueryString"].as_str().unwrap_or_default().to_owned())
}

/// Routes the provider calls: its own, and a VPS's transfer to another node.
const PROVIDER_ONLY: [&str; 25] = [
    "PUT /product-types/{type}",
    "POST /tariffs",
    "POST /services/{id}/activate",
    "POST /services/{id}/abuse-reports",
    "POST /services/{id}/grace",
    "GET /clients/{client_id}/account",
    "POST /clients/{client_id}/payments",
    "POST /payments/{id}/confirm",
    "POST /services/{id}/transfer",
    "GET /clients/{client_id}/notifications",
    "PUT /clients/{client_id}/notifications",
    "GET /notification-templates/{kind}",
    "PUT /notification-templates/{kind}",
    "POST /payments/{id}/reversal",
    "GET /reconciliations",
    "POST /reconciliations",
    "GET /reconciliations/{id}",
    "GET /reconciliations/{id}/items",
    "POST /reconciliations/{id}/items/{item_id}/resolve",
    "POST /imports",
    "GET /imports",
    "GET /imports/{id}",
    "PUT /imports/{id}/files/{name}",
    "GET /imports/{id}/preview",
    "POST /imports/{id}/apply",
];

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn summary(mut millis: Vec<f64>) -> (f64, f64) {
    millis.sort_by(|a, b| a.total_cmp(b));
    (percentile(&millis, 0.5), percentile(&millis, 0.99))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let emulator = emulator::PrivateEmulator::start()?;
    let config = emulator::sdk_config(&emulator.endpoint).await;
    let (table, queues) = stack::fresh_resources(&config, "bench", stack::MAX_RECEIVES).await?;
    let panel = format!("{}/{table}", tests::panel::ensure_running());
    stack::seed_catalog(&Store::new(aws_sdk_dynamodb::Client::new(&config), &table), &panel).await?;
    let counter = CallCounter::default();
    let store = Store::new(counter.client(&config), &table);
    let queue = Queue::new(aws_sdk_sqs::Client::new(&config), &queues.operations);
    let clock = FixedClock::at(SystemClock.now());
    let mut app =
        App::new(store, Auth::DevSecret(SECRET.to_vec()), Arc::new(clock.clone())).with_queue(queue);
    // Every fixture opens a ticket for its client.
    app.settings.tickets_per_day = 10_000;
    // A client's new notification address is mailed its confirmation.
    tests::events::verify_sender(&config).await?;
    let app = app.with_mail(shared::mail::Mail::new(
        aws_sdk_sesv2::Client::new(&config),
        tests::events::SENDER,
        None,
    ));
    let worker = operations_worker::Worker {
        app: app.clone(),
        max_receives: 3,
        retry_base_seconds: 0,
        write_reserve: std::time::Duration::from_secs(1),
    };
    let bench = Bench {
        app,
        clock,
        worker,
        counter,
        routes: router::routes(),
        operations_queue: queues.operations,
        panel: panel.clone(),
    };

    let mut report = String::from(
        "\n## DynamoDB calls per route\n\nEach route called once as its sample event says, on a fresh active service of its product type, counted at the SDK. Target: a read 1 call per page, a mutation at most 2 (a read and one conditional transaction); a miss is marked. Calls are counted on a warm instance: tariffs, which never change, were read before; product type rules are read on every request that acts, with the service (or the account) in the same BatchGetItem, or with the tariffs in one Query (`GET /domains/check`); the `allowed_actions` of a list or of a new service, which decide nothing, show the rules this instance read in the last 10 seconds (read before each count, as in steady use). Where a sample needs more than an active service, its set-up calls come before the count (a suspended service to enable, an address or a virtual server to delete, an order in the cart, a service the panel had no room for to activate, the clock past the expiry for a grace). The bench calls as a client wherever a client may: a client's write reads its service and account in one BatchGetItem, a provider's write that moves money reads the account on its own (one more call). The worker throughput and the latencies are the emulator's (moto, one request at a time, in Python), measured beside its bare GetItem and SQS rates.\n\n| route | function | status | DynamoDB calls | target |\n|---|---|---:|---:|---|\n",
    );
    let mut routes = bench.routes.clone();
    // Deletions last within each fixture do not matter: every route gets its own fixture.
    routes.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
    let (mut misses, mut explained) = (0, 0);
    for route in &routes {
        let method = route.method.to_uppercase();
        let key = format!("{method} {}", route.path);
        let (body, query) = sample(&route.function);
        let (fixture, mut path, body) = bench.prepare(&key, body).await;
        if !query.is_empty() {
            path = format!("{path}?{query}");
        }
        let token = if PROVIDER_ONLY.contains(&key.as_str()) || route.path == "/services" && method == "GET" {
            bench.token("provider", "ops")
        } else {
            bench.token("client", &fixture.client)
        };
        // Warm as an instance in steady use is: the rules an answer's allowed_actions show
        // were read in the last `LISTED_RULES_FRESH`.
        bench.app.store.listed_product_types().await?;
        bench.counter.take();
        let (status, _) = bench.send(&method, &path, &token, body.as_ref()).await;
        let calls = bench.counter.take();
        if route.path == "/product-types/{type}" {
            // The sample names no panel: put the catalog's rules (and panels) back.
            stack::seed_catalog(&Store::new(aws_sdk_dynamodb::Client::new(&config), &table), &panel).await?;
        }
        let target = if method == "GET" { 1 } else { 2 };
        let verdict = match OVER_TARGET.iter().find(|(route, ..)| *route == key) {
            _ if calls <= target => format!("≤ {target}"),
            Some((_, allowed, why)) if calls <= *allowed => {
                explained += 1;
                format!("≤ {target}; {allowed} because {why}")
            }
            _ => {
                misses += 1;
                format!("≤ {target}: **missed**")
            }
        };
        println!("{key:<50} {status} {calls:>3} calls");
        report.push_str(&format!("| `{key}` | `{}` | {status} | {calls} | {verdict} |\n", route.function));
    }
    report.push_str(&format!(
        "\n{misses} of {} routes miss their target; {explained} take more calls than it, for the reason given.\n",
        routes.len()
    ));

    // Latency: a read and a write through the handler, beside a bare GetItem, same client.
    bench.clock.set(SystemClock.now());
    let fixture = bench.fixture("alice", "vps-start").await;
    let token = bench.token("client", "alice");
    let rounds = 200;
    let (mut read, mut write, mut bare) = (Vec::new(), Vec::new(), Vec::new());
    let key =
        shared::store::keys::service(&shared::domain::ServiceId::parse(&fixture.service).unwrap()).item();
    for i in 0..rounds {
        let started = Instant::now();
        bench
            .app
            .store
            .client()
            .get_item()
            .table_name(&table)
            .set_key(Some(key.clone()))
            .consistent_read(true)
            .send()
            .await?;
        bare.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        let (status, _) = bench.send("GET", &format!("/services/{}", fixture.service), &token, None).await;
        read.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 200);
        let edit = json!({"auto_renew": {"enabled": i % 2 == 0, "period_months": 1}});
        let started = Instant::now();
        let (status, _) =
            bench.send("PATCH", &format!("/services/{}", fixture.service), &token, Some(&edit)).await;
        write.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 200);
    }
    let (bare, read, write) = (summary(bare), summary(read), summary(write));
    report.push_str(&format!(
        "\n## Latency\n\n{rounds} rounds in-process (the handler called as its Lambda would, without the Lambda runtime), against the emulator. Target: `GET /services/{{id}}` p50 at most 1.5 times a bare GetItem.\n\n| call | p50 (ms) | p99 (ms) | p50 / bare GetItem |\n|---|---:|---:|---:|\n| bare emulator GetItem | {:.2} | {:.2} | 1.00 |\n| `GET /services/{{id}}` | {:.2} | {:.2} | {:.2} |\n| `PATCH /services/{{id}}` | {:.2} | {:.2} | {:.2} |\n",
        bare.0, bare.1, read.0, read.1, read.0 / bare.0, write.0, write.1, write.0 / bare.0
    ));
    println!("latency p50: bare {:.2} ms, read {:.2} ms, write {:.2} ms", bare.0, read.0, write.0);

    // Worker throughput beside the emulator's bare receive-and-delete rate.
    let operations = 60;
    let fixtures: Vec<Fixture> = {
        let mut list = Vec::new();
        for _ in 0..operations / 10 {
            list.push(bench.fixture("bob", "vps-start").await);
        }
        list
    };
    let bob = bench.token("client", "bob");
    let started = Instant::now();
    let mut done = 0;
    for _ in 0..10 {
        for fixture in &fixtures {
            bench.send("POST", &format!("/services/{}/reboot", fixture.service), &bob, None).await;
        }
        bench.drain().await;
        done += fixtures.len();
    }
    let worker_rate = done as f64 / started.elapsed().as_secs_f64();
    // The worker alone: a backlog of reboots, one per service, requested before the clock
    // starts, then drained (each: its share of a receive and a batch delete, the read, the panel
    // call, the write).
    // (A fixture drains the queue as it is made: every fixture first, then the reboots.)
    let mut backlog = Vec::new();
    for _ in 0..operations {
        backlog.push(bench.fixture("bob", "vps-start").await);
    }
    for fixture in &backlog {
        let (status, _) =
            bench.send("POST", &format!("/services/{}/reboot", fixture.service), &bob, None).await;
        assert_eq!(status, 200, "a reboot requested");
    }
    let started = Instant::now();
    let drained =
        bridge::drain(bench.app.queue.as_ref().unwrap().client(), &bench.operations_queue, &bench.worker, 20)
            .await
            .expect("drain");
    let backlog_rate = drained as f64 / started.elapsed().as_secs_f64();
    assert_eq!(drained, backlog.len(), "every reboot of the backlog carried out once");
    let sqs = bench.app.queue.as_ref().unwrap().client().clone();
    for i in 0..operations {
        sqs.send_message().queue_url(&bench.operations_queue).message_body(format!("{i}")).send().await?;
    }
    let started = Instant::now();
    let mut received = 0;
    while received < operations {
        let out = sqs
            .receive_message()
            .queue_url(&bench.operations_queue)
            .max_number_of_messages(10)
            .send()
            .await?;
        for message in out.messages.unwrap_or_default() {
            sqs.delete_message()
                .queue_url(&bench.operations_queue)
                .set_receipt_handle(message.receipt_handle)
                .send()
                .await?;
            received += 1;
        }
    }
    let bare_rate = received as f64 / started.elapsed().as_secs_f64();
    report.push_str(&format!(
        "\n## Worker throughput\n\nThe worker draining a backlog of {drained} reboots (one per service, requested before the clock starts; each: its share of a receive and a batch delete, the service's read, the reference panel's call, the write), and {done} reboots each requested and carried out in turn (the request's read, write and send added), beside the emulator's bare receive-and-delete of {received} messages. Target: the worker at least 0.2 times the bare rate.\n\n| | operations per second | / bare |\n|---|---:|---:|\n| worker (queue + worker + panel) | {backlog_rate:.1} | {:.2} |\n| request + queue + worker + panel | {worker_rate:.1} | {:.2} |\n| bare SQS receive and delete | {bare_rate:.1} | 1.00 |\n",
        backlog_rate / bare_rate,
        worker_rate / bare_rate
    ));
    println!(
        "worker {backlog_rate:.1} ops/s (with requests {worker_rate:.1}), bare SQS {bare_rate:.1} msgs/s"
    );
    let path = emulator::workspace_root().join("BENCHMARKS.md");
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    text.push_str(&report);
    std::fs::write(path, text)?;
    Ok(())
}
