//! Reconciliation: the reference panel made to drift from billing by its control routes, a run
//! that finds exactly those differences (and none for services in an operation or changed
//! after the run read them), and their resolution.

use crate::helpers::*;
use serde_json::{json, Value};
use shared::budget::Budget;
use shared::reconciliation;
use std::collections::BTreeMap;

/// The run's items as `{service_id or account_id: kind}`.
async fn found(stack: &Stack, run: &str) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/reconciliations/{run}/items?limit=2&cursor={c}"),
            None => format!("/reconciliations/{run}/items?limit=2"),
        };
        let page = stack.get(&path, &stack.provider()).await.ok(200).clone();
        for item in page["items"].as_array().unwrap() {
            let key = item["service_id"].as_str().or(item["account_id"].as_str()).unwrap().to_owned();
            assert!(found.insert(key, item["kind"].as_str().unwrap().to_owned()).is_none(), "listed twice");
        }
        match page["cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return found,
        }
    }
}

async fn run_on_vps(stack: &Stack) -> Value {
    let run = stack
        .post("/reconciliations", &stack.provider(), json!({"product_type": "vps"}))
        .await
        .ok(202)
        .clone();
    assert_eq!(run["status"], "done", "{run}");
    run
}

#[tokio::test]
async fn each_kind_of_drift_is_found_and_nothing_where_billing_and_the_panel_agree() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let mut made = BTreeMap::new();
    for name in ["in_step", "missing", "suspended_there", "running_there", "tariff", "options", "deleted"] {
        made.insert(name, id_of(&stack.active_vps("alice").await));
    }
    // Billing suspends one (through the panel), the provider deletes one (through the panel).
    stack.post(&format!("/services/{}/disable", made["running_there"]), &provider, json!({})).await.ok(200);
    stack.send(Call::new("DELETE", &format!("/services/{}", made["deleted"])).token(&provider)).await.ok(200);
    stack.drain_queue(10).await;
    assert_eq!(stack.service(&made["deleted"]).await["status"], "deleted");
    // A service being activated (paid, its activation queued and not carried out yet) has no
    // account on the panel: no drift.
    let in_progress = stack.order_vps(&stack.client("bob")).await;
    stack.fund("bob", in_progress["order_price"].as_u64().unwrap()).await;
    // The panel drifts behind billing's back.
    let drift = |id: &str, body: Value| {
        let mut body = body;
        body["service_id"] = json!(id);
        body
    };
    stack.panel_control("drift", drift(&made["missing"], json!({"status": "missing"}))).await;
    stack.panel_control("drift", drift(&made["suspended_there"], json!({"status": "suspended"}))).await;
    stack.panel_control("drift", drift(&made["running_there"], json!({"status": "active"}))).await;
    stack
        .panel_control("drift", drift(&made["tariff"], json!({"status": "active", "tariff_id": "vps-pro"})))
        .await;
    stack
        .panel_control(
            "drift",
            drift(&made["options"], json!({"status": "active", "options": [{"id": "ipv4", "quantity": 3}]})),
        )
        .await;
    stack
        .panel_control(
            "drift",
            drift(
                &made["deleted"],
                json!({"status": "active", "product_type": "vps", "tariff_id": "vps-start"}),
            ),
        )
        .await;
    stack
        .panel_control(
            "orphan",
            json!({"account_id": "by-hand-1", "product_type": "vps", "tariff_id": "vps-start", "params": {}}),
        )
        .await;

    let run = run_on_vps(&stack).await;
    let run_id = run["id"].as_str().unwrap();
    let expected = BTreeMap::from([
        (made["missing"].clone(), "missing_on_panel".to_owned()),
        (made["suspended_there"].clone(), "suspended_on_panel".to_owned()),
        (made["running_there"].clone(), "not_suspended_on_panel".to_owned()),
        (made["tariff"].clone(), "tariff_differs".to_owned()),
        (made["options"].clone(), "options_differ".to_owned()),
        (made["deleted"].clone(), "deleted_but_on_panel".to_owned()),
        ("by-hand-1".to_owned(), "orphan_on_panel".to_owned()),
    ]);
    assert_eq!(found(&stack, run_id).await, expected);
    let summary = stack.get(&format!("/reconciliations/{run_id}"), &provider).await.ok(200).clone();
    for kind in expected.values() {
        assert_eq!(summary["counts"][kind], 1, "{summary}");
    }
    // One kind only.
    let orphans = stack
        .get(&format!("/reconciliations/{run_id}/items?kind=orphan_on_panel"), &provider)
        .await
        .ok(200)
        .clone();
    assert_eq!(ids(&orphans).len(), 1, "{orphans}");
    assert_eq!(orphans["items"][0]["service_id"], Value::Null);
    assert_eq!(orphans["items"][0]["panel"]["account_id"], "by-hand-1");
    stack.get(&format!("/reconciliations/{run_id}/items?kind=lost"), &provider).await.problem(400);

    // Every drifted service of ours is on the attention list, with a drift_found entry.
    let attention = stack.get("/services?needs_attention=true", &provider).await.ok(200).clone();
    let listed = ids(&attention);
    for (id, _) in expected.iter().filter(|(id, _)| !id.starts_with("by-hand") && **id != made["deleted"]) {
        assert!(listed.contains(id), "{id} not on the attention list: {attention}");
        assert!(stack.history(id).await.iter().any(|(op, _, _)| op == "drift_found"), "{id}");
    }
    assert!(!listed.contains(&made["in_step"]));
    assert!(!listed.contains(&id_of(&in_progress)));

    // A second run finds the same differences (they are still there), each once.
    let again = run_on_vps(&stack).await;
    assert_eq!(found(&stack, again["id"].as_str().unwrap()).await, expected);
}

#[tokio::test]
async fn a_service_that_changed_after_the_run_read_it_is_not_reported() {
    let stack = Stack::new().await;
    let (steady, changing) =
        (id_of(&stack.active_vps("alice").await), id_of(&stack.active_vps("alice").await));
    let run =
        reconciliation::start(&stack.app, vec![shared::domain::ProductType::Vps], "test").await.unwrap();
    // The snapshot (one page), then the panel page.
    let read = reconciliation::carry_on_for(&stack.app, &run.id, Budget::UNLIMITED, 1).await.unwrap();
    assert_eq!(read.run.at.phase, shared::domain::drift::Phase::Panel);
    // Meanwhile the client suspends one (billing and the panel move together, through the
    // queue), and someone resumes it by hand on the panel: a real drift, but after the run
    // read the service, so this run leaves it to the next.
    stack.post(&format!("/services/{changing}/disable"), &stack.client("alice"), json!({})).await.ok(200);
    stack.drain_queue(10).await;
    for id in [&steady, &changing] {
        stack.panel_control("drift", json!({"service_id": id, "status": "suspended"})).await;
    }
    let done = reconciliation::carry_on(&stack.app, &run.id, Budget::UNLIMITED).await.unwrap();
    assert_eq!(done.run.status, shared::domain::drift::RunStatus::Done);
    assert_eq!(
        found(&stack, &run.id).await,
        BTreeMap::from([(steady.clone(), "suspended_on_panel".to_owned())])
    );
    // The next run reads it again: billing holds it suspended, and so does the panel.
    stack.panel_control("drift", json!({"service_id": changing, "status": "active"})).await;
    let next = run_on_vps(&stack).await;
    assert_eq!(
        found(&stack, next["id"].as_str().unwrap()).await,
        BTreeMap::from([
            (steady, "suspended_on_panel".to_owned()),
            (changing, "not_suspended_on_panel".to_owned())
        ])
    );
}

#[tokio::test]
async fn an_item_ignored_keeps_its_reason_and_takes_the_service_off_the_attention_list() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let id = id_of(&stack.active_vps("alice").await);
    stack.panel_control("drift", json!({"service_id": id, "status": "suspended"})).await;
    let run = run_on_vps(&stack).await;
    let run_id = run["id"].as_str().unwrap();
    let resolve = format!("/reconciliations/{run_id}/items/{id}/resolve");
    stack.post(&resolve, &provider, json!({"action": "ignore"})).await.problem(400);
    stack.post(&resolve, &provider, json!({"action": "ignore", "reason": " "})).await.problem(400);
    stack.post(&resolve, &provider, json!({"action": "forget"})).await.problem(400);
    stack
        .post(&resolve, &stack.client("alice"), json!({"action": "ignore", "reason": "mine"}))
        .await
        .problem(403);
    let ignored = stack
        .post(&resolve, &provider, json!({"action": "ignore", "reason": "maintenance window"}))
        .await
        .ok(200)
        .clone();
    assert_eq!(ignored["resolution"]["action"], "ignore");
    assert_eq!(ignored["resolution"]["reason"], "maintenance window");
    // Again with the same action: as it is; with another: refused.
    let again =
        stack.post(&resolve, &provider, json!({"action": "ignore", "reason": "twice"})).await.ok(200).clone();
    assert_eq!(again["resolution"]["reason"], "maintenance window");
    stack.post(&resolve, &provider, json!({"action": "accept_panel"})).await.problem(409);
    let attention = stack.get("/services?needs_attention=true", &provider).await.ok(200).clone();
    assert!(!ids(&attention).contains(&id), "{attention}");
    let history = stack.history(&id).await;
    assert!(history.iter().any(|(op, _, _)| op == "drift_resolved"), "{history:?}");
    stack
        .post(
            &format!("/reconciliations/{run_id}/items/nothing/resolve"),
            &provider,
            json!({"action": "ignore", "reason": "x"}),
        )
        .await
        .problem(404);
}

#[tokio::test]
async fn reconciliations_are_the_providers_and_the_job_starts_one_a_day() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    stack.post("/reconciliations", &alice, json!({})).await.problem(403);
    stack.post("/reconciliations", &stack.provider(), json!({"product_type": "boat"})).await.problem(400);
    stack.get("/reconciliations/01JDQ8Z6V5Q0M3W2Y5H7K9T1AB", &stack.provider()).await.problem(404);
    stack.get("/reconciliations/01JDQ8Z6V5Q0M3W2Y5H7K9T1AB/items", &stack.provider()).await.problem(404);
    let first = stack.run_job("reconcile").await;
    let started = first["started"].as_str().expect("the day's run").to_owned();
    assert_eq!(first["done"], json!([started]));
    let run = stack.get(&format!("/reconciliations/{started}"), &alice).await;
    run.problem(403);
    let run = stack.get(&format!("/reconciliations/{started}"), &stack.provider()).await.ok(200).clone();
    assert_eq!(run["status"], "done");
    assert_eq!(run["product_types"].as_array().unwrap().len(), 6, "{run}");
    // The same day: nothing new to start.
    let second = stack.run_job("reconcile").await;
    assert_eq!(second["started"], Value::Null, "{second}");
}

#[tokio::test]
async fn each_item_resolved_brings_billing_and_the_panel_in_step_and_the_next_run_finds_nothing() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let mut made = BTreeMap::new();
    for name in [
        "missing",
        "resume_there",
        "suspend_there",
        "tariff",
        "options",
        "deleted",
        "take_suspension",
        "take_resumption",
    ] {
        made.insert(name, id_of(&stack.active_vps("alice").await));
    }
    let alice = stack.client("alice");
    stack.post(&format!("/services/{}/disable", made["suspend_there"]), &provider, json!({})).await.ok(200);
    stack.post(&format!("/services/{}/disable", made["take_resumption"]), &alice, json!({})).await.ok(200);
    stack.send(Call::new("DELETE", &format!("/services/{}", made["deleted"])).token(&provider)).await.ok(200);
    stack.drain_queue(10).await;
    let drifts = [
        ("missing", json!({"status": "missing"})),
        ("resume_there", json!({"status": "suspended"})),
        ("suspend_there", json!({"status": "active"})),
        ("tariff", json!({"status": "active", "tariff_id": "vps-pro"})),
        ("options", json!({"status": "active", "options": [{"id": "ipv4", "quantity": 3}]})),
        ("deleted", json!({"status": "active", "product_type": "vps", "tariff_id": "vps-start"})),
        ("take_suspension", json!({"status": "suspended"})),
        ("take_resumption", json!({"status": "active"})),
    ];
    for (name, body) in drifts {
        let mut body = body;
        body["service_id"] = json!(made[name]);
        stack.panel_control("drift", body).await;
    }
    stack
        .panel_control(
            "orphan",
            json!({"account_id": "by-hand-2", "product_type": "vps", "tariff_id": "vps-start"}),
        )
        .await;
    let balance = stack.balance("alice").await;
    let calls_before = stack.panel_calls().await.len();

    let run = run_on_vps(&stack).await;
    let run_id = run["id"].as_str().unwrap().to_owned();
    assert_eq!(found(&stack, &run_id).await.len(), 9);
    let resolve = |item: &str, body: Value| {
        let path = format!("/reconciliations/{run_id}/items/{item}/resolve");
        let provider = provider.clone();
        let stack = &stack;
        async move { stack.post(&path, &provider, body).await }
    };
    // What billing cannot take from the panel without a change of what is paid, and what no
    // service of ours can be made to match.
    resolve(&made["tariff"], json!({"action": "accept_panel"})).await.problem(422);
    resolve(&made["missing"], json!({"action": "accept_panel"})).await.problem(422);
    let orphans = stack
        .get(&format!("/reconciliations/{run_id}/items?kind=orphan_on_panel"), &provider)
        .await
        .ok(200)
        .clone();
    let orphan = orphans["items"][0]["id"].as_str().unwrap().to_owned();
    resolve(&orphan, json!({"action": "apply_billing"})).await.problem(422);
    resolve(&orphan, json!({"action": "accept_panel"})).await.problem(422);
    // The orphan becomes bob's: nothing charged, nothing done on the panel but the link, no
    // e-mail; what it was given until its expiry is never credited.
    let expires = stack.app.clock.now().plus_seconds(20 * 86_400);
    let adopt = json!({"action": "adopt", "client_id": "bob", "tariff_id": "vps-start", "expires_at": expires,
                       "renewal_price": 450});
    resolve(
        &orphan,
        json!({"action": "adopt", "client_id": "bob", "tariff_id": "domain-com",
                            "expires_at": expires, "renewal_price": 450}),
    )
    .await
    .problem(422);
    resolve(&orphan, json!({"action": "adopt", "client_id": "bob"})).await.problem(400);
    let adopted = resolve(&orphan, adopt.clone()).await.ok(200).clone();
    let bobs = adopted["resolution"]["service_id"].as_str().unwrap().to_owned();
    assert_eq!(resolve(&orphan, adopt).await.ok(200)["resolution"]["service_id"], bobs, "adopted once");
    let service = stack.get(&format!("/services/{bobs}"), &stack.client("bob")).await.ok(200).clone();
    assert_eq!((service["status"].clone(), service["renewal_price"].clone()), (json!("active"), json!(450)));
    assert_eq!(stack.balance("bob").await, 0);
    let paid = stack.get(&format!("/services/{bobs}/paid-time"), &stack.client("bob")).await.ok(200).clone();
    assert_eq!(paid["unused"], 0, "{paid}");
    for name in ["missing", "resume_there", "suspend_there", "tariff", "options", "deleted"] {
        let item = resolve(&made[name], json!({"action": "apply_billing"})).await.ok(200).clone();
        assert_eq!(item["resolution"]["action"], "apply_billing", "{name}");
    }
    resolve(&made["take_suspension"], json!({"action": "accept_panel"})).await.ok(200);
    resolve(&made["take_resumption"], json!({"action": "accept_panel"})).await.ok(200);
    stack.drain_queue(20).await;

    // Each apply_billing was one ordinary panel operation, and nothing moved money.
    let calls: Vec<(String, String)> = stack.panel_calls().await[calls_before..]
        .iter()
        .map(|c| {
            (
                c["request"]["service_id"].as_str().unwrap().to_owned(),
                c["request"]["operation"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (name, operation) in [
        ("missing", "activation"),
        ("resume_there", "resume"),
        ("suspend_there", "suspension"),
        ("tariff", "tariff_change"),
        ("options", "options_change"),
        ("deleted", "deletion"),
    ] {
        assert!(calls.contains(&(made[name].clone(), operation.to_owned())), "{name}: {calls:?}");
    }
    assert_eq!(calls.len(), 6, "{calls:?}");
    assert_eq!(stack.balance("alice").await, balance);
    assert_eq!(stack.service(&made["take_suspension"]).await["status"], "suspended_by_admin");
    assert_eq!(stack.service(&made["take_resumption"]).await["status"], "active");
    assert_eq!(stack.service(&made["suspend_there"]).await["status"], "suspended_by_admin");
    assert_eq!(stack.service(&made["deleted"]).await["status"], "deleted");
    let attention = stack.get("/services?needs_attention=true", &provider).await.ok(200).clone();
    assert!(ids(&attention).is_empty(), "{attention}");

    let next = run_on_vps(&stack).await;
    assert_eq!(found(&stack, next["id"].as_str().unwrap()).await, BTreeMap::new());
}

#[tokio::test]
async fn under_fix_suspensions_the_job_suspends_again_on_the_panel_what_billing_holds_suspended() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let mut rules = vps_rules_on(Some(format!("{}/vps", stack.panel)), "immediate");
    rules["reconcile"] = json!("fix_suspensions");
    stack.put("/product-types/vps", &provider, rules).await.ok(200);
    let (running_there, suspended_there) =
        (id_of(&stack.active_vps("alice").await), id_of(&stack.active_vps("alice").await));
    stack.post(&format!("/services/{running_there}/disable"), &provider, json!({})).await.ok(200);
    stack.drain_queue(5).await;
    stack.panel_control("drift", json!({"service_id": running_there, "status": "active"})).await;
    stack.panel_control("drift", json!({"service_id": suspended_there, "status": "suspended"})).await;
    let balance = stack.balance("alice").await;

    let run = run_on_vps(&stack).await;
    let run_id = run["id"].as_str().unwrap();
    let items = stack.get(&format!("/reconciliations/{run_id}/items"), &provider).await.ok(200).clone();
    let by_service = |id: &str| {
        items["items"].as_array().unwrap().iter().find(|i| i["service_id"] == id).cloned().unwrap()
    };
    // The money-safe direction, done by the job itself; the other kept for a person.
    let fixed = by_service(&running_there);
    assert_eq!(fixed["resolution"]["action"], "apply_billing", "{fixed}");
    assert_eq!(fixed["resolution"]["by"], "system:reconcile");
    assert_eq!(by_service(&suspended_there)["resolution"], Value::Null);
    stack.drain_queue(5).await;
    let last = stack.panel_calls().await.last().cloned().unwrap();
    assert_eq!(
        (last["request"]["service_id"].as_str(), last["request"]["operation"].as_str()),
        (Some(running_there.as_str()), Some("suspension"))
    );
    assert_eq!(stack.service(&running_there).await["status"], "suspended_by_admin");
    assert_eq!(stack.balance("alice").await, balance);
    let next = run_on_vps(&stack).await;
    assert_eq!(
        found(&stack, next["id"].as_str().unwrap()).await,
        BTreeMap::from([(suspended_there, "suspended_on_panel".to_owned())])
    );
    let runs = stack.get("/reconciliations?limit=1", &provider).await.ok(200).clone();
    assert_eq!(runs["items"][0]["id"], next["id"], "newest first");
    assert!(runs["cursor"].is_string());
    stack.get("/reconciliations", &stack.client("alice")).await.problem(403);
}

#[tokio::test]
async fn a_drift_found_is_published_on_the_bus() {
    let stack = Stack::with_events().await;
    let id = id_of(&stack.active_vps("alice").await);
    stack.panel_control("drift", json!({"service_id": id, "status": "missing"})).await;
    stack.publish_events().await;
    stack.tapped().await;
    let run = run_on_vps(&stack).await;
    stack.publish_events().await;
    let tapped = stack.tapped().await;
    let found: Vec<&Value> = tapped.iter().filter(|e| e["detail-type"] == "service.drift_found").collect();
    assert_eq!(found.len(), 1, "{tapped:?}");
    let detail = &found[0]["detail"];
    assert_eq!(detail["service_id"], id);
    assert_eq!(detail["details"]["kind"], "missing_on_panel");
    assert_eq!(detail["details"]["reconciliation_id"], run["id"]);
    assert_eq!(detail["actor"]["id"], "system:reconcile");
}

#[tokio::test]
async fn a_missing_service_billing_holds_suspended_comes_back_suspended_and_work_under_way_is_not_reported() {
    let stack = Stack::new().await;
    let provider = stack.provider();
    let (held, changing) = (id_of(&stack.active_vps("alice").await), id_of(&stack.active_vps("alice").await));
    stack.post(&format!("/services/{held}/disable"), &provider, json!({})).await.ok(200);
    stack.drain_queue(5).await;
    // A tariff change runs beside the status: its panel call not made yet.
    stack.fund("alice", 100_000).await;
    stack
        .post(
            &format!("/services/{changing}/change-tariff"),
            &stack.client("alice"),
            json!({"tariff_id": "vps-pro"}),
        )
        .await
        .ok(200);
    stack.panel_control("drift", json!({"service_id": held, "status": "missing"})).await;
    stack.panel_control("drift", json!({"service_id": changing, "status": "suspended"})).await;

    let run = run_on_vps(&stack).await;
    let run_id = run["id"].as_str().unwrap();
    assert_eq!(found(&stack, run_id).await, BTreeMap::from([(held.clone(), "missing_on_panel".to_owned())]));
    let resolve = format!("/reconciliations/{run_id}/items/{held}/resolve");
    // Billing keeps a suspension for non-payment, or by the provider, on the panel too: taking
    // the panel's "nothing" would end what is paid for.
    stack.post(&resolve, &provider, json!({"action": "accept_panel"})).await.problem(422);
    let calls_before = stack.panel_calls().await.len();
    stack.post(&resolve, &provider, json!({"action": "apply_billing"})).await.ok(200);
    stack.drain_queue(10).await;
    let calls: Vec<String> = stack.panel_calls().await[calls_before..]
        .iter()
        .filter(|c| c["request"]["service_id"] == held)
        .map(|c| c["request"]["operation"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(calls, ["activation", "suspension"], "activated again, and suspended as billing holds it");
    assert_eq!(stack.service(&held).await["status"], "suspended_by_admin");
    // The tariff change done, the panel is asked what it holds again: the drift made by hand
    // while it ran is found now.
    let next = run_on_vps(&stack).await;
    assert_eq!(
        found(&stack, next["id"].as_str().unwrap()).await,
        BTreeMap::from([(changing, "suspended_on_panel".to_owned())])
    );
}

#[tokio::test]
async fn addresses_added_and_removed_leave_billing_and_the_panel_in_step() {
    let stack = Stack::new().await;
    let id = id_of(&stack.active_vps("alice").await);
    stack.fund("alice", 100_000).await;
    let alice = stack.client("alice");
    let added = stack.send(address_call("POST", &id, "", &alice, "add-1").json(&json!({"version": 6}))).await;
    let address = added.ok(201)["address"].as_str().unwrap().to_owned();
    stack.send(address_call("POST", &id, "", &alice, "add-2").json(&json!({"version": 4}))).await.ok(201);
    assert_eq!(
        stack.send(address_call("DELETE", &id, &format!("/{address}"), &alice, "remove-1")).await.status,
        204
    );
    let run = run_on_vps(&stack).await;
    assert_eq!(found(&stack, run["id"].as_str().unwrap()).await, BTreeMap::new());
}

#[tokio::test]
async fn the_job_carries_on_the_weeks_unfinished_runs_and_leaves_older_ones() {
    let stack = Stack::new().await;
    let now = stack.app.clock.now();
    stack.clock.set(now.plus_seconds(-8 * 86_400));
    let old = reconciliation::start(&stack.app, vec![shared::domain::ProductType::Vps], "ops").await.unwrap();
    stack.clock.set(now.plus_seconds(-86_400));
    let recent =
        reconciliation::start(&stack.app, vec![shared::domain::ProductType::Vps], "ops").await.unwrap();
    stack.clock.set(now);
    let summary = stack.run_job("reconcile").await;
    let carried: Vec<&str> =
        summary["carried_on"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(carried.contains(&recent.id.as_str()), "{summary}");
    assert!(!carried.contains(&old.id.as_str()), "{summary}");
    let old = stack.get(&format!("/reconciliations/{}", old.id), &stack.provider()).await.ok(200).clone();
    assert_eq!(old["status"], "running");
}
