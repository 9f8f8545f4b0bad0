//! A failure on its way to C, Java or C#: its status and a message for people, and the guard
//! that keeps a Rust panic from crossing the boundary.

use ordertrace::{OrderTraceError, Status};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// A failure for the caller in another language: one entry of the status table and a
/// message a support engineer understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BridgeError {
    /// The status table's entry.
    pub status: Status,
    /// What went wrong, in plain words.
    pub message: String,
}

impl BridgeError {
    /// A failure with this status and message.
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// A required argument was missing: `what` names it.
    pub fn null(what: &str) -> Self {
        Self::new(Status::NullPointer, format!("{what} is a NULL pointer"))
    }

    /// Caller input the bridge itself rejects (an out-of-range enum value, say).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Status::InvalidInput, message)
    }

    /// A call on a stage that has already ended.
    pub fn closed(what: &str) -> Self {
        Self::new(
            Status::Closed,
            format!("{what} has already ended; start a new stage"),
        )
    }

    /// A caught panic: a bug, reported with its message.
    pub fn panic(payload: &(dyn std::any::Any + Send)) -> Self {
        Self::new(
            Status::Panic,
            format!(
                "ordertrace panicked (a bug, please report it): {}",
                ordertrace::error::panic_message(payload)
            ),
        )
    }
}

impl From<OrderTraceError> for BridgeError {
    fn from(e: OrderTraceError) -> Self {
        Self::new(e.status(), e.to_string())
    }
}

/// Runs one call from another language: its error stays a value and a panic becomes a
/// [`Status::Panic`] error instead of unwinding into the caller's runtime.
pub fn catch<T>(f: impl FnOnce() -> Result<T, BridgeError>) -> Result<T, BridgeError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let e = BridgeError::panic(payload.as_ref());
            // A payload whose destructor panics must not unwind from here.
            std::mem::forget(payload);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_keep_their_status_and_message() {
        let core = ordertrace::schema::validate_order_id("").unwrap_err();
        let text = core.to_string();
        let e = BridgeError::from(core);
        assert_eq!(e.status, Status::InvalidInput);
        assert_eq!(e.message, text);
    }

    #[test]
    fn a_panic_becomes_a_panic_status_naming_the_message() {
        let e = catch::<()>(|| panic!("frame 3 out of range")).unwrap_err();
        assert_eq!(e.status, Status::Panic);
        assert_eq!(
            e.message,
            "ordertrace panicked (a bug, please report it): frame 3 out of range"
        );
    }

    #[test]
    fn errors_and_values_pass_through_unchanged() {
        assert_eq!(catch(|| Ok(7)), Ok(7));
        let e = catch::<()>(|| Err(BridgeError::null("tracer"))).unwrap_err();
        assert_eq!(
            e,
            BridgeError::new(Status::NullPointer, "tracer is a NULL pointer")
        );
    }
}
