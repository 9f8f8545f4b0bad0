//! Propagation headers across the boundary: key/value lists in ([`OtHeader`]), opaque lists
//! out ([`OtHeaders`]), and the strict check of incoming headers.

use crate::buffer::OtBuffer;
use crate::error::{Status, guard};
use crate::strings::OtStr;
use ordertrace_bridge::BridgeError;

/// One header: name and value.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct OtHeader {
    /// Header name (`traceparent`, `tracestate`, `baggage`; others are ignored).
    pub key: OtStr,
    /// Header value.
    pub value: OtStr,
}

/// Headers produced by ordertrace, to be put on an outgoing request or message. Read with
/// [`ot_headers_len`] and [`ot_headers_get`]; release with [`ot_headers_free`].
#[derive(Debug, Default)]
pub struct OtHeaders {
    pub(crate) items: Vec<(String, String)>,
}

/// A header as the caller handed it over: name and value bytes, unchecked.
pub(crate) type RawHeader<'a> = (&'a [u8], &'a [u8]);

/// Borrows the caller's header list as raw bytes. Names and values are not checked here:
/// extraction reads only `traceparent`, `tracestate` and `baggage` and reports what is wrong
/// with those, so an unrelated header that is not UTF-8 (`x-bin: 0xff`) never fails a call.
///
/// # Safety
/// `headers` must be NULL (with `count` 0) or point to `count` readable [`OtHeader`]s whose
/// strings are readable and stay valid for the returned borrow.
pub(crate) unsafe fn read_headers<'a>(
    headers: *const OtHeader,
    count: usize,
) -> Result<Vec<RawHeader<'a>>, BridgeError> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if headers.is_null() {
        return Err(BridgeError::null("headers"));
    }
    // SAFETY: the caller promises `count` headers at `headers`.
    let list = unsafe { std::slice::from_raw_parts(headers, count) };
    list.iter()
        .map(|h| {
            // SAFETY: forwarded from the caller.
            let key = unsafe { h.key.as_bytes("header name") }?;
            let value = unsafe { h.value.as_bytes("header value") }?;
            Ok((key, value))
        })
        .collect()
}

/// Checks incoming headers strictly by the W3C rules: a malformed `traceparent`,
/// `tracestate` or `baggage` gives `Status::MalformedHeader` with the reason. (Starting a
/// stage is lenient: it leaves malformed headers out and still joins the order's trace.)
///
/// # Safety
/// `headers` must be NULL (with `count` 0) or point to `count` readable [`OtHeader`]s;
/// `error` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_headers_check(
    headers: *const OtHeader,
    count: usize,
    error: *mut *mut OtBuffer,
) -> Status {
    // SAFETY (all derefs): forwarded from the caller.
    guard(unsafe { error.as_mut() }, || {
        let list = unsafe { read_headers(headers, count) }?;
        ordertrace::propagation::extract_strict(&list)?;
        Ok(())
    })
}

/// Extracts incoming headers leniently, as starting a stage does, and hands out two lists:
/// `*out_forward` the `traceparent`, `tracestate` and `baggage` to send on unchanged (for a
/// hop that forwards without a stage of its own; a header that was ignored is absent), and
/// `*out_read` what was read, as key/value pairs: `trace_id`, `parent_id`, `order_id`,
/// `user_id` (each absent when not there; ids only when a stage would accept them) and one
/// `problem` per thing that was wrong or left out, in the order found. Unrelated headers are
/// never read, so they may hold any bytes. Free both lists with [`ot_headers_free`].
///
/// # Safety
/// `headers` must be NULL (with `count` 0) or point to `count` readable [`OtHeader`]s;
/// `out_forward` and `out_read` writable; `error` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_headers_extract(
    headers: *const OtHeader,
    count: usize,
    out_forward: *mut *mut OtHeaders,
    out_read: *mut *mut OtHeaders,
    error: *mut *mut OtBuffer,
) -> Status {
    // SAFETY (all derefs): see the function's contract.
    guard(unsafe { error.as_mut() }, || {
        let forward_slot =
            unsafe { out_forward.as_mut() }.ok_or_else(|| BridgeError::null("out_forward"))?;
        let read_slot =
            unsafe { out_read.as_mut() }.ok_or_else(|| BridgeError::null("out_read"))?;
        let list = unsafe { read_headers(headers, count) }?;
        let incoming = ordertrace_bridge::incoming(&list);
        let read = incoming
            .read
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        *forward_slot = Box::into_raw(Box::new(OtHeaders {
            items: incoming.forward,
        }));
        *read_slot = Box::into_raw(Box::new(OtHeaders { items: read }));
        Ok(())
    })
}

unsafe fn headers_ref<'a>(headers: *const OtHeaders) -> Result<&'a OtHeaders, BridgeError> {
    // SAFETY: a non-NULL pointer is one we handed out and the caller has not freed.
    unsafe { headers.as_ref() }.ok_or_else(|| BridgeError::null("headers"))
}

/// Number of headers in the list.
///
/// # Safety
/// `headers` must be a live list from this library; `out_count` writable; `error` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_headers_len(
    headers: *const OtHeaders,
    out_count: *mut usize,
    error: *mut *mut OtBuffer,
) -> Status {
    // SAFETY (all derefs): see the function's contract.
    guard(unsafe { error.as_mut() }, || {
        let h = unsafe { headers_ref(headers) }?;
        let out = unsafe { out_count.as_mut() }.ok_or_else(|| BridgeError::null("out_count"))?;
        *out = h.items.len();
        Ok(())
    })
}

/// Header `index` of the list; the strings stay valid until [`ot_headers_free`].
///
/// # Safety
/// `headers` must be a live list from this library; `out_key`, `out_value` writable; `error`
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_headers_get(
    headers: *const OtHeaders,
    index: usize,
    out_key: *mut OtStr,
    out_value: *mut OtStr,
    error: *mut *mut OtBuffer,
) -> Status {
    // SAFETY (all derefs): see the function's contract.
    guard(unsafe { error.as_mut() }, || {
        let h = unsafe { headers_ref(headers) }?;
        let (k, v) = h.items.get(index).ok_or_else(|| BridgeError {
            status: Status::InvalidInput,
            message: format!(
                "header index {index} is out of range (the list has {})",
                h.items.len()
            ),
        })?;
        let key = unsafe { out_key.as_mut() }.ok_or_else(|| BridgeError::null("out_key"))?;
        let value = unsafe { out_value.as_mut() }.ok_or_else(|| BridgeError::null("out_value"))?;
        *key = OtStr {
            ptr: k.as_ptr(),
            len: k.len(),
        };
        *value = OtStr {
            ptr: v.as_ptr(),
            len: v.len(),
        };
        Ok(())
    })
}

/// Releases a header list. NULL is ignored.
///
/// # Safety
/// `headers` must be NULL or a list from this library not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_headers_free(headers: *mut OtHeaders) {
    // SAFETY: forwarded; the handle was made by Box::into_raw.
    unsafe { crate::error::free_handle(headers) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Status;
    use crate::strings::{OtStr, ot};
    use std::ptr::null_mut;

    #[test]
    fn strict_check_accepts_valid_and_rejects_malformed_traceparent() {
        let good = [OtHeader {
            key: ot("traceparent"),
            value: ot("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        }];
        assert_eq!(
            unsafe { ot_headers_check(good.as_ptr(), 1, null_mut()) },
            Status::Ok
        );
        let bad = [OtHeader {
            key: ot("traceparent"),
            value: ot("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
        }];
        let mut error = null_mut();
        assert_eq!(
            unsafe { ot_headers_check(bad.as_ptr(), 1, &mut error) },
            Status::MalformedHeader
        );
        let message = crate::buffer::tests::take_text(error);
        assert!(message.contains("traceparent"), "{message}");
    }

    fn raw(bytes: &[u8]) -> OtStr {
        OtStr {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    #[test]
    fn strict_check_ignores_unrelated_headers_that_are_not_utf8() {
        let list = [
            OtHeader {
                key: ot("x-bin"),
                value: raw(&[0xff]),
            },
            OtHeader {
                key: raw(&[0xfe, 0xff]),
                value: raw(&[0xc3, 0x28]),
            },
            OtHeader {
                key: ot("traceparent"),
                value: ot("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            },
        ];
        assert_eq!(
            unsafe { ot_headers_check(list.as_ptr(), list.len(), null_mut()) },
            Status::Ok
        );
    }

    #[test]
    fn our_header_that_is_not_utf8_is_a_malformed_header() {
        let list = [OtHeader {
            key: ot("baggage"),
            value: raw(b"k=\xff"),
        }];
        assert_eq!(
            unsafe { ot_headers_check(list.as_ptr(), list.len(), null_mut()) },
            Status::MalformedHeader
        );
    }

    fn items(list: *mut OtHeaders) -> Vec<(String, String)> {
        let items = unsafe { &*list }.items.clone();
        unsafe { ot_headers_free(list) };
        items
    }

    #[test]
    fn extract_forwards_our_headers_and_reads_ids_beside_a_binary_header() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let list = [
            OtHeader {
                key: ot("x-bin"),
                value: raw(&[0xff]),
            },
            OtHeader {
                key: ot("traceparent"),
                value: ot(tp),
            },
            OtHeader {
                key: ot("baggage"),
                value: ot("order.id=ORD-1,user.id=42"),
            },
        ];
        let (mut forward, mut read) = (std::ptr::null_mut(), std::ptr::null_mut());
        assert_eq!(
            unsafe {
                ot_headers_extract(
                    list.as_ptr(),
                    list.len(),
                    &mut forward,
                    &mut read,
                    null_mut(),
                )
            },
            Status::Ok
        );
        assert_eq!(
            items(forward),
            vec![
                ("traceparent".to_string(), tp.to_string()),
                ("baggage".to_string(), "order.id=ORD-1".to_string())
            ]
        );
        let read = items(read);
        let keys: Vec<&str> = read.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["trace_id", "parent_id", "order_id", "problem"]);
        assert_eq!(read[2].1, "ORD-1");
        assert!(read[3].1.contains("user.id"), "{}", read[3].1);
    }

    #[test]
    fn extract_without_out_pointers_is_a_null_pointer_error() {
        let mut read = std::ptr::null_mut();
        assert_eq!(
            unsafe { ot_headers_extract(std::ptr::null(), 0, null_mut(), &mut read, null_mut()) },
            Status::NullPointer
        );
        assert!(read.is_null());
    }

    #[test]
    fn a_null_list_with_a_count_is_rejected() {
        assert_eq!(
            unsafe { ot_headers_check(std::ptr::null(), 2, null_mut()) },
            Status::NullPointer
        );
        assert_eq!(
            unsafe { ot_headers_check(std::ptr::null(), 0, null_mut()) },
            Status::Ok
        );
    }

    #[test]
    fn reading_past_the_end_is_an_error_not_a_crash() {
        let list = Box::into_raw(Box::new(OtHeaders {
            items: vec![("traceparent".into(), "x".into())],
        }));
        let mut k = ot("");
        let mut v = ot("");
        assert_eq!(
            unsafe { ot_headers_get(list, 0, &mut k, &mut v, null_mut()) },
            Status::Ok
        );
        assert_eq!(unsafe { k.as_str("k") }.unwrap(), "traceparent");
        let mut error = null_mut();
        assert_eq!(
            unsafe { ot_headers_get(list, 1, &mut k, &mut v, &mut error) },
            Status::InvalidInput
        );
        assert_eq!(
            crate::buffer::tests::take_text(error),
            "header index 1 is out of range (the list has 1)"
        );
        unsafe { ot_headers_free(list) };
    }
}
