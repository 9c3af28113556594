//! The fault proxy: an HTTP proxy on loopback between the functions' AWS clients and the
//! emulator that does to a chosen share of calls, by operation, what AWS does to a busy system:
//! throttles them, fails them with a 500, breaks the connection before the call arrives, carries
//! the call out and loses its answer, or answers only after the SDK has stopped waiting. It is
//! started by the test that uses it and stopped when dropped.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::body::Incoming;
use hyper::{Request, Response};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// What the proxy does to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// Answers 400 `ThrottlingException` (or DynamoDB's `ProvisionedThroughputExceededException`,
    /// every other time), without forwarding.
    Throttle,
    /// Answers 500 `InternalServerError`, without forwarding.
    ServerError,
    /// Closes the connection before forwarding.
    Reset,
    /// Forwards the call, then closes the connection instead of answering: the call happened
    /// and its caller never hears of it.
    LoseAnswer,
    /// Holds the call past the SDK's timeouts (`DELAY`), then forwards it: it happens after its
    /// caller gave up on it, and after its retry.
    Delay,
    /// Answers 400 `MessageRejected`, as SES does to a message it will never send (not among
    /// `ALL`: a permanent refusal, for the tests that ask for it).
    Reject,
}

impl Fault {
    pub const ALL: [Fault; 5] =
        [Fault::Throttle, Fault::ServerError, Fault::Reset, Fault::LoseAnswer, Fault::Delay];

    pub fn name(self) -> &'static str {
        match self {
            Fault::Throttle => "throttled",
            Fault::ServerError => "500",
            Fault::Reset => "reset",
            Fault::LoseAnswer => "answer lost",
            Fault::Delay => "delayed",
            Fault::Reject => "rejected",
        }
    }
}

/// The timeouts and retries of the functions under the proxy: the deployed ones, with longer
/// attempts (the single-threaded emulator, busy with the other tests at once, can take
/// seconds to answer a call that nothing is wrong with).
pub const RESILIENCE: shared::aws::Resilience = shared::aws::Resilience {
    connect: Duration::from_secs(5),
    attempt: Duration::from_secs(5),
    operation: Duration::from_secs(15),
    ..shared::aws::Resilience::DEPLOYED
};

/// The timeouts and retries of the functions under the proxy: `RESILIENCE`, or the deployed
/// ones when `FAULTS_DEPLOYED_TIMEOUTS=1` (a long fault run with the emulator to itself, where
/// a delayed call should cost what it costs in AWS: one attempt of 2 s, not 5).
pub fn resilience() -> shared::aws::Resilience {
    match std::env::var("FAULTS_DEPLOYED_TIMEOUTS").as_deref() {
        Ok("1") => shared::aws::Resilience::DEPLOYED,
        _ => RESILIENCE,
    }
}

/// How long a delayed call is held: past `RESILIENCE.operation`, so that only the per-attempt
/// timeout (and its retry) gets the call through.
pub const DELAY: Duration = Duration::from_secs(16);

/// Which calls a rule faults.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The operation (`TransactWriteItems`, `SendMessageBatch`, `PutEvents`, `SendEmail`...);
    /// every operation when `None`.
    pub operation: Option<String>,
    /// The share of its calls faulted, from 0 to 1.
    pub share: f64,
    /// The faults, drawn in turn.
    pub faults: Vec<Fault>,
    /// How many more calls it faults; no limit when `None`.
    pub remaining: Option<u32>,
}

impl Rule {
    /// The next `times` calls of `operation` get `fault`.
    pub fn next(operation: &str, fault: Fault, times: u32) -> Self {
        Self { operation: Some(operation.into()), share: 1.0, faults: vec![fault], remaining: Some(times) }
    }

    /// Every call of `operation` gets `fault`, until the rules change.
    pub fn always(operation: &str, fault: Fault) -> Self {
        Self { operation: Some(operation.into()), share: 1.0, faults: vec![fault], remaining: None }
    }

    /// `share` of all calls get one of `faults`, drawn at random.
    pub fn share(share: f64, faults: &[Fault]) -> Self {
        Self { operation: None, share, faults: faults.to_vec(), remaining: None }
    }
}

/// SplitMix64: random draws repeatable from a seed.
#[derive(Debug, Default, Clone)]
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn draw(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<Rule>,
    random: SplitMix,
    calls: u64,
    /// Faults done, by kind and operation.
    done: BTreeMap<(Fault, String), u64>,
}

impl State {
    fn next_random(&mut self) -> u64 {
        self.random.draw()
    }

    fn choose(&mut self, operation: &str) -> Option<Fault> {
        self.calls += 1;
        let at = self.rules.iter().position(|rule| {
            rule.operation.as_deref().is_none_or(|o| o == operation) && rule.remaining != Some(0)
        })?;
        let draw = (self.next_random() >> 11) as f64 / (1u64 << 53) as f64;
        let pick = self.next_random();
        let rule = &mut self.rules[at];
        if draw >= rule.share || rule.faults.is_empty() {
            return None;
        }
        if let Some(remaining) = rule.remaining.as_mut() {
            *remaining -= 1;
        }
        let fault = rule.faults[(pick % rule.faults.len() as u64) as usize];
        *self.done.entry((fault, operation.to_owned())).or_default() += 1;
        Some(fault)
    }
}

/// The proxy; stopped when dropped.
pub struct FaultProxy {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    server: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// A proxy to `upstream` (the emulator), on a free loopback port, with no rules yet;
    /// `seed` makes its random draws repeatable.
    pub async fn start(upstream: &str, seed: u64) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let endpoint = format!("http://{}", listener.local_addr().expect("its address"));
        let state = Arc::new(Mutex::new(State { random: SplitMix(seed), ..State::default() }));
        let forward = Forward {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: {
                shared::crypto::install();
                reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("a client")
            },
            state: state.clone(),
        };
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let forward = forward.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let forward = forward.clone();
                        async move { forward.handle(req).await }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    // A connection the proxy breaks on purpose ends in an error here.
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                });
            }
        });
        Self { endpoint, state, server }
    }

    /// Replaces the rules (an empty list turns the faults off).
    pub fn set_rules(&self, rules: Vec<Rule>) {
        self.state().rules = rules;
    }

    /// The calls seen so far.
    pub fn calls(&self) -> u64 {
        self.state().calls
    }

    /// The faults done so far, by kind.
    pub fn faults(&self) -> BTreeMap<Fault, u64> {
        let mut by_kind = BTreeMap::new();
        for ((fault, _), n) in &self.state().done {
            *by_kind.entry(*fault).or_default() += n;
        }
        by_kind
    }

    /// The faults done so far, by kind and operation.
    pub fn faults_by_operation(&self) -> BTreeMap<(Fault, String), u64> {
        self.state().done.clone()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[derive(Clone)]
struct Forward {
    upstream: String,
    client: reqwest::Client,
    state: Arc<Mutex<State>>,
}

type Answer = Result<Response<Full<Bytes>>, std::io::Error>;

impl Forward {
    async fn handle(&self, req: Request<Incoming>) -> Answer {
        let (parts, body) = req.into_parts();
        let body = body.collect().await.map_err(std::io::Error::other)?.to_bytes();
        let operation = operation(&parts);
        let fault = self.state.lock().unwrap_or_else(PoisonError::into_inner).choose(&operation);
        match fault {
            None => self.forward(&parts, body).await,
            Some(Fault::Throttle) => {
                let dynamodb =
                    parts.headers.get("x-amz-target").is_some_and(|t| t.as_bytes().starts_with(b"DynamoDB"));
                let code = if dynamodb && body.len() % 2 == 0 {
                    "ProvisionedThroughputExceededException"
                } else {
                    "ThrottlingException"
                };
                Ok(error(400, code, "Rate exceeded"))
            }
            Some(Fault::ServerError) => Ok(error(500, "InternalServerError", "Internal server error")),
            Some(Fault::Reject) => Ok(error(400, "MessageRejected", "Email address is not verified")),
            Some(Fault::Reset) => Err(std::io::Error::other("reset before forwarding")),
            Some(Fault::LoseAnswer) => {
                self.forward(&parts, body).await?;
                Err(std::io::Error::other("answer lost"))
            }
            Some(Fault::Delay) => {
                // On its own task: the call still arrives once its caller has hung up.
                let forward = self.clone();
                let late = tokio::spawn(async move {
                    tokio::time::sleep(DELAY).await;
                    forward.forward(&parts, body).await
                });
                late.await.map_err(std::io::Error::other)?
            }
        }
    }

    async fn forward(&self, parts: &hyper::http::request::Parts, body: Bytes) -> Answer {
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut request = self.client.request(parts.method.clone(), format!("{}{path}", self.upstream));
        for (name, value) in &parts.headers {
            if name != hyper::header::HOST && name != hyper::header::CONTENT_LENGTH {
                request = request.header(name, value);
            }
        }
        let answer = request.body(body).send().await.map_err(std::io::Error::other)?;
        let mut response = Response::builder().status(answer.status());
        for (name, value) in answer.headers() {
            if name != hyper::header::TRANSFER_ENCODING && name != hyper::header::CONTENT_LENGTH {
                response = response.header(name, value);
            }
        }
        let bytes = answer.bytes().await.map_err(std::io::Error::other)?;
        response.body(Full::new(bytes)).map_err(std::io::Error::other)
    }
}

/// The AWS operation a call is: the JSON protocols name it in `X-Amz-Target`
/// (`DynamoDB_20120810.TransactWriteItems`), SES v2 by its path.
fn operation(parts: &hyper::http::request::Parts) -> String {
    if let Some(target) = parts.headers.get("x-amz-target").and_then(|t| t.to_str().ok()) {
        return target.rsplit('.').next().unwrap_or(target).to_owned();
    }
    match parts.uri.path() {
        "/v2/email/outbound-emails" => "SendEmail".to_owned(),
        other => format!("{} {other}", parts.method),
    }
}

/// An AWS JSON error answer, as DynamoDB, SQS and EventBridge give them (and SES reads by the
/// header).
fn error(status: u16, code: &str, message: &str) -> Response<Full<Bytes>> {
    let body =
        serde_json::json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{code}"), "message": message});
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-errortype", code)
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("an error answer")
}

/// A crash of a function run in-process, as `shared::aws::CrashPoint` crashes a process: every
/// AWS call after the first `after` fails before it is sent, and the invocation's result is to
/// be thrown away (`crashed`), so nothing after the crash point reaches AWS.
#[derive(Debug, Clone)]
pub struct InProcessCrash {
    after: u64,
    calls: Arc<std::sync::atomic::AtomicU64>,
}

impl InProcessCrash {
    pub fn after(calls: u64) -> Self {
        Self { after: calls, calls: Default::default() }
    }

    /// Whether the function reached the crash point (tried a call past it).
    pub fn crashed(&self) -> bool {
        self.calls.load(std::sync::atomic::Ordering::SeqCst) > self.after
    }

    /// `app` with this crash in its DynamoDB and SQS clients.
    pub fn app(&self, app: &shared::App) -> shared::App {
        let dynamodb = app.store.client().config().to_builder().interceptor(self.clone()).build();
        let store = app.store.with_client(aws_sdk_dynamodb::Client::from_conf(dynamodb));
        let queue = app.queue.as_ref().map(|queue| {
            let sqs = queue.client().config().to_builder().interceptor(self.clone()).build();
            shared::queue::Queue::new(aws_sdk_sqs::Client::from_conf(sqs), queue.url())
        });
        shared::App { store, queue, ..app.clone() }
    }

    pub fn eventbridge(&self, client: &aws_sdk_eventbridge::Client) -> aws_sdk_eventbridge::Client {
        aws_sdk_eventbridge::Client::from_conf(client.config().to_builder().interceptor(self.clone()).build())
    }

    pub fn ses(&self, client: &aws_sdk_sesv2::Client) -> aws_sdk_sesv2::Client {
        aws_sdk_sesv2::Client::from_conf(client.config().to_builder().interceptor(self.clone()).build())
    }
}

impl aws_sdk_dynamodb::config::Intercept for InProcessCrash {
    fn name(&self) -> &'static str {
        "InProcessCrash"
    }

    fn read_before_transmit(
        &self,
        _: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        if self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= self.after {
            return Err("crashed".into());
        }
        Ok(())
    }
}
