//! What arrived with a request or message, for a bridge to hand over in one crossing: the
//! headers to send on unchanged (a hop that forwards without a stage of its own) and what was
//! read from them (trace id, parent id, order id, user id, one line per problem).

use ordertrace::propagation::{self, HeaderSource, TraceHeaders};

/// Key of the trace id in [`Incoming::read`] (32 lowercase hex characters).
pub const READ_TRACE_ID: &str = "trace_id";
/// Key of the caller's span id in [`Incoming::read`] (16 lowercase hex characters).
pub const READ_PARENT_ID: &str = "parent_id";
/// Key of the order id from baggage in [`Incoming::read`] (only one a stage would accept).
pub const READ_ORDER_ID: &str = "order_id";
/// Key of the user id from baggage in [`Incoming::read`] (only one a stage would accept).
pub const READ_USER_ID: &str = "user_id";
/// Key of one problem line in [`Incoming::read`] (repeated, in the order found).
pub const READ_PROBLEM: &str = "problem";

/// Incoming headers as the core extracted them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Incoming {
    /// `traceparent`, `tracestate`, `baggage` as they would be sent on unchanged (lowercase
    /// names; a header that was ignored or left empty is absent).
    pub forward: Vec<(String, String)>,
    /// What was read, as `(key, value)` with the `READ_*` keys; absent keys were not there.
    pub read: Vec<(&'static str, String)>,
}

/// Extracts `headers` leniently (malformed parts left out and reported) and lays the result
/// out for a bridge. The core does the reading; this only copies it out.
pub fn incoming(headers: &(impl HeaderSource + ?Sized)) -> Incoming {
    let extracted = propagation::extract(headers);
    let mut forward: Vec<(String, String)> = Vec::new();
    propagation::inject(&extracted, &mut forward);
    Incoming {
        forward,
        read: read_values(&extracted),
    }
}

fn read_values(h: &TraceHeaders) -> Vec<(&'static str, String)> {
    let mut read = Vec::with_capacity(4 + h.problems.len());
    if let Some(tp) = &h.traceparent {
        read.push((READ_TRACE_ID, tp.trace_id.to_string()));
        read.push((READ_PARENT_ID, tp.parent_id.to_string()));
    }
    if let Some(order) = h.order_id() {
        read.push((READ_ORDER_ID, order.to_string()));
    }
    if let Some(user) = h.user_id() {
        read.push((READ_USER_ID, user.to_string()));
    }
    read.extend(h.problems.iter().map(|p| (READ_PROBLEM, p.clone())));
    read
}

#[cfg(test)]
mod tests {
    use super::*;

    const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn value<'a>(i: &'a Incoming, key: &str) -> Option<&'a str> {
        i.read
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn incoming_reads_ids_and_forwards_the_headers_unchanged() {
        let headers = vec![
            ("TraceParent".to_string(), TP.to_string()),
            ("baggage".to_string(), "order.id=ORD-1".to_string()),
        ];
        let i = incoming(&headers);
        assert_eq!(
            value(&i, READ_TRACE_ID),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(value(&i, READ_PARENT_ID), Some("00f067aa0ba902b7"));
        assert_eq!(value(&i, READ_ORDER_ID), Some("ORD-1"));
        assert_eq!(value(&i, READ_USER_ID), None);
        assert_eq!(
            i.forward,
            vec![
                ("traceparent".to_string(), TP.to_string()),
                ("baggage".to_string(), "order.id=ORD-1".to_string())
            ]
        );
    }

    #[test]
    fn incoming_reports_a_malformed_traceparent_as_a_problem_and_forwards_nothing() {
        let headers = vec![("traceparent".to_string(), "00-xyz".to_string())];
        let i = incoming(&headers);
        assert!(i.forward.is_empty());
        assert_eq!(value(&i, READ_TRACE_ID), None);
        let problem = value(&i, READ_PROBLEM).unwrap_or_default();
        assert!(
            problem.starts_with("malformed traceparent header"),
            "{problem}"
        );
    }
}
