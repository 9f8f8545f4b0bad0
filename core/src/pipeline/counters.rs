//! Pipeline counters: what was started, exported, spooled, replayed, dropped (by reason) and
//! lost, readable at any time. Every field is a plain `u64` so each binding copies it as is.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of the pipeline's counters.
///
/// Every span ends up counted once as exported, dropped (with its reason) or failed; until
/// then it is in memory (`queue_depth`) or on disk (`spool_spans`).
///
/// `repr(C)`: the C ABI hands this very struct out (as `OtCounters` in `ordertrace.h`), so a new
/// counter reaches C and C# (which declares the same sequential layout) without a copy by hand.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PipelineCounters {
    /// Spans started (stages, start records, heartbeats, spans from `tracing`).
    pub spans_started: u64,
    /// Spans the exporter accepted (including those replayed from the spool).
    pub spans_exported: u64,
    /// Spans dropped, all reasons: the sum of the `spans_dropped_*` fields.
    pub spans_dropped: u64,
    /// Spans lost in failed export calls (only without a spool: with one they are spooled).
    pub spans_failed: u64,
    /// Export calls that failed (with a spool, each is retried).
    pub failed_exports: u64,
    /// Spans in memory: queued, handed to the exporter, or being exported now.
    pub queue_depth: u64,
    /// Dropped because the in-memory queue was full.
    pub spans_dropped_queue_full: u64,
    /// Dropped because they ended after the tracer was shut down.
    pub spans_dropped_shutdown: u64,
    /// Spans written to the spool (each batch once, when it is written).
    pub spans_spooled: u64,
    /// Spans exported from the spool, of this process or one before it.
    pub spans_replayed: u64,
    /// Dropped from the spool, oldest first, to stay within its byte bound.
    pub spans_dropped_spool_full: u64,
    /// Dropped from the spool because they were older than its age bound.
    pub spans_dropped_spool_expired: u64,
    /// Dropped because their spool record was torn or failed its checksum.
    pub spans_dropped_spool_corrupt: u64,
    /// Dropped because writing them to the spool failed (disk full, I/O error).
    pub spans_dropped_spool_write_failed: u64,
    /// Spool records (or torn tails) found corrupt and skipped.
    pub spool_corrupt_records: u64,
    /// Spool writes that failed.
    pub spool_write_errors: u64,
    /// Bytes of spool segments on disk now.
    pub spool_bytes: u64,
    /// Spans waiting in the spool now.
    pub spool_spans: u64,
    /// Age of the oldest span waiting in the spool, ms (0 when it is empty).
    pub spool_oldest_age_ms: u64,
    /// Dropped because the collector rejected their batch as invalid (HTTP 400, gRPC
    /// `InvalidArgument`): sending it again cannot succeed. Only with a spool (without one a
    /// failed batch is counted in `spans_failed`).
    pub spans_dropped_rejected: u64,
    /// Order ids and user ids a stage start refused (each id once): in lenient mode the stage
    /// started anyway with the problem on its span; in strict mode the start failed. Not a span
    /// count: it is not part of `spans_dropped`.
    pub ids_rejected: u64,
}

impl PipelineCounters {
    /// How many counters there are.
    pub const LEN: usize = 21;

    /// The counters' names in field order: the order every binding reads them in (the C and C#
    /// struct layout, the JNI `long[]`), exported with the schema (`pipeline_counters`) so each
    /// binding's test can check its own list against it.
    pub const NAMES: [&'static str; Self::LEN] = [
        "spans_started",
        "spans_exported",
        "spans_dropped",
        "spans_failed",
        "failed_exports",
        "queue_depth",
        "spans_dropped_queue_full",
        "spans_dropped_shutdown",
        "spans_spooled",
        "spans_replayed",
        "spans_dropped_spool_full",
        "spans_dropped_spool_expired",
        "spans_dropped_spool_corrupt",
        "spans_dropped_spool_write_failed",
        "spool_corrupt_records",
        "spool_write_errors",
        "spool_bytes",
        "spool_spans",
        "spool_oldest_age_ms",
        "spans_dropped_rejected",
        "ids_rejected",
    ];

    /// The counters' values in the order of [`Self::NAMES`].
    ///
    /// ```
    /// let c = ordertrace::PipelineCounters { spans_started: 3, ..Default::default() };
    /// assert_eq!(c.values()[0], 3);
    /// assert_eq!(ordertrace::PipelineCounters::NAMES[0], "spans_started");
    /// ```
    pub fn values(&self) -> [u64; Self::LEN] {
        // Destructured without `..`: a new field does not compile until it is listed here.
        let Self {
            spans_started,
            spans_exported,
            spans_dropped,
            spans_failed,
            failed_exports,
            queue_depth,
            spans_dropped_queue_full,
            spans_dropped_shutdown,
            spans_spooled,
            spans_replayed,
            spans_dropped_spool_full,
            spans_dropped_spool_expired,
            spans_dropped_spool_corrupt,
            spans_dropped_spool_write_failed,
            spool_corrupt_records,
            spool_write_errors,
            spool_bytes,
            spool_spans,
            spool_oldest_age_ms,
            spans_dropped_rejected,
            ids_rejected,
        } = *self;
        [
            spans_started,
            spans_exported,
            spans_dropped,
            spans_failed,
            failed_exports,
            queue_depth,
            spans_dropped_queue_full,
            spans_dropped_shutdown,
            spans_spooled,
            spans_replayed,
            spans_dropped_spool_full,
            spans_dropped_spool_expired,
            spans_dropped_spool_corrupt,
            spans_dropped_spool_write_failed,
            spool_corrupt_records,
            spool_write_errors,
            spool_bytes,
            spool_spans,
            spool_oldest_age_ms,
            spans_dropped_rejected,
            ids_rejected,
        ]
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) started: AtomicU64,
    pub(crate) exported: AtomicU64,
    pub(crate) spans_failed: AtomicU64,
    pub(crate) failed_exports: AtomicU64,
    pub(crate) dropped_queue_full: AtomicU64,
    pub(crate) dropped_shutdown: AtomicU64,
    pub(crate) spooled: AtomicU64,
    pub(crate) replayed: AtomicU64,
    pub(crate) dropped_spool_full: AtomicU64,
    pub(crate) dropped_spool_expired: AtomicU64,
    pub(crate) dropped_spool_corrupt: AtomicU64,
    pub(crate) dropped_spool_write_failed: AtomicU64,
    pub(crate) spool_corrupt_records: AtomicU64,
    pub(crate) spool_write_errors: AtomicU64,
    pub(crate) spool_bytes: AtomicU64,
    pub(crate) spool_spans: AtomicU64,
    /// Unix ms the oldest spooled record was written; 0 when the spool is empty.
    pub(crate) spool_oldest_written_ms: AtomicU64,
    pub(crate) dropped_rejected: AtomicU64,
    pub(crate) ids_rejected: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self, queue_depth: usize, now_ms: u64) -> PipelineCounters {
        let mut c = PipelineCounters {
            spans_started: self.started.load(Relaxed),
            spans_exported: self.exported.load(Relaxed),
            spans_dropped: 0,
            spans_failed: self.spans_failed.load(Relaxed),
            failed_exports: self.failed_exports.load(Relaxed),
            queue_depth: queue_depth as u64,
            spans_dropped_queue_full: self.dropped_queue_full.load(Relaxed),
            spans_dropped_shutdown: self.dropped_shutdown.load(Relaxed),
            spans_spooled: self.spooled.load(Relaxed),
            spans_replayed: self.replayed.load(Relaxed),
            spans_dropped_spool_full: self.dropped_spool_full.load(Relaxed),
            spans_dropped_spool_expired: self.dropped_spool_expired.load(Relaxed),
            spans_dropped_spool_corrupt: self.dropped_spool_corrupt.load(Relaxed),
            spans_dropped_spool_write_failed: self.dropped_spool_write_failed.load(Relaxed),
            spool_corrupt_records: self.spool_corrupt_records.load(Relaxed),
            spool_write_errors: self.spool_write_errors.load(Relaxed),
            spool_bytes: self.spool_bytes.load(Relaxed),
            spool_spans: self.spool_spans.load(Relaxed),
            spool_oldest_age_ms: match self.spool_oldest_written_ms.load(Relaxed) {
                0 => 0,
                written => now_ms.saturating_sub(written),
            },
            spans_dropped_rejected: self.dropped_rejected.load(Relaxed),
            ids_rejected: self.ids_rejected.load(Relaxed),
        };
        c.spans_dropped = c.spans_dropped_queue_full
            + c.spans_dropped_shutdown
            + c.spans_dropped_spool_full
            + c.spans_dropped_spool_expired
            + c.spans_dropped_spool_corrupt
            + c.spans_dropped_spool_write_failed
            + c.spans_dropped_rejected;
        c
    }

    pub(crate) fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_declaration_order() {
        // Debug prints the fields in declaration order, which is the layout C and C# read.
        let text = format!("{:?}", PipelineCounters::default());
        let declared: Vec<&str> = text
            .trim_start_matches("PipelineCounters { ")
            .trim_end_matches(" }")
            .split(", ")
            .map(|field| field.split(':').next().unwrap_or_default())
            .collect();
        assert_eq!(declared, PipelineCounters::NAMES);
    }

    #[test]
    fn values_follow_the_names() {
        let c = PipelineCounters {
            spans_started: 7,
            spool_oldest_age_ms: 9,
            ..Default::default()
        };
        let values = c.values();
        let at = |name: &str| PipelineCounters::NAMES.iter().position(|n| *n == name);
        assert_eq!(at("spans_started").map(|i| values[i]), Some(7));
        assert_eq!(at("spool_oldest_age_ms").map(|i| values[i]), Some(9));
        assert_eq!(values.iter().sum::<u64>(), 16);
    }

    #[test]
    fn the_struct_is_one_u64_per_counter() {
        assert_eq!(
            std::mem::size_of::<PipelineCounters>(),
            PipelineCounters::LEN * std::mem::size_of::<u64>()
        );
    }
}
