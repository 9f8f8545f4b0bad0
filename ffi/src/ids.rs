//! The core's order id and user id rules, callable on their own: a caller can check an id
//! before it starts a stage with it (the rules are the README's "Order id and user id rules").

use crate::error::{Status, guard};
use crate::schema::{OtBuffer, hand_out};
use crate::strings::OtStr;

/// Checks an order id by the core's rules: `Status::Ok`, or `Status::InvalidInput` with the
/// rule it breaks in the last error message (empty, over 128 bytes, whitespace or control
/// characters, bidirectional formatting characters). Not UTF-8: `Status::InvalidUtf8`.
///
/// # Safety
/// `order_id` must be readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_order_id_check(order_id: OtStr) -> Status {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let id = unsafe { order_id.as_str("order id") }?;
        ordertrace::schema::validate_order_id(id)?;
        Ok(())
    })
}

/// Checks a user id (a UUID, 8-4-4-4-12 hex digits in either case) and writes it as the core
/// keeps it (lowercase) into a new buffer (read with `ot_buffer_str`, free with
/// `ot_buffer_free`). Anything else: `Status::InvalidInput` and no buffer.
///
/// # Safety
/// `user_id` must be readable; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_user_id_normalize(user_id: OtStr, out: *mut *mut OtBuffer) -> Status {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let id = unsafe { user_id.as_str("user id") }?;
        let normalized = ordertrace::schema::normalize_user_id(id)?;
        hand_out(normalized, out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ot_buffer_free, ot_buffer_str};
    use crate::strings::ot;

    #[test]
    fn order_id_check_accepts_a_plain_id_and_refuses_crlf() {
        assert_eq!(unsafe { ot_order_id_check(ot("ORD-5678")) }, Status::Ok);
        assert_eq!(
            unsafe { ot_order_id_check(ot("ORD-1\r\nX-Evil: 1")) },
            Status::InvalidInput
        );
    }

    #[test]
    fn order_id_check_reports_invalid_utf8_and_null_with_length() {
        let bytes = [b'O', 0xff];
        let bad = OtStr {
            ptr: bytes.as_ptr(),
            len: 2,
        };
        assert_eq!(unsafe { ot_order_id_check(bad) }, Status::InvalidUtf8);
        let null = OtStr {
            ptr: std::ptr::null(),
            len: 4,
        };
        assert_eq!(unsafe { ot_order_id_check(null) }, Status::NullPointer);
    }

    #[test]
    fn user_id_normalize_lowercases_a_uuid() {
        let mut buffer = std::ptr::null_mut();
        assert_eq!(
            unsafe {
                ot_user_id_normalize(ot("1B4E28BA-2FA1-11D2-883F-0016D3CCA427"), &mut buffer)
            },
            Status::Ok
        );
        let mut text = ot("");
        assert_eq!(unsafe { ot_buffer_str(buffer, &mut text) }, Status::Ok);
        assert_eq!(
            unsafe { text.as_str("t") }.unwrap(),
            "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
        );
        unsafe { ot_buffer_free(buffer) };
    }

    #[test]
    fn user_id_normalize_refuses_a_number_and_hands_out_nothing() {
        let mut buffer = std::ptr::null_mut();
        assert_eq!(
            unsafe { ot_user_id_normalize(ot("42"), &mut buffer) },
            Status::InvalidInput
        );
        assert!(buffer.is_null());
    }
}
