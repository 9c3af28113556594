//! A test's own stack: a fresh table in the emulator seeded with the demo catalog, an app with a
//! clock the test controls, and calls through the production routes to the real handlers.

use lambda_http::http::{HeaderMap, Method};
use lambda_http::{Body, RequestExt};
use serde_json::{json, Value};
use shared::auth::{sign_hs256, Auth};
use shared::domain::{Clock, FixedClock, SystemClock};
use shared::store::Store;
use shared::App;
use std::collections::HashMap;
use std::sync::Arc;
use tests::router::{self, Resolved, Route};
use tests::{emulator, stack};

pub const SECRET: &[u8] = b"integration-test-secret";

pub struct Stack {
    pub app: App,
    pub clock: FixedClock,
    routes: Vec<Route>,
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json answer with this status; answers its detail.
    #[track_caller]
    pub fn problem(&self, status: u16) -> String {
        assert_eq!(self.status, status, "unexpected answer: {}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.body
        );
        assert_eq!(self.body["status"], status, "{}", self.body);
        for field in ["type", "title", "detail"] {
            assert!(
                self.body[field].is_string(),
                "problem without {field}: {}",
                self.body
            );
        }
        self.body["detail"].as_str().unwrap().to_owned()
    }

    /// Asserts a success with this status; answers the body.
    #[track_caller]
    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "unexpected answer: {}", self.body);
        assert_eq!(self.header("content-type"), Some("application/json"));
        &self.body
    }
}

/// A request to send through the stack.
pub struct Call {
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

impl Call {
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.parse().expect("method"),
            path: path.to_owned(),
            headers: vec![],
            body: None,
        }
    }

    pub fn token(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn json(self, body: &Value) -> Self {
        self.raw(&body.to_string())
    }

    pub fn raw(mut self, body: &str) -> Self {
        self.body = Some(body.to_owned());
        self
    }

    /// The request as API Gateway hands it to a function, before routing.
    pub fn request(&self) -> lambda_http::Request {
        let mut builder = lambda_http::http::Request::builder()
            .method(self.method.clone())
            .uri(&self.path);
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        let body = self.body.clone().map_or(Body::Empty, Body::Text);
        let query: HashMap<String, String> = self
            .path
            .split_once('?')
            .map(|(_, q)| {
                q.split('&')
                    .filter_map(|pair| pair.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        builder
            .body(body)
            .expect("request")
            .with_query_string_parameters(query)
    }
}

impl Stack {
    pub async fn new() -> Self {
        let endpoint = emulator::ensure_running();
        let config = emulator::sdk_config(endpoint).await;
        let table = format!("test-{}", ulid::Ulid::generate().to_string().to_lowercase());
        stack::create_table(&config, &table).await.expect("create table");
        let store = Store::new(aws_sdk_dynamodb::Client::new(&config), table);
        stack::seed_catalog(&store).await.expect("seed catalog");
        let clock = FixedClock::at(SystemClock.now());
        let app = App::new(store, Auth::DevSecret(SECRET.to_vec()), Arc::new(clock.clone()));
        Self {
            app,
            clock,
            routes: router::routes(),
        }
    }

    /// A signed token for `sub` with `role`, valid for an hour from the stack's clock.
    pub fn token(&self, role: &str, sub: &str) -> String {
        let now = self.clock.now().unix_seconds();
        sign_hs256(
            &json!({"sub": sub, "role": role, "iat": now, "exp": now + 3600}),
            SECRET,
        )
    }

    pub fn client(&self, sub: &str) -> String {
        self.token("client", sub)
    }

    pub fn provider(&self) -> String {
        self.token("provider", "ops")
    }

    /// Sends a call through the route table to the routed function's handler.
    pub async fn send(&self, call: Call) -> Reply {
        self.send_with(&self.app, call).await
    }

    pub async fn send_with(&self, app: &App, call: Call) -> Reply {
        let path = call.path.split('?').next().unwrap_or_default().to_owned();
        let (function, params) = match router::resolve(&self.routes, call.method.as_str(), &path) {
            Resolved::Function { function, params } => (function, params),
            other => panic!("{} {path} is not routed: {other:?}", call.method),
        };
        let request = call.request().with_path_parameters(params);
        let response = router::invoke(&function, app, request)
            .await
            .expect("a handler for every function");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = match response.body() {
            Body::Text(text) => serde_json::from_str(text).expect("JSON body"),
            Body::Empty => Value::Null,
            Body::Binary(bytes) => serde_json::from_slice(bytes).expect("JSON body"),
            _ => Value::Null,
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(Call::new("GET", path).token(token)).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(Call::new("POST", path).token(token).json(&body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(Call::new("PUT", path).token(token).json(&body)).await
    }

    /// Orders a VPS on the seeded `vps-start` tariff as `token`; answers the new service.
    pub async fn order_vps(&self, token: &str) -> Value {
        let order =
            json!({"tariff_id": "vps-start", "period_months": 1, "params": {"os_template": "debian-12"}});
        self.post("/services", token, order).await.ok(201).clone()
    }
}

/// The ids of a list answer's items.
pub fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The id of one answered item.
pub fn id_of(item: &Value) -> String {
    item["id"].as_str().expect("an id").to_owned()
}
