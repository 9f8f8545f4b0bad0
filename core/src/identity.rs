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
use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
use sha2::{Digest, Sha256};
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

/// Where a stage span goes: its own context, its parent, and the foreign context it links to.
/// The ids, flags and tracestate are the ones the OpenTelemetry SDK gives a span with the same
/// parent (always sampled: every order is traced).
#[derive(Debug)]
pub(crate) struct Placement {
    pub(crate) context: SpanContext,
    /// Invalid for the root of a trace.
    pub(crate) parent_span_id: SpanId,
    pub(crate) parent_is_remote: bool,
    pub(crate) link: Option<SpanContext>,
    /// Whether the stage continues the incoming context (it is the parent).
    pub(crate) continues_parent: bool,
}

impl Placement {
    /// A child of `parent` with a new random span id, in the parent's trace with its flags
    /// (sampled) and tracestate. An invalid parent is no parent (as in the SDK).
    fn child_of(parent: &SpanContext) -> Self {
        if !parent.is_valid() {
            return Self::root(random().new_trace_id(), random().new_span_id());
        }
        Self {
            context: SpanContext::new(
                parent.trace_id(),
                random().new_span_id(),
                parent.trace_flags().with_sampled(true),
                false,
                parent.trace_state().clone(),
            ),
            parent_span_id: parent.span_id(),
            parent_is_remote: parent.is_remote(),
            link: None,
            continues_parent: false,
        }
    }

    /// A child of the incoming context `parent`, continuing it when it is valid.
    fn continuing(parent: &SpanContext) -> Self {
        let mut p = Self::child_of(parent);
        p.continues_parent = parent.is_valid();
        p
    }

    /// The root of a trace with these ids.
    fn root(trace_id: TraceId, span_id: SpanId) -> Self {
        Self {
            context: SpanContext::new(
                trace_id,
                span_id,
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::INVALID,
            parent_is_remote: false,
            link: None,
            continues_parent: false,
        }
    }
}

fn random() -> RandomIdGenerator {
    RandomIdGenerator::default()
}

/// Places a stage of an order where the order's identity puts it — the one place that
/// decides.
///
/// - An incoming context becomes the parent when [`IdentityMode::Propagated`] is chosen, or when
///   it already belongs to the order's derived trace.
/// - Otherwise the stage joins the order's derived trace, and a foreign incoming context is
///   kept as a span link: `order_submitted` becomes the trace's root span (with the derived
///   ids), every other event hangs under that root span.
///
/// `derived` is the order's trace id and root span id ([`order_trace_id`],
/// [`order_root_span_id`]; cached per thread by [`crate::stage_ids`]).
pub(crate) fn place(
    mode: IdentityMode,
    event: OrderEvent,
    derived: (TraceId, SpanId),
    incoming: Option<SpanContext>,
) -> Placement {
    let (derived_trace, root_span) = derived;
    let (parent, link) = match (mode, incoming) {
        (IdentityMode::Propagated, Some(sc)) => (Some(sc), None),
        (IdentityMode::OrderDerived, Some(sc)) if sc.trace_id() == derived_trace => {
            (Some(sc), None)
        }
        (_, other) => (None, other),
    };
    let mut placement = match parent {
        Some(sc) => {
            // A trace id derived from the order was not chosen at random: it never claims the
            // Level 2 random flag, whatever a peer sent. A propagated trace id keeps the flag.
            let sc = if sc.trace_id() == derived_trace {
                without_random_flag(sc)
            } else {
                sc
            };
            Placement::continuing(&sc)
        }
        // The order's first event is the root of its trace, with the derived ids.
        None if event == OrderEvent::OrderSubmitted => Placement::root(derived_trace, root_span),
        None => Placement::child_of(&SpanContext::new(
            derived_trace,
            root_span,
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        )),
    };
    placement.link = link;
    placement
}

/// Places a stage whose order id was rejected (lenient mode, see [`crate::stage_ids`]): it
/// continues the incoming context if one arrived, otherwise it is the root of a new trace with
/// a random id. No trace is derived from an id that broke a rule (an empty id would put every
/// such stage in one trace).
pub(crate) fn place_without_order(incoming: Option<SpanContext>) -> Placement {
    match incoming {
        Some(sc) => Placement::continuing(&sc),
        None => Placement::root(random().new_trace_id(), random().new_span_id()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn ord1() -> (TraceId, SpanId) {
        (order_trace_id("ORD-1"), order_root_span_id("ORD-1"))
    }

    fn remote(trace_id: TraceId, flags: u8) -> SpanContext {
        SpanContext::new(
            trace_id,
            SpanId::from(0x1234),
            TraceFlags::new(flags),
            true,
            TraceState::default(),
        )
    }

    #[test]
    fn order_submitted_without_parent_is_the_root_with_the_derived_ids() {
        let p = place(
            IdentityMode::OrderDerived,
            OrderEvent::OrderSubmitted,
            ord1(),
            None,
        );
        assert_eq!(p.context.trace_id(), order_trace_id("ORD-1"));
        assert_eq!(p.context.span_id(), order_root_span_id("ORD-1"));
        assert_eq!(p.parent_span_id, SpanId::INVALID);
        assert!(p.context.is_sampled() && !p.continues_parent && p.link.is_none());
    }

    #[test]
    fn later_stages_without_parent_hang_under_the_remote_root_span() {
        let p = place(
            IdentityMode::OrderDerived,
            OrderEvent::OrderShipped,
            ord1(),
            None,
        );
        assert_eq!(p.context.trace_id(), order_trace_id("ORD-1"));
        assert_eq!(p.parent_span_id, order_root_span_id("ORD-1"));
        assert!(p.parent_is_remote);
        assert_ne!(p.context.span_id(), order_root_span_id("ORD-1"));
        assert!(p.context.is_sampled() && !p.context.is_remote());
    }

    #[test]
    fn a_parent_in_the_order_trace_is_continued_without_the_random_flag() {
        let sc = remote(order_trace_id("ORD-1"), 0x03);
        let p = place(
            IdentityMode::OrderDerived,
            OrderEvent::OrderConfirmed,
            ord1(),
            Some(sc),
        );
        assert_eq!(p.parent_span_id, SpanId::from(0x1234));
        assert!(p.continues_parent && p.link.is_none());
        assert_eq!(p.context.trace_flags().to_u8(), 0x01);
    }

    #[test]
    fn a_foreign_parent_becomes_a_link_unless_propagated_mode_wins() {
        let sc = remote(TraceId::from(77), 0x03);
        let p = place(
            IdentityMode::OrderDerived,
            OrderEvent::OrderConfirmed,
            ord1(),
            Some(sc.clone()),
        );
        assert_eq!(p.context.trace_id(), order_trace_id("ORD-1"));
        assert_eq!(
            p.link.as_ref().map(SpanContext::trace_id),
            Some(TraceId::from(77))
        );
        assert!(!p.continues_parent);
        let p = place(
            IdentityMode::Propagated,
            OrderEvent::OrderConfirmed,
            ord1(),
            Some(sc),
        );
        assert_eq!(p.context.trace_id(), TraceId::from(77));
        // A propagated random trace id keeps its flag.
        assert_eq!(p.context.trace_flags().to_u8(), 0x03);
        assert!(p.continues_parent && p.link.is_none());
    }

    #[test]
    fn a_stage_without_order_is_a_new_random_root_or_continues_its_parent() {
        let a = place_without_order(None);
        let b = place_without_order(None);
        assert_ne!(a.context.trace_id(), b.context.trace_id());
        assert_eq!(a.parent_span_id, SpanId::INVALID);
        let c = place_without_order(Some(remote(TraceId::from(5), 0x01)));
        assert_eq!(c.context.trace_id(), TraceId::from(5));
        assert!(c.continues_parent);
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
