//! What every function builds once at start and hands to its handler.

use crate::auth::Auth;
use crate::domain::{Clock, Principal, SystemClock};
use crate::error::ApiError;
use crate::panel::HttpPanel;
use crate::queue::Queue;
use crate::store::Store;
use lambda_http::Request;
use std::sync::Arc;

#[derive(Clone)]
pub struct App {
    pub store: Store,
    pub auth: Auth,
    pub clock: Arc<dyn Clock>,
    /// The operations queue; absent in functions that queue nothing.
    pub queue: Option<Queue>,
    pub panel: HttpPanel,
}

impl App {
    pub fn new(store: Store, auth: Auth, clock: Arc<dyn Clock>) -> Self {
        Self { store, auth, clock, queue: None, panel: HttpPanel::default() }
    }

    pub fn with_queue(self, queue: Queue) -> Self {
        Self { queue: Some(queue), ..self }
    }

    /// The operations queue, which a function that starts long work must have.
    pub fn queue(&self) -> Result<&Queue, ApiError> {
        self.queue.as_ref().ok_or_else(|| ApiError::Internal("OPERATIONS_QUEUE_URL is not set".into()))
    }

    /// Reads `TABLE_NAME`, `DEV_JWT_SECRET` and `OPERATIONS_QUEUE_URL`, and the SDK's settings
    /// (`sdk_config_from_env`).
    pub async fn from_env() -> Self {
        let config = sdk_config_from_env();
        let table = std::env::var("TABLE_NAME").expect("TABLE_NAME is set");
        let store = Store::new(aws_sdk_dynamodb::Client::new(&config), table);
        let app = Self::new(store, Auth::from_env(), Arc::new(SystemClock));
        match std::env::var("OPERATIONS_QUEUE_URL") {
            Ok(url) if !url.is_empty() => app.with_queue(Queue::new(aws_sdk_sqs::Client::new(&config), url)),
            _ => app,
        }
    }

    pub fn principal(&self, req: &Request) -> Result<Principal, ApiError> {
        self.auth.principal(req, self.clock.now().unix_seconds())
    }
}

/// The SDK settings a function has in its environment: `AWS_REGION`, the credentials Lambda puts
/// there from the function's role (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`), and `AWS_ENDPOINT_URL` for the local emulator. aws-config's default
/// chain would also look in profile files, SSO, STS, ECS and IMDS, which a function never
/// needs: without them the binary is smaller and starts sooner.
pub fn sdk_config_from_env() -> aws_config::SdkConfig {
    let credentials = aws_config::environment::EnvironmentVariableCredentialsProvider::new();
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(std::env::var("AWS_REGION").ok().map(aws_config::Region::new))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(credentials));
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if !url.is_empty() => config.endpoint_url(url).build(),
        _ => config.build(),
    }
}
