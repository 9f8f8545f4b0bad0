//! Strings across the boundary: [`OtStr`], a pointer and a length.

use ordertrace_bridge::BridgeError;

/// A UTF-8 string from the caller: pointer and length in bytes, not NUL-terminated.
/// `{NULL, 0}` is the empty string.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct OtStr {
    /// First byte, or NULL when `len` is 0.
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

impl OtStr {
    /// Borrows the caller's bytes as they are. `what` names the argument in the error.
    ///
    /// # Safety
    /// `ptr` must point to `len` readable bytes that stay valid for the returned borrow.
    #[inline]
    pub(crate) unsafe fn as_bytes<'a>(self, what: &str) -> Result<&'a [u8], BridgeError> {
        if self.ptr.is_null() {
            if self.len == 0 {
                return Ok(&[]);
            }
            return Err(BridgeError::null(what));
        }
        // SAFETY: the caller promises `len` readable bytes at `ptr`.
        Ok(unsafe { std::slice::from_raw_parts(self.ptr, self.len) })
    }

    /// Borrows the caller's bytes as UTF-8. `what` names the argument in the error.
    ///
    /// # Safety
    /// `ptr` must point to `len` readable bytes that stay valid for the returned borrow.
    #[inline]
    pub(crate) unsafe fn as_str<'a>(self, what: &str) -> Result<&'a str, BridgeError> {
        // SAFETY: forwarded.
        let bytes = unsafe { self.as_bytes(what) }?;
        ordertrace_bridge::utf8(bytes, what)
    }

    /// Like [`as_str`](Self::as_str), with the empty string meaning "not given".
    ///
    /// # Safety
    /// As for `as_str`.
    #[inline]
    pub(crate) unsafe fn as_opt_str<'a>(self, what: &str) -> Result<Option<&'a str>, BridgeError> {
        // Empty (whatever the pointer): not given, without a UTF-8 check of nothing. Most
        // stages pass two empty statuses.
        if self.len == 0 {
            return Ok(None);
        }
        // SAFETY: forwarded.
        let s = unsafe { self.as_str(what) }?;
        Ok((!s.is_empty()).then_some(s))
    }
}

#[cfg(test)]
pub(crate) fn ot(s: &str) -> OtStr {
    OtStr {
        ptr: s.as_ptr(),
        len: s.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Status;

    #[test]
    fn null_with_zero_length_is_the_empty_string() {
        let s = OtStr {
            ptr: std::ptr::null(),
            len: 0,
        };
        assert_eq!(unsafe { s.as_str("x") }.unwrap(), "");
        assert_eq!(unsafe { s.as_opt_str("x") }.unwrap(), None);
    }

    #[test]
    fn null_with_a_length_is_a_null_pointer_error() {
        let s = OtStr {
            ptr: std::ptr::null(),
            len: 3,
        };
        let e = unsafe { s.as_str("order id") }.unwrap_err();
        assert_eq!(e.status, Status::NullPointer);
        assert!(e.message.contains("order id"), "{}", e.message);
    }

    #[test]
    fn invalid_utf8_names_the_argument_and_offset() {
        let bytes = [b'O', b'R', 0xff, b'D'];
        let s = OtStr {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        };
        let e = unsafe { s.as_str("order id") }.unwrap_err();
        assert_eq!(e.status, Status::InvalidUtf8);
        assert!(
            e.message.contains("order id") && e.message.contains("offset 2"),
            "{}",
            e.message
        );
    }
}
