//! ordertrace's batch span processor. Like the SDK's `BatchSpanProcessor` it never blocks the
//! caller (a full queue drops the span), but it also counts every drop and failure, reports the
//! queue depth, and bounds flush and shutdown by a caller-chosen time. The SDK's processor does
//! not expose those numbers, and the design requires them.

use super::config::{BatchSettings, PipelineConfig};
use super::counters::{Counters, PipelineCounters};
use super::exporter::SpanSink;
use crate::error::{OrderTraceError, Result, panic_message};
use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct QueueState {
    spans: Vec<SpanData>,
    /// Spans ever queued, and spans taken off the queue and exported (or failed).
    pushed: u64,
    done: u64,
    /// The highest `pushed` value a caller is waiting to see done.
    flush_target: u64,
    shutdown_requested: bool,
    worker_exited: bool,
    last_error: Option<String>,
}

impl QueueState {
    /// Spans queued or being exported right now.
    fn in_flight(&self) -> usize {
        (self.pushed - self.done) as usize
    }
}

#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<QueueState>,
    /// Wakes the worker: a batch is full, a flush or shutdown was asked for.
    wake: Condvar,
    /// Wakes callers waiting for a flush or shutdown to complete.
    progress: Condvar,
    counters: Counters,
    batch: BatchSettings,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // A panic while holding the lock leaves plain data behind; keep going with it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn counters(&self) -> PipelineCounters {
        let depth = self.lock().in_flight();
        self.counters.snapshot(depth)
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
        self.wake.notify_all();
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
        let shared = Arc::new(Shared {
            state: Mutex::new(QueueState::default()),
            wake: Condvar::new(),
            progress: Condvar::new(),
            counters: Counters::default(),
            batch: config.batch.clone(),
        });
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<()>>();
        let worker_shared = Arc::clone(&shared);
        let worker_config = config.clone();
        std::thread::Builder::new()
            .name(format!("ordertrace-export-{}", config.service_name))
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
                        run_worker(&worker_shared, &runtime, &sink);
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            })
            .map_err(|e| OrderTraceError::PipelineStart(format!("worker thread: {e}")))?;
        match ready_rx.recv() {
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

fn run_worker(shared: &Shared, runtime: &tokio::runtime::Runtime, sink: &SpanSink) {
    let batch_size = shared.batch.max_export_batch_size;
    let mut taken: Vec<SpanData> = Vec::with_capacity(batch_size);
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
        while !taken.is_empty() {
            let n = taken.len().min(batch_size);
            let batch: Vec<SpanData> = taken.drain(..n).collect();
            // An exporter that panics must not take the worker (and every later span) with it.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                sink.export(runtime, batch)
            }))
            .unwrap_or_else(|panic| {
                Err(OrderTraceError::Export(format!(
                    "the exporter panicked: {}",
                    panic_message(panic.as_ref())
                )))
            });
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
            shared.progress.notify_all();
        }
    }
}

impl SpanProcessor for BatchProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {
        Counters::add(&self.shared.counters.started, 1);
    }

    fn on_end(&self, span: SpanData) {
        let mut state = self.shared.lock();
        // Bounded by everything not yet exported, so memory stays within the queue size even
        // while the worker holds a taken batch.
        if state.shutdown_requested || state.in_flight() >= self.shared.batch.max_queue_size {
            drop(state);
            Counters::add(&self.shared.counters.dropped, 1);
            return;
        }
        state.spans.push(span);
        state.pushed += 1;
        // Wake the worker once, when the queue reaches a batch; while it is behind it finds
        // a full batch on its own, and a notify per span would cost every caller a syscall.
        if state.spans.len() == self.shared.batch.max_export_batch_size {
            self.shared.wake.notify_one();
        }
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
