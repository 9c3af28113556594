//! The table's definition: used by the local stack's bootstrap and by every test table.
//! `infra/template.yaml` declares the same table for AWS.

use super::keys::{Index, PK, SK, TTL_ATTRIBUTE};
use super::StoreError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(StoreError::backend)
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder().attribute_name(name).key_type(kind).build().map_err(StoreError::backend)
}

/// Creates the table with its indexes, its stream (new images: the history entries it carries
/// are the lifecycle events' outbox) and TTL. Answers false when it already exists.
pub async fn create_table(client: &Client, table: &str) -> Result<bool, StoreError> {
    let stream = StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::NewImage)
        .build()
        .map_err(StoreError::backend)?;
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(stream)
        .attribute_definitions(string_attribute(PK)?)
        .attribute_definitions(string_attribute(SK)?)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?);
    for index in Index::ALL_INDEXES {
        request = request
            .attribute_definitions(string_attribute(&index.pk())?)
            .attribute_definitions(string_attribute(&index.sk())?)
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(index.name())
                    .key_schema(key(&index.pk(), KeyType::Hash)?)
                    .key_schema(key(&index.sk(), KeyType::Range)?)
                    .projection(Projection::builder().projection_type(ProjectionType::All).build())
                    .build()
                    .map_err(StoreError::backend)?,
            );
    }
    match request.send().await {
        Ok(_) => {}
        Err(err) if err.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => {
            return Ok(false)
        }
        Err(err) => return Err(StoreError::backend(err)),
    }
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(TTL_ATTRIBUTE)
                .build()
                .map_err(StoreError::backend)?,
        )
        .send()
        .await
        .map_err(StoreError::backend)?;
    Ok(true)
}
