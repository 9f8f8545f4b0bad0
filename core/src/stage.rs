//! Stage spans: one span per order event, named after the event, with the order's attributes.
//!
//! A [`Stage`] ends on [`Stage::end`], [`Stage::end_with_error`], or when dropped (a drop
//! during a panic records the panic as the error). A stage still open after the start-record
//! threshold (default: the heartbeat interval) is exported as a zero-length `<event>.started`
//! record, stamped with its start, so a stage that never ends is still visible; one that ends
//! sooner costs its span alone.
//!
//! ```
//! use ordertrace::{OrderTracer, ErrorInfo, schema::OrderEvent};
//! let dir = std::env::temp_dir().join(format!("ordertrace-doc-stage-{}", std::process::id()));
//! let tracer = OrderTracer::builder().without_env().service_name("mes-api").file(dir.join("spans.jsonl")).build()?;
//! let stage = tracer
//!     .stage(OrderEvent::PriceCalculated, "ORD-5678")
//!     .user_id("1b4e28ba-2fa1-11d2-883f-0016d3cca427")
//!     .attribute("order.price.currency", "EUR")
//!     .start()?;
//! stage.end_with_error(&ErrorInfo::new("TimeoutException", "pricing service did not answer"))?;
//! tracer.shutdown(std::time::Duration::from_secs(5))?;
//! # std::fs::remove_dir_all(dir).ok();
//! # Ok::<(), ordertrace::OrderTraceError>(())
//! ```

use crate::attribute::{AttributeValue, checked_attribute};
use crate::error::{OrderTraceError, Result};
use crate::error_info::{ErrorInfo, record_exception};
use crate::open_stages::OpenTicket;
use crate::propagation::{
    Baggage, HeaderCarrier, TraceHeaders, TraceParent, TraceStateList, inject,
};
use crate::schema::{OrderEvent, attr};
use crate::stage_record::{StageRecord, now_unix_ns};
use crate::tracer::OrderTracer;
use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry::{Context, KeyValue};
use std::mem::ManuallyDrop;

/// A started stage. Ends on `end`, `end_with_error`, or drop.
///
/// It holds its span as a compact record: ending hands the record to the pipeline, which
/// builds the OpenTelemetry span from it on the export thread.
#[derive(Debug)]
pub struct Stage {
    /// Moved out, once, when the stage ends (`finish`): ending hands the record on instead of
    /// leaving an emptied copy behind to be dropped.
    record: ManuallyDrop<StageRecord>,
    /// Its place in the open-stage registry, if it is registered.
    ticket: Option<OpenTicket>,
    /// What arrived with the parent; `headers` adds the order and user ids to its baggage.
    inherited: Option<Box<Inherited>>,
    tracer: OrderTracer,
    ended: bool,
}

/// What a stage passes on from the hop it continues: baggage, and the tracestate exactly as
/// it was accepted (OpenTelemetry's `TraceState` may hold less than W3C allows).
#[derive(Debug, Default)]
pub(crate) struct Inherited {
    pub(crate) baggage: Baggage,
    pub(crate) tracestate: TraceStateList,
}

impl Stage {
    pub(crate) fn new(
        record: StageRecord,
        ticket: Option<OpenTicket>,
        inherited: Option<Box<Inherited>>,
        tracer: OrderTracer,
    ) -> Self {
        Self {
            record: ManuallyDrop::new(record),
            ticket,
            inherited,
            tracer,
            ended: false,
        }
    }

    /// The event this stage records.
    pub fn event(&self) -> OrderEvent {
        self.record.event
    }

    /// The order id; empty when it broke a rule and the stage started anyway (lenient mode).
    pub fn order_id(&self) -> &str {
        self.record.order_id.as_deref().unwrap_or("")
    }

    /// The user id, if known.
    pub fn user_id(&self) -> Option<&str> {
        self.record.user_id.as_deref()
    }

    /// Trace id, 32 lowercase hex digits.
    pub fn trace_id(&self) -> String {
        self.record.trace_id.to_string()
    }

    /// This stage's span id, 16 lowercase hex digits.
    pub fn span_id(&self) -> String {
        self.record.span_id.to_string()
    }

    /// Trace and span id as OpenTelemetry values, without formatting them (bridges keep
    /// these and format only when asked).
    pub fn ids(&self) -> (opentelemetry::trace::TraceId, opentelemetry::trace::SpanId) {
        (self.record.trace_id, self.record.span_id)
    }

    /// Sets an extra attribute (validated like the builder's).
    pub fn set_attribute(&mut self, key: &str, value: impl Into<AttributeValue>) -> Result<()> {
        let kv = checked_attribute(key, value.into())?;
        self.record.attributes.push(kv);
        Ok(())
    }

    /// Records a calculated price: `order.price.amount` and `order.price.currency` (ISO 4217).
    ///
    /// A refused price (negative, not finite, not an ISO 4217 code) is an error, and the
    /// refusal is also on the span as `ordertrace.problem`: a wrapper on the business path
    /// (the MES's `CalculatePrice`) may ignore the error and still return the business result.
    pub fn record_price(&mut self, amount: f64, currency: &str) -> Result<()> {
        let refused = if !amount.is_finite() || amount < 0.0 {
            Some(OrderTraceError::invalid(
                "price amount",
                format!("{amount} is not a non-negative number"),
            ))
        } else if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            Some(OrderTraceError::invalid(
                "price currency",
                format!(
                    "{} is not an ISO 4217 code like EUR",
                    crate::error::quoted_text(currency)
                ),
            ))
        } else {
            None
        };
        if let Some(e) = refused {
            self.record
                .attributes
                .push(KeyValue::new(attr::PROBLEM, e.to_string()));
            return Err(e);
        }
        self.record.attributes.extend([
            KeyValue::new(attr::PRICE_AMOUNT, amount),
            KeyValue::new(attr::PRICE_CURRENCY, currency.to_string()),
        ]);
        Ok(())
    }

    /// Records an error (exception event, status Error) without ending the stage.
    pub fn record_error(&mut self, error: &ErrorInfo) -> Result<()> {
        let error = error.checked()?;
        record_exception(&mut self.record, &error);
        Ok(())
    }

    /// The headers to send on the next hop: `traceparent`, `tracestate`, `baggage` with the
    /// order and user ids.
    pub fn headers(&self) -> TraceHeaders {
        let inherited = self.inherited.as_deref();
        let tracestate = inherited.map(|i| i.tracestate.clone()).unwrap_or_default();
        TraceHeaders {
            traceparent: Some(TraceParent {
                version: 0,
                trace_id: self.record.trace_id,
                parent_id: self.record.span_id,
                flags: self.record.flags,
            }),
            tracestate,
            baggage: {
                let mut baggage = inherited.map(|i| i.baggage.clone()).unwrap_or_default();
                // Empty when the order id was rejected (lenient start): nothing to send.
                if let Some(o) = &self.record.order_id {
                    baggage.set(attr::ORDER_ID, o);
                }
                if let Some(u) = &self.record.user_id {
                    baggage.set(attr::USER_ID, u);
                }
                baggage
            },
            problems: Vec::new(),
        }
    }

    /// Writes this stage's propagation headers into an outgoing request or message.
    pub fn inject(&self, carrier: &mut impl HeaderCarrier) {
        inject(&self.headers(), carrier);
    }

    /// An OpenTelemetry context whose span is this stage, for code instrumented with
    /// OpenTelemetry or `tracing` (`OpenTelemetrySpanExt::set_parent`).
    pub fn context(&self) -> Context {
        Context::new().with_remote_span_context(self.record.span_context())
    }

    /// Ends the stage successfully.
    pub fn end(mut self) {
        self.finish(None);
    }

    /// Records the error and ends the stage; an invalid error is refused and the stage ends
    /// with a generic error status instead, so it is never left open.
    pub fn end_with_error(mut self, error: &ErrorInfo) -> Result<()> {
        match error.checked() {
            Ok(e) => {
                self.finish(Some(&e));
                Ok(())
            }
            Err(e) => {
                self.record
                    .set_status(Status::error("error with an invalid description"));
                self.finish(None);
                Err(e)
            }
        }
    }

    fn finish(&mut self, error: Option<&ErrorInfo>) {
        if self.ended {
            return;
        }
        self.ended = true;
        // SAFETY: `ended` was false, so the record is still there, and it is now set: this
        // is the one place that takes the record, and no method reads it after `finish`
        // (`end` and `end_with_error` consume the stage, `drop` only calls `finish`).
        let mut record = unsafe { ManuallyDrop::take(&mut self.record) };
        if let Some(e) = error {
            record_exception(&mut record, e);
        }
        record.end_ns = now_unix_ns();
        self.tracer.stage_ended(record, self.ticket.take());
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        if !self.ended && std::thread::panicking() {
            let panic = ErrorInfo::new("panic", "the thread panicked while the stage was open")
                .with_stacktrace(std::backtrace::Backtrace::force_capture().to_string());
            self.finish(Some(&panic));
        } else {
            self.finish(None);
        }
    }
}
