//! The library every function shares: the pure domain, the DynamoDB store, auth, errors and
//! HTTP helpers. `domain` has no I/O and depends on neither Lambda nor the AWS SDK.

pub mod acme;
pub mod app;
pub mod auth;
pub mod aws;
pub mod billing;
pub mod budget;
pub mod bulk;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod import;
pub mod layers;
pub mod mail;
pub mod migrations;
#[cfg(test)]
mod money_model;
pub mod notifications;
pub mod operations;
pub mod panel;
pub mod queue;
pub mod reconciliation;
pub mod reply;
pub mod settings;
pub mod store;
pub mod sweeps;
pub mod telemetry;
pub mod views;

pub use app::App;
pub use error::ApiError;
pub use http::Reply;
