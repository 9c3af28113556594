//! SSL certificates through the ACME module, against Pebble (`tests::pebble`): ordered with a
//! CSR, validated as the client publishes its challenges, issued, reissued, renewed, revoked.

use crate::helpers::{id_of, Stack};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;
use tests::pebble::Pebble;

/// A fresh key and its CSR for `names` (the first also the subject's common name), made with
/// `openssl req` as a client would: the key stays in the test's folder.
pub(crate) fn csr_for(names: &[&str]) -> String {
    let dir = scratch();
    let san = names.iter().map(|n| format!("DNS:{n}")).collect::<Vec<_>>().join(",");
    let out = Command::new("openssl")
        .args(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .args(["-subj", &format!("/CN={}", names[0].trim_start_matches("*.")), "-addext"])
        .arg(format!("subjectAltName={san}"))
        .output()
        .expect("openssl");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn scratch() -> PathBuf {
    let dir = tests::emulator::workspace_root()
        .join("target/certificates-test")
        .join(ulid::Ulid::generate().to_string());
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Names no other test uses (each test's orders are its own).
pub(crate) fn fresh_name(label: &str) -> String {
    format!("{label}-{}.example.com", ulid::Ulid::generate().to_string().to_lowercase())
}

/// The ssl type's rules with the ACME module at `directory`.
fn acme_rules(directory: &str) -> Value {
    json!({"client_delete": "end_of_period", "client_can_suspend": false, "abuse_limit": 0,
           "auto_delete_after_days": 30, "renew_lead_days": 14, "module": "acme",
           "acme_directory_url": directory, "contact": "certificates@hosting.example"})
}

async fn on_acme(directory: &str) -> Stack {
    let stack = Stack::new().await;
    switch_to_acme(&stack, directory).await;
    stack
}

/// The stack's ssl type issued through the ACME module at `directory`.
pub(crate) async fn switch_to_acme(stack: &Stack, directory: &str) {
    stack.put("/product-types/ssl", &stack.provider(), acme_rules(directory)).await.ok(200);
}

/// Alice's paid order of `tariff` for `csr`: the worker places it at the authority.
async fn ordered(stack: &Stack, tariff: &str, csr: &str, validation: &str) -> String {
    ordered_by(stack, "alice", tariff, csr, validation).await
}

/// `client`'s paid order of `tariff` for `csr`, placed at the authority.
async fn ordered_by(stack: &Stack, client: &str, tariff: &str, csr: &str, validation: &str) -> String {
    let order =
        json!({"tariff_id": tariff, "period_months": 12, "params": {"csr": csr, "validation": validation}});
    let service = stack.post("/services", &stack.client(client), order).await.ok(201).clone();
    stack.fund(client, service["order_price"].as_u64().unwrap()).await;
    settle(stack, &id_of(&service)).await;
    id_of(&service)
}

/// Runs the worker until the service waits on nobody but its client or is at rest (polls come
/// back on delayed messages).
pub(crate) async fn settle(stack: &Stack, id: &str) -> Value {
    for _ in 0..60 {
        stack.drain_queue(10).await;
        let service = stack.service(id).await;
        let waiting = stack.get(&format!("/services/{id}/validation"), &stack.provider()).await;
        let at_rest = service["status"] != "in_progress";
        let on_client = waiting.status == 200
            && ["awaiting_publication", "failed"]
                .contains(&waiting.body["status"].as_str().unwrap_or_default());
        if at_rest || on_client {
            return service;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    panic!("the certificate operation did not settle: {}", stack.service(id).await);
}

async fn validation(stack: &Stack, id: &str) -> Value {
    stack.get(&format!("/services/{id}/validation"), &stack.client("alice")).await.ok(200).clone()
}

/// The client publishes each challenge on its "web server" (the challenge server Pebble asks),
/// with `content` in place of the key authorization when given.
async fn publish(pebble: &Pebble, challenges: &Value, content: Option<&str>) {
    for challenge in challenges.as_array().unwrap() {
        let body = json!({"token": challenge["token"], "content": content.map_or(challenge["file"]["content"].clone(), |c| json!(c))});
        let answer = tests::http_client()
            .post(format!("{}/add-http01", pebble.challenges))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success());
    }
}

pub(crate) async fn ask_to_validate(stack: &Stack, id: &str) -> Value {
    ask_to_validate_as(stack, "alice", id).await
}

async fn ask_to_validate_as(stack: &Stack, client: &str, id: &str) -> Value {
    stack.post(&format!("/services/{id}/validation"), &stack.client(client), json!({})).await.ok(200).clone()
}

/// The chain `GET /services/{id}/certificate` answers, checked by `openssl verify` against the
/// authority's root; answers the leaf's DNS names.
async fn verified_names(stack: &Stack, id: &str, management: &str, pebble: &Pebble) -> Vec<String> {
    let answer = stack.get(&format!("/services/{id}/certificate"), &stack.client("alice")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("application/pem-certificate-chain"));
    let chain = answer.body.as_str().expect("a PEM chain").to_owned();
    let dir = scratch();
    std::fs::write(dir.join("chain.pem"), &chain).unwrap();
    let leaf_end = chain.find("-----END CERTIFICATE-----").unwrap() + "-----END CERTIFICATE-----".len();
    std::fs::write(dir.join("leaf.pem"), &chain[..leaf_end]).unwrap();
    let root =
        pebble.client().get(format!("{management}/roots/0")).send().await.unwrap().text().await.unwrap();
    std::fs::write(dir.join("root.pem"), root).unwrap();
    let verify = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(dir.join("root.pem"))
        .arg("-untrusted")
        .arg(dir.join("chain.pem"))
        .arg(dir.join("leaf.pem"))
        .output()
        .unwrap();
    assert!(verify.status.success(), "openssl verify: {}", String::from_utf8_lossy(&verify.stdout));
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
        .arg(dir.join("leaf.pem"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    let mut names: Vec<String> =
        text.split([',', '\n']).filter_map(|p| p.trim().strip_prefix("DNS:")).map(str::to_owned).collect();
    names.sort();
    names
}

/// Whether the authority at `management` has the certificate `serial` revoked.
async fn revoked(pebble: &Pebble, management: &str, serial: &str) -> bool {
    let status: Value = pebble
        .client()
        .get(format!("{management}/cert-status-by-serial/{serial}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    status["Status"] == "Revoked"
}

#[tokio::test]
async fn a_certificate_is_ordered_validated_and_issued_for_exactly_its_names() {
    let pebble = tests::pebble::ensure_running();
    let stack = on_acme(&pebble.directory).await;
    let (shop, www) = (fresh_name("shop"), fresh_name("www"));
    let id = ordered(&stack, "ssl-dv", &csr_for(&[&shop, &www]), "http-01").await;
    let service = stack.service(&id).await;
    assert_eq!(
        (service["status"].as_str(), service["display_status"].as_str()),
        (Some("in_progress"), Some("issue"))
    );
    let waiting = validation(&stack, &id).await;
    assert_eq!(waiting["status"], "awaiting_publication", "{waiting}");
    let challenges = waiting["challenges"].as_array().unwrap();
    let mut named: Vec<&str> = challenges.iter().map(|c| c["name"].as_str().unwrap()).collect();
    named.sort();
    let mut expected = vec![shop.as_str(), www.as_str()];
    expected.sort();
    assert_eq!(named, expected);
    for challenge in challenges {
        let token = challenge["token"].as_str().unwrap();
        assert_eq!(challenge["type"], "http-01");
        assert!(challenge["key_authorization"].as_str().unwrap().starts_with(&format!("{token}.")));
        assert_eq!(challenge["file"]["path"], format!("/.well-known/acme-challenge/{token}"));
        assert_eq!(challenge["file"]["content"], challenge["key_authorization"]);
    }
    // Another client sees none of it.
    stack.get(&format!("/services/{id}/validation"), &stack.client("bob")).await.problem(404);
    stack.get(&format!("/services/{id}/certificate"), &stack.client("bob")).await.problem(404);
    stack.get(&format!("/services/{id}/certificate"), &stack.client("alice")).await.problem(404);

    publish(pebble, &waiting["challenges"], None).await;
    let asked = ask_to_validate(&stack, &id).await;
    assert_eq!(asked["status"], "in_progress");
    stack.post(&format!("/services/{id}/validation"), &stack.client("alice"), json!({})).await.problem(409);
    let active = settle(&stack, &id).await;
    assert_eq!(active["status"], "active", "{active}");
    assert_eq!(active["expires_at"], active["certificate"]["not_after"], "expires with its certificate");
    assert!(active.get("acme").is_none(), "the order's internals are not shown");
    assert_eq!(verified_names(&stack, &id, &pebble.management, pebble).await, expected);
    let history: Vec<String> = stack.history(&id).await.into_iter().map(|(op, _, _)| op).collect();
    assert!(history.contains(&"validation".to_owned()), "{history:?}");
}

#[tokio::test]
async fn a_failed_validation_says_why_and_can_be_retried() {
    let pebble = tests::pebble::ensure_running();
    let stack = on_acme(&pebble.directory).await;
    let name = fresh_name("retry");
    let id = ordered(&stack, "ssl-dv", &csr_for(&[&name]), "http-01").await;
    let first = validation(&stack, &id).await;
    publish(pebble, &first["challenges"], Some("not-the-key-authorization")).await;
    ask_to_validate(&stack, &id).await;
    settle(&stack, &id).await;
    let failed = validation(&stack, &id).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(failed["error"].as_str().unwrap().contains(&name), "{failed}");
    assert_eq!(stack.service(&id).await["display_status"], "issue_error");
    assert_ne!(
        failed["challenges"][0]["token"], first["challenges"][0]["token"],
        "a new order to publish for"
    );
    publish(pebble, &failed["challenges"], None).await;
    ask_to_validate(&stack, &id).await;
    let active = settle(&stack, &id).await;
    assert_eq!(active["status"], "active", "{active}");
    assert_eq!(verified_names(&stack, &id, &pebble.management, pebble).await, vec![name]);
}

/// Alice's active certificate for `names` from the demo instance (every validation passes).
pub(crate) async fn issued_on_demo(stack: &Stack, names: &[&str]) -> String {
    let id = ordered(stack, "ssl-dv", &csr_for(names), "http-01").await;
    ask_to_validate(stack, &id).await;
    assert_eq!(settle(stack, &id).await["status"], "active");
    id
}

#[tokio::test]
async fn a_reissue_with_a_new_key_revokes_the_certificate_it_replaces() {
    let pebble = tests::pebble::ensure_running();
    let stack = on_acme(&pebble.demo_directory).await;
    let name = fresh_name("reissue");
    let id = issued_on_demo(&stack, &[&name]).await;
    let old = stack.service(&id).await["certificate"]["serial"].as_str().unwrap().to_owned();
    let alice = stack.client("alice");
    let path = format!("/services/{id}/reissue");
    stack.post(&path, &alice, json!({})).await.problem(422);
    let too_many = csr_for(&[&name, &fresh_name("a"), &fresh_name("b")]);
    stack.post(&path, &alice, json!({"csr": too_many})).await.problem(422);
    let reissuing = stack.post(&path, &alice, json!({"csr": csr_for(&[&name])})).await.ok(200).clone();
    assert_eq!(reissuing["display_status"], "reissue");
    settle(&stack, &id).await;
    ask_to_validate(&stack, &id).await;
    let active = settle(&stack, &id).await;
    assert_eq!(active["status"], "active", "{active}");
    let new = active["certificate"]["serial"].as_str().unwrap();
    assert_ne!(new, old);
    assert!(revoked(pebble, &pebble.demo_management, &old).await, "the old certificate is revoked");
    assert!(!revoked(pebble, &pebble.demo_management, new).await);
    let entries =
        stack.get(&format!("/services/{id}/history?limit=100"), &stack.provider()).await.ok(200).clone();
    let reissue = entries["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["operation"] == "reissue" && e["details"]["result"] == "done")
        .cloned()
        .unwrap();
    assert_eq!(reissue["details"]["revocation"]["reason"], "Superseded", "{reissue}");
}

#[tokio::test]
async fn a_renewal_before_expiry_issues_a_new_certificate_for_the_same_names() {
    let pebble = tests::pebble::ensure_running();
    let stack = on_acme(&pebble.demo_directory).await;
    let name = fresh_name("renew");
    let id = issued_on_demo(&stack, &[&name]).await;
    let before = stack.service(&id).await;
    stack.fund("alice", 2500).await;
    let renewing = stack
        .post(&format!("/services/{id}/renew"), &stack.client("alice"), json!({"periods": 1}))
        .await
        .ok(200)
        .clone();
    assert_eq!(renewing["display_status"], "renewal_in_progress");
    settle(&stack, &id).await;
    ask_to_validate(&stack, &id).await;
    let renewed = settle(&stack, &id).await;
    assert_eq!(renewed["status"], "active", "{renewed}");
    assert_ne!(renewed["certificate"]["serial"], before["certificate"]["serial"]);
    assert_eq!(renewed["certificate"]["names"], json!([name]));
    assert!(renewed["expires_at"].as_str() > before["expires_at"].as_str(), "the paid period is added");
    assert_eq!(verified_names(&stack, &id, &pebble.demo_management, pebble).await, vec![name]);
}

#[tokio::test]
async fn deletion_revokes_the_certificate() {
    let pebble = tests::pebble::ensure_running();
    let stack = on_acme(&pebble.demo_directory).await;
    let id = issued_on_demo(&stack, &[&fresh_name("gone")]).await;
    let serial = stack.service(&id).await["certificate"]["serial"].as_str().unwrap().to_owned();
    stack
        .send(crate::helpers::Call::new("DELETE", &format!("/services/{id}")).token(&stack.provider()))
        .await
        .ok(200);
    stack.drain_queue(10).await;
    assert_eq!(stack.service(&id).await["status"], "deleted");
    assert!(revoked(pebble, &pebble.demo_management, &serial).await);
}

#[tokio::test]
async fn a_csr_the_tariff_does_not_allow_is_refused_before_anything_is_charged() {
    let pebble = tests::pebble::ensure_running();
    let stack = on_acme(&pebble.demo_directory).await;
    stack.fund("alice", 100_000).await;
    let alice = stack.client("alice");
    let order = |tariff: &str, csr: &str, validation: &str| json!({"tariff_id": tariff, "period_months": 12, "params": {"csr": csr, "validation": validation}});
    let three = csr_for(&[&fresh_name("a"), &fresh_name("b"), &fresh_name("c")]);
    let wildcard = csr_for(&["*.wild.example.com", "wild.example.com"]);
    for (body, why) in [
        (order("ssl-dv", &three, "http-01"), "at most 2"),
        (order("ssl-dv", &wildcard, "dns-01"), "wildcard"),
        (order("ssl-wildcard", &wildcard, "http-01"), "dns-01"),
        (
            order(
                "ssl-dv",
                "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----",
                "http-01",
            ),
            "not a usable",
        ),
        (order("ssl-dv", &csr_for(&[&fresh_name("ok")]), "tls-alpn-01"), "validation"),
    ] {
        let refused = stack.post("/services", &alice, body).await;
        assert!(refused.problem(422).contains(why), "{}", refused.body);
    }
    stack.post("/services", &alice, order("ssl-wildcard", &wildcard, "dns-01")).await.ok(201);
    assert_eq!(stack.balance("alice").await, 100_000, "nothing charged");
    // The module's settings are checked too: acme on another type, a key where its name goes.
    let provider = stack.provider();
    let mut vps = acme_rules(&pebble.demo_directory);
    vps["client_delete"] = json!("immediate");
    stack.put("/product-types/vps", &provider, vps).await.problem(422);
    let mut raw_key = acme_rules(&pebble.demo_directory);
    raw_key["eab_kid"] = json!("kid-1");
    raw_key["eab_hmac_key"] = json!("zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W");
    stack.put("/product-types/ssl", &provider, raw_key).await.problem(422);
    let mut plain = acme_rules(&pebble.demo_directory);
    plain["acme_directory_url"] = json!("http://127.0.0.1:1/dir");
    stack.put("/product-types/ssl", &provider, plain).await.problem(422);
}

/// Delivers every message on the operations queue twice, as SQS may: the second finds the work
/// where the first left it.
async fn drain_delivering_twice(stack: &Stack) -> usize {
    let mut delivered = 0;
    for _ in 0..20 {
        let deliver = |event: aws_lambda_events::event::sqs::SqsEvent| async {
            let first = lambda_runtime::LambdaEvent::new(event.clone(), lambda_runtime::Context::default());
            stack
                .worker
                .handle(first)
                .await
                .map_err(|e| -> tests::bridge::BridgeError { e.to_string().into() })?;
            let again = lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default());
            stack
                .worker
                .handle(again)
                .await
                .map_err(|e| -> tests::bridge::BridgeError { e.to_string().into() })
        };
        match tests::bridge::pump(&stack.sqs, &stack.queues.operations, deliver).await.unwrap() {
            0 => break,
            n => delivered += n,
        }
    }
    delivered
}

#[tokio::test]
async fn every_message_delivered_twice_places_and_finalizes_each_order_once() {
    // Its own instances: their log counts this test's requests only.
    let pebble = &tests::pebble::of_its_own("twice", false);
    let stack = on_acme(&pebble.directory).await;
    let name = fresh_name("twice");
    let order = json!({"tariff_id": "ssl-dv", "period_months": 12, "params": {"csr": csr_for(&[&name]), "validation": "http-01"}});
    let service = stack.post("/services", &stack.client("alice"), order).await.ok(201).clone();
    let id = id_of(&service);
    stack.fund("alice", service["order_price"].as_u64().unwrap()).await;
    assert!(drain_delivering_twice(&stack).await > 0);
    let stored = |stack: &Stack| {
        let id = shared::domain::ServiceId::parse(&id).unwrap();
        let store = stack.app.store.clone();
        async move { store.get_service(&id).await.unwrap().unwrap() }
    };
    let placed = stored(&stack).await.acme.expect("an order placed");
    let order_url = placed.url.clone().expect("its URL");
    let waiting = validation(&stack, &id).await;
    publish(pebble, &waiting["challenges"], None).await;
    ask_to_validate(&stack, &id).await;
    for _ in 0..40 {
        drain_delivering_twice(&stack).await;
        if stack.service(&id).await["status"] == "active" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let active = stored(&stack).await;
    assert_eq!(active.status, shared::domain::Status::Active);
    assert_eq!(pebble.requests("POST /order-plz"), 1, "one order placed");
    assert_eq!(pebble.requests("POST /finalize-order/"), 1, "finalised once");
    let order_id = order_url.rsplit('/').next().unwrap();
    assert_eq!(
        pebble.requests(&format!("Added order \"{order_id}\"")),
        1,
        "the order kept is the one placed"
    );
    let certificate = active.certificate.expect("issued");
    assert_eq!(certificate.names, vec![name]);
}

#[tokio::test]
async fn a_name_one_client_proved_is_never_issued_to_another_without_its_own_proof() {
    // An authority that reuses every authorization an account proved (Let's Encrypt does, for
    // weeks): each client has an account of its own, so bob proves the name himself.
    let pebble = &tests::pebble::of_its_own("reuse", true);
    let stack = on_acme(&pebble.directory).await;
    let name = fresh_name("proved");
    let alices = ordered_by(&stack, "alice", "ssl-dv", &csr_for(&[&name]), "http-01").await;
    publish(pebble, &validation(&stack, &alices).await["challenges"], None).await;
    ask_to_validate(&stack, &alices).await;
    assert_eq!(settle(&stack, &alices).await["status"], "active");
    let bobs = ordered_by(&stack, "bob", "ssl-dv", &csr_for(&[&name]), "http-01").await;
    let waiting =
        stack.get(&format!("/services/{bobs}/validation"), &stack.client("bob")).await.ok(200).clone();
    assert_eq!(waiting["status"], "awaiting_publication", "{waiting}");
    assert_eq!(waiting["challenges"][0]["name"], name.as_str());
    // Alice's second certificate for her name reuses her own proof.
    let again = ordered_by(&stack, "alice", "ssl-dv", &csr_for(&[&name]), "http-01").await;
    assert_eq!(stack.service(&again).await["status"], "active", "her proof is reused for her");
    ask_to_validate_as(&stack, "bob", &bobs).await;
}

#[tokio::test]
async fn an_order_never_validated_is_given_up_after_its_lifetime_as_a_failed_activation() {
    let pebble = tests::pebble::ensure_running();
    let stack = on_acme(&pebble.directory).await;
    let id = ordered(&stack, "ssl-dv", &csr_for(&[&fresh_name("lapsed")]), "http-01").await;
    assert_eq!(validation(&stack, &id).await["status"], "awaiting_publication");
    let balance = stack.balance("alice").await;
    // Eight days on, operations-sweep queues the waiting operation again; the worker gives up.
    stack.clock.advance_seconds(8 * 86_400);
    stack.run_job("operations-sweep").await;
    stack.drain_queue(10).await;
    let given_up = stack.service(&id).await;
    assert_eq!(
        (given_up["status"].as_str(), given_up["display_status"].as_str()),
        (Some("ordered"), Some("issue_error"))
    );
    assert!(given_up["last_error"].as_str().unwrap().contains("expired"), "{given_up}");
    assert!(given_up.get("certificate").is_none());
    stack.get(&format!("/services/{id}/validation"), &stack.client("alice")).await.problem(409);
    // As any failed activation: the order stays paid (a retry or a deletion settles it).
    assert_eq!(stack.balance("alice").await, balance);
    assert_eq!(given_up["paid"], true);
}

#[tokio::test]
async fn a_client_reads_none_of_the_authoritys_settings() {
    let stack = Stack::new().await;
    let mut rules = acme_rules("https://acme.example.net/directory");
    rules["eab_kid"] = json!("kid-1");
    rules["eab_hmac_key"] = json!("env:ACME_EAB_HMAC_KEY");
    stack.put("/product-types/ssl", &stack.provider(), rules).await.ok(200);
    let ssl = |list: &Value| {
        list["items"].as_array().unwrap().iter().find(|t| t["type"] == "ssl").cloned().unwrap()
    };
    let seen_by_provider = ssl(stack.get("/product-types", &stack.provider()).await.ok(200));
    assert_eq!(seen_by_provider["eab_hmac_key"], "env:ACME_EAB_HMAC_KEY");
    assert_eq!(seen_by_provider["acme_directory_url"], "https://acme.example.net/directory");
    let seen_by_client = ssl(stack.get("/product-types", &stack.client("alice")).await.ok(200));
    assert_eq!(seen_by_client["module"], "acme");
    for hidden in ["acme_directory_url", "contact", "eab_kid", "eab_hmac_key", "panel_url"] {
        assert!(seen_by_client.get(hidden).is_none(), "{hidden}: {seen_by_client}");
    }
}

#[tokio::test]
async fn a_tariff_change_to_terms_the_request_breaks_is_refused_before_anything_is_charged() {
    // Down from three names to one, with a request for two: renewals would issue two names at
    // the one-name price.
    let stack = Stack::new().await;
    let provider = stack.provider();
    let tariff = |id: &str, names: u8, price: u64, change_to: Value| {
        json!({"id": id, "product_type": "ssl", "name": id, "prices": {"12": price},
               "required_params": ["csr", "validation"], "change_to": change_to,
               "certificate": {"names": names}})
    };
    stack.post("/tariffs", &provider, tariff("ssl-one", 1, 1000, json!([]))).await.ok(201);
    stack.post("/tariffs", &provider, tariff("ssl-three", 3, 5000, json!(["ssl-one"]))).await.ok(201);
    let csr = csr_for(&[&fresh_name("shop"), &fresh_name("www")]);
    let order = json!({"tariff_id": "ssl-three", "period_months": 12, "params": {"csr": csr, "validation": "http-01"}});
    let service = stack.post("/services", &stack.client("alice"), order).await.ok(201).clone();
    let active = stack.activate_order("alice", &service).await;
    let balance = stack.balance("alice").await;
    let path = format!("/services/{}/change-tariff", id_of(&active));
    let refused = stack.post(&path, &stack.client("alice"), json!({"tariff_id": "ssl-one"})).await;
    assert!(refused.problem(422).contains("at most 1"), "{}", refused.body);
    assert_eq!(stack.balance("alice").await, balance, "nothing credited");
    assert_eq!(stack.service(&id_of(&active)).await["tariff_id"], "ssl-three");
}

#[tokio::test]
async fn names_that_keep_failing_validation_are_given_up_after_five_orders() {
    let pebble = tests::pebble::ensure_running();
    let stack = on_acme(&pebble.directory).await;
    let id = ordered(&stack, "ssl-dv", &csr_for(&[&fresh_name("never")]), "http-01").await;
    for attempt in 1..=5 {
        let waiting = validation(&stack, &id).await;
        assert_eq!(waiting["challenges"].as_array().unwrap().len(), 1, "attempt {attempt}: {waiting}");
        publish(pebble, &waiting["challenges"], Some("not-the-key-authorization")).await;
        ask_to_validate(&stack, &id).await;
        settle(&stack, &id).await;
    }
    let given_up = stack.service(&id).await;
    assert_eq!(given_up["status"], "ordered", "{given_up}");
    assert!(given_up["last_error"].as_str().unwrap().contains("failed validation 5 times"), "{given_up}");
    stack.post(&format!("/services/{id}/validation"), &stack.client("alice"), json!({})).await.problem(409);
}
