//! W3C Trace Context `traceparent`: strict parsing and formatting.
//!
//! Rules (W3C Trace Context, section 3.2): `version-traceid-parentid-flags`, lowercase hex only;
//! version `ff` is invalid; version `00` is exactly 55 characters; a higher version may carry
//! more fields after a `-`, which are ignored; an all-zero trace id or parent id is invalid.
//!
//! ```
//! use ordertrace::propagation::TraceParent;
//! let tp: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap();
//! assert!(tp.sampled());
//! assert!("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01".parse::<TraceParent>().is_err());
//! ```

use crate::error::{OrderTraceError, Result};
use opentelemetry::trace::{SpanId, TraceFlags, TraceId};
use std::fmt;
use std::str::FromStr;

/// Header name, lowercase as HTTP/2 requires.
pub const TRACEPARENT_HEADER: &str = "traceparent";
const VERSION_00_LEN: usize = 55;

/// A parsed, valid `traceparent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    /// Trace Context version; `0` for every header this library writes.
    pub version: u8,
    /// The trace id (never all zero).
    pub trace_id: TraceId,
    /// The caller's span id (never all zero).
    pub parent_id: SpanId,
    /// Trace flags; bit 0 is "sampled".
    pub flags: TraceFlags,
}

impl TraceParent {
    /// Whether the caller sampled this trace.
    pub fn sampled(&self) -> bool {
        self.flags.is_sampled()
    }
}

fn malformed(reason: impl Into<String>) -> OrderTraceError {
    OrderTraceError::header(TRACEPARENT_HEADER, reason)
}

/// Decodes exactly `N` bytes of lowercase hex, naming the field in the error.
fn lower_hex<const N: usize>(field: &str, s: &str) -> Result<[u8; N]> {
    if s.len() != N * 2 {
        return Err(malformed(format!(
            "{field} has {} characters, expected {}",
            s.len(),
            N * 2
        )));
    }
    if let Some(c) = s.chars().find(|c| !matches!(c, '0'..='9' | 'a'..='f')) {
        let what = if c.is_ascii_hexdigit() {
            "uppercase hex is not allowed"
        } else {
            "not a hex digit"
        };
        return Err(malformed(format!("{field} contains {c:?}: {what}")));
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        // Validated above: two lowercase hex digits.
        *byte = u8::from_str_radix(&s[i * 2..i * 2 + 2], 16)
            .map_err(|_| malformed(format!("{field} is not hex")))?;
    }
    Ok(out)
}

impl FromStr for TraceParent {
    type Err = OrderTraceError;

    fn from_str(raw: &str) -> Result<Self> {
        let value = raw.trim_matches([' ', '\t']);
        if !value.is_ascii() {
            return Err(malformed("it contains non-ASCII characters"));
        }
        let version_field = value.get(..2).unwrap_or(value);
        let [version] = lower_hex::<1>("version", version_field)?;
        if version == 0xff {
            return Err(malformed("version ff is forbidden"));
        }
        let fields: Vec<&str>;
        if version == 0 {
            fields = value.split('-').collect();
            if fields.len() != 4 {
                return Err(malformed(format!(
                    "traceparent has {} fields, expected 4",
                    fields.len()
                )));
            }
        } else {
            // A future version may append fields; only its first 55 characters are ours.
            if value.len() < VERSION_00_LEN {
                return Err(malformed(format!(
                    "version {version:02x} header is {} characters, at least {VERSION_00_LEN} expected",
                    value.len()
                )));
            }
            if value.len() > VERSION_00_LEN && value.as_bytes()[VERSION_00_LEN] != b'-' {
                return Err(malformed(format!(
                    "version {version:02x} header continues without '-' after {VERSION_00_LEN} characters"
                )));
            }
            fields = value[..VERSION_00_LEN].split('-').collect();
            if fields.len() != 4 {
                return Err(malformed(format!(
                    "traceparent has {} fields, expected 4",
                    fields.len()
                )));
            }
        }
        let trace_id = lower_hex::<16>("trace id", fields[1])?;
        let parent_id = lower_hex::<8>("parent id", fields[2])?;
        let [flags] = lower_hex::<1>("trace flags", fields[3])?;
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
            flags: TraceFlags::new(flags),
        })
    }
}

impl fmt::Display for TraceParent {
    /// Always writes version `00`, the version this library speaks.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            self.trace_id,
            self.parent_id,
            self.flags.to_u8()
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
        assert_eq!(tp.to_string(), VALID);
    }

    #[test]
    fn accepts_surrounding_whitespace() {
        assert!(format!(" \t{VALID} ").parse::<TraceParent>().is_ok());
    }

    #[test]
    fn unsampled_flag_is_kept() {
        let tp: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
            .parse()
            .unwrap();
        assert!(!tp.sampled());
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
    fn rejects_wrong_field_count() {
        assert_eq!(
            reason("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"),
            "malformed traceparent header: traceparent has 3 fields, expected 4"
        );
        assert!(
            reason("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-00")
                .contains("5 fields")
        );
    }

    #[test]
    fn rejects_wrong_field_lengths() {
        assert!(
            reason("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01")
                .contains("trace id has 31 characters")
        );
        assert!(
            reason("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01")
                .contains("parent id has 15 characters")
        );
        assert!(
            reason("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1")
                .contains("trace flags has 1 characters")
        );
        assert!(
            reason("0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").contains("version")
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
                .contains("not a hex digit")
        );
        assert!(
            reason("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0z")
                .contains("not a hex digit")
        );
    }

    #[test]
    fn rejects_non_ascii() {
        assert!(
            reason("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0é").contains("non-ASCII")
        );
    }

    #[test]
    fn rejects_empty() {
        assert!("".parse::<TraceParent>().is_err());
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
    fn future_version_must_separate_extra_fields_with_dash() {
        assert!(
            reason("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x")
                .contains("without '-'")
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
    fn version_00_with_trailing_data_is_rejected() {
        assert!(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"
                .parse::<TraceParent>()
                .is_err()
        );
    }
}
