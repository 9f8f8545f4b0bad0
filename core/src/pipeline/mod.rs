//! The export pipeline: the only module that builds OpenTelemetry providers and exporters.
//! Code that records stages never knows whether spans go to a file or to Jaeger.
//!
//! With a spool folder configured ([`SpoolSettings`], `ORDERTRACE_SPOOL_DIR`), batches the
//! endpoint cannot take wait on disk and are replayed in order when it is back, also by the
//! next process after a crash; the folder layout, record format, bounds and duplicate handling
//! are documented in [`spool`].

mod config;
mod counters;
mod exporter;
mod file_exporter;
mod processor;
pub mod spool;

pub use config::{
    BatchSettings, DEFAULT_FILE, DEFAULT_SPOOL_MAX_AGE, DEFAULT_SPOOL_MAX_BYTES, ExportTarget,
    MIN_SPOOL_MAX_BYTES, OtlpProtocol, PipelineConfig, SpanLimitSettings, SpoolSettings,
};
pub use counters::PipelineCounters;
pub(crate) use processor::{BatchProcessor, Queued, Shared as PipelineHandle};

/// The instrumentation scope of every span ordertrace makes: the SDK tracer's and the one
/// stage records are exported with, so both kinds carry the same.
pub(crate) fn ordertrace_scope() -> opentelemetry::InstrumentationScope {
    opentelemetry::InstrumentationScope::builder("ordertrace")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}
