//! What `infra/template.yaml` does with failures (issue 24, items 6, 14 and 15): every job
//! that fails lands somewhere and is alarmed on, every bus rule retries and keeps what it
//! could not deliver, and every alarm on a dead-letter queue fires on messages arriving, so
//! that the second failure is heard as the first was.

use serde_yaml::Value;
use std::collections::BTreeSet;
use tests::emulator::workspace_root;

fn template() -> Value {
    let text = std::fs::read_to_string(workspace_root().join("infra/template.yaml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

fn resources(template: &Value) -> Vec<(String, Value)> {
    let map = template["Resources"].as_mapping().unwrap();
    map.iter().map(|(name, r)| (name.as_str().unwrap().to_owned(), r.clone())).collect()
}

/// The logical name a `!GetAtt X.Arn` or `!GetAtt X.QueueName` (read as a tagged value, or
/// as `Fn::GetAtt`) refers to.
fn get_att(value: &Value) -> Option<String> {
    let text = match value {
        Value::Tagged(tagged) if tagged.tag == "GetAtt" => tagged.value.as_str()?.to_owned(),
        Value::Mapping(map) => map.get("Fn::GetAtt")?.as_sequence()?.first()?.as_str()?.to_owned(),
        _ => return None,
    };
    Some(text.split('.').next()?.to_owned())
}

fn referenced(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str().map(str::to_owned),
        Value::Mapping(map) => map.get("Ref")?.as_str().map(str::to_owned),
        _ => None,
    }
}

/// The functions the template runs on a schedule.
fn jobs(template: &Value) -> Vec<(String, Value)> {
    resources(template)
        .into_iter()
        .filter(|(_, r)| {
            r["Properties"]["Events"]
                .as_mapping()
                .is_some_and(|events| events.values().any(|e| e["Type"] == "ScheduleV2"))
        })
        .collect()
}

/// Queues that hold what failed: dead-letter targets, rule dead-letter configs and failure
/// destinations.
fn dead_letter_queues(template: &Value) -> BTreeSet<String> {
    let mut queues = BTreeSet::new();
    for (_, r) in resources(template) {
        let p = &r["Properties"];
        queues.extend(get_att(&p["RedrivePolicy"]["deadLetterTargetArn"]));
        for target in p["Targets"].as_sequence().into_iter().flatten() {
            queues.extend(get_att(&target["DeadLetterConfig"]["Arn"]));
        }
        queues.extend(get_att(&p["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"]));
        for event in p["Events"].as_mapping().into_iter().flat_map(|e| e.values()) {
            queues.extend(get_att(&event["Properties"]["DeadLetterConfig"]["Arn"]));
            queues.extend(get_att(&event["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]));
        }
    }
    queues
}

#[test]
fn every_scheduled_job_has_a_failure_destination_and_an_errors_alarm() {
    let template = template();
    let jobs = jobs(&template);
    assert!(jobs.len() >= 5, "the scheduled jobs: {:?}", jobs.iter().map(|(n, _)| n).collect::<Vec<_>>());
    let alarmed: BTreeSet<String> = resources(&template)
        .into_iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm" && r["Properties"]["MetricName"] == "Errors")
        .filter_map(|(_, r)| {
            let dimensions = r["Properties"]["Dimensions"].as_sequence()?.clone();
            dimensions.iter().find(|d| d["Name"] == "FunctionName").and_then(|d| referenced(&d["Value"]))
        })
        .collect();
    for (name, job) in &jobs {
        let on_failure = &job["Properties"]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"];
        assert_eq!(on_failure["Type"], "SQS", "{name}: no failure destination");
        assert!(get_att(&on_failure["Destination"]).is_some(), "{name}: no failure queue");
        assert!(alarmed.contains(name), "{name}: no errors alarm");
    }
}

#[test]
fn every_bus_rule_retries_and_keeps_what_it_could_not_deliver_for_fourteen_days() {
    let template = template();
    let queues = resources(&template);
    let retention = |queue: &str| {
        queues
            .iter()
            .find(|(n, _)| n == queue)
            .and_then(|(_, q)| q["Properties"]["MessageRetentionPeriod"].as_u64())
    };
    let is_queue = |name: &str| queues.iter().any(|(n, q)| n == name && q["Type"] == "AWS::SQS::Queue");
    for (name, rule) in resources(&template).into_iter().filter(|(_, r)| r["Type"] == "AWS::Events::Rule") {
        for target in rule["Properties"]["Targets"].as_sequence().unwrap() {
            assert!(
                target["RetryPolicy"]["MaximumEventAgeInSeconds"].as_u64().is_some(),
                "{name}: no retry policy"
            );
            let dlq = get_att(&target["DeadLetterConfig"]["Arn"])
                .unwrap_or_else(|| panic!("{name}: no dead-letter queue"));
            assert_eq!(retention(&dlq), Some(1_209_600), "{name}: {dlq} keeps messages 14 days");
            if let Some(queue) = get_att(&target["Arn"]).filter(|t| is_queue(t)) {
                assert_eq!(
                    retention(&queue),
                    Some(1_209_600),
                    "{name}: its queue {queue} keeps messages 14 days"
                );
            }
        }
    }
}

#[test]
fn every_dead_letter_queue_is_alarmed_on_messages_arriving_not_on_one_being_there() {
    let template = template();
    let queues = dead_letter_queues(&template);
    assert!(queues.len() >= 5, "{queues:?}");
    let alarms: Vec<(String, Value)> =
        resources(&template).into_iter().filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm").collect();
    for queue in &queues {
        let on_queue: Vec<&(String, Value)> = alarms
            .iter()
            .filter(|(_, a)| serde_yaml::to_string(a).unwrap().contains(&format!("{queue}.QueueName")))
            .collect();
        assert!(!on_queue.is_empty(), "{queue}: no alarm");
        for (name, alarm) in on_queue {
            let p = &alarm["Properties"];
            // A static "at least one visible" latches in ALARM while the first message stays.
            assert!(p["MetricName"].is_null(), "{name}: alarms on a message being there, not arriving");
            let expressions: Vec<&str> =
                p["Metrics"].as_sequence().unwrap().iter().filter_map(|m| m["Expression"].as_str()).collect();
            assert!(expressions.iter().any(|e| e.starts_with("DIFF(")), "{name}: {expressions:?}");
            assert_eq!(p["ComparisonOperator"], "GreaterThanThreshold", "{name}");
        }
    }
}

/// `make redrive QUEUE=...` moves a dead-letter queue's messages back to the queue that sent
/// them there, each once, and refuses a queue nothing redrives into.
#[tokio::test]
async fn make_redrive_moves_dead_letters_back_to_their_queue_once() {
    let endpoint = tests::emulator::ensure_running();
    let config = tests::emulator::sdk_config(endpoint).await;
    let (_, queues) = tests::stack::fresh_resources(&config, "redrive", 2).await.unwrap();
    let sqs = aws_sdk_sqs::Client::new(&config);
    let dead =
        sqs.get_queue_url().queue_name(format!("{}-dlq", queues.operations.rsplit('/').next().unwrap()));
    let dead = dead.send().await.unwrap().queue_url.unwrap();
    for n in 0..3 {
        sqs.send_message().queue_url(&dead).message_body(format!("dead {n}")).send().await.unwrap();
    }
    let make = |queue: &str| {
        std::process::Command::new("make")
            .args(["-s", "redrive", &format!("QUEUE={queue}")])
            .current_dir(workspace_root())
            .env("AWS_ENDPOINT_URL", endpoint)
            .output()
            .expect("make redrive")
    };
    let out = make(dead.rsplit('/').next().unwrap());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"moved\": 3"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let got = sqs
            .receive_message()
            .queue_url(&queues.operations)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        bodies.extend(got.messages.unwrap_or_default().into_iter().filter_map(|m| m.body));
        if bodies.len() >= 3 {
            break;
        }
    }
    bodies.sort();
    assert_eq!(bodies, ["dead 0", "dead 1", "dead 2"]);
    let left = sqs.receive_message().queue_url(&dead).send().await.unwrap().messages.unwrap_or_default();
    assert!(left.is_empty(), "left in the dead-letter queue: {left:?}");
    // The source queue itself has no queue redriving into it: refused, nothing moved.
    let refused = make(queues.operations.rsplit('/').next().unwrap());
    assert!(!refused.status.success());
}

/// The TTL attribute the template enables is the one the code writes, and docs/deploying.md
/// tells how to move a stack deployed with the old one (one TTL change an hour: off, then on
/// with the new attribute).
#[test]
fn the_ttl_attribute_is_the_codes_and_its_rename_is_a_documented_two_step_deploy() {
    let template = template();
    let ttl = &template["Resources"]["Table"]["Properties"]["TimeToLiveSpecification"];
    assert_eq!(ttl["AttributeName"], shared::store::keys::TTL_ATTRIBUTE);
    assert_eq!(ttl["Enabled"], true);
    let deploying = std::fs::read_to_string(workspace_root().join("docs/deploying.md")).unwrap();
    let section = deploying
        .split("\n## ")
        .find(|section| section.starts_with("The TTL attribute"))
        .expect("a section of docs/deploying.md on the TTL attribute");
    for step in
        ["Enabled=false,AttributeName=expires_at", "`DISABLED`", "Deploy the template as it is (`ttl_at`"]
    {
        assert!(section.contains(step), "docs/deploying.md's TTL section lacks {step:?}");
    }
    let mut pages = vec![workspace_root().join("README.md")];
    for entry in std::fs::read_dir(workspace_root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "md") {
            pages.push(path);
        }
    }
    for page in pages {
        let text = std::fs::read_to_string(&page).unwrap();
        assert!(
            !text.contains("TTL on `expires_at` |"),
            "{} still names the old TTL attribute",
            page.display()
        );
    }
}

/// The notifier runs at most two batches at once: SES's sending rate is the account's.
#[test]
fn the_notifiers_concurrency_is_capped() {
    let template = template();
    let events = &template["Resources"]["NotifierFunction"]["Properties"]["Events"];
    let cap = events["Notifications"]["Properties"]["ScalingConfig"]["MaximumConcurrency"].as_u64();
    assert!(cap.is_some_and(|c| (2..=5).contains(&c)), "{cap:?}");
}

/// The stream mapping never skips a record the publisher failed while the stream keeps it: no
/// limit of retries or age, a failing batch bisected, and what it finally gives up on reported.
#[test]
fn the_stream_mapping_retries_until_its_records_leave_the_stream() {
    let template = template();
    let stream =
        &template["Resources"]["EventsPublisherFunction"]["Properties"]["Events"]["Stream"]["Properties"];
    assert_eq!(stream["MaximumRetryAttempts"].as_i64(), Some(-1), "{stream:?}");
    assert_eq!(stream["MaximumRecordAgeInSeconds"].as_i64(), Some(-1), "{stream:?}");
    assert_eq!(stream["BisectBatchOnFunctionError"].as_bool(), Some(true));
    assert_eq!(
        get_att(&stream["DestinationConfig"]["OnFailure"]["Destination"]).as_deref(),
        Some("EventsPublisherFailures")
    );
    // Held up is heard of long before the records leave the stream.
    let age = resources(&template)
        .into_iter()
        .map(|(_, r)| r)
        .find(|r| r["Properties"]["MetricName"] == "IteratorAge")
        .expect("an alarm on the publisher's iterator age");
    let dimension = &age["Properties"]["Dimensions"][0]["Value"];
    assert_eq!(referenced(dimension).as_deref(), Some("EventsPublisherFunction"));
    assert!(age["Properties"]["Threshold"].as_f64().is_some_and(|ms| ms <= 3_600_000.0));
    assert!(serde_yaml::to_string(&age["Properties"]["AlarmActions"]).unwrap().contains("AlarmTopic"));
    let replay = &template["Resources"]["ReplayEventsFunction"]["Properties"];
    assert!(replay["Events"].is_null(), "replay-events is invoked by hand");
}
