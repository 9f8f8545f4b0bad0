//! Order-derived trace identity: the trace id and the id of the order's root span
//! (`order_submitted`) are derived from the order id, so a hop that lost its headers — a human
//! confirming hours later, a third-party MES call, a message replayed from a dead-letter queue —
//! still lands in the order's trace.
//!
//! Which identity a stage uses is [`IdentityMode`]:
//! - [`IdentityMode::OrderDerived`] (default): the trace is always the order's. An incoming
//!   context in the same trace becomes the parent; one from another trace is kept as a span
//!   link and the stage hangs under the order's root span.
//! - [`IdentityMode::Propagated`]: a valid incoming context wins (even from another trace);
//!   without one, the order-derived identity is used. Choose this when ordertrace stages must
//!   nest under spans of an existing OpenTelemetry instrumentation.
//!
//! ```
//! use ordertrace::identity::{order_trace_id, order_root_span_id};
//! assert_eq!(order_trace_id("ORD-5678"), order_trace_id("ORD-5678"));
//! assert_ne!(order_trace_id("ORD-5678"), order_trace_id("ORD-5679"));
//! assert_ne!(order_root_span_id("ORD-5678").to_string(), "0000000000000000");
//! ```

use crate::error::{OrderTraceError, Result};
use crate::propagation::FLAG_RANDOM_TRACE_ID;
use crate::schema::OrderEvent;
use opentelemetry::Context;
use opentelemetry::trace::{
    Link, SpanBuilder, SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    Tracer as _,
};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, SdkTracer};
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::str::FromStr;

/// Which trace a stage joins when an incoming context and the order disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdentityMode {
    /// The order's derived trace always wins; a foreign incoming context becomes a span link.
    #[default]
    OrderDerived,
    /// A valid incoming context wins; the derived identity is the fallback.
    Propagated,
}

impl FromStr for IdentityMode {
    type Err = OrderTraceError;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "order" | "order_derived" | "order-derived" => Ok(Self::OrderDerived),
            "propagated" | "incoming" => Ok(Self::Propagated),
            other => Err(OrderTraceError::config(
                "identity mode",
                format!("{other:?} is not one of order_derived, propagated"),
            )),
        }
    }
}

fn digest(domain: &str, order_id: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"ordertrace/v1/");
    h.update(domain.as_bytes());
    h.update([0]);
    h.update(order_id.as_bytes());
    h.finalize().into()
}

/// The trace id of an order: the first 16 bytes of SHA-256 over a domain tag and the id.
pub fn order_trace_id(order_id: &str) -> TraceId {
    let d = digest("trace", order_id);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&d[..16]);
    if bytes == [0; 16] {
        bytes[15] = 1; // all-zero ids are invalid on the wire
    }
    TraceId::from_bytes(bytes)
}

/// The span id of the order's root span (`order_submitted`).
pub fn order_root_span_id(order_id: &str) -> SpanId {
    let d = digest("root", order_id);
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&d[..8]);
    if bytes == [0; 8] {
        bytes[7] = 1;
    }
    SpanId::from_bytes(bytes)
}

/// Orders whose derived ids each thread keeps: a service thread serves several orders at
/// once (stages of different orders interleave), and deriving the ids costs two SHA-256 runs.
/// Direct-mapped by a hash of the order id, so a look-up is one hash and one comparison;
/// bounded at this many entries (ids at most [`crate::schema::MAX_ORDER_ID_LEN`] bytes) per
/// thread.
const CACHED_ORDERS: usize = 64;

/// One cached order: its id, derived ids, and the remote context of its root span (what
/// every stage but `order_submitted` hangs under), built once instead of once per stage.
struct CachedOrder {
    order_id: Box<str>,
    trace_id: TraceId,
    root_span_id: SpanId,
    root: Context,
}

impl CachedOrder {
    fn new(order_id: &str) -> Self {
        let (trace_id, root_span_id) = (order_trace_id(order_id), order_root_span_id(order_id));
        Self {
            order_id: order_id.into(),
            trace_id,
            root_span_id,
            root: root_context(trace_id, root_span_id),
        }
    }
}

/// The remote context of an order's root span, the parent of its stages.
fn root_context(trace_id: TraceId, root_span_id: SpanId) -> Context {
    Context::new().with_remote_span_context(SpanContext::new(
        trace_id,
        root_span_id,
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ))
}

/// The derived ids of an order and the context of its root span, from this thread's cache
/// (see [`CACHED_ORDERS`]); computed, and cached, on a miss.
pub(crate) fn order_ids(order_id: &str) -> (TraceId, SpanId, Context) {
    thread_local! {
        static CACHE: std::cell::RefCell<Vec<Option<CachedOrder>>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    let looked_up = CACHE.try_with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.is_empty() {
            cache.resize_with(CACHED_ORDERS, || None);
        }
        let entry = &mut cache[(crate::stage_ids::id_hash(order_id) as usize) % CACHED_ORDERS];
        match entry {
            Some(c) if *c.order_id == *order_id => {}
            _ => *entry = Some(CachedOrder::new(order_id)),
        }
        entry
            .as_ref()
            .map(|c| (c.trace_id, c.root_span_id, c.root.clone()))
    });
    match looked_up {
        Ok(Some(ids)) => ids,
        // The thread is being torn down (its cache is gone): compute without caching.
        _ => {
            let c = CachedOrder::new(order_id);
            (c.trace_id, c.root_span_id, c.root)
        }
    }
}

/// `sc` without the Level 2 `random-trace-id` flag: for a context whose trace id is derived
/// from the order (not random, so it must not claim to be).
pub(crate) fn without_random_flag(sc: SpanContext) -> SpanContext {
    let flags = TraceFlags::new(sc.trace_flags().to_u8() & !FLAG_RANDOM_TRACE_ID);
    SpanContext::new(
        sc.trace_id(),
        sc.span_id(),
        flags,
        sc.is_remote(),
        sc.trace_state().clone(),
    )
}

thread_local! {
    static NEXT_TRACE_ID: Cell<Option<TraceId>> = const { Cell::new(None) };
    static NEXT_SPAN_ID: Cell<Option<SpanId>> = const { Cell::new(None) };
}

/// Id generator of ordertrace's provider: random ids, except while [`with_fixed_ids`] asks
/// for the order's derived ones. The SDK offers no per-span id choice, so the request
/// travels through a thread-local read by the generator on the same thread.
#[derive(Debug, Default)]
pub(crate) struct OrderIdGenerator {
    random: RandomIdGenerator,
}

impl IdGenerator for OrderIdGenerator {
    fn new_trace_id(&self) -> TraceId {
        NEXT_TRACE_ID
            .with(Cell::take)
            .unwrap_or_else(|| self.random.new_trace_id())
    }

    fn new_span_id(&self) -> SpanId {
        NEXT_SPAN_ID
            .with(Cell::take)
            .unwrap_or_else(|| self.random.new_span_id())
    }
}

/// Runs `build` (which starts exactly one span on this thread) with the given ids.
pub(crate) fn with_fixed_ids<T>(
    trace_id: TraceId,
    span_id: SpanId,
    build: impl FnOnce() -> T,
) -> T {
    NEXT_TRACE_ID.with(|c| c.set(Some(trace_id)));
    NEXT_SPAN_ID.with(|c| c.set(Some(span_id)));
    let out = build();
    // Whatever the SDK did not consume must not leak into the next span.
    NEXT_TRACE_ID.with(|c| c.set(None));
    NEXT_SPAN_ID.with(|c| c.set(None));
    out
}

/// Starts a stage's span where the order's identity puts it — the one place that decides.
///
/// - An incoming context becomes the parent when [`IdentityMode::Propagated`] is chosen, or when
///   it already belongs to the order's derived trace.
/// - Otherwise the stage joins the order's derived trace, and a foreign incoming context is
///   kept as a span link: `order_submitted` becomes the trace's root span (with the derived
///   ids), every other event hangs under that root span.
///
/// Returns the span and whether it continues the incoming context (its parent).
pub(crate) fn start_span(
    tracer: &SdkTracer,
    mode: IdentityMode,
    event: OrderEvent,
    order_id: &str,
    incoming: Option<SpanContext>,
    mut builder: SpanBuilder,
) -> (opentelemetry_sdk::trace::Span, bool) {
    let (derived_trace, root_span, root) = order_ids(order_id);
    let (parent, link) = match (mode, incoming) {
        (IdentityMode::Propagated, Some(sc)) => (Some(sc), None),
        (IdentityMode::OrderDerived, Some(sc)) if sc.trace_id() == derived_trace => {
            (Some(sc), None)
        }
        (_, other) => (None, other),
    };
    // A trace id derived from the order was not chosen at random: it never claims the
    // Level 2 random flag, whatever a peer sent. A propagated trace id keeps the flag.
    let parent = parent.map(|sc| {
        if sc.trace_id() == derived_trace {
            without_random_flag(sc)
        } else {
            sc
        }
    });
    builder.links = link.map(|sc| vec![Link::with_context(sc)]);
    let continues_parent = parent.is_some();
    let span = match parent {
        Some(sc) => {
            tracer.build_with_context(builder, &Context::new().with_remote_span_context(sc))
        }
        // The order's first event is the root of its trace, with the derived ids.
        None if event == OrderEvent::OrderSubmitted => {
            with_fixed_ids(derived_trace, root_span, || {
                tracer.build_with_context(builder, &Context::new())
            })
        }
        None => tracer.build_with_context(builder, &root),
    };
    (span, continues_parent)
}

/// Starts a stage whose order id was rejected (lenient mode, see [`crate::stage_ids`]): it
/// continues the incoming context if one arrived, otherwise it is the root of a new trace with
/// a random id. No trace is derived from an id that broke a rule (an empty id would put every
/// such stage in one trace).
///
/// Returns the span and whether it continues the incoming context.
pub(crate) fn start_span_without_order(
    tracer: &SdkTracer,
    incoming: Option<SpanContext>,
    builder: SpanBuilder,
) -> (opentelemetry_sdk::trace::Span, bool) {
    match incoming {
        Some(sc) => (
            tracer.build_with_context(builder, &Context::new().with_remote_span_context(sc)),
            true,
        ),
        None => (tracer.build_with_context(builder, &Context::new()), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_ids_match_fresh_ones_across_orders() {
        for id in ["ORD-1", "ORD-2", "ORD-1", "ORD-1", "ORD-3"] {
            let (trace, root, cx) = order_ids(id);
            assert_eq!(
                (trace, root),
                (order_trace_id(id), order_root_span_id(id)),
                "{id}"
            );
            assert_eq!(cx.span().span_context().trace_id(), trace, "{id}");
            assert_eq!(cx.span().span_context().span_id(), root, "{id}");
        }
    }

    #[test]
    fn cache_answers_right_for_more_orders_than_it_holds() {
        // More orders than slots, twice round: evicted and colliding entries must be
        // recomputed, never answered with another order's ids.
        let ids: Vec<String> = (0..3 * CACHED_ORDERS).map(|i| format!("ORD-{i}")).collect();
        for _ in 0..2 {
            for id in &ids {
                let (trace, root, _) = order_ids(id);
                assert_eq!(
                    (trace, root),
                    (order_trace_id(id), order_root_span_id(id)),
                    "{id}"
                );
            }
        }
    }

    #[test]
    fn root_context_is_a_sampled_remote_parent() {
        let (_, _, cx) = order_ids("ORD-9");
        let sc = cx.span().span_context().clone();
        assert!(sc.is_remote());
        assert!(sc.is_sampled());
    }

    #[test]
    fn derived_ids_are_stable_known_values() {
        // Pinned: changing the derivation splits every running order's trace in two.
        assert_eq!(
            order_trace_id("ORD-5678").to_string(),
            format!(
                "{:032x}",
                u128::from_be_bytes(digest("trace", "ORD-5678")[..16].try_into().unwrap())
            )
        );
        assert_eq!(order_trace_id("ORD-5678"), order_trace_id("ORD-5678"));
        assert_ne!(order_trace_id("ORD-5678"), order_trace_id("ord-5678"));
    }

    #[test]
    fn trace_and_root_span_ids_come_from_different_domains() {
        let t = order_trace_id("ORD-1").to_bytes();
        let s = order_root_span_id("ORD-1").to_bytes();
        assert_ne!(&t[..8], &s[..]);
    }

    #[test]
    fn generator_uses_fixed_ids_once_then_random() {
        let g = OrderIdGenerator::default();
        let (t, s) = (order_trace_id("A"), order_root_span_id("A"));
        let (gt, gs) = with_fixed_ids(t, s, || (g.new_trace_id(), g.new_span_id()));
        assert_eq!((gt, gs), (t, s));
        assert_ne!(g.new_span_id(), s);
    }

    #[test]
    fn unconsumed_fixed_ids_do_not_leak() {
        let g = OrderIdGenerator::default();
        let t = order_trace_id("B");
        with_fixed_ids(t, order_root_span_id("B"), || g.new_span_id());
        assert_ne!(g.new_trace_id(), t);
    }

    #[test]
    fn identity_mode_parses_names_and_rejects_others() {
        assert_eq!(
            "order_derived".parse::<IdentityMode>().unwrap(),
            IdentityMode::OrderDerived
        );
        assert_eq!(
            "Propagated".parse::<IdentityMode>().unwrap(),
            IdentityMode::Propagated
        );
        assert!("random".parse::<IdentityMode>().is_err());
    }
}
