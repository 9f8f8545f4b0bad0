//! Carriers: where propagation reads and writes headers. Header names are matched without
//! regard to case, as HTTP and AMQP header tables are used case-insensitively in practice.
//!
//! Reading hands out borrowed bytes, one header line at a time, and stops when the reader
//! has seen enough: nothing is copied before it is parsed, values of headers that ordertrace
//! does not read are never looked at (a binary `x-bin: 0xff` beside a good `traceparent` does
//! not matter), and a carrier with a million `baggage` lines costs the reader only the lines
//! it asked for.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::ops::ControlFlow;

/// Something headers can be read from: an HTTP header map, a RabbitMQ header table, a string
/// map, a list of byte pairs handed over a C ABI.
///
/// ```
/// use ordertrace::propagation::HeaderSource;
/// use std::ops::ControlFlow;
/// let headers: Vec<(&[u8], &[u8])> = vec![(b"TraceParent", b"00-..."), (b"x-bin", b"\xff")];
/// let mut seen = Vec::new();
/// headers.visit_values("traceparent", &mut |value| {
///     seen.push(value.to_vec());
///     ControlFlow::Continue(())
/// });
/// assert_eq!(seen, [b"00-...".to_vec()]);
/// ```
pub trait HeaderSource {
    /// Calls `visit` with every value stored under `name` (ASCII case-insensitive), as raw
    /// bytes and in the carrier's order, until `visit` answers [`ControlFlow::Break`].
    fn visit_values(&self, name: &str, visit: &mut dyn FnMut(&[u8]) -> ControlFlow<()>);
}

/// A [`HeaderSource`] that headers can also be written into.
///
/// ```
/// use ordertrace::propagation::HeaderCarrier;
/// use std::collections::HashMap;
/// let mut headers: HashMap<String, String> = HashMap::new();
/// headers.set_header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into());
/// assert_eq!(headers.len(), 1);
/// ```
pub trait HeaderCarrier: HeaderSource {
    /// Stores `value` under `name`, replacing what was there.
    fn set_header(&mut self, name: &str, value: String);
}

impl HeaderSource for http::HeaderMap {
    fn visit_values(&self, name: &str, visit: &mut dyn FnMut(&[u8]) -> ControlFlow<()>) {
        for value in self.get_all(name) {
            if visit(value.as_bytes()).is_break() {
                return;
            }
        }
    }
}

impl HeaderCarrier for http::HeaderMap {
    fn set_header(&mut self, name: &str, value: String) {
        // Our header names are static lowercase tokens and our values are visible ASCII, so
        // these conversions cannot fail for what the core writes; skip rather than panic.
        if let (Ok(n), Ok(v)) = (
            http::header::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.insert(n, v);
        }
    }
}

/// Visits the values of `pairs` whose name matches `name`.
fn visit_pairs<'a, K, V>(
    pairs: impl IntoIterator<Item = (&'a K, &'a V)>,
    name: &str,
    visit: &mut dyn FnMut(&[u8]) -> ControlFlow<()>,
) where
    K: AsRef<[u8]> + ?Sized + 'a,
    V: AsRef<[u8]> + ?Sized + 'a,
{
    for (k, v) in pairs {
        if k.as_ref().eq_ignore_ascii_case(name.as_bytes()) && visit(v.as_ref()).is_break() {
            return;
        }
    }
}

impl<K: AsRef<[u8]>, V: AsRef<[u8]>, S: BuildHasher> HeaderSource for HashMap<K, V, S> {
    fn visit_values(&self, name: &str, visit: &mut dyn FnMut(&[u8]) -> ControlFlow<()>) {
        visit_pairs(self, name, visit);
    }
}

impl<K: AsRef<[u8]>, V: AsRef<[u8]>> HeaderSource for BTreeMap<K, V> {
    fn visit_values(&self, name: &str, visit: &mut dyn FnMut(&[u8]) -> ControlFlow<()>) {
        visit_pairs(self, name, visit);
    }
}

/// An ordered list of pairs: strings, or raw bytes as a C ABI or JNI caller hands them over
/// (names and values that are not UTF-8 are read as they are; only ours are checked).
impl<K: AsRef<[u8]>, V: AsRef<[u8]>> HeaderSource for [(K, V)] {
    fn visit_values(&self, name: &str, visit: &mut dyn FnMut(&[u8]) -> ControlFlow<()>) {
        visit_pairs(self.iter().map(|(k, v)| (k, v)), name, visit);
    }
}

impl<K: AsRef<[u8]>, V: AsRef<[u8]>> HeaderSource for Vec<(K, V)> {
    fn visit_values(&self, name: &str, visit: &mut dyn FnMut(&[u8]) -> ControlFlow<()>) {
        self.as_slice().visit_values(name, visit);
    }
}

/// Text values are written as they are; byte values (RabbitMQ-style header tables) as UTF-8.
mod sealed {
    pub trait FromHeaderText {
        fn from_header_text(value: String) -> Self;
    }

    impl FromHeaderText for String {
        fn from_header_text(value: String) -> Self {
            value
        }
    }

    impl FromHeaderText for Vec<u8> {
        fn from_header_text(value: String) -> Self {
            value.into_bytes()
        }
    }
}
use sealed::FromHeaderText;

impl<V: AsRef<[u8]> + FromHeaderText, S: BuildHasher> HeaderCarrier for HashMap<String, V, S> {
    fn set_header(&mut self, name: &str, value: String) {
        self.retain(|k, _| !k.eq_ignore_ascii_case(name));
        self.insert(name.to_string(), V::from_header_text(value));
    }
}

impl<V: AsRef<[u8]> + FromHeaderText> HeaderCarrier for BTreeMap<String, V> {
    fn set_header(&mut self, name: &str, value: String) {
        self.retain(|k, _| !k.eq_ignore_ascii_case(name));
        self.insert(name.to_string(), V::from_header_text(value));
    }
}

/// An ordered list of pairs, the shape the C ABI passes across.
impl HeaderCarrier for Vec<(String, String)> {
    fn set_header(&mut self, name: &str, value: String) {
        self.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.push((name.to_string(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(source: &(impl HeaderSource + ?Sized), name: &str) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        source.visit_values(name, &mut |v| {
            out.push(v.to_vec());
            ControlFlow::Continue(())
        });
        out
    }

    #[test]
    fn http_header_map_reads_case_insensitively_and_replaces_on_set() {
        let mut h = http::HeaderMap::new();
        h.set_header("traceparent", "a".into());
        h.set_header("traceparent", "b".into());
        assert_eq!(values(&h, "traceparent"), [b"b".to_vec()]);
    }

    #[test]
    fn http_header_map_hands_out_non_ascii_values_as_bytes() {
        let mut h = http::HeaderMap::new();
        h.insert("baggage", http::HeaderValue::from_bytes(b"k=\xff").unwrap());
        assert_eq!(values(&h, "baggage"), [b"k=\xff".to_vec()]);
    }

    #[test]
    fn byte_valued_map_hands_out_the_bytes_as_they_are() {
        let mut h: HashMap<String, Vec<u8>> = HashMap::new();
        h.insert("traceparent".into(), b"abc".to_vec());
        h.insert("baggage".into(), vec![0xff, 0xfe]);
        assert_eq!(values(&h, "traceparent"), [b"abc".to_vec()]);
        assert_eq!(values(&h, "baggage"), [vec![0xff, 0xfe]]);
    }

    #[test]
    fn string_map_set_replaces_differently_cased_key() {
        let mut h: BTreeMap<String, String> = BTreeMap::new();
        h.insert("TraceParent".into(), "old".into());
        h.set_header("traceparent", "new".into());
        assert_eq!(h.len(), 1);
        assert_eq!(values(&h, "traceparent"), [b"new".to_vec()]);
    }

    #[test]
    fn pair_list_keeps_duplicates_for_reading() {
        let h = vec![
            ("tracestate".to_string(), "a=1".to_string()),
            ("Tracestate".to_string(), "b=2".to_string()),
        ];
        assert_eq!(values(&h, "tracestate"), [b"a=1".to_vec(), b"b=2".to_vec()]);
    }

    #[test]
    fn byte_pairs_skip_names_that_are_not_utf8_and_never_read_other_values() {
        let h: Vec<(&[u8], &[u8])> = vec![
            (b"\xff\xfe", b"baggage=1"),
            (b"x-bin", b"\xff"),
            (b"BAGGAGE", b"k=v"),
        ];
        assert_eq!(values(&h, "baggage"), [b"k=v".to_vec()]);
    }

    #[test]
    fn visiting_stops_when_the_reader_breaks() {
        let h: Vec<(String, String)> = (0..1000)
            .map(|i| ("baggage".to_string(), format!("k{i}=v")))
            .collect();
        let mut seen = 0;
        h.visit_values("baggage", &mut |_| {
            seen += 1;
            if seen == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert_eq!(seen, 3);
    }
}
