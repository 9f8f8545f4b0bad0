//! Shared by the benchmarks: the raw OpenTelemetry SDK set up the way ordertrace uses it, so a
//! stage and a plain span are compared on equal terms.

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// An exporter that accepts every batch and does nothing with it: the cost measured is the
/// caller's, not the backend's.
#[derive(Debug, Default)]
pub struct DiscardExporter;

impl SpanExporter for DiscardExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        std::hint::black_box(batch);
        Ok(())
    }
}
