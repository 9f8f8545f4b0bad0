//! Carriers: where propagation reads and writes headers. Header names are matched without
//! regard to case, as HTTP and AMQP header tables are used case-insensitively in practice.

use std::collections::{BTreeMap, HashMap};

/// Something that holds headers: an HTTP header map, a RabbitMQ header table, a string map.
///
/// ```
/// use ordertrace::propagation::HeaderCarrier;
/// use std::collections::HashMap;
/// let mut headers: HashMap<String, String> = HashMap::new();
/// headers.set_header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into());
/// assert_eq!(headers.header_values("TraceParent").len(), 1);
/// ```
pub trait HeaderCarrier {
    /// Every value stored under `name` (case-insensitive). Values that are not text are
    /// returned as `Err` with a description, so extraction can report them.
    fn header_values(&self, name: &str) -> Vec<Result<String, String>>;
    /// Stores `value` under `name`, replacing what was there.
    fn set_header(&mut self, name: &str, value: String);
}

impl HeaderCarrier for http::HeaderMap {
    fn header_values(&self, name: &str) -> Vec<Result<String, String>> {
        self.get_all(name)
            .iter()
            .map(|v| {
                v.to_str()
                    .map(str::to_string)
                    .map_err(|_| "value is not visible ASCII".to_string())
            })
            .collect()
    }

    fn set_header(&mut self, name: &str, value: String) {
        // Our header names are static lowercase tokens and our values are ASCII, so these
        // conversions cannot fail for what the core writes; skip rather than panic otherwise.
        if let (Ok(n), Ok(v)) = (
            http::header::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.insert(n, v);
        }
    }
}

macro_rules! string_map_carrier {
    ($map:ident) => {
        impl HeaderCarrier for $map<String, String> {
            fn header_values(&self, name: &str) -> Vec<Result<String, String>> {
                self.iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| Ok(v.clone()))
                    .collect()
            }

            fn set_header(&mut self, name: &str, value: String) {
                self.retain(|k, _| !k.eq_ignore_ascii_case(name));
                self.insert(name.to_string(), value);
            }
        }

        /// RabbitMQ-style header table whose values arrive as bytes.
        impl HeaderCarrier for $map<String, Vec<u8>> {
            fn header_values(&self, name: &str) -> Vec<Result<String, String>> {
                self.iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| {
                        String::from_utf8(v.clone()).map_err(|_| "value is not UTF-8".to_string())
                    })
                    .collect()
            }

            fn set_header(&mut self, name: &str, value: String) {
                self.retain(|k, _| !k.eq_ignore_ascii_case(name));
                self.insert(name.to_string(), value.into_bytes());
            }
        }
    };
}

string_map_carrier!(HashMap);
string_map_carrier!(BTreeMap);

/// An ordered list of pairs, the shape the C ABI passes across.
impl HeaderCarrier for Vec<(String, String)> {
    fn header_values(&self, name: &str) -> Vec<Result<String, String>> {
        self.iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| Ok(v.clone()))
            .collect()
    }

    fn set_header(&mut self, name: &str, value: String) {
        self.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.push((name.to_string(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_header_map_reads_case_insensitively_and_replaces_on_set() {
        let mut h = http::HeaderMap::new();
        h.set_header("traceparent", "a".into());
        h.set_header("traceparent", "b".into());
        assert_eq!(h.header_values("TRACEPARENT"), [Ok("b".to_string())]);
    }

    #[test]
    fn http_header_map_reports_non_ascii_values() {
        let mut h = http::HeaderMap::new();
        h.insert("baggage", http::HeaderValue::from_bytes(b"k=\xff").unwrap());
        assert!(h.header_values("baggage")[0].is_err());
    }

    #[test]
    fn byte_valued_map_decodes_utf8_and_reports_the_rest() {
        let mut h: HashMap<String, Vec<u8>> = HashMap::new();
        h.insert("traceparent".into(), b"abc".to_vec());
        h.insert("baggage".into(), vec![0xff, 0xfe]);
        assert_eq!(h.header_values("traceparent"), [Ok("abc".to_string())]);
        assert!(h.header_values("baggage")[0].is_err());
    }

    #[test]
    fn string_map_set_replaces_differently_cased_key() {
        let mut h: BTreeMap<String, String> = BTreeMap::new();
        h.insert("TraceParent".into(), "old".into());
        h.set_header("traceparent", "new".into());
        assert_eq!(h.len(), 1);
        assert_eq!(h.header_values("traceparent"), [Ok("new".to_string())]);
    }

    #[test]
    fn pair_list_keeps_duplicates_for_reading() {
        let h = vec![
            ("tracestate".to_string(), "a=1".to_string()),
            ("Tracestate".to_string(), "b=2".to_string()),
        ];
        assert_eq!(h.header_values("tracestate").len(), 2);
    }
}
