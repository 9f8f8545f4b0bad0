//! W3C Trace Context `traceparent`: strict parsing and formatting.
//!
//! Rules (W3C Trace Context Level 2, section 3.2): `version-traceid-parentid-flags`, lowercase
//! hex only; the version is exactly two hex digits followed by `-`; version `ff` is invalid; a
//! version `00` header is exactly 55 characters; a higher version is read by the version-00
//! layout and accepted only where what follows those 55 characters is the end or `-` (the rest
//! is not looked at); an all-zero trace id or parent id is invalid. Only the flags this version
//! defines (sampled, random trace id) are kept: unknown flags are sent on as zero.
//!
//! The length is checked before anything else, so a megabyte of `traceparent` costs a length
//! comparison, never a split into fields.
//!
//! ```
//! use ordertrace::propagation::TraceParent;
//! let tp: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap();
//! assert!(tp.sampled());
//! assert!("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01".parse::<TraceParent>().is_err());
//! ```

use crate::error::{OrderTraceError, Result, quoted};
use opentelemetry::trace::{SpanId, TraceFlags, TraceId};
use std::fmt;
use std::str::FromStr;

/// Header name, lowercase as HTTP/2 requires.
pub const TRACEPARENT_HEADER: &str = "traceparent";
/// Length of a version-00 header, and the part of a higher version that is read.
pub const VERSION_00_LEN: usize = 55;
/// Longest `traceparent` of a higher version that is read at all (whitespace trimmed); a
/// longer one is refused by its length alone.
pub const MAX_TRACEPARENT_LEN: usize = 512;
/// Trace flag: the caller may have recorded trace data.
pub const FLAG_SAMPLED: u8 = 0x01;
/// Trace flag (Level 2): at least the right-most 7 bytes of the trace id are random.
pub const FLAG_RANDOM_TRACE_ID: u8 = 0x02;
/// The flags this version of the specification defines; others are sent on as zero.
pub const KNOWN_FLAGS: u8 = FLAG_SAMPLED | FLAG_RANDOM_TRACE_ID;

/// A parsed, valid `traceparent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    /// Trace Context version; `0` for every header this library writes.
    pub version: u8,
    /// The trace id (never all zero).
    pub trace_id: TraceId,
    /// The caller's span id (never all zero).
    pub parent_id: SpanId,
    /// Trace flags; bit 0 is "sampled", bit 1 "random trace id".
    pub flags: TraceFlags,
}

impl TraceParent {
    /// Whether the caller sampled this trace.
    pub fn sampled(&self) -> bool {
        self.flags.to_u8() & FLAG_SAMPLED != 0
    }

    /// Whether the caller says the trace id is random (Level 2 `random-trace-id` flag).
    pub fn random_trace_id(&self) -> bool {
        self.flags.to_u8() & FLAG_RANDOM_TRACE_ID != 0
    }

    /// Parses one header value given as bytes (as RabbitMQ and the C ABI hand it over).
    pub fn parse_bytes(raw: &[u8]) -> Result<Self> {
        let value = trim_ows(raw);
        if value.len() > MAX_TRACEPARENT_LEN {
            return Err(malformed(format!(
                "it is {} characters long, at most {MAX_TRACEPARENT_LEN} are read",
                value.len()
            )));
        }
        if value.len() < 3 || value[2] != b'-' {
            return Err(malformed(format!(
                "{} does not start with a two-digit version and '-'",
                quoted(value)
            )));
        }
        let [version] = lower_hex::<1>("version", &value[..2])?;
        if version == 0xff {
            return Err(malformed("version ff is forbidden"));
        }
        if version == 0 && value.len() != VERSION_00_LEN {
            return Err(malformed(format!(
                "a version 00 traceparent is {VERSION_00_LEN} characters, this one is {}",
                value.len()
            )));
        }
        if value.len() < VERSION_00_LEN {
            return Err(malformed(format!(
                "a version {version:02x} traceparent is at least {VERSION_00_LEN} characters, this one is {}",
                value.len()
            )));
        }
        // Version 00 layout: version(2) - trace id(32) - parent id(16) - flags(2) [- future]
        dash_after("trace id", value, 35)?;
        dash_after("parent id", value, 52)?;
        if value.len() > VERSION_00_LEN {
            // Only a higher version gets here (version 00 is exactly 55 characters).
            dash_after("trace flags", value, VERSION_00_LEN)?;
        }
        let trace_id = lower_hex::<16>("trace id", &value[3..35])?;
        let parent_id = lower_hex::<8>("parent id", &value[36..52])?;
        let [flags] = lower_hex::<1>("trace flags", &value[53..55])?;
        if trace_id == [0; 16] {
            return Err(malformed("trace id is all zeros"));
        }
        if parent_id == [0; 8] {
            return Err(malformed("parent id is all zeros"));
        }
        Ok(TraceParent {
            version,
            trace_id: TraceId::from_bytes(trace_id),
            parent_id: SpanId::from_bytes(parent_id),
            flags: TraceFlags::new(flags & KNOWN_FLAGS),
        })
    }
}

fn malformed(reason: impl Into<String>) -> OrderTraceError {
    OrderTraceError::header(TRACEPARENT_HEADER, reason)
}

/// The value without the spaces and tabs (OWS) around it.
pub(crate) fn trim_ows(raw: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = raw.iter().position(|b| !is_ows(b)).unwrap_or(raw.len());
    let end = raw
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &raw[start..end]
}

fn dash_after(field: &str, value: &[u8], at: usize) -> Result<()> {
    match value.get(at) {
        Some(b'-') => Ok(()),
        Some(other) => Err(malformed(format!(
            "{field} is not followed by '-' (found {} at position {at})",
            quoted(&[*other])
        ))),
        None => Err(malformed(format!("{field} is not followed by '-'"))),
    }
}

/// Decodes exactly `N` bytes of lowercase hex, naming the field in the error.
fn lower_hex<const N: usize>(field: &str, s: &[u8]) -> Result<[u8; N]> {
    if s.len() != N * 2 {
        return Err(malformed(format!(
            "{field} has {} characters, expected {}",
            s.len(),
            N * 2
        )));
    }
    let mut out = [0u8; N];
    for (i, pair) in s.chunks_exact(2).enumerate() {
        out[i] = (hex_digit(field, pair[0])? << 4) | hex_digit(field, pair[1])?;
    }
    Ok(out)
}

fn hex_digit(field: &str, b: u8) -> Result<u8> {
    match b {
        b'0'..=b'9' => Ok(b - b'0'),
        b'a'..=b'f' => Ok(b - b'a' + 10),
        _ => {
            let what = if b.is_ascii_hexdigit() {
                "uppercase hex is not allowed"
            } else {
                "not a lowercase hex digit"
            };
            Err(malformed(format!(
                "{field} contains {}: {what}",
                quoted(&[b])
            )))
        }
    }
}

impl FromStr for TraceParent {
    type Err = OrderTraceError;

    fn from_str(raw: &str) -> Result<Self> {
        Self::parse_bytes(raw.as_bytes())
    }
}

impl fmt::Display for TraceParent {
    /// Always writes version `00`, the version this library speaks, with unknown flags zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            self.trace_id,
            self.parent_id,
            self.flags.to_u8() & KNOWN_FLAGS
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn reason(header: &str) -> String {
        header.parse::<TraceParent>().unwrap_err().to_string()
    }

    #[test]
    fn parses_valid_header_and_formats_it_back() {
        let tp: TraceParent = VALID.parse().unwrap();
        assert_eq!(tp.version, 0);
        assert_eq!(tp.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(tp.parent_id.to_string(), "00f067aa0ba902b7");
        assert!(tp.sampled());
        assert!(!tp.random_trace_id());
        assert_eq!(tp.to_string(), VALID);
    }

    #[test]
    fn accepts_surrounding_whitespace() {
        let tp: TraceParent = format!(" \t{VALID} \t").parse().unwrap();
        assert_eq!(tp.to_string(), VALID);
    }

    #[test]
    fn unsampled_flag_is_kept() {
        let tp: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
            .parse()
            .unwrap();
        assert!(!tp.sampled());
    }

    #[test]
    fn random_flag_is_kept() {
        let tp: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02"
            .parse()
            .unwrap();
        assert!(tp.random_trace_id() && !tp.sampled());
        assert!(tp.to_string().ends_with("-02"));
    }

    #[test]
    fn unknown_flags_are_sent_on_as_zero() {
        let tp: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff"
            .parse()
            .unwrap();
        assert_eq!(tp.flags.to_u8(), KNOWN_FLAGS);
        assert!(tp.to_string().ends_with("-03"));
    }

    #[test]
    fn formatting_clears_unknown_flags_set_by_hand() {
        let mut tp: TraceParent = VALID.parse().unwrap();
        tp.flags = TraceFlags::new(0x85);
        assert!(tp.to_string().ends_with("-01"));
    }

    #[test]
    fn rejects_version_ff() {
        assert!(
            reason("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
                .contains("version ff is forbidden")
        );
    }

    #[test]
    fn rejects_bad_version_characters() {
        assert!(
            reason("0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").contains("version")
        );
        assert!(
            reason("0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").contains("uppercase")
        );
    }

    #[test]
    fn rejects_version_that_is_not_two_digits() {
        for h in [
            "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "000-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert!(
                reason(h).contains("two-digit version"),
                "{h}: {}",
                reason(h)
            );
        }
    }

    #[test]
    fn rejects_all_zero_trace_id() {
        assert!(
            reason("00-00000000000000000000000000000000-00f067aa0ba902b7-01")
                .contains("trace id is all zeros")
        );
    }

    #[test]
    fn rejects_all_zero_span_id() {
        assert!(
            reason("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")
                .contains("parent id is all zeros")
        );
    }

    #[test]
    fn rejects_version_00_that_is_not_55_characters() {
        assert_eq!(
            reason("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"),
            "malformed traceparent header: a version 00 traceparent is 55 characters, this one is 52"
        );
        assert!(
            reason("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-00")
                .contains("this one is 58")
        );
        assert!(
            reason("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.").contains("is 56")
        );
    }

    #[test]
    fn rejects_misplaced_dashes() {
        assert!(
            reason("00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01")
                .contains("trace id is not followed by '-'")
        );
        assert!(
            reason("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-701")
                .contains("parent id is not followed by '-'")
        );
    }

    #[test]
    fn rejects_uppercase_hex() {
        assert!(
            reason("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")
                .contains("uppercase hex")
        );
        assert!(
            reason("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01")
                .contains("uppercase hex")
        );
    }

    #[test]
    fn rejects_non_hex_characters() {
        assert!(
            reason("00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01")
                .contains("trace id contains \"g\": not a lowercase hex digit")
        );
        assert!(
            reason("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0z")
                .contains("trace flags contains")
        );
    }

    #[test]
    fn rejects_non_ascii() {
        // 'é' is two bytes: the header is 56 bytes, one more than version 00 allows.
        assert!(
            reason("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0é").contains("is 56")
        );
        assert!(
            TraceParent::parse_bytes(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0\xff")
                .unwrap_err()
                .to_string()
                .contains("\\xff")
        );
    }

    #[test]
    fn rejects_empty() {
        assert!(reason("").contains("two-digit version"));
        assert!(reason(" \t ").contains("two-digit version"));
    }

    #[test]
    fn rejects_oversized_header_by_its_length_alone() {
        let huge = format!("cc-{}", "a".repeat(1 << 20));
        assert_eq!(
            reason(&huge),
            "malformed traceparent header: it is 1048579 characters long, at most 512 are read"
        );
    }

    #[test]
    fn error_quotes_a_bounded_prefix() {
        let bad = format!("zz{}", "x".repeat(400));
        assert!(reason(&bad).len() < 200, "{}", reason(&bad));
    }

    #[test]
    fn future_version_with_extra_fields_is_accepted() {
        let tp: TraceParent =
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds"
                .parse()
                .unwrap();
        assert_eq!(tp.version, 0xcc);
        assert_eq!(tp.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        // We answer in the version we speak.
        assert!(tp.to_string().starts_with("00-"));
    }

    #[test]
    fn future_version_of_exactly_55_characters_is_accepted() {
        let tp: TraceParent = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            .parse()
            .unwrap();
        assert_eq!(tp.version, 0xcc);
    }

    #[test]
    fn future_version_extra_fields_are_not_looked_at() {
        let mut raw = b"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-".to_vec();
        raw.extend_from_slice(b"\xff\x00 anything");
        assert!(TraceParent::parse_bytes(&raw).is_ok());
    }

    #[test]
    fn future_version_must_separate_extra_fields_with_dash() {
        assert!(
            reason("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x")
                .contains("trace flags is not followed by '-'")
        );
        assert!(
            reason("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.what-the-future")
                .contains("trace flags is not followed by '-'")
        );
    }

    #[test]
    fn future_version_shorter_than_version_00_is_rejected() {
        assert!(
            reason("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1")
                .contains("at least 55")
        );
    }

    #[test]
    fn future_version_with_bad_fields_is_rejected() {
        assert!(
            reason("cc-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01-xx")
                .contains("trace id is not followed")
        );
        assert!(
            reason("cc-00000000000000000000000000000000-00f067aa0ba902b7-01-xx")
                .contains("all zeros")
        );
    }

    #[test]
    fn trim_ows_removes_only_spaces_and_tabs() {
        assert_eq!(trim_ows(b" \t a b \t"), b"a b");
        assert_eq!(trim_ows(b"\r\na"), b"\r\na");
        assert_eq!(trim_ows(b"  "), b"");
    }
}
