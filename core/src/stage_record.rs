//! [`StageRecord`]: a stage span in the compact form the hot path keeps. A stage records its
//! ids, times, order and user id and its few extra attributes, and on end hands the record to
//! the pipeline as it is; the OpenTelemetry `SpanData` (attribute list, scope, events, links) is
//! built from it on the export thread ([`StageRecord::into_span_data`]), so the calling thread
//! pays for recording and enqueueing only. The result is the span the OpenTelemetry SDK would
//! have built for the same stage (same ids, flags, parent, attributes in the same order, limits).

use crate::schema::{OrderEvent, attr};
use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue, StringValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLimits, SpanLinks};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

/// A stage span as recorded: what `SpanData` needs, without building it on the caller's thread.
#[derive(Debug)]
pub(crate) struct StageRecord {
    /// The stage span's own ids and flags; its tracestate (the parent's, rarely any) is in
    /// [`Rare`]. See [`StageRecord::span_context`].
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) flags: TraceFlags,
    /// The parent's span id; invalid for the root of a trace.
    pub(crate) parent_span_id: SpanId,
    pub(crate) parent_is_remote: bool,
    pub(crate) kind: SpanKind,
    pub(crate) event: OrderEvent,
    /// Start and end, nanoseconds since the Unix epoch: half the size of two `SystemTime`s,
    /// which keeps the record within the 128 bytes a move copies inline.
    pub(crate) start_ns: u64,
    pub(crate) end_ns: u64,
    /// `None` when the order id broke a rule and the stage started without it.
    pub(crate) order_id: Option<Arc<str>>,
    pub(crate) user_id: Option<Arc<str>>,
    /// The problem attributes of rejected ids first (`problems` of them), then the caller's.
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) problems: u8,
    /// Events, links, status and a changed name: on the common path a stage has none of them,
    /// and a `None` keeps the record small.
    pub(crate) rare: Option<Box<Rare>>,
}

/// The parts of a stage span most stages never have.
#[derive(Debug, Default)]
pub(crate) struct Rare {
    pub(crate) trace_state: TraceState,
    pub(crate) events: Vec<Event>,
    pub(crate) links: Vec<Link>,
    pub(crate) status: Status,
    pub(crate) name: Option<Cow<'static, str>>,
}

impl StageRecord {
    /// The rare parts, made on first use.
    pub(crate) fn rare(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    /// The stage span's context, as OpenTelemetry and the propagation headers see it.
    pub(crate) fn span_context(&self) -> SpanContext {
        SpanContext::new(
            self.trace_id,
            self.span_id,
            self.flags,
            false,
            self.rare
                .as_ref()
                .map(|r| r.trace_state.clone())
                .unwrap_or_default(),
        )
    }

    /// Adds a span event (an exception, see [`crate::error_info`]).
    pub(crate) fn add_event(&mut self, event: Event) {
        self.rare().events.push(event);
    }

    /// Sets the span's status as the SDK does: only upwards in its order Unset < Error < Ok.
    pub(crate) fn set_status(&mut self, status: Status) {
        let rare = self.rare();
        if status > rare.status {
            rare.status = status;
        }
    }

    /// The span as the OpenTelemetry SDK exports it. Attributes are in the order the stage
    /// has always had: `order.id`, `order.event`, `order.stage`, the id problems, `user.id`,
    /// then the caller's; beyond `limits` (the tracer's, see
    /// [`PipelineConfig::span_limits`](crate::PipelineConfig)) the rest is dropped and counted,
    /// as the SDK does.
    pub(crate) fn into_span_data(
        self,
        scope: &InstrumentationScope,
        limits: &SpanLimits,
    ) -> SpanData {
        let mut attributes = Vec::with_capacity(4 + self.attributes.len());
        if let Some(o) = self.order_id {
            attributes.push(KeyValue::new(attr::ORDER_ID, StringValue::from(o)));
        }
        attributes.push(KeyValue::new(attr::ORDER_EVENT, self.event.name()));
        attributes.push(KeyValue::new(
            attr::ORDER_STAGE,
            i64::from(self.event.stage()),
        ));
        let mut rest = self.attributes;
        let callers = rest.split_off(usize::from(self.problems).min(rest.len()));
        attributes.extend(rest);
        if let Some(u) = self.user_id {
            attributes.push(KeyValue::new(attr::USER_ID, StringValue::from(u)));
        }
        attributes.extend(callers);
        let dropped_attributes_count = capped(&mut attributes, limits.max_attributes_per_span);

        let Rare {
            trace_state,
            mut events,
            mut links,
            status,
            name,
        } = self.rare.map(|r| *r).unwrap_or_default();
        let mut span_events = SpanEvents::default();
        span_events.dropped_count = capped(&mut events, limits.max_events_per_span);
        for e in &mut events {
            e.dropped_attributes_count +=
                capped(&mut e.attributes, limits.max_attributes_per_event);
        }
        span_events.events = events;
        let mut span_links = SpanLinks::default();
        span_links.dropped_count = capped(&mut links, limits.max_links_per_span);
        for l in &mut links {
            l.dropped_attributes_count += capped(&mut l.attributes, limits.max_attributes_per_link);
        }
        span_links.links = links;

        SpanData {
            span_context: SpanContext::new(
                self.trace_id,
                self.span_id,
                self.flags,
                false,
                trace_state,
            ),
            parent_span_id: self.parent_span_id,
            parent_span_is_remote: self.parent_is_remote,
            span_kind: self.kind,
            name: name.unwrap_or(Cow::Borrowed(self.event.name())),
            start_time: time(self.start_ns),
            end_time: time(self.end_ns),
            attributes,
            dropped_attributes_count,
            events: span_events,
            links: span_links,
            status,
            instrumentation_scope: scope.clone(),
        }
    }
}

/// A time as nanoseconds since the Unix epoch (0 for a time before it; `u64` lasts until 2554).
pub(crate) fn unix_ns(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The wall clock now, as nanoseconds since the Unix epoch: one `clock_gettime` (the vDSO, no
/// system call), without `SystemTime`'s checked subtraction, which cost as much as the clock
/// read itself on every stage start and end.
#[cfg(unix)]
pub(crate) fn now_unix_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only the timespec it is handed, which lives for the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    match (rc, u64::try_from(ts.tv_sec), u64::try_from(ts.tv_nsec)) {
        (0, Ok(secs), Ok(nanos)) => secs.saturating_mul(1_000_000_000).saturating_add(nanos),
        _ => unix_ns(SystemTime::now()),
    }
}

/// The wall clock now, as nanoseconds since the Unix epoch.
#[cfg(not(unix))]
pub(crate) fn now_unix_ns() -> u64 {
    unix_ns(SystemTime::now())
}

/// A time from nanoseconds since the Unix epoch.
pub(crate) fn time(unix_ns: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(unix_ns)
}

/// Cuts `items` to `limit` and returns how many were cut.
fn capped<T>(items: &mut Vec<T>, limit: u32) -> u32 {
    let limit = limit as usize;
    let dropped = items.len().saturating_sub(limit);
    items.truncate(limit);
    u32::try_from(dropped).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> StageRecord {
        StageRecord {
            trace_id: TraceId::from(7),
            span_id: SpanId::from(9),
            flags: TraceFlags::SAMPLED,
            parent_span_id: SpanId::from(3),
            parent_is_remote: true,
            kind: SpanKind::Server,
            event: OrderEvent::PriceCalculated,
            start_ns: 1_000,
            end_ns: 5_001_000,
            order_id: Some(Arc::from("ORD-1")),
            user_id: Some(Arc::from("1b4e28ba-2fa1-11d2-883f-0016d3cca427")),
            attributes: vec![
                KeyValue::new(attr::PROBLEM, "p"),
                KeyValue::new("order.price.currency", "EUR"),
            ],
            problems: 1,
            rare: None,
        }
    }

    fn keys(span: &SpanData) -> Vec<String> {
        span.attributes
            .iter()
            .map(|kv| kv.key.as_str().to_string())
            .collect()
    }

    #[test]
    fn span_data_keeps_the_stage_attribute_order_with_problems_before_the_user_id() {
        let span = record().into_span_data(
            &InstrumentationScope::builder("ordertrace").build(),
            &SpanLimits::default(),
        );
        assert_eq!(
            keys(&span),
            [
                attr::ORDER_ID,
                attr::ORDER_EVENT,
                attr::ORDER_STAGE,
                attr::PROBLEM,
                attr::USER_ID,
                "order.price.currency"
            ]
        );
        assert_eq!(span.name, "price_calculated");
        assert_eq!(span.parent_span_id, SpanId::from(3));
        assert!(span.parent_span_is_remote);
        assert_eq!(span.span_kind, SpanKind::Server);
        assert_eq!(span.instrumentation_scope.name(), "ordertrace");
        assert_eq!(span.status, Status::Unset);
        assert_eq!(
            span.end_time.duration_since(span.start_time).ok(),
            Some(std::time::Duration::from_millis(5))
        );
    }

    #[test]
    fn the_fast_clock_reads_the_same_wall_clock_as_system_time() {
        let before = unix_ns(SystemTime::now());
        let now = now_unix_ns();
        let after = unix_ns(SystemTime::now());
        assert!(
            before <= now && now <= after,
            "{before} <= {now} <= {after}"
        );
        assert_eq!(unix_ns(time(now)), now);
    }

    #[test]
    fn a_record_stays_within_what_a_move_copies_inline() {
        // Every stage moves its record a few times (into the stage, out at its end, into the
        // queue): up to 128 bytes that is a few vector moves, beyond it a memcpy call each.
        assert!(
            std::mem::size_of::<StageRecord>() <= 128,
            "{} bytes",
            std::mem::size_of::<StageRecord>()
        );
    }

    #[test]
    fn the_tracestate_of_the_parent_travels_in_the_rare_part() {
        let mut r = record();
        let ts = TraceState::from_key_value([("vendor", "v1")]).expect("valid");
        r.rare().trace_state = ts.clone();
        assert_eq!(r.span_context().trace_state(), &ts);
        let span = r.into_span_data(
            &InstrumentationScope::builder("ordertrace").build(),
            &SpanLimits::default(),
        );
        assert_eq!(span.span_context.trace_state(), &ts);
        assert_eq!(span.span_context.trace_id(), TraceId::from(7));
    }

    #[test]
    fn a_rejected_order_id_leaves_order_id_out_and_keeps_the_rest() {
        let mut r = record();
        r.order_id = None;
        r.user_id = None;
        r.problems = 0;
        let span = r.into_span_data(
            &InstrumentationScope::builder("ordertrace").build(),
            &SpanLimits::default(),
        );
        assert_eq!(
            keys(&span),
            [
                attr::ORDER_EVENT,
                attr::ORDER_STAGE,
                attr::PROBLEM,
                "order.price.currency"
            ]
        );
    }

    #[test]
    fn the_configured_limits_apply_to_attributes_events_links_and_their_attributes() {
        let mut r = record();
        r.attributes = (0..10).map(|i| KeyValue::new(format!("k{i}"), i)).collect();
        r.problems = 0;
        let four = || {
            (0..4)
                .map(|i| KeyValue::new(format!("a{i}"), i))
                .collect::<Vec<_>>()
        };
        let rare = r.rare();
        rare.events = (0..3)
            .map(|_| Event::new("e", SystemTime::UNIX_EPOCH, four(), 1))
            .collect();
        rare.links = (0..3)
            .map(|_| Link::new(SpanContext::empty_context(), four(), 0))
            .collect();
        let limits = SpanLimits {
            max_attributes_per_span: 5,
            max_events_per_span: 2,
            max_links_per_span: 1,
            max_attributes_per_event: 3,
            max_attributes_per_link: 2,
        };
        let span = r.into_span_data(
            &InstrumentationScope::builder("ordertrace").build(),
            &limits,
        );
        // order.id, order.event, order.stage, user.id, then the caller's first one.
        assert_eq!(span.attributes.len(), 5);
        assert_eq!(span.dropped_attributes_count, 4 + 10 - 5);
        assert_eq!((span.events.len(), span.events.dropped_count), (2, 1));
        for e in &span.events.events {
            // One dropped before (as given) and one over the limit now.
            assert_eq!((e.attributes.len(), e.dropped_attributes_count), (3, 2));
        }
        assert_eq!((span.links.len(), span.links.dropped_count), (1, 2));
        assert_eq!(
            (
                span.links.links[0].attributes.len(),
                span.links.links[0].dropped_attributes_count
            ),
            (2, 2)
        );
    }

    #[test]
    fn attributes_events_and_links_beyond_the_sdk_limits_are_dropped_and_counted() {
        let mut r = record();
        r.attributes = (0..200)
            .map(|i| KeyValue::new(format!("k{i}"), i))
            .collect();
        r.problems = 0;
        let rare = r.rare();
        rare.events = (0..130)
            .map(|_| Event::new("e", SystemTime::UNIX_EPOCH, Vec::new(), 0))
            .collect();
        rare.links = (0..129)
            .map(|_| Link::with_context(SpanContext::empty_context()))
            .collect();
        rare.status = Status::error("boom");
        rare.name = Some("renamed".into());
        let span = r.into_span_data(
            &InstrumentationScope::builder("ordertrace").build(),
            &SpanLimits::default(),
        );
        assert_eq!(span.attributes.len(), 128);
        assert_eq!(span.dropped_attributes_count, 200 + 4 - 128);
        assert_eq!((span.events.len(), span.events.dropped_count), (128, 2));
        assert_eq!((span.links.len(), span.links.dropped_count), (128, 1));
        assert_eq!(span.status, Status::error("boom"));
        assert_eq!(span.name, "renamed");
    }
}
