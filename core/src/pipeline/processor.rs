//! ordertrace's batch span processor. Like the SDK's `BatchSpanProcessor` it never blocks the
//! caller (a full queue drops the span), but it also counts every drop and failure, reports the
//! queue depth, and bounds flush and shutdown by a caller-chosen time. The SDK's processor does
//! not expose those numbers, and the design requires them.
//!
//! Without a spool, one worker thread takes batches off the queue and exports them; a failed
//! export loses its batch (counted). With a spool ([`super::spool`]) two threads share the
//! work: the spool writer takes every batch off the queue and hands it to the exporter in
//! memory while the exporter keeps up and nothing waits on disk, or writes it to disk when the
//! exporter is failing or behind. Before it writes a batch, every older one that is only in
//! memory (the hand-off, and a copy of the one being sent) is written first, so what a
//! `kill -9` loses is always newer than every record on disk: at most the spans in memory
//! then (`queue_depth`), never one handed over before the last completed spool write. The
//! exporter sends the batch with the lowest sequence number next, from memory or
//! from disk (replaying up to `REPLAY_IN_FLIGHT` spool records at once), and retries with
//! backoff. A batch the collector refuses as invalid is dropped and counted
//! (`spans_dropped_rejected`), not retried. Neither holds the callers' lock while touching the
//! disk.

use super::config::{BatchSettings, PipelineConfig};
use super::counters::{Counters, PipelineCounters};
use super::exporter::{SpanSink, permanent_rejection, rejected_permanently};
use super::spool::{self, Encoded, Head, Removed, Spool};
use crate::error::{OrderTraceError, Result, panic_message};
use crate::stage_record::StageRecord;
use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanLimits, SpanProcessor};
use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Shortest and longest wait between two export attempts while the endpoint fails.
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(2);
/// Most spans handed to the exporter in memory; more wait on disk.
const HANDOFF_MAX_SPANS: usize = super::config::DEFAULT_MAX_QUEUE_SIZE;
/// Records the spool writer encodes before it writes them under one lock. Spans of a step are
/// in memory until it is written (counted in `queue_depth`, lost by a `kill -9`): 8 showed no
/// measurable gain in write throughput over 1 and made the `kill -9` window 8 batches wider,
/// so each record is written as soon as it is encoded.
const WRITE_STEP_RECORDS: usize = 1;
/// Spool records replayed at once: their export requests are in flight together, so a
/// collector's latency is paid once per this many records, not once per record. Any value is
/// safe: the spool's `ACKED` moves only over contiguous accepted records (nothing skipped
/// after a crash), and a record that failed while newer ones went through is retried alone
/// (it is overtaken only by the others of its first round; see `run_exporter`).
/// 1: against Jaeger on badger, 4 was no faster (replay of 200,000 spans: 1 in flight 19.3 s
/// and 26.7 s, 4 in flight 25.2 s and 23.7 s, alternating, load 5-9; Jaeger's CPU is the
/// limit), and one request at a time keeps Jaeger's storage writes in order. The 2,048 spans
/// once missed in a 4-in-flight `kill -9` run were the in-memory hand-off held behind newer
/// records on disk, not the replay (fixed; see BENCHMARKS.md, "Third pass").
const REPLAY_IN_FLIGHT: usize = 1;
/// How often the spool's age bound is applied.
const EXPIRY_EVERY: Duration = Duration::from_secs(1);

/// What callers hand to the pipeline: a span the SDK built (records, heartbeats, `tracing`
/// spans), or a stage as recorded on the caller's thread, turned into a span only when a
/// batch is taken off the queue (see [`StageRecord`]).
#[derive(Debug)]
pub(crate) enum Queued {
    /// Boxed: these are the rare ones, and a `SpanData` is twice a stage record's size.
    Sdk(Box<SpanData>),
    Stage(StageRecord),
}

impl Queued {
    fn into_span_data(self, scope: &InstrumentationScope, limits: &SpanLimits) -> SpanData {
        match self {
            Queued::Sdk(span) => *span,
            Queued::Stage(record) => record.into_span_data(scope, limits),
        }
    }
}

/// A batch with its place in the export order.
type Numbered = (u64, Vec<SpanData>);

/// A batch that was being exported from memory when the writer had to spool something newer:
/// the writer wrote a copy first, so that a `kill -9` never finds a record on disk newer than
/// a batch that was only in memory. The export's outcome and the write's decide what happens
/// to the copy ([`settle_spilled`]).
#[derive(Debug, Clone, Copy)]
struct Spilled {
    seq: u64,
    spans: usize,
    /// The export ended: `true` if the collector took the batch (or refused it for good).
    sent: Option<bool>,
    /// The write ended: `true` if the copy is on disk.
    written: Option<bool>,
}

#[derive(Debug, Default)]
struct QueueState {
    spans: Vec<Queued>,
    /// Spans ever queued; spans taken off the queue (routed to the exporter or the spool);
    /// spans exported, dropped or failed. The queue bound applies to `pushed - routed`.
    pushed: u64,
    routed: u64,
    done: u64,
    /// The highest `pushed` value a caller is waiting to see done.
    flush_target: u64,
    shutdown_requested: bool,
    worker_exited: bool,
    last_error: Option<String>,
    /// When the exporter stops trying during a shutdown.
    give_up_at: Option<Instant>,
    /// With a spool: batches handed to the exporter in memory, and their span count.
    handoff: VecDeque<Numbered>,
    handoff_spans: usize,
    /// Batches the exporter could not send, for the writer to spool (they are older than
    /// anything queued, and keep their sequence numbers).
    returned: VecDeque<Numbered>,
    /// Sequence numbers on their way to disk; the exporter sends nothing newer meanwhile.
    writing: BTreeSet<u64>,
    /// The batch being exported from memory now; shared with the writer, which writes a copy
    /// of it to disk before anything newer (see [`Spilled`]).
    exporting: Option<(u64, Arc<Vec<SpanData>>)>,
    /// The copy on disk of the batch being exported from memory, until both halves are known.
    spilled: Option<Spilled>,
    /// Spans the writer took for the disk and has not written yet.
    to_disk_spans: usize,
    /// The last export failed: new batches go to disk until one succeeds.
    exporter_failing: bool,
    exporter_exited: bool,
    writer_exited: bool,
    next_seq: u64,
}

impl QueueState {
    /// Spans this process handed over and not yet exported, dropped or failed.
    fn in_flight(&self) -> usize {
        (self.pushed - self.done) as usize
    }

    /// Spans the queue bound applies to.
    fn unrouted(&self) -> usize {
        (self.pushed - self.routed) as usize
    }

    /// Spans in memory (the queue depth).
    fn in_memory(&self, spooling: bool) -> usize {
        if !spooling {
            return self.in_flight();
        }
        self.unrouted()
            + self.handoff_spans
            + self.returned.iter().map(|(_, b)| b.len()).sum::<usize>()
            + self.exporting.as_ref().map_or(0, |(_, b)| b.len())
            + self.to_disk_spans
    }

    /// Hands every batch waiting in memory for the exporter back to the writer, in order,
    /// behind those already returned; each is marked as being written, so the exporter sends
    /// nothing newer meanwhile.
    fn return_handoff(&mut self) {
        self.handoff_spans = 0;
        for (seq, batch) in self.handoff.drain(..) {
            self.writing.insert(seq);
            self.returned.push_back((seq, batch));
        }
    }

    fn finished(&mut self, own_spans: u64) {
        self.done += own_spans;
    }
}

#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<QueueState>,
    /// Wakes the worker: a batch is full, a flush or shutdown was asked for.
    wake: Condvar,
    /// Wakes the exporter of a spooling pipeline: a batch was routed, shutdown was asked for.
    wake_exporter: Condvar,
    /// Wakes callers waiting for a flush or shutdown to complete.
    progress: Condvar,
    counters: Arc<Counters>,
    batch: BatchSettings,
    spool: Option<Arc<Spool>>,
    /// The scope stage records are exported with: the one the SDK tracer has.
    scope: InstrumentationScope,
    /// The span limits stage records are exported with: the SDK tracer's.
    limits: SpanLimits,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // A panic while holding the lock leaves plain data behind; keep going with it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn counters(&self) -> PipelineCounters {
        let depth = self.lock().in_memory(self.spool.is_some());
        self.counters.snapshot(depth, spool::unix_ms_now())
    }

    /// Counts a stage started without the SDK (see [`StageRecord`]); the SDK's spans are
    /// counted by [`SpanProcessor::on_start`].
    pub(crate) fn count_started(&self) {
        Counters::add(&self.counters.started, 1);
    }

    /// Queues a finished span for export; drops it, counted, when the queue is full or the
    /// pipeline is shutting down. Never blocks on export.
    pub(crate) fn enqueue(&self, span: Queued) {
        let mut state = self.lock();
        // Bounded by everything not yet routed (without a spool: not yet exported), so memory
        // stays within the queue size even while the worker holds a taken batch.
        if state.shutdown_requested {
            drop(state);
            Counters::add(&self.counters.dropped_shutdown, 1);
            return;
        }
        if state.unrouted() >= self.batch.max_queue_size {
            drop(state);
            Counters::add(&self.counters.dropped_queue_full, 1);
            return;
        }
        state.spans.push(span);
        state.pushed += 1;
        // Wake the worker once, when the queue reaches a batch; while it is behind it finds
        // a full batch on its own, and a notify per span would cost every caller a syscall.
        if state.spans.len() == self.batch.max_export_batch_size {
            self.wake.notify_one();
        }
    }

    /// Counts order ids and user ids a stage start refused.
    pub(crate) fn count_ids_rejected(&self, n: usize) {
        // Nearly every stage rejects nothing: no write to a counter all threads share.
        if n > 0 {
            Counters::add(&self.counters.ids_rejected, n);
        }
    }

    /// The spool folder in use, if any.
    pub(crate) fn spool_dir(&self) -> Option<&std::path::Path> {
        self.spool.as_deref().map(Spool::dir)
    }

    pub(crate) fn last_error(&self) -> Option<String> {
        self.lock().last_error.clone()
    }

    /// Exports everything queued before this call; bounded by `timeout`.
    pub(crate) fn flush(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        if state.worker_exited {
            return Err(OrderTraceError::ShutDown);
        }
        let target = state.pushed;
        state.flush_target = state.flush_target.max(target);
        self.wake.notify_all();
        while state.done < target && !state.worker_exited {
            let now = Instant::now();
            if now >= deadline {
                return Err(OrderTraceError::Timeout {
                    operation: "flush",
                    timeout_ms: timeout.as_millis(),
                    pending: state.in_flight(),
                });
            }
            state = self
                .progress
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        Ok(())
    }

    /// Exports what is queued, stops the worker; bounded by `timeout`. Safe to call twice.
    pub(crate) fn shutdown(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        state.shutdown_requested = true;
        // The exporter keeps a quarter of the time for spooling what it could not send.
        let give_up = Instant::now() + timeout * 3 / 4;
        state.give_up_at = Some(state.give_up_at.map_or(give_up, |g| g.min(give_up)));
        self.wake.notify_all();
        self.wake_exporter.notify_all();
        while !state.worker_exited {
            let now = Instant::now();
            if now >= deadline {
                return Err(OrderTraceError::Timeout {
                    operation: "shutdown",
                    timeout_ms: timeout.as_millis(),
                    pending: state.in_flight(),
                });
            }
            state = self
                .progress
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        Ok(())
    }
}

/// The SDK-facing processor; the pipeline keeps a second handle on [`Shared`].
#[derive(Debug)]
pub(crate) struct BatchProcessor {
    shared: Arc<Shared>,
}

impl BatchProcessor {
    /// Starts the worker thread, which builds the exporter; fails if the exporter cannot be
    /// built (bad endpoint, unwritable file).
    pub(crate) fn start(
        config: &PipelineConfig,
        resource: Resource,
    ) -> Result<(Self, Arc<Shared>)> {
        let counters = Arc::new(Counters::default());
        let spool = match &config.spool {
            Some(settings) => Some(Arc::new(Spool::open(
                &spool::service_folder(&settings.dir, &config.service_name),
                settings.max_bytes,
                settings.max_age,
                Arc::clone(&counters),
            )?)),
            None => None,
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(QueueState {
                next_seq: spool.as_ref().map_or(1, |s| s.first_free_seq()),
                ..QueueState::default()
            }),
            wake: Condvar::new(),
            wake_exporter: Condvar::new(),
            progress: Condvar::new(),
            counters,
            batch: config.batch.clone(),
            spool,
            scope: super::ordertrace_scope(),
            limits: config.span_limits.into(),
        });
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<()>>();
        let worker_shared = Arc::clone(&shared);
        let worker_config = config.clone();
        std::thread::Builder::new()
            .name(thread_name("export", &config.service_name))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(OrderTraceError::PipelineStart(format!(
                            "tokio runtime: {e}"
                        ))));
                        return;
                    }
                };
                let sink = {
                    let _guard = runtime.enter();
                    SpanSink::build(&worker_config, &resource)
                };
                match sink {
                    Ok(sink) => {
                        let _ = ready_tx.send(Ok(()));
                        match worker_shared.spool.clone() {
                            Some(spool) => run_exporter(&worker_shared, &spool, &runtime, &sink),
                            None => run_worker(&worker_shared, &runtime, &sink),
                        }
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            })
            .map_err(|e| OrderTraceError::PipelineStart(format!("worker thread: {e}")))?;
        let ready = ready_rx.recv();
        if matches!(ready, Ok(Ok(()))) {
            if let Some(spool) = shared.spool.clone() {
                let writer_shared = Arc::clone(&shared);
                let spawned = std::thread::Builder::new()
                    .name(thread_name("spool", &config.service_name))
                    .spawn(move || run_writer(&writer_shared, &spool));
                if let Err(e) = spawned {
                    let _ = shared.shutdown(Duration::from_secs(1));
                    return Err(OrderTraceError::PipelineStart(format!(
                        "spool writer thread: {e}"
                    )));
                }
            }
        }
        match ready {
            Ok(Ok(())) => Ok((
                Self {
                    shared: Arc::clone(&shared),
                },
                shared,
            )),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(OrderTraceError::PipelineStart(
                "the worker thread stopped while starting".into(),
            )),
        }
    }
}

/// The name of one of the pipeline's threads: `ordertrace-<job>-<service.name>`, without the
/// NUL characters a thread name cannot hold (a service name from a C caller may have them;
/// `std::thread::Builder` panics on them).
fn thread_name(job: &str, service_name: &str) -> String {
    format!("ordertrace-{job}-{}", service_name.replace('\0', "?"))
}

fn run_worker(shared: &Shared, runtime: &tokio::runtime::Runtime, sink: &SpanSink) {
    let batch_size = shared.batch.max_export_batch_size;
    let mut taken: Vec<Queued> = Vec::with_capacity(batch_size);
    loop {
        {
            let mut state = shared.lock();
            let deadline = Instant::now() + shared.batch.scheduled_delay;
            loop {
                let flush_pending = state.flush_target > state.done;
                if state.spans.len() >= batch_size || flush_pending || state.shutdown_requested {
                    break;
                }
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                state = shared
                    .wake
                    .wait_timeout(state, deadline - now)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            if state.spans.is_empty() && state.shutdown_requested {
                drop(state);
                sink.shutdown(Duration::from_secs(1));
                let mut state = shared.lock();
                state.worker_exited = true;
                shared.progress.notify_all();
                return;
            }
            // O(1) under the lock: the callers' queue and ours trade buffers, and both keep
            // their capacity, so callers neither wait for a copy nor fault in fresh pages.
            std::mem::swap(&mut state.spans, &mut taken);
        }
        for batch in batches(&mut taken, batch_size, shared) {
            let n = batch.len();
            let outcome = export_guarded(sink, runtime, batch);
            let mut state = shared.lock();
            match outcome {
                Ok(()) => Counters::add(&shared.counters.exported, n),
                Err(e) => {
                    Counters::add(&shared.counters.spans_failed, n);
                    Counters::add(&shared.counters.failed_exports, 1);
                    state.last_error = Some(e.to_string());
                }
            }
            state.done += n as u64;
            state.routed = state.done;
            shared.progress.notify_all();
        }
    }
}

/// Empties `spans` front to back in batches of at most `size`, through one drain: `drain(..n)`
/// per batch would shift everything behind it each time, quadratic in a long queue. Stage
/// records become spans here, on the pipeline's thread.
fn batches<'a>(
    spans: &'a mut Vec<Queued>,
    size: usize,
    shared: &'a Shared,
) -> impl Iterator<Item = Vec<SpanData>> + 'a {
    let mut drain = spans.drain(..);
    std::iter::from_fn(move || {
        let batch: Vec<SpanData> = drain
            .by_ref()
            .take(size)
            .map(|q| q.into_span_data(&shared.scope, &shared.limits))
            .collect();
        (!batch.is_empty()).then_some(batch)
    })
}

/// Exports one batch; an exporter that panics must not take the worker (and every later span)
/// with it.
fn export_guarded(
    sink: &SpanSink,
    runtime: &tokio::runtime::Runtime,
    batch: Vec<SpanData>,
) -> Result<()> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink.export(runtime, batch)))
        .unwrap_or_else(|panic| {
            Err(OrderTraceError::Export(format!(
                "the exporter panicked: {}",
                panic_message(panic.as_ref())
            )))
        })
}

/// Marks one of the two spooling threads as gone; the pipeline has stopped when both are.
fn thread_exited(shared: &Shared, state: &mut QueueState) {
    if state.writer_exited && state.exporter_exited {
        state.worker_exited = true;
    }
    shared.progress.notify_all();
    shared.wake.notify_all();
    shared.wake_exporter.notify_all();
}

/// The spool writer: takes batches off the callers' queue and routes each one, in order, to
/// the exporter (in memory) or to the spool (on disk). Returned batches are written first.
fn run_writer(shared: &Shared, spool: &Spool) {
    let batch_size = shared.batch.max_export_batch_size;
    // The in-memory hand-off stays small whatever the queue: beyond it the disk is the buffer
    // (and a `kill -9` loses only what is in memory).
    let handoff_cap = shared
        .batch
        .max_queue_size
        .min(HANDOFF_MAX_SPANS)
        .max(batch_size);
    let mut taken: Vec<Queued> = Vec::with_capacity(batch_size);
    let mut next_expiry = Instant::now();
    loop {
        let returned: Vec<Numbered> = {
            let mut state = shared.lock();
            let deadline = Instant::now() + shared.batch.scheduled_delay.min(EXPIRY_EVERY);
            loop {
                let flush_pending = state.flush_target > state.routed;
                if state.spans.len() >= batch_size
                    || flush_pending
                    || state.shutdown_requested
                    || !state.returned.is_empty()
                    || Instant::now() >= deadline
                {
                    break;
                }
                let now = Instant::now();
                state = shared
                    .wake
                    .wait_timeout(state, deadline.saturating_duration_since(now))
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            let done_now = state.shutdown_requested
                && state.spans.is_empty()
                && state.returned.is_empty()
                && state.exporter_exited;
            if done_now {
                drop(state);
                // The exporter has stopped: nothing reads or writes the folder any more.
                spool.close();
                let mut state = shared.lock();
                state.writer_exited = true;
                thread_exited(shared, &mut state);
                return;
            }
            std::mem::swap(&mut state.spans, &mut taken);
            let returned: Vec<Numbered> = state.returned.drain(..).collect();
            state.to_disk_spans += returned.iter().map(|(_, b)| b.len()).sum::<usize>();
            returned
        };
        let mut to_disk: Vec<Encoded> = Vec::new();
        for (seq, batch) in returned {
            to_disk.push(Encoded::new(seq, batch));
            if to_disk.len() >= WRITE_STEP_RECORDS {
                write_step(shared, spool, &mut to_disk);
            }
        }
        write_step(shared, spool, &mut to_disk);
        for batch in batches(&mut taken, batch_size, shared) {
            let n = batch.len();
            let mut state = shared.lock();
            let seq = state.next_seq;
            state.next_seq += 1;
            state.routed += n as u64;
            let giving_up = state.give_up_at.is_some_and(|g| Instant::now() >= g);
            // Memory only while nothing waits on disk: what is in memory is then always newer
            // than every record on disk, so a `kill -9` loses a tail, never a batch older
            // than one that survives.
            let spool_idle =
                spool.head_seq().is_none() && state.writing.is_empty() && state.returned.is_empty();
            let to_memory = !giving_up
                && spool_idle
                && !state.exporter_failing
                && !state.exporter_exited
                && state.handoff_spans + n <= handoff_cap;
            if to_memory {
                state.handoff.push_back((seq, batch));
                state.handoff_spans += n;
                shared.wake_exporter.notify_one();
                continue;
            }
            let older = spill_older(&mut state);
            state.writing.insert(seq);
            state.to_disk_spans += n;
            drop(state);
            // Oldest first, each written as soon as it is encoded (no lock held meanwhile).
            for record in older {
                to_disk.push(match record {
                    Older::Batch(s, b) => Encoded::new(s, b),
                    Older::BeingSent(s, b) => Encoded::copy_of_sent(s, b.as_ref().clone()),
                });
                write_step(shared, spool, &mut to_disk);
            }
            to_disk.push(Encoded::new(seq, batch));
            if to_disk.len() >= WRITE_STEP_RECORDS {
                write_step(shared, spool, &mut to_disk);
            }
        }
        write_step(shared, spool, &mut to_disk);
        if Instant::now() >= next_expiry {
            next_expiry = Instant::now() + EXPIRY_EVERY;
            let removed = spool.drop_expired(spool::unix_ms_now());
            if removed.spans > 0 {
                let mut state = shared.lock();
                state.finished(removed.own_spans);
                shared.progress.notify_all();
            }
        }
    }
}

/// A batch older than the one the writer is about to spool, only in memory until now.
enum Older {
    Batch(u64, Vec<SpanData>),
    /// The batch being exported from memory: a copy goes to disk ([`Spilled`]).
    BeingSent(u64, Arc<Vec<SpanData>>),
}

/// Takes every batch that is only in memory (the one being exported, the hand-off, those
/// returned after a failure) for the disk, oldest first, marking each as being written: the
/// writer writes them before anything newer.
fn spill_older(state: &mut QueueState) -> Vec<Older> {
    let mut older: Vec<Older> = Vec::new();
    if let (Some((seq, batch)), None) = (&state.exporting, state.spilled) {
        state.spilled = Some(Spilled {
            seq: *seq,
            spans: batch.len(),
            sent: None,
            written: None,
        });
        state.writing.insert(*seq);
        older.push(Older::BeingSent(*seq, Arc::clone(batch)));
    }
    // Returned batches, the hand-off behind them, are all marked as being written.
    state.return_handoff();
    let returned: Vec<Numbered> = state.returned.drain(..).collect();
    for (seq, batch) in returned {
        state.to_disk_spans += batch.len();
        older.push(Older::Batch(seq, batch));
    }
    older.sort_by_key(|o| match o {
        Older::Batch(seq, _) | Older::BeingSent(seq, _) => *seq,
    });
    older
}

/// Writes the records gathered by the writer, under one spool lock, and tells the exporter.
fn write_step(shared: &Shared, spool: &Spool, records: &mut Vec<Encoded>) {
    if records.is_empty() {
        return;
    }
    let written: Vec<(u64, usize, bool)> = records
        .iter()
        .map(|r| (r.seq(), r.spans(), r.is_copy_of_sent()))
        .collect();
    let (removed, results) = spool.append_all(std::mem::take(records));
    let mut state = shared.lock();
    let mut settle = false;
    for ((seq, spans, copy), result) in written.iter().zip(&results) {
        if *copy {
            // Leaves `writing` when settled: the exporter must not replay it before.
            if let Some(spilled) = state.spilled.as_mut().filter(|s| s.seq == *seq) {
                spilled.written = Some(result.is_ok());
                settle = true;
            }
        } else {
            state.to_disk_spans -= spans;
            state.writing.remove(seq);
        }
    }
    let result = results.into_iter().find(Result::is_err).unwrap_or(Ok(()));
    after_write(shared, &mut state, removed, result);
    if settle {
        settle_spilled(shared, spool, state);
    }
}

/// Once both the export and the write of a [`Spilled`] batch have ended: a batch the collector
/// took is removed from the spool (counted done once); one it did not take stays on disk for
/// the replay; if the write failed too, it is lost and counted.
fn settle_spilled<'a>(shared: &'a Shared, spool: &Spool, mut state: MutexGuard<'a, QueueState>) {
    let Some(spilled) = state.spilled else { return };
    let (Some(sent), Some(written)) = (spilled.sent, spilled.written) else {
        return;
    };
    state.spilled = None;
    match (sent, written) {
        (true, true) => {
            // Still in `writing`, so the exporter leaves it alone while it is removed.
            drop(state);
            let removed = spool.ack(spilled.seq);
            state = shared.lock();
            state.finished(removed.own_spans);
        }
        (true, false) => state.finished(spilled.spans as u64),
        (false, true) => {} // replayed from disk, and counted done then
        (false, false) => {
            Counters::add(&shared.counters.dropped_spool_write_failed, spilled.spans);
            Counters::add(&shared.counters.spool_write_errors, 1);
            state.finished(spilled.spans as u64);
        }
    }
    state.writing.remove(&spilled.seq);
    shared.progress.notify_all();
    shared.wake_exporter.notify_one();
}

fn after_write(shared: &Shared, state: &mut QueueState, removed: Removed, result: Result<()>) {
    state.finished(removed.own_spans);
    if let Err(e) = result {
        state.last_error = Some(format!("spool write failed: {e}"));
    }
    shared.progress.notify_all();
    shared.wake_exporter.notify_one();
}

enum Work {
    Memory(u64, Arc<Vec<SpanData>>),
    /// Replay from the spool, records below this sequence number (older than anything in
    /// memory or being written).
    Disk(u64),
    Stop,
}

/// The exporter of a spooling pipeline: sends the oldest batch, from memory or disk; on a
/// failure hands what it holds in memory to the writer and retries from disk with backoff.
fn run_exporter(
    shared: &Shared,
    spool: &Spool,
    runtime: &tokio::runtime::Runtime,
    sink: &SpanSink,
) {
    let mut backoff = RETRY_MIN;
    // The newest record replay has sent (accepted or not). A record older than it is a retry
    // of one that failed while newer ones went through: it goes alone, and nothing newer
    // goes before it is through, so a record is overtaken only by the others of the round
    // in which it first failed (at most REPLAY_IN_FLIGHT - 1), however often it fails.
    let mut replay_sent_up_to = 0u64;
    loop {
        let work = {
            let mut state = shared.lock();
            loop {
                let stopping = state.shutdown_requested
                    && (state.exporter_failing
                        || state.give_up_at.is_some_and(|g| Instant::now() >= g));
                if stopping {
                    break Work::Stop;
                }
                // The oldest batch goes first, wherever it is; wait for one still being written.
                let pending = state.writing.first().copied().unwrap_or(u64::MAX);
                let memory = state.handoff.front().map_or(u64::MAX, |(seq, _)| *seq);
                let disk = spool.head_seq().unwrap_or(u64::MAX);
                let oldest = memory.min(disk);
                if oldest < pending {
                    if memory < disk {
                        if let Some((seq, batch)) = state.handoff.pop_front() {
                            state.handoff_spans -= batch.len();
                            let batch = Arc::new(batch);
                            state.exporting = Some((seq, Arc::clone(&batch)));
                            break Work::Memory(seq, batch);
                        }
                    } else {
                        break Work::Disk(pending.min(memory));
                    }
                }
                let idle = oldest == u64::MAX && pending == u64::MAX;
                if idle && state.shutdown_requested && state.pushed == state.routed {
                    break Work::Stop;
                }
                state = shared
                    .wake_exporter
                    .wait_timeout(state, Duration::from_millis(200))
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
        };
        let outcome = match work {
            Work::Stop => {
                let mut state = shared.lock();
                // What is still in memory goes to disk, for the next process.
                state.return_handoff();
                state.exporter_exited = true;
                thread_exited(shared, &mut state);
                return;
            }
            Work::Memory(seq, batch) => {
                let n = batch.len();
                // The shared copy stays until the export ends, in case it fails or the writer
                // must put it on disk.
                let result = export_guarded(sink, runtime, batch.as_ref().clone());
                let mut state = shared.lock();
                state.exporting = None;
                let sent = match result {
                    Ok(()) => {
                        Counters::add(&shared.counters.exported, n);
                        Ok(())
                    }
                    Err(e) if rejected_permanently(&e) => {
                        // The collector answered: resending this batch cannot succeed.
                        Counters::add(&shared.counters.dropped_rejected, n);
                        state.last_error = Some(rejected_message(n, &e));
                        Ok(())
                    }
                    Err(e) => Err(e),
                };
                match state.spilled.as_mut().filter(|s| s.seq == seq) {
                    Some(spilled) => {
                        // A copy is on (or on its way to) disk: it decides.
                        spilled.sent = Some(sent.is_ok());
                        settle_spilled(shared, spool, state);
                        sent
                    }
                    None => match sent {
                        Ok(()) => {
                            state.finished(n as u64);
                            Ok(())
                        }
                        Err(e) => {
                            // This batch and everything behind it in memory go to disk, in
                            // order.
                            let batch = Arc::try_unwrap(batch).unwrap_or_else(|b| (*b).clone());
                            state.writing.insert(seq);
                            state.returned.push_back((seq, batch));
                            state.return_handoff();
                            shared.wake.notify_all();
                            Err(e)
                        }
                    },
                }
            }
            Work::Disk(limit) => {
                let mut taken: Vec<spool::Taken> = Vec::with_capacity(REPLAY_IN_FLIGHT);
                let mut width = REPLAY_IN_FLIGHT;
                while taken.len() < width {
                    match spool.take_before(limit) {
                        Head::Empty => break,
                        // Removed and counted by the spool; each such record is gone, so
                        // this ends.
                        Head::Unreadable(removed) => shared.lock().finished(removed.own_spans),
                        Head::Record(t) => {
                            if taken.is_empty() && t.seq < replay_sent_up_to {
                                width = 1;
                            }
                            replay_sent_up_to = replay_sent_up_to.max(t.seq);
                            taken.push(t);
                        }
                    }
                }
                replay(shared, spool, runtime, sink, taken)
            }
        };
        let mut state = shared.lock();
        match outcome {
            Ok(()) => {
                state.exporter_failing = false;
                backoff = RETRY_MIN;
                shared.progress.notify_all();
            }
            Err(e) => {
                Counters::add(&shared.counters.failed_exports, 1);
                state.last_error = Some(e.to_string());
                state.exporter_failing = true;
                shared.progress.notify_all();
                if !state.shutdown_requested {
                    let _ = shared
                        .wake_exporter
                        .wait_timeout(state, backoff)
                        .unwrap_or_else(|p| p.into_inner());
                    backoff = (backoff * 2).min(RETRY_MAX);
                }
            }
        }
    }
}

/// Sends records taken from the spool, their requests in flight together. Accepted records
/// are acknowledged (the spool's cursor moves over contiguous ones only), rejected ones
/// dropped and counted, the others released for the next attempt; the first retryable error
/// is returned.
fn replay(
    shared: &Shared,
    spool: &Spool,
    runtime: &tokio::runtime::Runtime,
    sink: &SpanSink,
    taken: Vec<spool::Taken>,
) -> Result<()> {
    if taken.is_empty() {
        return Ok(());
    }
    let records: Vec<(u64, usize)> = taken.iter().map(|t| (t.seq, t.spans.len())).collect();
    let batches: Vec<Vec<SpanData>> = taken.into_iter().map(|t| t.spans).collect();
    let results = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        sink.export_all(runtime, batches)
    }))
    .unwrap_or_else(|panic| {
        let message = panic_message(panic.as_ref());
        records
            .iter()
            .map(|_| {
                Err(OrderTraceError::Export(format!(
                    "the exporter panicked: {message}"
                )))
            })
            .collect()
    });
    let mut first_error = None;
    for ((seq, n), result) in records.into_iter().zip(results) {
        match result {
            Ok(()) => {
                let removed = spool.ack(seq);
                Counters::add(&shared.counters.exported, n);
                Counters::add(&shared.counters.replayed, n);
                shared.lock().finished(removed.own_spans);
            }
            Err(e) if rejected_permanently(&e) => {
                let removed = spool.reject(seq);
                Counters::add(&shared.counters.dropped_rejected, n);
                let mut state = shared.lock();
                state.finished(removed.own_spans);
                state.last_error = Some(rejected_message(n, &e));
            }
            Err(e) => {
                spool.release(seq);
                first_error.get_or_insert(e);
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// The pipeline's last error after a permanent rejection.
fn rejected_message(spans: usize, e: &OrderTraceError) -> String {
    let why = permanent_rejection(e).unwrap_or("for good");
    format!(
        "the collector rejected a batch of {spans} spans {why}, so it was dropped \
         (counted in spans_dropped_rejected) instead of being sent again: {e}"
    )
}

impl SpanProcessor for BatchProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {
        Counters::add(&self.shared.counters.started, 1);
    }

    fn on_end(&self, span: SpanData) {
        self.shared.enqueue(Queued::Sdk(Box::new(span)));
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.shared
            .flush(Duration::from_secs(5))
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.shared
            .shutdown(timeout)
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
    }
}
