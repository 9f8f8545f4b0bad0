//! Stages that have started and not yet ended, and the thread that keeps them visible: a span
//! reaches Jaeger only when it ends, so a stage that hangs would be invisible exactly when it
//! matters. A stage still open after the start-record threshold
//! ([`PipelineConfig::start_record_threshold`](crate::PipelineConfig::start_record_threshold))
//! gets its zero-length `<event>.started` record, stamped with the stage's start time; a stage
//! that ends sooner costs its span alone. Each open stage also gets a zero-length
//! `<event>.heartbeat` span every heartbeat interval, carrying how long it has been open.

use crate::schema::{OrderEvent, RECORD_HEARTBEAT, RECORD_STAGE_START, attr};
use opentelemetry::trace::{SpanBuilder, SpanContext, SpanId, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue, StringValue};
use opentelemetry_sdk::trace::SdkTracer;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

#[derive(Debug, Clone)]
struct OpenStage {
    context: SpanContext,
    event: OrderEvent,
    order_id: Arc<str>,
    user_id: Option<Arc<str>>,
    /// When the stage started on the monotonic clock; `None` until the open-stage thread
    /// first sees the stage (see [`OpenStages::first_seen`]): a stage start reads the clock
    /// once, for `started_at`, not twice.
    started: Option<Instant>,
    /// The stage span's start time: the start record carries it.
    started_at: SystemTime,
    last_beat: Instant,
    /// The start record still to be exported (with the stage's status change, if any, so
    /// the CRM's new status shows while the stage is open); `None` once exported, or when
    /// start records are off or were exported at start.
    pending_start: Option<Vec<KeyValue>>,
}

/// What the open-stage thread exports for one stage on one tick.
struct Due {
    stage: OpenStage,
    start_record: Option<Vec<KeyValue>>,
    heartbeat: bool,
}

/// Shards of the registry: threads starting and ending stages at once mostly lock different
/// shards instead of all queueing on one mutex.
const SHARDS: usize = 16;

/// Hashes a span id (as `u64`) for a shard's map without SipHash: span ids are random (or
/// SHA-256-derived), so folding the halves together is already a good hash. The fold matters:
/// the shard is chosen by the low byte, so within a shard the low bits alone would be alike.
#[derive(Debug, Default)]
struct SpanIdHasher(u64);

impl Hasher for SpanIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed here; anything else still gets a deterministic hash.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, id: u64) {
        self.0 = id ^ id.rotate_left(32);
    }
}

/// One shard of the registry: open stages by span id (as `u64`).
type Shard = HashMap<u64, OpenStage, BuildHasherDefault<SpanIdHasher>>;

/// The registry's key of a span id.
fn key(span_id: SpanId) -> u64 {
    u64::from_be_bytes(span_id.to_bytes())
}

/// Registry of open stages, keyed by span id, split into [`SHARDS`] independently locked maps
/// (chosen by the span id's low bits, which are random).
#[derive(Debug)]
pub(crate) struct OpenStages {
    shards: [Mutex<Shard>; SHARDS],
    /// Heartbeat interval; `None`: no heartbeats.
    heartbeat_interval: Option<Duration>,
    /// How long a stage stays open before its start record is exported; `None`: the start
    /// record is not the registry's job (start records off, or exported at start).
    start_record_after: Option<Duration>,
    /// When the registry was made: a placeholder for times not known yet.
    created: Instant,
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard.lock().unwrap_or_else(|p| p.into_inner())
}

impl OpenStages {
    /// A registry for these settings; `start_record_threshold` as
    /// [`PipelineConfig::start_record_threshold`](crate::PipelineConfig::start_record_threshold)
    /// resolves it (zero: exported at start by the caller, not here).
    pub(crate) fn new(
        heartbeat_interval: Option<Duration>,
        start_record_threshold: Option<Duration>,
    ) -> Self {
        Self {
            shards: std::array::from_fn(|_| Mutex::new(Shard::default())),
            heartbeat_interval,
            start_record_after: start_record_threshold.filter(|t| !t.is_zero()),
            created: Instant::now(),
        }
    }

    /// Whether stages are registered at all: only when there is a heartbeat or a delayed
    /// start record to export for them.
    pub(crate) fn tracks(&self) -> bool {
        self.heartbeat_interval.is_some() || self.start_record_after.is_some()
    }

    /// How often the open-stage thread looks at the registry: a quarter of the shortest
    /// period it serves, so a record is at most a quarter period late; `None` when it has
    /// nothing to do.
    pub(crate) fn tick(&self) -> Option<Duration> {
        let shortest = match (self.heartbeat_interval, self.start_record_after) {
            (Some(h), Some(s)) => h.min(s),
            (Some(h), None) => h,
            (None, Some(s)) => s,
            (None, None) => return None,
        };
        Some((shortest / 4).max(Duration::from_millis(5)))
    }

    fn shard(&self, key: u64) -> &Mutex<Shard> {
        &self.shards[(key as usize) % SHARDS]
    }

    /// Registers a stage that has just started at `started_at`; `status_change` goes on its
    /// start record if the stage stays open past the threshold.
    pub(crate) fn opened(
        &self,
        context: &SpanContext,
        event: OrderEvent,
        order_id: &Arc<str>,
        user_id: Option<&Arc<str>>,
        started_at: SystemTime,
        status_change: Vec<KeyValue>,
    ) {
        let key = key(context.span_id());
        let stage = OpenStage {
            context: context.clone(),
            event,
            order_id: Arc::clone(order_id),
            user_id: user_id.cloned(),
            started: None,
            started_at,
            // Set with `started` when the thread first sees the stage.
            last_beat: self.created,
            pending_start: self.start_record_after.map(|_| status_change),
        };
        lock(self.shard(key)).insert(key, stage);
    }

    /// Forgets a stage that has ended.
    pub(crate) fn closed(&self, span_id: SpanId) {
        let key = key(span_id);
        lock(self.shard(key)).remove(&key);
    }

    /// Number of stages open now.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// Exports the start record of every stage open for at least the threshold whose record
    /// is still pending, and a heartbeat for every stage whose last one is at least an
    /// interval old.
    /// The monotonic start of a stage the thread sees for the first time: `now` less the
    /// stage's age on the wall clock (`started_at`), an age within `[0, longest_first_age]`
    /// so a jump of the wall clock cannot make it negative or older than the stage can be
    /// (it was not there a tick earlier, or it would have been seen).
    fn first_seen(
        now: Instant,
        wall_now: SystemTime,
        started_at: SystemTime,
        longest_first_age: Duration,
    ) -> Instant {
        let age = wall_now
            .duration_since(started_at)
            .unwrap_or(Duration::ZERO)
            .min(longest_first_age);
        now.checked_sub(age).unwrap_or(now)
    }

    fn beat(&self, tracer: &SdkTracer) {
        let now = Instant::now();
        let wall_now = SystemTime::now();
        // A stage is seen within a tick of its start unless the thread was held up; a whole
        // period allows for that and still bounds what a jump of the wall clock can do.
        let longest_first_age = self.tick().map_or(Duration::ZERO, |t| t * 4);
        let mut due: Vec<Due> = Vec::new();
        for shard in &self.shards {
            // One shard locked at a time, briefly: stages keep starting and ending meanwhile.
            for s in lock(shard).values_mut() {
                let started = *s.started.get_or_insert_with(|| {
                    let started = Self::first_seen(now, wall_now, s.started_at, longest_first_age);
                    s.last_beat = started;
                    started
                });
                let start_record = match self.start_record_after {
                    Some(after) if now.duration_since(started) >= after => s.pending_start.take(),
                    _ => None,
                };
                let heartbeat = self
                    .heartbeat_interval
                    .is_some_and(|interval| now.duration_since(s.last_beat) >= interval);
                if heartbeat {
                    s.last_beat = now;
                }
                if start_record.is_some() || heartbeat {
                    due.push(Due {
                        stage: s.clone(),
                        start_record,
                        heartbeat,
                    });
                }
            }
        }
        // Spans are built outside the lock so stages can start and end meanwhile.
        for Due {
            stage,
            start_record,
            heartbeat,
        } in due
        {
            let OpenStage {
                context,
                event,
                order_id,
                user_id,
                started,
                started_at,
                ..
            } = stage;
            if let Some(status_change) = start_record {
                emit_start_record(
                    tracer,
                    &context,
                    event,
                    &order_id,
                    user_id.as_ref(),
                    status_change,
                    started_at,
                );
            }
            if heartbeat {
                let open_for = started.map_or(Duration::ZERO, |t| now.duration_since(t));
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
                emit_record(
                    tracer,
                    &context,
                    event.heartbeat_name(),
                    attributes,
                    SystemTime::now(),
                );
            }
        }
    }
}

/// Exports the `<event>.started` record of the stage `stage`, stamped `started_at` (the
/// stage's start), with its status change attributes.
pub(crate) fn emit_start_record(
    tracer: &SdkTracer,
    stage: &SpanContext,
    event: OrderEvent,
    order_id: &Arc<str>,
    user_id: Option<&Arc<str>>,
    status_change: Vec<KeyValue>,
    started_at: SystemTime,
) {
    let mut attributes = record_attributes(event, order_id, user_id, stage, RECORD_STAGE_START);
    attributes.extend(status_change);
    emit_record(
        tracer,
        stage,
        event.start_record_name(),
        attributes,
        started_at,
    );
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

/// The open-stage thread of one tracer (delayed start records and heartbeats); stops when
/// dropped.
#[derive(Debug)]
pub(crate) struct Heartbeats {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl Heartbeats {
    /// Starts the thread, ticking every `tick` (see [`OpenStages::tick`]).
    pub(crate) fn start(
        tracer: SdkTracer,
        open: Arc<OpenStages>,
        tick: Duration,
    ) -> std::io::Result<Self> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread_stop = Arc::clone(&stop);
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
                    open.beat(&tracer);
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
        let open = OpenStages::new(Some(Duration::from_secs(30)), None);
        let order: Arc<str> = Arc::from("ORD-1");
        for span in 1..=100u64 {
            open.opened(
                &context(span),
                OrderEvent::OrderConfirmed,
                &order,
                None,
                SystemTime::now(),
                Vec::new(),
            );
        }
        assert_eq!(open.len(), 100);
        let used = open.shards.iter().filter(|s| !lock(s).is_empty()).count();
        assert_eq!(used, SHARDS, "100 consecutive ids use every shard");
        for span in 1..=100u64 {
            open.closed(SpanId::from(span));
        }
        assert_eq!(open.len(), 0);
    }

    #[test]
    fn first_seen_places_the_start_by_the_stages_wall_clock_age() {
        let now = Instant::now();
        let wall = SystemTime::now();
        let ms = Duration::from_millis;
        let long = ms(1000);
        assert_eq!(
            OpenStages::first_seen(now, wall, wall - ms(40), long),
            now - ms(40)
        );
    }

    #[test]
    fn first_seen_bounds_what_a_wall_clock_jump_can_do() {
        let now = Instant::now();
        let wall = SystemTime::now();
        let ms = Duration::from_millis;
        let long = ms(1000);
        // Started "in the future" (the clock went back): seen as starting now.
        assert_eq!(OpenStages::first_seen(now, wall, wall + ms(500), long), now);
        // Started "hours ago" (the clock jumped forward): no older than the bound.
        assert_eq!(
            OpenStages::first_seen(now, wall, wall - Duration::from_secs(7200), long),
            now - long
        );
    }

    #[test]
    fn registry_tracks_stages_only_when_it_has_records_to_export() {
        let second = Some(Duration::from_secs(1));
        assert!(OpenStages::new(second, None).tracks());
        assert!(OpenStages::new(None, second).tracks());
        assert!(!OpenStages::new(None, None).tracks());
        assert!(
            !OpenStages::new(None, Some(Duration::ZERO)).tracks(),
            "a zero threshold exports the start record at start, nothing is left to do"
        );
    }

    #[test]
    fn tick_is_a_quarter_of_the_shortest_period_and_at_least_5_ms() {
        let ms = Duration::from_millis;
        assert_eq!(
            OpenStages::new(Some(ms(1000)), Some(ms(400))).tick(),
            Some(ms(100))
        );
        assert_eq!(OpenStages::new(Some(ms(400)), None).tick(), Some(ms(100)));
        assert_eq!(OpenStages::new(None, Some(ms(8))).tick(), Some(ms(5)));
        assert_eq!(OpenStages::new(None, None).tick(), None);
    }
}
