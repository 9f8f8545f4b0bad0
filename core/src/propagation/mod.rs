//! Trace and baggage propagation over HTTP and RabbitMQ headers (W3C Trace Context and W3C
//! Baggage), through any [`HeaderCarrier`].
//!
//! Extraction follows the specs' "ignore what is invalid" rule: [`extract`] never fails; a
//! malformed header is left out and reported in [`TraceHeaders::problems`]. Bridges that must
//! surface bad input as an error use [`extract_strict`].
//!
//! ```
//! use ordertrace::propagation::{extract, inject};
//! use std::collections::HashMap;
//! let mut incoming: HashMap<String, String> = HashMap::new();
//! incoming.insert("traceparent".into(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into());
//! incoming.insert("baggage".into(), "order.id=ORD-5678".into());
//! let headers = extract(&incoming);
//! assert_eq!(headers.order_id(), Some("ORD-5678"));
//! let mut outgoing: HashMap<String, String> = HashMap::new();
//! inject(&headers, &mut outgoing);
//! assert_eq!(outgoing["traceparent"], incoming["traceparent"]);
//! ```

mod baggage;
mod carrier;
mod traceparent;
mod tracestate;

pub use baggage::{BAGGAGE_HEADER, Baggage, BaggageMember, ParsedBaggage};
pub use carrier::HeaderCarrier;
pub use traceparent::{TRACEPARENT_HEADER, TraceParent};
pub use tracestate::{ParsedTraceState, TRACESTATE_HEADER, TraceStateList};

use crate::error::{OrderTraceError, Result};
use crate::schema::attr;
use opentelemetry::trace::{SpanContext, TraceState};

/// The propagation headers of one hop, parsed.
#[derive(Debug, Clone, Default)]
pub struct TraceHeaders {
    /// The caller's span, if a valid `traceparent` arrived.
    pub traceparent: Option<TraceParent>,
    /// Vendor state that travels with it.
    pub tracestate: TraceStateList,
    /// Baggage, including `order.id` and `user.id`.
    pub baggage: Baggage,
    /// What was wrong with the incoming headers (left out, per the specs).
    pub problems: Vec<String>,
}

impl TraceHeaders {
    /// `order.id` from the baggage.
    pub fn order_id(&self) -> Option<&str> {
        self.baggage.get(attr::ORDER_ID)
    }

    /// `user.id` from the baggage.
    pub fn user_id(&self) -> Option<&str> {
        self.baggage.get(attr::USER_ID)
    }

    /// The caller's span as a remote OpenTelemetry span context.
    pub fn remote_span_context(&self) -> Option<SpanContext> {
        let tp = self.traceparent?;
        let state = TraceState::from_key_value(
            self.tracestate
                .members()
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )
        .unwrap_or_default();
        Some(SpanContext::new(
            tp.trace_id,
            tp.parent_id,
            tp.flags,
            true,
            state,
        ))
    }
}

/// Reads `traceparent`, `tracestate` and `baggage` from a carrier, leaving out what is invalid.
pub fn extract(carrier: &impl HeaderCarrier) -> TraceHeaders {
    let (mut headers, problems) = extract_with_errors(carrier);
    headers.problems = problems.iter().map(ToString::to_string).collect();
    headers
}

/// Like [`extract`], but the first malformed header is an error.
pub fn extract_strict(carrier: &impl HeaderCarrier) -> Result<TraceHeaders> {
    let (headers, mut problems) = extract_with_errors(carrier);
    match problems.is_empty() {
        true => Ok(headers),
        false => Err(problems.swap_remove(0)),
    }
}

fn text_values(
    carrier: &impl HeaderCarrier,
    header: &'static str,
) -> std::result::Result<Vec<String>, OrderTraceError> {
    carrier
        .header_values(header)
        .into_iter()
        .map(|v| v.map_err(|reason| OrderTraceError::header(header, reason)))
        .collect()
}

fn extract_with_errors(carrier: &impl HeaderCarrier) -> (TraceHeaders, Vec<OrderTraceError>) {
    let mut headers = TraceHeaders::default();
    let mut problems = Vec::new();

    let traceparent =
        text_values(carrier, TRACEPARENT_HEADER).and_then(|values| match values.as_slice() {
            [] => Ok(None),
            [one] => one.parse::<TraceParent>().map(Some),
            many => Err(OrderTraceError::header(
                TRACEPARENT_HEADER,
                format!("{} traceparent headers arrived, expected 1", many.len()),
            )),
        });
    match traceparent {
        Ok(tp) => headers.traceparent = tp,
        Err(e) => problems.push(e),
    }
    // The spec: without a valid traceparent, tracestate is not parsed at all.
    if headers.traceparent.is_some() {
        let parsed = text_values(carrier, TRACESTATE_HEADER)
            .and_then(|v| TraceStateList::parse(v.iter().map(String::as_str)));
        match parsed {
            Ok(p) => headers.tracestate = p.list,
            Err(e) => problems.push(e),
        }
    }
    let parsed = text_values(carrier, BAGGAGE_HEADER)
        .and_then(|v| Baggage::parse(v.iter().map(String::as_str)));
    match parsed {
        Ok(p) => headers.baggage = p.baggage,
        Err(e) => problems.push(e),
    }
    (headers, problems)
}

/// Writes `traceparent` and, when not empty, `tracestate` and `baggage` into a carrier.
pub fn inject(headers: &TraceHeaders, carrier: &mut impl HeaderCarrier) {
    if let Some(tp) = headers.traceparent {
        carrier.set_header(TRACEPARENT_HEADER, tp.to_string());
        if let Some(ts) = headers.tracestate.header_value() {
            carrier.set_header(TRACESTATE_HEADER, ts);
        }
    }
    if let Some(b) = headers.baggage.header_value() {
        carrier.set_header(BAGGAGE_HEADER, b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn map(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn extract_reads_all_three_headers() {
        let h = extract(&map(&[
            ("traceparent", TP),
            ("tracestate", "rojo=1"),
            (
                "baggage",
                "order.id=ORD-1,user.id=1b4e28ba-2fa1-11d2-883f-0016d3cca427",
            ),
        ]));
        assert!(h.problems.is_empty());
        assert_eq!(h.traceparent.unwrap().to_string(), TP);
        assert_eq!(h.tracestate.header_value().unwrap(), "rojo=1");
        assert_eq!(h.order_id(), Some("ORD-1"));
        assert_eq!(h.user_id(), Some("1b4e28ba-2fa1-11d2-883f-0016d3cca427"));
        let sc = h.remote_span_context().unwrap();
        assert!(sc.is_remote());
        assert_eq!(sc.trace_state().header(), "rojo=1");
    }

    #[test]
    fn extract_ignores_tracestate_when_traceparent_is_invalid() {
        let h = extract(&map(&[
            (
                "traceparent",
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            ),
            ("tracestate", "rojo=1"),
        ]));
        assert!(h.traceparent.is_none());
        assert!(h.tracestate.is_empty());
        assert_eq!(h.problems.len(), 1);
        assert!(h.problems[0].contains("all zeros"));
    }

    #[test]
    fn extract_rejects_two_traceparent_headers() {
        let err = extract_strict(&map(&[("traceparent", TP), ("TraceParent", TP)])).unwrap_err();
        assert!(err.to_string().contains("2 traceparent headers"));
    }

    #[test]
    fn extract_drops_invalid_tracestate_but_keeps_traceparent() {
        let h = extract(&map(&[("traceparent", TP), ("tracestate", "a=1,a=2")]));
        assert!(h.traceparent.is_some());
        assert!(h.tracestate.is_empty());
        assert_eq!(h.problems.len(), 1);
    }

    #[test]
    fn extract_strict_reports_malformed_baggage() {
        let err = extract_strict(&map(&[("baggage", "order.id")])).unwrap_err();
        assert!(matches!(
            err,
            OrderTraceError::MalformedHeader {
                header: "baggage",
                ..
            }
        ));
    }

    #[test]
    fn extract_reports_non_utf8_rabbitmq_header() {
        let mut h: HashMap<String, Vec<u8>> = HashMap::new();
        h.insert("traceparent".into(), vec![0xc3, 0x28]);
        let err = extract_strict(&h).unwrap_err();
        assert!(err.to_string().contains("not UTF-8"));
    }

    #[test]
    fn extract_of_empty_carrier_has_nothing_and_no_problems() {
        let h = extract(&map(&[]));
        assert!(h.traceparent.is_none() && h.baggage.is_empty() && h.problems.is_empty());
    }

    #[test]
    fn inject_then_extract_round_trips_over_rabbitmq_bytes() {
        let src = extract(&map(&[
            ("traceparent", TP),
            ("tracestate", "rojo=1,congo=2"),
            ("baggage", "order.id=ORD-9"),
        ]));
        let mut amqp: HashMap<String, Vec<u8>> = HashMap::new();
        inject(&src, &mut amqp);
        let back = extract_strict(&amqp).unwrap();
        assert_eq!(back.traceparent, src.traceparent);
        assert_eq!(back.tracestate, src.tracestate);
        assert_eq!(back.order_id(), Some("ORD-9"));
    }

    #[test]
    fn inject_into_http_header_map() {
        let src = extract(&map(&[
            ("traceparent", TP),
            ("baggage", "order.id=ORD 1%21".replace(' ', "%20").as_str()),
        ]));
        let mut h = http::HeaderMap::new();
        inject(&src, &mut h);
        assert_eq!(h["traceparent"], TP);
        assert_eq!(extract(&h).order_id(), Some("ORD 1!"));
    }
}
