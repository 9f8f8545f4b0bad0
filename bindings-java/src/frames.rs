//! The frame format shared with `io.ordertrace.Frames`: a sequence of fields, each a 4-byte
//! big-endian length followed by that many bytes (UTF-8 text for strings).

/// Why a frame buffer could not be read.
#[derive(Debug, PartialEq, Eq)]
pub struct FrameError(pub String);

/// Splits `bytes` into its fields.
///
/// ```
/// let mut buf = Vec::new();
/// ordertrace_jni::frames::push(&mut buf, b"order_confirmed");
/// ordertrace_jni::frames::push(&mut buf, b"ORD-1");
/// let fields = ordertrace_jni::frames::split(&buf).unwrap();
/// assert_eq!(fields, vec![&b"order_confirmed"[..], &b"ORD-1"[..]]);
/// ```
pub fn split(mut bytes: &[u8]) -> Result<Vec<&[u8]>, FrameError> {
    let mut fields = Vec::new();
    while !bytes.is_empty() {
        let Some((len, rest)) = bytes.split_first_chunk::<4>() else {
            return Err(FrameError(format!(
                "frame {} has a truncated length ({} bytes)",
                fields.len(),
                bytes.len()
            )));
        };
        let len = u32::from_be_bytes(*len) as usize;
        if rest.len() < len {
            return Err(FrameError(format!(
                "frame {} says {len} bytes but {} remain",
                fields.len(),
                rest.len()
            )));
        }
        let (field, rest) = rest.split_at(len);
        fields.push(field);
        bytes = rest;
    }
    Ok(fields)
}

/// Appends one field.
pub fn push(buf: &mut Vec<u8>, field: &[u8]) {
    buf.extend_from_slice(&(field.len() as u32).to_be_bytes());
    buf.extend_from_slice(field);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_fields_and_empty_buffers_round_trip() {
        let mut buf = Vec::new();
        push(&mut buf, b"");
        push(&mut buf, "prix €".as_bytes());
        assert_eq!(split(&buf).unwrap(), vec![&b""[..], "prix €".as_bytes()]);
        assert!(split(&[]).unwrap().is_empty());
    }

    #[test]
    fn truncated_buffers_are_errors_not_panics() {
        assert!(
            split(&[0, 0, 1])
                .unwrap_err()
                .0
                .contains("truncated length")
        );
        assert!(
            split(&[0, 0, 0, 9, b'x'])
                .unwrap_err()
                .0
                .contains("says 9 bytes")
        );
    }
}
