//! The processing module: how an operation reaches the remote control panel of its product
//! type. One implementation, `HttpPanel`, speaks this JSON-over-HTTP contract:
//!
//! `POST {panel_url}/operations` with a `PanelRequest`; the panel answers
//! - `200 {"operation_id", "result": "done"}`: carried out (or carried out before: the panel
//!   deduplicates by `operation_id`, so a repeated call does nothing twice);
//! - `409 {"error": "insufficient_resources"}`: it cannot host the service (activation only);
//! - anything else, or no answer within the timeout: a failure, retried by the queue.
//!
//! Settings are asked of the panel directly and answered at once (`SettingsCall`), under
//! `{panel_url}/services/{service_id}/...` and `{panel_url}/domains/check`:
//! - `GET ip-addresses` → `{items: [{address, version}]}`; `POST ip-addresses`
//!   `{request_id, version}` → `{address, version}`; `DELETE ip-addresses/{address}`;
//! - `GET statistics?from=&to=` → `{items: [{at, cpu_percent, memory_mb, disk_mb, traffic_mb}]}`;
//! - `GET`/`PUT nameservers` `{nameservers}`; `GET`/`PUT whois` `{registrant}` (null when unset);
//! - `GET /domains/check?name=` → `{name, available}`;
//! - `GET virtual-servers` → `{items: [{id, name, vcpu, memory_mb, disk_gb}]}`; `POST
//!   virtual-servers` `{request_id, name, vcpu, memory_mb, disk_gb}` → the server;
//!   `DELETE virtual-servers/{id}`;
//! - `POST session` `{}` → `{url, expires_at}`: a link that signs its user in to the service on
//!   the panel (single sign-on, `domain::panel_login`), an `http(s)` URL good for one use until
//!   `expires_at` (RFC 3339), at most 60 seconds ahead; each call makes a new link (it takes
//!   no `request_id`); `404` when the panel holds no such service. Asked only for an active
//!   service whose type's rules say `panel_login`; the link is handed to the caller and never
//!   stored or logged.
//!
//! A `POST` with a `request_id` is carried out once per `request_id` (in its body), a `DELETE`
//! once per `request_id` (in its query): a repeat answers the first answer again, and a
//! `DELETE` answers what it removed. `404` names a missing address or server;
//! `409 {"error": "insufficient_resources"}` says the panel cannot host what is asked.

use crate::domain::lifecycle::{Outcome, PendingOperation, Work};
use crate::domain::{Action, OptionLine, Service};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PanelRequest {
    pub operation_id: String,
    /// `activation`, `suspension`, `resume`, `reboot`, `renewal`, `transfer`, `deletion`,
    /// `tariff_change` or `options_change`.
    pub operation: Action,
    pub service_id: String,
    pub client_id: String,
    pub product_type: String,
    pub tariff_id: String,
    pub params: BTreeMap<String, String>,
    pub options: Vec<OptionLine>,
}

impl PanelRequest {
    /// The call for a service's pending operation: a tariff or options change names the
    /// tariff or options it moves to.
    pub fn for_operation(service: &Service, pending: &PendingOperation) -> Self {
        let (tariff_id, options) = match &pending.work {
            Work::TariffChange { tariff_id, .. } => (tariff_id.to_string(), service.options.clone()),
            Work::OptionsChange { options, .. } => (service.tariff_id.to_string(), options.clone()),
            _ => (service.tariff_id.to_string(), service.options.clone()),
        };
        Self {
            operation_id: pending.id.clone(),
            operation: pending.work.action(),
            service_id: service.id.to_string(),
            client_id: service.client_id.to_string(),
            product_type: service.product_type.as_str().to_owned(),
            tariff_id,
            params: service.params.clone(),
            options,
        }
    }

    /// Every call a pending operation makes, in order: one, but for a renewal that lifts the
    /// last suspension, which then resumes the service under its own id (`{id}-resume`), and
    /// for a missing service activated again on its panel while billing holds it suspended,
    /// which is then suspended there too (`{id}-suspend`).
    pub fn calls_for(service: &Service, pending: &PendingOperation) -> Vec<Self> {
        let call = Self::for_operation(service, pending);
        match pending.work {
            Work::Resync { call: Action::Activation } if !service.holds.is_empty() => {
                let suspend = Self {
                    operation_id: format!("{}-suspend", pending.id),
                    operation: Action::Suspension,
                    ..call.clone()
                };
                vec![call, suspend]
            }
            Work::Renewal { resume: true, .. } => {
                let resume = Self {
                    operation_id: format!("{}-resume", pending.id),
                    operation: Action::Resume,
                    ..call.clone()
                };
                vec![call, resume]
            }
            _ => vec![call],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("control panel: {0}")]
pub struct PanelError(pub String);

const NO_ANSWER: &str = "no answer: ";

impl PanelError {
    fn no_answer(error: impl std::fmt::Display) -> Self {
        Self(format!("{NO_ANSWER}{error}"))
    }

    /// No answer came back: the call may have reached the panel, which may have acted on it.
    pub fn unanswered(&self) -> bool {
        self.0.starts_with(NO_ANSWER)
    }
}

/// A question about, or a change to, a service's settings (see the module's contract).
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsCall {
    pub method: reqwest::Method,
    /// Below the panel's URL, its segments already escaped (see `segment`).
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<serde_json::Value>,
}

impl SettingsCall {
    pub fn get(path: String) -> Self {
        Self { method: reqwest::Method::GET, path, query: Vec::new(), body: None }
    }

    pub fn post(path: String, body: serde_json::Value) -> Self {
        Self { method: reqwest::Method::POST, path, query: Vec::new(), body: Some(body) }
    }

    pub fn put(path: String, body: serde_json::Value) -> Self {
        Self { method: reqwest::Method::PUT, path, query: Vec::new(), body: Some(body) }
    }

    pub fn delete(path: String) -> Self {
        Self { method: reqwest::Method::DELETE, path, query: Vec::new(), body: None }
    }

    pub fn query(mut self, name: &str, value: impl ToString) -> Self {
        self.query.push((name.to_owned(), value.to_string()));
        self
    }
}

/// A path segment or query value with every character outside the unreserved set (and `:`)
/// escaped.
pub fn segment(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Is `path` free of empty, `.` and `..` segments (escaped or not), which an HTTP client
/// resolves against the panel's other paths? The last guard: every id from a request is
/// checked before it is put in a path.
fn is_plain_path(path: &str) -> bool {
    path.split('/').all(|segment| {
        let unescaped = segment.to_ascii_lowercase().replace("%2e", ".");
        !segment.is_empty() && unescaped != "." && unescaped != ".."
    })
}

/// What the panel answered a settings call.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingsAnswer {
    Done(serde_json::Value),
    /// The address or server named is not there.
    NotFound,
    /// The panel cannot host what was asked.
    NoResources,
}

/// Carries an operation out on a control panel, and reads or changes a service's settings.
pub trait ProcessingModule: Send + Sync {
    fn execute(
        &self,
        panel_url: &str,
        request: &PanelRequest,
    ) -> impl Future<Output = Result<Outcome, PanelError>> + Send;

    fn settings(
        &self,
        panel_url: &str,
        call: &SettingsCall,
    ) -> impl Future<Output = Result<SettingsAnswer, PanelError>> + Send;
}

#[derive(Debug, Clone)]
pub struct HttpPanel {
    client: reqwest::Client,
}

/// How long one panel call may take before it counts as failed (the functions' timeouts in the
/// template leave room for it).
pub const TIMEOUT_SECONDS: u64 = 10;
const TIMEOUT: Duration = Duration::from_secs(TIMEOUT_SECONDS);
/// A settings call answers a person waiting on an API request (API Gateway waits 30 seconds
/// at most): each may take this long, and one request makes at most `MAX_SETTINGS_CALLS`
/// (a list, the change, and giving back a change it could not record).
pub const SETTINGS_TIMEOUT_SECONDS: u64 = 5;
pub const MAX_SETTINGS_CALLS: u64 = 3;

impl Default for HttpPanel {
    fn default() -> Self {
        crate::crypto::install();
        let client = reqwest::Client::builder().timeout(TIMEOUT).build().expect("an HTTP client");
        Self { client }
    }
}

impl ProcessingModule for HttpPanel {
    async fn execute(&self, panel_url: &str, request: &PanelRequest) -> Result<Outcome, PanelError> {
        let url = format!("{}/operations", panel_url.trim_end_matches('/'));
        let response = self.client.post(&url).json(request).send().await.map_err(PanelError::no_answer)?;
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        match (status, body["error"].as_str()) {
            (200, _) if body["result"] == "done" => Ok(Outcome::Done),
            (409, Some("insufficient_resources")) if request.operation == Action::Activation => {
                Ok(Outcome::NoResources)
            }
            _ => Err(PanelError(format!(
                "answered {status}: {}",
                body["error"].as_str().unwrap_or("no detail")
            ))),
        }
    }

    async fn settings(&self, panel_url: &str, call: &SettingsCall) -> Result<SettingsAnswer, PanelError> {
        if !is_plain_path(&call.path) {
            return Err(PanelError(format!("refused to ask the path `{}`", call.path)));
        }
        let mut url = format!("{}/{}", panel_url.trim_end_matches('/'), call.path.trim_start_matches('/'));
        let query: Vec<String> =
            call.query.iter().map(|(k, v)| format!("{}={}", segment(k), segment(v))).collect();
        if !query.is_empty() {
            url = format!("{url}?{}", query.join("&"));
        }
        let mut request = self
            .client
            .request(call.method.clone(), &url)
            .timeout(Duration::from_secs(SETTINGS_TIMEOUT_SECONDS));
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(PanelError::no_answer)?;
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        match (status, body["error"].as_str()) {
            (200 | 201, _) => Ok(SettingsAnswer::Done(body)),
            (404, _) => Ok(SettingsAnswer::NotFound),
            (409, Some("insufficient_resources")) => Ok(SettingsAnswer::NoResources),
            (_, detail) => Err(PanelError(format!("answered {status}: {}", detail.unwrap_or("no detail")))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_with_dot_segments_is_never_asked() {
        assert!(is_plain_path("services/01ABC/virtual-servers/vs-1"));
        for walk in [
            "services/x/virtual-servers/..",
            "services/x/.",
            "services/x/%2E%2e",
            "services//x",
            "services/x/",
        ] {
            assert!(!is_plain_path(walk), "{walk}");
        }
    }
}
