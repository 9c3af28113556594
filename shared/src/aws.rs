//! How every function talks to AWS, in one place: the SDK's timeouts and retries, the clients
//! built from them, what counts as AWS being unavailable, and the test-only crash point.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// The SDK's timeouts and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resilience {
    /// To open a connection.
    pub connect: Duration,
    /// For one attempt, from sending to the whole answer read.
    pub attempt: Duration,
    /// For a call with all its attempts and the backoff between them.
    pub operation: Duration,
    /// Attempts per call (the first and its retries), in the SDK's standard retry mode: it
    /// retries throttling, 5xx answers, timeouts and broken connections, backing off
    /// exponentially with jitter.
    pub attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Resilience {
    /// What the functions use in AWS. DynamoDB, SQS, EventBridge and SES answer in tens of
    /// milliseconds: an attempt that takes two seconds is lost, and is tried again. A call gives
    /// up after 6 s, so a route's function (10 s) can still answer 503 after one call that AWS
    /// would not take (see `infra/template.yaml`'s timeouts and `routes.rs`'s test of them).
    pub const DEPLOYED: Resilience = Resilience {
        connect: Duration::from_secs(1),
        attempt: Duration::from_secs(2),
        operation: Duration::from_secs(6),
        attempts: 3,
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_secs(1),
    };

    /// Against the local emulator: it serves one request at a time to every caller (all the
    /// functions of `make dev`, every test running at once), so a call may wait its turn for
    /// seconds without anything being wrong.
    pub const EMULATOR: Resilience = Resilience {
        connect: Duration::from_secs(10),
        attempt: Duration::from_secs(60),
        operation: Duration::from_secs(180),
        ..Resilience::DEPLOYED
    };

    /// `config` with these timeouts and retries.
    pub fn apply(&self, config: aws_config::SdkConfig) -> aws_config::SdkConfig {
        let retry = aws_config::retry::RetryConfig::standard()
            .with_max_attempts(self.attempts)
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(self.max_backoff);
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build();
        config.to_builder().retry_config(retry).timeout_config(timeouts).build()
    }
}

/// The SDK settings a function has in its environment: `AWS_REGION`, the credentials Lambda puts
/// there from the function's role (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`), and `AWS_ENDPOINT_URL` for the local emulator, with the deployed
/// timeouts and retries (the emulator's, against the emulator). aws-config's default chain would also look in profile files, SSO, STS,
/// ECS and IMDS, which a function never needs: without them the binary is smaller and starts
/// sooner.
pub fn sdk_config_from_env() -> aws_config::SdkConfig {
    let credentials = aws_config::environment::EnvironmentVariableCredentialsProvider::new();
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .http_client(crate::crypto::https_client())
        .region(std::env::var("AWS_REGION").ok().map(aws_config::Region::new))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(credentials));
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if !url.is_empty() => Resilience::EMULATOR.apply(config.endpoint_url(url).build()),
        _ => Resilience::DEPLOYED.apply(config.build()),
    }
}

/// The clients a function makes, each with the crash point (the events publisher's EventBridge
/// client and the notifier's SES client add it themselves).
pub fn dynamodb(config: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::from(config).interceptor(CrashPoint).build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

pub fn sqs(config: &aws_config::SdkConfig) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::config::Builder::from(config).interceptor(CrashPoint).build();
    aws_sdk_sqs::Client::from_conf(config)
}

/// What `CRASH_AT_AWS_CALL` names: the process exits as soon as the answer to its Nth AWS call
/// (counted over every client, retries included) has arrived, before the function reads it, as
/// when Lambda kills a function in the middle of its work: the call's effect is in AWS, nothing
/// after it happened. For tests only; unset, nothing is counted.
pub const CRASH_VARIABLE: &str = "CRASH_AT_AWS_CALL";

/// The exit status of a crash at the crash point.
pub const CRASH_EXIT_CODE: i32 = 86;

/// The interceptor that crashes the process at the call `CRASH_AT_AWS_CALL` names.
#[derive(Debug, Clone, Copy)]
pub struct CrashPoint;

impl CrashPoint {
    fn crash_at() -> Option<u64> {
        static AT: OnceLock<Option<u64>> = OnceLock::new();
        *AT.get_or_init(|| std::env::var(CRASH_VARIABLE).ok().and_then(|n| n.parse().ok()))
    }
}

impl Intercept for CrashPoint {
    fn name(&self) -> &'static str {
        "CrashPoint"
    }

    fn read_before_deserialization(
        &self,
        _: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        static CALLS: AtomicU64 = AtomicU64::new(0);
        if let Some(at) = Self::crash_at() {
            if CALLS.fetch_add(1, Ordering::SeqCst) + 1 == at {
                eprintln!("{CRASH_VARIABLE}={at}: exiting at AWS call {at}");
                std::process::exit(CRASH_EXIT_CODE);
            }
        }
        Ok(())
    }
}

/// The error codes with which AWS says it cannot take a call now, though it may later: it is
/// too busy, or (DynamoDB) another transaction holds an item of this one.
const TRY_AGAIN_CODES: [&str; 8] = [
    "ThrottlingException",
    "Throttling",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ThrottlingError",
    "TransactionConflictException",
    "TransactionInProgressException",
];

/// The reasons a cancelled transaction gives for an item that may go through later.
const TRY_AGAIN_REASONS: [&str; 3] =
    ["ThrottlingError", "TransactionConflict", "ProvisionedThroughputExceeded"];

/// Whether a failed call is AWS being unavailable for now (throttling its caller, answering 5xx,
/// not answering in time, or the connection broken) rather than refusing the call: the SDK's
/// retries did not get it through, and a later try may. A transaction cancelled because one of
/// its items was throttled or held by another transaction counts too (a condition that failed
/// is the caller's: `store::is_condition_failure` is asked first).
pub fn is_unavailable<E>(err: &aws_sdk_dynamodb::error::SdkError<E, HttpResponse>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    use aws_sdk_dynamodb::error::SdkError;
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            let held_item = code == "TransactionCanceledException"
                && service.err().message().is_some_and(|m| TRY_AGAIN_REASONS.iter().any(|r| m.contains(r)));
            service.raw().status().is_server_error() || TRY_AGAIN_CODES.contains(&code) || held_item
        }
        _ => false,
    }
}
