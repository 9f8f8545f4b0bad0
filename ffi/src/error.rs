//! Statuses, the per-thread last error, and the guard every exported function runs in: no
//! panic crosses the boundary, every failure leaves a message the caller can read. The codes
//! are the core's one status table ([`Status`], `OtStatus` in C); the error conversion and
//! panic guard are the ones the JNI bridge uses too (`ordertrace-bridge`).

use crate::strings::copy_out;
use ordertrace_bridge::{BridgeError, catch};
use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};

pub use ordertrace::Status;

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

/// Runs one exported call: its error or panic becomes a status and the thread's last error
/// message; success clears the message.
pub(crate) fn guard(f: impl FnOnce() -> Result<(), BridgeError>) -> Status {
    match catch(f) {
        Ok(()) => {
            set_last_error("");
            Status::Ok
        }
        Err(e) => {
            set_last_error(&e.message);
            e.status
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

/// The name of a status code (`"INVALID_INPUT"`), from the core's status table; an unknown
/// code gives `"UNKNOWN_STATUS"`. The text is static: never freed.
#[unsafe(no_mangle)]
pub extern "C" fn ot_status_name(status: i32) -> crate::strings::OtStr {
    let name = Status::from_code(status).map_or("UNKNOWN_STATUS", Status::name);
    crate::strings::OtStr {
        ptr: name.as_ptr(),
        len: name.len(),
    }
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
        assert_eq!(status, Status::Panic);
        assert!(last_error().contains("boom at the boundary"));
    }

    #[test]
    fn success_clears_the_last_error() {
        assert_eq!(
            guard(|| Err(BridgeError::null("tracer"))),
            Status::NullPointer
        );
        assert_eq!(last_error(), "tracer is a NULL pointer");
        assert_eq!(guard(|| Ok(())), Status::Ok);
        assert_eq!(last_error(), "");
    }

    #[test]
    fn core_errors_keep_their_code_and_message() {
        let core = ordertrace::schema::validate_order_id("").unwrap_err();
        let text = core.to_string();
        assert_eq!(guard(|| Err(core.into())), Status::InvalidInput);
        assert_eq!(last_error(), text);
    }

    #[test]
    fn status_names_come_from_the_core_table() {
        let name = ot_status_name(Status::MalformedHeader.code());
        assert_eq!(unsafe { name.as_str("name") }.unwrap(), "MALFORMED_HEADER");
        let unknown = ot_status_name(12345);
        assert_eq!(unsafe { unknown.as_str("name") }.unwrap(), "UNKNOWN_STATUS");
    }
}
