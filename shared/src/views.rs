//! Wire forms that differ from the stored form.

use crate::domain::{Service, ServiceId};
use serde_json::{json, Value};

/// A service as the API shows it: the stored service plus its `display_status` and `flags`.
pub fn service(service: &Service) -> Value {
    let mut body = serde_json::to_value(service).expect("a service serializes");
    let fields = body.as_object_mut().expect("a service is an object");
    let special_price = fields.remove("special_price").unwrap_or(Value::Bool(false));
    let operations_running = fields.remove("operations_running").unwrap_or(Value::Bool(false));
    // The pending operation's undo data is the worker's business.
    fields.remove("pending");
    fields.insert("display_status".into(), Value::from(service.display_status()));
    fields.insert(
        "flags".into(),
        json!({
            "special_price": special_price,
            "operations_running": operations_running,
            "auto_renew": service.auto_renew.enabled,
        }),
    );
    body
}

/// For a client, `service_id` set to null in each of `items` (tickets, ledger entries) that
/// links to a deleted service: a client never sees one. The provider sees every link.
pub async fn hide_deleted_links(
    app: &crate::App,
    principal: &crate::domain::Principal,
    items: &mut [Value],
) -> Result<(), crate::ApiError> {
    if principal.is_provider() {
        return Ok(());
    }
    let linked: Vec<ServiceId> =
        items.iter().filter_map(|item| item["service_id"].as_str().and_then(ServiceId::parse)).collect();
    if linked.is_empty() {
        return Ok(());
    }
    let deleted = app.store.deleted_among(&linked).await?;
    for item in items.iter_mut() {
        if item["service_id"].as_str().and_then(ServiceId::parse).is_some_and(|id| deleted.contains(&id)) {
            item["service_id"] = Value::Null;
        }
    }
    Ok(())
}
