//! Starting a local server of the tests (the emulator, the reference panel, Pebble): its
//! output in a log under target/, watched until it listens.

use crate::emulator::workspace_root;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port on loopback that is free now (another process may take it before the server binds
/// it: the server then exits, and its caller may start it again).
pub fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).map_err(|e| e.to_string())
}

/// Spawns `command` (which watches this process, given as `--parent-pid`, and exits with it)
/// with its output in `target/{log}`, and waits until each of `addresses` takes a connection.
/// `what` names it in the error when it exits first or is not listening `within`.
pub fn start_listening(
    mut command: Command,
    log: &str,
    addresses: &[SocketAddr],
    within: Duration,
    what: &str,
) -> Result<Child, String> {
    let log_path = workspace_root().join("target").join(log);
    let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
    let mut child = command
        .args(["--parent-pid", &std::process::id().to_string()])
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("start {what}: {e}"))?;
    let deadline = Instant::now() + within;
    for address in addresses {
        while TcpStream::connect_timeout(address, Duration::from_millis(200)).is_err() {
            if child.try_wait().map_err(|e| e.to_string())?.is_some() || Instant::now() > deadline {
                let _ = child.kill();
                return Err(format!("{what} did not start; see {}", log_path.display()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(child)
}

/// The address of `port` on loopback.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}
