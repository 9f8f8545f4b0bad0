//! The numbering of span kinds both bridges use (C `OT_KIND_*`, Java `StageBuilder`, C#
//! `StageKind`): 0 internal, 1 server, 2 client, 3 producer, 4 consumer.

use crate::error::BridgeError;
use ordertrace::SpanKind;

/// The span kind with this number; another number is an invalid-input error.
pub fn span_kind(code: i32) -> Result<SpanKind, BridgeError> {
    Ok(match code {
        0 => SpanKind::Internal,
        1 => SpanKind::Server,
        2 => SpanKind::Client,
        3 => SpanKind::Producer,
        4 => SpanKind::Consumer,
        other => {
            return Err(BridgeError::invalid(format!(
                "span kind {other} is not one of 0 (internal), 1 (server), 2 (client), 3 (producer), 4 (consumer)"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_map_to_kinds_and_others_are_rejected() {
        assert_eq!(span_kind(1).unwrap(), SpanKind::Server);
        assert_eq!(span_kind(4).unwrap(), SpanKind::Consumer);
        let e = span_kind(42).unwrap_err();
        assert_eq!(e.status, ordertrace::Status::InvalidInput);
        assert!(e.message.contains("42"), "{}", e.message);
    }
}
