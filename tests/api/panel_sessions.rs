//! Single sign-on into a service's control panel (`POST /services/{id}/panel-session`): a
//! one-time link the reference panel makes, good once; kept nowhere (the table, the logs, the
//! events, the idempotency records); refused for a service that is not active or whose type
//! does not offer it; ten a minute per service; the provider's sign-in in the client's words.

use crate::helpers::{id_of, vps_rules_on, Call, Reply, Stack};
use serde_json::{json, Value};
use shared::domain::panel_login::PER_MINUTE;
use shared::domain::{Clock, SystemClock, Timestamp};
use std::sync::{Arc, Mutex};
use tracing_subscriber::util::SubscriberInitExt;

fn session_path(id: &str) -> String {
    format!("/services/{id}/panel-session")
}

async fn sign_in(stack: &Stack, id: &str, token: &str) -> Reply {
    stack.send(Call::new("POST", &session_path(id)).token(token)).await
}

/// The link's token: its last path segment.
fn token_of(url: &str) -> String {
    url.rsplit('/').next().expect("a token").to_owned()
}

/// Follows a link as a browser would: the panel's status.
async fn follow(url: &str) -> u16 {
    tests::http_client().get(url).send().await.expect("the panel").status().as_u16()
}

/// Every item of the test's table, as text.
async fn table_text(stack: &Stack) -> String {
    let config = tests::emulator::sdk_config(tests::emulator::ensure_running()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let (mut text, mut start) = (String::new(), None);
    loop {
        let page = client
            .scan()
            .table_name(stack.app.store.table())
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("a scan");
        for item in page.items() {
            text.push_str(&format!("{item:?}\n"));
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return text;
        }
    }
}

/// What this test's thread logs, at every level, as the functions' JSON lines (with their
/// spans' fields), while the guard lives.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn capture() -> (Self, impl Drop) {
        let logs = Logs::default();
        let writer = logs.clone();
        let guard = tracing_subscriber::fmt()
            .json()
            .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(move || writer.clone())
            .finish()
            .set_default();
        (logs, guard)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The stack's clock at the wall clock's time (the panel's links run on the wall clock).
fn in_step(stack: &Stack) {
    stack.clock.set(SystemClock.now());
}

fn panel_logins(history: &[(String, String, String)]) -> usize {
    history.iter().filter(|(operation, ..)| operation == "panel_login").count()
}

#[tokio::test]
async fn a_link_signs_in_once_and_is_kept_nowhere() {
    let stack = Stack::with_events().await;
    let address = format!("alice@{}.test", stack.app.store.table());
    stack.confirm_address("alice", &address, json!([])).await;
    let id = id_of(&stack.active_vps("alice").await);
    let alice = stack.client("alice");
    // Everything so far through the bus and the mail, then the tap emptied.
    stack.tell().await;
    stack.tapped().await;
    let mails = stack.mail_to(&address).await.len();
    assert!(mails >= 1, "alice hears of the activation");
    in_step(&stack);

    let (logs, guard) = Logs::capture();
    let call = Call::new("POST", &session_path(&id)).token(&alice).header("idempotency-key", "sso-key-1");
    let reply = stack.send(call.clone()).await;
    drop(guard);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let session = reply.ok(200).clone();
    assert_eq!(session.as_object().unwrap().len(), 2, "{session}");
    let url = session["url"].as_str().expect("a url").to_owned();
    assert!(url.starts_with(&format!("{}/vps/login/", stack.panel)), "{url}");
    let expires_at = shared::domain::Timestamp::parse(session["expires_at"].as_str().unwrap()).unwrap();
    let ahead = SystemClock.now().seconds_until(expires_at);
    assert!((0..=60).contains(&ahead), "valid {ahead} s more");
    let token = token_of(&url);
    assert!(token.len() >= 16, "{url}");

    // Good once.
    assert_eq!(follow(&url).await, 200);
    assert_eq!(follow(&url).await, 410, "used already");

    // The sign-in is in the history, who and when, without the link.
    let history = stack.get(&format!("/services/{id}/history"), &stack.provider()).await.ok(200).clone();
    let entry = &history["items"][0];
    assert_eq!(entry["operation"], "panel_login");
    assert_eq!(entry["actor"], json!({"id": "alice", "role": "client"}));
    assert_eq!(
        (entry["status_before"].as_str(), entry["status_after"].as_str()),
        (Some("active"), Some("active"))
    );
    assert_eq!(entry["details"], json!({"summary": "signed in to the panel"}));
    let own = stack.get(&format!("/services/{id}/history"), &alice).await.ok(200).clone();
    assert_eq!(own["items"][0]["details"]["summary"], "you signed in to the panel");

    // The key is ignored: the same request again makes a new link, replays nothing.
    let again = stack.send(call).await;
    assert_eq!(again.header("idempotency-replayed"), None);
    let second = again.ok(200)["url"].as_str().unwrap().to_owned();
    assert_ne!(second, url, "a new link each time");

    // Neither link is anywhere in the table, nor the key.
    let table = table_text(&stack).await;
    assert!(table.contains("PANELSSO#"), "the minute's counter is there");
    assert!(table.contains("panel_login"), "the history entry is there");
    for secret in [token.as_str(), token_of(&second).as_str(), "/login/", "sso-key-1"] {
        assert!(!table.contains(secret), "`{secret}` is in the table");
    }
    assert!(!table.contains("IDEM#client:alice#sso-key-1"));

    // Nor in what the function logged (which did log the request).
    let logged = logs.text();
    assert!(logged.contains("\"answered\""), "the capture caught the request's log: {logged}");
    assert!(logged.contains(&id), "with its service's id");
    assert!(!logged.contains(&token) && !logged.contains("/login/"), "the link is in the logs:\n{logged}");

    // The event says that alice signed in, and nothing else; no e-mail.
    stack.tell().await;
    let events = stack.tapped().await;
    let signed_in: Vec<&Value> =
        events.iter().filter(|e| e["detail-type"] == "service.panel_login").collect();
    assert_eq!(signed_in.len(), 2, "{events:?}");
    assert_eq!(signed_in[0]["detail"]["details"], json!({}));
    assert_eq!(signed_in[0]["detail"]["actor"], json!({"id": "alice", "role": "client"}));
    let published = serde_json::to_string(&events).unwrap();
    assert!(!published.contains(&token) && !published.contains("/login/"), "{published}");
    assert_eq!(stack.mail_to(&address).await.len(), mails, "no e-mail about a sign-in");
}

#[tokio::test]
async fn the_providers_sign_in_reads_as_such_in_the_clients_history() {
    let stack = Stack::new().await;
    let id = id_of(&stack.active_vps("alice").await);
    in_step(&stack);
    let provider = stack.provider();
    let url = sign_in(&stack, &id, &provider).await.ok(200)["url"].as_str().unwrap().to_owned();
    assert_eq!(follow(&url).await, 200);

    let alice = stack.client("alice");
    let read = stack.get(&format!("/services/{id}/history"), &alice).await.ok(200).clone();
    let entry = &read["items"][0];
    assert_eq!(entry["operation"], "panel_login");
    assert_eq!(entry["details"]["summary"], "the provider signed in to your panel");
    assert_eq!(entry["actor"], json!({"id": "Support", "role": "provider"}), "never the staff's own name");
    let seen = stack.get(&format!("/services/{id}/history"), &provider).await.ok(200).clone();
    assert_eq!(seen["items"][0]["details"]["summary"], "signed in to the panel");
    assert_eq!(seen["items"][0]["actor"], json!({"id": "ops", "role": "provider"}));
}

#[tokio::test]
async fn refused_unless_active_and_offered_by_the_type() {
    let stack = Stack::new().await;
    let (alice, provider) = (stack.client("alice"), stack.provider());
    let vps = id_of(&stack.active_vps("alice").await);
    let domain = id_of(&stack.active_on("alice", "domain-com").await);
    let in_cart = id_of(&stack.order_vps(&alice).await);
    in_step(&stack);
    let history = stack.history(&vps).await.len();

    // The listed verdict and the route's answer agree, word for word.
    let refused = |id: String, token: String, detail: &'static str| {
        let stack = &stack;
        async move {
            let listed = stack.get(&format!("/services/{id}"), &token).await.ok(200)["allowed_actions"]
                ["panel_login"]
                .clone();
            assert_eq!(listed, json!({"allowed": false, "reason": detail}));
            let reply = sign_in(stack, &id, &token).await;
            assert_eq!(reply.header("cache-control"), Some("no-store"));
            assert_eq!(reply.problem(409), detail);
        }
    };
    refused(domain.clone(), alice.clone(), "domain services offer no sign-in to their control panel").await;
    refused(in_cart, alice.clone(), "cannot sign in to the control panel of a service that is ordered").await;

    // Suspended by its client: neither the client nor the provider signs in this way.
    let listed = stack.get(&format!("/services/{vps}"), &alice).await.ok(200)["allowed_actions"]
        ["panel_login"]
        .clone();
    assert_eq!(listed, json!({"allowed": true}));
    stack.post(&format!("/services/{vps}/disable"), &alice, json!({})).await.ok(200);
    stack.drain_queue(5).await;
    assert_eq!(stack.service(&vps).await["status"], "suspended");
    let suspended = "cannot sign in to the control panel of a service that is suspended";
    refused(vps.clone(), alice.clone(), suspended).await;
    refused(vps.clone(), provider.clone(), suspended).await;
    stack.post(&format!("/services/{vps}/enable"), &alice, json!({})).await.ok(200);
    stack.drain_queue(5).await;
    sign_in(&stack, &vps, &alice).await.ok(200);

    // The type's rules turn it off, and on again.
    let mut rules = vps_rules_on(Some(format!("{}/vps", stack.panel)), "immediate");
    rules["panel_login"] = json!(false);
    let put = stack.put("/product-types/vps", &provider, rules.clone()).await.ok(200).clone();
    assert_eq!(put["panel_login"], false);
    refused(vps.clone(), alice.clone(), "vps services offer no sign-in to their control panel").await;
    refused(vps.clone(), provider.clone(), "vps services offer no sign-in to their control panel").await;
    rules["panel_login"] = json!(true);
    stack.put("/product-types/vps", &provider, rules).await.ok(200);
    let types = stack.get("/product-types", &alice).await.ok(200).clone();
    let vps_type = types["items"].as_array().unwrap().iter().find(|t| t["type"] == "vps").unwrap().clone();
    assert_eq!(vps_type["panel_login"], true, "a client reads the rule: {vps_type}");
    sign_in(&stack, &vps, &provider).await.ok(200);

    // Each refusal recorded nothing (a suspension and a resume did, and two sign-ins).
    let after = stack.history(&vps).await;
    assert_eq!(after.len(), history + 4 + 2, "{after:?}");
    assert_eq!(panel_logins(&after), 2);
}

#[tokio::test]
async fn the_eleventh_within_sixty_seconds_is_429_even_across_the_minutes_end() {
    let stack = Stack::new().await;
    let id = id_of(&stack.active_vps("alice").await);
    let other = id_of(&stack.active_vps("alice").await);
    // Ten at 45 s past a minute: a count by calendar minute would take ten more at its end.
    let now = SystemClock.now().unix_seconds();
    stack.clock.set(Timestamp::from_unix_millis((now - now.rem_euclid(60) + 45) * 1000));
    let (alice, provider) = (stack.client("alice"), stack.provider());
    for n in 0..PER_MINUTE {
        let token = if n % 2 == 0 { &alice } else { &provider };
        sign_in(&stack, &id, token).await.ok(200);
    }
    let refused = sign_in(&stack, &id, &provider).await;
    let detail = refused.problem(429);
    assert!(detail.contains("at most 10 times a minute"), "{detail}");
    assert_eq!(refused.header("retry-after"), Some("60"));
    assert_eq!(refused.header("cache-control"), Some("no-store"));
    assert_eq!(panel_logins(&stack.history(&id).await), 10, "the refused one recorded nothing");
    // Another service has its own count.
    sign_in(&stack, &other, &alice).await.ok(200);

    // Past the minute's end, the ten are still within the last 60 seconds.
    stack.clock.advance_seconds(30);
    let refused = sign_in(&stack, &id, &alice).await;
    refused.problem(429);
    assert_eq!(refused.header("retry-after"), Some("30"));

    // A minute after them it works again.
    stack.clock.advance_seconds(30);
    let url = sign_in(&stack, &id, &alice).await.ok(200)["url"].as_str().unwrap().to_owned();
    assert_eq!(follow(&url).await, 200);
    assert_eq!(panel_logins(&stack.history(&id).await), 11);
}

#[tokio::test]
async fn another_clients_service_answers_as_a_missing_one() {
    let stack = Stack::new().await;
    let id = id_of(&stack.active_vps("alice").await);
    in_step(&stack);
    let bob = stack.client("bob");
    let another = sign_in(&stack, &id, &bob).await;
    let missing = sign_in(&stack, &ulid::Ulid::generate().to_string(), &bob).await;
    assert_eq!(another.problem(404), missing.problem(404));
    assert_eq!(another.body, missing.body);
    assert_eq!(sign_in(&stack, &id, &bob).await.body, missing.body, "not counted either way");
    sign_in(&stack, "not-a-service", &bob).await.problem(404);
    sign_in(&stack, &id, "not-a-token").await.problem(401);
    assert_eq!(panel_logins(&stack.history(&id).await), 0);
}

#[tokio::test]
async fn a_link_the_panel_makes_wrong_is_502_and_handed_to_nobody() {
    let stack = Stack::new().await;
    let id = id_of(&stack.active_vps("alice").await);
    in_step(&stack);
    let alice = stack.client("alice");
    let shapes = [
        (json!({"seconds": 3600}), "longer than 60 seconds"),
        (json!({"seconds": 60, "scheme": "javascript"}), "not an http(s) address"),
        (json!({"seconds": -30, "scheme": "http"}), "expired already"),
    ];
    for (shape, why) in shapes {
        stack.panel_control("session", shape).await;
        let reply = sign_in(&stack, &id, &alice).await;
        let detail = reply.problem(502);
        assert!(detail.contains(why), "{detail}");
        assert!(!reply.body.to_string().contains("/login/"), "{}", reply.body);
    }
    stack.panel_control("session", json!({"seconds": 60, "scheme": "http"})).await;
    // A panel that lost the service's account.
    stack.panel_control("drift", json!({"service_id": id, "status": "missing"})).await;
    sign_in(&stack, &id, &alice).await.problem(502);
    assert_eq!(panel_logins(&stack.history(&id).await), 0, "nothing signed in, nothing recorded");
}

#[tokio::test]
async fn a_body_or_a_dry_run_is_refused() {
    let stack = Stack::new().await;
    let id = id_of(&stack.active_vps("alice").await);
    in_step(&stack);
    let alice = stack.client("alice");
    stack.post(&session_path(&id), &alice, json!({"url": "https://elsewhere.example"})).await.problem(400);
    let dry = Call::new("POST", &format!("{}?dry_run=true", session_path(&id))).token(&alice);
    stack.send(dry).await.problem(400);
    stack.post(&session_path(&id), &alice, json!({})).await.ok(200);
    assert_eq!(panel_logins(&stack.history(&id).await), 1);
}
