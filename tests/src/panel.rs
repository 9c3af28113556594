//! The reference control panel (`infra/local/panel.py`) as the tests' HTTP peer: one process
//! for the test run, each test on its own prefix (its own capacity, failures and records).

use crate::emulator::workspace_root;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The panel's base URL, started on first use; it exits together with the test process.
pub fn ensure_running() -> &'static str {
    static STARTED: OnceLock<Result<(String, Child), String>> = OnceLock::new();
    match STARTED.get_or_init(start) {
        Ok((url, _)) => url,
        Err(e) => panic!("{e}"),
    }
}

fn start() -> Result<(String, Child), String> {
    let port =
        TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    let log =
        std::fs::File::create(workspace_root().join("target/panel-test.log")).map_err(|e| e.to_string())?;
    let mut child = Command::new("python3")
        .arg(workspace_root().join("infra/local/panel.py"))
        .args(["--port", &port.to_string(), "--parent-pid", &std::process::id().to_string()])
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("start the reference panel: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() || Instant::now() > deadline {
            let _ = child.kill();
            return Err("the reference panel did not start; see target/panel-test.log".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((format!("http://127.0.0.1:{port}"), child))
}
