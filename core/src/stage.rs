//! Stage spans: one span per order event, named after the event, with the order's attributes.
//!
//! A [`Stage`] ends on [`Stage::end`], [`Stage::end_with_error`], or when dropped (a drop
//! during a panic records the panic as the error). Its start is exported at once as a
//! zero-length `<event>.started` record, so a stage that never ends is still visible.
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

use crate::error::{OrderTraceError, Result};
use crate::identity::{IdentityMode, order_ids, with_fixed_ids, without_random_flag};
use crate::open_stages::{emit_record, record_attributes};
use crate::propagation::{
    Baggage, HeaderCarrier, TraceHeaders, TraceParent, TraceStateList, inject,
};
use crate::schema::{self, OrderEvent, RECORD_STAGE_START, attr};
use crate::tracer::OrderTracer;
use opentelemetry::trace::{
    Link, Span as _, SpanBuilder, SpanContext, SpanKind, Status, TraceContextExt, TraceFlags,
    TraceState, Tracer as _,
};
use opentelemetry::{Context, KeyValue, StringValue, Value};
use std::sync::Arc;
use std::time::SystemTime;

/// A value of an extra stage attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue {
    /// Text (bounded by [`schema::MAX_ATTRIBUTE_VALUE_LEN`]).
    Str(String),
    /// Whole number.
    Int(i64),
    /// Floating point number.
    Float(f64),
    /// Flag.
    Bool(bool),
}

impl From<&str> for AttributeValue {
    fn from(v: &str) -> Self {
        Self::Str(v.to_string())
    }
}
impl From<String> for AttributeValue {
    fn from(v: String) -> Self {
        Self::Str(v)
    }
}
impl From<i64> for AttributeValue {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}
impl From<f64> for AttributeValue {
    fn from(v: f64) -> Self {
        Self::Float(v)
    }
}
impl From<bool> for AttributeValue {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}

impl AttributeValue {
    fn into_value(self) -> Value {
        match self {
            Self::Str(s) => Value::from(s),
            Self::Int(i) => Value::I64(i),
            Self::Float(f) => Value::F64(f),
            Self::Bool(b) => Value::Bool(b),
        }
    }
}

/// Validates a caller's key/value pair and turns it into an OpenTelemetry attribute.
pub(crate) fn checked_attribute(key: &str, value: AttributeValue) -> Result<KeyValue> {
    schema::validate_attribute_key(key)?;
    match &value {
        AttributeValue::Str(s) => schema::validate_attribute_value(key, s)?,
        AttributeValue::Float(f) if !f.is_finite() => {
            return Err(OrderTraceError::invalid(
                "attribute value",
                format!("value of {key:?} is not a finite number"),
            ));
        }
        _ => {}
    }
    Ok(KeyValue::new(key.to_string(), value.into_value()))
}

/// An error to record on a stage: the language's exception type, message and stack trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    /// Exception type, e.g. `System.TimeoutException` or `java.io.IOException`.
    pub error_type: String,
    /// The exception's message.
    pub message: String,
    /// The stack trace in the language's own format.
    pub stacktrace: Option<String>,
}

/// Longest exception type name accepted.
pub const MAX_ERROR_TYPE_LEN: usize = 256;

impl ErrorInfo {
    /// An error with type and message.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error_type: error_type.into(),
            message: message.into(),
            stacktrace: None,
        }
    }

    /// Adds a stack trace.
    pub fn with_stacktrace(mut self, stacktrace: impl Into<String>) -> Self {
        self.stacktrace = Some(stacktrace.into());
        self
    }

    /// From a Rust error: its type name, its message with the chain of sources, and a
    /// backtrace of the current thread.
    pub fn from_error<E: std::error::Error>(error: &E) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        Self::new(std::any::type_name::<E>(), message)
            .with_stacktrace(std::backtrace::Backtrace::force_capture().to_string())
    }

    /// Checks the type and bounds message and stack trace: an oversized trace is cut (and
    /// marked), not refused, because losing the error entirely is worse.
    fn checked(&self) -> Result<ErrorInfo> {
        let t = self.error_type.trim();
        if t.is_empty() {
            return Err(OrderTraceError::invalid("exception type", "it is empty"));
        }
        if t.len() > MAX_ERROR_TYPE_LEN {
            return Err(OrderTraceError::invalid(
                "exception type",
                format!(
                    "it is {} bytes long, at most {MAX_ERROR_TYPE_LEN} allowed",
                    t.len()
                ),
            ));
        }
        Ok(ErrorInfo {
            error_type: t.to_string(),
            message: truncate(&self.message),
            stacktrace: self.stacktrace.as_deref().map(truncate),
        })
    }
}

fn truncate(s: &str) -> String {
    const MARK: &str = "…[truncated by ordertrace]";
    if s.len() <= schema::MAX_ATTRIBUTE_VALUE_LEN {
        return s.to_string();
    }
    let mut cut = schema::MAX_ATTRIBUTE_VALUE_LEN - MARK.len();
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{MARK}", &s[..cut])
}

/// The one place exceptions are written onto spans: an `exception` span event with type,
/// message and stack trace, and status Error. The conventions are moving exceptions to log
/// records; that switch is made here.
fn record_exception(span: &mut opentelemetry_sdk::trace::Span, error: &ErrorInfo) {
    let mut attributes = vec![
        KeyValue::new(attr::EXCEPTION_TYPE, error.error_type.clone()),
        KeyValue::new(attr::EXCEPTION_MESSAGE, error.message.clone()),
    ];
    if let Some(st) = &error.stacktrace {
        attributes.push(KeyValue::new(attr::EXCEPTION_STACKTRACE, st.clone()));
    }
    span.add_event("exception", attributes);
    span.set_status(Status::error(format!(
        "{}: {}",
        error.error_type, error.message
    )));
}

/// A user id in its lowercase form, copied once.
fn lowercase_arc(user_id: &str) -> Arc<str> {
    if user_id.bytes().any(|b| b.is_ascii_uppercase()) {
        Arc::from(user_id.to_ascii_lowercase())
    } else {
        Arc::from(user_id)
    }
}

/// Collects a stage's inputs; [`StageBuilder::start`] validates them all and starts the span.
#[must_use = "a stage starts only when start() is called"]
pub struct StageBuilder<'t> {
    tracer: &'t OrderTracer,
    event: OrderEvent,
    order_id: Arc<str>,
    user_id: Option<Arc<str>>,
    attributes: Vec<KeyValue>,
    incoming: Option<TraceHeaders>,
    kind: SpanKind,
    first_error: Option<OrderTraceError>,
}

impl<'t> StageBuilder<'t> {
    pub(crate) fn new(tracer: &'t OrderTracer, event: OrderEvent, order_id: &str) -> Self {
        Self {
            tracer,
            event,
            order_id: Arc::from(order_id),
            user_id: None,
            attributes: Vec::new(),
            incoming: None,
            kind: SpanKind::Internal,
            first_error: None,
        }
    }

    fn keep_first_error(&mut self, r: Result<()>) {
        if let (Err(e), None) = (r, &self.first_error) {
            self.first_error = Some(e);
        }
    }

    /// The ordering user's id (a UUID).
    pub fn user_id(mut self, user_id: &str) -> Self {
        match schema::check_uuid(user_id) {
            Ok(()) => self.user_id = Some(lowercase_arc(user_id)),
            Err(e) => self.keep_first_error(Err(e)),
        }
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
        self.incoming = Some(incoming.clone());
        self
    }

    /// Span kind (server for an HTTP handler, consumer for a queue handler, ...).
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.kind = kind;
        self
    }

    /// Validates everything, starts the stage span and exports its start record.
    pub fn start(self) -> Result<Stage> {
        if let Some(e) = self.first_error {
            return Err(e);
        }
        schema::validate_order_id(&self.order_id)?;
        let inner = self.tracer.inner()?;
        let user_id = match self.user_id {
            Some(u) => Some(u),
            // A hop that did not say who ordered still knows it from the baggage.
            None => self
                .incoming
                .as_ref()
                .and_then(|h| h.user_id())
                .filter(|u| schema::check_uuid(u).is_ok())
                .map(lowercase_arc),
        };

        let (derived_trace, root_span) = order_ids(&self.order_id);
        let incoming_sc = self
            .incoming
            .as_ref()
            .and_then(TraceHeaders::remote_span_context);
        let (parent, link) = match (inner.config.identity, incoming_sc) {
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
        // What arrived is sent on exactly as accepted (the SDK's TraceState may hold less).
        let tracestate = match (&parent, &self.incoming) {
            (Some(_), Some(h)) => h.tracestate.clone(),
            _ => TraceStateList::default(),
        };

        let started_at = SystemTime::now();
        // Sized once: growing it would cost a reallocation on every stage.
        let mut attributes = Vec::with_capacity(4 + self.attributes.len());
        attributes.extend([
            KeyValue::new(
                attr::ORDER_ID,
                StringValue::from(Arc::clone(&self.order_id)),
            ),
            KeyValue::new(attr::ORDER_EVENT, self.event.name()),
            KeyValue::new(attr::ORDER_STAGE, i64::from(self.event.stage())),
        ]);
        if let Some(u) = &user_id {
            attributes.push(KeyValue::new(
                attr::USER_ID,
                StringValue::from(Arc::clone(u)),
            ));
        }
        attributes.extend(self.attributes);
        let mut builder = SpanBuilder::from_name(self.event.name()).with_kind(self.kind);
        builder.start_time = Some(started_at);
        builder.attributes = Some(attributes);
        builder.links = link.map(|sc| vec![Link::with_context(sc)]);

        let span = match parent {
            Some(sc) => inner
                .tracer
                .build_with_context(builder, &Context::new().with_remote_span_context(sc)),
            // The order's first event is the root of its trace, with the derived ids.
            None if self.event == OrderEvent::OrderSubmitted => {
                with_fixed_ids(derived_trace, root_span, || {
                    inner.tracer.build_with_context(builder, &Context::new())
                })
            }
            None => {
                let root = SpanContext::new(
                    derived_trace,
                    root_span,
                    TraceFlags::SAMPLED,
                    true,
                    TraceState::default(),
                );
                inner
                    .tracer
                    .build_with_context(builder, &Context::new().with_remote_span_context(root))
            }
        };
        let context = span.span_context().clone();

        if inner.config.start_records {
            let attributes = record_attributes(
                self.event,
                &self.order_id,
                user_id.as_ref(),
                &context,
                RECORD_STAGE_START,
            );
            emit_record(
                &inner.tracer,
                &context,
                self.event.start_record_name(),
                attributes,
                started_at,
            );
        }
        if inner.config.heartbeat_interval.is_some() {
            inner.open.opened(
                context.clone(),
                self.event,
                &self.order_id,
                user_id.as_ref(),
            );
        }
        // The order and user ids join the baggage only when headers are asked for: most
        // stages never send any, and building it costs allocations on every stage.
        let baggage = self.incoming.map(|h| h.baggage).unwrap_or_default();
        Ok(Stage {
            span,
            context,
            event: self.event,
            order_id: self.order_id,
            user_id,
            baggage,
            tracestate,
            tracer: self.tracer.clone(),
            ended: false,
        })
    }
}

/// A started stage. Ends on `end`, `end_with_error`, or drop.
#[derive(Debug)]
pub struct Stage {
    span: opentelemetry_sdk::trace::Span,
    context: SpanContext,
    event: OrderEvent,
    order_id: Arc<str>,
    user_id: Option<Arc<str>>,
    /// Baggage that arrived with the parent; `headers` adds the order and user ids.
    baggage: Baggage,
    /// Tracestate that arrived with the parent this stage continues, as accepted.
    tracestate: TraceStateList,
    tracer: OrderTracer,
    ended: bool,
}

impl Stage {
    /// The event this stage records.
    pub fn event(&self) -> OrderEvent {
        self.event
    }

    /// The order id.
    pub fn order_id(&self) -> &str {
        &self.order_id
    }

    /// The user id, if known.
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    /// Trace id, 32 lowercase hex digits.
    pub fn trace_id(&self) -> String {
        self.context.trace_id().to_string()
    }

    /// This stage's span id, 16 lowercase hex digits.
    pub fn span_id(&self) -> String {
        self.context.span_id().to_string()
    }

    /// Trace and span id as OpenTelemetry values, without formatting them (bridges keep
    /// these and format only when asked).
    pub fn ids(&self) -> (opentelemetry::trace::TraceId, opentelemetry::trace::SpanId) {
        (self.context.trace_id(), self.context.span_id())
    }

    /// Sets an extra attribute (validated like the builder's).
    pub fn set_attribute(&mut self, key: &str, value: impl Into<AttributeValue>) -> Result<()> {
        let kv = checked_attribute(key, value.into())?;
        self.span.set_attribute(kv);
        Ok(())
    }

    /// Records a calculated price: `order.price.amount` and `order.price.currency` (ISO 4217).
    pub fn record_price(&mut self, amount: f64, currency: &str) -> Result<()> {
        if !amount.is_finite() || amount < 0.0 {
            return Err(OrderTraceError::invalid(
                "price amount",
                format!("{amount} is not a non-negative number"),
            ));
        }
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(OrderTraceError::invalid(
                "price currency",
                format!("{currency:?} is not an ISO 4217 code like EUR"),
            ));
        }
        self.span
            .set_attribute(KeyValue::new(attr::PRICE_AMOUNT, amount));
        self.span
            .set_attribute(KeyValue::new(attr::PRICE_CURRENCY, currency.to_string()));
        Ok(())
    }

    /// Records an error (exception event, status Error) without ending the stage.
    pub fn record_error(&mut self, error: &ErrorInfo) -> Result<()> {
        let error = error.checked()?;
        record_exception(&mut self.span, &error);
        Ok(())
    }

    /// The headers to send on the next hop: `traceparent`, `tracestate`, `baggage` with the
    /// order and user ids.
    pub fn headers(&self) -> TraceHeaders {
        let tracestate = self.tracestate.clone();
        TraceHeaders {
            traceparent: Some(TraceParent {
                version: 0,
                trace_id: self.context.trace_id(),
                parent_id: self.context.span_id(),
                flags: self.context.trace_flags(),
            }),
            tracestate,
            baggage: {
                let mut baggage = self.baggage.clone();
                baggage.set(attr::ORDER_ID, &self.order_id);
                if let Some(u) = &self.user_id {
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
        Context::new().with_remote_span_context(self.context.clone())
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
                self.span
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
        if let Some(e) = error {
            record_exception(&mut self.span, e);
        }
        self.span.end();
        self.tracer.stage_closed(self.context.span_id());
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
