//! The canonical schema as JSON, and spans read back from a file, in an [`OtBuffer`].

use crate::buffer::OtBuffer;
use crate::error::{Status, guard, hand_out};
use crate::strings::OtStr;

/// The canonical order-event schema as JSON (events in lifecycle order, attribute keys,
/// limits, status codes) in a new buffer.
///
/// # Safety
/// `out` must be writable; `error` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_schema_json(
    out: *mut *mut OtBuffer,
    error: *mut *mut OtBuffer,
) -> Status {
    // SAFETY: see the function's contract.
    guard(unsafe { error.as_mut() }, || {
        hand_out(OtBuffer::new(ordertrace::schema_json()), out)
    })
}

/// Reads a file written by the embedded exporter and returns its spans as a JSON array of
/// flat objects (`name`, `service`, `trace_id`, `span_id`, `parent_span_id`, `status`,
/// `attributes`, `events`, `links`, times): how tests and tools check what was produced.
///
/// # Safety
/// `path` must be readable; `out` writable; `error` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_read_spans_json(
    path: OtStr,
    out: *mut *mut OtBuffer,
    error: *mut *mut OtBuffer,
) -> Status {
    // SAFETY (all derefs): see the function's contract.
    guard(unsafe { error.as_mut() }, || {
        let path = unsafe { path.as_str("path") }?;
        hand_out(OtBuffer::new(ordertrace_bridge::spans_json(path)?), out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::tests::take_text;
    use crate::strings::ot;
    use serde_json::Value;
    use std::ptr::null_mut;

    #[test]
    fn schema_json_lists_the_eight_events() {
        let mut b = null_mut();
        assert_eq!(unsafe { ot_schema_json(&mut b, null_mut()) }, Status::Ok);
        let v: Value = serde_json::from_str(&take_text(b)).unwrap();
        assert_eq!(v["events"].as_array().unwrap().len(), 8);
    }

    #[test]
    fn reading_a_missing_file_is_a_file_error_naming_the_path() {
        let (mut b, mut error) = (null_mut(), null_mut());
        let status =
            unsafe { ot_read_spans_json(ot("/nonexistent/spans.jsonl"), &mut b, &mut error) };
        assert_eq!(status, Status::File);
        assert!(b.is_null());
        let message = take_text(error);
        assert!(message.contains("/nonexistent/spans.jsonl"), "{message}");
    }

    #[test]
    fn a_null_out_pointer_is_rejected() {
        let mut error = null_mut();
        assert_eq!(
            unsafe { ot_schema_json(null_mut(), &mut error) },
            Status::NullPointer
        );
        assert_eq!(take_text(error), "out is a NULL pointer");
    }
}
