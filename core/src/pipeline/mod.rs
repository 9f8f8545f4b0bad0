//! The export pipeline: the only module that builds OpenTelemetry providers and exporters.
//! Code that records stages never knows whether spans go to a file or to Jaeger.

mod config;
mod counters;
mod exporter;
mod file_exporter;
mod processor;

pub use config::{BatchSettings, DEFAULT_FILE, ExportTarget, OtlpProtocol, PipelineConfig};
pub use counters::PipelineCounters;
pub(crate) use processor::{BatchProcessor, Shared as PipelineHandle};
