//! The core's order id and user id rules, callable on their own: a caller can check an id
//! before it starts a stage with it (the rules are the README's "Order id and user id rules").

use crate::buffer::OtBuffer;
use crate::error::{Status, guard, hand_out};
use crate::strings::OtStr;

/// Checks an order id by the core's rules: `Status::Ok`, or `Status::InvalidInput` with the
/// rule it breaks in `*error` (empty, over 128 bytes, whitespace or control characters,
/// bidirectional formatting characters). Not UTF-8: `Status::InvalidUtf8`.
///
/// # Safety
/// `order_id` must be readable; `error` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_order_id_check(order_id: OtStr, error: *mut *mut OtBuffer) -> Status {
    // SAFETY (all derefs): see the function's contract.
    guard(unsafe { error.as_mut() }, || {
        let id = unsafe { order_id.as_str("order id") }?;
        ordertrace::schema::validate_order_id(id)?;
        Ok(())
    })
}

/// Checks a user id (a UUID, 8-4-4-4-12 hex digits in either case) and writes it as the core
/// keeps it (lowercase) into a new buffer (read with `ot_buffer_str`, free with
/// `ot_buffer_free`). Anything else: `Status::InvalidInput` and no buffer in `*out`.
///
/// # Safety
/// `user_id` must be readable; `out` writable; `error` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_user_id_normalize(
    user_id: OtStr,
    out: *mut *mut OtBuffer,
    error: *mut *mut OtBuffer,
) -> Status {
    // SAFETY (all derefs): see the function's contract.
    guard(unsafe { error.as_mut() }, || {
        let id = unsafe { user_id.as_str("user id") }?;
        let normalized = ordertrace::schema::normalize_user_id(id)?;
        hand_out(OtBuffer::new(normalized), out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::tests::take_text;
    use crate::strings::ot;
    use std::ptr::null_mut;

    #[test]
    fn order_id_check_accepts_a_plain_id_and_refuses_crlf() {
        assert_eq!(
            unsafe { ot_order_id_check(ot("ORD-5678"), null_mut()) },
            Status::Ok
        );
        assert_eq!(
            unsafe { ot_order_id_check(ot("ORD-1\r\nX-Evil: 1"), null_mut()) },
            Status::InvalidInput
        );
    }

    #[test]
    fn a_failed_check_hands_back_the_rule_it_broke() {
        let mut error = null_mut();
        assert_eq!(
            unsafe { ot_order_id_check(ot(""), &mut error) },
            Status::InvalidInput
        );
        assert_eq!(take_text(error), "invalid order id: it is empty");
    }

    #[test]
    fn a_successful_check_sets_error_to_null() {
        // Garbage in the slot first: success must overwrite it, not leave it for a free.
        let mut error = std::ptr::NonNull::<OtBuffer>::dangling().as_ptr();
        assert_eq!(
            unsafe { ot_order_id_check(ot("ORD-5678"), &mut error) },
            Status::Ok
        );
        assert!(error.is_null());
    }

    #[test]
    fn a_null_error_pointer_is_accepted_on_failure() {
        assert_eq!(
            unsafe { ot_order_id_check(ot("ORD 1"), null_mut()) },
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
        let mut error = null_mut();
        assert_eq!(
            unsafe { ot_order_id_check(bad, &mut error) },
            Status::InvalidUtf8
        );
        let message = take_text(error);
        assert!(message.contains("offset 1"), "{message}");
        let null = OtStr {
            ptr: std::ptr::null(),
            len: 4,
        };
        assert_eq!(
            unsafe { ot_order_id_check(null, &mut error) },
            Status::NullPointer
        );
        assert_eq!(take_text(error), "order id is a NULL pointer");
    }

    #[test]
    fn user_id_normalize_lowercases_a_uuid() {
        let mut buffer = null_mut();
        assert_eq!(
            unsafe {
                ot_user_id_normalize(
                    ot("1B4E28BA-2FA1-11D2-883F-0016D3CCA427"),
                    &mut buffer,
                    null_mut(),
                )
            },
            Status::Ok
        );
        assert_eq!(take_text(buffer), "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
    }

    #[test]
    fn user_id_normalize_refuses_a_number_and_hands_out_only_the_message() {
        let (mut buffer, mut error) = (null_mut(), null_mut());
        assert_eq!(
            unsafe { ot_user_id_normalize(ot("42"), &mut buffer, &mut error) },
            Status::InvalidInput
        );
        assert!(buffer.is_null());
        assert_eq!(
            take_text(error),
            "invalid user id: \"42\" is not a UUID (expected 8-4-4-4-12 hex digits)"
        );
    }
}
