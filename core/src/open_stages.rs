//! Stages that have started and not yet ended, and the thread that keeps them visible: a span
//! reaches Jaeger only when it ends, so a stage that hangs would be invisible exactly when it
//! matters. A stage still open after the start-record threshold
//! ([`PipelineConfig::start_record_threshold`](crate::PipelineConfig::start_record_threshold))
//! gets its zero-length `<event>.started` record, stamped with the stage's start time; a stage
//! that ends sooner costs its span alone. Each open stage also gets a zero-length
//! `<event>.heartbeat` span every heartbeat interval, carrying how long it has been open.

use crate::schema::{OrderEvent, RECORD_HEARTBEAT, RECORD_STAGE_START, attr};
use crate::stage_record::time;
use opentelemetry::trace::{
    SpanBuilder, SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer as _,
};
use opentelemetry::{Context, KeyValue, StringValue};
use opentelemetry_sdk::trace::SdkTracer;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

#[derive(Debug, Clone)]
struct OpenStage {
    /// The stage span's context, kept in parts (a tracestate, rare, boxed): the entry stays
    /// within the 128 bytes a move copies inline, and every stage makes one.
    trace_id: TraceId,
    span_id: SpanId,
    flags: TraceFlags,
    trace_state: Option<Box<TraceState>>,
    event: OrderEvent,
    order_id: Arc<str>,
    user_id: Option<Arc<str>>,
    /// The stage span's start, Unix nanoseconds: the start record carries it.
    start_ns: u64,
    /// When the stage started on the monotonic clock, nanoseconds after the registry was
    /// made; [`NOT_SEEN`] until the open-stage thread first sees the stage (see
    /// [`OpenStages::first_seen`]): a stage start reads the clock once, not twice.
    seen_ns: u64,
    last_beat_ns: u64,
    /// The start record still to be exported (with the stage's status change, if any, so
    /// the CRM's new status shows while the stage is open); `None` once exported, or when
    /// start records are off or were exported at start.
    pending_start: Option<Vec<KeyValue>>,
}

/// `seen_ns` of a stage the open-stage thread has not looked at yet.
const NOT_SEEN: u64 = u64::MAX;

impl OpenStage {
    fn context(&self) -> SpanContext {
        SpanContext::new(
            self.trace_id,
            self.span_id,
            self.flags,
            false,
            self.trace_state.as_deref().cloned().unwrap_or_default(),
        )
    }
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

/// One shard of the registry: open stages in slots, reused through a free list, so that
/// registering and forgetting a stage is a slot write, without hashing or moving entries.
#[derive(Debug, Default)]
struct Shard {
    slots: Vec<Option<OpenStage>>,
    free: Vec<u32>,
    open: usize,
}

/// Where a registered stage sits in the registry; the stage hands it back when it ends.
#[derive(Debug)]
pub(crate) struct OpenTicket {
    shard: u8,
    slot: u32,
}

/// The shard this thread registers its stages in: threads take shards in turn on first use,
/// so up to [`SHARDS`] threads never share one, and a thread's shard stays in its cache.
fn home_shard() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        // `SHARDS`: not chosen yet. A constant initialiser keeps each access a plain read.
        static HOME: std::cell::Cell<usize> = const { std::cell::Cell::new(SHARDS) };
    }
    HOME.try_with(|h| {
        if h.get() == SHARDS {
            h.set(NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS);
        }
        h.get()
    })
    .unwrap_or(0)
}

/// Registry of open stages, split into [`SHARDS`] independently locked slot lists.
#[derive(Debug)]
pub(crate) struct OpenStages {
    shards: [Mutex<Shard>; SHARDS],
    /// Heartbeat interval; `None`: no heartbeats.
    heartbeat_interval: Option<Duration>,
    /// How long a stage stays open before its start record is exported; `None`: the start
    /// record is not the registry's job (start records off, or exported at start).
    start_record_after: Option<Duration>,
    /// When the registry was made: the origin of its entries' monotonic times (`seen_ns`,
    /// `last_beat_ns`).
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

    /// Registers a stage that has just started at `start_ns`; `status_change` goes on its
    /// start record if the stage stays open past the threshold. The ticket forgets it again.
    pub(crate) fn opened(
        &self,
        context: &SpanContext,
        event: OrderEvent,
        order_id: &Arc<str>,
        user_id: Option<&Arc<str>>,
        start_ns: u64,
        status_change: Vec<KeyValue>,
    ) -> OpenTicket {
        let trace_state = context.trace_state();
        let stage = OpenStage {
            trace_id: context.trace_id(),
            span_id: context.span_id(),
            flags: context.trace_flags(),
            trace_state: (*trace_state != TraceState::default())
                .then(|| Box::new(trace_state.clone())),
            event,
            order_id: Arc::clone(order_id),
            user_id: user_id.cloned(),
            start_ns,
            seen_ns: NOT_SEEN,
            // Set with `seen_ns` when the thread first sees the stage.
            last_beat_ns: 0,
            pending_start: self.start_record_after.map(|_| status_change),
        };
        let shard = home_shard();
        let mut s = lock(&self.shards[shard]);
        s.open += 1;
        let slot = match s.free.pop() {
            Some(slot) => {
                s.slots[slot as usize] = Some(stage);
                slot
            }
            None => {
                s.slots.push(Some(stage));
                u32::try_from(s.slots.len() - 1).unwrap_or(u32::MAX)
            }
        };
        OpenTicket {
            shard: shard as u8,
            slot,
        }
    }

    /// Forgets a stage that has ended.
    pub(crate) fn closed(&self, ticket: OpenTicket) {
        let mut s = lock(&self.shards[usize::from(ticket.shard)]);
        // Dropped in place (moving the entry out to drop it after the lock cost two copies
        // of it per stage); the shard is this thread's, so nobody waits meanwhile.
        let open = s
            .slots
            .get_mut(ticket.slot as usize)
            .filter(|e| e.is_some());
        if let Some(entry) = open {
            *entry = None;
            s.open -= 1;
            s.free.push(ticket.slot);
        }
    }

    /// Number of stages open now.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).open).sum()
    }

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

    /// Exports the start record of every stage open for at least the threshold whose record
    /// is still pending, and a heartbeat for every stage whose last one is at least an
    /// interval old.
    fn beat(&self, tracer: &SdkTracer) {
        let now = Instant::now();
        let wall_now = SystemTime::now();
        // A stage is seen within a tick of its start unless the thread was held up; a whole
        // period allows for that and still bounds what a jump of the wall clock can do.
        let longest_first_age = self.tick().map_or(Duration::ZERO, |t| t * 4);
        let since_created = |t: Instant| {
            u64::try_from(t.saturating_duration_since(self.created).as_nanos()).unwrap_or(u64::MAX)
        };
        let now_ns = since_created(now);
        let reached = |from_ns: u64, period: Duration| {
            u128::from(now_ns.saturating_sub(from_ns)) >= period.as_nanos()
        };
        let mut due: Vec<Due> = Vec::new();
        for shard in &self.shards {
            // One shard locked at a time, briefly: stages keep starting and ending meanwhile.
            for s in lock(shard).slots.iter_mut().flatten() {
                if s.seen_ns == NOT_SEEN {
                    let started =
                        Self::first_seen(now, wall_now, time(s.start_ns), longest_first_age);
                    s.seen_ns = since_created(started);
                    s.last_beat_ns = s.seen_ns;
                }
                let start_record = match self.start_record_after {
                    Some(after) if reached(s.seen_ns, after) => s.pending_start.take(),
                    _ => None,
                };
                let heartbeat = self
                    .heartbeat_interval
                    .is_some_and(|interval| reached(s.last_beat_ns, interval));
                if heartbeat {
                    s.last_beat_ns = now_ns;
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
            let context = stage.context();
            let OpenStage {
                event,
                order_id,
                user_id,
                seen_ns,
                start_ns,
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
                    time(start_ns),
                );
            }
            if heartbeat {
                let open_for = Duration::from_nanos(now_ns.saturating_sub(seen_ns));
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
    fn stages_are_counted_forgotten_by_ticket_and_their_slots_reused() {
        let open = OpenStages::new(Some(Duration::from_secs(30)), None);
        let order: Arc<str> = Arc::from("ORD-1");
        let open_one = |span| {
            open.opened(
                &context(span),
                OrderEvent::OrderConfirmed,
                &order,
                None,
                1_000,
                Vec::new(),
            )
        };
        let tickets: Vec<OpenTicket> = (1..=100u64).map(open_one).collect();
        assert_eq!(open.len(), 100);
        for t in tickets {
            open.closed(t);
        }
        assert_eq!(open.len(), 0);
        let again: Vec<OpenTicket> = (1..=100u64).map(open_one).collect();
        let shard = lock(&open.shards[usize::from(again[0].shard)]);
        assert_eq!(shard.slots.len(), 100, "ended stages' slots are used again");
        assert_eq!(shard.open, 100);
    }

    #[test]
    fn threads_register_in_their_own_shards() {
        let open = Arc::new(OpenStages::new(Some(Duration::from_secs(30)), None));
        let order: Arc<str> = Arc::from("ORD-1");
        let shards: std::collections::HashSet<u8> = (0..4)
            .map(|span| {
                let (open, order) = (Arc::clone(&open), Arc::clone(&order));
                std::thread::spawn(move || {
                    open.opened(
                        &context(span + 1),
                        OrderEvent::OrderConfirmed,
                        &order,
                        None,
                        1_000,
                        Vec::new(),
                    )
                    .shard
                })
                .join()
                .expect("thread")
            })
            .collect();
        // Threads take shards in turn (other tests' threads take some too): four threads
        // never all land in one shard.
        assert!(shards.len() >= 2, "four threads in {shards:?}");
        assert_eq!(open.len(), 4);
    }

    #[test]
    fn an_entry_stays_within_what_a_move_copies_inline() {
        assert!(
            std::mem::size_of::<OpenStage>() <= 128,
            "{} bytes",
            std::mem::size_of::<OpenStage>()
        );
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
