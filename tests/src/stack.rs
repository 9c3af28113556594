//! The resources the services backend needs: the table, the operations queue with its
//! dead-letter queue, and the event bus; and the demo catalog.

use aws_config::SdkConfig;
use serde::Deserialize;
use shared::domain::order::{place_order, OrderRequest};
use shared::domain::{
    ClientId, HistoryEntry, Principal, ProductType, ProductTypeRules, Role, Service, Tariff, Timestamp,
};
use shared::store::{schema, Store, StoreError};

pub const QUEUE: &str = "services-operations";
pub const EVENT_BUS: &str = "services";
/// How often a message is received before it goes to the dead-letter queue.
pub const MAX_RECEIVES: u32 = 5;

/// The demo catalog `make dev` and the tests seed: every product type, tariffs for each.
pub const CATALOG: &str = include_str!("../../infra/local/catalog.json");

#[derive(Debug, Deserialize)]
pub struct Catalog {
    pub product_types: Vec<ProductTypeRules>,
    pub tariffs: Vec<Tariff>,
}

pub fn catalog() -> Catalog {
    serde_json::from_str(CATALOG).expect("infra/local/catalog.json is a valid catalog")
}

/// Creates the table (when missing). Answers whether it was created.
pub async fn create_table(config: &SdkConfig, table: &str) -> Result<bool, StoreError> {
    schema::create_table(&aws_sdk_dynamodb::Client::new(config), table).await
}

/// The URLs of the operations queue and its dead-letter queue.
#[derive(Debug, Clone)]
pub struct Queues {
    pub operations: String,
    pub dead_letter: String,
}

/// One run's own resources in an emulator: a table named `{prefix}-{ulid}` and the operations
/// queue of that name with its dead-letter queue (redrive after `max_receives`).
pub async fn fresh_resources(
    config: &SdkConfig,
    prefix: &str,
    max_receives: u32,
) -> Result<(String, Queues), String> {
    let table = format!("{prefix}-{}", ulid::Ulid::generate().to_string().to_lowercase());
    create_table(config, &table).await.map_err(|e| e.to_string())?;
    let queues = create_messaging(config, &table, max_receives).await.map_err(|e| e.to_string())?;
    Ok((table, queues))
}

/// Creates the operations queue `name` with its dead-letter queue `{name}-dlq` (redrive after
/// `max_receives`), and the event bus; each only when missing.
pub async fn create_messaging(
    config: &SdkConfig,
    name: &str,
    max_receives: u32,
) -> Result<Queues, Box<dyn std::error::Error>> {
    let sqs = aws_sdk_sqs::Client::new(config);
    let dlq_url =
        sqs.create_queue().queue_name(format!("{name}-dlq")).send().await?.queue_url.unwrap_or_default();
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn).cloned())
        .unwrap_or_default();
    let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives});
    let queue_url = sqs
        .create_queue()
        .queue_name(name)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy, redrive.to_string())
        .attributes(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout, "60")
        .send()
        .await?
        .queue_url
        .unwrap_or_default();
    let events = aws_sdk_eventbridge::Client::new(config);
    match events.create_event_bus().name(EVENT_BUS).send().await {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_already_exists_exception()) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(Queues { operations: queue_url, dead_letter: dlq_url })
}

/// Writes the demo catalog, each product type's panel at `{panel_base}/{type}`; tariffs
/// already there are left as they are, so seeding twice works.
pub async fn seed_catalog(store: &Store, panel_base: &str) -> Result<usize, StoreError> {
    let catalog = catalog();
    for rules in &catalog.product_types {
        let panel_url = format!("{}/{}", panel_base.trim_end_matches('/'), rules.product_type.as_str());
        store.put_product_type(&ProductTypeRules { panel_url: Some(panel_url), ..rules.clone() }).await?;
    }
    let mut added = 0;
    for tariff in &catalog.tariffs {
        match store.insert_tariff(tariff).await {
            Ok(()) => added += 1,
            Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(added)
}

/// Has the `ssl` type's certificates issued by the ACME authority at `directory` (the demo's
/// Pebble), in place of its panel.
pub async fn certificates_through_acme(store: &Store, directory: &str) -> Result<(), StoreError> {
    use shared::domain::catalog::{Module, Processing};
    let ssl = catalog().product_types.into_iter().find(|r| r.product_type == ProductType::Ssl);
    let Some(ssl) = ssl else { return Ok(()) };
    let processing = Processing {
        module: Module::Acme,
        acme_directory_url: Some(directory.to_owned()),
        eab_kid: None,
        eab_hmac_key: None,
        contact: Some("certificates@hosting.example".into()),
    };
    store.put_product_type(&ProductTypeRules { panel_url: None, processing, ..ssl }).await
}

/// Writes items straight to the table, 25 to a BatchWriteItem, without conditions: for set-ups
/// too large to make through the routes against the emulator, which copies its whole table for
/// every transaction.
pub async fn put_items(store: &Store, items: Vec<shared::store::keys::Item>) -> Result<(), StoreError> {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        let writes = items
            .by_ref()
            .take(25)
            .map(|item| {
                let put = PutRequest::builder().set_item(Some(item)).build().map_err(StoreError::backend)?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut pending = Some(std::collections::HashMap::from([(store.table().to_owned(), writes)]));
        while let Some(requests) = pending.filter(|r| r.values().any(|w| !w.is_empty())) {
            let out = store.client().batch_write_item().set_request_items(Some(requests)).send().await?;
            pending = out.unprocessed_items;
        }
    }
    Ok(())
}

/// `client`'s month of the demo `vps-start` tariff as the domain places the order at `now`, for
/// set-ups written straight to the table: the service and its first history entry.
pub fn vps_order(client: &str, now: Timestamp) -> (Service, HistoryEntry) {
    let catalog = catalog();
    let tariff = catalog.tariffs.iter().find(|t| t.id.as_str() == "vps-start").expect("vps-start");
    let principal = Principal { id: ClientId::parse(client).expect("a client id"), role: Role::Client };
    let order = OrderRequest {
        client_id: principal.id.clone(),
        period_months: 1,
        auto_renew: None,
        params: [("os_template".to_owned(), "debian-12".to_owned())].into(),
        options: vec![],
        quick: false,
    };
    place_order(tariff, order, &principal, now).expect("a valid order")
}
