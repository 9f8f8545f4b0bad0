//! What can go wrong in the watch, with messages a support engineer can act on.

use std::path::PathBuf;

/// A failure of the watch.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The configuration file is unreadable or wrong; the message names the key.
    #[error("watch config {path}: {reason}")]
    Config {
        /// The file (or `<defaults>`).
        path: String,
        /// What is wrong, e.g. "stuck.price_calculated: \"30\" is not a duration like 30s".
        reason: String,
    },
    /// A command-line value is wrong.
    #[error("{0}")]
    BadInput(String),
    /// The span file cannot be opened or read.
    #[error("span file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Jaeger cannot be reached or answered something unreadable.
    #[error("{0}")]
    Source(String),
    /// The HTTP port cannot be opened.
    #[error("cannot listen on {addr}: {reason} (is another watch running there? pass --listen)")]
    Listen {
        /// The address asked for.
        addr: String,
        /// Why.
        reason: String,
    },
}

/// Result of the watch.
pub type Result<T> = std::result::Result<T, WatchError>;
