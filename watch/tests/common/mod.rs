//! OTLP/JSON lines for the watch's tests, with the timestamps the test needs.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::path::PathBuf;

/// Now, Unix ms.
pub fn now_ms() -> u64 {
    ordertrace_watch::jaeger_source::now_ms()
}

/// One span of an order.
pub struct S<'a> {
    pub order: &'a str,
    pub event: &'a str,
    pub span_id: &'a str,
    pub start_ms: u64,
    pub end_ms: u64,
    pub service: &'a str,
    pub record: Option<(&'a str, &'a str)>,
    pub status_to: Option<&'a str>,
    pub error: bool,
}

impl<'a> S<'a> {
    pub fn stage(
        order: &'a str,
        event: &'a str,
        span_id: &'a str,
        start_ms: u64,
        end_ms: u64,
    ) -> Self {
        S {
            order,
            event,
            span_id,
            start_ms,
            end_ms,
            service: "shop-api",
            record: None,
            status_to: None,
            error: false,
        }
    }
}

fn kv(key: &str, value: &str) -> Value {
    json!({"key": key, "value": {"stringValue": value}})
}

/// One exporter line holding `spans` (all of the first span's service).
pub fn line(spans: &[S]) -> String {
    let service = spans.first().map_or("shop-api", |s| s.service).to_string();
    let spans: Vec<Value> = spans
        .iter()
        .map(|s| {
            let mut attrs = vec![kv("order.id", s.order), kv("order.event", s.event)];
            if let Some((kind, stage)) = s.record {
                attrs.push(kv("ordertrace.record", kind));
                attrs.push(kv("ordertrace.stage_span_id", stage));
            }
            if let Some(to) = s.status_to {
                attrs.push(kv("order.status.to", to));
            }
            json!({
                "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
                "spanId": s.span_id,
                "name": s.event,
                "startTimeUnixNano": (s.start_ms * 1_000_000).to_string(),
                "endTimeUnixNano": (s.end_ms * 1_000_000).to_string(),
                "attributes": attrs,
                "status": {"code": if s.error { 2 } else { 0 }},
            })
        })
        .collect();
    json!({"resourceSpans": [{"resource": {"attributes": [kv("service.name", &service)]},
        "scopeSpans": [{"spans": spans}]}]})
    .to_string()
}

/// A temp file removed on drop.
pub struct TempFile(pub PathBuf);

impl TempFile {
    pub fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "ordertrace-watch-{name}-{}.jsonl",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&p);
        TempFile(p)
    }

    pub fn append(&self, text: &str) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.0)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
