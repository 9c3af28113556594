//! The local AWS emulator (moto server, single-threaded, on loopback). Tests reuse one that is
//! already running (`make dev`'s); otherwise the first test starts one that exits together with
//! the test process.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:4566";
pub const REGION: &str = "us-east-1";

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// The emulator's endpoint: `AWS_ENDPOINT_URL`, or the local default.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| DEFAULT_ENDPOINT.to_owned())
}

fn host_port(endpoint: &str) -> String {
    endpoint.trim_start_matches("http://").trim_end_matches('/').to_owned()
}

fn reachable(address: &str) -> bool {
    address
        .parse()
        .ok()
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_millis(200)).is_ok())
}

/// Makes sure the emulator answers, starting it when it does not; answers its endpoint.
pub fn ensure_running() -> &'static str {
    static STARTED: OnceLock<String> = OnceLock::new();
    STARTED.get_or_init(|| {
        let endpoint = endpoint();
        let address = host_port(&endpoint);
        if !reachable(&address) {
            start(&address);
        }
        endpoint
    })
}

fn start(address: &str) {
    let (host, port) = address.rsplit_once(':').expect("endpoint has host:port");
    assert!(host == "127.0.0.1" || host == "localhost", "the emulator runs on loopback only");
    let root = workspace_root();
    let python = root.join(".venv/bin/python");
    assert!(python.exists(), "no .venv: run `make venv` (make test does) first");
    let log = std::fs::File::create(root.join("target/moto-test.log")).expect("emulator log");
    Command::new(python)
        .arg(root.join("infra/local/moto_server.py"))
        .args(["--host", host, "--port", port, "--parent-pid"])
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log)
        .spawn()
        .expect("start the emulator");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !reachable(address) {
        assert!(Instant::now() < deadline, "the emulator did not start; see target/moto-test.log");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// SDK configuration pointed at the emulator, with the dummy credentials it accepts.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(Credentials::new("test", "test", None, None, "emulator"))
        .endpoint_url(endpoint)
        .load()
        .await
}
