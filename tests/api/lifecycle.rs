//! The lifecycle through the real queue and the reference panel over HTTP.

use crate::helpers::{id_of, Call, Stack, MAX_RECEIVES};
use serde_json::json;

#[tokio::test]
async fn a_client_suspends_resumes_and_renews() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let service = stack.active_vps("alice").await;
    let id = id_of(&service);
    let suspending = stack.post(&format!("/services/{id}/disable"), &alice, json!({})).await.ok(200).clone();
    assert_eq!(
        (suspending["status"].clone(), suspending["operation"].clone()),
        (json!("in_progress"), json!("suspension"))
    );
    stack.drain_queue(5).await;
    assert_eq!(stack.service(&id).await["status"], "suspended");
    stack.post(&format!("/services/{id}/enable"), &alice, json!({})).await.ok(200);
    stack.drain_queue(5).await;
    let resumed = stack.service(&id).await;
    assert_eq!(resumed["status"], "active");

    stack.fund("alice", 1000).await;
    stack.post(&format!("/services/{id}/renew"), &alice, json!({"periods": 2})).await.ok(200);
    assert_eq!(stack.balance("alice").await, 0);
    stack.drain_queue(5).await;
    let renewed = stack.service(&id).await;
    let before = shared::domain::Timestamp::parse(resumed["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(renewed["expires_at"], json!(before.plus_months(2).to_string()));
    assert_eq!(renewed["status"], "active");
    stack.post(&format!("/services/{id}/renew"), &alice, json!({"periods": 1})).await.problem(402);
    let operations: Vec<String> = stack.history(&id).await.into_iter().map(|(op, _, _)| op).collect();
    assert_eq!(
        operations,
        [
            "order",
            "activation",
            "activation",
            "suspension",
            "suspension",
            "resume",
            "resume",
            "renewal",
            "renewal"
        ]
    );
}

#[tokio::test]
async fn an_administrator_suspension_binds_the_client() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let provider = stack.provider();
    let id = id_of(&stack.active_vps("alice").await);
    stack.post(&format!("/services/{id}/disable"), &provider, json!({"reason": "spam"})).await.ok(200);
    stack.drain_queue(5).await;
    assert_eq!(stack.service(&id).await["status"], "suspended_by_admin");
    let detail = stack.post(&format!("/services/{id}/enable"), &alice, json!({})).await.problem(409);
    assert!(detail.contains("suspended_by_admin"), "{detail}");
    stack.post(&format!("/services/{id}/enable"), &provider, json!({})).await.ok(200);
    stack.drain_queue(5).await;
    assert_eq!(stack.service(&id).await["status"], "active");
}

#[tokio::test]
async fn an_exhausted_panel_gives_not_available_until_the_provider_retries() {
    let stack = Stack::new().await;
    stack.panel_control("capacity", json!({"vps": 0})).await;
    let alice = stack.client("alice");
    let service = stack.order_vps(&alice).await;
    let id = id_of(&service);
    stack.fund("alice", 500).await;
    stack.drain_queue(5).await;
    let unavailable = stack.service(&id).await;
    assert_eq!(
        (unavailable["status"].clone(), unavailable["paid"].clone()),
        (json!("not_available"), json!(true))
    );
    stack.post(&format!("/services/{id}/activate"), &alice, json!({})).await.problem(403);
    stack.panel_control("capacity", json!({"vps": 5})).await;
    stack.post(&format!("/services/{id}/activate"), &stack.provider(), json!({})).await.ok(200);
    stack.drain_queue(5).await;
    assert_eq!(stack.service(&id).await["status"], "active");
}

#[tokio::test]
async fn a_message_delivered_twice_is_carried_out_once() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let service = stack.active_vps("alice").await;
    let id = id_of(&service);
    stack.post(&format!("/services/{id}/reboot"), &alice, json!({})).await.ok(200);
    // SQS delivers at least once: put a second copy of the reboot message on the queue.
    let sqs = stack.app.queue.as_ref().unwrap().client().clone();
    let received = sqs.receive_message().queue_url(&stack.queues.operations).send().await.unwrap();
    let message = received.messages.unwrap().remove(0);
    for _ in 0..2 {
        sqs.send_message()
            .queue_url(&stack.queues.operations)
            .message_body(message.body.clone().unwrap())
            .send()
            .await
            .unwrap();
    }
    sqs.delete_message()
        .queue_url(&stack.queues.operations)
        .receipt_handle(message.receipt_handle.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(stack.drain_queue(5).await, 2);
    let reboots =
        stack.panel_calls().await.into_iter().filter(|c| c["request"]["operation"] == "reboot").count();
    assert_eq!(reboots, 1);
    let history = stack.history(&id).await;
    assert_eq!(history.iter().filter(|(op, _, _)| op == "reboot").count(), 2, "started and done, once");
    assert_eq!(stack.service(&id).await["status"], "active");
}

#[tokio::test]
async fn a_failing_panel_ends_in_the_dead_letter_queue_with_the_service_restored() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let service = stack.active_vps("alice").await;
    let id = id_of(&service);
    stack.fund("alice", 500).await;
    stack.panel_control("fail", json!({"product_type": "vps", "count": -1, "status": 503})).await;
    stack.post(&format!("/services/{id}/renew"), &alice, json!({"periods": 1})).await.ok(200);
    assert_eq!(stack.balance("alice").await, 0);
    assert_eq!(stack.drain_queue(10).await as u32, MAX_RECEIVES);
    assert_eq!(stack.dead_letters().await, 1);
    let restored = stack.service(&id).await;
    assert_eq!(restored["status"], "active");
    assert_eq!(restored["expires_at"], service["expires_at"]);
    assert!(restored["last_error"].as_str().unwrap().contains("503"), "{restored}");
    assert_eq!(stack.balance("alice").await, 500, "the renewal was refunded");
    let last = stack.history(&id).await.pop().unwrap();
    assert_eq!(last, ("renewal".to_owned(), "in_progress".to_owned(), "active".to_owned()));
}

#[tokio::test]
async fn a_batch_reports_only_its_failed_messages() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let vps = stack.order_vps(&alice).await;
    let domain = json!({"tariff_id": "domain-com", "period_months": 12, "params": {"domain": "example.com"}});
    let domain = stack.post("/services", &alice, domain).await.ok(201).clone();
    stack.panel_control("fail", json!({"product_type": "vps", "count": 1, "status": 500})).await;
    stack.fund("alice", 500 + 1200).await;
    let sqs = stack.app.queue.as_ref().unwrap().client().clone();
    let mut failures = Vec::new();
    let delivered = tests::bridge::pump(&sqs, &stack.queues.operations, |event| async {
        let context = lambda_runtime::Context::default();
        let response = stack.worker.handle(lambda_runtime::LambdaEvent::new(event, context)).await.unwrap();
        failures = response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
        Ok(response)
    })
    .await
    .unwrap();
    assert_eq!((delivered, failures.len()), (2, 1));
    assert_eq!(stack.service(&id_of(&domain)).await["status"], "active");
    assert_eq!(stack.service(&id_of(&vps)).await["status"], "in_progress");
    stack.drain_queue(5).await;
    assert_eq!(stack.service(&id_of(&vps)).await["status"], "active", "the retry succeeded");
}

#[tokio::test]
async fn deletion_follows_each_client_delete_rule() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    // vps: immediate.
    let vps = id_of(&stack.active_vps("alice").await);
    let deleting = stack.send(Call::new("DELETE", &format!("/services/{vps}")).token(&alice)).await;
    assert_eq!(deleting.ok(200)["operation"], "deletion");
    stack.drain_queue(5).await;
    stack.get(&format!("/services/{vps}"), &alice).await.problem(404);
    assert_eq!(stack.service(&vps).await["status"], "deleted");
    let again = stack.post(&format!("/services/{vps}/renew"), &stack.provider(), json!({"periods": 1})).await;
    again.problem(409);
    // domain: forbidden to the client, the provider may.
    let order = json!({"tariff_id": "domain-com", "period_months": 12, "params": {"domain": "example.com"}});
    let domain = id_of(&stack.post("/services", &alice, order).await.ok(201).clone());
    stack.send(Call::new("DELETE", &format!("/services/{domain}")).token(&alice)).await.problem(403);
    // Never activated: deleted at once by the provider.
    let gone = stack.send(Call::new("DELETE", &format!("/services/{domain}")).token(&stack.provider())).await;
    assert_eq!(gone.ok(200)["status"], "deleted");
    // dedicated: at the end of the period.
    let order =
        json!({"tariff_id": "dedicated-e3", "period_months": 1, "params": {"os_template": "debian-12"}});
    let dedicated = stack.post("/services", &alice, order).await.ok(201).clone();
    stack.fund("alice", dedicated["order_price"].as_u64().unwrap()).await;
    stack.drain_queue(5).await;
    let id = id_of(&dedicated);
    let scheduled = stack.send(Call::new("DELETE", &format!("/services/{id}")).token(&alice)).await;
    let scheduled = scheduled.ok(200).clone();
    assert_eq!(
        (scheduled["status"].clone(), scheduled["delete_at"].clone()),
        (json!("active"), scheduled["expires_at"].clone())
    );
}

#[tokio::test]
async fn reboot_and_transfer_are_for_their_product_types_and_if_match_guards() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_vps("alice").await);
    let detail = stack.post(&format!("/services/{id}/transfer"), &alice, json!({})).await.problem(403);
    assert!(detail.contains("vps"), "{detail}");
    let version = stack.service(&id).await["version"].as_u64().unwrap();
    let stale = Call::new("POST", &format!("/services/{id}/reboot"))
        .token(&alice)
        .header("if-match", &format!("\"{}\"", version - 1));
    stack.send(stale).await.problem(412);
    let fresh = Call::new("POST", &format!("/services/{id}/reboot"))
        .token(&alice)
        .header("if-match", &format!("\"{version}\""));
    assert_eq!(stack.send(fresh).await.ok(200)["operation"], "reboot");
    stack.post(&format!("/services/{id}/reboot"), &alice, json!({})).await.problem(409);
    stack.post(&format!("/services/{id}/reboot"), &stack.client("bob"), json!({})).await.problem(404);
}

#[tokio::test]
async fn of_two_conflicting_requests_one_wins_and_the_history_says_which() {
    let stack = Stack::new().await;
    let alice = stack.client("alice");
    let provider = stack.provider();
    let id = id_of(&stack.active_vps("alice").await);
    stack.fund("alice", 5000).await;
    for _ in 0..3 {
        let before = stack.history(&id).await.len();
        let (disable_path, renew_path) = (format!("/services/{id}/disable"), format!("/services/{id}/renew"));
        let disable = stack.post(&disable_path, &provider, json!({}));
        let renew = stack.post(&renew_path, &alice, json!({"periods": 1}));
        let (disabled, renewed) = tokio::join!(disable, renew);
        let mut statuses = [disabled.status, renewed.status];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "{} / {}", disabled.body, renewed.body);
        let loser = if disabled.status == 409 { &disabled } else { &renewed };
        loser.problem(409);
        let history = stack.history(&id).await;
        assert_eq!(history.len(), before + 1, "exactly the winner's entry");
        let winner = if disabled.status == 200 { "suspension" } else { "renewal" };
        assert_eq!(history.last().unwrap().0, winner);
        stack.drain_queue(5).await;
        if winner == "suspension" {
            stack.post(&format!("/services/{id}/enable"), &provider, json!({})).await.ok(200);
            stack.drain_queue(5).await;
        }
        assert_eq!(stack.service(&id).await["status"], "active");
        stack.balance("alice").await;
    }
}
