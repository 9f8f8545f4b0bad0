//! A bad or missing order id or user id never fails a stage start unless strict ids are asked
//! for: the stage starts, the problem is on its span and counted.

mod common;

use common::{SECOND, TempFile, USER, builder, named, one};
use ordertrace::OrderTracer;
use ordertrace::identity::order_trace_id;
use ordertrace::propagation::extract;
use ordertrace::schema::{OrderEvent, attr};
use std::collections::HashMap;

/// What the business call returns and whether it ran, with the stage around it.
fn priced(tracer: &OrderTracer, order_id: &str, user_id: Option<&str>) -> Result<f64, String> {
    let mut b = tracer.stage(OrderEvent::PriceCalculated, order_id);
    if let Some(u) = user_id {
        b = b.user_id(u);
    }
    let stage = b.start().map_err(|e| format!("start failed: {e}"))?;
    let price = 1249.5;
    stage.end();
    Ok(price)
}

#[test]
fn business_result_is_the_same_with_good_bad_and_missing_ids() {
    let file = TempFile::new("same-result");
    let tracer = builder("mes-api", &file).build().unwrap();
    for (order, user) in [
        ("ORD-1", Some(USER)),
        ("ORD-1", None),
        ("ORD-1", Some("42")),
        ("ORD-1", Some("")),
        ("", Some("12345")),
        ("ORD-1\r\nX-Evil: 1", None),
        (&"O".repeat(129) as &str, Some(USER)),
    ] {
        assert_eq!(
            priced(&tracer, order, user),
            Ok(1249.5),
            "{order:?} {user:?}"
        );
    }
    tracer.flush(SECOND).unwrap();
    assert_eq!(named(&file.spans(), "price_calculated").len(), 7);
}

#[test]
fn lenient_start_with_non_uuid_user_id_records_the_problem_and_counts_it() {
    let file = TempFile::new("bad-user");
    let tracer = builder("crm-api", &file).build().unwrap();
    let stage = tracer
        .stage(OrderEvent::OrderConfirmed, "ORD-5678")
        .user_id("42")
        .start()
        .unwrap();
    assert_eq!(stage.user_id(), None);
    assert_eq!(stage.trace_id(), order_trace_id("ORD-5678").to_string());
    let mut headers: HashMap<String, String> = HashMap::new();
    stage.inject(&mut headers);
    assert_eq!(headers["baggage"], "order.id=ORD-5678");
    stage.end();
    tracer.flush(SECOND).unwrap();

    let spans = file.spans();
    let s = one(&spans, "order_confirmed");
    assert_eq!(s.attribute(attr::ORDER_ID), Some("ORD-5678"));
    assert_eq!(s.attribute(attr::USER_ID), None);
    assert_eq!(
        s.attribute(attr::PROBLEM),
        Some("invalid user id: \"42\" is not a UUID (expected 8-4-4-4-12 hex digits)")
    );
    assert_eq!(s.attribute(attr::ID_REJECTED), Some("user.id"));
    assert!(
        !s.is_error(),
        "a bad id is a problem of the data, not a failed stage"
    );
    assert_eq!(tracer.counters().ids_rejected, 1);
}

#[test]
fn lenient_start_without_user_id_has_no_problem() {
    let file = TempFile::new("no-user");
    let tracer = builder("crm-api", &file).build().unwrap();
    tracer
        .stage(OrderEvent::OrderConfirmed, "ORD-1")
        .start()
        .unwrap()
        .end();
    tracer.flush(SECOND).unwrap();
    let spans = file.spans();
    let s = one(&spans, "order_confirmed");
    assert_eq!(s.attribute(attr::PROBLEM), None);
    assert_eq!(s.attribute(attr::ID_REJECTED), None);
    assert_eq!(tracer.counters().ids_rejected, 0);
}

#[test]
fn lenient_start_with_bad_order_id_starts_a_random_trace_without_order_id() {
    let file = TempFile::new("bad-order");
    let tracer = builder("crm-api", &file).build().unwrap();
    let first = tracer
        .stage(OrderEvent::OrderConfirmed, "")
        .user_id(USER)
        .start()
        .unwrap();
    let second = tracer
        .stage(OrderEvent::OrderConfirmed, "")
        .start()
        .unwrap();
    assert_ne!(
        first.trace_id(),
        second.trace_id(),
        "no trace is derived from an empty id"
    );
    assert_ne!(first.trace_id(), order_trace_id("").to_string());
    assert_eq!(first.order_id(), "");
    assert_eq!(first.user_id(), Some(USER));
    first.end();
    second.end();
    tracer.flush(SECOND).unwrap();

    let spans = file.spans();
    let stages = named(&spans, "order_confirmed");
    assert_eq!(stages.len(), 2);
    assert_eq!(stages[0].attribute(attr::ORDER_ID), None);
    assert_eq!(
        stages[0].attribute(attr::PROBLEM),
        Some("invalid order id: it is empty")
    );
    assert_eq!(stages[0].attribute(attr::ID_REJECTED), Some("order.id"));
    assert!(
        named(&spans, "order_confirmed.started").is_empty(),
        "no start record for a stage that has no order"
    );
    assert_eq!(tracer.counters().ids_rejected, 2);
}

#[test]
fn lenient_start_never_sends_a_rejected_order_id_onward() {
    let file = TempFile::new("no-injection");
    let tracer = builder("shop-api", &file).build().unwrap();
    let stage = tracer
        .stage(OrderEvent::OrderSubmitted, "ORD-1\r\nX-Evil: 1")
        .user_id("not-a-uuid")
        .start()
        .unwrap();
    let mut headers: HashMap<String, String> = HashMap::new();
    stage.inject(&mut headers);
    assert!(!headers.contains_key("baggage"), "{headers:?}");
    assert!(headers["traceparent"].starts_with("00-"));
    assert!(
        headers
            .values()
            .all(|v| !v.contains('\r') && !v.contains('\n'))
    );
    stage.end();
    tracer.flush(SECOND).unwrap();
    let spans = file.spans();
    assert_eq!(
        one(&spans, "order_submitted").attribute(attr::ID_REJECTED),
        Some("order.id,user.id")
    );
    assert_eq!(tracer.counters().ids_rejected, 2);
}

#[test]
fn lenient_start_with_bad_order_id_continues_the_incoming_parent() {
    let file = TempFile::new("bad-order-parent");
    let tracer = builder("crm-api", &file).build().unwrap();
    let upstream = tracer
        .stage(OrderEvent::OrderSubmitted, "ORD-7")
        .start()
        .unwrap();
    let mut headers: HashMap<String, String> = HashMap::new();
    upstream.inject(&mut headers);
    let stage = tracer
        .stage(OrderEvent::OrderConfirmed, "ORD 7")
        .parent(&extract(&headers))
        .start()
        .unwrap();
    assert_eq!(stage.trace_id(), upstream.trace_id());
    let mut onward: HashMap<String, String> = HashMap::new();
    stage.inject(&mut onward);
    assert_eq!(
        onward["baggage"], "order.id=ORD-7",
        "the upstream order id, accepted on arrival, goes on"
    );
    let upstream_span = upstream.span_id();
    stage.end();
    upstream.end();
    tracer.flush(SECOND).unwrap();
    let spans = file.spans();
    let s = one(&spans, "order_confirmed");
    assert_eq!(s.parent_span_id.as_deref(), Some(upstream_span.as_str()));
    assert!(
        s.attribute(attr::PROBLEM).is_some_and(
            |p| p.starts_with("invalid order id: \"ORD 7\" contains the character ' '")
        ),
        "{:?}",
        s.attribute(attr::PROBLEM)
    );
}

#[test]
fn strict_ids_start_fails_and_still_counts_the_rejected_id() {
    let file = TempFile::new("strict");
    let tracer = builder("crm-api", &file).strict_ids(true).build().unwrap();
    let e = tracer
        .stage(OrderEvent::OrderConfirmed, "ORD-1")
        .user_id("42")
        .start()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid user id: \"42\" is not a UUID (expected 8-4-4-4-12 hex digits)"
    );
    let e = tracer
        .stage(OrderEvent::OrderConfirmed, &"O".repeat(129))
        .start()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid order id: it is 129 bytes long, at most 128 allowed"
    );
    assert_eq!(tracer.counters().ids_rejected, 2);
    tracer.flush(SECOND).unwrap();
    assert!(file.spans().is_empty(), "a refused stage exports nothing");
}

#[test]
fn strict_ids_start_accepts_good_ids() {
    let file = TempFile::new("strict-good");
    let tracer = builder("crm-api", &file).strict_ids(true).build().unwrap();
    let stage = tracer
        .stage(OrderEvent::OrderConfirmed, "ORD-1")
        .user_id(USER)
        .start()
        .unwrap();
    assert_eq!(stage.user_id(), Some(USER));
    stage.end();
    assert_eq!(tracer.counters().ids_rejected, 0);
}
