//! Reads OTLP/JSON back into plain span records: the embedded exporter's file (one
//! `ExportTraceServiceRequest` per line) and Jaeger's api/v3 answers (the same document under
//! `result`). Ids may arrive as hex (OTLP/JSON) or base64 (protobuf JSON mapping); both are
//! accepted and returned as lowercase hex.
//!
//! ```
//! let line = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"mes-api"}}]},
//!   "scopeSpans":[{"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7",
//!   "name":"price_calculated","startTimeUnixNano":"1000","endTimeUnixNano":"3000",
//!   "attributes":[{"key":"order.stage","value":{"intValue":"5"}}],"status":{"code":2}}]}]}]}"#;
//! let spans = ordertrace::otlp_json::parse_document(line, "example").unwrap();
//! assert_eq!(spans[0].service_name, "mes-api");
//! assert_eq!(spans[0].attribute("order.stage"), Some("5"));
//! assert!(spans[0].is_error());
//! ```

use crate::error::{OrderTraceError, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Status code of a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanStatus {
    /// Not set.
    Unset,
    /// Explicitly OK.
    Ok,
    /// Error.
    Error,
}

/// A span event (for example `exception`).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    /// Event name.
    pub name: String,
    /// When it happened, Unix nanoseconds.
    pub time_unix_nanos: u64,
    /// Attributes, values as text.
    pub attributes: BTreeMap<String, String>,
}

/// A link to another span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedLink {
    /// Linked trace id (hex).
    pub trace_id: String,
    /// Linked span id (hex).
    pub span_id: String,
}

/// One span as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedSpan {
    /// Trace id (hex).
    pub trace_id: String,
    /// Span id (hex).
    pub span_id: String,
    /// Parent span id (hex), `None` for a root.
    pub parent_span_id: Option<String>,
    /// Span name.
    pub name: String,
    /// `service.name` of its resource.
    pub service_name: String,
    /// Span kind as OTLP numbers it (1 internal, 2 server, 3 client, 4 producer, 5 consumer).
    pub kind: i64,
    /// Start, Unix nanoseconds.
    pub start_unix_nanos: u64,
    /// End, Unix nanoseconds.
    pub end_unix_nanos: u64,
    /// Attributes, values as text (numbers and booleans in their JSON form).
    pub attributes: BTreeMap<String, String>,
    /// Events.
    pub events: Vec<RecordedEvent>,
    /// Links.
    pub links: Vec<RecordedLink>,
    /// Status code.
    pub status: SpanStatus,
    /// Status description.
    pub status_message: String,
}

impl RecordedSpan {
    /// An attribute's value as text.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }

    /// Whether the span's status is Error.
    pub fn is_error(&self) -> bool {
        self.status == SpanStatus::Error
    }

    /// The first `exception` event, if any.
    pub fn exception(&self) -> Option<&RecordedEvent> {
        self.events.iter().find(|e| e.name == "exception")
    }

    /// Duration in nanoseconds.
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nanos.saturating_sub(self.start_unix_nanos)
    }
}

fn bad(source: &str, reason: impl Into<String>) -> OrderTraceError {
    OrderTraceError::OtlpJson {
        source_name: source.to_string(),
        reason: reason.into(),
    }
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Decodes an id given as hex or base64 into lowercase hex; empty means absent.
fn id(value: Option<&Value>, bytes: usize) -> Option<String> {
    let s = value?.as_str()?;
    if s.is_empty() {
        return None;
    }
    let hex = if s.len() == bytes * 2 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        s.to_ascii_lowercase()
    } else {
        let raw = base64_decode(s).filter(|r| r.len() == bytes)?;
        raw.iter().map(|b| format!("{b:02x}")).collect()
    };
    (hex.bytes().any(|b| b != b'0')).then_some(hex)
}

fn number(value: Option<&Value>) -> u64 {
    match value {
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}

fn any_value_text(v: &Value) -> String {
    if let Some(s) = v.get("stringValue").and_then(Value::as_str) {
        return s.to_string();
    }
    for key in ["intValue", "doubleValue", "boolValue"] {
        match v.get(key) {
            Some(Value::String(s)) => return s.clone(),
            Some(other @ (Value::Number(_) | Value::Bool(_))) => return other.to_string(),
            _ => {}
        }
    }
    if let Some(values) = v
        .get("arrayValue")
        .and_then(|a| a.get("values"))
        .and_then(Value::as_array)
    {
        return format!(
            "[{}]",
            values
                .iter()
                .map(any_value_text)
                .collect::<Vec<_>>()
                .join(",")
        );
    }
    v.to_string()
}

fn attributes(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|kv| {
                    let key = kv.get("key")?.as_str()?.to_string();
                    Some((key, kv.get("value").map(any_value_text).unwrap_or_default()))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn status(v: Option<&Value>) -> (SpanStatus, String) {
    let Some(v) = v else {
        return (SpanStatus::Unset, String::new());
    };
    let code = match v.get("code") {
        Some(Value::Number(n)) => match n.as_u64() {
            Some(1) => SpanStatus::Ok,
            Some(2) => SpanStatus::Error,
            _ => SpanStatus::Unset,
        },
        Some(Value::String(s)) if s.ends_with("ERROR") => SpanStatus::Error,
        Some(Value::String(s)) if s.ends_with("OK") => SpanStatus::Ok,
        _ => SpanStatus::Unset,
    };
    let message = v
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    (code, message)
}

fn kind(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => match s.as_str() {
            "SPAN_KIND_INTERNAL" => 1,
            "SPAN_KIND_SERVER" => 2,
            "SPAN_KIND_CLIENT" => 3,
            "SPAN_KIND_PRODUCER" => 4,
            "SPAN_KIND_CONSUMER" => 5,
            _ => 0,
        },
        _ => 0,
    }
}

fn span(source: &str, service_name: &str, s: &Value) -> Result<RecordedSpan> {
    let trace_id =
        id(s.get("traceId"), 16).ok_or_else(|| bad(source, "a span has no valid traceId"))?;
    let span_id =
        id(s.get("spanId"), 8).ok_or_else(|| bad(source, "a span has no valid spanId"))?;
    let (status, status_message) = status(s.get("status"));
    Ok(RecordedSpan {
        trace_id,
        span_id,
        parent_span_id: id(s.get("parentSpanId"), 8),
        name: s
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        service_name: service_name.to_string(),
        kind: kind(s.get("kind")),
        start_unix_nanos: number(s.get("startTimeUnixNano")),
        end_unix_nanos: number(s.get("endTimeUnixNano")),
        attributes: attributes(s.get("attributes")),
        events: s
            .get("events")
            .and_then(Value::as_array)
            .map(|evs| {
                evs.iter()
                    .map(|e| RecordedEvent {
                        name: e
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        time_unix_nanos: number(e.get("timeUnixNano")),
                        attributes: attributes(e.get("attributes")),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        links: s
            .get("links")
            .and_then(Value::as_array)
            .map(|ls| {
                ls.iter()
                    .filter_map(|l| {
                        Some(RecordedLink {
                            trace_id: id(l.get("traceId"), 16)?,
                            span_id: id(l.get("spanId"), 8)?,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
        status,
        status_message,
    })
}

/// Parses one OTLP/JSON document: `{"resourceSpans": ...}` or Jaeger's `{"result": {...}}`.
pub fn parse_document(text: &str, source: &str) -> Result<Vec<RecordedSpan>> {
    let doc: Value =
        serde_json::from_str(text).map_err(|e| bad(source, format!("not JSON: {e}")))?;
    parse_value(&doc, source)
}

/// Like [`parse_document`], for a document already parsed.
pub fn parse_value(doc: &Value, source: &str) -> Result<Vec<RecordedSpan>> {
    let mut out = Vec::new();
    walk_spans(doc, source, |s| {
        out.push(s?);
        Ok(())
    })?;
    Ok(out)
}

/// Spans of a document read leniently: a span without valid ids is skipped and its reason
/// kept, the other spans of the document are still returned.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LenientSpans {
    /// The spans that could be read.
    pub spans: Vec<RecordedSpan>,
    /// One message per skipped span (e.g. "a span has no valid spanId").
    pub skipped: Vec<String>,
}

/// Like [`parse_value`], but a malformed span is skipped (and named in
/// [`LenientSpans::skipped`]) instead of failing the whole document; a document without
/// `resourceSpans` is still an error. For readers that follow many orders at once, where one
/// bad span must not hide the others.
pub fn parse_value_lenient(doc: &Value, source: &str) -> Result<LenientSpans> {
    let mut out = LenientSpans::default();
    walk_spans(doc, source, |s| {
        match s {
            Ok(span) => out.spans.push(span),
            Err(OrderTraceError::OtlpJson { reason, .. }) => out.skipped.push(reason),
            Err(other) => out.skipped.push(other.to_string()),
        }
        Ok(())
    })?;
    Ok(out)
}

/// Calls `each` with every span of the document (or the reason it cannot be read).
fn walk_spans(
    doc: &Value,
    source: &str,
    mut each: impl FnMut(Result<RecordedSpan>) -> Result<()>,
) -> Result<()> {
    let doc = doc.get("result").unwrap_or(doc);
    let resource_spans = doc
        .get("resourceSpans")
        .and_then(Value::as_array)
        .ok_or_else(|| bad(source, "no resourceSpans array"))?;
    for rs in resource_spans {
        let resource = attributes(rs.get("resource").and_then(|r| r.get("attributes")));
        let service = resource.get("service.name").cloned().unwrap_or_default();
        for ss in rs
            .get("scopeSpans")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for s in ss
                .get("spans")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                each(span(source, &service, s))?;
            }
        }
    }
    Ok(())
}

/// Reads every span of an OTLP/JSON-lines file; the error names the bad line.
pub fn read_file(path: &Path) -> Result<Vec<RecordedSpan>> {
    let text = std::fs::read_to_string(path).map_err(|source| OrderTraceError::File {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.extend(parse_document(
            line,
            &format!("{} line {}", path.display(), n + 1),
        )?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_base64_ids_and_jaeger_result_wrapper() {
        let doc = r#"{"result":{"resourceSpans":[{"scopeSpans":[{"spans":[
            {"traceId":"S/kvNXezTaajzpKdDg5HNg==","spanId":"APBnqgupArc=","name":"x",
             "status":{"code":"STATUS_CODE_ERROR"},"kind":"SPAN_KIND_SERVER"}]}]}]}}"#;
        let s = &parse_document(doc, "t").unwrap()[0];
        assert_eq!(s.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(s.span_id, "00f067aa0ba902b7");
        assert_eq!(s.parent_span_id, None);
        assert!(s.is_error());
        assert_eq!(s.kind, 2);
    }

    #[test]
    fn reads_events_links_and_numeric_values() {
        let doc = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[
            {"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","parentSpanId":"",
             "attributes":[{"key":"b","value":{"boolValue":true}},{"key":"d","value":{"doubleValue":1.5}}],
             "events":[{"name":"exception","timeUnixNano":"7","attributes":[{"key":"exception.type","value":{"stringValue":"E"}}]}],
             "links":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4737","spanId":"00f067aa0ba902b8"}]}]}]}]}"#;
        let s = &parse_document(doc, "t").unwrap()[0];
        assert_eq!(s.attribute("b"), Some("true"));
        assert_eq!(s.attribute("d"), Some("1.5"));
        assert_eq!(s.exception().unwrap().attributes["exception.type"], "E");
        assert_eq!(s.links[0].span_id, "00f067aa0ba902b8");
    }

    #[test]
    fn rejects_non_json_and_missing_resource_spans() {
        assert!(
            parse_document("nope", "t")
                .unwrap_err()
                .to_string()
                .contains("not JSON")
        );
        assert!(
            parse_document("{}", "t")
                .unwrap_err()
                .to_string()
                .contains("no resourceSpans")
        );
    }

    #[test]
    fn rejects_span_without_valid_ids() {
        let doc = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"00000000000000000000000000000000","spanId":"00f067aa0ba902b7"}]}]}]}"#;
        assert!(
            parse_document(doc, "t")
                .unwrap_err()
                .to_string()
                .contains("traceId")
        );
    }

    #[test]
    fn lenient_parse_skips_a_span_with_a_bad_id_and_keeps_the_others() {
        let doc: Value = serde_json::from_str(
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[
            {"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"xyz"},
            {"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","name":"ok"}]}]}]}"#,
        )
        .unwrap();
        let read = parse_value_lenient(&doc, "t").unwrap();
        assert_eq!(read.spans.len(), 1);
        assert_eq!(read.spans[0].name, "ok");
        assert_eq!(read.skipped, ["a span has no valid spanId"]);
    }

    #[test]
    fn lenient_parse_still_rejects_a_document_without_resource_spans() {
        let doc: Value = serde_json::from_str(r#"{"foo":1}"#).unwrap();
        assert!(parse_value_lenient(&doc, "t").is_err());
    }

    #[test]
    fn read_file_names_the_bad_line() {
        let p =
            std::env::temp_dir().join(format!("ordertrace-otlpjson-{}.jsonl", std::process::id()));
        std::fs::write(&p, "{\"resourceSpans\":[]}\n\nbroken\n").unwrap();
        let err = read_file(&p).unwrap_err().to_string();
        std::fs::remove_file(&p).ok();
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn read_file_reports_missing_file() {
        assert!(matches!(
            read_file(Path::new("/nonexistent/x.jsonl")),
            Err(OrderTraceError::File { .. })
        ));
    }
}
