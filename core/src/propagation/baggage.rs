//! W3C Baggage: the `baggage` header that carries `order.id` and `user.id` between services.
//!
//! Grammar (W3C Baggage, section 3.3): `key OWS "=" OWS value *( OWS ";" OWS property )`
//! members separated by commas; keys are RFC 7230 tokens; values are percent-encoded
//! baggage-octets, decoded strictly (`%` and exactly two hex digits); decoded bytes that are
//! not UTF-8 become U+FFFD, as the spec requires.
//!
//! Limits (section 3.3.3): 64 members and 8192 bytes over all header lines. A member that does
//! not fit is dropped whole and counted before it is parsed, so a 15 MB header costs a scan
//! for commas and at most 8192 bytes of members; lines after the
//! [`crate::propagation::MAX_HEADER_LINES`]th are not read. A member that breaks the grammar
//! is left out and reported; the other members are kept (the spec leaves the choice open,
//! and one vendor's bad member must not cost the order its id).
//!
//! Outgoing values percent-encode everything outside baggage-octets and also `%` and `+`, so
//! peers that decode baggage like a form (`+` as space) read `ORD-1+2` as sent.
//!
//! ```
//! use ordertrace::propagation::Baggage;
//! let b = Baggage::parse(["order.id=ORD-5678, user.id=1b4e28ba-2fa1-11d2-883f-0016d3cca427"]);
//! assert_eq!(b.baggage.get("order.id"), Some("ORD-5678"));
//! ```

use crate::error::{OrderTraceError, Result, quoted};
use crate::propagation::traceparent::trim_ows;
use std::fmt::Write as _;

/// Header name.
pub const BAGGAGE_HEADER: &str = "baggage";
/// At most this many members are propagated (the current W3C Baggage text names 64).
pub const MAX_MEMBERS: usize = 64;
/// At most this many bytes of header are propagated, over all lines.
pub const MAX_BYTES: usize = 8192;

/// One baggage member: key, decoded value, and its properties as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaggageMember {
    /// The key (an RFC 7230 token).
    pub key: String,
    /// The value, percent-decoded.
    pub value: String,
    /// Properties after the value (`k=v` or `flag`, whitespace removed), kept as received
    /// for propagation: each was checked to hold only a token and baggage-octets.
    pub properties: Vec<String>,
}

impl BaggageMember {
    fn encoded(&self) -> String {
        let mut s = String::with_capacity(self.key.len() + 1 + self.value.len());
        s.push_str(&self.key);
        s.push('=');
        percent_encode_into(&self.value, &mut s);
        for p in &self.properties {
            s.push(';');
            s.push_str(p);
        }
        s
    }
}

/// Ordered baggage members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baggage {
    members: Vec<BaggageMember>,
}

/// Parsed baggage plus what was left out of it.
#[derive(Debug, Default)]
pub struct ParsedBaggage {
    /// The members kept.
    pub baggage: Baggage,
    /// Members dropped because the header exceeded W3C's limits (64 members, 8,192 bytes).
    pub dropped_members: usize,
    /// Members left out because they broke the grammar.
    pub malformed_members: usize,
    /// Why the first malformed member was left out.
    pub first_error: Option<OrderTraceError>,
}

fn malformed(reason: impl Into<String>) -> OrderTraceError {
    OrderTraceError::header(BAGGAGE_HEADER, reason)
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_baggage_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e)
}

fn validate_token(what: &str, key: &[u8]) -> Result<()> {
    if key.is_empty() || !key.iter().all(|b| is_tchar(*b)) {
        return Err(malformed(format!(
            "{what} {} is not a valid token",
            quoted(key)
        )));
    }
    Ok(())
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Checks that `raw` is baggage-octets with well-formed percent escapes.
fn validate_encoded(key: &[u8], raw: &[u8]) -> Result<()> {
    if let Some(b) = raw.iter().find(|b| !is_baggage_octet(**b)) {
        return Err(malformed(format!(
            "value of {} contains the byte 0x{b:02x}, which must be percent-encoded",
            quoted(key)
        )));
    }
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' {
            let escape_ok = raw.len() > i + 2
                && hex_value(raw[i + 1]).is_some()
                && hex_value(raw[i + 2]).is_some();
            if !escape_ok {
                return Err(malformed(format!(
                    "value of {} has a bad percent escape: '%' must be followed by two hex digits",
                    quoted(key)
                )));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// Decodes a value already checked by [`validate_encoded`]; bytes that are not UTF-8 once
/// decoded become U+FFFD.
fn percent_decode(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match (
            raw[i],
            raw.get(i + 1).copied().and_then(hex_value),
            raw.get(i + 2).copied().and_then(hex_value),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(hi << 4 | lo);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// Percent-encodes every byte outside baggage-octets, and `%` and `+` too.
fn percent_encode_into(value: &str, out: &mut String) {
    for b in value.bytes() {
        if is_baggage_octet(b) && b != b'%' && b != b'+' {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
}

fn parse_member(member: &[u8]) -> Result<BaggageMember> {
    let mut parts = member.split(|b| *b == b';');
    let kv = parts.next().unwrap_or_default();
    let eq = kv
        .iter()
        .position(|b| *b == b'=')
        .ok_or_else(|| malformed(format!("member {} has no '='", quoted(member))))?;
    let key = trim_ows(&kv[..eq]);
    validate_token("key", key)?;
    let raw_value = trim_ows(&kv[eq + 1..]);
    validate_encoded(key, raw_value)?;
    let mut properties = Vec::new();
    for prop in parts {
        let prop = trim_ows(prop);
        let property = match prop.iter().position(|b| *b == b'=') {
            None => {
                validate_token("property", prop)?;
                prop.to_vec()
            }
            Some(peq) => {
                let pkey = trim_ows(&prop[..peq]);
                let pvalue = trim_ows(&prop[peq + 1..]);
                validate_token("property", pkey)?;
                validate_encoded(pkey, pvalue)?;
                [pkey, b"=", pvalue].concat()
            }
        };
        // Checked above: a token and baggage-octets, all ASCII.
        properties.push(String::from_utf8_lossy(&property).into_owned());
    }
    Ok(BaggageMember {
        key: String::from_utf8_lossy(key).into_owned(),
        value: percent_decode(raw_value),
        properties,
    })
}

/// Reads `baggage` lines one at a time, parsing only the members that fit the limits.
#[derive(Debug, Default)]
pub(crate) struct BaggageReader {
    parsed: ParsedBaggage,
    /// Bytes of the kept members as received, with one separator between each two.
    size: usize,
}

impl BaggageReader {
    /// Reads one header line.
    pub(crate) fn read_line(&mut self, line: &[u8]) {
        if trim_ows(line).is_empty() {
            return;
        }
        for member in line.split(|b| *b == b',') {
            let member = trim_ows(member);
            if member.is_empty() {
                self.malformed(malformed("it has an empty list member"));
                continue;
            }
            let kept = self.parsed.baggage.members.len();
            let size = self.size + usize::from(kept > 0) + member.len();
            if kept == MAX_MEMBERS || size > MAX_BYTES {
                self.parsed.dropped_members += 1;
                continue;
            }
            match parse_member(member) {
                Ok(m) => {
                    self.parsed.baggage.members.push(m);
                    self.size = size;
                }
                Err(e) => self.malformed(e),
            }
        }
    }

    fn malformed(&mut self, e: OrderTraceError) {
        self.parsed.malformed_members += 1;
        self.parsed.first_error.get_or_insert(e);
    }

    pub(crate) fn finish(self) -> ParsedBaggage {
        self.parsed
    }
}

impl Baggage {
    /// Parses one or more `baggage` header values (several headers combine as one list).
    /// Malformed members are left out and counted in the result with the first one's error.
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> ParsedBaggage {
        let mut reader = BaggageReader::default();
        for value in values {
            reader.read_line(value.as_bytes());
        }
        reader.finish()
    }

    /// The value of `key`, if present (the first member with that key).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.members
            .iter()
            .find(|m| m.key == key)
            .map(|m| m.value.as_str())
    }

    /// Sets `key` to `value` as the first member, replacing every member with that key
    /// (their properties are dropped). First, so that the limits drop others before it.
    pub fn set(&mut self, key: &str, value: &str) {
        self.remove(key);
        self.members.insert(
            0,
            BaggageMember {
                key: key.to_string(),
                value: value.to_string(),
                properties: Vec::new(),
            },
        );
    }

    /// Removes every member with `key`; returns how many there were.
    pub fn remove(&mut self, key: &str) -> usize {
        let before = self.members.len();
        self.members.retain(|m| m.key != key);
        before - self.members.len()
    }

    /// Removes the members with `key` whose value `check` refuses; returns the first refusal.
    pub(crate) fn remove_invalid(
        &mut self,
        key: &str,
        check: impl Fn(&str) -> Result<()>,
    ) -> Option<OrderTraceError> {
        let mut first = None;
        self.members.retain(|m| {
            if m.key != key {
                return true;
            }
            match check(&m.value) {
                Ok(()) => true,
                Err(e) => {
                    first.get_or_insert(e);
                    false
                }
            }
        });
        first
    }

    /// The members, in header order.
    pub fn members(&self) -> &[BaggageMember] {
        &self.members
    }

    /// Whether there is nothing to propagate.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The header value to send, limited like a received one (whole members only);
    /// `None` when empty.
    pub fn header_value(&self) -> Option<String> {
        let mut out = String::new();
        let mut kept = 0;
        for m in &self.members {
            let enc = m.encoded();
            let extra = enc.len() + usize::from(kept > 0);
            if kept == MAX_MEMBERS || out.len() + extra > MAX_BYTES {
                continue;
            }
            if kept > 0 {
                out.push(',');
            }
            out.push_str(&enc);
            kept += 1;
        }
        (!out.is_empty()).then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(h: &str) -> ParsedBaggage {
        Baggage::parse([h])
    }

    fn reason(h: &str) -> String {
        parse(h)
            .first_error
            .expect("a malformed member")
            .to_string()
    }

    #[test]
    fn parses_members_with_whitespace_and_properties() {
        let p = parse("order.id = ORD-1 , user.id=abc;prop1; p2 = v2");
        assert_eq!(p.baggage.get("order.id"), Some("ORD-1"));
        assert_eq!(p.baggage.get("user.id"), Some("abc"));
        assert_eq!(p.baggage.members()[1].properties, ["prop1", "p2=v2"]);
        assert_eq!((p.dropped_members, p.malformed_members), (0, 0));
    }

    #[test]
    fn value_may_contain_equal_signs() {
        assert_eq!(parse("k=a=b==").baggage.get("k"), Some("a=b=="));
    }

    #[test]
    fn empty_value_is_allowed() {
        assert_eq!(parse("k=").baggage.get("k"), Some(""));
    }

    #[test]
    fn decodes_and_encodes_percent_escapes() {
        let p = parse("note=hello%20world%2C%3B");
        assert_eq!(p.baggage.get("note"), Some("hello world,;"));
        assert_eq!(
            p.baggage.header_value().unwrap(),
            "note=hello%20world%2C%3B"
        );
    }

    #[test]
    fn lowercase_escapes_decode_too() {
        assert_eq!(parse("k=%c3%bc").baggage.get("k"), Some("ü"));
    }

    #[test]
    fn plus_and_space_are_percent_encoded_on_the_way_out() {
        let mut b = Baggage::default();
        b.set("order.id", "ORD-1+2 3");
        assert_eq!(b.header_value().unwrap(), "order.id=ORD-1%2B2%203");
    }

    #[test]
    fn a_received_plus_is_a_plus_and_is_sent_on_encoded() {
        let p = parse("order.id=ORD-1+2");
        assert_eq!(p.baggage.get("order.id"), Some("ORD-1+2"));
        assert_eq!(p.baggage.header_value().unwrap(), "order.id=ORD-1%2B2");
    }

    #[test]
    fn round_trips_unicode_and_control_characters() {
        let mut b = Baggage::default();
        b.set("order.id", "ORD-ü\r\n%");
        let back = parse(&b.header_value().unwrap());
        assert_eq!(back.baggage.get("order.id"), Some("ORD-ü\r\n%"));
    }

    #[test]
    fn rejects_member_without_equals() {
        assert!(reason("order.id").contains("has no '='"));
    }

    #[test]
    fn rejects_invalid_key() {
        for h in ["ord er=1", "=1", "k(=1", "k\u{e9}=1"] {
            assert_eq!(parse(h).malformed_members, 1, "{h:?}");
        }
    }

    #[test]
    fn rejects_unencoded_value_bytes() {
        assert!(reason("k=a\"b").contains("0x22"));
        assert_eq!(parse("k=a\\b").malformed_members, 1);
        assert_eq!(parse("k=a b").malformed_members, 1);
        assert_eq!(parse("k=\u{e9}").malformed_members, 1);
    }

    #[test]
    fn rejects_bad_percent_escapes() {
        for h in ["k=%zz", "k=%4", "k=%", "k=%+A", "k=%-1", "k=% 1"] {
            assert_eq!(parse(h).malformed_members, 1, "{h:?}");
        }
        assert!(reason("k=%+A").contains("two hex digits"));
    }

    #[test]
    fn decoded_bytes_that_are_not_utf8_become_replacement_characters() {
        assert_eq!(
            parse("k=a%FFb%C3").baggage.get("k"),
            Some("a\u{FFFD}b\u{FFFD}")
        );
    }

    #[test]
    fn rejects_bad_properties() {
        assert_eq!(parse("k=v;p(=1").malformed_members, 1);
        assert_eq!(parse("k=v;p=a b").malformed_members, 1);
        assert_eq!(parse("k=v;p=%zz").malformed_members, 1);
        assert_eq!(parse("k=v;").malformed_members, 1);
    }

    #[test]
    fn a_malformed_member_is_left_out_and_the_others_are_kept() {
        let p = parse("a=1,b=\"x\",order.id=ORD-1");
        assert_eq!(p.baggage.get("a"), Some("1"));
        assert_eq!(p.baggage.get("order.id"), Some("ORD-1"));
        assert_eq!(p.baggage.get("b"), None);
        assert_eq!(p.malformed_members, 1);
    }

    #[test]
    fn empty_members_are_reported_and_skipped() {
        let p = parse("a=1,,b=2");
        assert_eq!(p.baggage.members().len(), 2);
        assert_eq!(p.malformed_members, 1);
        assert!(
            p.first_error
                .unwrap()
                .to_string()
                .contains("empty list member")
        );
    }

    #[test]
    fn keeps_64_members_and_drops_the_rest_whole() {
        let h: Vec<String> = (0..200).map(|i| format!("k{i}=v")).collect();
        let p = parse(&h.join(","));
        assert_eq!(p.baggage.members().len(), MAX_MEMBERS);
        assert_eq!(p.dropped_members, 136);
        assert_eq!(p.baggage.members()[63].key, "k63");
    }

    #[test]
    fn limits_apply_to_all_lines_together() {
        let line: Vec<String> = (0..40).map(|i| format!("k{i}=v")).collect();
        let line = line.join(",");
        let p = Baggage::parse([line.as_str(), line.as_str()]);
        assert_eq!(p.baggage.members().len(), 64);
        assert_eq!(p.dropped_members, 16);
    }

    #[test]
    fn over_8192_bytes_drops_members_whole() {
        // 9 members of 1002 bytes: the 9th would pass 8192 bytes.
        let h: Vec<String> = (0..9)
            .map(|i| format!("k{i}={}", "v".repeat(999)))
            .collect();
        let p = parse(&h.join(","));
        assert_eq!(p.baggage.members().len(), 8);
        assert_eq!(p.dropped_members, 1);
        assert!(p.baggage.header_value().unwrap().len() <= MAX_BYTES);
    }

    #[test]
    fn a_huge_member_is_dropped_unparsed_and_later_members_still_count() {
        let h = format!("junk={},order.id=ORD-1", "x".repeat(1 << 20));
        let p = parse(&h);
        assert_eq!(p.baggage.get("order.id"), Some("ORD-1"));
        assert_eq!(p.dropped_members, 1);
        assert_eq!(p.malformed_members, 0);
    }

    #[test]
    fn error_quotes_a_bounded_prefix() {
        // Within the limits, so it is parsed (a longer one is dropped unparsed).
        let bad = format!("{}=1", "(".repeat(8000));
        assert!(reason(&bad).len() < 200, "{}", reason(&bad));
    }

    #[test]
    fn set_replaces_every_member_with_the_key_and_goes_first() {
        let mut b = parse("a=1,order.id=A;p,order.id=B").baggage;
        b.set("order.id", "C");
        assert_eq!(b.header_value().unwrap(), "order.id=C,a=1");
    }

    #[test]
    fn outgoing_limit_keeps_the_members_set_last_first() {
        let h: Vec<String> = (0..64).map(|i| format!("k{i}=v")).collect();
        let mut b = parse(&h.join(",")).baggage;
        b.set("order.id", "ORD-1");
        let out = b.header_value().unwrap();
        assert!(out.starts_with("order.id=ORD-1,k0=v"), "{out}");
        assert_eq!(out.split(',').count(), MAX_MEMBERS);
    }

    #[test]
    fn remove_counts_what_it_removed() {
        let mut b = parse("a=1,b=2,a=3").baggage;
        assert_eq!(b.remove("a"), 2);
        assert_eq!(b.header_value().unwrap(), "b=2");
    }

    #[test]
    fn empty_header_is_empty_baggage() {
        let p = parse("  ");
        assert!(p.baggage.is_empty());
        assert_eq!(p.malformed_members, 0);
    }
}
