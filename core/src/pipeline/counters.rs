//! Pipeline counters: what was started, exported, dropped and lost, readable at any time.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of the pipeline's counters.
///
/// `spans_started - spans_exported - spans_dropped - spans_failed - queue_depth` is the number
/// of spans still open or being exported right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PipelineCounters {
    /// Spans started (stages, start records, heartbeats, spans from `tracing`).
    pub spans_started: u64,
    /// Spans the exporter accepted.
    pub spans_exported: u64,
    /// Spans dropped because the queue was full or the tracer was shut down.
    pub spans_dropped: u64,
    /// Spans lost in failed export calls.
    pub spans_failed: u64,
    /// Export calls that failed.
    pub failed_exports: u64,
    /// Spans queued or being exported now.
    pub queue_depth: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) started: AtomicU64,
    pub(crate) exported: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) spans_failed: AtomicU64,
    pub(crate) failed_exports: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self, queue_depth: usize) -> PipelineCounters {
        PipelineCounters {
            spans_started: self.started.load(Relaxed),
            spans_exported: self.exported.load(Relaxed),
            spans_dropped: self.dropped.load(Relaxed),
            spans_failed: self.spans_failed.load(Relaxed),
            failed_exports: self.failed_exports.load(Relaxed),
            queue_depth: queue_depth as u64,
        }
    }

    pub(crate) fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Relaxed);
    }
}
