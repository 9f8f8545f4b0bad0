//! The one status table of every bridge: each outcome a caller of the C ABI, Java or C# can
//! meet has exactly one numeric code and one name, defined here and nowhere else.
//!
//! The C header's `OtStatus` enum is generated from [`Status`] (cbindgen), and the table is
//! exported with the schema ([`crate::schema_json`], `ordertrace schema`) under
//! `status_codes`; the C# `OrderTraceErrorCode` enum and the Java `OrderTraceException`
//! constants are checked against that export by a test in each language, so a new code cannot
//! be forgotten in one binding.
//!
//! ```
//! use ordertrace::Status;
//! assert_eq!(Status::InvalidInput.code(), 1);
//! assert_eq!(Status::InvalidInput.name(), "INVALID_INPUT");
//! assert_eq!(Status::from_code(22), Some(Status::Closed));
//! assert_eq!(Status::from_code(42), None);
//! ```

use crate::error::OrderTraceError;

/// Outcome of a call across a language boundary: [`Status::Ok`] or why it failed.
///
/// Codes 1–19 are the core's own errors ([`OrderTraceError::status`]); 20–99 arise at a
/// boundary (a NULL pointer, invalid UTF-8, a closed handle, a caught panic); 100 and up are
/// raised by a binding itself before the native library is reached.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Success.
    Ok = 0,
    /// Caller input rejected (order id, user id, attribute, status, ...).
    InvalidInput = 1,
    /// Not one of the eight canonical order events.
    UnknownEvent = 2,
    /// A propagation header (`traceparent`, `tracestate`, `baggage`) is malformed.
    MalformedHeader = 3,
    /// Invalid pipeline configuration.
    InvalidConfig = 4,
    /// The export pipeline could not start.
    PipelineStart = 5,
    /// Flush or shutdown did not finish in time.
    Timeout = 6,
    /// An export failed.
    Export = 7,
    /// The tracer has been shut down.
    ShutDown = 8,
    /// An OTLP/JSON document could not be read.
    OtlpJson = 9,
    /// A file could not be read or written.
    File = 10,
    /// A required pointer or reference argument was missing (NULL / null).
    NullPointer = 20,
    /// A string argument is not valid UTF-8.
    InvalidUtf8 = 21,
    /// The stage has already ended, or the tracer is closed.
    Closed = 22,
    /// A bug: ordertrace panicked and the panic was caught at the boundary.
    Panic = 23,
    /// The native library could not be loaded (raised by a binding's loader).
    NativeLibrary = 100,
}

impl Status {
    /// Every status, in code order.
    ///
    /// cbindgen:ignore
    pub const ALL: [Status; 16] = [
        Status::Ok,
        Status::InvalidInput,
        Status::UnknownEvent,
        Status::MalformedHeader,
        Status::InvalidConfig,
        Status::PipelineStart,
        Status::Timeout,
        Status::Export,
        Status::ShutDown,
        Status::OtlpJson,
        Status::File,
        Status::NullPointer,
        Status::InvalidUtf8,
        Status::Closed,
        Status::Panic,
        Status::NativeLibrary,
    ];

    /// The stable numeric code.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The stable name, `SCREAMING_SNAKE_CASE` (Java's constant; C prefixes `OT_STATUS_`,
    /// C# spells it in PascalCase).
    pub fn name(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::InvalidInput => "INVALID_INPUT",
            Self::UnknownEvent => "UNKNOWN_EVENT",
            Self::MalformedHeader => "MALFORMED_HEADER",
            Self::InvalidConfig => "INVALID_CONFIG",
            Self::PipelineStart => "PIPELINE_START",
            Self::Timeout => "TIMEOUT",
            Self::Export => "EXPORT",
            Self::ShutDown => "SHUT_DOWN",
            Self::OtlpJson => "OTLP_JSON",
            Self::File => "FILE",
            Self::NullPointer => "NULL_POINTER",
            Self::InvalidUtf8 => "INVALID_UTF8",
            Self::Closed => "CLOSED",
            Self::Panic => "PANIC",
            Self::NativeLibrary => "NATIVE_LIBRARY",
        }
    }

    /// What the status means, in plain words.
    pub fn description(self) -> &'static str {
        match self {
            Self::Ok => "success",
            Self::InvalidInput => "caller input rejected (order id, user id, attribute, status)",
            Self::UnknownEvent => "not one of the eight canonical order events",
            Self::MalformedHeader => "a propagation header is malformed",
            Self::InvalidConfig => "invalid pipeline configuration",
            Self::PipelineStart => "the export pipeline could not start",
            Self::Timeout => "flush or shutdown did not finish in time",
            Self::Export => "an export failed",
            Self::ShutDown => "the tracer has been shut down",
            Self::OtlpJson => "an OTLP/JSON document could not be read",
            Self::File => "a file could not be read or written",
            Self::NullPointer => "a required argument was missing (NULL)",
            Self::InvalidUtf8 => "a string argument is not valid UTF-8",
            Self::Closed => "the stage has ended, or the tracer is closed",
            Self::Panic => "a bug inside ordertrace (a panic caught at the boundary)",
            Self::NativeLibrary => "the native library could not be loaded",
        }
    }

    /// The status with this code, if there is one.
    pub fn from_code(code: i32) -> Option<Status> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The table as JSON, for the schema export: `[{code, name, description}, ...]`.
    pub fn table_json() -> serde_json::Value {
        Self::ALL
            .iter()
            .map(|s| {
                serde_json::json!({
                    "code": s.code(),
                    "name": s.name(),
                    "description": s.description(),
                })
            })
            .collect()
    }
}

impl From<&OrderTraceError> for Status {
    fn from(e: &OrderTraceError) -> Self {
        e.status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_and_names_are_unique() {
        let codes: HashSet<i32> = Status::ALL.iter().map(|s| s.code()).collect();
        let names: HashSet<&str> = Status::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(codes.len(), Status::ALL.len());
        assert_eq!(names.len(), Status::ALL.len());
    }

    #[test]
    fn all_is_in_code_order_and_starts_with_ok() {
        assert_eq!(Status::ALL[0], Status::Ok);
        assert_eq!(Status::Ok.code(), 0);
        assert!(Status::ALL.windows(2).all(|w| w[0].code() < w[1].code()));
    }

    #[test]
    fn from_code_round_trips_every_status_and_rejects_others() {
        for s in Status::ALL {
            assert_eq!(Status::from_code(s.code()), Some(s));
        }
        assert_eq!(Status::from_code(-1), None);
        assert_eq!(Status::from_code(11), None);
    }

    #[test]
    fn names_are_screaming_snake_case() {
        for s in Status::ALL {
            assert!(
                s.name()
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                s.name()
            );
        }
    }

    #[test]
    fn table_json_lists_every_status_with_code_name_and_description() {
        let table = Status::table_json();
        let rows = table.as_array().expect("array");
        assert_eq!(rows.len(), Status::ALL.len());
        assert_eq!(rows[1]["code"], 1);
        assert_eq!(rows[1]["name"], "INVALID_INPUT");
        assert!(
            rows.iter()
                .all(|r| !r["description"].as_str().unwrap().is_empty())
        );
    }
}
