//! What every function builds once at start and hands to its handler.

use crate::auth::Auth;
use crate::domain::{Clock, Principal, SystemClock};
use crate::error::ApiError;
use crate::store::Store;
use lambda_http::Request;
use std::sync::Arc;

#[derive(Clone)]
pub struct App {
    pub store: Store,
    pub auth: Auth,
    pub clock: Arc<dyn Clock>,
}

impl App {
    pub fn new(store: Store, auth: Auth, clock: Arc<dyn Clock>) -> Self {
        Self { store, auth, clock }
    }

    /// Reads `TABLE_NAME` and `DEV_JWT_SECRET`; the SDK reads region, credentials and
    /// `AWS_ENDPOINT_URL` (the local emulator) from the environment as usual.
    pub async fn from_env() -> Self {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let table = std::env::var("TABLE_NAME").expect("TABLE_NAME is set");
        let store = Store::new(aws_sdk_dynamodb::Client::new(&config), table);
        Self::new(store, Auth::from_env(), Arc::new(SystemClock))
    }

    pub fn principal(&self, req: &Request) -> Result<Principal, ApiError> {
        self.auth.principal(req, self.clock.now().unix_seconds())
    }
}
