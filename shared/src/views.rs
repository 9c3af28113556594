//! Wire forms that differ from the stored form.

use crate::domain::Service;
use serde_json::{json, Value};

/// A service as the API shows it: the stored service plus its `flags`.
pub fn service(service: &Service) -> Value {
    let mut body = serde_json::to_value(service).expect("a service serializes");
    let fields = body.as_object_mut().expect("a service is an object");
    let special_price = fields.remove("special_price").unwrap_or(Value::Bool(false));
    let operations_running = fields.remove("operations_running").unwrap_or(Value::Bool(false));
    // The pending operation's undo data is the worker's business.
    fields.remove("pending");
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
