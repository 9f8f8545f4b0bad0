//! Text the library hands out, as an opaque [`OtBuffer`]: the schema JSON, spans read back
//! from a file, a normalised user id, and the message of a failed call (its `error` argument).

use crate::error::{Status, guard};
use crate::strings::OtStr;
use ordertrace_bridge::BridgeError;

/// Text owned by the library. Read with [`ot_buffer_str`]; release with [`ot_buffer_free`].
#[derive(Debug)]
pub struct OtBuffer {
    text: String,
}

impl OtBuffer {
    /// A buffer holding `text`.
    pub(crate) fn new(text: String) -> Self {
        OtBuffer { text }
    }

    /// A new buffer holding `text`, as a pointer for the caller to free with [`ot_buffer_free`].
    pub(crate) fn into_raw(text: String) -> *mut OtBuffer {
        Box::into_raw(Box::new(OtBuffer::new(text)))
    }
}

/// The buffer's text (UTF-8), valid until [`ot_buffer_free`].
///
/// # Safety
/// `buffer` must be a live buffer from this library; `out` writable; `error` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_buffer_str(
    buffer: *const OtBuffer,
    out: *mut OtStr,
    error: *mut *mut OtBuffer,
) -> Status {
    // SAFETY (all derefs): see the function's contract.
    guard(unsafe { error.as_mut() }, || {
        let b = unsafe { buffer.as_ref() }.ok_or_else(|| BridgeError::null("buffer"))?;
        let slot = unsafe { out.as_mut() }.ok_or_else(|| BridgeError::null("out"))?;
        *slot = OtStr {
            ptr: b.text.as_ptr(),
            len: b.text.len(),
        };
        Ok(())
    })
}

/// Releases a buffer. NULL is ignored.
///
/// # Safety
/// `buffer` must be NULL or a buffer from this library not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_buffer_free(buffer: *mut OtBuffer) {
    // SAFETY: forwarded; the handle was made by Box::into_raw.
    unsafe { crate::error::free_handle(buffer) }
}

/// Test helpers: the text of a buffer, taken and freed.
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::ptr::null_mut;

    /// The buffer's text; frees the buffer.
    pub(crate) fn take_text(buffer: *mut OtBuffer) -> String {
        assert!(!buffer.is_null(), "no buffer was handed out");
        let mut text = crate::strings::ot("");
        assert_eq!(
            unsafe { ot_buffer_str(buffer, &mut text, null_mut()) },
            Status::Ok
        );
        let owned = unsafe { text.as_str("text") }.unwrap().to_string();
        unsafe { ot_buffer_free(buffer) };
        owned
    }

    #[test]
    fn buffer_str_reads_the_text_it_holds() {
        let buffer = OtBuffer::into_raw("ORD-5678 is stuck".to_string());
        assert_eq!(take_text(buffer), "ORD-5678 is stuck");
    }

    #[test]
    fn buffer_str_of_null_reports_which_argument_is_missing() {
        let mut error = null_mut();
        let mut text = crate::strings::ot("");
        assert_eq!(
            unsafe { ot_buffer_str(std::ptr::null(), &mut text, &mut error) },
            Status::NullPointer
        );
        assert_eq!(take_text(error), "buffer is a NULL pointer");
    }
}
