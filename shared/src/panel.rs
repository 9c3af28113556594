//! The processing module: how an operation reaches the remote control panel of its product
//! type. One implementation, `HttpPanel`, speaks this JSON-over-HTTP contract:
//!
//! `POST {panel_url}/operations` with a `PanelRequest`; the panel answers
//! - `200 {"operation_id", "result": "done"}`: carried out (or carried out before: the panel
//!   deduplicates by `operation_id`, so a repeated call does nothing twice);
//! - `409 {"error": "insufficient_resources"}`: it cannot host the service (activation only);
//! - anything else, or no answer within the timeout: a failure, retried by the queue.

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
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("control panel: {0}")]
pub struct PanelError(pub String);

/// Carries an operation out on a control panel.
pub trait ProcessingModule: Send + Sync {
    fn execute(
        &self,
        panel_url: &str,
        request: &PanelRequest,
    ) -> impl Future<Output = Result<Outcome, PanelError>> + Send;
}

#[derive(Debug, Clone)]
pub struct HttpPanel {
    client: reqwest::Client,
}

/// How long one panel call may take before it counts as failed.
const TIMEOUT: Duration = Duration::from_secs(10);

impl Default for HttpPanel {
    fn default() -> Self {
        let client = reqwest::Client::builder().timeout(TIMEOUT).build().expect("an HTTP client");
        Self { client }
    }
}

impl ProcessingModule for HttpPanel {
    async fn execute(&self, panel_url: &str, request: &PanelRequest) -> Result<Outcome, PanelError> {
        let url = format!("{}/operations", panel_url.trim_end_matches('/'));
        let response = self
            .client
            .post(&url)
            .json(request)
            .send()
            .await
            .map_err(|e| PanelError(format!("no answer: {e}")))?;
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
}
