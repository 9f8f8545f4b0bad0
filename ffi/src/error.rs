//! Status codes, the per-thread last error, and the guard every exported function runs in:
//! no panic crosses the boundary, every failure leaves a message the caller can read.

use crate::strings::copy_out;
use ordertrace::OrderTraceError;
use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Success.
pub const OT_OK: i32 = 0;
/// Caller input rejected (order id, user id, attribute, status...). Same code as the core's.
pub const OT_ERR_INVALID_INPUT: i32 = 1;
/// Not one of the eight canonical events.
pub const OT_ERR_UNKNOWN_EVENT: i32 = 2;
/// A propagation header is malformed (strict check).
pub const OT_ERR_MALFORMED_HEADER: i32 = 3;
/// Invalid pipeline configuration.
pub const OT_ERR_INVALID_CONFIG: i32 = 4;
/// The export pipeline could not start.
pub const OT_ERR_PIPELINE_START: i32 = 5;
/// Flush or shutdown did not finish in time.
pub const OT_ERR_TIMEOUT: i32 = 6;
/// An export failed.
pub const OT_ERR_EXPORT: i32 = 7;
/// The tracer has been shut down.
pub const OT_ERR_SHUT_DOWN: i32 = 8;
/// An OTLP/JSON document could not be read.
pub const OT_ERR_OTLP_JSON: i32 = 9;
/// A file could not be read or written.
pub const OT_ERR_FILE: i32 = 10;
/// A required pointer argument was NULL.
pub const OT_ERR_NULL_POINTER: i32 = 20;
/// A string argument is not valid UTF-8.
pub const OT_ERR_INVALID_UTF8: i32 = 21;
/// The stage has already ended.
pub const OT_ERR_CLOSED: i32 = 22;
/// A bug: the Rust side panicked. The message says where.
pub const OT_ERR_PANIC: i32 = 23;

/// A failure on its way to the caller.
#[derive(Debug)]
pub(crate) struct FfiError {
    pub(crate) code: i32,
    pub(crate) message: String,
}

impl FfiError {
    pub(crate) fn null(what: &str) -> Self {
        FfiError {
            code: OT_ERR_NULL_POINTER,
            message: format!("{what} is a NULL pointer"),
        }
    }

    pub(crate) fn utf8(message: String) -> Self {
        FfiError {
            code: OT_ERR_INVALID_UTF8,
            message,
        }
    }

    pub(crate) fn closed(what: &str) -> Self {
        FfiError {
            code: OT_ERR_CLOSED,
            message: format!("{what} has already ended; start a new stage"),
        }
    }
}

impl From<OrderTraceError> for FfiError {
    fn from(e: OrderTraceError) -> Self {
        FfiError {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

fn set_last_error(message: &str) {
    LAST_ERROR.with(|m| {
        let mut m = m.borrow_mut();
        m.clear();
        m.push_str(message);
    });
}

/// Runs one exported call: its error or panic becomes a status code and the thread's last
/// error message; success clears the message.
pub(crate) fn guard(f: impl FnOnce() -> Result<(), FfiError>) -> i32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => {
            set_last_error("");
            OT_OK
        }
        Ok(Err(e)) => {
            set_last_error(&e.message);
            e.code
        }
        Err(panic) => {
            set_last_error(&format!(
                "ordertrace panicked (a bug, please report it): {}",
                ordertrace::error::panic_message(panic.as_ref())
            ));
            OT_ERR_PANIC
        }
    }
}

/// Drops a handle created with `Box::into_raw`; NULL is ignored and a panic in a destructor
/// stays on this side.
///
/// # Safety
/// `ptr` must be NULL or come from `Box::into_raw` and not be freed before or used after.
pub(crate) unsafe fn free_handle<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: see the function's contract.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(ptr) })));
    }
}

/// Copies the message of the last failed call on this thread into `buf` (up to `buf_len`
/// bytes, UTF-8, no NUL) and returns its full length; 0 after a successful call. Pass
/// `buf = NULL` to ask for the length.
///
/// # Safety
/// `buf` must be NULL or point to `buf_len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_last_error_message(buf: *mut u8, buf_len: usize) -> usize {
    catch_unwind(|| {
        // SAFETY: the caller's promise about `buf` is forwarded.
        LAST_ERROR.with(|m| unsafe { copy_out(&m.borrow(), buf, buf_len) })
    })
    .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_error() -> String {
        let mut buf = vec![0u8; 512];
        let n = unsafe { ot_last_error_message(buf.as_mut_ptr(), buf.len()) };
        buf.truncate(n);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let status = guard(|| panic!("boom at the boundary"));
        assert_eq!(status, OT_ERR_PANIC);
        assert!(last_error().contains("boom at the boundary"));
    }

    #[test]
    fn success_clears_the_last_error() {
        assert_eq!(guard(|| Err(FfiError::null("tracer"))), OT_ERR_NULL_POINTER);
        assert_eq!(last_error(), "tracer is a NULL pointer");
        assert_eq!(guard(|| Ok(())), OT_OK);
        assert_eq!(last_error(), "");
    }

    #[test]
    fn core_errors_keep_their_code_and_message() {
        let core = ordertrace::schema::validate_order_id("").unwrap_err();
        let text = core.to_string();
        assert_eq!(guard(|| Err(core.into())), OT_ERR_INVALID_INPUT);
        assert_eq!(last_error(), text);
    }
}
