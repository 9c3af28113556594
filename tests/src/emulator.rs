//! The local AWS emulator (moto server, single-threaded, on loopback). Tests reuse one that is
//! already running (`make dev`'s); otherwise the first test starts one that exits together with
//! the test process.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::time::Duration;

pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:4566";
pub const REGION: &str = "us-east-1";

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// The function packages of `functions/`, by name (each a function the template deploys).
pub fn function_packages() -> std::collections::BTreeSet<String> {
    std::fs::read_dir(workspace_root().join("functions"))
        .expect("functions/")
        .map(|entry| entry.expect("an entry of functions/").file_name().into_string().expect("a UTF-8 name"))
        .collect()
}

/// The emulator's endpoint: `AWS_ENDPOINT_URL`, or the local default.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| DEFAULT_ENDPOINT.to_owned())
}

fn host_port(endpoint: &str) -> String {
    endpoint.trim_start_matches("http://").trim_end_matches('/').to_owned()
}

fn reachable(address: &str) -> bool {
    address.parse().ok().is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_millis(200)).is_ok())
}

/// Makes sure the emulator answers, starting it when it does not; answers its endpoint.
/// A failed start fails every test at once, with the emulator's log named.
pub fn ensure_running() -> &'static str {
    static STARTED: OnceLock<Result<(String, Option<Child>), String>> = OnceLock::new();
    let started = STARTED.get_or_init(|| {
        let endpoint = endpoint();
        let address = host_port(&endpoint);
        let child = if reachable(&address) { None } else { Some(start(&address)?) };
        Ok((endpoint, child))
    });
    match started {
        Ok((endpoint, _)) => endpoint,
        Err(e) => panic!("{e}"),
    }
}

/// An emulator of one's own, on a free port, stopped when dropped: a benchmark starts one per
/// measurement, since the emulator does not give memory back when a table is deleted.
pub struct PrivateEmulator {
    pub endpoint: String,
    child: Child,
}

impl PrivateEmulator {
    pub fn start() -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let address = format!("127.0.0.1:{port}");
        let child = start(&address)?;
        Ok(Self { endpoint: format!("http://{address}"), child })
    }
}

impl Drop for PrivateEmulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the emulator; it watches this process and exits when the tests do.
fn start(address: &str) -> Result<Child, String> {
    let (host, port) = address.rsplit_once(':').ok_or("the endpoint has no port")?;
    if host != "127.0.0.1" && host != "localhost" {
        return Err("the emulator runs on loopback only".into());
    }
    let root = workspace_root();
    let python = root.join(".venv/bin/python");
    if !python.exists() {
        return Err("no .venv: run `make venv` (make test does) first".into());
    }
    let listening: std::net::SocketAddr =
        address.parse().map_err(|_| format!("the emulator's address `{address}` is not an IP and port"))?;
    let mut command = Command::new(python);
    command.arg(root.join("infra/local/moto_server.py")).args(["--host", host, "--port", port]);
    crate::servers::start_listening(
        command,
        "moto-test.log",
        &[listening],
        Duration::from_secs(30),
        "the emulator",
    )
}

/// The timeouts of a test's clients that no fault proxy stands before: the emulator's
/// (`Resilience::EMULATOR`, as `make dev`'s functions have). The fault tests use the deployed
/// ones (`faults::RESILIENCE`).
pub const PATIENT: shared::aws::Resilience = shared::aws::Resilience::EMULATOR;

/// SDK configuration pointed at the emulator, with the dummy credentials it accepts and
/// `PATIENT` timeouts.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    sdk_config_with(endpoint, PATIENT).await
}

/// As `sdk_config`, with other timeouts and retries (a fault test's, which shortens the waits).
pub async fn sdk_config_with(endpoint: &str, resilience: shared::aws::Resilience) -> SdkConfig {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(Credentials::new("test", "test", None, None, "emulator"))
        .endpoint_url(endpoint)
        .http_client(shared::crypto::https_client())
        .load()
        .await;
    resilience.apply(config)
}
