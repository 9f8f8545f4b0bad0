//! Stage handles: one coarse call starts a stage with everything it needs; then attributes,
//! price, errors, outgoing headers, end, free.

use crate::buffer::OtBuffer;
use crate::error::{Status, guard};
use crate::headers::{OtHeader, OtHeaders, read_headers};
use crate::strings::OtStr;
use crate::tracer::{OtTracer, tracer_ref};
use ordertrace::{AttributeValue, ErrorInfo, OrderEvent, Stage, propagation};
use ordertrace_bridge::{BridgeError, SpareBox, StageSlot};

/// Attribute holds a string.
pub const OT_ATTR_STRING: i32 = 0;
/// Attribute holds a 64-bit integer.
pub const OT_ATTR_INT: i32 = 1;
/// Attribute holds a double.
pub const OT_ATTR_DOUBLE: i32 = 2;
/// Attribute holds a boolean (`int_value` 0 or 1).
pub const OT_ATTR_BOOL: i32 = 3;

/// Span kind: internal (default).
pub const OT_KIND_INTERNAL: i32 = 0;
/// Span kind: server (an incoming request).
pub const OT_KIND_SERVER: i32 = 1;
/// Span kind: client (an outgoing request).
pub const OT_KIND_CLIENT: i32 = 2;
/// Span kind: producer (publishing a message).
pub const OT_KIND_PRODUCER: i32 = 3;
/// Span kind: consumer (processing a message).
pub const OT_KIND_CONSUMER: i32 = 4;

/// One extra attribute. `kind` says which value field is used.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct OtAttribute {
    /// Attribute key, e.g. `mes.workcenter`; the schema's reserved keys are refused.
    pub key: OtStr,
    /// `OT_ATTR_STRING`, `OT_ATTR_INT`, `OT_ATTR_DOUBLE` or `OT_ATTR_BOOL`.
    pub kind: i32,
    /// Value of a string attribute.
    pub string_value: OtStr,
    /// Value of an integer or boolean attribute.
    pub int_value: i64,
    /// Value of a double attribute.
    pub double_value: f64,
}

/// Everything a stage starts with.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct OtStageStart {
    /// Event name, e.g. `price_calculated`.
    pub event: OtStr,
    /// Order id. One that breaks the id rules (empty, too long, not UTF-8, ...) fails the
    /// start only with `strict_ids`; by default the stage starts without it and records the
    /// problem (`ordertrace.problem` on the span, `ids_rejected` in the counters).
    pub order_id: OtStr,
    /// User id (a UUID); empty when unknown (then taken from incoming baggage, if any). One
    /// that is not a UUID is treated like a bad order id.
    pub user_id: OtStr,
    /// Extra attributes, `attribute_count` of them (NULL when 0).
    pub attributes: *const OtAttribute,
    /// Number of attributes.
    pub attribute_count: usize,
    /// Incoming propagation headers, `parent_header_count` of them (NULL when 0).
    pub parent_headers: *const OtHeader,
    /// Number of incoming headers.
    pub parent_header_count: usize,
    /// `OT_KIND_*`.
    pub kind: i32,
    /// For `order_status_changed`: previous status; empty when not a status change.
    pub status_from: OtStr,
    /// For `order_status_changed`: new status.
    pub status_to: OtStr,
}

/// A started stage. Thread-safe. After it ends the handle stays valid (ids still readable);
/// other calls return `Status::Closed`. Free with [`ot_stage_free`], which ends it if open.
#[derive(Debug)]
pub struct OtStage {
    slot: StageSlot,
}

thread_local! {
    /// The last stage handle this thread freed, for its next start (see [`SpareBox`]).
    static SPARE_STAGE: SpareBox<OtStage> = const { SpareBox::new() };
}

/// # Safety
/// The attribute's strings must be readable.
unsafe fn attribute_value(a: &OtAttribute) -> Result<(&str, AttributeValue), BridgeError> {
    // SAFETY: forwarded from the caller.
    let key = unsafe { a.key.as_str("attribute key") }?;
    let value = match a.kind {
        OT_ATTR_STRING => {
            AttributeValue::from(unsafe { a.string_value.as_str("attribute value") }?)
        }
        OT_ATTR_INT => AttributeValue::from(a.int_value),
        OT_ATTR_DOUBLE => AttributeValue::from(a.double_value),
        OT_ATTR_BOOL => AttributeValue::from(a.int_value != 0),
        other => {
            return Err(BridgeError {
                status: Status::InvalidInput,
                message: format!(
                    "attribute {}: kind {other} is not one of OT_ATTR_*",
                    ordertrace::error::quoted_text(key)
                ),
            });
        }
    };
    Ok((key, value))
}

/// # Safety
/// `list` must be NULL (with `count` 0) or point to `count` readable attributes.
#[inline]
unsafe fn read_attributes<'a>(
    list: *const OtAttribute,
    count: usize,
) -> Result<&'a [OtAttribute], BridgeError> {
    if count == 0 {
        return Ok(&[]);
    }
    if list.is_null() {
        return Err(BridgeError::null("attributes"));
    }
    // SAFETY: see the function's contract.
    Ok(unsafe { std::slice::from_raw_parts(list, count) })
}

// Inlined into both callers: returned through a call, the ~200-byte Result is copied once
// more (callgrind: ~50 instructions per start).
#[inline(always)]
fn start(tracer: &ordertrace::OrderTracer, s: &OtStageStart) -> Result<Stage, BridgeError> {
    // SAFETY (all string reads): the caller promises readable strings and lists.
    // A known name needs no UTF-8 check; anything else is parsed as text for its error.
    let event = match OrderEvent::from_name_bytes(unsafe { s.event.as_bytes("event") }?) {
        Some(e) => e,
        None => unsafe { s.event.as_str("event") }?.parse()?,
    };
    // The ids go to the core as bytes: one that is not UTF-8 breaks the id rules like any
    // other bad id (lenient by default: the stage starts without it).
    let order_id = unsafe { s.order_id.as_bytes("order id") }?;
    let mut b = tracer
        .stage_bytes(event, order_id)
        .kind(ordertrace_bridge::span_kind(s.kind)?);
    let user = unsafe { s.user_id.as_bytes("user id") }?;
    if !user.is_empty() {
        b = b.user_id_bytes(user);
    }
    for a in unsafe { read_attributes(s.attributes, s.attribute_count) }? {
        let (key, value) = unsafe { attribute_value(a) }?;
        b = b.attribute(key, value);
    }
    // Most stages are no status change: two empty strings, nothing to read.
    if s.status_from.len > 0 || s.status_to.len > 0 {
        let from = unsafe { s.status_from.as_opt_str("status_from") }?;
        let to = unsafe { s.status_to.as_opt_str("status_to") }?;
        // The core says which one is missing or malformed.
        b = b.status_change(from.unwrap_or(""), to.unwrap_or(""));
    }
    // Most stages have no incoming headers: no call for an empty list.
    if s.parent_header_count > 0 {
        let headers = unsafe { read_headers(s.parent_headers, s.parent_header_count) }?;
        b = b.parent(&propagation::extract(&headers));
    }
    Ok(b.start()?)
}

/// Starts a stage; `*out` receives its handle.
///
/// # Safety
/// `tracer` must be a live handle; `start` readable with readable strings and lists; `out`
/// writable; `error` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_stage_start(
    tracer: *const OtTracer,
    start_info: *const OtStageStart,
    out: *mut *mut OtStage,
    error: *mut *mut OtBuffer,
) -> Status {
    // SAFETY (all derefs): see the function's contract.
    guard(unsafe { error.as_mut() }, || {
        let tracer = unsafe { tracer_ref(tracer) }?;
        let info = unsafe { start_info.as_ref() }.ok_or_else(|| BridgeError::null("start"))?;
        let slot = unsafe { out.as_mut() }.ok_or_else(|| BridgeError::null("out"))?;
        let stage = start(tracer, info)?;
        *slot = Box::into_raw(SpareBox::boxed(
            &SPARE_STAGE,
            OtStage {
                slot: StageSlot::new(stage),
            },
        ));
        Ok(())
    })
}

/// Records a stage in one call: starts it from `start_info` and ends it at once —
/// successfully, or failed with this error when `error_type` is not empty. For a step that
/// is over when it is reported (a status change, a message handed to the broker): one
/// crossing, no handle to free.
///
/// # Safety
/// `tracer` must be a live handle; `start_info` readable with readable strings and lists;
/// the error strings readable; `error` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_stage_record(
    tracer: *const OtTracer,
    start_info: *const OtStageStart,
    error_type: OtStr,
    message: OtStr,
    stacktrace: OtStr,
    error: *mut *mut OtBuffer,
) -> Status {
    // SAFETY (all derefs): see the function's contract.
    guard(unsafe { error.as_mut() }, || {
        let tracer = unsafe { tracer_ref(tracer) }?;
        let info = unsafe { start_info.as_ref() }.ok_or_else(|| BridgeError::null("start"))?;
        let failed = unsafe { error_type.as_opt_str("error type") }?.is_some();
        let reported = if failed {
            Some(unsafe { error_info(error_type, message, stacktrace) }?)
        } else {
            None
        };
        let stage = start(tracer, info)?;
        match reported {
            Some(e) => Ok(stage.end_with_error(&e)?),
            None => {
                stage.end();
                Ok(())
            }
        }
    })
}

/// Runs `f` on the open stage behind `handle`.
///
/// # Safety
/// `handle` must be NULL or a live stage handle.
unsafe fn with_open<T>(
    handle: *const OtStage,
    f: impl FnOnce(&mut Stage) -> Result<T, BridgeError>,
) -> Result<T, BridgeError> {
    // SAFETY: see the function's contract.
    let h = unsafe { handle.as_ref() }.ok_or_else(|| BridgeError::null("stage"))?;
    h.slot.with_open(f)
}

/// Ends the open stage behind `handle` with `end`.
///
/// # Safety
/// `handle` must be NULL or a live stage handle.
unsafe fn end_open<T>(
    handle: *const OtStage,
    end: impl FnOnce(Stage) -> T,
) -> Result<T, BridgeError> {
    // SAFETY: see the function's contract.
    let h = unsafe { handle.as_ref() }.ok_or_else(|| BridgeError::null("stage"))?;
    h.slot.end_open(end)
}

/// # Safety
/// The strings must be readable.
unsafe fn error_info(
    error_type: OtStr,
    message: OtStr,
    stacktrace: OtStr,
) -> Result<ErrorInfo, BridgeError> {
    // SAFETY: forwarded from the caller.
    let mut e = ErrorInfo::new(unsafe { error_type.as_str("error type") }?, unsafe {
        message.as_str("error message")
    }?);
    if let Some(st) = unsafe { stacktrace.as_opt_str("stack trace") }? {
        e = e.with_stacktrace(st);
    }
    Ok(e)
}

/// Sets an attribute on an open stage.
///
/// # Safety
/// `stage` must be a live handle; `attribute` readable; `error` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_stage_set_attribute(
    stage: *const OtStage,
    attribute: *const OtAttribute,
    error: *mut *mut OtBuffer,
) -> Status {
    // SAFETY (all derefs): see the function's contract.
    guard(unsafe { error.as_mut() }, || {
        let a = unsafe { attribute.as_ref() }.ok_or_else(|| BridgeError::null("attribute"))?;
        let (key, value) = unsafe { attribute_value(a) }?;
        unsafe { with_open(stage, |s| Ok(s.set_attribute(key, value)?)) }
    })
}

/// Records the calculated price (`order.price.amount`, `order.price.currency`).
///
/// # Safety
/// `stage` must be a live handle; `currency` readable; `error` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_stage_record_price(
    stage: *const OtStage,
    amount: f64,
    currency: OtStr,
    error: *mut *mut OtBuffer,
) -> Status {
    // SAFETY (all derefs): see the function's contract.
    guard(unsafe { error.as_mut() }, || {
        let currency = unsafe { currency.as_str("currency") }?;
        unsafe { with_open(stage, |s| Ok(s.record_price(amount, currency)?)) }
    })
}

/// Records an error (an `exception` event with type, message and stack trace; status
/// Error) and keeps the stage open.
///
/// # Safety
/// `stage` must be a live handle; the strings readable; `error` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_stage_record_error(
    stage: *const OtStage,
    error_type: OtStr,
    message: OtStr,
    stacktrace: OtStr,
    error: *mut *mut OtBuffer,
) -> Status {
    // SAFETY (all derefs): see the function's contract.
    guard(unsafe { error.as_mut() }, || {
        let e = unsafe { error_info(error_type, message, stacktrace) }?;
        unsafe { with_open(stage, |s| Ok(s.record_error(&e)?)) }
    })
}

/// Ends the stage successfully.
///
/// # Safety
/// `stage` must be a live handle; `error` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_stage_end(stage: *const OtStage, error: *mut *mut OtBuffer) -> Status {
    // SAFETY (all derefs): see the function's contract.
    guard(unsafe { error.as_mut() }, || unsafe {
        end_open(stage, Stage::end)
    })
}

/// Ends the stage as failed with this error. The stage ends even when the error is
/// rejected (for example an empty type): it is then ended as failed with a generic error.
///
/// # Safety
/// `stage` must be a live handle; the strings readable; `error` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_stage_end_with_error(
    stage: *const OtStage,
    error_type: OtStr,
    message: OtStr,
    stacktrace: OtStr,
    error: *mut *mut OtBuffer,
) -> Status {
    // SAFETY (all derefs): see the function's contract.
    guard(unsafe { error.as_mut() }, || unsafe {
        end_open(stage, |s| {
            match error_info(error_type, message, stacktrace) {
                Ok(e) => Ok(s.end_with_error(&e)?),
                Err(bad) => {
                    let _ = s.end_with_error(&ErrorInfo::new(
                        "error",
                        "an unreadable error was reported",
                    ));
                    Err(bad)
                }
            }
        })
    }?)
}

/// The headers to send on the next hop (`traceparent`, `tracestate`, `baggage`), in a new
/// list for [`ot_headers_len`] / [`ot_headers_get`] / [`ot_headers_free`].
///
/// # Safety
/// `stage` must be a live handle; `out` writable; `error` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_stage_inject(
    stage: *const OtStage,
    out: *mut *mut OtHeaders,
    error: *mut *mut OtBuffer,
) -> Status {
    // SAFETY (all derefs): see the function's contract.
    guard(unsafe { error.as_mut() }, || {
        let slot = unsafe { out.as_mut() }.ok_or_else(|| BridgeError::null("out"))?;
        let items = unsafe {
            with_open(stage, |s| {
                let mut list: Vec<(String, String)> = Vec::new();
                s.inject(&mut list);
                Ok(list)
            })
        }?;
        *slot = Box::into_raw(Box::new(OtHeaders { items }));
        Ok(())
    })
}

/// The stage's trace id (32 lowercase hex characters) and span id (16), copied into the
/// caller's buffers; readable after the stage ended.
///
/// # Safety
/// `stage` must be a live handle; `trace_id` 32 and `span_id` 16 writable bytes; `error`
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_stage_ids(
    stage: *const OtStage,
    trace_id: *mut u8,
    span_id: *mut u8,
    error: *mut *mut OtBuffer,
) -> Status {
    // SAFETY (all derefs): see the function's contract.
    guard(unsafe { error.as_mut() }, || {
        let h = unsafe { stage.as_ref() }.ok_or_else(|| BridgeError::null("stage"))?;
        if trace_id.is_null() || span_id.is_null() {
            return Err(BridgeError::null("id buffer"));
        }
        let (t, s) = h.slot.ids();
        let (t, s) = (t.to_string(), s.to_string());
        // SAFETY: the caller provides 32 and 16 writable bytes; the hex forms have exactly
        // those lengths.
        unsafe {
            std::ptr::copy_nonoverlapping(t.as_ptr(), trace_id, 32);
            std::ptr::copy_nonoverlapping(s.as_ptr(), span_id, 16);
        }
        Ok(())
    })
}

/// Releases the handle, ending the stage first if it is still open. NULL is ignored.
///
/// # Safety
/// `stage` must be NULL or a live handle, not used again afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_stage_free(stage: *mut OtStage) {
    // SAFETY: forwarded; the handle was made by Box::into_raw in ot_stage_start.
    unsafe {
        crate::error::release_handle(stage, |s| SpareBox::recycle(&SPARE_STAGE, s));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::tests::take_text;
    use crate::error::Status;
    use crate::strings::ot;
    use crate::tracer::{ot_tracer_free, ot_tracer_new, ot_tracer_shutdown, tests::file_config};
    use std::ptr::null_mut;

    fn start_info<'a>(event: &'a str, order: &'a str) -> OtStageStart {
        OtStageStart {
            event: ot(event),
            order_id: ot(order),
            user_id: ot(""),
            attributes: std::ptr::null(),
            attribute_count: 0,
            parent_headers: std::ptr::null(),
            parent_header_count: 0,
            kind: OT_KIND_INTERNAL,
            status_from: ot(""),
            status_to: ot(""),
        }
    }

    struct Fixture {
        tracer: *mut OtTracer,
        dir: std::path::PathBuf,
        file: String,
    }

    impl Fixture {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("ot-ffi-{name}-{}", std::process::id()));
            let file = dir.join("s.jsonl").to_str().unwrap().to_string();
            let mut tracer = std::ptr::null_mut();
            assert_eq!(
                unsafe { ot_tracer_new(&file_config(&file), &mut tracer, null_mut()) },
                Status::Ok
            );
            Fixture { tracer, dir, file }
        }

        /// Starts a plain stage, asserting success.
        fn start(&self, event: &str, order: &str) -> *mut OtStage {
            let mut s = std::ptr::null_mut();
            assert_eq!(
                unsafe {
                    ot_stage_start(self.tracer, &start_info(event, order), &mut s, null_mut())
                },
                Status::Ok
            );
            s
        }

        fn spans(&self) -> Vec<ordertrace::otlp_json::RecordedSpan> {
            assert_eq!(
                unsafe { ot_tracer_shutdown(self.tracer, 5000, null_mut()) },
                Status::Ok
            );
            ordertrace::otlp_json::read_file(std::path::Path::new(&self.file)).unwrap()
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            unsafe { ot_tracer_free(self.tracer) };
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    #[test]
    fn an_unknown_attribute_kind_names_a_bounded_prefix_of_a_huge_key() {
        let key = "k".repeat(1 << 20);
        let a = OtAttribute {
            key: ot(&key),
            kind: 9,
            string_value: ot(""),
            int_value: 0,
            double_value: 0.0,
        };
        let e = unsafe { attribute_value(&a) }.unwrap_err();
        assert_eq!(e.status, Status::InvalidInput);
        assert!(e.message.len() < 200, "{} bytes", e.message.len());
        assert!(e.message.contains("kind 9"), "{}", e.message);
    }

    #[test]
    fn a_stage_with_attributes_price_and_parent_is_exported() {
        let f = Fixture::new("full");
        let attrs = [
            OtAttribute {
                key: ot("mes.workcenter"),
                kind: OT_ATTR_STRING,
                string_value: ot("casting-2"),
                int_value: 0,
                double_value: 0.0,
            },
            OtAttribute {
                key: ot("mes.retries"),
                kind: OT_ATTR_INT,
                string_value: ot(""),
                int_value: 2,
                double_value: 0.0,
            },
        ];
        let parent = [OtHeader {
            key: ot("traceparent"),
            value: ot("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        }];
        let mut info = start_info("price_calculated", "ORD-1");
        info.attributes = attrs.as_ptr();
        info.attribute_count = attrs.len();
        info.parent_headers = parent.as_ptr();
        info.parent_header_count = 1;
        info.user_id = ot("1B4E28BA-2FA1-11D2-883F-0016D3CCA427");
        let mut s = std::ptr::null_mut();
        assert_eq!(
            unsafe { ot_stage_start(f.tracer, &info, &mut s, null_mut()) },
            Status::Ok
        );
        assert_eq!(
            unsafe { ot_stage_record_price(s, 125.5, ot("EUR"), null_mut()) },
            Status::Ok
        );
        assert_eq!(unsafe { ot_stage_end(s, null_mut()) }, Status::Ok);
        unsafe { ot_stage_free(s) };

        let spans = f.spans();
        let span = spans.iter().find(|s| s.name == "price_calculated").unwrap();
        assert_eq!(span.attribute("mes.workcenter"), Some("casting-2"));
        assert_eq!(span.attribute("mes.retries"), Some("2"));
        assert_eq!(span.attribute("order.price.amount"), Some("125.5"));
        assert_eq!(
            span.attribute("user.id"),
            Some("1b4e28ba-2fa1-11d2-883f-0016d3cca427")
        );
        // A foreign parent under the default identity: a link, not the parent.
        assert_eq!(span.links[0].span_id, "00f067aa0ba902b7");
    }

    #[test]
    fn an_unrelated_header_that_is_not_utf8_does_not_fail_the_start() {
        let f = Fixture::new("binary-header");
        let binary = [0xffu8];
        let parent = [
            OtHeader {
                key: ot("x-bin"),
                value: OtStr {
                    ptr: binary.as_ptr(),
                    len: 1,
                },
            },
            OtHeader {
                key: ot("baggage"),
                value: ot("order.id=ORD-B"),
            },
        ];
        let mut info = start_info("order_confirmed", "ORD-B");
        info.parent_headers = parent.as_ptr();
        info.parent_header_count = parent.len();
        let mut s = std::ptr::null_mut();
        assert_eq!(
            unsafe { ot_stage_start(f.tracer, &info, &mut s, null_mut()) },
            Status::Ok
        );
        assert_eq!(unsafe { ot_stage_end(s, null_mut()) }, Status::Ok);
        unsafe { ot_stage_free(s) };
        assert!(f.spans().iter().any(|s| s.name == "order_confirmed"));
    }

    #[test]
    fn a_closed_stage_refuses_further_calls_but_keeps_its_ids() {
        let f = Fixture::new("closed");
        let s = f.start("order_shipped", "ORD-2");
        assert_eq!(unsafe { ot_stage_end(s, null_mut()) }, Status::Ok);
        let mut error = null_mut();
        assert_eq!(unsafe { ot_stage_end(s, &mut error) }, Status::Closed);
        assert_eq!(
            take_text(error),
            "the stage has already ended; start a new stage"
        );
        assert_eq!(
            unsafe { ot_stage_record_price(s, 1.0, ot("EUR"), null_mut()) },
            Status::Closed
        );
        let mut out = std::ptr::null_mut();
        assert_eq!(
            unsafe { ot_stage_inject(s, &mut out, null_mut()) },
            Status::Closed
        );
        let (mut t, mut sp) = ([0u8; 32], [0u8; 16]);
        assert_eq!(
            unsafe { ot_stage_ids(s, t.as_mut_ptr(), sp.as_mut_ptr(), null_mut()) },
            Status::Ok
        );
        assert_eq!(
            std::str::from_utf8(&t).unwrap(),
            ordertrace::identity::order_trace_id("ORD-2").to_string()
        );
        unsafe { ot_stage_free(s) };
    }

    #[test]
    fn end_with_error_records_the_exception() {
        let f = Fixture::new("error");
        let s = f.start("price_calculated", "ORD-3");
        let status = unsafe {
            ot_stage_end_with_error(
                s,
                ot("System.TimeoutException"),
                ot("MES timed out"),
                ot("at Mes.Price()"),
                null_mut(),
            )
        };
        assert_eq!(status, Status::Ok);
        unsafe { ot_stage_free(s) };
        let spans = f.spans();
        let e = spans[0].exception().expect("exception event");
        assert_eq!(e.attributes["exception.type"], "System.TimeoutException");
        assert_eq!(e.attributes["exception.stacktrace"], "at Mes.Price()");
        assert!(spans[0].is_error());
    }

    #[test]
    fn bad_event_and_kind_are_rejected_before_a_span_exists() {
        let f = Fixture::new("bad");
        let mut s = std::ptr::null_mut();
        let status = unsafe {
            ot_stage_start(
                f.tracer,
                &start_info("order_lost", "ORD-4"),
                &mut s,
                null_mut(),
            )
        };
        assert_eq!(status, Status::UnknownEvent);
        let mut info = start_info("order_shipped", "ORD-4");
        info.kind = 42;
        assert_eq!(
            unsafe { ot_stage_start(f.tracer, &info, &mut s, null_mut()) },
            Status::InvalidInput
        );
        assert!(s.is_null());
        assert!(f.spans().is_empty());
    }

    fn counters(f: &Fixture) -> ordertrace::PipelineCounters {
        let mut c = ordertrace::PipelineCounters::default();
        assert_eq!(
            unsafe { crate::tracer::ot_tracer_counters(f.tracer, &mut c, null_mut()) },
            Status::Ok
        );
        c
    }

    #[test]
    fn start_with_bad_ids_returns_a_stage_with_the_problem_and_counts_it() {
        let f = Fixture::new("lenient");
        let not_utf8 = [b'O', 0xc3, 0x28];
        let mut info = start_info("price_calculated", "ORD-L1");
        info.user_id = ot("42");
        let mut bad_user = std::ptr::null_mut();
        assert_eq!(
            unsafe { ot_stage_start(f.tracer, &info, &mut bad_user, null_mut()) },
            Status::Ok
        );
        info.order_id = OtStr {
            ptr: not_utf8.as_ptr(),
            len: not_utf8.len(),
        };
        info.user_id = ot("");
        let mut bad_order = std::ptr::null_mut();
        assert_eq!(
            unsafe { ot_stage_start(f.tracer, &info, &mut bad_order, null_mut()) },
            Status::Ok
        );
        assert!(!bad_user.is_null() && !bad_order.is_null());
        assert_eq!(counters(&f).ids_rejected, 2);
        unsafe {
            ot_stage_free(bad_user);
            ot_stage_free(bad_order);
        }
        let spans = f.spans();
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].attribute("order.id"), Some("ORD-L1"));
        assert_eq!(spans[0].attribute("user.id"), None);
        assert_eq!(
            spans[0].attribute("ordertrace.id_rejected"),
            Some("user.id")
        );
        assert_eq!(spans[1].attribute("order.id"), None);
        assert_eq!(
            spans[1].attribute("ordertrace.problem"),
            Some("invalid order id: \"O\\xc3(\" is not UTF-8 (invalid byte at offset 1)")
        );
    }

    #[test]
    fn strict_ids_start_with_bad_ids_fails_and_counts() {
        let dir = std::env::temp_dir().join(format!("ot-ffi-strict-{}", std::process::id()));
        let file = dir.join("s.jsonl").to_str().unwrap().to_string();
        let mut config = file_config(&file);
        config.strict_ids = 1;
        let mut tracer = std::ptr::null_mut();
        assert_eq!(
            unsafe { ot_tracer_new(&config, &mut tracer, null_mut()) },
            Status::Ok
        );
        let f = Fixture { tracer, dir, file };
        let mut s = std::ptr::null_mut();
        let mut info = start_info("order_confirmed", "ORD-S1");
        info.user_id = ot("12345");
        let mut error = null_mut();
        assert_eq!(
            unsafe { ot_stage_start(f.tracer, &info, &mut s, &mut error) },
            Status::InvalidInput
        );
        assert_eq!(
            take_text(error),
            "invalid user id: \"12345\" is not a UUID (expected 8-4-4-4-12 hex digits)"
        );
        let empty = start_info("order_confirmed", "");
        assert_eq!(
            unsafe { ot_stage_start(f.tracer, &empty, &mut s, null_mut()) },
            Status::InvalidInput
        );
        assert!(s.is_null());
        assert_eq!(counters(&f).ids_rejected, 2);
        assert!(f.spans().is_empty());
    }

    #[test]
    fn strict_ids_other_than_0_1_or_default_is_refused() {
        let mut config = file_config("unused.jsonl");
        config.strict_ids = 7;
        let mut tracer = std::ptr::null_mut();
        assert_eq!(
            unsafe { ot_tracer_new(&config, &mut tracer, null_mut()) },
            Status::InvalidConfig
        );
        assert!(tracer.is_null());
    }

    #[test]
    fn record_starts_and_ends_a_stage_in_one_call() {
        let f = Fixture::new("record");
        let ok = start_info("order_status_changed", "ORD-6");
        let mut info = ok;
        info.status_from = ot("confirmed");
        info.status_to = ot("in_production");
        let none = ot("");
        assert_eq!(
            unsafe { ot_stage_record(f.tracer, &info, none, none, none, null_mut()) },
            Status::Ok
        );
        let failed = start_info("price_calculated", "ORD-6");
        assert_eq!(
            unsafe {
                ot_stage_record(
                    f.tracer,
                    &failed,
                    ot("Mes.Timeout"),
                    ot("slow"),
                    none,
                    null_mut(),
                )
            },
            Status::Ok
        );
        let spans = f.spans();
        let changed = spans
            .iter()
            .find(|s| s.name == "order_status_changed")
            .expect("status change");
        assert_eq!(changed.attribute("order.status.to"), Some("in_production"));
        assert!(!changed.is_error());
        let price = spans.iter().find(|s| s.name == "price_calculated").unwrap();
        assert!(price.is_error());
        assert_eq!(
            price.exception().unwrap().attributes["exception.type"],
            "Mes.Timeout"
        );
    }

    #[test]
    fn record_refuses_bad_input_without_a_span() {
        let f = Fixture::new("record-bad");
        let none = ot("");
        let info = start_info("order_lost", "ORD-7");
        let mut error = null_mut();
        assert_eq!(
            unsafe { ot_stage_record(f.tracer, &info, none, none, none, &mut error) },
            Status::UnknownEvent
        );
        let message = take_text(error);
        assert!(
            message.starts_with("unknown order event \"order_lost\"; expected one of: "),
            "{message}"
        );
        assert_eq!(
            unsafe { ot_stage_record(f.tracer, std::ptr::null(), none, none, none, null_mut()) },
            Status::NullPointer
        );
        assert!(f.spans().is_empty());
    }

    #[test]
    fn kind_constants_follow_the_shared_numbering() {
        use ordertrace::SpanKind;
        let pairs = [
            (OT_KIND_INTERNAL, SpanKind::Internal),
            (OT_KIND_SERVER, SpanKind::Server),
            (OT_KIND_CLIENT, SpanKind::Client),
            (OT_KIND_PRODUCER, SpanKind::Producer),
            (OT_KIND_CONSUMER, SpanKind::Consumer),
        ];
        for (code, kind) in pairs {
            assert_eq!(ordertrace_bridge::span_kind(code).unwrap(), kind);
        }
    }

    #[test]
    fn freeing_an_open_stage_ends_it() {
        let f = Fixture::new("free");
        let s = f.start("order_confirmed", "ORD-5");
        unsafe { ot_stage_free(s) };
        assert_eq!(f.spans().len(), 1);
    }
}
