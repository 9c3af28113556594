//! Observability: structured JSON logs, once per function instance, whose every line carries
//! the fields of the span it is written in (request id, principal, service id, operation id);
//! and CloudWatch metrics in the embedded metric format (EMF), written as log lines that
//! CloudWatch turns into metrics.

use serde_json::json;

pub fn init() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .without_time()
        .with_target(false)
        .init();
}

/// The span of one HTTP request: its API Gateway request id, the principal (`role:id`) and the
/// service it names, if any.
pub fn request_span(request_id: &str, principal: &str, service_id: &str) -> tracing::Span {
    tracing::info_span!("request", request_id, principal, service_id)
}

/// The span of one queued operation.
pub fn operation_span(message_id: &str, service_id: &str, operation_id: &str) -> tracing::Span {
    tracing::info_span!("operation", message_id, service_id, operation_id)
}

/// The namespace of this service's metrics.
pub const NAMESPACE: &str = "HostingServices";

/// An EMF line counting one `metric` for `operation`, at `timestamp_ms`.
pub fn count_line(metric: &str, operation: &str, timestamp_ms: i64) -> String {
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Operation"]],
                "Metrics": [{"Name": metric, "Unit": "Count"}],
            }],
        },
        "Operation": operation,
        metric: 1,
    })
    .to_string()
}

/// Operations carried out, failed (to be retried) and dead-lettered, by operation.
#[derive(Debug, Clone, Copy)]
pub enum Metric {
    OperationsDone,
    OperationsFailed,
    OperationsDeadLettered,
    /// Sent again by the operations sweep: its message was lost.
    OperationsRequeued,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::OperationsDone => "OperationsDone",
            Metric::OperationsFailed => "OperationsFailed",
            Metric::OperationsDeadLettered => "OperationsDeadLettered",
            Metric::OperationsRequeued => "OperationsRequeued",
        }
    }
}

/// Counts one `metric` for `operation` (EMF on standard output, where Lambda's log goes).
pub fn count(metric: Metric, operation: &str) {
    let now = time::OffsetDateTime::now_utc();
    let millis = (now.unix_timestamp_nanos() / 1_000_000) as i64;
    println!("{}", count_line(metric.name(), operation, millis));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_an_emf_document_naming_its_metric_and_dimension() {
        let line: serde_json::Value =
            serde_json::from_str(&count_line("OperationsDone", "renewal", 1_700_000_000_000)).unwrap();
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000i64);
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["Operation"]]));
        assert_eq!(directive["Metrics"][0], json!({"Name": "OperationsDone", "Unit": "Count"}));
        // Every dimension and metric named in the directive is a member of the document.
        assert_eq!((line["Operation"].clone(), line["OperationsDone"].clone()), (json!("renewal"), json!(1)));
    }
}
