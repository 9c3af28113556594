//! Pebble, Let's Encrypt's test certificate authority (`infra/local/pebble.py`), as the tests'
//! ACME peer: one set of processes for the test run, on ports of its own. The demo instance takes
//! every validation as passed; the validating one really checks what is published on
//! `pebble-challtestsrv`, which the tests drive as the client's web server and DNS.

use crate::emulator::workspace_root;
use crate::servers::{free_port, loopback, start_listening};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::time::Duration;

/// Where the running instances are.
#[derive(Debug)]
pub struct Pebble {
    /// The demo instance's ACME directory (every validation passes).
    pub demo_directory: String,
    /// The validating instance's ACME directory.
    pub directory: String,
    /// The validating instance's management interface (`/roots/0`, `/cert-status-by-serial/`).
    pub management: String,
    /// The demo instance's management interface.
    pub demo_management: String,
    /// The challenge server's management interface (`/add-http01`, `/set-txt`, ...).
    pub challenges: String,
    /// The validating instance's log: one line per request it served.
    pub log: PathBuf,
    _child: Child,
}

/// The PEM file of the root of the TLS certificate every instance serves (the worker trusts it
/// through `shared::acme::AcmeClient::with_roots`): made once, shared by every instance.
pub fn tls_roots() -> PathBuf {
    workspace_root().join("target/pebble-tls/tls.pem")
}

/// The instances, started on first use; they stop with the test process.
pub fn ensure_running() -> &'static Pebble {
    static STARTED: OnceLock<Result<Pebble, String>> = OnceLock::new();
    match STARTED.get_or_init(|| start("pebble-test", false)) {
        Ok(pebble) => pebble,
        Err(e) => panic!("{e}"),
    }
}

/// Instances of a test's own, whose log no other test writes to (for counting requests); they
/// stop when it is dropped.
/// `reuse`: the validating instance reuses every authorization an account proved, as Let's
/// Encrypt does (else never).
pub fn of_its_own(name: &str, reuse: bool) -> Pebble {
    start(&format!("pebble-test-{name}"), reuse).unwrap_or_else(|e| panic!("{e}"))
}

impl Drop for Pebble {
    fn drop(&mut self) {
        // SIGTERM: the launcher stops its children before it exits.
        let _ = Command::new("kill").arg(self._child.id().to_string()).status();
        let _ = self._child.wait();
    }
}

/// Starts the instances on free ports; again (at most three times) when a port was taken
/// meanwhile by another test's server: a port is free when picked, not always when bound.
fn start(name: &str, reuse: bool) -> Result<Pebble, String> {
    let mut tried = start_once(name, reuse);
    for _ in 0..2 {
        if tried.is_ok() {
            break;
        }
        tried = start_once(name, reuse);
    }
    tried
}

fn start_once(name: &str, reuse: bool) -> Result<Pebble, String> {
    let dir = workspace_root().join("target").join(name);
    let ports: Vec<u16> = (0..7).map(|_| free_port()).collect::<Result<_, _>>()?;
    let [demo, demo_management, acme, management, http, dns, challenges] = ports[..] else {
        return Err("seven ports".into());
    };
    let mut command = Command::new("python3");
    command
        .arg(workspace_root().join("infra/local/pebble.py"))
        .args([
            "--dir",
            &dir.to_string_lossy(),
            "--tls-dir",
            &tls_roots().parent().unwrap().to_string_lossy(),
        ])
        .args(["--demo-port", &demo.to_string(), "--demo-management-port", &demo_management.to_string()])
        .args(["--port", &acme.to_string(), "--management-port", &management.to_string()])
        .args(["--http-port", &http.to_string(), "--dns-port", &dns.to_string()])
        .args(["--challenges-port", &challenges.to_string()])
        .args(["--authz-reuse", if reuse { "100" } else { "0" }]);
    let listening = [demo, acme, management, demo_management, challenges].map(loopback);
    let what = "Pebble (Debian's pebble, which `make pebble` installs)";
    let child = start_listening(command, &format!("{name}.log"), &listening, Duration::from_secs(20), what)?;
    Ok(Pebble {
        demo_directory: format!("https://127.0.0.1:{demo}/dir"),
        directory: format!("https://127.0.0.1:{acme}/dir"),
        management: format!("https://127.0.0.1:{management}"),
        demo_management: format!("https://127.0.0.1:{demo_management}"),
        challenges: format!("http://127.0.0.1:{challenges}"),
        log: dir.join("pebble.log"),
        _child: child,
    })
}

impl Pebble {
    /// An HTTPS client that trusts the instances' TLS certificate.
    pub fn client(&self) -> reqwest::Client {
        crate::http_client();
        let pem = std::fs::read(tls_roots()).expect("Pebble's TLS root");
        let root = reqwest::Certificate::from_pem(&pem).expect("a PEM certificate");
        reqwest::Client::builder().add_root_certificate(root).build().expect("a client")
    }

    /// How many requests the validating instance served whose line holds `what`
    /// (`POST /order-plz`, `POST /finalize-order/`).
    pub fn requests(&self, what: &str) -> usize {
        std::fs::read_to_string(&self.log).unwrap_or_default().lines().filter(|l| l.contains(what)).count()
    }
}
