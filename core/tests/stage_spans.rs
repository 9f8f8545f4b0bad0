//! Stage spans as exported: read back from the embedded file exporter.

mod common;

use common::{SECOND, TempFile, USER, builder, named, one};
use ordertrace::schema::{OrderEvent, attr};
use ordertrace::{ErrorInfo, OrderTraceError};
use std::time::Duration;

#[test]
fn stage_span_carries_event_name_order_user_and_extra_attributes() {
    let file = TempFile::new("attrs");
    let tracer = builder("mes-api", &file).build().unwrap();
    let mut stage = tracer
        .stage(OrderEvent::PriceCalculated, "ORD-5678")
        .user_id(USER)
        .attribute("mes.calculator", "v2")
        .attribute("mes.retries", 2i64)
        .start()
        .unwrap();
    stage.record_price(1249.5, "EUR").unwrap();
    stage.end();
    tracer.flush(SECOND).unwrap();

    let spans = file.spans();
    let s = one(&spans, "price_calculated");
    assert_eq!(s.service_name, "mes-api");
    assert_eq!(s.attribute(attr::ORDER_ID), Some("ORD-5678"));
    assert_eq!(s.attribute(attr::USER_ID), Some(USER));
    assert_eq!(s.attribute(attr::ORDER_EVENT), Some("price_calculated"));
    assert_eq!(s.attribute(attr::ORDER_STAGE), Some("5"));
    assert_eq!(s.attribute("mes.calculator"), Some("v2"));
    assert_eq!(s.attribute("mes.retries"), Some("2"));
    assert_eq!(s.attribute(attr::PRICE_AMOUNT), Some("1249.5"));
    assert_eq!(s.attribute(attr::PRICE_CURRENCY), Some("EUR"));
    assert!(!s.is_error());
}

/// Waits (up to 5 s) until the file holds a span named `name`, flushing as it goes.
fn wait_for_span(tracer: &ordertrace::OrderTracer, file: &TempFile, name: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while named(&file.spans(), name).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
        tracer.flush(SECOND).unwrap();
    }
}

#[test]
fn hung_stage_shows_its_start_record_after_the_threshold_while_still_open() {
    let file = TempFile::new("start-record");
    let threshold = Duration::from_millis(60);
    let tracer = builder("mes-api", &file)
        .start_record_after(threshold)
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let stage = tracer
        .stage(OrderEvent::PriceCalculated, "ORD-1")
        .user_id(USER)
        .start()
        .unwrap();
    wait_for_span(&tracer, &file, "price_calculated.started");
    let waited = started.elapsed();

    let spans = file.spans();
    assert!(
        named(&spans, "price_calculated").is_empty(),
        "stage exported before it ended"
    );
    let record = one(&spans, "price_calculated.started");
    assert!(
        waited >= threshold,
        "start record after {waited:?}, before the threshold {threshold:?}"
    );
    assert_eq!(
        record.parent_span_id.as_deref(),
        Some(stage.span_id().as_str())
    );
    assert_eq!(record.trace_id, stage.trace_id());
    assert_eq!(record.duration_nanos(), 0);
    assert_eq!(record.attribute(attr::RECORD), Some("stage_start"));
    assert_eq!(
        record.attribute(attr::STAGE_SPAN_ID),
        Some(stage.span_id().as_str())
    );
    assert_eq!(record.attribute(attr::ORDER_ID), Some("ORD-1"));
    assert_eq!(record.attribute(attr::USER_ID), Some(USER));

    stage.end();
    tracer.flush(SECOND).unwrap();
    let spans = file.spans();
    let s = one(&spans, "price_calculated");
    assert_eq!(
        s.start_unix_nanos, record.start_unix_nanos,
        "the start record carries the stage's start time, not the time it was written"
    );
    assert_eq!(named(&spans, "price_calculated.started").len(), 1);
}

#[test]
fn stage_ending_before_the_threshold_is_exported_as_its_span_alone() {
    let file = TempFile::new("quick-stage");
    let tracer = builder("mes-api", &file)
        .start_record_after(Duration::from_millis(100))
        .build()
        .unwrap();
    tracer
        .stage(OrderEvent::PriceCalculated, "ORD-1")
        .start()
        .unwrap()
        .end();
    assert_eq!(tracer.open_stages(), 0);
    // Past the threshold and several ticks: the ended stage must not get a late record.
    std::thread::sleep(Duration::from_millis(250));
    tracer.flush(SECOND).unwrap();
    let spans = file.spans();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["price_calculated"]);
}

#[test]
fn default_threshold_is_the_heartbeat_interval() {
    let file = TempFile::new("default-threshold");
    let tracer = builder("mes-api", &file)
        .heartbeat_interval(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    assert_eq!(
        tracer.config().start_record_threshold(),
        Some(Duration::from_millis(300))
    );
    let stage = tracer
        .stage(OrderEvent::ManufacturingStarted, "ORD-1")
        .start()
        .unwrap();
    tracer.flush(SECOND).unwrap();
    assert!(
        named(&file.spans(), "manufacturing_started.started").is_empty(),
        "start record exported before the heartbeat interval passed"
    );
    wait_for_span(&tracer, &file, "manufacturing_started.started");
    assert_eq!(
        named(&file.spans(), "manufacturing_started.started").len(),
        1
    );
    stage.end();
}

#[test]
fn zero_threshold_exports_the_start_record_at_once() {
    let file = TempFile::new("zero-threshold");
    let tracer = builder("mes-api", &file)
        .start_record_after(Duration::ZERO)
        .build()
        .unwrap();
    let stage = tracer
        .stage(OrderEvent::PriceCalculated, "ORD-1")
        .start()
        .unwrap();
    tracer.flush(SECOND).unwrap();
    let spans = file.spans();
    let record = one(&spans, "price_calculated.started");
    assert_eq!(
        record.parent_span_id.as_deref(),
        Some(stage.span_id().as_str())
    );
    stage.end();
    tracer.flush(SECOND).unwrap();
    assert_eq!(file.spans().len(), 2);
}

#[test]
fn start_records_can_be_switched_off() {
    let file = TempFile::new("no-start-record");
    let tracer = builder("shop-api", &file)
        .start_records(false)
        .build()
        .unwrap();
    tracer
        .stage(OrderEvent::ModelUploaded, "ORD-1")
        .start()
        .unwrap()
        .end();
    tracer.flush(SECOND).unwrap();
    let spans = file.spans();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, "model_uploaded");
}

#[test]
fn end_with_error_records_exception_event_and_error_status() {
    let file = TempFile::new("error");
    let tracer = builder("mes-api", &file).build().unwrap();
    let stage = tracer
        .stage(OrderEvent::PriceCalculated, "ORD-2")
        .start()
        .unwrap();
    let error = ErrorInfo::new("Mes.PricingException", "no price for platinum 950")
        .with_stacktrace("   at Mes.Pricing.CalculatePrice()\n   at Mes.Api.Handle()");
    stage.end_with_error(&error).unwrap();
    tracer.flush(SECOND).unwrap();

    let spans = file.spans();
    let s = one(&spans, "price_calculated");
    assert!(s.is_error());
    assert_eq!(
        s.status_message,
        "Mes.PricingException: no price for platinum 950"
    );
    let ex = s.exception().expect("exception event");
    assert_eq!(ex.attributes[attr::EXCEPTION_TYPE], "Mes.PricingException");
    assert_eq!(
        ex.attributes[attr::EXCEPTION_MESSAGE],
        "no price for platinum 950"
    );
    assert!(ex.attributes[attr::EXCEPTION_STACKTRACE].contains("CalculatePrice"));
}

#[test]
fn record_error_keeps_the_stage_open_until_it_ends() {
    let file = TempFile::new("record-error");
    let tracer = builder("crm-api", &file).build().unwrap();
    let mut stage = tracer
        .stage(OrderEvent::OrderConfirmed, "ORD-3")
        .start()
        .unwrap();
    stage
        .record_error(&ErrorInfo::new("java.io.IOException", "retrying"))
        .unwrap();
    tracer.flush(SECOND).unwrap();
    assert!(named(&file.spans(), "order_confirmed").is_empty());
    stage.end();
    tracer.flush(SECOND).unwrap();
    let spans = file.spans();
    assert!(one(&spans, "order_confirmed").is_error());
}

#[test]
fn error_from_rust_error_has_type_chain_and_backtrace() {
    let file = TempFile::new("rust-error");
    let tracer = builder("shop-api", &file).build().unwrap();
    let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "upload stalled");
    let stage = tracer
        .stage(OrderEvent::ModelUploaded, "ORD-4")
        .start()
        .unwrap();
    stage.end_with_error(&ErrorInfo::from_error(&io)).unwrap();
    tracer.flush(SECOND).unwrap();
    let spans = file.spans();
    let ex = one(&spans, "model_uploaded").exception().unwrap().clone();
    assert_eq!(ex.attributes[attr::EXCEPTION_TYPE], "std::io::error::Error");
    assert_eq!(ex.attributes[attr::EXCEPTION_MESSAGE], "upload stalled");
    assert!(!ex.attributes[attr::EXCEPTION_STACKTRACE].is_empty());
}

#[test]
fn oversized_stacktrace_is_truncated_not_lost() {
    let file = TempFile::new("big-trace");
    let tracer = builder("mes-api", &file).build().unwrap();
    let stage = tracer
        .stage(OrderEvent::ManufacturingStarted, "ORD-5")
        .start()
        .unwrap();
    let huge = "at Frame()\n".repeat(10_000);
    stage
        .end_with_error(&ErrorInfo::new("E", "m").with_stacktrace(huge))
        .unwrap();
    tracer.flush(SECOND).unwrap();
    let spans = file.spans();
    let st = &one(&spans, "manufacturing_started")
        .exception()
        .unwrap()
        .attributes[attr::EXCEPTION_STACKTRACE];
    assert!(st.len() <= ordertrace::schema::MAX_ATTRIBUTE_VALUE_LEN);
    assert!(st.ends_with("[truncated by ordertrace]"));
}

#[test]
fn end_with_error_rejects_empty_type_but_still_ends_the_stage_as_error() {
    let file = TempFile::new("bad-error");
    let tracer = builder("mes-api", &file).build().unwrap();
    let stage = tracer
        .stage(OrderEvent::PriceCalculated, "ORD-6")
        .start()
        .unwrap();
    let err = stage.end_with_error(&ErrorInfo::new(" ", "m")).unwrap_err();
    assert_eq!(err.to_string(), "invalid exception type: it is empty");
    tracer.flush(SECOND).unwrap();
    assert!(one(&file.spans(), "price_calculated").is_error());
}

#[test]
fn dropping_a_stage_ends_it() {
    let file = TempFile::new("drop");
    let tracer = builder("crm-api", &file).build().unwrap();
    {
        let _stage = tracer
            .stage(OrderEvent::OrderShipped, "ORD-7")
            .start()
            .unwrap();
    }
    tracer.flush(SECOND).unwrap();
    let spans = file.spans();
    assert!(!one(&spans, "order_shipped").is_error());
    assert_eq!(tracer.open_stages(), 0);
}

#[test]
fn a_panic_inside_a_stage_is_recorded_as_its_error() {
    let file = TempFile::new("panic");
    let tracer = builder("mes-api", &file).build().unwrap();
    let t = tracer.clone();
    let joined = std::thread::spawn(move || {
        let _stage = t
            .stage(OrderEvent::ManufacturingCompleted, "ORD-8")
            .start()
            .unwrap();
        panic!("kiln overheated");
    })
    .join();
    assert!(joined.is_err());
    tracer.flush(SECOND).unwrap();
    let spans = file.spans();
    let s = one(&spans, "manufacturing_completed");
    assert!(s.is_error());
    assert_eq!(
        s.exception().unwrap().attributes[attr::EXCEPTION_TYPE],
        "panic"
    );
}

#[test]
fn status_change_attributes_are_recorded() {
    let file = TempFile::new("status");
    let tracer = builder("crm-api", &file).build().unwrap();
    tracer
        .stage(OrderEvent::OrderStatusChanged, "ORD-9")
        .status_change("CONFIRMED", "IN_PRODUCTION")
        .start()
        .unwrap()
        .end();
    tracer.flush(SECOND).unwrap();
    let spans = file.spans();
    let s = one(&spans, "order_status_changed");
    assert_eq!(s.attribute(attr::ORDER_STATUS_FROM), Some("CONFIRMED"));
    assert_eq!(s.attribute(attr::ORDER_STATUS_TO), Some("IN_PRODUCTION"));
}

#[test]
fn start_record_of_a_status_change_carries_the_new_status() {
    let file = TempFile::new("status-start");
    let tracer = builder("crm-api", &file)
        .start_record_after(Duration::from_millis(30))
        .build()
        .unwrap();
    let stage = tracer
        .stage(OrderEvent::OrderStatusChanged, "ORD-9")
        .status_change("confirmed", "in_production")
        .start()
        .unwrap();
    wait_for_span(&tracer, &file, "order_status_changed.started");
    let spans = file.spans();
    let record = one(&spans, "order_status_changed.started");
    assert_eq!(record.attribute(attr::ORDER_STATUS_FROM), Some("confirmed"));
    assert_eq!(
        record.attribute(attr::ORDER_STATUS_TO),
        Some("in_production")
    );
    stage.end();
}

#[test]
fn start_rejects_bad_input_with_readable_errors() {
    let file = TempFile::new("bad-input");
    let tracer = builder("crm-api", &file).strict_ids(true).build().unwrap();
    let e = tracer
        .stage(OrderEvent::OrderConfirmed, "")
        .start()
        .unwrap_err();
    assert_eq!(e.to_string(), "invalid order id: it is empty");
    let e = tracer
        .stage(OrderEvent::OrderConfirmed, "ORD-1")
        .user_id("bob")
        .start()
        .unwrap_err();
    assert!(e.to_string().contains("is not a UUID"), "{e}");
    let e = tracer
        .stage(OrderEvent::OrderConfirmed, "ORD-1")
        .attribute("order.id", "x")
        .start()
        .unwrap_err();
    assert!(e.to_string().contains("set by ordertrace itself"), "{e}");
    let e = tracer
        .stage(OrderEvent::OrderStatusChanged, "ORD-1")
        .status_change("", "X")
        .start()
        .unwrap_err();
    assert_eq!(e.to_string(), "invalid status from: it is empty");
    let e = tracer
        .stage(OrderEvent::PriceCalculated, "ORD-1")
        .attribute("x", f64::NAN)
        .start()
        .unwrap_err();
    assert!(e.to_string().contains("not a finite number"));
    tracer.flush(SECOND).unwrap();
    assert!(
        file.spans().is_empty(),
        "a rejected stage must export nothing"
    );
}

#[test]
fn a_huge_currency_is_refused_with_a_bounded_message() {
    // Found by the java suite's JniFuzzTest: the message quoted the whole 1 MiB input.
    let file = TempFile::new("currency");
    let tracer = builder("mes-api", &file).build().unwrap();
    let mut stage = tracer
        .stage(OrderEvent::PriceCalculated, "ORD-1")
        .start()
        .unwrap();
    let message = stage
        .record_price(1.0, &"k".repeat(1 << 20))
        .unwrap_err()
        .to_string();
    assert!(message.len() < 200, "{} bytes", message.len());
    assert!(message.contains("ISO 4217"), "{message}");
}

#[test]
fn stage_setters_reject_bad_values() {
    let file = TempFile::new("setters");
    let tracer = builder("mes-api", &file).build().unwrap();
    let mut stage = tracer
        .stage(OrderEvent::PriceCalculated, "ORD-1")
        .start()
        .unwrap();
    assert!(matches!(
        stage.record_price(-1.0, "EUR"),
        Err(OrderTraceError::InvalidInput { .. })
    ));
    assert!(stage.record_price(1.0, "euro").is_err());
    assert!(stage.set_attribute("user.id", "x").is_err());
    assert!(stage.set_attribute("note", "x".repeat(20_000)).is_err());
    assert!(
        stage
            .record_error(&ErrorInfo::new("T".repeat(300), "m"))
            .is_err()
    );
}

#[test]
fn a_refused_price_is_an_error_and_a_problem_on_the_span() {
    let file = TempFile::new("refused-price");
    let tracer = builder("mes-api", &file).build().unwrap();
    let mut stage = tracer
        .stage(OrderEvent::PriceCalculated, "ORD-PRICE")
        .start()
        .unwrap();
    assert!(stage.record_price(-5.0, "EUR").is_err());
    stage.end();
    tracer.flush(SECOND).unwrap();
    let spans = file.spans();
    let s = one(&spans, "price_calculated");
    let problem = s.attribute(attr::PROBLEM).unwrap_or_default();
    assert!(problem.contains("not a non-negative number"), "{problem}");
    assert_eq!(s.attribute(attr::PRICE_AMOUNT), None);
    assert!(!s.is_error());
}

#[test]
fn heartbeats_are_exported_while_a_stage_stays_open_and_stop_when_it_ends() {
    let file = TempFile::new("heartbeat");
    let tracer = builder("mes-api", &file)
        .heartbeat_interval(Some(Duration::from_millis(40)))
        .build()
        .unwrap();
    let stage = tracer
        .stage(OrderEvent::PriceCalculated, "ORD-10")
        .user_id(USER)
        .start()
        .unwrap();
    assert_eq!(tracer.open_stages(), 1);
    std::thread::sleep(Duration::from_millis(250));
    stage.end();
    assert_eq!(tracer.open_stages(), 0);
    tracer.flush(SECOND).unwrap();
    let beats_at_end = named(&file.spans(), "price_calculated.heartbeat").len();
    std::thread::sleep(Duration::from_millis(150));
    tracer.flush(SECOND).unwrap();

    let spans = file.spans();
    let beats = named(&spans, "price_calculated.heartbeat");
    assert!(
        beats.len() >= 2,
        "expected several heartbeats, got {}",
        beats.len()
    );
    assert_eq!(
        beats.len(),
        beats_at_end,
        "heartbeats continued after the stage ended"
    );
    let stage_span = one(&spans, "price_calculated");
    let mut open_for: Vec<u64> = beats
        .iter()
        .map(|b| b.attribute(attr::OPEN_FOR_MS).unwrap().parse().unwrap())
        .collect();
    open_for.sort();
    assert!(open_for[0] >= 40, "{open_for:?}");
    assert!(open_for.windows(2).all(|w| w[0] < w[1]), "{open_for:?}");
    for b in &beats {
        assert_eq!(
            b.parent_span_id.as_deref(),
            Some(stage_span.span_id.as_str())
        );
        assert_eq!(b.attribute(attr::RECORD), Some("heartbeat"));
        assert_eq!(b.attribute(attr::USER_ID), Some(USER));
    }
}

#[test]
fn configured_span_limits_cut_stage_spans_and_start_records_alike() {
    let file = TempFile::new("limits");
    let tracer = builder("mes-api", &file)
        .start_record_after(Duration::ZERO)
        .span_limits(ordertrace::pipeline::SpanLimitSettings {
            attributes_per_span: 5,
            ..Default::default()
        })
        .build()
        .unwrap();
    let mut b = tracer
        .stage(OrderEvent::OrderStatusChanged, "ORD-5678")
        .user_id(USER)
        .status_change("confirmed", "in_production");
    for i in 0..10 {
        b = b.attribute(&format!("crm.extra{i}"), i64::from(i));
    }
    b.start().unwrap().end();
    tracer.flush(SECOND).unwrap();

    let spans = file.spans();
    let stage = one(&spans, "order_status_changed");
    // The first five in the span's order: order.id, order.event, order.stage, user.id, then
    // the caller's first (the status change); the rest dropped.
    assert_eq!(stage.attributes.len(), 5, "{:?}", stage.attributes);
    assert_eq!(stage.attribute(attr::ORDER_ID), Some("ORD-5678"));
    assert_eq!(stage.attribute(attr::USER_ID), Some(USER));
    assert_eq!(stage.attribute("crm.extra0"), None);
    let record = one(&spans, "order_status_changed.started");
    assert!(
        record.attributes.len() <= 5,
        "the SDK tracer's start record has the same limit: {:?}",
        record.attributes
    );
}
