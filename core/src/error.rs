//! The one error type of the core: every rejection a caller can meet, with a message a support
//! engineer understands without reading the code.

use crate::status::Status;
use std::path::PathBuf;

/// Everything the core can refuse or fail at.
///
/// Each variant has one entry of the status table ([`OrderTraceError::status`]), so C, Java and
/// C# callers can branch on its code without parsing messages.
#[derive(Debug, thiserror::Error)]
pub enum OrderTraceError {
    /// A caller-supplied value broke a schema rule (empty order id, malformed user id, ...).
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// Which input was wrong, e.g. `order id`.
        field: &'static str,
        /// What was wrong with it, in plain words.
        reason: String,
    },
    /// An event name that is not one of the eight canonical order events.
    #[error("unknown order event {}; expected one of: {list}", quoted_text(.0), list = crate::schema::OrderEvent::names().join(", "))]
    UnknownEvent(String),
    /// A W3C `traceparent`, `tracestate` or `baggage` header that breaks its specification.
    #[error("malformed {header} header: {reason}")]
    MalformedHeader {
        /// `traceparent`, `tracestate` or `baggage`.
        header: &'static str,
        /// The rule it broke, e.g. "traceparent has 3 fields, expected 4".
        reason: String,
    },
    /// Configuration that cannot work (unknown protocol, unparsable number, ...).
    #[error("invalid configuration {key}: {reason}")]
    InvalidConfig {
        /// The setting or environment variable.
        key: String,
        /// Why it was refused.
        reason: String,
    },
    /// The export pipeline could not be built (exporter construction, worker thread).
    #[error("could not start the export pipeline: {0}")]
    PipelineStart(String),
    /// Flush or shutdown did not finish inside its time bound.
    #[error("{operation} did not finish within {timeout_ms} ms; {pending} span(s) still queued")]
    Timeout {
        /// `flush` or `shutdown`.
        operation: &'static str,
        /// The bound that ran out.
        timeout_ms: u128,
        /// Spans still waiting in the queue when it ran out.
        pending: usize,
    },
    /// An export attempt failed (collector down, file not writable).
    #[error("export failed: {0}")]
    Export(String),
    /// The tracer was shut down; it records nothing more.
    #[error("the tracer has been shut down")]
    ShutDown,
    /// Reading an OTLP/JSON document (span file, Jaeger answer) failed.
    #[error("cannot read OTLP JSON from {source_name}: {reason}")]
    OtlpJson {
        /// The file or URL it came from.
        source_name: String,
        /// What was wrong.
        reason: String,
    },
    /// A file the caller named could not be opened or written.
    #[error("cannot use file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

impl OrderTraceError {
    /// This error's entry in the bridges' status table ([`crate::Status`]).
    pub fn status(&self) -> Status {
        match self {
            Self::InvalidInput { .. } => Status::InvalidInput,
            Self::UnknownEvent(_) => Status::UnknownEvent,
            Self::MalformedHeader { .. } => Status::MalformedHeader,
            Self::InvalidConfig { .. } => Status::InvalidConfig,
            Self::PipelineStart(_) => Status::PipelineStart,
            Self::Timeout { .. } => Status::Timeout,
            Self::Export(_) => Status::Export,
            Self::ShutDown => Status::ShutDown,
            Self::OtlpJson { .. } => Status::OtlpJson,
            Self::File { .. } => Status::File,
        }
    }

    /// Stable numeric code for the bridges (0 is reserved for "no error"): the code of
    /// [`status`](Self::status).
    pub fn code(&self) -> i32 {
        self.status().code()
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn header(header: &'static str, reason: impl Into<String>) -> Self {
        Self::MalformedHeader {
            header,
            reason: reason.into(),
        }
    }

    pub(crate) fn config(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// How many characters of escaped input an error message quotes at most.
pub const MAX_QUOTED_CHARS: usize = 48;

/// Quotes the start of `input` for an error message, escaped so that control characters and
/// bytes that are not UTF-8 stay visible, at most [`MAX_QUOTED_CHARS`] characters of it, and
/// says how long the whole input was when it is cut: a megabyte of bad input never becomes a
/// megabyte of error text.
///
/// ```
/// use ordertrace::error::quoted;
/// assert_eq!(quoted(b"ORD-1\r\n"), "\"ORD-1\\r\\n\"");
/// assert_eq!(quoted(&[b'x'; 1000]), format!("\"{}\"... (1000 bytes)", "x".repeat(48)));
/// ```
pub fn quoted(input: &[u8]) -> String {
    let mut out = String::with_capacity(MAX_QUOTED_CHARS + 24);
    out.push('"');
    let mut shown = 0;
    for b in input {
        let escaped = std::ascii::escape_default(*b);
        if out.len() - 1 + escaped.len() > MAX_QUOTED_CHARS {
            break;
        }
        out.extend(escaped.map(char::from));
        shown += 1;
    }
    out.push('"');
    if shown < input.len() {
        out.push_str(&format!("... ({} bytes)", input.len()));
    }
    out
}

/// Like [`quoted`] for text: printable characters of any script are shown as they are,
/// control and formatting characters escaped, at most [`MAX_QUOTED_CHARS`] characters.
///
/// ```
/// use ordertrace::error::quoted_text;
/// assert_eq!(quoted_text("Bestellung-ü\u{202E}"), "\"Bestellung-ü\\u{202e}\"");
/// ```
pub fn quoted_text(input: &str) -> String {
    let mut out = String::with_capacity(MAX_QUOTED_CHARS + 24);
    out.push('"');
    let mut shown = 0;
    let mut width = 0;
    for c in input.chars() {
        let escaped = c.escape_debug();
        if width + escaped.len() > MAX_QUOTED_CHARS {
            break;
        }
        width += escaped.len();
        out.extend(escaped);
        shown += c.len_utf8();
    }
    out.push('"');
    if shown < input.len() {
        out.push_str(&format!("... ({} bytes)", input.len()));
    }
    out
}

/// The message of a caught panic (`&str` or `String` payloads), for reporting it as an error.
///
/// ```
/// let caught = std::panic::catch_unwind(|| panic!("boom")).unwrap_err();
/// assert_eq!(ordertrace::error::panic_message(caught.as_ref()), "boom");
/// ```
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// Result alias used across the core.
pub type Result<T, E = OrderTraceError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_non_zero() {
        let errors = [
            OrderTraceError::invalid("order id", "empty"),
            OrderTraceError::UnknownEvent("x".into()),
            OrderTraceError::header("traceparent", "x"),
            OrderTraceError::config("k", "r"),
            OrderTraceError::PipelineStart("x".into()),
            OrderTraceError::Timeout {
                operation: "flush",
                timeout_ms: 1,
                pending: 0,
            },
            OrderTraceError::Export("x".into()),
            OrderTraceError::ShutDown,
            OrderTraceError::OtlpJson {
                source_name: "f".into(),
                reason: "r".into(),
            },
            OrderTraceError::File {
                path: "p".into(),
                source: std::io::Error::other("x"),
            },
        ];
        let mut codes: Vec<i32> = errors.iter().map(OrderTraceError::code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), errors.len());
        // The core's own errors use 1-19 of the status table; 20 and up are the boundaries'.
        assert!(codes.iter().all(|c| (1..20).contains(c)), "{codes:?}");
    }

    #[test]
    fn quoted_cuts_long_input_and_names_its_length() {
        let q = quoted(&vec![b'a'; 1 << 20]);
        assert_eq!(
            q,
            format!("\"{}\"... (1048576 bytes)", "a".repeat(MAX_QUOTED_CHARS))
        );
    }

    #[test]
    fn quoted_escapes_control_and_non_utf8_bytes() {
        assert_eq!(quoted(b"a\r\n\xff\""), "\"a\\r\\n\\xff\\\"\"");
    }

    #[test]
    fn quoted_text_bounds_escaped_control_characters() {
        let q = quoted_text(&"\u{1}".repeat(128));
        assert_eq!(q, format!("\"{}\"... (128 bytes)", "\\u{1}".repeat(9)));
    }

    #[test]
    fn unknown_event_message_quotes_a_bounded_prefix_of_a_huge_name() {
        // Found by the c-abi fuzz target: a 1 MiB event name came back whole.
        let msg = OrderTraceError::UnknownEvent("x".repeat(1 << 20)).to_string();
        assert!(msg.len() < 400, "{} bytes", msg.len());
        assert!(msg.contains("(1048576 bytes)"), "{msg}");
    }

    #[test]
    fn unknown_event_message_lists_the_valid_events() {
        let msg = OrderTraceError::UnknownEvent("order_lost".into()).to_string();
        assert!(msg.contains("order_lost"), "{msg}");
        assert!(msg.contains("order_submitted"), "{msg}");
        assert!(msg.contains("order_shipped"), "{msg}");
    }
}
