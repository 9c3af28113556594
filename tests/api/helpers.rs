//! A test's own stack: a fresh table in the emulator seeded with the demo catalog, an app with a
//! clock the test controls, and calls through the production routes to the real handlers.

use lambda_http::http::{HeaderMap, Method};
use lambda_http::{Body, RequestExt};
use operations_worker::Worker;
use serde_json::{json, Value};
use shared::auth::{sign_hs256, Auth};
use shared::domain::{Clock, FixedClock, SystemClock};
use shared::queue::Queue;
use shared::store::Store;
use shared::App;
use std::collections::HashMap;
use std::sync::Arc;
use tests::policies::{listing, Policies};
use tests::recording::AwsCalls;
use tests::router::{self, Resolved, Route};
use tests::{bridge, emulator, stack};

pub const SECRET: &[u8] = b"integration-test-secret";
/// A certificate signing request for `shop.example.com` and `www.shop.example.com`.
pub const SAMPLE_CSR: &str = include_str!("../../shared/fixtures/two-names.csr");

/// A test's stack. Every function it runs (a route's, the worker, a scheduled job) gets `app`
/// with clients that record its AWS calls in `aws_calls`; when the test ends, a call that the
/// function's policies in infra/template.yaml do not allow fails it, as AWS would refuse the
/// call (the emulator checks no permissions).
pub struct Stack {
    pub app: App,
    pub clock: FixedClock,
    /// Its app is the `operations-worker` function's.
    pub worker: Worker,
    pub queues: stack::Queues,
    /// This test's own reference panel: `{panel}/{product_type}/operations`, `{panel}/control/...`.
    pub panel: String,
    pub aws_calls: AwsCalls,
    routes: Vec<Route>,
    /// The lifecycle events' path, in stacks made `with_events`.
    pub events: Option<Events>,
    /// What the functions' AWS clients are made from: the emulator's endpoint, or a fault
    /// proxy's in front of it.
    config: aws_config::SdkConfig,
    /// SQS as Lambda's event source mapping reads it, and the test looks: never through a proxy.
    pub sqs: aws_sdk_sqs::Client,
}

/// A stack's lifecycle-event path: the table's stream read into the `events-publisher`
/// function, the bus, its `events-tap` and notifications queues, and the `notifier` function
/// with the emulator's SES; each function with its own recording clients.
pub struct Events {
    pub queues: tests::events::EventQueues,
    pub publisher: events_publisher::Publisher,
    pub notifier: notifier::Notifier,
    pub stream: tokio::sync::Mutex<tests::events::StreamReader>,
    /// The publisher's and the notifier's own clients (a fault run makes them again per
    /// invocation, with a crash).
    pub eventbridge: aws_sdk_eventbridge::Client,
    pub ses: aws_sdk_sesv2::Client,
    pub sqs: aws_sdk_sqs::Client,
    endpoint: String,
}

/// Where the test stacks' confirmation e-mails link to.
pub const CONSOLE_ACCOUNT: &str = "https://console.test/console/account";

/// How often the test queue delivers a message before it goes to the dead-letter queue.
pub const MAX_RECEIVES: u32 = 3;

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json answer with this status; answers its detail.
    #[track_caller]
    pub fn problem(&self, status: u16) -> String {
        assert_eq!(self.status, status, "unexpected answer: {}", self.body);
        assert_eq!(self.header("content-type"), Some("application/problem+json"), "{}", self.body);
        assert_eq!(self.body["status"], status, "{}", self.body);
        for field in ["type", "title", "detail"] {
            assert!(self.body[field].is_string(), "problem without {field}: {}", self.body);
        }
        self.body["detail"].as_str().unwrap().to_owned()
    }

    /// Asserts a success with this status; answers the body.
    #[track_caller]
    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "unexpected answer: {}", self.body);
        assert_eq!(self.header("content-type"), Some("application/json"));
        &self.body
    }
}

/// A request to send through the stack.
#[derive(Clone)]
pub struct Call {
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    /// The invocation's deadline (Lambda's, milliseconds since the epoch); none when 0.
    deadline_ms: u64,
    /// A body goes as `application/json` unless a type is set, or none is wanted.
    no_content_type: bool,
}

impl Call {
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.parse().expect("method"),
            path: path.to_owned(),
            headers: vec![],
            body: None,
            deadline_ms: 0,
            no_content_type: false,
        }
    }

    /// A body sent with no `Content-Type` at all.
    pub fn without_content_type(mut self) -> Self {
        self.no_content_type = true;
        self
    }

    /// Invoked as a function whose timeout ends `left` from now.
    pub fn deadline_in(mut self, left: std::time::Duration) -> Self {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970");
        self.deadline_ms = (now + left).as_millis() as u64;
        self
    }

    pub fn token(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn json(self, body: &Value) -> Self {
        self.raw(&body.to_string())
    }

    pub fn raw(mut self, body: &str) -> Self {
        self.body = Some(body.to_owned());
        self
    }

    /// The request as API Gateway hands it to a function, before routing.
    pub fn request(&self) -> lambda_http::Request {
        let mut builder = lambda_http::http::Request::builder().method(self.method.clone()).uri(&self.path);
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        let typed = self.headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
        if self.body.is_some() && !typed && !self.no_content_type {
            builder = builder.header("content-type", "application/json");
        }
        let body = self.body.clone().map_or(Body::Empty, Body::Text);
        let query: HashMap<String, String> = self
            .path
            .split_once('?')
            .map(|(_, q)| {
                q.split('&')
                    .filter_map(|pair| pair.split_once('='))
                    .map(|(k, v)| (k.to_owned(), percent_decoded(v)))
                    .collect()
            })
            .unwrap_or_default();
        let mut context = lambda_runtime::Context::default();
        context.deadline = self.deadline_ms;
        builder.body(body).expect("request").with_query_string_parameters(query).with_lambda_context(context)
    }
}

/// A query value as API Gateway hands it on: `%XX` decoded (as UTF-8, lossily).
fn percent_decoded(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex =
            bytes.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Warnings and errors the handlers log (a 500's cause among them) go to the failing test's
/// output; `RUST_LOG` sets the level.
fn capture_logs() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    });
}

impl Stack {
    pub async fn new() -> Self {
        let config = emulator::sdk_config(emulator::ensure_running()).await;
        Self::through(config).await
    }

    /// A stack whose functions reach AWS through `proxy` (set up before its rules fault
    /// anything), with the proxy's timeouts and retries.
    pub async fn behind(proxy: &tests::faults::FaultProxy) -> Self {
        Self::through(emulator::sdk_config_with(&proxy.endpoint, tests::faults::resilience()).await).await
    }

    /// A stack whose functions' clients are made from `config`; its resources are made and
    /// seeded directly at the emulator.
    async fn through(config: aws_config::SdkConfig) -> Self {
        capture_logs();
        let direct = emulator::sdk_config(emulator::ensure_running()).await;
        let (table, queues) =
            stack::fresh_resources(&direct, "test", MAX_RECEIVES).await.expect("table and queues");
        let panel = format!("{}/{table}", tests::panel::ensure_running());
        stack::seed_catalog(&Store::new(aws_sdk_dynamodb::Client::new(&direct), table.clone()), &panel)
            .await
            .expect("seed catalog");
        let store = Store::new(shared::aws::dynamodb(&config), table);
        let clock = FixedClock::at(SystemClock.now());
        let queue = Queue::new(shared::aws::sqs(&config), &queues.operations);
        tests::events::verify_sender(&direct).await.expect("the sender verified");
        let mail = shared::mail::Mail::new(
            aws_sdk_sesv2::Client::new(&config),
            tests::events::SENDER,
            Some(CONSOLE_ACCOUNT.to_owned()),
        );
        let app = App::new(store, Auth::DevSecret(SECRET.to_vec()), Arc::new(clock.clone()))
            .with_queue(queue)
            .with_mail(mail);
        // The ACME product types' authority is the tests' Pebble (`tests::pebble`).
        let app = App { acme: shared::acme::AcmeClient::with_roots(tests::pebble::tls_roots()), ..app };
        let aws_calls = AwsCalls::default();
        // Retries come back at once: the tests walk through every receive without waiting.
        let worker_app = aws_calls.app_for(&app, "operations-worker");
        let worker = Worker {
            app: worker_app,
            max_receives: MAX_RECEIVES,
            retry_base_seconds: 0,
            write_reserve: std::time::Duration::from_secs(1),
        };
        Self {
            app,
            clock,
            worker,
            queues,
            panel,
            aws_calls,
            routes: router::routes(),
            events: None,
            config,
            sqs: aws_sdk_sqs::Client::new(&direct),
        }
    }

    /// A stack with the lifecycle events' path (see `Events`).
    pub async fn with_events() -> Self {
        Self::new().await.and_events().await
    }

    /// This stack with the lifecycle events' path (see `Events`): its resources made directly
    /// at the emulator, its functions' clients as the stack's.
    pub async fn and_events(mut self) -> Self {
        let endpoint = emulator::ensure_running();
        let direct = emulator::sdk_config(endpoint).await;
        let config = self.config.clone();
        let stack = &mut self;
        let table = stack.app.store.table().to_owned();
        let queues = tests::events::create_event_resources(
            &direct,
            &table,
            &format!("{table}-events-tap"),
            MAX_RECEIVES,
        )
        .await
        .expect("the event resources");
        let events =
            stack.aws_calls.eventbridge_for(&aws_sdk_eventbridge::Client::new(&config), "events-publisher");
        let publisher = events_publisher::Publisher::new(events.clone(), &queues.bus);
        let ses = stack.aws_calls.ses_for(&aws_sdk_sesv2::Client::new(&config), "notifier");
        let notifier = notifier::Notifier::new(
            stack.aws_calls.app_for(&stack.app, "notifier"),
            ses.clone(),
            tests::events::SENDER,
        );
        let stream = tokio::sync::Mutex::new(
            tests::events::StreamReader::open(&direct, &table)
                .await
                .expect("the stream")
                .reporting_to(aws_sdk_sqs::Client::new(&direct), &queues.publisher_failures),
        );
        let sqs = aws_sdk_sqs::Client::new(&direct);
        stack.events = Some(Events {
            queues,
            publisher,
            notifier,
            stream,
            eventbridge: events,
            ses,
            sqs,
            endpoint: endpoint.to_owned(),
        });
        self
    }

    pub fn events(&self) -> &Events {
        self.events.as_ref().expect("a stack made with_events")
    }

    /// Delivers the table's stream to the publisher until nothing is left; answers how many
    /// records were delivered.
    pub async fn publish_events(&self) -> usize {
        let events = self.events();
        let mut stream = events.stream.lock().await;
        let mut delivered = 0;
        loop {
            let deliver = |event| async {
                let event = lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default());
                events
                    .publisher
                    .handle(event)
                    .await
                    .map_err(|e| -> tests::bridge::BridgeError { e.to_string().into() })
            };
            match stream.pump(deliver).await.expect("the stream") {
                0 => return delivered,
                n => delivered += n,
            }
        }
    }

    /// Runs `replay-events` once with `request` (`{from, to}` or `{failure}`), publishing to
    /// the stack's bus; answers what it answered.
    pub async fn replay_events(&self, request: Value) -> Result<Value, String> {
        let events = self.events();
        let app = self.aws_calls.app_for(&self.app, "replay-events");
        let bus =
            self.aws_calls.eventbridge_for(&aws_sdk_eventbridge::Client::new(&self.config), "replay-events");
        let publisher = events_publisher::Publisher::new(bus, &events.queues.bus);
        let event = lambda_runtime::LambdaEvent::new(request, lambda_runtime::Context::default());
        let answer = replay_events::handle(&app, &publisher, event).await.map_err(|e| e.to_string())?;
        Ok(serde_json::to_value(answer).expect("an answer"))
    }

    /// Runs the notifier over its queue until it is empty (at most `rounds` batches).
    pub async fn deliver_notifications(&self, rounds: usize) -> usize {
        let events = self.events();
        let mut delivered = 0;
        for _ in 0..rounds {
            let deliver = |event| async {
                let event = lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default());
                events
                    .notifier
                    .handle(event)
                    .await
                    .map_err(|e| -> tests::bridge::BridgeError { e.to_string().into() })
            };
            match bridge::pump(&events.sqs, &events.queues.notifications, deliver)
                .await
                .expect("notifications")
            {
                0 => break,
                n => delivered += n,
            }
        }
        delivered
    }

    /// The history inserts waiting on the table's stream, as one event for the publisher (the
    /// stream moves on past them).
    pub async fn stream_batch(&self) -> Option<aws_lambda_events::event::dynamodb::Event> {
        let mut stream = self.events().stream.lock().await;
        let taken = std::sync::Mutex::new(None);
        stream
            .pump(|event| {
                taken.lock().unwrap().get_or_insert(event);
                async { Ok(Default::default()) }
            })
            .await
            .expect("the stream");
        taken.into_inner().unwrap()
    }

    /// Up to ten messages of the notifications queue, taken off it, as one event for the
    /// notifier.
    pub async fn notification_batch(&self) -> Option<aws_lambda_events::event::sqs::SqsEvent> {
        let events = self.events();
        queue_batch(&events.sqs, &events.queues.notifications).await
    }

    /// Up to ten messages of the operations queue, taken off it, as one event for the worker.
    pub async fn operations_batch(&self) -> Option<aws_lambda_events::event::sqs::SqsEvent> {
        queue_batch(&self.sqs, &self.queues.operations).await
    }

    /// The environment a function's binary needs to run against this stack, as the template
    /// sets it (the emulator's endpoint and credentials in AWS's place).
    pub fn function_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("TABLE_NAME", self.app.store.table().to_owned()),
            ("OPERATIONS_QUEUE_URL", self.queues.operations.clone()),
            ("AWS_ENDPOINT_URL", emulator::ensure_running().to_owned()),
            ("AWS_REGION", emulator::REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("OPERATIONS_RETRY_BASE_SECONDS", "0".to_owned()),
        ];
        if let Some(events) = &self.events {
            env.push(("EVENT_BUS_NAME", events.queues.bus.clone()));
            env.push(("NOTIFICATIONS_FROM", tests::events::SENDER.to_owned()));
        }
        env
    }

    /// The whole path once: the stream to the bus, the notifications queue to e-mail.
    pub async fn tell(&self) {
        self.publish_events().await;
        self.deliver_notifications(10).await;
    }

    /// The events that reached the `events-tap` queue since the last call (EventBridge's
    /// envelopes).
    pub async fn tapped(&self) -> Vec<Value> {
        let events = self.events();
        tests::events::drain_messages(&events.sqs, &events.queues.tap).await.expect("the tap")
    }

    /// The e-mails the emulator's SES was asked to send to `to`: `(subject, body)`, oldest first.
    pub async fn mail_to(&self, to: &str) -> Vec<(String, String)> {
        let sent = tests::events::sent_mail(&self.events().endpoint, to).await.expect("the emulator's SES");
        sent.into_iter().filter(|(subject, _)| !subject.starts_with(tests::events::CONFIRMATION)).collect()
    }

    /// The address confirmations SES was asked to send to `to`, oldest first.
    pub async fn confirmations_to(&self, to: &str) -> Vec<(String, String)> {
        let sent =
            tests::events::sent_mail(emulator::ensure_running(), to).await.expect("the emulator's SES");
        sent.into_iter().filter(|(subject, _)| subject.starts_with(tests::events::CONFIRMATION)).collect()
    }

    /// `client` sets its notification address to `email` and confirms it with the token the
    /// confirmation e-mail brought (what a client does from its mail box).
    pub async fn confirm_address(&self, client: &str, email: &str, muted: Value) {
        let token = self.client(client);
        let body = json!({"email": email, "muted": muted});
        let set = self.put("/account/notifications", &token, body).await.ok(200).clone();
        if set["email"] == email {
            return;
        }
        let endpoint = emulator::ensure_running();
        let code =
            tests::events::confirmation_token(endpoint, email).await.expect("SES").expect("a confirmation");
        let confirmed = self.post("/account/notifications/confirm", &token, json!({"token": code})).await;
        assert_eq!(confirmed.ok(200)["email"], email);
    }

    /// A stack whose clock starts on 1 November 2026, so that its first month has 30 days.
    pub async fn on_november_first() -> Self {
        let stack = Self::new().await;
        stack.clock.set(shared::domain::Timestamp::parse("2026-11-01T00:00:00Z").unwrap());
        stack
    }

    /// A signed token for `sub` with `role`, valid for an hour from the stack's clock.
    pub fn token(&self, role: &str, sub: &str) -> String {
        let now = self.clock.now().unix_seconds();
        sign_hs256(&json!({"sub": sub, "role": role, "iat": now, "exp": now + 3600}), SECRET)
    }

    pub fn client(&self, sub: &str) -> String {
        self.token("client", sub)
    }

    pub fn provider(&self) -> String {
        self.token("provider", "ops")
    }

    /// Sends a call through the route table to the routed function's handler.
    pub async fn send(&self, call: Call) -> Reply {
        self.send_with(&self.app, call).await
    }

    pub async fn send_with(&self, app: &App, call: Call) -> Reply {
        let path = call.path.split('?').next().unwrap_or_default().to_owned();
        let (function, params) = match router::resolve(&self.routes, call.method.as_str(), &path) {
            Resolved::Function { function, params } => (function, params),
            other => panic!("{} {path} is not routed: {other:?}", call.method),
        };
        let request = call.request().with_path_parameters(params);
        let app = self.aws_calls.app_for(app, &function);
        let response = router::invoke(&function, &app, request).await.expect("a handler for every function");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let json =
            headers.get("content-type").is_some_and(|t| t.to_str().unwrap_or_default().contains("json"));
        let body = match response.body() {
            // A web page (the console's) is its text.
            Body::Text(text) if !json && !text.is_empty() => Value::String(text.clone()),
            Body::Text(text) => serde_json::from_str(text).expect("JSON body"),
            Body::Empty => Value::Null,
            Body::Binary(bytes) => serde_json::from_slice(bytes).expect("JSON body"),
            _ => Value::Null,
        };
        Reply { status, headers, body }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(Call::new("GET", path).token(token)).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(Call::new("POST", path).token(token).json(&body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(Call::new("PUT", path).token(token).json(&body)).await
    }

    /// Runs the worker over the operations queue until it is empty (at most `rounds` batches);
    /// answers how many messages were delivered. The queue is read and emptied as Lambda's
    /// event source mapping does.
    pub async fn drain_queue(&self, rounds: usize) -> usize {
        bridge::drain(&self.sqs, &self.queues.operations, &self.worker, rounds).await.expect("drain")
    }

    /// How many messages wait in the dead-letter queue.
    pub async fn dead_letters(&self) -> usize {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.queues.dead_letter)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .expect("queue attributes");
        attributes
            .attributes
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages).cloned()
            })
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// Sends a control order to this test's panel (`capacity`, `fail`).
    pub async fn panel_control(&self, what: &str, body: Value) {
        let url = format!("{}/control/{what}", self.panel);
        let response = tests::http_client().post(&url).json(&body).send().await.expect("panel");
        assert!(response.status().is_success(), "panel control {what}");
    }

    /// The operation calls this test's panel received, in order.
    pub async fn panel_calls(&self) -> Vec<Value> {
        let url = format!("{}/control/calls", self.panel);
        let body: Value =
            tests::http_client().get(&url).send().await.expect("panel").json().await.expect("calls");
        body["calls"].as_array().cloned().unwrap_or_default()
    }

    /// Orders a VPS on the seeded `vps-start` tariff as `token`; answers the new service.
    pub async fn order_vps(&self, token: &str) -> Value {
        let order =
            json!({"tariff_id": "vps-start", "period_months": 1, "params": {"os_template": "debian-12"}});
        self.post("/services", token, order).await.ok(201).clone()
    }
}

/// Up to ten messages of `queue`, taken off it, as one SQS event.
async fn queue_batch(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
) -> Option<aws_lambda_events::event::sqs::SqsEvent> {
    let taken = std::sync::Mutex::new(None);
    bridge::pump(sqs, queue, |event| {
        taken.lock().unwrap().replace(event);
        async { Ok(Default::default()) }
    })
    .await
    .expect("the queue");
    taken.into_inner().unwrap()
}

/// The ids of a list answer's items.
/// The vps rules of the seeded catalog with `client_delete` and the panel as given.
pub fn vps_rules_on(panel: Option<String>, client_delete: &str) -> Value {
    let mut rules = json!({"client_delete": client_delete, "client_can_suspend": true, "abuse_limit": 100,
                           "auto_delete_after_days": 14, "renew_lead_days": 3});
    if let Some(panel) = panel {
        rules["panel_url"] = json!(panel);
    }
    rules
}

/// A call on `service`'s IP addresses (`rest`: "" or "/{address}") by `token`, under `key`.
pub fn address_call(method: &str, service: &str, rest: &str, token: &str, key: &str) -> Call {
    Call::new(method, &format!("/services/{service}/ip-addresses{rest}"))
        .token(token)
        .header("idempotency-key", key)
}

pub fn ids(list: &Value) -> Vec<String> {
    list["items"].as_array().expect("items").iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

/// The id of one answered item.
pub fn id_of(item: &Value) -> String {
    item["id"].as_str().expect("an id").to_owned()
}

impl Stack {
    /// The provider records a payment of `amount` for `client` (a fresh external id).
    pub async fn fund(&self, client: &str, amount: u64) -> Value {
        let external_id = ulid::Ulid::generate().to_string();
        let body = json!({"amount": amount, "external_id": external_id, "new_client": true});
        self.post(&format!("/clients/{client}/payments"), &self.provider(), body).await.ok(201).clone()
    }

    /// A VPS of `client`, ordered, paid and activated through the queue and the panel.
    pub async fn active_vps(&self, client: &str) -> Value {
        let token = self.client(client);
        let service = self.order_vps(&token).await;
        self.activate_order(client, &service).await
    }

    /// A service of `client` on one of the seeded tariffs (see `order_on`), paid and activated.
    pub async fn active_on(&self, client: &str, tariff_id: &str) -> Value {
        let service = self.order_on(&self.client(client), tariff_id).await;
        self.activate_order(client, &service).await
    }

    /// Orders a service on one of the seeded tariffs, with its shortest period and made-up
    /// parameters; answers the new service (in the cart).
    pub async fn order_on(&self, token: &str, tariff_id: &str) -> Value {
        let (period, params) = match tariff_id {
            "vps-start" | "vps-pro" | "dedicated-e3" => (1, json!({"os_template": "debian-12"})),
            "hosting-basic" => (1, json!({"domain": "example.net"})),
            "domain-com" => {
                (12, json!({"domain": format!("d{}.com", ulid::Ulid::generate().to_string().to_lowercase())}))
            }
            "ssl-dv" => (12, json!({"csr": SAMPLE_CSR, "validation": "http-01"})),
            "vdc-small" => (1, json!({})),
            other => panic!("no seeded tariff {other}"),
        };
        let order = json!({"tariff_id": tariff_id, "period_months": period, "params": params});
        self.post("/services", token, order).await.ok(201).clone()
    }

    /// Pays an ordered service and runs its activation; answers it active.
    pub async fn activate_order(&self, client: &str, service: &Value) -> Value {
        self.fund(client, service["order_price"].as_u64().unwrap()).await;
        self.drain_queue(10).await;
        let active =
            self.get(&format!("/services/{}", id_of(service)), &self.client(client)).await.ok(200).clone();
        assert_eq!(active["status"], "active", "{active}");
        active
    }

    /// The service as its owner or the provider sees it now.
    pub async fn service(&self, id: &str) -> Value {
        self.get(&format!("/services/{id}"), &self.provider()).await.ok(200).clone()
    }

    /// The client's balance, with the ledger checked to add up to it.
    pub async fn balance(&self, client: &str) -> u64 {
        let account =
            self.get(&format!("/clients/{client}/account?limit=100"), &self.provider()).await.ok(200).clone();
        let entries = account["entries"].as_array().unwrap();
        let sum: i64 = entries.iter().map(|e| e["amount"].as_i64().unwrap()).sum();
        let balance = account["balance"].as_u64().unwrap();
        assert_eq!(sum, balance as i64, "the ledger does not add up to the balance: {account}");
        balance
    }

    /// The operations of a service's history, oldest first, with their statuses.
    pub async fn history(&self, id: &str) -> Vec<(String, String, String)> {
        let page =
            self.get(&format!("/services/{id}/history?limit=100"), &self.provider()).await.ok(200).clone();
        let mut entries: Vec<(String, String, String)> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
                (text(&e["operation"]), text(&e["status_before"]), text(&e["status_after"]))
            })
            .collect();
        entries.reverse();
        entries
    }
}

impl Stack {
    /// Runs a scheduled job once, as EventBridge Scheduler would; answers its summary.
    pub async fn run_job(&self, job: &str) -> Value {
        let event =
            serde_json::from_str(include_str!("../../events/scheduled.json")).expect("scheduled event");
        let event = lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default());
        let app = self.aws_calls.app_for(&self.app, job);
        let summary = match job {
            "auto-renewal" => auto_renewal::handle(&app, event).await,
            "expiry-sweep" => expiry_sweep::handle(&app, event).await,
            "reconcile" => reconcile::handle(&app, event).await,
            "carry-on-imports" => carry_on_imports::handle(&app, event).await,
            "carry-on-bulk-operations" => carry_on_bulk_operations::handle(&app, event).await,
            "abuse-sweep" => abuse_sweep::handle(&app, event).await,
            "operations-sweep" => operations_sweep::handle(&app, event).await,
            "reminders" => reminders::handle(&app, event).await,
            "record-paid-time" => record_paid_time::handle(&app, event).await,
            other => panic!("no job {other}"),
        };
        summary.expect("the job ran")
    }

    /// The ledger entries of a client, oldest first, as `(kind, amount)`.
    pub async fn ledger(&self, client: &str) -> Vec<(String, i64)> {
        let account =
            self.get(&format!("/clients/{client}/account?limit=100"), &self.provider()).await.ok(200).clone();
        let mut entries: Vec<(String, i64)> = account["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["kind"].as_str().unwrap().to_owned(), e["amount"].as_i64().unwrap()))
            .collect();
        entries.reverse();
        entries
    }
}

impl Drop for Stack {
    /// Fails the test (unless it failed already) when a function called an action its policies
    /// do not allow.
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let ungranted = Policies::of_template().ungranted(&self.aws_calls.made());
        assert!(
            ungranted.is_empty(),
            "calls that infra/template.yaml does not allow the function making them (deployed, AWS refuses them):\n{}",
            listing(&ungranted)
        );
    }
}
