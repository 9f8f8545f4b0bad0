//! W3C Trace Context `tracestate`: vendor entries carried beside `traceparent`.
//!
//! Parsing follows section 3.3 of the Level 2 text: comma-separated `key=value` members with
//! optional whitespace; empty members are skipped; a key starts with a lowercase letter or a
//! digit and has up to 256 lowercase letters, digits and `_ - * / @`; a value has 1..=256
//! printable ASCII characters without `,` or `=` and does not end in a space. A header with a
//! malformed member or more than 32 members is discarded whole. A key that appears again (in
//! one line or across several header lines) keeps its first, leftmost, entry: the later ones
//! are dropped and counted, the rest of the state is inherited. A header longer than 512
//! characters is trimmed as the spec says: members over 128 characters go first, then members
//! from the end.
//!
//! Reading is bounded before anything is stored: at most [`MAX_INPUT_LEN`] bytes over at most
//! [`crate::propagation::MAX_HEADER_LINES`] lines, at most 33 members looked at.

use crate::error::{OrderTraceError, Result, quoted};
use crate::propagation::traceparent::trim_ows;
use opentelemetry::trace::TraceState;
use std::ops::ControlFlow;

/// Header name.
pub const TRACESTATE_HEADER: &str = "tracestate";
/// At most this many list members.
pub const MAX_MEMBERS: usize = 32;
/// Combined header length that must be propagated; longer headers are trimmed to it.
pub const MAX_HEADER_LEN: usize = 512;
/// Members longer than this are the first to go when trimming.
pub const TRIM_FIRST_OVER: usize = 128;
/// Longest key, and longest value.
pub const MAX_KEY_LEN: usize = 256;
/// Longest value.
pub const MAX_VALUE_LEN: usize = 256;
/// Most bytes read over all `tracestate` lines: 32 members of the longest key and value fit
/// with room for whitespace and empty members; a longer input is discarded unread.
pub const MAX_INPUT_LEN: usize = 64 * 1024;

/// An ordered list of tracestate members, leftmost (most recent vendor) first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceStateList {
    members: Vec<(String, String)>,
}

/// A parsed tracestate plus what was left out of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedTraceState {
    /// The members kept.
    pub list: TraceStateList,
    /// Members removed to fit W3C's 512 characters.
    pub trimmed_members: usize,
    /// Later members whose key had already appeared (the first one is kept).
    pub dropped_duplicates: usize,
}

fn malformed(reason: impl Into<String>) -> OrderTraceError {
    OrderTraceError::header(TRACESTATE_HEADER, reason)
}

fn is_key_char(b: u8) -> bool {
    matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/' | b'@')
}

fn validate_key(key: &[u8]) -> Result<()> {
    let ok = (1..=MAX_KEY_LEN).contains(&key.len())
        && (key[0].is_ascii_lowercase() || key[0].is_ascii_digit())
        && key.iter().all(|b| is_key_char(*b));
    if ok {
        Ok(())
    } else {
        Err(malformed(format!(
            "key {} is not a valid tracestate key (a lowercase letter or digit, then up to 255 of a-z 0-9 _ - * / @)",
            quoted(key)
        )))
    }
}

fn validate_value(key: &[u8], value: &[u8]) -> Result<()> {
    let ok = (1..=MAX_VALUE_LEN).contains(&value.len())
        && value
            .iter()
            .all(|b| matches!(b, 0x20..=0x2b | 0x2d..=0x3c | 0x3e..=0x7e))
        && value.last() != Some(&b' ');
    if ok {
        Ok(())
    } else {
        Err(malformed(format!(
            "value of {} is not a valid tracestate value (1 to 256 printable ASCII characters, no ',' or '=')",
            quoted(key)
        )))
    }
}

/// Reads `tracestate` lines one at a time, storing only members that passed every check.
#[derive(Debug, Default)]
pub(crate) struct TraceStateReader {
    members: Vec<(String, String)>,
    dropped_duplicates: usize,
    input_len: usize,
    error: Option<OrderTraceError>,
}

impl TraceStateReader {
    /// Reads one header line; `Break` once the header is known to be invalid.
    pub(crate) fn read_line(&mut self, line: &[u8]) -> ControlFlow<()> {
        if self.error.is_some() {
            return ControlFlow::Break(());
        }
        match self.read(line) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                self.error = Some(e);
                self.members = Vec::new();
                ControlFlow::Break(())
            }
        }
    }

    fn read(&mut self, line: &[u8]) -> Result<()> {
        self.input_len += line.len();
        if self.input_len > MAX_INPUT_LEN {
            return Err(malformed(format!(
                "it is more than {MAX_INPUT_LEN} bytes long"
            )));
        }
        for member in line.split(|b| *b == b',') {
            let member = trim_ows(member);
            if member.is_empty() {
                continue;
            }
            let eq = member
                .iter()
                .position(|b| *b == b'=')
                .ok_or_else(|| malformed(format!("member {} has no '='", quoted(member))))?;
            let (key, value) = (&member[..eq], &member[eq + 1..]);
            validate_key(key)?;
            validate_value(key, value)?;
            if self.members.iter().any(|(k, _)| k.as_bytes() == key) {
                self.dropped_duplicates += 1;
                continue;
            }
            if self.members.len() == MAX_MEMBERS {
                return Err(malformed(format!("it has more than {MAX_MEMBERS} members")));
            }
            // Checked above: both are printable ASCII.
            self.members.push((
                String::from_utf8_lossy(key).into_owned(),
                String::from_utf8_lossy(value).into_owned(),
            ));
        }
        Ok(())
    }

    /// The list read, trimmed to [`MAX_HEADER_LEN`].
    pub(crate) fn finish(self) -> Result<ParsedTraceState> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut list = TraceStateList {
            members: self.members,
        };
        let trimmed_members = list.trim_to_limit();
        Ok(ParsedTraceState {
            list,
            trimmed_members,
            dropped_duplicates: self.dropped_duplicates,
        })
    }
}

impl TraceStateList {
    /// Parses one or more `tracestate` header values (several headers combine as one list).
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<ParsedTraceState> {
        let mut reader = TraceStateReader::default();
        for value in values {
            if reader.read_line(value.as_bytes()).is_break() {
                break;
            }
        }
        reader.finish()
    }

    /// Removes members until the header fits [`MAX_HEADER_LEN`]: long members first, then
    /// from the end. Returns how many were removed.
    fn trim_to_limit(&mut self) -> usize {
        let before = self.members.len();
        while self.header_len() > MAX_HEADER_LEN {
            let long = self
                .members
                .iter()
                .position(|(k, v)| k.len() + 1 + v.len() > TRIM_FIRST_OVER);
            match long {
                Some(i) => {
                    self.members.remove(i);
                }
                None => {
                    self.members.pop();
                }
            }
        }
        before - self.members.len()
    }

    fn header_len(&self) -> usize {
        let content: usize = self
            .members
            .iter()
            .map(|(k, v)| k.len() + 1 + v.len())
            .sum();
        content + self.members.len().saturating_sub(1)
    }

    /// The members, leftmost first.
    pub fn members(&self) -> &[(String, String)] {
        &self.members
    }

    /// Whether there is nothing to propagate.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The header value to send, `None` when empty.
    pub fn header_value(&self) -> Option<String> {
        if self.members.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(self.header_len());
        for (n, (k, v)) in self.members.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            out.push_str(k);
            out.push('=');
            out.push_str(v);
        }
        Some(out)
    }

    /// The list as OpenTelemetry's `TraceState`, with the keys of the members it cannot hold.
    ///
    /// OpenTelemetry's `TraceState` still applies the older `tenant@system` key rules, so a
    /// key valid under Level 2 such as `foo@@bar` or `t@` followed by 15 characters is
    /// refused there; those members are named here instead of silently emptying the state.
    pub fn to_otel(&self) -> (TraceState, Vec<&str>) {
        let mut refused = Vec::new();
        let accepted: Vec<(&str, &str)> = self
            .members
            .iter()
            .filter(|(k, v)| {
                let ok = TraceState::NONE.insert(k.as_str(), v.as_str()).is_ok();
                if !ok {
                    refused.push(k.as_str());
                }
                ok
            })
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        // Every pair passed the same check one by one, and there are at most 32.
        let state = TraceState::from_key_value(accepted).unwrap_or_default();
        (state, refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(h: &str) -> Result<ParsedTraceState> {
        TraceStateList::parse([h])
    }

    #[test]
    fn parses_members_and_skips_empty_ones_and_whitespace() {
        let p = parse("rojo=00f067aa0ba902b7, ,\tcongo=t61rcWkgMzE ,").unwrap();
        assert_eq!(
            p.list.members(),
            [
                ("rojo".to_string(), "00f067aa0ba902b7".to_string()),
                ("congo".to_string(), "t61rcWkgMzE".to_string())
            ]
        );
        assert_eq!(
            p.list.header_value().unwrap(),
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
        );
    }

    #[test]
    fn combines_multiple_headers_in_order() {
        let p = TraceStateList::parse(["a=1", "b=2"]).unwrap();
        assert_eq!(p.list.header_value().unwrap(), "a=1,b=2");
    }

    #[test]
    fn accepts_level_2_keys_with_at_signs_anywhere_after_the_first_character() {
        for key in [
            "fw529a3039@dt",
            "1tenant@sys",
            "foo@",
            "foo@@bar",
            "foo@bar@baz",
            "t@",
        ] {
            let p = parse(&format!("{key}=1")).unwrap();
            assert_eq!(p.list.members()[0].0, key);
        }
        let long_vendor = format!("t@{}", "v".repeat(15));
        assert!(parse(&format!("{long_vendor}=1")).is_ok());
    }

    #[test]
    fn accepts_keys_starting_with_a_digit() {
        assert_eq!(parse("1abc=1").unwrap().list.members()[0].0, "1abc");
    }

    #[test]
    fn accepts_256_character_key_and_rejects_257() {
        assert!(parse(&format!("{}=1", "z".repeat(256))).is_ok());
        assert!(parse(&format!("{}=1", "z".repeat(257))).is_err());
    }

    #[test]
    fn rejects_bad_keys() {
        for h in [
            "Rojo=1",
            "a b=1",
            "t@Sys=1",
            "@s=1",
            "=1",
            "foo.bar=1",
            "foo =1",
            "_a=1",
        ] {
            assert!(parse(h).is_err(), "{h:?} accepted");
        }
    }

    #[test]
    fn rejects_bad_values() {
        for h in ["a=", "a=b=c", "a=\u{7f}", "a=é", "a=x\u{1}"] {
            assert!(parse(h).is_err(), "{h:?} accepted");
        }
        assert!(parse(&format!("a={}", "v".repeat(257))).is_err());
        assert!(parse("a=with space").is_ok());
    }

    #[test]
    fn rejects_member_without_equals() {
        assert!(parse("a").unwrap_err().to_string().contains("has no '='"));
    }

    #[test]
    fn duplicate_keys_keep_the_first_entry_and_the_rest_of_the_state() {
        let p = parse("foo=1,bar=2,foo=3").unwrap();
        assert_eq!(p.list.header_value().unwrap(), "foo=1,bar=2");
        assert_eq!(p.dropped_duplicates, 1);
    }

    #[test]
    fn duplicate_keys_across_header_lines_keep_the_first_entry() {
        let p = TraceStateList::parse(["foo=1", "foo=2,baz=3"]).unwrap();
        assert_eq!(p.list.header_value().unwrap(), "foo=1,baz=3");
        assert_eq!(p.dropped_duplicates, 1);
    }

    #[test]
    fn value_keeps_leading_spaces() {
        let p = parse("foo= 1").unwrap();
        assert_eq!(p.list.members()[0].1, " 1");
    }

    #[test]
    fn rejects_input_over_the_read_limit_without_storing_it() {
        let huge = ",".repeat(MAX_INPUT_LEN + 1);
        assert!(
            parse(&huge)
                .unwrap_err()
                .to_string()
                .contains("more than 65536 bytes")
        );
    }

    #[test]
    fn error_quotes_a_bounded_prefix_of_a_huge_member() {
        let err = parse(&"K".repeat(60_000)).unwrap_err().to_string();
        assert!(err.len() < 200, "{err}");
    }

    #[test]
    fn otel_conversion_names_the_members_it_cannot_hold() {
        let p = parse("a=1,foo@@bar=2,b=3").unwrap();
        let (state, refused) = p.list.to_otel();
        assert_eq!(state.header(), "a=1,b=3");
        assert_eq!(refused, ["foo@@bar"]);
    }

    #[test]
    fn accepts_32_members() {
        let h: Vec<String> = (0..32).map(|i| format!("k{i}=v")).collect();
        assert_eq!(parse(&h.join(",")).unwrap().list.members().len(), 32);
    }

    #[test]
    fn rejects_more_than_32_members() {
        let h: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
        assert!(
            parse(&h.join(","))
                .unwrap_err()
                .to_string()
                .contains("more than 32")
        );
    }

    #[test]
    fn over_long_header_loses_long_members_first() {
        let long = format!("big={}", "x".repeat(200));
        let mut members = vec![format!("a={}", "y".repeat(100)), long];
        members.extend((0..3).map(|i| format!("k{i}={}", "z".repeat(100))));
        let p = parse(&members.join(",")).unwrap();
        assert_eq!(p.trimmed_members, 1);
        assert!(p.list.members().iter().all(|(k, _)| k != "big"));
        assert!(p.list.header_len() <= MAX_HEADER_LEN);
    }

    #[test]
    fn over_long_header_then_loses_members_from_the_end() {
        let members: Vec<String> = (0..6)
            .map(|i| format!("k{i}={}", "z".repeat(100)))
            .collect();
        let p = parse(&members.join(",")).unwrap();
        let keys: Vec<&str> = p.list.members().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["k0", "k1", "k2", "k3"]);
        assert_eq!(p.trimmed_members, 2);
        assert!(p.list.header_len() <= MAX_HEADER_LEN);
    }

    #[test]
    fn empty_header_gives_empty_list() {
        let p = parse("").unwrap();
        assert!(p.list.is_empty());
        assert_eq!(p.list.header_value(), None);
    }
}
