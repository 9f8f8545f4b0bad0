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
pub use carrier::{HeaderCarrier, HeaderSource};
pub use traceparent::{
    FLAG_RANDOM_TRACE_ID, FLAG_SAMPLED, KNOWN_FLAGS, MAX_TRACEPARENT_LEN, TRACEPARENT_HEADER,
    TraceParent,
};
pub use tracestate::{ParsedTraceState, TRACESTATE_HEADER, TraceStateList};

use crate::error::{OrderTraceError, Result};
use crate::schema::{self, attr};
use baggage::BaggageReader;
use opentelemetry::trace::SpanContext;
use std::ops::ControlFlow;
use tracestate::TraceStateReader;

/// The headers ordertrace reads and writes (names compared ASCII case-insensitively). The
/// bindings pass only these across the boundary; their lists are checked against this one
/// (exported with the schema as `propagation.headers`).
pub const PROPAGATION_HEADERS: [&str; 3] = [TRACEPARENT_HEADER, TRACESTATE_HEADER, BAGGAGE_HEADER];

/// Most lines of one header (`tracestate`, `baggage`) read from a carrier; a carrier with more
/// is reported, and the lines after these are never looked at.
pub const MAX_HEADER_LINES: usize = 64;

/// The propagation headers of one hop, parsed.
#[derive(Debug, Clone, Default)]
pub struct TraceHeaders {
    /// The caller's span, if a valid `traceparent` arrived.
    pub traceparent: Option<TraceParent>,
    /// Vendor state that travels with it.
    pub tracestate: TraceStateList,
    /// Baggage, including `order.id` and `user.id` (only when they pass the stage's checks).
    pub baggage: Baggage,
    /// What was wrong with the incoming headers or left out of them (per the specs), one
    /// bounded line each, with counts.
    pub problems: Vec<String>,
}

impl TraceHeaders {
    /// `order.id` from the baggage, when it is a valid order id (see
    /// [`schema::validate_order_id`]): never a value a stage would refuse.
    pub fn order_id(&self) -> Option<&str> {
        self.baggage
            .get(attr::ORDER_ID)
            .filter(|id| schema::validate_order_id(id).is_ok())
    }

    /// `user.id` from the baggage, when it is a UUID: never a value a stage would refuse.
    pub fn user_id(&self) -> Option<&str> {
        self.baggage
            .get(attr::USER_ID)
            .filter(|id| schema::check_uuid(id).is_ok())
    }

    /// The caller's span as a remote OpenTelemetry span context. Tracestate members that
    /// OpenTelemetry's `TraceState` cannot hold are left out of it (extraction reports them).
    pub fn remote_span_context(&self) -> Option<SpanContext> {
        let tp = self.traceparent?;
        Some(SpanContext::new(
            tp.trace_id,
            tp.parent_id,
            tp.flags,
            true,
            self.tracestate.to_otel().0,
        ))
    }
}

/// One thing found while extracting.
enum Problem {
    /// Input that broke a rule: [`extract_strict`] fails on it.
    Error(OrderTraceError),
    /// Valid input left out over a limit, with its count.
    Dropped(String),
}

/// Reads `traceparent`, `tracestate` and `baggage` from a carrier, leaving out what is invalid.
/// Never fails and never reads more than the limits allow; see [`TraceHeaders::problems`].
pub fn extract(carrier: &(impl HeaderSource + ?Sized)) -> TraceHeaders {
    let (mut headers, problems) = extract_with_problems(carrier);
    headers.problems = problems
        .into_iter()
        .map(|p| match p {
            Problem::Error(e) => e.to_string(),
            Problem::Dropped(what) => what,
        })
        .collect();
    headers
}

/// Like [`extract`], but the first header that breaks a rule is an error. Valid members
/// dropped over a size limit are not an error.
pub fn extract_strict(carrier: &(impl HeaderSource + ?Sized)) -> Result<TraceHeaders> {
    let (headers, problems) = extract_with_problems(carrier);
    match problems.into_iter().find_map(|p| match p {
        Problem::Error(e) => Some(e),
        Problem::Dropped(_) => None,
    }) {
        None => Ok(headers),
        Some(e) => Err(e),
    }
}

fn read_traceparent(carrier: &(impl HeaderSource + ?Sized)) -> Result<Option<TraceParent>> {
    let mut lines = 0;
    let mut first = None;
    carrier.visit_values(TRACEPARENT_HEADER, &mut |value| {
        lines += 1;
        if lines > 1 {
            return ControlFlow::Break(());
        }
        first = Some(TraceParent::parse_bytes(value));
        ControlFlow::Continue(())
    });
    match (lines, first) {
        (0, _) | (_, None) => Ok(None),
        (1, Some(parsed)) => parsed.map(Some),
        _ => Err(OrderTraceError::header(
            TRACEPARENT_HEADER,
            "more than one traceparent header arrived, expected 1",
        )),
    }
}

/// Reads at most [`MAX_HEADER_LINES`] lines of `name`; true when there were more.
fn read_lines(
    carrier: &(impl HeaderSource + ?Sized),
    name: &str,
    mut read: impl FnMut(&[u8]) -> ControlFlow<()>,
) -> bool {
    let mut lines = 0;
    let mut too_many = false;
    carrier.visit_values(name, &mut |value| {
        lines += 1;
        if lines > MAX_HEADER_LINES {
            too_many = true;
            return ControlFlow::Break(());
        }
        read(value)
    });
    too_many
}

fn too_many_lines(header: &'static str) -> OrderTraceError {
    OrderTraceError::header(
        header,
        format!("more than {MAX_HEADER_LINES} {header} header lines arrived"),
    )
}

fn read_tracestate(
    carrier: &(impl HeaderSource + ?Sized),
    problems: &mut Vec<Problem>,
) -> TraceStateList {
    let mut reader = TraceStateReader::default();
    if read_lines(carrier, TRACESTATE_HEADER, |line| reader.read_line(line)) {
        problems.push(Problem::Error(too_many_lines(TRACESTATE_HEADER)));
        return TraceStateList::default();
    }
    let parsed = match reader.finish() {
        Ok(p) => p,
        Err(e) => {
            problems.push(Problem::Error(e));
            return TraceStateList::default();
        }
    };
    if parsed.dropped_duplicates > 0 {
        problems.push(Problem::Error(OrderTraceError::header(
            TRACESTATE_HEADER,
            format!(
                "{} member(s) repeat a key that came before; the first of each key is kept",
                parsed.dropped_duplicates
            ),
        )));
    }
    if parsed.trimmed_members > 0 {
        problems.push(Problem::Dropped(format!(
            "tracestate: {} member(s) dropped to fit {} characters",
            parsed.trimmed_members,
            tracestate::MAX_HEADER_LEN
        )));
    }
    let refused = parsed.list.to_otel().1.len();
    if refused > 0 {
        problems.push(Problem::Dropped(format!(
            "tracestate: {refused} member(s) are valid but OpenTelemetry's TraceState cannot hold them; the span's own trace state leaves them out"
        )));
    }
    parsed.list
}

fn read_baggage(carrier: &(impl HeaderSource + ?Sized), problems: &mut Vec<Problem>) -> Baggage {
    let mut reader = BaggageReader::default();
    let too_many = read_lines(carrier, BAGGAGE_HEADER, |line| {
        reader.read_line(line);
        ControlFlow::Continue(())
    });
    if too_many {
        problems.push(Problem::Error(too_many_lines(BAGGAGE_HEADER)));
    }
    let parsed = reader.finish();
    if let Some(first) = parsed.first_error {
        let more = parsed.malformed_members - 1;
        problems.push(Problem::Error(match (first, more) {
            (e, 0) => e,
            (OrderTraceError::MalformedHeader { header, reason }, more) => OrderTraceError::header(
                header,
                format!("{reason} ({more} more malformed member(s) left out)"),
            ),
            (e, _) => e,
        }));
    }
    if parsed.dropped_members > 0 {
        problems.push(Problem::Dropped(format!(
            "baggage: {} member(s) dropped over the limits of {} members and {} bytes",
            parsed.dropped_members,
            baggage::MAX_MEMBERS,
            baggage::MAX_BYTES
        )));
    }
    let mut baggage = parsed.baggage;
    // The ids a stage would refuse are neither handed to the caller nor sent onward.
    for (key, check) in [
        (
            attr::ORDER_ID,
            schema::validate_order_id as fn(&str) -> Result<()>,
        ),
        (attr::USER_ID, schema::check_uuid),
    ] {
        if let Some(e) = baggage.remove_invalid(key, check) {
            problems.push(Problem::Error(OrderTraceError::header(
                BAGGAGE_HEADER,
                format!("member {key} left out: {e}"),
            )));
        }
    }
    baggage
}

fn extract_with_problems(carrier: &(impl HeaderSource + ?Sized)) -> (TraceHeaders, Vec<Problem>) {
    let mut headers = TraceHeaders::default();
    let mut problems = Vec::new();
    match read_traceparent(carrier) {
        Ok(tp) => headers.traceparent = tp,
        Err(e) => problems.push(Problem::Error(e)),
    }
    // The spec: without a valid traceparent, tracestate is not parsed at all.
    if headers.traceparent.is_some() {
        headers.tracestate = read_tracestate(carrier, &mut problems);
    }
    headers.baggage = read_baggage(carrier, &mut problems);
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
    const USER: &str = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";

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
            ("baggage", &format!("order.id=ORD-1,user.id={USER}")),
        ]));
        assert!(h.problems.is_empty());
        assert_eq!(h.traceparent.unwrap().to_string(), TP);
        assert_eq!(h.tracestate.header_value().unwrap(), "rojo=1");
        assert_eq!(h.order_id(), Some("ORD-1"));
        assert_eq!(h.user_id(), Some(USER));
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
        assert!(err.to_string().contains("more than one traceparent"));
    }

    #[test]
    fn extract_drops_invalid_tracestate_but_keeps_traceparent() {
        let h = extract(&map(&[("traceparent", TP), ("tracestate", "a=1,B=2")]));
        assert!(h.traceparent.is_some());
        assert!(h.tracestate.is_empty());
        assert_eq!(h.problems.len(), 1);
    }

    #[test]
    fn extract_keeps_tracestate_with_duplicate_keys_and_reports_them() {
        let h = extract(&map(&[
            ("traceparent", TP),
            ("tracestate", "a=1,b=2"),
            ("tracestate", "a=3"),
        ]));
        assert_eq!(h.tracestate.header_value().unwrap(), "a=1,b=2");
        assert!(h.problems[0].contains("repeat a key"), "{:?}", h.problems);
    }

    #[test]
    fn remote_span_context_keeps_the_members_opentelemetry_can_hold() {
        let h = extract(&map(&[
            ("traceparent", TP),
            ("tracestate", "a=1,foo@@bar=2,b=3"),
        ]));
        assert_eq!(h.tracestate.members().len(), 3);
        let sc = h.remote_span_context().unwrap();
        assert_eq!(sc.trace_state().header(), "a=1,b=3");
        assert!(h.problems[0].contains("cannot hold"), "{:?}", h.problems);
        assert!(extract_strict(&map(&[("traceparent", TP), ("tracestate", "foo@@bar=2")])).is_ok());
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
    fn extract_counts_the_other_malformed_baggage_members() {
        let h = extract(&map(&[("baggage", "a,b,c,order.id=ORD-1")]));
        assert_eq!(h.order_id(), Some("ORD-1"));
        assert_eq!(h.problems.len(), 1);
        assert!(
            h.problems[0].contains("2 more malformed"),
            "{:?}",
            h.problems
        );
    }

    #[test]
    fn extract_strict_accepts_baggage_dropped_over_the_limits_and_extract_counts_it() {
        let members: Vec<String> = (0..70).map(|i| format!("k{i}=v")).collect();
        let carrier = map(&[("baggage", &members.join(","))]);
        assert!(extract_strict(&carrier).is_ok());
        let h = extract(&carrier);
        assert_eq!(h.baggage.members().len(), 64);
        assert_eq!(
            h.problems,
            ["baggage: 6 member(s) dropped over the limits of 64 members and 8192 bytes"]
        );
    }

    #[test]
    fn extract_reports_non_utf8_rabbitmq_traceparent() {
        let mut h: HashMap<String, Vec<u8>> = HashMap::new();
        h.insert("traceparent".into(), vec![0xc3, 0x28]);
        let err = extract_strict(&h).unwrap_err();
        assert!(err.to_string().contains("\\xc3("), "{err}");
    }

    #[test]
    fn extract_ignores_an_unrelated_header_that_is_not_utf8() {
        let raw: Vec<(&[u8], &[u8])> = vec![
            (b"x-bin", b"\xff"),
            (b"\xff", b"\xfe"),
            (b"traceparent", TP.as_bytes()),
            (b"baggage", b"order.id=ORD-1"),
        ];
        let h = extract_strict(raw.as_slice()).unwrap();
        assert_eq!(h.traceparent.unwrap().to_string(), TP);
        assert_eq!(h.order_id(), Some("ORD-1"));
    }

    #[test]
    fn extract_of_empty_carrier_has_nothing_and_no_problems() {
        let h = extract(&map(&[]));
        assert!(h.traceparent.is_none() && h.baggage.is_empty() && h.problems.is_empty());
    }

    #[test]
    fn order_id_with_control_characters_is_neither_returned_nor_forwarded() {
        let h = extract(&map(&[("baggage", "order.id=ORD-1%0D%0AX-Evil:%201,k=v")]));
        assert_eq!(h.order_id(), None);
        assert_eq!(h.baggage.get("order.id"), None);
        assert!(
            h.problems[0].contains("order.id left out"),
            "{:?}",
            h.problems
        );
        let mut out: Vec<(String, String)> = Vec::new();
        inject(&h, &mut out);
        assert_eq!(out, map(&[("baggage", "k=v")]));
    }

    #[test]
    fn user_id_that_is_not_a_uuid_is_neither_returned_nor_forwarded() {
        let h = extract(&map(&[("baggage", "user.id=not-a-uuid,order.id=ORD-1")]));
        assert_eq!(h.user_id(), None);
        let mut out: Vec<(String, String)> = Vec::new();
        inject(&h, &mut out);
        assert_eq!(out, map(&[("baggage", "order.id=ORD-1")]));
    }

    #[test]
    fn order_id_accessor_checks_values_set_by_hand() {
        let mut h = TraceHeaders::default();
        h.baggage.set("order.id", "ORD 1");
        assert_eq!(h.order_id(), None);
        h.baggage.set("user.id", "42");
        assert_eq!(h.user_id(), None);
    }

    #[test]
    fn lines_after_the_limit_are_not_read() {
        let mut carrier: Vec<(String, String)> = (0..MAX_HEADER_LINES)
            .map(|i| ("baggage".to_string(), format!("k{i}=v")))
            .collect();
        carrier.push(("baggage".into(), "order.id=ORD-LATE".into()));
        let h = extract(&carrier);
        assert_eq!(h.order_id(), None);
        assert_eq!(h.baggage.members().len(), 64);
        assert!(
            h.problems
                .iter()
                .any(|p| p.contains("more than 64 baggage header lines"))
        );
    }

    #[test]
    fn a_million_baggage_lines_cost_only_the_lines_read() {
        let carrier: Vec<(&str, &str)> = vec![("baggage", "k=v"); 1_000_000];
        let h = extract(&carrier);
        assert_eq!(h.baggage.members().len(), 64);
    }

    #[test]
    fn problems_stay_short_for_huge_input() {
        let huge = "(".repeat(1 << 20);
        let h = extract(&map(&[
            ("traceparent", &huge),
            ("baggage", &format!("{huge}=1")),
        ]));
        assert!(h.problems.iter().all(|p| p.len() < 300), "{:?}", h.problems);
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
        let src = extract(&map(&[("traceparent", TP), ("baggage", "note=ORD%201%21")]));
        let mut h = http::HeaderMap::new();
        inject(&src, &mut h);
        assert_eq!(h["traceparent"], TP);
        assert_eq!(extract(&h).baggage.get("note"), Some("ORD 1!"));
    }
}
