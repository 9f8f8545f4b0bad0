//! Text the library hands out: the schema JSON and spans read back from a file, as an
//! opaque [`OtBuffer`].

use crate::error::{Status, guard};
use crate::strings::OtStr;
use ordertrace_bridge::BridgeError;

/// Text owned by the library. Read with [`ot_buffer_str`]; release with [`ot_buffer_free`].
#[derive(Debug)]
pub struct OtBuffer {
    text: String,
}

pub(crate) fn hand_out(text: String, out: *mut *mut OtBuffer) -> Result<(), BridgeError> {
    // SAFETY: the caller promises `out` is NULL or writable.
    let slot = unsafe { out.as_mut() }.ok_or_else(|| BridgeError::null("out"))?;
    *slot = Box::into_raw(Box::new(OtBuffer { text }));
    Ok(())
}

/// The canonical order-event schema as JSON (events in lifecycle order, attribute keys,
/// limits) in a new buffer.
///
/// # Safety
/// `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_schema_json(out: *mut *mut OtBuffer) -> Status {
    guard(|| hand_out(ordertrace::schema_json(), out))
}

/// Reads a file written by the embedded exporter and returns its spans as a JSON array of
/// flat objects (`name`, `service`, `trace_id`, `span_id`, `parent_span_id`, `status`,
/// `attributes`, `events`, `links`, times): how tests and tools check what was produced.
///
/// # Safety
/// `path` must be readable; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_read_spans_json(path: OtStr, out: *mut *mut OtBuffer) -> Status {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let path = unsafe { path.as_str("path") }?;
        hand_out(ordertrace_bridge::spans_json(path)?, out)
    })
}

/// The buffer's text (UTF-8), valid until [`ot_buffer_free`].
///
/// # Safety
/// `buffer` must be a live buffer from this library; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_buffer_str(buffer: *const OtBuffer, out: *mut OtStr) -> Status {
    guard(|| {
        // SAFETY: see the function's contract.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Status;
    use crate::strings::ot;
    use serde_json::Value;

    #[test]
    fn schema_json_lists_the_eight_events() {
        let mut b = std::ptr::null_mut();
        assert_eq!(unsafe { ot_schema_json(&mut b) }, Status::Ok);
        let mut s = ot("");
        assert_eq!(unsafe { ot_buffer_str(b, &mut s) }, Status::Ok);
        let v: Value = serde_json::from_str(unsafe { s.as_str("s") }.unwrap()).unwrap();
        assert_eq!(v["events"].as_array().unwrap().len(), 8);
        unsafe { ot_buffer_free(b) };
    }

    #[test]
    fn reading_a_missing_file_is_a_file_error() {
        let mut b = std::ptr::null_mut();
        let status = unsafe { ot_read_spans_json(ot("/nonexistent/spans.jsonl"), &mut b) };
        assert_eq!(status, Status::File);
        assert!(b.is_null());
    }

    #[test]
    fn a_null_out_pointer_is_rejected() {
        assert_eq!(
            unsafe { ot_schema_json(std::ptr::null_mut()) },
            Status::NullPointer
        );
    }
}
