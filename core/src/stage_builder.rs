//! [`StageBuilder`]: collects a stage's inputs, validates them all at [`StageBuilder::start`],
//! and starts the stage span where [`crate::identity`] places it. What a bad order id or user
//! id does (lenient by default, strict on request) is decided in [`crate::stage_ids`].

use crate::attribute::{AttributeValue, checked_attribute};
use crate::error::{OrderTraceError, Result};
use crate::identity;
use crate::open_stages::emit_start_record;
use crate::propagation::{TraceHeaders, TraceStateList};
use crate::schema::{self, OrderEvent, attr};
use crate::stage::{Inherited, Stage};
use crate::stage_ids::{IdInput, StageIds, id_text, lowercase_arc, shared_id};
use crate::stage_record::{StageRecord, now_unix_ns, time};
use crate::tracer::OrderTracer;
use opentelemetry::KeyValue;
use opentelemetry::trace::{Link, SpanKind, TraceState};
use std::time::Duration;

/// Collects a stage's inputs; [`StageBuilder::start`] validates them all and starts the span.
///
/// Each call of the chain moves the builder, so what is rare (errors, incoming headers) is
/// boxed: the builder stays about 100 bytes instead of 368.
#[must_use = "a stage starts only when start() is called"]
pub struct StageBuilder<'t> {
    tracer: &'t OrderTracer,
    event: OrderEvent,
    /// As given; checked at `start()` (an `Err`: bytes that are not UTF-8).
    order_id: IdInput,
    /// As given; checked at `start()`.
    user_id: Option<IdInput>,
    attributes: Vec<KeyValue>,
    incoming: Option<Box<TraceHeaders>>,
    kind: SpanKind,
    first_error: Option<Box<OrderTraceError>>,
}

impl<'t> StageBuilder<'t> {
    pub(crate) fn new(tracer: &'t OrderTracer, event: OrderEvent, order_id: IdInput) -> Self {
        Self {
            tracer,
            event,
            order_id,
            user_id: None,
            attributes: Vec::new(),
            incoming: None,
            kind: SpanKind::Internal,
            first_error: None,
        }
    }

    fn keep_first_error(&mut self, r: Result<()>) {
        if let (Err(e), None) = (r, &self.first_error) {
            self.first_error = Some(Box::new(e));
        }
    }

    /// The ordering user's id (a UUID; checked at `start()` with the order id).
    pub fn user_id(mut self, user_id: &str) -> Self {
        self.user_id = Some(Ok(shared_id(user_id)));
        self
    }

    /// The user id as bytes, for bridges handing over foreign strings: bytes that are not
    /// UTF-8 are a user id that breaks the rules (lenient mode: the stage starts without it).
    // Inlined: called apart, the ~100-byte builder is copied in and out around the check
    // (callgrind: two memcpy calls, ~70 instructions per C ABI stage).
    #[inline(always)]
    pub fn user_id_bytes(mut self, user_id: &[u8]) -> Self {
        self.user_id = Some(id_text("user id", user_id));
        self
    }

    /// An extra attribute; reserved keys are refused at `start()`.
    pub fn attribute(mut self, key: &str, value: impl Into<AttributeValue>) -> Self {
        match checked_attribute(key, value.into()) {
            Ok(kv) => self.attributes.push(kv),
            Err(e) => self.keep_first_error(Err(e)),
        }
        self
    }

    /// `order.status.from` / `order.status.to`, for `order_status_changed`.
    pub fn status_change(mut self, from: &str, to: &str) -> Self {
        let checked = schema::validate_status("status from", from)
            .and_then(|_| schema::validate_status("status to", to));
        match checked {
            Ok(()) => {
                self.attributes
                    .push(KeyValue::new(attr::ORDER_STATUS_FROM, from.to_string()));
                self.attributes
                    .push(KeyValue::new(attr::ORDER_STATUS_TO, to.to_string()));
            }
            Err(e) => self.keep_first_error(Err(e)),
        }
        self
    }

    /// The propagation headers that arrived with the request or message.
    pub fn parent(mut self, incoming: &TraceHeaders) -> Self {
        self.incoming = Some(Box::new(incoming.clone()));
        self
    }

    /// Span kind (server for an HTTP handler, consumer for a queue handler, ...).
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.kind = kind;
        self
    }

    /// Validates everything and starts the stage span; its start record follows only if the
    /// stage is still open after the threshold (see [`crate::PipelineConfig::start_record_threshold`]).
    ///
    /// A bad order id or user id fails the start only with
    /// [`strict_ids`](crate::OrderTracerBuilder::strict_ids); by default the stage starts and
    /// the problem is on its span and counted (see [`crate::stage_ids`]). A refused extra
    /// attribute or status, or a shut-down tracer, is an error either way.
    pub fn start(self) -> Result<Stage> {
        if let Some(e) = self.first_error {
            return Err(*e);
        }
        let inner = self.tracer.inner()?;
        // --- ids: the rule and its lenient/strict outcome live in stage_ids ---
        let ids = StageIds::check(self.order_id, self.user_id);
        self.tracer.count_ids_rejected(ids.rejected_count());
        let ids = if inner.config.strict_ids {
            ids.into_strict()?
        } else {
            ids
        };
        let problem = ids.problem_attributes();
        let order_id = ids.order_id;
        // --- end of ids ---
        let user_id = match ids.user_id {
            Some(u) => Some(u),
            // A hop that did not say who ordered still knows it from the baggage.
            None => self
                .incoming
                .as_ref()
                .and_then(|h| h.user_id())
                .filter(|u| schema::check_uuid(u).is_ok())
                .map(lowercase_arc),
        };

        let incoming_sc = self
            .incoming
            .as_deref()
            .and_then(TraceHeaders::remote_span_context);
        // The start record carries a status change, so the CRM's new status is visible
        // while its stage is still open (what `ordertrace watch` compares with the MES).
        // Without a start record the watch reads it from the stage span.
        let start_record = inner.config.start_record_threshold();
        let status_change: Vec<KeyValue> = if start_record.is_some() && !self.attributes.is_empty()
        {
            self.attributes
                .iter()
                .filter(|kv| {
                    kv.key.as_str() == attr::ORDER_STATUS_FROM
                        || kv.key.as_str() == attr::ORDER_STATUS_TO
                })
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        let start_ns = now_unix_ns();
        let (order_id, placement) = match order_id {
            Some((o, trace, root)) => (
                Some(o),
                identity::place(
                    inner.config.identity,
                    self.event,
                    (trace, root),
                    incoming_sc,
                ),
            ),
            None => (None, identity::place_without_order(incoming_sc)),
        };
        // Problems first, then the caller's attributes: the order the span has always had
        // (see `StageRecord::into_span_data`).
        let problems = u8::try_from(problem.len()).unwrap_or(u8::MAX);
        let attributes = if problem.is_empty() {
            self.attributes
        } else {
            let mut all = problem;
            all.extend(self.attributes);
            all
        };
        let mut record = StageRecord {
            trace_id: placement.context.trace_id(),
            span_id: placement.context.span_id(),
            flags: placement.context.trace_flags(),
            parent_span_id: placement.parent_span_id,
            parent_is_remote: placement.parent_is_remote,
            kind: self.kind,
            event: self.event,
            start_ns,
            end_ns: start_ns,
            order_id,
            user_id,
            attributes,
            problems,
            rare: None,
        };
        if *placement.context.trace_state() != TraceState::default() {
            record.rare().trace_state = placement.context.trace_state().clone();
        }
        if let Some(link) = placement.link {
            record.rare().links.push(Link::with_context(link));
        }
        self.tracer.count_started();
        let inherited = inherited(self.incoming.map(|h| *h), placement.continues_parent);

        // Without an order id there is no order to follow: no start record, no heartbeats.
        let mut ticket = None;
        if let Some(order_id) = &record.order_id {
            let context = placement.context;
            let status_change = if start_record == Some(Duration::ZERO) {
                // Threshold zero: the start record goes out now; otherwise the open-stage
                // thread exports it only if the stage is still open after the threshold.
                emit_start_record(
                    &inner.tracer,
                    &context,
                    self.event,
                    order_id,
                    record.user_id.as_ref(),
                    status_change,
                    time(start_ns),
                );
                Vec::new()
            } else {
                status_change
            };
            if inner.open.tracks() {
                ticket = Some(inner.open.opened(
                    &context,
                    self.event,
                    order_id,
                    record.user_id.as_ref(),
                    start_ns,
                    status_change,
                ));
            }
        }
        Ok(Stage::new(record, ticket, inherited, self.tracer.clone()))
    }
}

/// What a stage passes on from the hop it continues.
///
/// The order and user ids join the baggage only when headers are asked for: most stages never
/// send any, and building it costs allocations on every stage. The tracestate goes on only
/// with the trace it belongs to, exactly as accepted.
/// `None` for a stage without incoming headers (the common case: nothing to keep or drop).
fn inherited(incoming: Option<TraceHeaders>, continues_parent: bool) -> Option<Box<Inherited>> {
    incoming.map(|h| {
        Box::new(Inherited {
            baggage: h.baggage,
            tracestate: if continues_parent {
                h.tracestate
            } else {
                TraceStateList::default()
            },
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_builder_stays_small_enough_to_move_through_its_chain() {
        // Every call of `tracer.stage(..).user_id(..).attribute(..)` moves the builder: errors
        // and incoming headers are boxed so a move is a few words, not a few hundred bytes.
        assert!(
            std::mem::size_of::<StageBuilder<'static>>() <= 128,
            "{} bytes",
            std::mem::size_of::<StageBuilder<'static>>()
        );
    }
}
