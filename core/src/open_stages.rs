//! Stages that have started and not yet ended, and the heartbeat thread that keeps them
//! visible: a span reaches Jaeger only when it ends, so a stage that hangs would be invisible
//! exactly when it matters. Each open stage gets a zero-length `<event>.heartbeat` span every
//! interval, carrying how long it has been open.

use crate::schema::{OrderEvent, RECORD_HEARTBEAT, attr};
use opentelemetry::trace::{SpanBuilder, SpanContext, SpanId, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue, StringValue};
use opentelemetry_sdk::trace::SdkTracer;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

#[derive(Debug, Clone)]
struct OpenStage {
    context: SpanContext,
    event: OrderEvent,
    order_id: Arc<str>,
    user_id: Option<Arc<str>>,
    started: Instant,
    last_beat: Instant,
}

/// Shards of the registry: threads starting and ending stages at once mostly lock different
/// shards instead of all queueing on one mutex.
const SHARDS: usize = 16;

/// Registry of open stages, keyed by span id, split into [`SHARDS`] independently locked maps
/// (chosen by the span id's low bits, which are random).
#[derive(Debug)]
pub(crate) struct OpenStages {
    shards: [Mutex<HashMap<SpanId, OpenStage>>; SHARDS],
}

impl Default for OpenStages {
    fn default() -> Self {
        Self {
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
        }
    }
}

fn lock(shard: &Mutex<HashMap<SpanId, OpenStage>>) -> MutexGuard<'_, HashMap<SpanId, OpenStage>> {
    shard.lock().unwrap_or_else(|p| p.into_inner())
}

impl OpenStages {
    fn shard(&self, span_id: SpanId) -> &Mutex<HashMap<SpanId, OpenStage>> {
        let low = span_id.to_bytes()[7] as usize;
        &self.shards[low % SHARDS]
    }

    pub(crate) fn opened(
        &self,
        context: SpanContext,
        event: OrderEvent,
        order_id: &Arc<str>,
        user_id: Option<&Arc<str>>,
    ) {
        let now = Instant::now();
        let stage = OpenStage {
            context: context.clone(),
            event,
            order_id: Arc::clone(order_id),
            user_id: user_id.cloned(),
            started: now,
            last_beat: now,
        };
        lock(self.shard(context.span_id())).insert(context.span_id(), stage);
    }

    pub(crate) fn closed(&self, span_id: SpanId) {
        lock(self.shard(span_id)).remove(&span_id);
    }

    /// Number of stages open now.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// Writes a heartbeat for every stage whose last one is at least `interval` old.
    fn beat(&self, tracer: &SdkTracer, interval: Duration) {
        let now = Instant::now();
        let mut due: Vec<OpenStage> = Vec::new();
        for shard in &self.shards {
            // One shard locked at a time, briefly: stages keep starting and ending meanwhile.
            due.extend(
                lock(shard)
                    .values_mut()
                    .filter(|s| now.duration_since(s.last_beat) >= interval)
                    .map(|s| {
                        s.last_beat = now;
                        s.clone()
                    }),
            );
        }
        // Spans are built outside the lock so stages can start and end meanwhile.
        for stage in due {
            let OpenStage {
                context,
                event,
                order_id,
                user_id,
                started,
                ..
            } = stage;
            let open_for = now.duration_since(started);
            let at = SystemTime::now();
            let mut attributes = record_attributes(
                event,
                &order_id,
                user_id.as_ref(),
                &context,
                RECORD_HEARTBEAT,
            );
            attributes.push(KeyValue::new(
                attr::OPEN_FOR_MS,
                open_for.as_millis() as i64,
            ));
            emit_record(tracer, &context, event.heartbeat_name(), attributes, at);
        }
    }
}

/// Attributes shared by start records and heartbeats.
pub(crate) fn record_attributes(
    event: OrderEvent,
    order_id: &Arc<str>,
    user_id: Option<&Arc<str>>,
    stage: &SpanContext,
    record: &'static str,
) -> Vec<KeyValue> {
    // Room for user.id and a heartbeat's open_for_ms without reallocating.
    let mut attributes = Vec::with_capacity(7);
    attributes.extend([
        KeyValue::new(attr::ORDER_ID, StringValue::from(Arc::clone(order_id))),
        KeyValue::new(attr::ORDER_EVENT, event.name()),
        KeyValue::new(attr::ORDER_STAGE, i64::from(event.stage())),
        KeyValue::new(attr::RECORD, record),
        KeyValue::new(attr::STAGE_SPAN_ID, stage.span_id().to_string()),
    ]);
    if let Some(u) = user_id {
        attributes.push(KeyValue::new(
            attr::USER_ID,
            StringValue::from(Arc::clone(u)),
        ));
    }
    attributes
}

/// Exports a zero-length child of `stage` at `at`.
pub(crate) fn emit_record(
    tracer: &SdkTracer,
    stage: &SpanContext,
    name: &'static str,
    attributes: Vec<KeyValue>,
    at: SystemTime,
) {
    use opentelemetry::trace::Span as _;
    let parent = Context::new().with_remote_span_context(stage.clone());
    let mut builder = SpanBuilder::from_name(name);
    builder.start_time = Some(at);
    builder.attributes = Some(attributes);
    let mut span = tracer.build_with_context(builder, &parent);
    span.end_with_timestamp(at);
}

/// The heartbeat thread of one tracer; stops when dropped.
#[derive(Debug)]
pub(crate) struct Heartbeats {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl Heartbeats {
    pub(crate) fn start(
        tracer: SdkTracer,
        open: Arc<OpenStages>,
        interval: Duration,
    ) -> std::io::Result<Self> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread_stop = Arc::clone(&stop);
        // Check often enough that a beat is at most a quarter interval late.
        let tick = (interval / 4).max(Duration::from_millis(5));
        let handle = std::thread::Builder::new()
            .name("ordertrace-heartbeat".into())
            .spawn(move || {
                let (lock, cvar) = &*thread_stop;
                let mut stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
                while !*stopped {
                    stopped = cvar
                        .wait_timeout(stopped, tick)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                    if *stopped {
                        break;
                    }
                    drop(stopped);
                    open.beat(&tracer, interval);
                    stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
                }
            })?;
        Ok(Self {
            stop,
            handle: Some(handle),
        })
    }

    pub(crate) fn stop(&mut self) {
        let (lock, cvar) = &*self.stop;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cvar.notify_all();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Heartbeats {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{TraceFlags, TraceId, TraceState};

    fn context(span: u64) -> SpanContext {
        SpanContext::new(
            TraceId::from(1u128),
            SpanId::from(span),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        )
    }

    #[test]
    fn stages_spread_over_shards_are_counted_and_removed() {
        let open = OpenStages::default();
        let order: Arc<str> = Arc::from("ORD-1");
        for span in 1..=100u64 {
            open.opened(context(span), OrderEvent::OrderConfirmed, &order, None);
        }
        assert_eq!(open.len(), 100);
        let used = open.shards.iter().filter(|s| !lock(s).is_empty()).count();
        assert_eq!(used, SHARDS, "100 consecutive ids use every shard");
        for span in 1..=100u64 {
            open.closed(SpanId::from(span));
        }
        assert_eq!(open.len(), 0);
    }
}
