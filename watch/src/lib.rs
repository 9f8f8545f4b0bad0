//! # ordertrace-watch
//!
//! `ordertrace watch`: follows every order's spans and says which orders need attention now.
//!
//! - [`config`]: thresholds, windows and the CRM-status mapping (TOML), checked at start-up.
//! - [`order_state`]: one small record per order and its assessment (completed, in a stage,
//!   waiting; stuck, stalled, lost, failed, incomplete, status mismatch).
//! - [`tracker`]: every order's record, bad input counted per reason, the views.
//! - [`file_source`] and [`jaeger_source`]: the span file as it grows, Jaeger's api/v3 by
//!   time window; [`jaeger_client`]: the project's one api/v3 client (the CLI's `timeline`
//!   uses it too); [`otlp_scan`]: the fast OTLP/JSON reader of the hot path.
//! - [`metrics`], [`board`], [`api`], [`server`]: `/metrics`, the HTML board, the JSON API,
//!   on one loopback port; [`service`]: the long-running loop and `--once`.

#![warn(missing_docs)]

pub mod api;
pub mod board;
pub mod config;
pub mod error;
#[cfg(any(test, feature = "test-support"))]
pub mod fake_jaeger;
pub mod file_source;
pub mod jaeger_client;
pub mod jaeger_source;
pub mod metrics;
pub mod order_state;
pub mod otlp_scan;
pub mod server;
pub mod service;
pub mod source;
pub mod tracker;

pub use config::WatchConfig;
pub use error::{Result, WatchError};
pub use order_state::StateKind;
pub use service::{Shared, SourceSpec, WatchOptions};
pub use tracker::Tracker;

/// A duration in whole milliseconds (saturating).
pub fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
