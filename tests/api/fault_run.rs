//! The fault run: a seeded random run of requests from several clients and the provider, each
//! retried by its client under its `Idempotency-Key` after a 5xx or a lost answer, with the
//! worker, the scheduled jobs, the events publisher and the notifier running between them; a
//! tenth of the AWS calls faulted by the fault proxy, a tenth of the panel's calls failing, and
//! crashes. Then, from what is stored, the judge: money, operations, history, events,
//! notifications and answers. The same seed is run again with no faults and no crashes: where
//! every request was answered alike, the final state must be the same.
//!
//! `FAULT_RUN_REQUESTS` (default 60) and `FAULT_RUN_SEED` set the run; docs/faults.md gives
//! the figures of a run with 5,000 requests.

use crate::helpers::{Call, Reply, Stack};
use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::{json, Value};
use shared::domain::Clock;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use tests::faults::{Fault, FaultProxy, InProcessCrash, Rule};

const CLIENTS: [&str; 4] = ["ann", "bob", "cyd", "dee"];
const FAULT_SHARE: f64 = 0.10;
/// A tenth of the panel's operation calls fail (every tenth, for as long as the run lasts).
const PANEL_FAILURE_EVERY: u32 = 10;
/// One background invocation in this many is crashed, after a random number of its AWS calls.
const CRASH_ONE_IN: u64 = 5;
/// How often a client tries a request before giving it up.
const TRIES: usize = 8;

/// The run's choices, repeatable from its seed (the proxy's generator).
struct Random(tests::faults::SplitMix);

impl Random {
    fn next(&mut self) -> u64 {
        self.0.draw()
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len() as u64) as usize])
    }
}

/// One request of the run, as its client last saw it answered.
#[derive(Debug, Clone)]
struct Answered {
    method: &'static str,
    /// The path as `openapi.yaml` names it (`/services/{id}/renew`).
    template: &'static str,
    status: u16,
    /// The status class the judge compares between runs: accepted, refused (4xx), given up.
    accepted: bool,
    /// For an accepted write on a service: the service and the history operation it starts.
    effect: Option<(String, &'static str, String)>,
    /// For an accepted payment: its client and amount.
    payment: Option<(String, u64)>,
    tries: usize,
}

/// What a run did, and what it came to.
struct Outcome {
    answers: Vec<Answered>,
    /// Each client's services, in the order they were ordered.
    services: BTreeMap<String, Vec<String>>,
    faults: BTreeMap<Fault, u64>,
    aws_calls: u64,
    crashes: u64,
    /// See `Run::requeued`.
    requeued: u64,
    violations: Vec<String>,
    /// The final state, with ids replaced by their order: compared between runs.
    state: Value,
}

struct Run<'a> {
    stack: &'a Stack,
    /// The requests' choices: the same with faults and without.
    random: Random,
    /// The faults' and crashes' own choices, so that the requests are the same in both runs.
    mishaps: Random,
    faulty: bool,
    seed: u64,
    answers: Vec<Answered>,
    services: BTreeMap<String, Vec<String>>,
    crashes: u64,
    /// Operations whose message was lost (a crash between a commit and its send) and that
    /// `operations-sweep` queued again, an hour or more of the run's clock later.
    requeued: u64,
    /// Every event that reached `events-tap`, by history entry id.
    tapped: BTreeSet<String>,
}

impl<'a> Run<'a> {
    /// A crash for one background invocation, one time in `CRASH_SHARE` (a faulty run only).
    fn crash(&mut self) -> Option<InProcessCrash> {
        (self.faulty && self.mishaps.below(CRASH_ONE_IN) == 0)
            .then(|| InProcessCrash::after(self.mishaps.below(8)))
    }

    fn token(&self, who: &str) -> String {
        if who == "ops" {
            self.stack.provider()
        } else {
            self.stack.client(who)
        }
    }

    /// Sends `call` under its key until it is answered with something other than a 5xx (and,
    /// one time in twenty, as if its answer was lost on the way back).
    async fn send(
        &mut self,
        i: usize,
        method: &'static str,
        template: &'static str,
        call: impl Fn() -> Call,
    ) -> (Answered, Value) {
        let key = format!("run-{}-{i}", self.seed);
        let mut tries = 0;
        let reply: Reply = loop {
            tries += 1;
            let reply = self.stack.send(call().header("idempotency-key", &key)).await;
            let lost = self.faulty && self.mishaps.below(20) == 0;
            if tries < TRIES && (reply.status >= 500 || lost) {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                continue;
            }
            break reply;
        };
        // A replay whose first answer was never stored: accepted, its answer lost.
        let lost_answer = reply.status == 409
            && reply.body["detail"].as_str().is_some_and(|d| d.contains("answer was lost"));
        let answered = Answered {
            method,
            template,
            status: reply.status,
            accepted: reply.status < 300 || lost_answer,
            effect: None,
            payment: None,
            tries,
        };
        (answered, reply.body)
    }

    /// The service of `client` that the run does not know of yet.
    async fn new_service_of(&self, client: &str, token: &str) -> Option<String> {
        let known = self.services.get(client).cloned().unwrap_or_default();
        let listed = read(self.stack, "/services?limit=100", token).await;
        let mut ids = listed["items"].as_array()?.iter().filter_map(|s| s["id"].as_str().map(str::to_owned));
        ids.find(|id| !known.contains(id))
    }

    /// One random request.
    async fn request(&mut self, i: usize) {
        let client = CLIENTS[self.random.below(CLIENTS.len() as u64) as usize].to_owned();
        let token = self.token(&client);
        let provider = self.stack.provider();
        let owned = self.services.get(&client).cloned().unwrap_or_default();
        let service = self.random.pick(&owned).cloned();
        let roll = self.random.below(100);
        let answered = match (roll, service) {
            (0..=11, _) | (_, None) => {
                let tariff = if self.random.below(3) == 0 { "vps-pro" } else { "vps-start" };
                let period = [1, 3][self.random.below(2) as usize];
                let body = json!({"tariff_id": tariff, "period_months": period, "params": {"os_template": "debian-12"}});
                let (mut answered, answer) = self
                    .send(i, "post", "/services", || Call::new("POST", "/services").token(&token).json(&body))
                    .await;
                if answered.accepted {
                    // Its answer lost for good (409): the new service is the one not known yet.
                    let id = match answer["id"].as_str() {
                        Some(id) => Some(id.to_owned()),
                        None => self.new_service_of(&client, &token).await,
                    };
                    if let Some(id) = id {
                        self.services.entry(client.clone()).or_default().push(id.clone());
                        answered.effect = Some((id, "order", client.clone()));
                    }
                }
                answered
            }
            (12..=23, _) => {
                let amount = 200 + 100 * self.random.below(30);
                let body = json!({"amount": amount, "external_id": format!("run-{}-{i}", self.seed), "new_client": true});
                let path = format!("/clients/{client}/payments");
                let (mut answered, _) = self
                    .send(i, "post", "/clients/{client_id}/payments", || {
                        Call::new("POST", &path).token(&provider).json(&body)
                    })
                    .await;
                if answered.accepted {
                    answered.payment = Some((client.clone(), amount));
                }
                answered
            }
            (24..=33, _) | (92.., _) => {
                let body = json!({});
                self.send(i, "post", "/cart/checkout", || {
                    Call::new("POST", "/cart/checkout").token(&token).json(&body)
                })
                .await
                .0
            }
            (34..=47, Some(id)) => {
                let body = json!({"periods": 1 + self.random.below(2)});
                let path = format!("/services/{id}/renew");
                let answered = self
                    .send(i, "post", "/services/{id}/renew", || {
                        Call::new("POST", &path).token(&token).json(&body)
                    })
                    .await;
                answered.0.on(&id, "renewal", &client)
            }
            (48..=55, Some(id)) => {
                let tariff = if self.random.below(2) == 0 { "vps-pro" } else { "vps-start" };
                let body = json!({"tariff_id": tariff});
                let path = format!("/services/{id}/change-tariff");
                let answered = self
                    .send(i, "post", "/services/{id}/change-tariff", || {
                        Call::new("POST", &path).token(&token).json(&body)
                    })
                    .await;
                answered.0.on(&id, "tariff_change", &client)
            }
            (56..=61, Some(id)) => {
                let body = json!({"options": [{"id": "ipv4", "quantity": self.random.below(3)}]});
                let path = format!("/services/{id}/options");
                let answered = self
                    .send(i, "put", "/services/{id}/options", || {
                        Call::new("PUT", &path).token(&token).json(&body)
                    })
                    .await;
                answered.0.on(&id, "options_change", &client)
            }
            (62..=73, Some(id)) => {
                // Suspended or resumed, by the client or by the provider.
                let (who, by) = if self.random.below(2) == 0 {
                    (&token, client.clone())
                } else {
                    (&provider, "ops".into())
                };
                let (op, operation) =
                    if self.random.below(2) == 0 { ("disable", "suspension") } else { ("enable", "resume") };
                let path = format!("/services/{id}/{op}");
                let template =
                    if op == "disable" { "/services/{id}/disable" } else { "/services/{id}/enable" };
                let answered = self
                    .send(i, "post", template, || Call::new("POST", &path).token(who).json(&json!({})))
                    .await;
                answered.0.on(&id, operation, &by)
            }
            (74..=81, Some(id)) => {
                let enabled = self.random.below(2) == 0;
                let body = json!({"auto_renew": {"enabled": enabled, "period_months": 1}});
                let path = format!("/services/{id}");
                let answered = self
                    .send(i, "patch", "/services/{id}", || {
                        Call::new("PATCH", &path).token(&token).json(&body)
                    })
                    .await;
                answered.0.on(&id, "edit", &client)
            }
            (82..=86, Some(id)) => {
                let (who, by) = if self.random.below(3) == 0 {
                    (&provider, "ops".to_owned())
                } else {
                    (&token, client.clone())
                };
                let path = format!("/services/{id}");
                let answered =
                    self.send(i, "delete", "/services/{id}", || Call::new("DELETE", &path).token(who)).await;
                answered.0.on(&id, "deletion", &by)
            }
            (_, Some(_)) => {
                let muted = if self.random.below(2) == 0 { json!([]) } else { json!(["renewal_upcoming"]) };
                let body = json!({"email": address(self.stack, &client), "muted": muted});
                self.send(i, "put", "/account/notifications", || {
                    Call::new("PUT", "/account/notifications").token(&token).json(&body)
                })
                .await
                .0
            }
        };
        self.answers.push(answered);
    }

    /// The functions that run between requests: the worker over the operations queue, the
    /// publisher over the stream, the notifier over its queue; each invocation perhaps crashed.
    async fn background(&mut self) {
        for round in [Round::Operations, Round::Publish, Round::Notify] {
            for _ in 0..20 {
                let crash = self.crash();
                let delivered = round.run(self.stack, crash.as_ref()).await;
                self.crashes += u64::from(crash.is_some_and(|c| c.crashed()));
                if delivered == 0 {
                    break;
                }
            }
        }
        for event in self.stack.tapped().await {
            if let Some(id) = event["detail"]["id"].as_str() {
                self.tapped.insert(id.to_owned());
            }
        }
    }

    /// Time passes (an hour to twelve days) and every scheduled job runs; a job that crashed or
    /// failed runs again, as its next scheduled invocation would an hour later.
    async fn time_passes(&mut self) {
        let hours = 1 + self.random.below(12 * 24);
        self.stack.clock.set(self.stack.clock.now().plus_seconds(hours as i64 * 3600));
        for job in ["auto-renewal", "expiry-sweep", "abuse-sweep", "operations-sweep", "reminders"] {
            let crash = self.crash();
            let mut summary = run_job(self.stack, job, crash.as_ref()).await;
            let crashed = crash.is_some_and(|c| c.crashed());
            self.crashes += u64::from(crashed);
            if crashed || summary.is_none() {
                summary = run_job(self.stack, job, None).await;
            }
            if job == "operations-sweep" {
                self.requeued += requeued(summary.as_ref());
            }
        }
    }
}

impl Answered {
    /// An accepted write on `service` starts `operation` in its history, by `actor`.
    fn on(mut self, service: &str, operation: &'static str, actor: &str) -> Self {
        if self.accepted {
            self.effect = Some((service.to_owned(), operation, actor.to_owned()));
        }
        self
    }
}

fn address(stack: &Stack, client: &str) -> String {
    format!("{client}@{}.test", stack.app.store.table())
}

/// One delivery of a background function's event source.
#[derive(Clone, Copy)]
enum Round {
    /// The worker over the operations queue.
    Operations,
    /// The publisher over the table's stream.
    Publish,
    /// The notifier over its queue.
    Notify,
}

impl Round {
    /// Runs one delivery, perhaps crashed; answers how many records it delivered.
    async fn run(self, stack: &Stack, crash: Option<&InProcessCrash>) -> usize {
        match self {
            Round::Operations => operations_round(stack, crash).await,
            Round::Publish => publish_round(stack, crash).await,
            Round::Notify => notify_round(stack, crash).await,
        }
    }
}

/// Throws a crashed invocation's result away: what it received comes again, as after Lambda's
/// timeout and the queue's visibility timeout.
async fn visible_again(sqs: &aws_sdk_sqs::Client, queue: &str, event: &SqsEvent) {
    for record in &event.records {
        let handle = record.receipt_handle.clone().unwrap_or_default();
        let _ = sqs
            .change_message_visibility()
            .queue_url(queue)
            .receipt_handle(handle)
            .visibility_timeout(0)
            .send()
            .await;
    }
}

async fn operations_round(stack: &Stack, crash: Option<&InProcessCrash>) -> usize {
    let worker = operations_worker::Worker {
        app: crash.map_or_else(|| stack.worker.app.clone(), |c| c.app(&stack.worker.app)),
        max_receives: stack.worker.max_receives,
        retry_base_seconds: 0,
        write_reserve: stack.worker.write_reserve,
    };
    let (queue, worker) = (&stack.queues.operations, &worker);
    let deliver = |event: SqsEvent| async move {
        let context = lambda_runtime::LambdaEvent::new(event.clone(), lambda_runtime::Context::default());
        let response = worker.handle(context).await;
        if crash.is_some_and(|c| c.crashed()) {
            visible_again(&stack.sqs, queue, &event).await;
            return Err("crashed".into());
        }
        response.map_err(|e| -> tests::bridge::BridgeError { e.to_string().into() })
    };
    tests::bridge::pump(&stack.sqs, queue, deliver).await.unwrap_or(1)
}

async fn publish_round(stack: &Stack, crash: Option<&InProcessCrash>) -> usize {
    let events = stack.events();
    let publisher = match crash {
        Some(crash) => {
            events_publisher::Publisher::new(crash.eventbridge(&events.eventbridge), &events.queues.bus)
        }
        None => events_publisher::Publisher::new(events.eventbridge.clone(), &events.queues.bus),
    };
    let mut stream = events.stream.lock().await;
    let deliver = |event| async {
        let response = publisher
            .handle(lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default()))
            .await;
        if crash.is_some_and(|c| c.crashed()) {
            return Err("crashed".into());
        }
        response.map_err(|e| -> tests::bridge::BridgeError { e.to_string().into() })
    };
    stream.pump(deliver).await.unwrap_or(1)
}

async fn notify_round(stack: &Stack, crash: Option<&InProcessCrash>) -> usize {
    let events = stack.events();
    let app = stack.aws_calls.app_for(&stack.app, "notifier");
    let notifier = match crash {
        Some(crash) => {
            notifier::Notifier::new(crash.app(&app), crash.ses(&events.ses), tests::events::SENDER)
        }
        None => notifier::Notifier::new(app, events.ses.clone(), tests::events::SENDER),
    }
    .with_claim_seconds(0);
    let (queue, notifier) = (&events.queues.notifications, &notifier);
    let deliver = |event: SqsEvent| async move {
        let response = notifier
            .handle(lambda_runtime::LambdaEvent::new(event.clone(), lambda_runtime::Context::default()))
            .await;
        if crash.is_some_and(|c| c.crashed()) {
            visible_again(&events.sqs, queue, &event).await;
            return Err("crashed".into());
        }
        // What it asked to have again comes back (its visibility timeout, which the claims'
        // time is within, passes at once here).
        let response = response.map_err(|e| -> tests::bridge::BridgeError { e.to_string().into() })?;
        let failed: Vec<&str> =
            response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        let mut again = event.clone();
        again.records.retain(|r| failed.contains(&r.message_id.as_deref().unwrap_or_default()));
        visible_again(&events.sqs, queue, &again).await;
        Ok(response)
    };
    tests::bridge::pump(&events.sqs, queue, deliver).await.unwrap_or(1)
}

/// Runs a scheduled job once; answers whether it ran to its end.
/// The job's summary, or `None` when it failed.
async fn run_job(stack: &Stack, job: &str, crash: Option<&InProcessCrash>) -> Option<Value> {
    let event = serde_json::from_str(include_str!("../../events/scheduled.json")).expect("scheduled event");
    let event = lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default());
    let app = stack.aws_calls.app_for(&stack.app, job);
    let app = crash.map_or(app.clone(), |c| c.app(&app));
    let summary = match job {
        "auto-renewal" => Box::pin(auto_renewal::handle(&app, event)).await,
        "expiry-sweep" => Box::pin(expiry_sweep::handle(&app, event)).await,
        "abuse-sweep" => Box::pin(abuse_sweep::handle(&app, event)).await,
        "operations-sweep" => Box::pin(operations_sweep::handle(&app, event)).await,
        _ => Box::pin(reminders::handle(&app, event)).await,
    };
    summary.ok()
}

/// How many operations an `operations-sweep` run queued again.
fn requeued(summary: Option<&Value>) -> u64 {
    summary.and_then(|s| s["acted"].as_u64()).unwrap_or(0)
}

/// Runs `requests` requests from `seed`, faulted or not, then settles and judges.
async fn run(seed: u64, requests: usize, faulty: bool) -> Outcome {
    let proxy = FaultProxy::start(tests::emulator::ensure_running(), seed).await;
    let stack = Stack::behind(&proxy).await.and_events().await;
    // Both runs start at the same time, so that their dates compare.
    stack.clock.set(shared::domain::Timestamp::parse("2026-11-01T00:00:00Z").unwrap());
    stack.panel_control("capacity", json!({"vps": 100_000})).await;
    for client in CLIENTS {
        let body = json!({"email": address(&stack, client), "muted": []});
        // Set by the provider, which vouches for them (a client's own would wait for its
        // confirmation; the run changes only the muted kinds of a set address).
        let path = format!("/clients/{client}/notifications");
        let set = || Call::new("PUT", &path).token(&stack.provider()).json(&body);
        patiently(&stack, set).await.ok(200);
    }
    let mut run = Run {
        stack: &stack,
        random: Random(tests::faults::SplitMix(seed)),
        mishaps: Random(tests::faults::SplitMix(!seed)),
        faulty,
        seed,
        answers: Vec::new(),
        services: BTreeMap::new(),
        crashes: 0,
        requeued: 0,
        tapped: BTreeSet::new(),
    };
    if faulty {
        proxy.set_rules(vec![Rule::share(FAULT_SHARE, &Fault::ALL)]);
        let every = PANEL_FAILURE_EVERY;
        stack.panel_control("fail", json!({"product_type": "vps", "count": -1, "every": every})).await;
    }
    for i in 0..requests {
        if i > 0 && i % 500 == 0 {
            eprintln!("fault run (faulty: {faulty}): {i} requests");
        }
        run.request(i).await;
        run.background().await;
        if run.random.below(15) == 0 {
            run.time_passes().await;
            run.background().await;
        }
    }
    // The faults stop; the jobs run past their thresholds until nothing is pending.
    let (faults, aws_calls) = (proxy.faults(), proxy.calls());
    proxy.set_rules(vec![]);
    stack.panel_control("fail", json!({"product_type": "vps", "count": 0})).await;
    // Calls held by the proxy arrive late, then are done with.
    tokio::time::sleep(tests::faults::DELAY).await;
    run.faulty = false;
    for _ in 0..10 {
        stack.clock.set(stack.clock.now().plus_seconds(2 * 3600));
        run.requeued += requeued(run_job(&stack, "operations-sweep", None).await.as_ref());
        run.background().await;
        if !any_pending(&stack).await {
            break;
        }
    }
    let violations = judge(&stack, &run).await;
    let state = final_state(&stack, &run.services).await;
    Outcome {
        answers: run.answers,
        services: run.services,
        faults,
        aws_calls,
        crashes: run.crashes,
        requeued: run.requeued,
        violations,
        state,
    }
}

/// Sends `call` until it is answered with something other than a 5xx, as a client would: the
/// judge's reads go through the stack's own clients, with the deployed timeouts.
async fn patiently(stack: &Stack, call: impl Fn() -> Call) -> Reply {
    let mut reply = stack.send(call()).await;
    for _ in 0..10 {
        if reply.status < 500 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        reply = stack.send(call()).await;
    }
    reply
}

/// A client's account and every entry of its ledger, all pages (`None`: it has no account).
async fn account_of(stack: &Stack, client: &str) -> Option<(Value, Vec<Value>)> {
    let path = format!("/clients/{client}/account?limit=100");
    let account = patiently(stack, || Call::new("GET", &path).token(&stack.provider())).await;
    if account.status == 404 {
        return None;
    }
    let account = account.ok(200).clone();
    let mut entries = account["entries"].as_array().cloned().unwrap_or_default();
    let mut cursor = account["cursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let page = read(stack, &format!("{path}&cursor={c}"), &stack.provider()).await;
        entries.extend(page["entries"].as_array().cloned().unwrap_or_default());
        cursor = page["cursor"].as_str().map(str::to_owned);
    }
    Some((account, entries))
}

/// A read that must succeed.
async fn read(stack: &Stack, path: &str, token: &str) -> Value {
    patiently(stack, || Call::new("GET", path).token(token)).await.ok(200).clone()
}

async fn all_services(stack: &Stack) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/services?limit=100&cursor={c}"),
            None => "/services?limit=100".to_owned(),
        };
        let page = read(stack, &path, &stack.provider()).await;
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
}

async fn any_pending(stack: &Stack) -> bool {
    all_services(stack)
        .await
        .iter()
        .any(|s| s["status"] == "in_progress" || s["flags"]["operations_running"] == true)
}

/// Every history entry of a service, oldest first.
async fn history(stack: &Stack, id: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/services/{id}/history?limit=100&cursor={c}"),
            None => format!("/services/{id}/history?limit=100"),
        };
        let page = read(stack, &path, &stack.provider()).await;
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    items.reverse();
    items
}

/// What is stored, held against what the run did; answers the violations.
async fn judge(stack: &Stack, run: &Run<'_>) -> Vec<String> {
    let mut violations = Vec::new();
    let documented = documented_statuses();
    for (i, answer) in run.answers.iter().enumerate() {
        if !documented.contains(&(
            answer.method.to_owned(),
            answer.template.to_owned(),
            answer.status.to_string(),
        )) {
            violations.push(format!(
                "request {i}: {} {} answered {}, which is not documented",
                answer.method, answer.template, answer.status
            ));
        }
        if answer.status >= 500 {
            violations.push(format!("request {i}: still {} after {} tries", answer.status, answer.tries));
        }
    }
    // Money: each ledger adds up to its balance; each accepted payment is credited once.
    for client in CLIENTS {
        let Some((account, entries)) = account_of(stack, client).await else { continue };
        let sum: i64 = entries.iter().map(|e| e["amount"].as_i64().unwrap_or(0)).sum();
        if sum != account["balance"].as_i64().unwrap_or(-1) {
            violations.push(format!(
                "{client}: the ledger adds up to {sum}, the balance is {}",
                account["balance"]
            ));
        }
        let mut credited: Vec<i64> = entries
            .iter()
            .filter(|e| e["kind"] == "payment")
            .map(|e| e["amount"].as_i64().unwrap_or(0))
            .collect();
        let mut paid: Vec<i64> = run
            .answers
            .iter()
            .filter_map(|a| a.payment.as_ref())
            .filter(|(c, _)| c == client)
            .map(|(_, n)| *n as i64)
            .collect();
        credited.sort_unstable();
        paid.sort_unstable();
        if credited != paid {
            violations.push(format!("{client}: payments {paid:?} accepted, {credited:?} credited"));
        }
    }
    // Operations: none pending; every one started was finished or given up, once.
    let mut expected: HashMap<(String, String, String), usize> = HashMap::new();
    for (service, operation, actor) in run.answers.iter().filter_map(|a| a.effect.clone()) {
        *expected.entry((service, operation.to_owned(), actor)).or_default() += 1;
    }
    let mut found: HashMap<(String, String, String), usize> = HashMap::new();
    let mut entries_seen = 0;
    for service in all_services(stack).await {
        let id = service["id"].as_str().unwrap_or_default().to_owned();
        if service["status"] == "in_progress" {
            violations.push(format!("{id}: left in progress"));
        }
        let entries = history(stack, &id).await;
        entries_seen += entries.len();
        let mut running = false;
        for entry in &entries {
            let (before, after) = (&entry["status_before"], &entry["status_after"]);
            if before == "in_progress" && !running {
                violations.push(format!("{id}: an operation finished that was not running: {entry}"));
            }
            if after == "in_progress" && running && before != "in_progress" {
                violations.push(format!("{id}: an operation started while another ran: {entry}"));
            }
            running = after == "in_progress";
            // A start, or a change done at once (a finish names its result, or the error it was
            // given up for).
            let finish = !entry["details"]["result"].is_null() || !entry["details"]["error"].is_null();
            if before != "in_progress" && !finish {
                let actor = entry["actor"]["id"].as_str().unwrap_or_default().to_owned();
                let operation = entry["operation"].as_str().unwrap_or_default().to_owned();
                *found.entry((id.clone(), operation, actor)).or_default() += 1;
            }
            let entry_id = entry["id"].as_str().unwrap_or_default();
            if !run.tapped.contains(entry_id) {
                violations.push(format!("{id}: history entry {entry_id} was never published"));
            }
        }
        if running {
            violations.push(format!("{id}: its last operation never finished"));
        }
    }
    for (key, n) in &expected {
        let stored = found.get(key).copied().unwrap_or(0);
        if stored != *n {
            violations.push(format!("{key:?}: {n} accepted, {stored} in the history"));
        }
    }
    for (key, n) in &found {
        let requested = [
            "order",
            "renewal",
            "tariff_change",
            "options_change",
            "suspension",
            "resume",
            "edit",
            "deletion",
        ];
        let by_a_request = CLIENTS.contains(&key.2.as_str()) || key.2 == "ops";
        if by_a_request && requested.contains(&key.1.as_str()) && !expected.contains_key(key) {
            violations.push(format!("{key:?}: {n} in the history, none accepted"));
        }
    }
    // Notifications: no client told twice.
    for client in CLIENTS {
        let items = notifications(stack, client).await;
        let sent = items.iter().filter(|n| n["status"] == "sent").count();
        let unconfirmed =
            items.iter().filter(|n| n["error"] == shared::domain::notification::UNCONFIRMED).count();
        let mail = stack.mail_to(&address(stack, client)).await.len();
        if mail < sent || mail > sent + unconfirmed {
            let statuses: Vec<String> =
                items.iter().map(|n| format!("{} {} {}", n["kind"], n["status"], n["error"])).collect();
            violations.push(format!(
                "{client}: {mail} e-mails for {sent} sent and {unconfirmed} unconfirmed: {statuses:?}"
            ));
        }
    }
    if entries_seen == 0 {
        violations.push("no history at all".into());
    }
    violations
}

/// A client's whole notification log.
async fn notifications(stack: &Stack, client: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/notifications?limit=100&cursor={c}"),
            None => "/notifications?limit=100".to_owned(),
        };
        let page = read(stack, &path, &stack.client(client)).await;
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
}

/// (method, path template, status) of every documented answer in openapi.yaml.
fn documented_statuses() -> BTreeSet<(String, String, String)> {
    let spec: serde_yaml::Value =
        serde_yaml::from_str(include_str!("../../openapi.yaml")).expect("openapi.yaml");
    let mut documented = BTreeSet::new();
    for (path, methods) in spec["paths"].as_mapping().expect("paths") {
        for (method, operation) in methods.as_mapping().into_iter().flatten() {
            for (status, _) in operation["responses"].as_mapping().into_iter().flatten() {
                let text = |v: &serde_yaml::Value| {
                    v.as_str().map(str::to_owned).unwrap_or_else(|| format!("{}", v.as_u64().unwrap_or(0)))
                };
                documented.insert((text(method), text(path), text(status)));
            }
        }
    }
    documented
}

/// The final state with ids replaced by each service's order: every client's balance and
/// ledger, every service's status, tariff, expiry and history operations.
async fn final_state(stack: &Stack, services: &BTreeMap<String, Vec<String>>) -> Value {
    let mut state = serde_json::Map::new();
    for client in CLIENTS {
        let entries = account_of(stack, client).await.map(|(_, entries)| entries).unwrap_or_default();
        let ledger: Vec<Value> = entries.iter().map(|e| json!([e["kind"], e["amount"]])).collect();
        let mut owned = Vec::new();
        for id in services.get(client).into_iter().flatten() {
            let service = read(stack, &format!("/services/{id}"), &stack.provider()).await;
            let operations: Vec<Value> = history(stack, id)
                .await
                .iter()
                .map(|e| json!([e["operation"], e["status_before"], e["status_after"]]))
                .collect();
            owned.push(json!({
                "status": service["status"], "tariff_id": service["tariff_id"],
                "expires_at": service["expires_at"], "history": operations,
            }));
        }
        state.insert(client.to_owned(), json!({"ledger": ledger, "services": owned}));
    }
    Value::Object(state)
}

#[tokio::test]
async fn a_seeded_run_under_faults_loses_nothing_and_does_nothing_twice() {
    let requests: usize = std::env::var("FAULT_RUN_REQUESTS").ok().and_then(|n| n.parse().ok()).unwrap_or(60);
    let seed: u64 = std::env::var("FAULT_RUN_SEED").ok().and_then(|n| n.parse().ok()).unwrap_or(20261126);
    // The two runs have their own tables, panels, clocks and proxies: they run side by side,
    // and the clean run's work fills the faulted run's waits (a delayed call's timeout).
    // Boxed: two runs' futures side by side overflow a test thread's stack.
    let (faulted, clean) =
        tokio::join!(Box::pin(run(seed, requests, true)), Box::pin(run(seed, requests, false)));
    // Which answers a fault changed, for a reader to check each is a fault's own effect.
    let differing: Vec<String> = faulted
        .answers
        .iter()
        .zip(&clean.answers)
        .enumerate()
        .filter(|(_, (a, b))| (a.accepted, a.status / 100) != (b.accepted, b.status / 100))
        .map(|(i, (a, b))| format!("#{i} {} {}: {} (clean {})", a.method, a.template, a.status, b.status))
        .collect();
    let retried = faulted.answers.iter().filter(|a| a.tries > 1).count();
    let faults: Vec<String> = faulted.faults.iter().map(|(kind, n)| format!("{} {n}", kind.name())).collect();
    let mut violations = faulted.violations.clone();
    violations.extend(clean.violations.iter().map(|v| format!("without faults: {v}")));
    // The final states compare where the faults changed no answer and delayed no operation
    // past a step of the clock: a message lost between a commit and its send is queued again
    // by `operations-sweep` an hour or more later, and the dates it sets move with it.
    let comparable = differing.is_empty() && faulted.requeued == clean.requeued;
    if comparable && faulted.state != clean.state {
        violations.push(format!(
            "the same answers, another final state:\n faulted {}\n clean   {}",
            faulted.state, clean.state
        ));
    }
    println!(
        "fault run (seed {seed}): {} requests ({retried} retried by their clients), {} AWS calls, faults: {}; {} crashes; {} operations queued again by the sweep; {} services; {} answered otherwise than without faults; final states {}; violations: {}",
        faulted.answers.len(),
        faulted.aws_calls,
        faults.join(", "),
        faulted.crashes,
        faulted.requeued,
        faulted.services.values().map(Vec::len).sum::<usize>(),
        differing.len(),
        if comparable { "compared" } else { "not compared" },
        violations.len()
    );
    if !differing.is_empty() {
        println!("answered otherwise: {}", differing.join("; "));
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    assert!(faulted.faults.len() == Fault::ALL.len(), "every kind of fault happened: {faults:?}");
    assert!(faulted.crashes > 0, "crashes happened");
}
