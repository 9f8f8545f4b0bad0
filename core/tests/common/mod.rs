//! Shared by the integration tests: a tracer writing to its own temporary file, and reading
//! back what it exported.
#![allow(dead_code)]

use ordertrace::otlp_json::{RecordedSpan, read_file};
use ordertrace::{OrderTracer, OrderTracerBuilder};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub const USER: &str = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";
pub const SECOND: Duration = Duration::from_secs(5);

pub struct TempFile(pub PathBuf);

impl TempFile {
    pub fn new(name: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ordertrace-it-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempFile(dir.join(format!("{name}.jsonl")))
    }

    pub fn spans(&self) -> Vec<RecordedSpan> {
        if !self.0.exists() {
            return Vec::new();
        }
        read_file(&self.0).unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A file-exporting builder that ignores the environment and has heartbeats off.
pub fn builder(service: &str, file: &TempFile) -> OrderTracerBuilder {
    OrderTracer::builder()
        .without_env()
        .service_name(service)
        .file(file.0.clone())
        .heartbeat_interval(None)
}

pub fn named<'a>(spans: &'a [RecordedSpan], name: &str) -> Vec<&'a RecordedSpan> {
    spans.iter().filter(|s| s.name == name).collect()
}

pub fn one<'a>(spans: &'a [RecordedSpan], name: &str) -> &'a RecordedSpan {
    let found = named(spans, name);
    assert_eq!(
        found.len(),
        1,
        "expected one span named {name}, got {}: {spans:#?}",
        found.len()
    );
    found[0]
}
