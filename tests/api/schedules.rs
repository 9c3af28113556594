//! The scheduled jobs: auto-renewal, the expiry sweep and the abuse sweep, against the emulator.

use crate::helpers::{id_of, vps_rules_on, Stack};
use serde_json::json;
use shared::domain::{Clock, Timestamp};

const DAY: i64 = 86_400;

#[tokio::test]
async fn a_due_service_is_renewed_once_however_often_the_job_runs() {
    let stack = Stack::on_november_first().await;
    let id = id_of(&stack.active_vps("alice").await);
    stack.fund("alice", 2000).await;
    assert_eq!(stack.run_job("auto-renewal").await["acted"], 0, "not within the lead yet");
    // vps renews 3 days ahead: on 28 November for 1 December.
    stack.clock.set(Timestamp::parse("2026-11-28T00:00:00Z").unwrap());
    let (first, second) = tokio::join!(stack.run_job("auto-renewal"), stack.run_job("auto-renewal"));
    let acted = first["acted"].as_u64().unwrap() + second["acted"].as_u64().unwrap();
    assert_eq!(acted, 1, "overlapping runs: {first} {second}");
    assert_eq!(stack.run_job("auto-renewal").await["acted"], 0);
    stack.drain_queue(5).await;
    assert_eq!(stack.run_job("auto-renewal").await["found"], 0, "renewed: no longer due");
    let renewed = stack.service(&id).await;
    assert_eq!(
        (renewed["status"].clone(), renewed["expires_at"].clone()),
        (json!("active"), json!("2027-01-01T00:00:00.000Z"))
    );
    let renewals: Vec<i64> =
        stack.ledger("alice").await.into_iter().filter(|(k, _)| k == "renewal").map(|(_, a)| a).collect();
    assert_eq!(renewals, [-500]);
    assert_eq!(stack.balance("alice").await, 1500);
}

#[tokio::test]
async fn without_funds_it_lapses_then_is_deleted() {
    let stack = Stack::on_november_first().await;
    let id = id_of(&stack.active_vps("alice").await);
    stack.clock.set(Timestamp::parse("2026-11-29T10:00:00Z").unwrap());
    for _ in 0..2 {
        let summary = stack.run_job("auto-renewal").await;
        assert!(summary["acted"].as_u64().unwrap() <= 1, "{summary}");
    }
    let declined = |history: &[(String, String, String)]| {
        history.iter().filter(|(op, b, a)| op == "renewal" && b == a).count()
    };
    assert_eq!(declined(&stack.history(&id).await), 1, "once a day");
    stack.clock.advance_seconds(DAY);
    stack.run_job("auto-renewal").await;
    assert_eq!(declined(&stack.history(&id).await), 2, "and again the next day");
    assert_eq!(stack.balance("alice").await, 0, "nothing charged");

    stack.clock.set(Timestamp::parse("2026-12-01T00:00:00Z").unwrap());
    stack.run_job("expiry-sweep").await;
    stack.drain_queue(5).await;
    let lapsed = stack.service(&id).await;
    assert_eq!(lapsed["status"], "temporarily_suspended");
    assert_eq!(stack.run_job("expiry-sweep").await["acted"], 0, "a second run changes nothing");
    let before = stack.history(&id).await.len();
    stack.clock.advance_seconds(13 * DAY);
    stack.run_job("expiry-sweep").await;
    assert_eq!(stack.history(&id).await.len(), before, "vps services are kept 14 days");
    stack.clock.advance_seconds(DAY);
    stack.run_job("expiry-sweep").await;
    stack.drain_queue(5).await;
    assert_eq!(stack.service(&id).await["status"], "deleted");
    stack.get(&format!("/services/{id}"), &stack.client("alice")).await.problem(404);
}

#[tokio::test]
async fn a_renewal_payment_lifts_the_non_payment_suspension() {
    let stack = Stack::on_november_first().await;
    let id = id_of(&stack.active_vps("alice").await);
    stack.clock.set(Timestamp::parse("2026-12-02T00:00:00Z").unwrap());
    stack.run_job("expiry-sweep").await;
    stack.drain_queue(5).await;
    assert_eq!(stack.service(&id).await["status"], "temporarily_suspended");
    stack.fund("alice", 500).await;
    stack.post(&format!("/services/{id}/renew"), &stack.client("alice"), json!({"periods": 1})).await.ok(200);
    stack.drain_queue(5).await;
    let back = stack.service(&id).await;
    assert_eq!(
        (back["status"].clone(), back["expires_at"].clone()),
        (json!("active"), json!("2027-01-02T00:00:00.000Z"))
    );
    // Issue 12, defect 6: it lifted the last suspension, so the panel resumed the service too.
    let operations: Vec<String> = stack
        .panel_calls()
        .await
        .iter()
        .filter(|c| c["request"]["service_id"] == id.as_str())
        .map(|c| c["request"]["operation"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(operations, ["activation", "suspension", "renewal", "resume"]);
    assert_eq!(stack.run_job("expiry-sweep").await["acted"], 0);
}

/// Alice's vps, lapsed for non-payment, whose renewal she has asked for (paid) from a panel
/// that fails every resume.
async fn renewing_a_lapsed_vps_the_panel_will_not_resume(stack: &Stack) -> String {
    let id = id_of(&stack.active_vps("alice").await);
    stack.clock.set(Timestamp::parse("2026-12-02T00:00:00Z").unwrap());
    stack.run_job("expiry-sweep").await;
    stack.drain_queue(5).await;
    stack.fund("alice", 500).await;
    stack.panel_control("fail", json!({"product_type": "vps", "count": -1, "operation": "resume"})).await;
    stack.post(&format!("/services/{id}/renew"), &stack.client("alice"), json!({"periods": 1})).await.ok(200);
    id
}

#[tokio::test]
async fn a_renewal_the_panel_made_stands_when_the_panel_will_not_resume_the_service() {
    let stack = Stack::on_november_first().await;
    let id = renewing_a_lapsed_vps_the_panel_will_not_resume(&stack).await;
    stack.drain_queue(10).await;
    assert_eq!(stack.dead_letters().await, 1, "the panel failed to the last receive");

    // The panel renewed it: the renewal is kept, paid, and not refunded.
    let kept = stack.service(&id).await;
    assert_eq!(kept["expires_at"], "2027-01-02T00:00:00.000Z");
    assert_eq!(stack.balance("alice").await, 0, "not refunded: the panel renewed it");
    // Still suspended on the panel, so here too, for the provider to resume.
    assert_eq!(kept["status"], "suspended_by_admin");
    assert!(kept["last_error"].as_str().unwrap().contains("did not resume"), "{kept}");
    let told = stack.get(&format!("/services/{id}"), &stack.client("alice")).await.ok(200).clone();
    assert_eq!(told["last_error"], shared::domain::failure::RENEWED_NOT_RESUMED, "the client's words");
    stack.post(&format!("/services/{id}/enable"), &stack.client("alice"), json!({})).await.problem(409);
    stack.panel_control("fail", json!({"product_type": "vps", "count": 0})).await;
    stack.post(&format!("/services/{id}/enable"), &stack.provider(), json!({})).await.ok(200);
    stack.drain_queue(5).await;
    let resumed = stack.service(&id).await;
    assert_eq!(
        (resumed["status"].clone(), resumed["expires_at"].clone()),
        (json!("active"), kept["expires_at"].clone())
    );
    assert_eq!(stack.run_job("expiry-sweep").await["acted"], 0);
}

#[tokio::test]
async fn a_renewal_the_panel_made_on_an_earlier_receive_stands_when_the_panel_is_then_unreachable() {
    let stack = Stack::on_november_first().await;
    let id = renewing_a_lapsed_vps_the_panel_will_not_resume(&stack).await;
    // The first receive: the panel renews, and will not resume.
    assert_eq!(stack.drain_queue(1).await, 1);
    // Then the panel cannot be reached at all, to the last receive.
    let unreachable = vps_rules_on(Some("http://127.0.0.1:9/vps".into()), "immediate");
    stack.put("/product-types/vps", &stack.provider(), unreachable).await.ok(200);
    stack.drain_queue(10).await;
    let kept = stack.service(&id).await;
    assert_eq!(kept["expires_at"], "2027-01-02T00:00:00.000Z", "the renewal the panel made stands: {kept}");
    assert_eq!(stack.balance("alice").await, 0, "not refunded");
    assert_eq!(kept["status"], "suspended_by_admin");
}

#[tokio::test]
async fn a_service_that_cannot_be_read_holds_up_no_job() {
    let stack = Stack::on_november_first().await;
    let due = id_of(&stack.active_vps("alice").await);
    // Another service due the same day, stored with a date no reader takes (the year 3000).
    let id = id_of(&stack.active_vps("bob").await);
    let service =
        stack.app.store.get_service(&shared::domain::ServiceId::parse(&id).unwrap()).await.unwrap().unwrap();
    let mut item = shared::store::batch::service_item(&service).unwrap();
    let unreadable = aws_sdk_dynamodb::types::AttributeValue::S("3000-01-01T00:00:00.000Z".into());
    item.insert("expires_at".into(), unreadable);
    let put = stack.app.store.client().put_item().table_name(stack.app.store.table()).set_item(Some(item));
    put.send().await.unwrap();

    stack.clock.set(Timestamp::parse("2026-12-02T00:00:00Z").unwrap());
    let summary = stack.run_job("expiry-sweep").await;
    assert_eq!(summary["acted"], 1, "the readable one is suspended: {summary}");
    stack.drain_queue(5).await;
    assert_eq!(stack.service(&due).await["status"], "temporarily_suspended");
}

#[tokio::test]
async fn abuse_reports_at_the_limit_suspend_and_only_the_provider_lifts_it() {
    let stack = Stack::on_november_first().await;
    let id = id_of(&stack.active_vps("alice").await);
    let report = |score: u32| json!({"score": score, "description": "spam"});
    stack
        .post(&format!("/services/{id}/abuse-reports"), &stack.client("alice"), report(1))
        .await
        .problem(403);
    stack.post(&format!("/services/{id}/abuse-reports"), &stack.provider(), report(60)).await.ok(200);
    assert_eq!(stack.run_job("abuse-sweep").await["acted"], 0, "below the vps limit of 100");
    let reported = stack.post(&format!("/services/{id}/abuse-reports"), &stack.provider(), report(40)).await;
    assert_eq!(reported.ok(200)["abuse_score"], 100);
    assert_eq!(stack.run_job("abuse-sweep").await["acted"], 1);
    assert_eq!(stack.run_job("abuse-sweep").await["found"], 0, "suspended: out of the index");
    stack.drain_queue(5).await;
    assert_eq!(stack.service(&id).await["status"], "suspended_abuse");
    stack.post(&format!("/services/{id}/enable"), &stack.client("alice"), json!({})).await.problem(409);
    stack.post(&format!("/services/{id}/enable"), &stack.provider(), json!({})).await.ok(200);
    stack.drain_queue(5).await;
    let cleared = stack.service(&id).await;
    assert_eq!((cleared["status"].clone(), cleared["abuse_score"].clone()), (json!("active"), json!(0)));
}

#[tokio::test]
async fn the_sweeps_read_only_what_is_due() {
    let stack = Stack::on_november_first().await;
    let due = id_of(&stack.active_vps("alice").await);
    stack.clock.set(Timestamp::parse("2026-11-20T00:00:00Z").unwrap());
    for _ in 0..6 {
        stack.active_vps("bob").await;
    }
    stack.clock.set(Timestamp::parse("2026-12-01T00:00:00Z").unwrap());
    // Alice's expires today; Bob's six on 20 December.
    let summary = stack.run_job("expiry-sweep").await;
    assert_eq!((summary["found"].clone(), summary["acted"].clone()), (json!(1), json!(1)), "{summary}");
    assert_eq!(stack.run_job("abuse-sweep").await["found"], 0);
    stack.drain_queue(5).await;
    assert_eq!(stack.service(&due).await["status"], "temporarily_suspended");
}

#[tokio::test]
async fn the_provider_sees_what_is_coming() {
    let stack = Stack::on_november_first().await;
    let first = id_of(&stack.active_vps("alice").await);
    stack.clock.set(Timestamp::parse("2026-11-10T00:00:00Z").unwrap());
    let second = id_of(&stack.active_vps("bob").await);
    let provider = stack.provider();
    let due = stack.get("/services?due=renewal&before=2026-12-31T00:00:00Z", &provider).await.ok(200).clone();
    let listed: Vec<(String, String)> = due["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap().to_owned(), s["due_at"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        listed,
        [
            (first.clone(), "2026-11-28T00:00:00.000Z".to_owned()),
            (second, "2026-12-07T00:00:00.000Z".to_owned())
        ]
    );
    let soon =
        stack.get("/services?due=renewal&before=2026-11-30T00:00:00Z", &provider).await.ok(200).clone();
    assert_eq!(soon["items"].as_array().unwrap().len(), 1);
    assert_eq!(stack.get("/services?due=deletion", &provider).await.ok(200)["items"], json!([]));
    stack.clock.set(Timestamp::parse("2026-12-01T00:00:00Z").unwrap());
    stack.run_job("expiry-sweep").await;
    stack.drain_queue(5).await;
    let provider = stack.provider();
    let deletions =
        stack.get("/services?due=deletion&before=2027-01-01T00:00:00Z", &provider).await.ok(200).clone();
    assert_eq!(deletions["items"][0]["id"], json!(first));
    assert_eq!(deletions["items"][0]["due_at"], "2026-12-15T00:00:00.000Z");
    stack.get("/services?due=renewal", &stack.client("alice")).await.problem(403);
    stack.get("/services?due=soon", &provider).await.problem(400);
    stack.get("/services?before=2026-12-01T00:00:00Z", &provider).await.problem(400);
}

#[tokio::test]
async fn an_operation_whose_message_was_lost_is_queued_again_and_done_once() {
    let stack = Stack::on_november_first().await;
    let alice = stack.client("alice");
    let id = id_of(&stack.active_vps("alice").await);
    stack.post(&format!("/services/{id}/reboot"), &alice, json!({})).await.ok(200);
    // The request committed but its message never arrived: take it off the queue unread.
    let sqs = stack.app.queue.as_ref().unwrap().client();
    sqs.purge_queue().queue_url(&stack.queues.operations).send().await.unwrap();
    assert_eq!(stack.drain_queue(2).await, 0);
    let calls_before = stack.panel_calls().await.len();

    let early = stack.run_job("operations-sweep").await;
    assert_eq!((early["found"].clone(), early["acted"].clone()), (json!(0), json!(0)), "not stalled yet");
    stack.clock.advance_seconds(3600);
    assert_eq!(stack.run_job("operations-sweep").await["acted"], 1);
    stack.drain_queue(5).await;

    let service = stack.service(&id).await;
    assert_eq!(service["status"], "active");
    let calls = stack.panel_calls().await;
    let reboots: Vec<_> =
        calls[calls_before..].iter().filter(|c| c["request"]["operation"] == "reboot").collect();
    assert_eq!(reboots.len(), 1, "{calls:?}");
    let history = stack.history(&id).await;
    let done = history
        .iter()
        .filter(|(op, before, after)| op == "reboot" && before == "in_progress" && after == "active");
    assert_eq!(done.count(), 1, "{history:?}");
    assert_eq!(stack.run_job("operations-sweep").await["found"], 0, "nothing left running");
}

#[tokio::test]
async fn a_run_out_of_time_leaves_the_rest_to_the_next_run_and_does_nothing_twice() {
    use shared::sweeps::{expiry_sweep, Budget};
    let stack = Stack::new().await;
    let mut ids = Vec::new();
    for client in ["late-a", "late-b", "late-c"] {
        ids.push(id_of(&stack.active_vps(client).await));
    }
    stack.clock.set(stack.clock.now().plus_seconds(40 * 86_400));
    let app = stack.aws_calls.app_for(&stack.app, "expiry-sweep");
    let spent = expiry_sweep(&app, Budget::of(std::time::Duration::ZERO)).await.unwrap();
    assert_eq!((spent.found, spent.acted, spent.unfinished), (0, 0, true), "no time: none read");
    let next = expiry_sweep(&app, Budget::UNLIMITED).await.unwrap();
    assert_eq!((next.acted, next.left, next.unfinished), (3, 0, false), "the next run takes them");
    let again = expiry_sweep(&app, Budget::UNLIMITED).await.unwrap();
    assert_eq!(again.acted, 0, "and none twice");
    for id in &ids {
        let history = stack.history(id).await;
        let suspended = history.iter().filter(|(op, before, _)| op == "suspension" && before == "active");
        assert_eq!(suspended.count(), 1, "{history:?}");
    }
}

#[tokio::test]
async fn the_jobs_walk_their_due_services_a_page_at_a_time() {
    use shared::sweeps::{auto_renewal, expiry_sweep, reminders, Budget};
    let stack = Stack::on_november_first().await;
    let clients = ["page-a", "page-b", "page-c", "page-d", "page-e"];
    let mut ids = Vec::new();
    for client in clients {
        ids.push(id_of(&stack.active_vps(client).await));
    }
    // Two funded clients are renewed; three are declined, and stay in the renewal index
    // behind the walk's cursor.
    stack.fund("page-a", 2000).await;
    stack.fund("page-b", 2000).await;
    let run = |job: &'static str| {
        let mut app = stack.aws_calls.app_for(&stack.app, job);
        app.store = app.store.with_sweep_page(2);
        async move {
            let summary = match job {
                "reminders" => reminders(&app, Budget::UNLIMITED).await,
                "auto-renewal" => auto_renewal(&app, Budget::UNLIMITED).await,
                _ => expiry_sweep(&app, Budget::UNLIMITED).await,
            };
            let summary = summary.expect("the job ran");
            assert!(!summary.unfinished && summary.left == 0, "{job}: {summary:?}");
            (summary.found, summary.acted, summary.declined)
        }
    };
    // Expire 1 December; renewed 3 days ahead; the 7-day reminder from 21 November.
    stack.clock.set(Timestamp::parse("2026-11-21T06:00:00Z").unwrap());
    assert_eq!(run("reminders").await, (5, 5, 0), "three pages, each reminded");
    assert_eq!(run("reminders").await.1, 0, "once");
    stack.clock.set(Timestamp::parse("2026-11-28T01:00:00Z").unwrap());
    let (found, acted, declined) = run("auto-renewal").await;
    assert_eq!((found, declined), (5, 3), "every page read");
    assert_eq!(acted, 5, "two renewals and three declines recorded");
    stack.drain_queue(5).await;
    stack.clock.set(Timestamp::parse("2026-12-01T01:00:00Z").unwrap());
    assert_eq!(run("expiry-sweep").await, (3, 3, 0), "the three unpaid ones, over two pages");
    assert_eq!(run("expiry-sweep").await, (0, 0, 0));
    stack.drain_queue(5).await;
    for (client, id) in clients.iter().zip(&ids) {
        let status = stack.service(id).await["status"].clone();
        let expected = if ["page-a", "page-b"].contains(client) { "active" } else { "temporarily_suspended" };
        assert_eq!(status, expected, "{client}");
    }
}
