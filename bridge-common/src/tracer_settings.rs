//! A tracer's settings as both bridges receive them (numbers in one encoding, strings already
//! read), turned into an [`OrderTracer`] in one place, so the C ABI and JNI accept exactly the
//! same values and refuse the same ones with the same message.

use crate::BridgeError;
use ordertrace::{IdentityMode, OrderTracer, OtlpProtocol, Status};
use std::time::Duration;

/// Keep the default (or the environment's value) for a tri-state or numeric setting.
pub const DEFAULT: i32 = -1;
/// OTLP over HTTP/protobuf.
pub const PROTOCOL_HTTP_PROTOBUF: i32 = 0;
/// OTLP over gRPC.
pub const PROTOCOL_GRPC: i32 = 1;
/// Identity: the order-derived trace wins (the core's default).
pub const IDENTITY_ORDER_DERIVED: i32 = 0;
/// Identity: an incoming context wins.
pub const IDENTITY_PROPAGATED: i32 = 1;

/// Settings of one tracer. `None` strings, [`DEFAULT`] and negative durations mean "not set":
/// the environment's value when `read_env`, else the core's default.
///
/// ```
/// use ordertrace_bridge::tracer_settings::{TracerSettings, DEFAULT};
/// let mut s = TracerSettings::unset();
/// s.read_env = false;
/// s.start_records = 2;
/// assert!(s.build().unwrap_err().message.contains("start_records 2"));
/// ```
#[derive(Debug, Clone)]
pub struct TracerSettings<'a> {
    /// Start from the `OTEL_*` / `ORDERTRACE_*` environment.
    pub read_env: bool,
    /// `service.name`.
    pub service_name: Option<&'a str>,
    /// The embedded exporter's file.
    pub file: Option<&'a str>,
    /// OTLP endpoint; selects OTLP export.
    pub otlp_endpoint: Option<&'a str>,
    /// [`PROTOCOL_HTTP_PROTOBUF`] or [`PROTOCOL_GRPC`] (read only with an endpoint).
    pub protocol: i32,
    /// Root folder of the disk spool.
    pub spool_dir: Option<&'a str>,
    /// 1 on, 0 off, [`DEFAULT`].
    pub start_records: i32,
    /// How long a stage stays open before its start record goes out, ms; 0: at once;
    /// negative: default (the heartbeat interval).
    pub start_record_after_ms: i64,
    /// Heartbeat interval, ms; 0 off; negative: default.
    pub heartbeat_ms: i64,
    /// [`IDENTITY_ORDER_DERIVED`], [`IDENTITY_PROPAGATED`] or [`DEFAULT`].
    pub identity: i32,
    /// 1 strict, 0 lenient, [`DEFAULT`].
    pub strict_ids: i32,
}

fn bad(what: &str, value: impl std::fmt::Display) -> BridgeError {
    BridgeError::new(
        Status::InvalidConfig,
        format!("invalid configuration: {what} {value} is not one of the allowed values"),
    )
}

fn flag(what: &str, value: i32) -> Result<Option<bool>, BridgeError> {
    match value {
        DEFAULT => Ok(None),
        0 => Ok(Some(false)),
        1 => Ok(Some(true)),
        other => Err(bad(what, other)),
    }
}

/// A string setting: `None` or empty means not set.
fn set(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

impl TracerSettings<'_> {
    /// Nothing set, the environment read.
    pub fn unset() -> Self {
        Self {
            read_env: true,
            service_name: None,
            file: None,
            otlp_endpoint: None,
            protocol: PROTOCOL_HTTP_PROTOBUF,
            spool_dir: None,
            start_records: DEFAULT,
            start_record_after_ms: -1,
            heartbeat_ms: -1,
            identity: DEFAULT,
            strict_ids: DEFAULT,
        }
    }

    /// The tracer these settings describe; a value outside its range is `InvalidConfig`
    /// naming the setting, and the core's own checks apply as for a Rust caller.
    pub fn build(&self) -> Result<OrderTracer, BridgeError> {
        let mut b = OrderTracer::builder();
        if !self.read_env {
            b = b.without_env();
        }
        if let Some(name) = set(self.service_name) {
            b = b.service_name(name);
        }
        if let Some(file) = set(self.file) {
            b = b.file(file);
        }
        if let Some(endpoint) = set(self.otlp_endpoint) {
            let protocol = match self.protocol {
                PROTOCOL_HTTP_PROTOBUF => OtlpProtocol::HttpProtobuf,
                PROTOCOL_GRPC => OtlpProtocol::Grpc,
                other => return Err(bad("otlp_protocol", other)),
            };
            b = b.otlp(endpoint, protocol);
        }
        if let Some(dir) = set(self.spool_dir) {
            b = b.spool_dir(dir);
        }
        if let Some(on) = flag("start_records", self.start_records)? {
            b = b.start_records(on);
        }
        if let Ok(ms) = u64::try_from(self.start_record_after_ms) {
            b = b.start_record_after(Duration::from_millis(ms));
        }
        match self.heartbeat_ms {
            ms if ms < 0 => {}
            0 => b = b.heartbeat_interval(None),
            ms => b = b.heartbeat_interval(Some(Duration::from_millis(ms.unsigned_abs()))),
        }
        match self.identity {
            DEFAULT => {}
            IDENTITY_ORDER_DERIVED => b = b.identity(IdentityMode::OrderDerived),
            IDENTITY_PROPAGATED => b = b.identity(IdentityMode::Propagated),
            other => return Err(bad("identity", other)),
        }
        if let Some(strict) = flag("strict_ids", self.strict_ids)? {
            b = b.strict_ids(strict);
        }
        Ok(b.build()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet() -> TracerSettings<'static> {
        let mut s = TracerSettings::unset();
        s.read_env = false;
        s.file = Some("/dev/null");
        s
    }

    #[test]
    fn unset_settings_build_a_tracer() {
        assert!(quiet().build().is_ok());
    }

    #[test]
    fn out_of_range_numbers_are_invalid_config_naming_the_setting() {
        for (setting, value) in [
            ("start_records", 2),
            ("identity", 7),
            ("strict_ids", -2),
            ("otlp_protocol", 3),
        ] {
            let mut s = quiet();
            match setting {
                "start_records" => s.start_records = value,
                "identity" => s.identity = value,
                "strict_ids" => s.strict_ids = value,
                _ => {
                    s.otlp_endpoint = Some("http://127.0.0.1:4318/v1/traces");
                    s.protocol = value;
                }
            }
            let e = s.build().unwrap_err();
            assert_eq!(e.status, Status::InvalidConfig, "{setting}");
            assert!(
                e.message.contains(&format!("{setting} {value}")),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn a_start_record_threshold_reaches_the_tracer() {
        let mut s = quiet();
        s.start_record_after_ms = 250;
        let tracer = s.build().unwrap();
        assert_eq!(
            tracer.config().start_record_threshold(),
            Some(Duration::from_millis(250))
        );
    }
}
