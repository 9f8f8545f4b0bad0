//! Spans read back from the embedded exporter's file as flat JSON objects: how the tests and
//! tools of every language check what was produced.

use crate::error::BridgeError;
use ordertrace::otlp_json::{self, RecordedSpan, SpanStatus};
use serde_json::{Value, json};

fn span_json(s: &RecordedSpan) -> Value {
    json!({
        "name": s.name,
        "service": s.service_name,
        "trace_id": s.trace_id,
        "span_id": s.span_id,
        "parent_span_id": s.parent_span_id,
        "kind": s.kind,
        "start_unix_nanos": s.start_unix_nanos,
        "end_unix_nanos": s.end_unix_nanos,
        "status": match s.status {
            SpanStatus::Unset => "unset",
            SpanStatus::Ok => "ok",
            SpanStatus::Error => "error",
        },
        "status_message": s.status_message,
        "attributes": s.attributes,
        "events": s.events.iter().map(|e| json!({
            "name": e.name,
            "attributes": e.attributes,
        })).collect::<Vec<_>>(),
        "links": s.links.iter().map(|l| json!({
            "trace_id": l.trace_id,
            "span_id": l.span_id,
        })).collect::<Vec<_>>(),
    })
}

/// The spans of a file written by the embedded exporter, as a JSON array of flat objects
/// (`name`, `service`, `trace_id`, `span_id`, `parent_span_id`, `status`, `attributes`,
/// `events`, `links`, times).
pub fn spans_json(path: &str) -> Result<String, BridgeError> {
    let spans = otlp_json::read_file(std::path::Path::new(path))?;
    let list: Vec<Value> = spans.iter().map(span_json).collect();
    Ok(Value::Array(list).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ordertrace::Status;

    #[test]
    fn a_missing_file_is_a_file_error() {
        let e = spans_json("/nonexistent/spans.jsonl").unwrap_err();
        assert_eq!(e.status, Status::File);
    }
}
