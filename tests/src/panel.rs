//! The reference control panel (`infra/local/panel.py`) as the tests' HTTP peer: one process
//! for the test run, each test on its own prefix (its own capacity, failures and records).

use crate::emulator::workspace_root;
use crate::servers::{free_port, loopback, start_listening};
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::time::Duration;

/// The panel's base URL, started on first use; it exits together with the test process.
pub fn ensure_running() -> &'static str {
    static STARTED: OnceLock<Result<(String, Child), String>> = OnceLock::new();
    match STARTED.get_or_init(start) {
        Ok((url, _)) => url,
        Err(e) => panic!("{e}"),
    }
}

fn start() -> Result<(String, Child), String> {
    let port = free_port()?;
    let mut command = Command::new("python3");
    command.arg(workspace_root().join("infra/local/panel.py")).args(["--port", &port.to_string()]);
    let child = start_listening(
        command,
        "panel-test.log",
        &[loopback(port)],
        Duration::from_secs(10),
        "the reference panel",
    )?;
    Ok((format!("http://127.0.0.1:{port}"), child))
}
