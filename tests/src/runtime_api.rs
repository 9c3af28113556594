//! One invocation of a function's real binary (`target/debug/{function}`), as Lambda makes it:
//! a stand-in for the Lambda runtime API on loopback hands the binary one event and takes its
//! answer. With `CRASH_AT_AWS_CALL` set the process may exit in the middle instead (see
//! `shared::aws::CrashPoint`), as when Lambda kills a function; the stand-in is stopped, and the
//! process killed, when the invocation ends.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// The function answered this.
    Answered(Value),
    /// The function reported this error.
    Failed(Value),
    /// The process exited before answering, with this status.
    Crashed(Option<i32>),
}

/// The binary of `function`, which `cargo build --workspace` (`make test`'s `build`) made.
pub fn binary(function: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::emulator::workspace_root().join("target"));
    target.join("debug").join(function)
}

/// Runs `function`'s binary for one invocation with `event`, with `env` (and what any function
/// has: the runtime API's address, its name, memory and version), until it answers or exits.
pub async fn invoke(function: &str, env: &[(&str, String)], event: &Value) -> Ending {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let address = listener.local_addr().expect("its address").to_string();
    let (ended, mut ending) = tokio::sync::mpsc::unbounded_channel::<Ending>();
    let runtime = RuntimeApi { event: Arc::new(Mutex::new(Some(event.to_string()))), ended };
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let runtime = runtime.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let runtime = runtime.clone();
                    async move { runtime.handle(req).await }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
    let path = binary(function);
    assert!(path.exists(), "no {}: run `cargo build --workspace` first", path.display());
    let mut child = tokio::process::Command::new(&path)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", &address)
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "test")
        .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "error".into()))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", path.display()));
    let result = tokio::select! {
        answered = ending.recv() => answered.expect("an ending"),
        exited = child.wait() => {
            // An answer sent just before exiting wins over the exit.
            tokio::time::sleep(Duration::from_millis(50)).await;
            ending.try_recv().unwrap_or(Ending::Crashed(exited.expect("the process").code()))
        }
    };
    let _ = child.kill().await;
    server.abort();
    result
}

#[derive(Clone)]
struct RuntimeApi {
    /// The one event, until the function has taken it.
    event: Arc<Mutex<Option<String>>>,
    ended: tokio::sync::mpsc::UnboundedSender<Ending>,
}

const REQUEST_ID: &str = "invocation-1";

impl RuntimeApi {
    async fn handle(&self, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, std::io::Error> {
        let path = req.uri().path().to_owned();
        let body = req.into_body().collect().await.map_err(std::io::Error::other)?.to_bytes();
        let parsed = || serde_json::from_slice(&body).unwrap_or(Value::Null);
        if path == "/2018-06-01/runtime/invocation/next" {
            let event = self.event.lock().expect("the event").take();
            let Some(event) = event else {
                // One invocation only: the next never comes (the process is killed).
                std::future::pending::<()>().await;
                unreachable!();
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("after 1970")
                .as_millis()
                + 300_000;
            return Ok(Response::builder()
                .header("lambda-runtime-aws-request-id", REQUEST_ID)
                .header("lambda-runtime-deadline-ms", deadline.to_string())
                .header(
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:000000000000:function:f",
                )
                .header("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000")
                .body(Full::new(Bytes::from(event)))
                .expect("an event"));
        }
        let ending =
            if path.ends_with("/response") { Ending::Answered(parsed()) } else { Ending::Failed(parsed()) };
        let _ = self.ended.send(ending);
        Ok(Response::builder().status(202).body(Full::new(Bytes::new())).expect("accepted"))
    }
}
