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
    /// Whether a route answers 503 before its invocation's deadline (`http::in_time`): in AWS.
    /// A local runner (`cargo lambda watch`) times nothing out, and its deadlines start before
    /// it has even built the function.
    pub watch_deadlines: bool,
}

impl App {
    pub fn new(store: Store, auth: Auth, clock: Arc<dyn Clock>) -> Self {
        Self { store, auth, clock, queue: None, panel: HttpPanel::default(), watch_deadlines: true }
    }

    pub fn with_queue(self, queue: Queue) -> Self {
        Self { queue: Some(queue), ..self }
    }

    /// The operations queue, which a function that starts long work must have.
    pub fn queue(&self) -> Result<&Queue, ApiError> {
        self.queue.as_ref().ok_or_else(|| ApiError::Internal("OPERATIONS_QUEUE_URL is not set".into()))
    }

    /// Reads `TABLE_NAME`, `DEV_JWT_SECRET` and `OPERATIONS_QUEUE_URL`, and the SDK's settings
    /// (`aws::sdk_config_from_env`).
    pub async fn from_env() -> Self {
        let config = crate::aws::sdk_config_from_env();
        let table = std::env::var("TABLE_NAME").expect("TABLE_NAME is set");
        let store = Store::new(crate::aws::dynamodb(&config), table);
        let local = std::env::var("AWS_ENDPOINT_URL").is_ok_and(|url| !url.is_empty());
        let app =
            Self { watch_deadlines: !local, ..Self::new(store, Auth::from_env(), Arc::new(SystemClock)) };
        match std::env::var("OPERATIONS_QUEUE_URL") {
            Ok(url) if !url.is_empty() => app.with_queue(Queue::new(crate::aws::sqs(&config), url)),
            _ => app,
        }
    }

    pub fn principal(&self, req: &Request) -> Result<Principal, ApiError> {
        self.auth.principal(req, self.clock.now().unix_seconds())
    }
}
