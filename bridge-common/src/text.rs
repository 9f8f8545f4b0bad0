//! Foreign bytes as UTF-8 text, borrowed (no copy), with an error naming the argument.

use crate::error::BridgeError;
use ordertrace::Status;

/// Borrows `bytes` as UTF-8; `what` names the argument in the error.
pub fn utf8<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str, BridgeError> {
    std::str::from_utf8(bytes).map_err(|e| {
        BridgeError::new(
            Status::InvalidUtf8,
            format!(
                "{what} is not valid UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
    })
}

/// Like [`utf8`], with empty meaning "not given".
pub fn opt_utf8<'a>(bytes: &'a [u8], what: &str) -> Result<Option<&'a str>, BridgeError> {
    let s = utf8(bytes, what)?;
    Ok((!s.is_empty()).then_some(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_names_the_argument_and_offset() {
        let e = utf8(&[b'O', b'R', 0xff, b'D'], "order id").unwrap_err();
        assert_eq!(e.status, Status::InvalidUtf8);
        assert_eq!(
            e.message,
            "order id is not valid UTF-8 (invalid byte at offset 2)"
        );
    }

    #[test]
    fn empty_optional_text_is_not_given() {
        assert_eq!(opt_utf8(b"", "user id"), Ok(None));
        assert_eq!(opt_utf8(b"u", "user id"), Ok(Some("u")));
    }
}
