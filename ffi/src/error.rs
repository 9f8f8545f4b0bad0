//! Statuses, and the guard every exported function runs in: no panic crosses the boundary,
//! and a failure's message comes back with the call, as a value. Every fallible function
//! returns an [`OtStatus`](Status) and takes a trailing `OtBuffer **error`: on failure
//! `*error` receives a new [`OtBuffer`] with the message (read with `ot_buffer_str`, freed
//! with `ot_buffer_free`), on success `*error` is set to NULL (nothing to free, nothing
//! allocated); `error` may be NULL when the caller does not want the message. There is no
//! per-thread "last error". The codes are the core's one status table ([`Status`], `OtStatus`
//! in C); the error conversion and panic guard are the ones the JNI bridge uses too
//! (`ordertrace-bridge`).

use crate::buffer::OtBuffer;
use ordertrace_bridge::{BridgeError, catch};
use std::panic::{AssertUnwindSafe, catch_unwind};

pub use ordertrace::Status;

/// Runs one exported call: its error or panic becomes a status, and its message goes to
/// `error` (the caller's `*error`, when it gave one); success sets `*error` to NULL.
///
/// Call it as `guard(unsafe { error.as_mut() }, || ...)`: the exported function's contract
/// says `error` is NULL or writable.
pub(crate) fn guard(
    error: Option<&mut *mut OtBuffer>,
    f: impl FnOnce() -> Result<(), BridgeError>,
) -> Status {
    match catch(f) {
        Ok(()) => {
            if let Some(slot) = error {
                *slot = std::ptr::null_mut();
            }
            Status::Ok
        }
        Err(e) => {
            if let Some(slot) = error {
                *slot = OtBuffer::into_raw(e.message);
            }
            e.status
        }
    }
}

/// Hands `value` to the caller as a new handle through the out pointer `out` (NULL: the call
/// fails naming `out`); released with [`free_handle`] by the type's `_free` function.
pub(crate) fn hand_out<T>(value: T, out: *mut *mut T) -> Result<(), BridgeError> {
    // SAFETY: every exported function taking `out` promises it is NULL or writable.
    let slot = unsafe { out.as_mut() }.ok_or_else(|| BridgeError::null("out"))?;
    *slot = Box::into_raw(Box::new(value));
    Ok(())
}

/// Drops a handle created with `Box::into_raw`; NULL is ignored and a panic in a destructor
/// stays on this side.
///
/// # Safety
/// `ptr` must be NULL or come from `Box::into_raw` and not be freed before or used after.
pub(crate) unsafe fn free_handle<T>(ptr: *mut T) {
    // SAFETY: forwarded.
    unsafe { release_handle(ptr, drop) }
}

/// Hands a handle created with `Box::into_raw` back to `release` as its box (which drops it or
/// keeps the allocation); NULL is ignored and a panic in a destructor stays on this side.
///
/// # Safety
/// As for [`free_handle`].
pub(crate) unsafe fn release_handle<T>(ptr: *mut T, release: impl FnOnce(Box<T>)) {
    if !ptr.is_null() {
        // SAFETY: see the function's contract.
        let boxed = unsafe { Box::from_raw(ptr) };
        let _ = catch_unwind(AssertUnwindSafe(|| release(boxed)));
    }
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
    use crate::buffer::tests::take_text;
    use std::ptr::null_mut;

    /// Runs `f` in the guard with an error slot that holds garbage first (the guard must
    /// overwrite it either way); the status and the slot afterwards.
    fn guarded(f: impl FnOnce() -> Result<(), BridgeError>) -> (Status, *mut OtBuffer) {
        let mut slot = std::ptr::NonNull::<OtBuffer>::dangling().as_ptr();
        let status = guard(Some(&mut slot), f);
        (status, slot)
    }

    #[test]
    fn a_failure_hands_its_message_back_in_error() {
        let (status, error) = guarded(|| Err(BridgeError::null("tracer")));
        assert_eq!(status, Status::NullPointer);
        assert_eq!(take_text(error), "tracer is a NULL pointer");
    }

    #[test]
    fn success_sets_error_to_null() {
        let (status, error) = guarded(|| Ok(()));
        assert_eq!(status, Status::Ok);
        assert!(error.is_null(), "success left {error:?} in *error");
    }

    #[test]
    fn without_an_error_slot_a_failure_still_returns_its_status() {
        assert_eq!(
            guard(None, || Err(BridgeError::closed("stage"))),
            Status::Closed
        );
        assert_eq!(guard(None, || Ok(())), Status::Ok);
    }

    #[test]
    fn a_panics_message_arrives_in_error() {
        let (status, error) = guarded(|| panic!("boom at the boundary"));
        assert_eq!(status, Status::Panic);
        assert_eq!(
            take_text(error),
            "ordertrace panicked (a bug, please report it): boom at the boundary"
        );
    }

    #[test]
    fn a_panic_without_an_error_slot_is_still_a_panic_status() {
        assert_eq!(guard(None, || panic!("unseen")), Status::Panic);
    }

    #[test]
    fn core_errors_keep_their_code_and_message() {
        let core = ordertrace::schema::validate_order_id("").unwrap_err();
        let text = core.to_string();
        let (status, error) = guarded(|| Err(core.into()));
        assert_eq!(status, Status::InvalidInput);
        assert_eq!(take_text(error), text);
    }

    #[test]
    fn each_failure_gets_its_own_buffer() {
        let mut first = null_mut();
        let mut second = null_mut();
        guard(Some(&mut first), || Err(BridgeError::null("tracer")));
        guard(Some(&mut second), || Err(BridgeError::null("stage")));
        assert_ne!(first, second);
        assert_eq!(take_text(second), "stage is a NULL pointer");
        assert_eq!(take_text(first), "tracer is a NULL pointer");
    }

    #[test]
    fn status_names_come_from_the_core_table() {
        let name = ot_status_name(Status::MalformedHeader.code());
        assert_eq!(unsafe { name.as_str("name") }.unwrap(), "MALFORMED_HEADER");
        let unknown = ot_status_name(12345);
        assert_eq!(unsafe { unknown.as_str("name") }.unwrap(), "UNKNOWN_STATUS");
    }
}
