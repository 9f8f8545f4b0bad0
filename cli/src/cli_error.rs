//! What can go wrong in the command, and the exit code each failure gives, so scripts can tell
//! "no such order" from "Jaeger is down".

use ordertrace::OrderTraceError;

/// A failure of the command, with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The caller's input is wrong (malformed order id, bad URL, bad flag value). Exit 2.
    #[error("{0}")]
    BadInput(String),
    /// No span of the order was found. Exit 3.
    #[error("{0}")]
    NotFound(String),
    /// The trace backend cannot be reached or answered something unreadable. Exit 4.
    #[error("{0}")]
    Backend(String),
    /// Anything else (a file that cannot be written, a pipeline that does not start). Exit 1.
    #[error("{0}")]
    Other(String),
    /// `watch --once`: orders need attention, or the source is stale. Exit 5.
    #[error("orders need attention")]
    NeedsAttention,
}

impl CliError {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Other(_) => 1,
            Self::BadInput(_) => 2,
            Self::NotFound(_) => 3,
            Self::Backend(_) => 4,
            Self::NeedsAttention => 5,
        }
    }
}

impl From<ordertrace_watch::WatchError> for CliError {
    fn from(e: ordertrace_watch::WatchError) -> Self {
        use ordertrace_watch::WatchError as W;
        match e {
            W::Config { .. } | W::BadInput(_) | W::File { .. } => Self::BadInput(e.to_string()),
            W::Source(_) => Self::Backend(e.to_string()),
            W::Listen { .. } => Self::Other(e.to_string()),
        }
    }
}

impl From<OrderTraceError> for CliError {
    fn from(e: OrderTraceError) -> Self {
        match e {
            OrderTraceError::InvalidInput { .. }
            | OrderTraceError::UnknownEvent(_)
            | OrderTraceError::MalformedHeader { .. }
            | OrderTraceError::InvalidConfig { .. } => Self::BadInput(e.to_string()),
            other => Self::Other(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_kind_has_its_own_exit_code() {
        let codes = [
            CliError::Other(String::new()).exit_code(),
            CliError::BadInput(String::new()).exit_code(),
            CliError::NotFound(String::new()).exit_code(),
            CliError::Backend(String::new()).exit_code(),
            CliError::NeedsAttention.exit_code(),
        ];
        assert_eq!(codes, [1, 2, 3, 4, 5]);
        assert!(!codes.contains(&0));
    }

    #[test]
    fn caller_input_errors_of_the_core_are_bad_input() {
        let e: CliError = ordertrace::schema::validate_order_id("")
            .expect_err("empty id")
            .into();
        assert_eq!(e.exit_code(), 2);
        let e: CliError = OrderTraceError::ShutDown.into();
        assert_eq!(e.exit_code(), 1);
    }
}
