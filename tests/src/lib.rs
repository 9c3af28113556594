//! The test harness: the local emulator and reference panel, the resources the stack needs,
//! the queue bridge, the router that dispatches production paths to each function's handler
//! in-process, the fault proxy, and the AWS calls each function makes held against its policy in the template.

pub mod bridge;
pub mod counting;
pub mod emulator;
pub mod events;
pub mod faults;
pub mod panel;
pub mod pebble;
pub mod policies;
pub mod recording;
pub mod router;
pub mod runtime_api;
pub mod servers;
pub mod stack;

/// An HTTP client for the tests' own calls (the panel's control routes, the emulator's data),
/// on the TLS provider the functions use (`shared::crypto`).
pub fn http_client() -> reqwest::Client {
    shared::crypto::install();
    reqwest::Client::new()
}
