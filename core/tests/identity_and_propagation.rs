//! Which trace and parent a stage gets: order-derived identity, propagated headers across the
//! HTTP and RabbitMQ carriers, foreign contexts as links or parents. Checked on the spans read
//! back from the file exporter.

mod common;

use common::{SECOND, TempFile, USER, builder, one};
use ordertrace::identity::{order_root_span_id, order_trace_id};
use ordertrace::otlp_json::RecordedSpan;
use ordertrace::propagation::{self, TraceHeaders};
use ordertrace::{IdentityMode, OrderEvent};
use std::collections::HashMap;

const FOREIGN_TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn foreign_headers() -> TraceHeaders {
    let mut carrier = HashMap::new();
    carrier.insert("traceparent".to_string(), FOREIGN_TRACEPARENT.to_string());
    propagation::extract(&carrier)
}

#[test]
fn order_submitted_is_the_root_with_ids_derived_from_the_order() {
    let file = TempFile::new("root");
    let tracer = builder("shop-api", &file)
        .start_records(false)
        .build()
        .unwrap();
    let s = tracer
        .stage(OrderEvent::OrderSubmitted, "ORD-1")
        .start()
        .unwrap();
    assert_eq!(s.trace_id(), order_trace_id("ORD-1").to_string());
    assert_eq!(s.span_id(), order_root_span_id("ORD-1").to_string());
    s.end();
    tracer.shutdown(SECOND).unwrap();
    let spans = file.spans();
    let root = one(&spans, "order_submitted");
    assert_eq!(root.trace_id, order_trace_id("ORD-1").to_string());
    assert_eq!(root.parent_span_id, None);
}

#[test]
fn a_hop_without_headers_joins_the_order_trace_under_its_root() {
    let file = TempFile::new("headerless");
    let crm = builder("crm-api", &file)
        .start_records(false)
        .build()
        .unwrap();
    // No parent at all: the RabbitMQ message lost its headers.
    crm.stage(OrderEvent::OrderConfirmed, "ORD-2")
        .start()
        .unwrap()
        .end();
    crm.shutdown(SECOND).unwrap();
    let spans = file.spans();
    let confirmed = one(&spans, "order_confirmed");
    assert_eq!(confirmed.trace_id, order_trace_id("ORD-2").to_string());
    assert_eq!(
        confirmed.parent_span_id.as_deref(),
        Some(order_root_span_id("ORD-2").to_string().as_str())
    );
}

#[test]
fn headers_over_rabbitmq_bytes_and_http_make_parent_child_links() {
    let file = TempFile::new("hops");
    let shop = builder("shop-api", &file)
        .start_records(false)
        .build()
        .unwrap();
    let crm = builder("crm-api", &file)
        .start_records(false)
        .build()
        .unwrap();
    let mes = builder("mes-api", &file)
        .start_records(false)
        .build()
        .unwrap();

    let uploaded = shop
        .stage(OrderEvent::ModelUploaded, "ORD-3")
        .user_id(USER)
        .start()
        .unwrap();
    let mut message: HashMap<String, Vec<u8>> = HashMap::new();
    uploaded.inject(&mut message);
    let uploaded_id = uploaded.span_id();
    uploaded.end();

    // The CRM does not pass the user id: it arrives in the baggage.
    let confirmed = crm
        .stage(OrderEvent::OrderConfirmed, "ORD-3")
        .parent(&propagation::extract(&message))
        .start()
        .unwrap();
    let mut request = http::HeaderMap::new();
    confirmed.inject(&mut request);
    let confirmed_id = confirmed.span_id();
    confirmed.end();

    let priced = mes
        .stage(OrderEvent::PriceCalculated, "ORD-3")
        .parent(&propagation::extract(&request))
        .start()
        .unwrap();
    priced.end();
    for t in [&shop, &crm, &mes] {
        t.shutdown(SECOND).unwrap();
    }

    let spans = file.spans();
    let confirmed = one(&spans, "order_confirmed");
    let priced = one(&spans, "price_calculated");
    assert_eq!(
        confirmed.parent_span_id.as_deref(),
        Some(uploaded_id.as_str())
    );
    assert_eq!(
        priced.parent_span_id.as_deref(),
        Some(confirmed_id.as_str())
    );
    for s in [confirmed, priced] {
        assert_eq!(s.trace_id, order_trace_id("ORD-3").to_string());
        assert_eq!(s.attribute("user.id"), Some(USER), "{}", s.name);
        assert_eq!(s.attribute("order.id"), Some("ORD-3"));
    }
    assert_eq!(confirmed.service_name, "crm-api");
    assert_eq!(priced.service_name, "mes-api");
}

#[test]
fn injected_headers_carry_traceparent_and_order_baggage() {
    let file = TempFile::new("inject");
    let tracer = builder("shop-api", &file)
        .start_records(false)
        .build()
        .unwrap();
    let s = tracer
        .stage(OrderEvent::OrderSubmitted, "ORD-4")
        .user_id(USER)
        .start()
        .unwrap();
    let mut carrier: HashMap<String, String> = HashMap::new();
    s.inject(&mut carrier);
    assert_eq!(
        carrier["traceparent"],
        format!("00-{}-{}-01", s.trace_id(), s.span_id())
    );
    let headers = propagation::extract_strict(&carrier).unwrap();
    assert_eq!(headers.order_id(), Some("ORD-4"));
    assert_eq!(headers.user_id(), Some(USER));
    s.end();
}

/// `order_confirmed` of `order` started under a foreign parent, as read back.
fn confirmed_under_foreign_parent(order: &str, identity: IdentityMode) -> RecordedSpan {
    let file = TempFile::new(order);
    let tracer = builder("crm-api", &file)
        .start_records(false)
        .identity(identity)
        .build()
        .unwrap();
    tracer
        .stage(OrderEvent::OrderConfirmed, order)
        .parent(&foreign_headers())
        .start()
        .unwrap()
        .end();
    tracer.shutdown(SECOND).unwrap();
    one(&file.spans(), "order_confirmed").clone()
}

#[test]
fn a_foreign_context_becomes_a_link_under_order_derived_identity() {
    let s = confirmed_under_foreign_parent("ORD-5", IdentityMode::OrderDerived);
    assert_eq!(s.trace_id, order_trace_id("ORD-5").to_string());
    assert_eq!(s.links.len(), 1);
    assert_eq!(s.links[0].trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(s.links[0].span_id, "00f067aa0ba902b7");
}

#[test]
fn a_foreign_context_is_the_parent_under_propagated_identity() {
    let s = confirmed_under_foreign_parent("ORD-6", IdentityMode::Propagated);
    assert_eq!(s.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(s.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
    assert!(s.links.is_empty());
}

#[test]
fn a_malformed_traceparent_is_left_out_and_the_order_trace_still_holds() {
    let mut carrier = HashMap::new();
    carrier.insert(
        "traceparent".to_string(),
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01".to_string(),
    );
    let strict = propagation::extract_strict(&carrier).unwrap_err();
    assert_eq!(strict.code(), 3, "{strict}");
    assert!(strict.to_string().contains("traceparent"), "{strict}");

    let lenient = propagation::extract(&carrier);
    assert!(lenient.traceparent.is_none());
    assert_eq!(lenient.problems.len(), 1, "{:?}", lenient.problems);

    let file = TempFile::new("malformed");
    let tracer = builder("crm-api", &file)
        .start_records(false)
        .build()
        .unwrap();
    tracer
        .stage(OrderEvent::OrderConfirmed, "ORD-7")
        .parent(&lenient)
        .start()
        .unwrap()
        .end();
    tracer.shutdown(SECOND).unwrap();
    let spans = file.spans();
    assert_eq!(
        one(&spans, "order_confirmed").trace_id,
        order_trace_id("ORD-7").to_string()
    );
}

/// The outgoing `traceparent` of a stage of `order` started under `incoming`.
fn outgoing_traceparent(order: &str, identity: IdentityMode, incoming: &[(&str, &str)]) -> String {
    let file = TempFile::new(order);
    let tracer = builder("crm-api", &file)
        .start_records(false)
        .identity(identity)
        .build()
        .unwrap();
    let carrier: HashMap<String, String> = incoming
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let stage = tracer
        .stage(OrderEvent::OrderConfirmed, order)
        .parent(&propagation::extract(&carrier))
        .start()
        .unwrap();
    let mut out: HashMap<String, String> = HashMap::new();
    stage.inject(&mut out);
    stage.end();
    out["traceparent"].clone()
}

#[test]
fn a_derived_trace_id_never_claims_the_random_flag() {
    let incoming = format!("00-{}-00f067aa0ba902b7-03", order_trace_id("ORD-R"));
    for identity in [IdentityMode::OrderDerived, IdentityMode::Propagated] {
        let out = outgoing_traceparent("ORD-R", identity, &[("traceparent", &incoming)]);
        assert!(
            out.starts_with(&format!("00-{}-", order_trace_id("ORD-R"))),
            "{out}"
        );
        assert!(out.ends_with("-01"), "{identity:?}: {out}");
    }
}

#[test]
fn a_propagated_trace_id_keeps_the_random_flag_as_received() {
    let with = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03";
    let out = outgoing_traceparent("ORD-P", IdentityMode::Propagated, &[("traceparent", with)]);
    assert!(
        out.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && out.ends_with("-03"),
        "{out}"
    );
    let without = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let out = outgoing_traceparent(
        "ORD-P",
        IdentityMode::Propagated,
        &[("traceparent", without)],
    );
    assert!(out.ends_with("-01"), "{out}");
}

#[test]
fn a_tracestate_opentelemetry_cannot_hold_is_still_sent_on_unchanged() {
    let file = TempFile::new("tracestate");
    let tracer = builder("crm-api", &file)
        .start_records(false)
        .identity(IdentityMode::Propagated)
        .build()
        .unwrap();
    let mut carrier = HashMap::new();
    carrier.insert("traceparent".to_string(), FOREIGN_TRACEPARENT.to_string());
    carrier.insert("tracestate".to_string(), "foo@@bar=1,rojo=2".to_string());
    let stage = tracer
        .stage(OrderEvent::OrderConfirmed, "ORD-TS")
        .parent(&propagation::extract(&carrier))
        .start()
        .unwrap();
    assert_eq!(
        stage.headers().tracestate.header_value().as_deref(),
        Some("foo@@bar=1,rojo=2")
    );
    stage.end();
}
