//! Errors recorded on stages: the language's exception type, message and stack trace, bounded,
//! and the one place they are written onto a span.

use crate::error::{OrderTraceError, Result};
use crate::schema::{self, attr};
use crate::stage_record::StageRecord;
use opentelemetry::KeyValue;
use opentelemetry::trace::{Event, Status};
use std::time::SystemTime;

/// An error to record on a stage: the language's exception type, message and stack trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    /// Exception type, e.g. `System.TimeoutException` or `java.io.IOException`.
    pub error_type: String,
    /// The exception's message.
    pub message: String,
    /// The stack trace in the language's own format.
    pub stacktrace: Option<String>,
}

/// Longest exception type name accepted.
pub const MAX_ERROR_TYPE_LEN: usize = 256;

impl ErrorInfo {
    /// An error with type and message.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error_type: error_type.into(),
            message: message.into(),
            stacktrace: None,
        }
    }

    /// Adds a stack trace.
    pub fn with_stacktrace(mut self, stacktrace: impl Into<String>) -> Self {
        self.stacktrace = Some(stacktrace.into());
        self
    }

    /// From a Rust error: its type name, its message with the chain of sources, and a
    /// backtrace of the current thread.
    pub fn from_error<E: std::error::Error>(error: &E) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        Self::new(std::any::type_name::<E>(), message)
            .with_stacktrace(std::backtrace::Backtrace::force_capture().to_string())
    }

    /// Checks the type and bounds message and stack trace: an oversized trace is cut (and
    /// marked), not refused, because losing the error entirely is worse.
    pub(crate) fn checked(&self) -> Result<ErrorInfo> {
        let t = self.error_type.trim();
        if t.is_empty() {
            return Err(OrderTraceError::invalid("exception type", "it is empty"));
        }
        if t.len() > MAX_ERROR_TYPE_LEN {
            return Err(OrderTraceError::invalid(
                "exception type",
                format!(
                    "it is {} bytes long, at most {MAX_ERROR_TYPE_LEN} allowed",
                    t.len()
                ),
            ));
        }
        Ok(ErrorInfo {
            error_type: t.to_string(),
            message: truncate(&self.message),
            stacktrace: self.stacktrace.as_deref().map(truncate),
        })
    }
}

fn truncate(s: &str) -> String {
    const MARK: &str = "…[truncated by ordertrace]";
    if s.len() <= schema::MAX_ATTRIBUTE_VALUE_LEN {
        return s.to_string();
    }
    let mut cut = schema::MAX_ATTRIBUTE_VALUE_LEN - MARK.len();
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{MARK}", &s[..cut])
}

/// The one place exceptions are written onto spans: an `exception` span event with type,
/// message and stack trace, and status Error. The conventions are moving exceptions to log
/// records; that switch is made here.
pub(crate) fn record_exception(span: &mut StageRecord, error: &ErrorInfo) {
    let mut attributes = vec![
        KeyValue::new(attr::EXCEPTION_TYPE, error.error_type.clone()),
        KeyValue::new(attr::EXCEPTION_MESSAGE, error.message.clone()),
    ];
    if let Some(st) = &error.stacktrace {
        attributes.push(KeyValue::new(attr::EXCEPTION_STACKTRACE, st.clone()));
    }
    span.add_event(Event::new("exception", SystemTime::now(), attributes, 0));
    span.set_status(Status::error(format!(
        "{}: {}",
        error.error_type, error.message
    )));
}
