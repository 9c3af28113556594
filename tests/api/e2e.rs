//! End to end: the local stack as a developer runs it (`infra/local/dev.sh`, what `make dev`
//! runs: its own emulator, bootstrap, `cargo lambda watch` with the router), driven over HTTP
//! with tokens from `make token`. It runs on its own ports and is stopped by this test.

use serde_json::{json, Value};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tests::emulator::workspace_root;

/// `make dev`'s own development secret: the sample events in `events/` carry tokens signed
/// with it, and the README's examples invoke functions with them.
const SECRET: &str = "local-development-secret";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The dev stack in its own process group; dropping it stops the whole group.
struct DevStack {
    child: Child,
    api: String,
    emulator: String,
}

impl DevStack {
    fn start() -> Self {
        let (api_port, emulator_port, panel_port) = (free_port(), free_port(), free_port());
        let log = std::fs::File::create(workspace_root().join("target/e2e-dev.log")).unwrap();
        let child = Command::new("bash")
            .arg(workspace_root().join("infra/local/dev.sh"))
            .current_dir(workspace_root())
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{emulator_port}"))
            .env("API_PORT", api_port.to_string())
            .env("PANEL_PORT", panel_port.to_string())
            .env("SCHEDULE_INTERVAL_SECONDS", "1")
            .env("TABLE_NAME", "services")
            .env("DEV_JWT_SECRET", SECRET)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            // Each request `cargo lambda watch` serves is logged with its status, so that a
            // failure below can show what the dev server itself answered (`trouble`).
            .env("RUST_LOG", "info,watchexec=warn,tower_http=debug")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("start infra/local/dev.sh");
        let emulator = format!("http://127.0.0.1:{emulator_port}");
        let stack = Self { child, api: format!("http://127.0.0.1:{api_port}"), emulator };
        stack.wait_until_up();
        stack.warm_up();
        stack
    }

    /// Starts every routed function before the steps below. `cargo lambda watch` builds and
    /// starts a function at its first request (each waits its turn for cargo's locks), and
    /// under load it has answered such a request with a 500 of its own that no function gave
    /// (text/plain, its own problem type `https://httpstatuses.com/500`; seen in CI, in the
    /// browser and in schemathesis). Each route is asked once without a token, in turn, until
    /// its function answers; the dev server's own 500s on the way are printed. A function's
    /// own 5xx (problem+json) fails at once.
    fn warm_up(&self) {
        let mut lost = Vec::new();
        for route in tests::router::routes() {
            let method = route.method.to_uppercase();
            let path: String = route
                .path
                .split('/')
                .map(|segment| if segment.starts_with('{') { "warm" } else { segment })
                .collect::<Vec<_>>()
                .join("/");
            loop {
                let (status, content_type, body) = self.call(&method, &path, None, None);
                if status < 500 && status != 0 {
                    break;
                }
                assert_ne!(content_type, "application/problem+json", "{method} {path}: {status} {body}");
                lost.push(format!("{method} {path}: {status} {content_type} {body}"));
                assert!(
                    lost.len() <= WARM_UP_RETRIES,
                    "the dev server kept failing:\n{}\n{}",
                    lost.join("\n"),
                    trouble()
                );
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        if !lost.is_empty() {
            eprintln!("warming up, the dev server answered by itself:\n{}", lost.join("\n"));
        }
    }

    fn wait_until_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            if self.call("GET", "/product-types", None, None).0 == 401 {
                return;
            }
            assert!(Instant::now() < deadline, "the dev stack did not come up; see target/e2e-dev.log");
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Polls the service until it shows `status` (the worker runs behind the bridge).
    fn wait_for_status(&self, id: &str, token: &str, status: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let (_, _, service) = self.call("GET", &format!("/services/{id}"), Some(token), None);
            if service["status"] == status {
                return service;
            }
            assert!(Instant::now() < deadline, "never {status}: {service}");
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// One HTTP call with curl: (status, content type, JSON body).
    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, String, Value) {
        let mut curl = Command::new("curl");
        curl.args(["-s", "-X", method, "-o", "-", "-w", "\n%{http_code} %{content_type}"]);
        curl.arg(format!("{}{path}", self.api));
        if let Some(token) = token {
            curl.args(["-H", &format!("authorization: Bearer {token}")]);
        }
        if let Some(body) = body {
            curl.args(["-H", "content-type: application/json", "--data", &body.to_string()]);
        }
        let out = String::from_utf8(curl.output().expect("curl").stdout).unwrap();
        let (body, status) = out.rsplit_once('\n').unwrap_or(("", "0 "));
        let (code, content_type) = status.split_once(' ').unwrap_or((status, ""));
        (
            code.parse().unwrap_or(0),
            content_type.to_owned(),
            serde_json::from_str(body).unwrap_or(Value::Null),
        )
    }
}

/// The dev log's lines that tell of trouble: errors, panics and answers of 500 and up (the last
/// `TROUBLE_LINES`), for a failure's message.
fn trouble() -> String {
    let log = std::fs::read_to_string(workspace_root().join("target/e2e-dev.log")).unwrap_or_default();
    let lines: Vec<&str> = log
        .lines()
        .filter(|line| {
            ["ERROR", "panicked", "status=5", "command exited", "command killed"]
                .iter()
                .any(|t| line.contains(t))
        })
        .filter(|line| !line.contains("available_functions="))
        .collect();
    let shown = &lines[lines.len().saturating_sub(TROUBLE_LINES)..];
    format!("the dev log's trouble (target/e2e-dev.log):\n{}", shown.join("\n"))
}

const TROUBLE_LINES: usize = 40;

/// How many of its own 500s the dev server may answer while every function starts.
const WARM_UP_RETRIES: usize = 20;

impl Drop for DevStack {
    fn drop(&mut self) {
        // What Ctrl-C does: the script's trap stops the emulator and the watcher's group.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).status();
    }
}

impl DevStack {
    /// What `make {target}` prints against this stack's emulator.
    fn make(&self, target: &str) -> String {
        let out = Command::new("make")
            .args(["-s", target])
            .current_dir(workspace_root())
            .env("AWS_ENDPOINT_URL", &self.emulator)
            .output()
            .expect("make");
        assert!(out.status.success(), "make {target}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs `make {target}` until its output (gathered over the runs) holds `wanted`.
    fn make_until(&self, target: &str, wanted: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = String::new();
        loop {
            seen.push_str(&self.make(target));
            if seen.contains(wanted) {
                return seen;
            }
            assert!(Instant::now() < deadline, "make {target} never showed {wanted}:\n{seen}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

fn make_token(role: &str, sub: &str) -> String {
    let out = Command::new("make")
        .args(["-s", "token", &format!("ROLE={role}"), &format!("SUB={sub}")])
        .current_dir(workspace_root())
        .env("DEV_JWT_SECRET", SECRET)
        .output()
        .expect("make token");
    assert!(out.status.success(), "make token failed");
    String::from_utf8(out.stdout).unwrap().lines().last().expect("a token line").to_owned()
}

#[test]
fn make_dev_serves_the_api_on_production_paths() {
    let stack = DevStack::start();
    let (alice, bob, provider) =
        (make_token("client", "alice"), make_token("client", "bob"), make_token("provider", "ops"));
    let address = json!({"email": "alice@e2e.example", "muted": []});
    let (status, _, _) = stack.call("PUT", "/account/notifications", Some(&alice), Some(&address));
    assert_eq!(status, 200);
    // Confirmed with the token the confirmation e-mail brought (`make mail` shows it).
    let confirmation = stack.make_until("mail", "Subject: Confirm your address");
    let token: String = confirmation
        .rsplit("the code ")
        .next()
        .map(|rest| rest.chars().take_while(char::is_ascii_hexdigit).collect())
        .unwrap_or_default();
    let (status, _, settings) =
        stack.call("POST", "/account/notifications/confirm", Some(&alice), Some(&json!({"token": token})));
    assert_eq!((status, settings["email"].clone()), (200, json!("alice@e2e.example")), "{confirmation}");
    let order = json!({"tariff_id": "vps-start", "period_months": 1, "params": {"os_template": "debian-12"}});
    let (status, _, service) = stack.call("POST", "/services", Some(&alice), Some(&order));
    assert_eq!(status, 201, "{service}");
    let id = service["id"].as_str().unwrap();

    let (status, _, list) = stack.call("GET", "/services", Some(&alice), None);
    assert_eq!((status, list["items"][0]["status"].clone()), (200, json!("ordered")));
    let (status, _, history) = stack.call("GET", &format!("/services/{id}/history"), Some(&alice), None);
    assert_eq!((status, history["items"][0]["operation"].clone()), (200, json!("order")));

    let (status, content_type, problem) = stack.call("GET", &format!("/services/{id}"), Some(&bob), None);
    assert_eq!((status, content_type.as_str()), (404, "application/problem+json"), "{problem}");
    let (_, _, bobs) = stack.call("GET", "/services", Some(&bob), None);
    assert_eq!(bobs["items"], json!([]));

    let (status, _, all) = stack.call("GET", "/services?client_id=alice", Some(&provider), None);
    assert_eq!((status, all["items"][0]["client_id"].clone()), (200, json!("alice")));

    // Paid by a recorded payment, the service is activated by the worker through the bridge.
    let payment = json!({"amount": service["order_price"], "external_id": "e2e-1"});
    let (status, _, paid) = stack.call("POST", "/clients/alice/payments", Some(&provider), Some(&payment));
    assert_eq!((status, paid["checked_out"].clone()), (201, json!([id])), "{paid}");
    let active = stack.wait_for_status(id, &alice, "active");
    assert!(active["expires_at"].is_string());

    // The stream carries the history to the bus (`make events`), and alice is e-mailed
    // (`make mail`) through the notifications queue and the notifier.
    let events = stack.make_until("events", "\"service.activation\"");
    assert!(events.contains(id), "{events}");
    let mail = stack.make_until("mail", "To: alice@e2e.example");
    assert!(mail.contains("VPS Start \"debian-12\""), "{mail}");
    let (_, _, log) = stack.call("GET", "/notifications", Some(&alice), None);
    assert_eq!(
        (log["items"][0]["kind"].clone(), log["items"][0]["status"].clone()),
        (json!("activated"), json!("sent"))
    );

    // Suspended and resumed by the client, then renewed from the balance.
    let (status, _, _) =
        stack.call("POST", &format!("/services/{id}/disable"), Some(&alice), Some(&json!({})));
    assert_eq!(status, 200);
    stack.wait_for_status(id, &alice, "suspended");
    let (status, _, _) =
        stack.call("POST", &format!("/services/{id}/enable"), Some(&alice), Some(&json!({})));
    assert_eq!(status, 200);
    stack.wait_for_status(id, &alice, "active");
    let payment = json!({"amount": 500, "external_id": "e2e-2"});
    stack.call("POST", "/clients/alice/payments", Some(&provider), Some(&payment));
    let (status, _, _) =
        stack.call("POST", &format!("/services/{id}/renew"), Some(&alice), Some(&json!({"periods": 1})));
    assert_eq!(status, 200);
    let renewed = stack.wait_for_status(id, &alice, "active");
    assert_ne!(renewed["expires_at"], active["expires_at"]);
    let (_, _, account) = stack.call("GET", "/account", Some(&alice), None);
    assert_eq!(account["balance"], 0, "{account}");

    // The schedules fire by themselves: abuse at the limit is suspended by the abuse sweep.
    let report = json!({"score": 100, "description": "spam"});
    let (status, _, _) =
        stack.call("POST", &format!("/services/{id}/abuse-reports"), Some(&provider), Some(&report));
    assert_eq!(status, 200);
    stack.wait_for_status(id, &alice, "suspended_abuse");

    // The console, on the same origin: its page at a deep link, without a token.
    let (status, content_type, _) = stack.call("GET", &format!("/console/services/{id}"), None, None);
    assert_eq!((status, content_type.as_str()), (200, "text/html; charset=utf-8"));
    let (status, _, _) = stack.call("GET", "/", None, None);
    assert_eq!(status, 302);

    let (status, content_type, _) = stack.call("GET", "/services", None, None);
    assert_eq!((status, content_type.as_str()), (401, "application/problem+json"));
    let (status, content_type, _) = stack.call("POST", "/tariffs", Some(&alice), Some(&json!({})));
    assert_eq!((status, content_type.as_str()), (403, "application/problem+json"));

    // Methods a path does not serve reach no function.
    for (method, path) in [("PATCH", "/tariffs"), ("DELETE", "/product-types"), ("PUT", "/account")] {
        let (status, _, _) = stack.call(method, path, Some(&provider), None);
        assert!([404, 405].contains(&status), "{method} {path} answered {status}");
    }

    // The console in Debian's Chromium, driven by Playwright (tests/browser/console_test.py;
    // `make browser` installs Chromium and axe-core): alice orders, pays from her balance and
    // manages a VPS, bob cannot see it, the provider suspends it; axe-core on the main pages;
    // screenshots under target/console/. Her balance is funded for the order and its renewal.
    let payment = json!({"amount": 10000, "external_id": "e2e-browser"});
    let (status, _, _) = stack.call("POST", "/clients/alice/payments", Some(&provider), Some(&payment));
    assert_eq!(status, 201);
    let out = Command::new(workspace_root().join(".venv/bin/python"))
        .current_dir(workspace_root())
        .arg("tests/browser/console_test.py")
        .args(["--url", &stack.api, "--alice", &alice, "--bob", &bob, "--provider", &provider])
        .args(["--out", "target/console", "--emulator", &stack.emulator])
        .output()
        .expect("run tests/browser/console_test.py (make venv installs Playwright)");
    assert!(
        out.status.success(),
        "the console's browser test failed:\n{}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        trouble()
    );

    // schemathesis against openapi.yaml, as a client and as the provider: valid requests get
    // no 5xx, and every answer conforms to the spec (status, content type, body).
    for token in [&alice, &provider] {
        let out = Command::new(workspace_root().join(".venv/bin/schemathesis"))
            .current_dir(workspace_root())
            .args(["run", "openapi.yaml", "--url", &stack.api, "--header", &format!("Authorization: Bearer {token}")])
            .args(["--checks", "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"])
            .args(["--mode", "positive", "--phases", "examples,fuzzing", "--max-examples", "3", "--workers", "1"])
            .args(["--request-timeout", "60", "--seed", "1"])
            .output()
            .expect("run schemathesis (make venv installs it)");
        assert!(
            out.status.success(),
            "schemathesis found failures:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            trouble()
        );
    }

    readme_examples_run_as_written(&stack);
}

/// The shell examples of the README, then of each `docs/*.md` (sorted by file name), that run
/// against `make dev`: all but `make dev` and `make test` themselves, the deploy (`sam`,
/// `make package`, `make deploy`) and real AWS commands. Each runs as a new user would paste it,
/// in that order, on this stack's ports: each exits 0, and no answer it prints is a problem or a
/// function's error. A docs example builds on nothing but the README's (it makes its own token).
fn readme_examples_run_as_written(stack: &DevStack) {
    let root = workspace_root();
    let mut docs: Vec<_> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    docs.sort();
    let pages = std::iter::once(root.join("README.md")).chain(docs);
    let skipped = ["make dev", "make test", "sam ", "pip install", "make package", "make deploy", "aws "];
    let mut runnable: Vec<(String, String)> = Vec::new();
    for page in pages {
        let text = std::fs::read_to_string(&page).unwrap();
        let name = page.strip_prefix(&root).unwrap().display().to_string();
        let blocks: Vec<&str> = text
            .split("```sh\n")
            .skip(1)
            .filter_map(|b| b.split("\n```").next())
            .filter(|b| !skipped.iter().any(|s| b.contains(s)))
            .collect();
        if name == "README.md" {
            assert!(blocks.len() >= 4, "the README's examples: {blocks:?}");
        }
        runnable.extend(blocks.into_iter().map(|block| (name.clone(), block.to_owned())));
    }
    let api_port = stack.api.rsplit(':').next().unwrap();
    for (page, block) in runnable {
        let script = block.replace("127.0.0.1:9000", &format!("127.0.0.1:{api_port}"));
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .current_dir(workspace_root())
            .env("AWS_ENDPOINT_URL", &stack.emulator)
            .env("API_PORT", api_port)
            .env("DEV_JWT_SECRET", SECRET)
            .output()
            .expect("bash");
        let printed = String::from_utf8_lossy(&out.stdout);
        let shown = format!("{page}:\n{script}\n{printed}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "an example failed:\n{shown}");
        assert!(!printed.contains("/problems/"), "an example was answered a problem:\n{shown}");
        let failed =
            ["\"statusCode\":4", "\"statusCode\":5", "\"statusCode\": 4", "\"statusCode\": 5", "errorType"];
        assert!(!failed.iter().any(|f| printed.contains(f)), "an example's function failed:\n{shown}");
    }
}
