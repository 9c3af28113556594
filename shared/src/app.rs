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
    /// How ACME product types reach their certificate authority (`crate::acme`).
    pub acme: crate::acme::AcmeClient,
    /// Whether a route answers 503 before its invocation's deadline (`budget::in_time`): in AWS.
    /// A local runner (`cargo lambda watch`) times nothing out, and its deadlines start before
    /// it has even built the function.
    pub watch_deadlines: bool,
    pub settings: StackSettings,
    /// The sender of the e-mails a route sends itself; absent in functions that send none.
    pub mail: Option<crate::mail::Mail>,
}

/// The stack's own settings (its template's parameters, as environment variables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSettings {
    /// The most services one client's cart holds (`CART_LIMIT`).
    pub cart_limit: usize,
    /// The most tickets one client opens in a UTC day (`TICKETS_PER_DAY`).
    pub tickets_per_day: u32,
    /// How clients see the provider's staff (`PROVIDER_DISPLAY_NAME`).
    pub provider_name: String,
    /// The most e-mails one client is sent in an hour (`EMAILS_PER_HOUR`); the rest are held.
    pub emails_per_hour: u32,
    /// How many different providers approve a bulk operation (`BULK_APPROVALS`: 1 or 2).
    pub bulk_approvals: u8,
    /// The most operations of one bulk operation under way at once on one control panel
    /// (`BULK_PANEL_CONCURRENCY`, at most `domain::bulk::MAX_CONCURRENCY`).
    pub bulk_panel_concurrency: u16,
    /// How many days ahead a renewal price change takes effect at the soonest
    /// (`PRICE_NOTICE_DAYS`).
    pub price_notice_days: u32,
}

impl Default for StackSettings {
    fn default() -> Self {
        Self {
            cart_limit: 50,
            tickets_per_day: 20,
            provider_name: "Support".into(),
            emails_per_hour: 20,
            bulk_approvals: 1,
            bulk_panel_concurrency: 5,
            price_notice_days: 30,
        }
    }
}

impl StackSettings {
    /// From the environment, each setting unset (or unreadable) at its default.
    pub fn from_env() -> Self {
        let defaults = Self::default();
        let number = |name: &str| {
            std::env::var(name).ok().and_then(|v| v.trim().parse::<u32>().ok()).filter(|n| *n > 0)
        };
        let name = std::env::var("PROVIDER_DISPLAY_NAME").ok().map(|n| n.trim().to_owned());
        Self {
            cart_limit: number("CART_LIMIT").map_or(defaults.cart_limit, |n| n as usize),
            tickets_per_day: number("TICKETS_PER_DAY").unwrap_or(defaults.tickets_per_day),
            provider_name: name.filter(|n| !n.is_empty()).unwrap_or(defaults.provider_name),
            emails_per_hour: number("EMAILS_PER_HOUR").unwrap_or(defaults.emails_per_hour),
            bulk_approvals: number("BULK_APPROVALS").map_or(defaults.bulk_approvals, |n| n.min(2) as u8),
            bulk_panel_concurrency: number("BULK_PANEL_CONCURRENCY")
                .map_or(defaults.bulk_panel_concurrency, |n| {
                    n.min(u32::from(crate::domain::bulk::MAX_CONCURRENCY)) as u16
                }),
            price_notice_days: number("PRICE_NOTICE_DAYS").unwrap_or(defaults.price_notice_days),
        }
    }
}

impl App {
    pub fn new(store: Store, auth: Auth, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            auth,
            clock,
            queue: None,
            panel: HttpPanel::default(),
            acme: crate::acme::AcmeClient::default(),
            watch_deadlines: true,
            settings: StackSettings::default(),
            mail: None,
        }
    }

    pub fn with_mail(self, mail: crate::mail::Mail) -> Self {
        Self { mail: Some(mail), ..self }
    }

    /// The sender, which a function that sends e-mail must have.
    pub fn mail(&self) -> Result<&crate::mail::Mail, ApiError> {
        self.mail.as_ref().ok_or_else(|| ApiError::Internal("NOTIFICATIONS_FROM is not set".into()))
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
        let app = Self {
            acme: crate::acme::AcmeClient::from_env(),
            watch_deadlines: !local,
            settings: StackSettings::from_env(),
            ..Self::new(store, Auth::from_env(), Arc::new(SystemClock))
        };
        let app = match std::env::var("NOTIFICATIONS_FROM") {
            Ok(from) if !from.is_empty() => {
                let console = std::env::var("CONSOLE_URL").ok().filter(|url| !url.is_empty());
                app.with_mail(crate::mail::Mail::new(aws_sdk_sesv2::Client::new(&config), from, console))
            }
            _ => app,
        };
        match std::env::var("OPERATIONS_QUEUE_URL") {
            Ok(url) if !url.is_empty() => app.with_queue(Queue::new(crate::aws::sqs(&config), url)),
            _ => app,
        }
    }

    pub fn principal(&self, req: &Request) -> Result<Principal, ApiError> {
        self.auth.principal(req, self.clock.now().unix_seconds())
    }
}
