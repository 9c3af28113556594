//! `allowed_actions`: for services in every status a client and the provider meet, and for
//! both roles, an action listed as allowed is accepted by its route, and one listed as refused
//! is refused by its route, with the reason given (where the refusal is about the service, not
//! the request's body).

use crate::helpers::{id_of, Call, Reply, Stack};
use serde_json::{json, Value};
use shared::domain::Timestamp;

/// The states checked: how to bring a fresh service of `client` to each.
#[derive(Debug, Clone, Copy)]
enum State {
    InCart,
    Active,
    SuspendedByClient,
    SuspendedByAdmin,
    NotAvailable,
    ActiveDomain,
    ActiveCertificate,
}

const STATES: [State; 7] = [
    State::InCart,
    State::Active,
    State::SuspendedByClient,
    State::SuspendedByAdmin,
    State::NotAvailable,
    State::ActiveDomain,
    State::ActiveCertificate,
];

async fn service_in(stack: &Stack, state: State) -> String {
    let alice = stack.client("alice");
    match state {
        State::InCart => id_of(&stack.order_vps(&alice).await),
        State::Active => id_of(&stack.active_vps("alice").await),
        State::SuspendedByClient | State::SuspendedByAdmin => {
            let id = id_of(&stack.active_vps("alice").await);
            let who = if matches!(state, State::SuspendedByClient) { alice } else { stack.provider() };
            stack.post(&format!("/services/{id}/disable"), &who, json!({})).await.ok(200);
            stack.drain_queue(5).await;
            id
        }
        State::NotAvailable => {
            stack.panel_control("capacity", json!({"vps": 0})).await;
            let id = id_of(&stack.order_vps(&alice).await);
            stack.fund("alice", 500).await;
            stack.drain_queue(10).await;
            stack.panel_control("capacity", json!({"vps": 100})).await;
            id
        }
        State::ActiveDomain => id_of(&stack.active_on("alice", "domain-com").await),
        State::ActiveCertificate => id_of(&stack.active_on("alice", "ssl-dv").await),
    }
}

/// The call an action's route takes, as a dry run where the route has one.
pub(crate) fn call(action: &str, service: &Value, token: &str) -> Call {
    let id = id_of(service);
    let post = |path: &str, body: Value| {
        Call::new("POST", &format!("/services/{id}{path}")).token(token).json(&body)
    };
    // A grace past the one it has (on a grace, now is past its expiry), or past its expiry.
    let until = service["grace"]["until"]
        .as_str()
        .or(service["expires_at"].as_str())
        .and_then(shared::domain::Timestamp::parse);
    match action {
        "edit" => Call::new("PATCH", &format!("/services/{id}"))
            .token(token)
            .json(&json!({"auto_renew": service["auto_renew"]})),
        "delete" => Call::new("DELETE", &format!("/services/{id}")).token(token),
        "renew" => post("/renew?dry_run=true", json!({"periods": 1})),
        "change_tariff" => post("/change-tariff?dry_run=true", json!({"tariff_id": "vps-pro"})),
        "options" => Call::new("PUT", &format!("/services/{id}/options?dry_run=true"))
            .token(token)
            .json(&json!({"options": service["options"]})),
        "ticket" => post("/tickets", json!({"subject": "Hello", "message": "A question"})),
        "panel_login" => post("/panel-session", json!({})),
        "grace" => post(
            "/grace",
            json!({"until": until.map_or("2030-01-01T00:00:00Z".to_owned(), |u| u.plus_seconds(86_400).to_string()), "reason": "a transfer on its way"}),
        ),
        other => post(&format!("/{}", other.replace('_', "-")), json!({})),
    }
}

/// Whether a call changes nothing whatever it answers (a dry run).
fn is_dry_run(action: &str) -> bool {
    ["renew", "change_tariff", "options"].contains(&action)
}

/// Whether `reply` from an action's route agrees with the action's verdict: accepted when
/// allowed; refused when not, with the reason given (but for a refusal about the request's body,
/// 422, which names the body, not the service).
pub(crate) fn agrees_with_route(allowed: bool, reason: Option<&str>, reply: &Reply) -> Result<(), String> {
    match (allowed, reason) {
        (true, _) if (200..300).contains(&reply.status) => Ok(()),
        (true, _) => Err(format!("listed as allowed, answered {}: {}", reply.status, reply.body)),
        (false, Some(reason)) => {
            if !(400..500).contains(&reply.status) {
                return Err(format!(
                    "listed as refused (`{reason}`), answered {}: {}",
                    reply.status, reply.body
                ));
            }
            let detail = reply.body["detail"].as_str().unwrap_or_default();
            if reply.status != 422 && detail != reason {
                return Err(format!("refused with `{detail}`, not the reason given `{reason}`"));
            }
            Ok(())
        }
        (false, None) => Err("refused without a reason".to_owned()),
    }
}

#[tokio::test]
async fn an_allowed_action_is_accepted_and_a_refused_one_refused_with_its_reason() {
    let stack = Stack::new().await;
    stack.fund("alice", 1_000_000).await;
    let mut checked = 0;
    let mut problems = Vec::new();
    for state in STATES {
        for role in ["client", "provider"] {
            let token = if role == "client" { stack.client("alice") } else { stack.provider() };
            let id = service_in(&stack, state).await;
            let service = stack.get(&format!("/services/{id}"), &token).await.ok(200).clone();
            let actions = service["allowed_actions"].as_object().expect("allowed_actions").clone();
            assert!(
                [
                    "edit",
                    "delete",
                    "enable",
                    "disable",
                    "renew",
                    "change_tariff",
                    "options",
                    "ticket",
                    "activate",
                    "grace"
                ]
                .iter()
                .all(|a| actions.contains_key(*a)),
                "{state:?}: {actions:?}"
            );
            for (action, verdict) in &actions {
                let allowed = verdict["allowed"].as_bool().expect("allowed");
                // A fresh service for an action that would change it; the listed one otherwise.
                let subject = if allowed && !is_dry_run(action) {
                    let fresh = service_in(&stack, state).await;
                    stack.get(&format!("/services/{fresh}"), &token).await.ok(200).clone()
                } else {
                    service.clone()
                };
                let reply = stack.send(call(action, &subject, &token)).await;
                checked += 1;
                let outcome = agrees_with_route(allowed, verdict["reason"].as_str(), &reply);
                if let Err(problem) = outcome {
                    problems.push(format!("{state:?} as {role}, {action}: {problem}"));
                }
            }
            stack.drain_queue(20).await;
        }
    }
    assert!(problems.is_empty(), "{} of {checked} disagree:\n{}", problems.len(), problems.join("\n"));
    assert!(checked > 150, "{checked}");
}

#[tokio::test]
async fn every_service_answer_carries_allowed_actions_for_its_reader() {
    let stack = Stack::new().await;
    let id = id_of(&stack.active_vps("alice").await);
    let alice = stack.client("alice");
    let listed = stack.get("/services", &alice).await.ok(200).clone();
    assert_eq!(listed["items"][0]["allowed_actions"]["disable"], json!({"allowed": true}));
    let mine = stack.get(&format!("/services/{id}"), &alice).await.ok(200).clone();
    assert_eq!(
        mine["allowed_actions"]["activate"],
        json!({"allowed": false, "reason": "only the provider may do this"})
    );
    assert_eq!(mine["allowed_actions"]["enable"]["allowed"], false);
    let disabled =
        stack.post(&format!("/services/{id}/disable"), &stack.provider(), json!({})).await.ok(200).clone();
    assert_eq!(disabled["status"], "in_progress");
    assert_eq!(disabled["allowed_actions"]["renew"]["allowed"], false, "nothing while it runs: {disabled}");
    stack.drain_queue(5).await;
    let held = stack.get(&format!("/services/{id}"), &alice).await.ok(200).clone();
    assert_eq!(
        (held["status"].as_str(), held["allowed_actions"]["enable"]["allowed"].as_bool()),
        (Some("suspended_by_admin"), Some(false))
    );
    let seen = stack.get(&format!("/services/{id}"), &stack.provider()).await.ok(200).clone();
    assert_eq!(seen["allowed_actions"]["enable"], json!({"allowed": true}));
}

/// Checks one action listed on `service` against its route, on `subject` (the same service,
/// or a fresh one in the same state when the call would change it).
async fn check_listed(
    stack: &Stack,
    token: &str,
    service: &Value,
    subject: &Value,
    action: &str,
) -> Result<(), String> {
    let verdict = &service["allowed_actions"][action];
    let allowed = verdict["allowed"].as_bool().ok_or(format!("no verdict for {action}: {service}"))?;
    let reply = stack.send(call(action, subject, token)).await;
    agrees_with_route(allowed, verdict["reason"].as_str(), &reply)
}

/// The provider reads a deleted service (clients no longer see it): `allowed_actions` says a
/// ticket is refused ("the service is deleted"), but `POST /services/{id}/tickets` has no such
/// rule and opens one (201). The rule was invented by allowed_actions, not taken from the route.
#[tokio::test]
async fn a_ticket_on_a_deleted_service_is_listed_as_allowed_as_its_route_opens_it() {
    let stack = Stack::new().await;
    let id = id_of(&stack.order_vps(&stack.client("alice")).await);
    let provider = stack.provider();
    stack.send(Call::new("DELETE", &format!("/services/{id}")).token(&provider)).await.ok(200);
    let deleted = stack.get(&format!("/services/{id}"), &provider).await.ok(200).clone();
    assert_eq!(deleted["status"], "deleted");
    let result = check_listed(&stack, &provider, &deleted, &deleted, "ticket").await;
    assert!(result.is_ok(), "{result:?}");
}

/// States the committed test (actions.rs) does not walk through: an operation running, a
/// non-payment suspension, an abuse suspension, a deletion scheduled for the end of the
/// period, a product type whose panel is unset, a service past its paid period on a grace;
/// every listed verdict against its route, for both roles.
#[tokio::test]
async fn allowed_actions_agree_with_the_routes_while_busy_held_scheduled_unpanelled_or_on_a_grace() {
    let mut problems = Vec::new();
    let states = [
        "in_progress",
        "temporarily_suspended",
        "suspended_abuse",
        "deletion_scheduled",
        "no_panel",
        "on_grace",
    ];
    for state in states {
        for role in ["client", "provider"] {
            let stack = Stack::on_november_first().await;
            stack.fund("alice", 1_000_000).await;
            let pool = services_in(&stack, state, 14).await;
            let token = if role == "client" { stack.client("alice") } else { stack.provider() };
            let service = stack.get(&format!("/services/{}", pool[0]), &token).await.ok(200).clone();
            let actions = service["allowed_actions"].as_object().expect("allowed_actions").clone();
            let mut fresh = pool[1..].iter();
            for (action, verdict) in &actions {
                let allowed = verdict["allowed"].as_bool().unwrap_or(false);
                let dry = ["renew", "change_tariff", "options"].contains(&action.as_str());
                let subject = if allowed && !dry {
                    let next = fresh.next().expect("enough fresh services");
                    stack.get(&format!("/services/{next}"), &token).await.ok(200).clone()
                } else {
                    service.clone()
                };
                if let Err(problem) = check_listed(&stack, &token, &service, &subject, action).await {
                    problems.push(format!("{state} as {role}, {action}: {problem}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{} disagree:\n{}", problems.len(), problems.join("\n"));
}

/// `n` services of alice in `state`, on a stack whose clock is 2026-11-01.
async fn services_in(stack: &Stack, state: &str, n: usize) -> Vec<String> {
    let alice = stack.client("alice");
    let tariff = if state == "deletion_scheduled" { "dedicated-e3" } else { "vps-start" };
    let mut ids = Vec::new();
    for _ in 0..n {
        let service = stack.order_on(&alice, tariff).await;
        ids.push(id_of(&service));
    }
    stack.post("/cart/checkout", &alice, json!({})).await.ok(200);
    stack.drain_queue(20).await;
    match state {
        "in_progress" => {
            for id in &ids {
                stack.post(&format!("/services/{id}/disable"), &alice, json!({})).await.ok(200);
            }
        }
        "temporarily_suspended" => {
            stack.clock.set(Timestamp::parse("2026-12-02T00:00:00Z").unwrap());
            stack.run_job("expiry-sweep").await;
            stack.drain_queue(20).await;
        }
        "suspended_abuse" => {
            for id in &ids {
                let report = json!({"score": 100, "description": "spam"});
                stack.post(&format!("/services/{id}/abuse-reports"), &stack.provider(), report).await.ok(200);
            }
            stack.run_job("abuse-sweep").await;
            stack.drain_queue(20).await;
        }
        "deletion_scheduled" => {
            for id in &ids {
                stack.send(Call::new("DELETE", &format!("/services/{id}")).token(&alice)).await.ok(200);
            }
        }
        "no_panel" => {
            let rules = crate::helpers::vps_rules_on(None, "immediate");
            stack.put("/product-types/vps", &stack.provider(), rules).await.ok(200);
        }
        "on_grace" => {
            for id in &ids {
                let grace = json!({"until": "2026-12-20T00:00:00Z", "reason": "a promise"});
                stack.post(&format!("/services/{id}/grace"), &stack.provider(), grace).await.ok(200);
            }
            stack.clock.set(Timestamp::parse("2026-12-05T00:00:00Z").unwrap());
        }
        other => panic!("no state {other}"),
    }
    let seen = stack.service(&ids[0]).await;
    let expected = match state {
        "deletion_scheduled" | "no_panel" | "on_grace" => "active",
        other => other,
    };
    assert_eq!(seen["status"], expected, "{seen}");
    ids
}
