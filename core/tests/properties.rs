//! Property tests (proptest) over every parser that takes outside bytes: what parses is sent
//! on in canonical form and parses again to the same thing; arbitrary input never panics and
//! never produces output a peer would refuse; values survive the trip through baggage.

use opentelemetry::trace::{SpanId, TraceFlags, TraceId};
use ordertrace::propagation::{
    self, Baggage, HeaderSource, KNOWN_FLAGS, TraceHeaders, TraceParent, TraceStateList,
};
use ordertrace::schema;
use proptest::prelude::*;
use std::ops::ControlFlow;

/// Bytes that look like header values: mostly the characters the grammars care about.
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    let interesting = prop::sample::select(
        b"0123456789abcdefABCDEF-=,;% \t+@*/_.\"\\\r\n\x00\x7f\xff\xc3\xa9z".to_vec(),
    );
    prop::collection::vec(prop_oneof![3 => interesting, 1 => any::<u8>()], 0..200)
}

fn header_name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"traceparent".to_vec()),
        Just(b"TraceState".to_vec()),
        Just(b"baggage".to_vec()),
        Just(b"BAGGAGE".to_vec()),
        Just(b"x-other".to_vec()),
        prop::collection::vec(any::<u8>(), 0..12),
    ]
}

fn outgoing(headers: &TraceHeaders) -> Vec<(String, String)> {
    let mut out = Vec::new();
    propagation::inject(headers, &mut out);
    out
}

fn value_of(out: &[(String, String)], name: &str) -> Option<String> {
    let mut found = None;
    out.visit_values(name, &mut |v| {
        found = Some(String::from_utf8_lossy(v).into_owned());
        ControlFlow::Break(())
    });
    found
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn any_valid_traceparent_round_trips(
        trace in any::<u128>().prop_filter("non-zero", |t| *t != 0),
        span in any::<u64>().prop_filter("non-zero", |s| *s != 0),
        flags in any::<u8>(),
        version in 0u8..0xff,
    ) {
        let text = format!("{version:02x}-{trace:032x}-{span:016x}-{flags:02x}");
        let tp = TraceParent::parse_bytes(text.as_bytes()).unwrap();
        prop_assert_eq!(tp.trace_id, TraceId::from(trace));
        prop_assert_eq!(tp.parent_id, SpanId::from(span));
        prop_assert_eq!(tp.flags, TraceFlags::new(flags & KNOWN_FLAGS));
        let again: TraceParent = tp.to_string().parse().unwrap();
        prop_assert_eq!(again.trace_id, tp.trace_id);
        prop_assert_eq!(again.flags, tp.flags);
        prop_assert_eq!(again.to_string().len(), 55);
    }

    #[test]
    fn traceparent_parse_of_any_bytes_is_canonical_when_it_succeeds(raw in header_bytes()) {
        if let Ok(tp) = TraceParent::parse_bytes(&raw) {
            let text = tp.to_string();
            prop_assert_eq!(text.len(), 55);
            prop_assert_eq!(TraceParent::parse_bytes(text.as_bytes()).unwrap(), TraceParent { version: 0, ..tp });
        }
    }

    #[test]
    fn traceparent_errors_stay_short(raw in prop::collection::vec(any::<u8>(), 0..5000)) {
        if let Err(e) = TraceParent::parse_bytes(&raw) {
            prop_assert!(e.to_string().len() < 200, "{}", e);
        }
    }

    #[test]
    fn valid_tracestate_lists_round_trip(
        members in prop::collection::btree_map("[a-z0-9][a-z0-9_*/@-]{0,20}", "[!-+.-<>-~][ -+.-<>-~]{0,20}[!-+.-<>-~]", 0..32)
    ) {
        let header: Vec<String> = members.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let header = header.join(",");
        let parsed = TraceStateList::parse([header.as_str()]).unwrap();
        if header.len() <= 512 {
            prop_assert_eq!(parsed.trimmed_members, 0);
            prop_assert_eq!(parsed.list.header_value().unwrap_or_default(), header);
        } else {
            prop_assert!(parsed.list.header_value().unwrap_or_default().len() <= 512);
        }
    }

    #[test]
    fn tracestate_parse_of_any_text_reparses_to_itself(lines in prop::collection::vec("[a-z0-9=,@ \t*/_A-Z.-]{0,80}", 0..4)) {
        if let Ok(p) = TraceStateList::parse(lines.iter().map(String::as_str)) {
            let out = p.list.header_value().unwrap_or_default();
            prop_assert!(out.len() <= 512);
            let again = TraceStateList::parse([out.as_str()]).unwrap();
            prop_assert_eq!(again.list, p.list);
        }
    }

    #[test]
    fn any_value_survives_baggage(key in "[A-Za-z0-9!#$&'*+.^_`|~-]{1,20}", value in any::<String>()) {
        let mut b = Baggage::default();
        b.set(&key, &value);
        let header = b.header_value();
        if let Some(header) = header {
            prop_assert!(header.bytes().all(|c| c.is_ascii_graphic()), "{}", header);
            let back = Baggage::parse([header.as_str()]);
            prop_assert_eq!(back.malformed_members, 0);
            prop_assert_eq!(back.baggage.get(&key), Some(value.as_str()));
        } else {
            // Only a value too long to send is left out.
            prop_assert!(key.len() + 1 + value.len() > 8192 / 3);
        }
    }

    #[test]
    fn baggage_parse_of_any_text_is_bounded_and_reparses_to_itself(lines in prop::collection::vec(header_bytes(), 0..4)) {
        let text: Vec<String> = lines.iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect();
        let p = Baggage::parse(text.iter().map(String::as_str));
        prop_assert!(p.baggage.members().len() <= 64);
        if let Some(e) = &p.first_error {
            prop_assert!(e.to_string().len() < 300, "{}", e);
        }
        let out = p.baggage.header_value().unwrap_or_default();
        prop_assert!(out.len() <= 8192);
        let again = Baggage::parse([out.as_str()]);
        prop_assert_eq!(again.malformed_members, 0);
        prop_assert_eq!(again.baggage, p.baggage);
    }

    #[test]
    fn extract_of_any_carrier_sends_only_what_it_accepts_again(
        carrier in prop::collection::vec((header_name(), header_bytes()), 0..8)
    ) {
        let headers = propagation::extract(&carrier);
        prop_assert!(headers.problems.len() <= 10);
        prop_assert!(headers.problems.iter().all(|p| p.len() < 300), "{:?}", headers.problems);
        let out = outgoing(&headers);
        for (name, value) in &out {
            prop_assert!(http::HeaderValue::from_str(value).is_ok(), "{}: {:?}", name, value);
        }
        // What we send, we accept as it is: extraction is a fixpoint after one hop.
        let again = propagation::extract_strict(&out).unwrap();
        prop_assert_eq!(again.traceparent.map(|t| t.to_string()), value_of(&out, "traceparent"));
        prop_assert_eq!(&again.tracestate, &headers.tracestate);
        prop_assert_eq!(&again.baggage, &headers.baggage);
        prop_assert_eq!(outgoing(&again), out);
        if let Some(id) = headers.order_id() {
            prop_assert!(schema::validate_order_id(id).is_ok());
        }
    }

    #[test]
    fn order_id_rule_is_exactly_length_whitespace_control_and_bidi(id in any::<String>()) {
        let expected = !id.is_empty()
            && id.len() <= 128
            && !id.chars().any(|c| c.is_whitespace() || c.is_control() || schema::is_bidi_control(c));
        prop_assert_eq!(schema::validate_order_id(&id).is_ok(), expected);
        if expected {
            let mut b = Baggage::default();
            b.set("order.id", &id);
            let carrier = vec![("baggage".to_string(), b.header_value().unwrap())];
            let extracted = propagation::extract(&carrier);
            prop_assert_eq!(extracted.order_id(), Some(id.as_str()));
        }
    }

    #[test]
    fn user_id_rule_accepts_exactly_uuids(id in "[0-9a-fA-F-]{30,40}|.{0,40}") {
        let b = id.as_bytes();
        let expected = b.len() == 36
            && b.iter().enumerate().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { *c == b'-' } else { c.is_ascii_hexdigit() });
        prop_assert_eq!(schema::normalize_user_id(&id).is_ok(), expected);
    }
}
