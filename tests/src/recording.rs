//! The AWS calls each function makes, recorded at the SDK: the function's clients carry an
//! interceptor that names every operation by the IAM action its policy must allow, under the
//! function's name (see `policies.rs` for what the template allows).

use crate::policies::Actions;
use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_smithy_runtime_api::client::interceptors::context::Input;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use shared::queue::Queue;
use shared::App;
use std::sync::{Arc, Mutex, PoisonError};

/// The actions called so far, by function; clones share them.
#[derive(Debug, Clone, Default)]
pub struct AwsCalls(Arc<Mutex<Actions>>);

impl AwsCalls {
    /// `app` as the function `function` has it: its DynamoDB and SQS clients record here every
    /// operation they send, as that function's. The function is on record from now on, with no
    /// action if it calls none.
    pub fn app_for(&self, app: &App, function: &str) -> App {
        self.calls().entry(function.to_owned()).or_default();
        let recorder = Recorder { function: function.to_owned(), calls: self.clone() };
        let dynamodb = app.store.client().config().to_builder().interceptor(recorder.clone()).build();
        let store = app.store.with_client(aws_sdk_dynamodb::Client::from_conf(dynamodb));
        let queue = app.queue.as_ref().map(|queue| {
            let sqs = queue.client().config().to_builder().interceptor(recorder).build();
            Queue::new(aws_sdk_sqs::Client::from_conf(sqs), queue.url())
        });
        let mail = app.mail.as_ref().map(|mail| {
            let ses = mail.client().config().to_builder().interceptor(self.recorder(function)).build();
            mail.with_client(aws_sdk_sesv2::Client::from_conf(ses))
        });
        App { store, queue, mail, ..app.clone() }
    }

    /// An EventBridge client of `function`'s, recording here.
    pub fn eventbridge_for(
        &self,
        client: &aws_sdk_eventbridge::Client,
        function: &str,
    ) -> aws_sdk_eventbridge::Client {
        let config = client.config().to_builder().interceptor(self.recorder(function)).build();
        aws_sdk_eventbridge::Client::from_conf(config)
    }

    /// An SES client of `function`'s, recording here.
    pub fn ses_for(&self, client: &aws_sdk_sesv2::Client, function: &str) -> aws_sdk_sesv2::Client {
        let config = client.config().to_builder().interceptor(self.recorder(function)).build();
        aws_sdk_sesv2::Client::from_conf(config)
    }

    fn recorder(&self, function: &str) -> Recorder {
        self.calls().entry(function.to_owned()).or_default();
        Recorder { function: function.to_owned(), calls: self.clone() }
    }

    /// Every function on record, with the actions it called.
    pub fn made(&self) -> Actions {
        self.calls().clone()
    }

    fn calls(&self) -> std::sync::MutexGuard<'_, Actions> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Debug, Clone)]
struct Recorder {
    function: String,
    calls: AwsCalls,
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    /// Once per operation, before its attempts (a retry asks for no other permission).
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let metadata = cfg.load::<Metadata>().ok_or("an SDK operation without its metadata")?;
        let actions = iam_actions(metadata, context.input());
        self.calls.calls().entry(self.function.clone()).or_default().extend(actions);
        Ok(())
    }
}

/// The IAM actions an SDK operation needs: the operation's own, but for DynamoDB's transactions
/// and SQS's batches, which IAM has no action of their own for: a transaction needs the action
/// of each of its items (`PutItem`, `UpdateItem`, `DeleteItem`, `ConditionCheckItem`; `GetItem`
/// to read), a batch the action of one message (`sqs:SendMessage` for `SendMessageBatch`).
fn iam_actions(metadata: &Metadata, input: &Input) -> Vec<String> {
    let service = iam_service(metadata.service());
    let operations = match (service.as_str(), metadata.name()) {
        ("dynamodb", "TransactWriteItems") => transaction_item_actions(input),
        ("dynamodb", "TransactGetItems") => vec!["GetItem"],
        ("sqs", batch) if batch.ends_with("Batch") => vec![batch.trim_end_matches("Batch")],
        (_, operation) => vec![operation],
    };
    operations.into_iter().map(|operation| format!("{service}:{operation}")).collect()
}

/// The prefix IAM names a service's actions with.
fn iam_service(sdk_service: &str) -> String {
    match sdk_service {
        "EventBridge" => "events".to_owned(),
        "SESv2" => "ses".to_owned(),
        other => other.to_lowercase(),
    }
}

fn transaction_item_actions(input: &Input) -> Vec<&'static str> {
    let Some(input) = input.downcast_ref::<TransactWriteItemsInput>() else {
        return vec!["TransactWriteItems"];
    };
    input
        .transact_items()
        .iter()
        .map(|item| match (item.put(), item.update(), item.delete()) {
            (Some(_), _, _) => "PutItem",
            (_, Some(_), _) => "UpdateItem",
            (_, _, Some(_)) => "DeleteItem",
            _ => "ConditionCheckItem",
        })
        .collect()
}
