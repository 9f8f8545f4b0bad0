//! Pipeline configuration: the standard `OTEL_*` environment variables read in one place, plus
//! ordertrace's own `ORDERTRACE_*` settings. Explicit builder settings are applied after this
//! and win.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `OTEL_SERVICE_NAME` | service name (also `service.name` in `OTEL_RESOURCE_ATTRIBUTES`) | `unknown_service` |
//! | `OTEL_RESOURCE_ATTRIBUTES` | `k=v,k2=v2` resource attributes | none |
//! | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT` | collector; setting one selects OTLP export | unset: file export |
//! | `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL` | `grpc` or `http/protobuf` | `http/protobuf` |
//! | `OTEL_EXPORTER_OTLP_TRACES_HEADERS` / `OTEL_EXPORTER_OTLP_HEADERS` | `k=v,...` sent with each export | none |
//! | `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` / `OTEL_EXPORTER_OTLP_TIMEOUT` | export request timeout, ms | 10000 |
//! | `OTEL_TRACES_EXPORTER` | `otlp` (file export when no endpoint is set) or `none` (discard) | `otlp` |
//! | `OTEL_BSP_SCHEDULE_DELAY` | ms between batch exports | 5000 |
//! | `OTEL_BSP_MAX_QUEUE_SIZE` | spans queued before new ones are dropped (counted) | 2048; 65536 with a spool |
//! | `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` | spans per export | 512 |
//! | `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`, `OTEL_SPAN_EVENT_COUNT_LIMIT`, `OTEL_SPAN_LINK_COUNT_LIMIT` | attributes, events, links kept per span (the rest dropped and counted on the span) | 128 each |
//! | `OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`, `OTEL_LINK_ATTRIBUTE_COUNT_LIMIT` | attributes kept per span event, per link | 128 each |
//! | `ORDERTRACE_FILE` | the embedded file exporter's OTLP/JSON-lines path | `ordertrace-spans.jsonl` |
//! | `ORDERTRACE_IDENTITY` | `order_derived` or `propagated` (see [`crate::identity`]) | `order_derived` |
//! | `ORDERTRACE_HEARTBEAT_MS` | heartbeat interval for open stages, 0 disables | 30000 |
//! | `ORDERTRACE_START_RECORDS` | export a start record for a stage still open after the threshold | `true` |
//! | `ORDERTRACE_START_RECORD_AFTER_MS` | that threshold: a stage ending sooner costs one span; 0 exports the start record at once | the heartbeat interval (30000 when heartbeats are off) |
//! | `ORDERTRACE_STRICT_IDS` | `true`: a stage with a bad order id or user id fails to start; `false` (lenient): it starts and records the problem | `false` |
//! | `ORDERTRACE_SPOOL_DIR` | root of the disk spool (each service spools in `<dir>/<service.name>`); unset: no spool | unset |
//! | `ORDERTRACE_SPOOL_MAX_BYTES` | bound of one service's spool on disk, bytes (oldest dropped first) | 268435456 (256 MiB) |
//! | `ORDERTRACE_SPOOL_MAX_AGE_SECS` | spooled spans older than this are dropped, not sent | 86400 (24 h) |

use crate::error::{OrderTraceError, Result};
use crate::identity::IdentityMode;
use std::path::PathBuf;
use std::time::Duration;

/// Default path of the embedded file exporter.
pub const DEFAULT_FILE: &str = "ordertrace-spans.jsonl";

/// The OTLP wire protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// OTLP over gRPC (port 4317 by convention).
    Grpc,
    /// OTLP protobuf over HTTP (port 4318, path `/v1/traces`).
    HttpProtobuf,
}

impl std::str::FromStr for OtlpProtocol {
    type Err = OrderTraceError;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "grpc" => Ok(Self::Grpc),
            "http/protobuf" => Ok(Self::HttpProtobuf),
            "http/json" => Err(OrderTraceError::config(
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                "http/json is not supported; use grpc or http/protobuf",
            )),
            other => Err(OrderTraceError::config(
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                format!("{other:?} is not one of grpc, http/protobuf"),
            )),
        }
    }
}

/// Where spans go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportTarget {
    /// OTLP/JSON lines appended to a local file (the embedded default).
    File(PathBuf),
    /// An OTLP receiver: Jaeger, or an OpenTelemetry Collector.
    Otlp {
        /// Full URL of the receiver (for HTTP, including `/v1/traces`).
        endpoint: String,
        /// Wire protocol.
        protocol: OtlpProtocol,
    },
    /// Nowhere: spans are processed and counted, then discarded (`OTEL_TRACES_EXPORTER=none`).
    /// Turns export off without removing instrumentation; the benchmarks use it to measure
    /// the caller's cost alone. A mirror file still receives every batch.
    Discard,
}

/// Batch export settings (`OTEL_BSP_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchSettings {
    /// Spans queued before new ones are dropped.
    pub max_queue_size: usize,
    /// Time between exports when the queue does not fill a batch.
    pub scheduled_delay: Duration,
    /// Spans per export call.
    pub max_export_batch_size: usize,
}

/// Default in-memory queue bound (`OTEL_BSP_MAX_QUEUE_SIZE`) without a spool.
pub const DEFAULT_MAX_QUEUE_SIZE: usize = 2048;

/// Default in-memory queue bound when a spool folder is set and the queue size is left at its
/// default: 65,536 spans (about 3 s at 20,000 spans/s, some 64 MiB at most). With a spool the
/// disk is where spans should wait, but they reach it through the spool writer thread; on a
/// busy machine that thread can miss the CPU for a second or more, and 2,048 spans (100 ms at
/// 20,000/s) were dropped at the door in those moments.
pub const DEFAULT_SPOOL_QUEUE_SIZE: usize = 65_536;

impl Default for BatchSettings {
    fn default() -> Self {
        Self {
            max_queue_size: DEFAULT_MAX_QUEUE_SIZE,
            scheduled_delay: Duration::from_millis(5000),
            max_export_batch_size: 512,
        }
    }
}

/// Default heartbeat interval of open stages (`ORDERTRACE_HEARTBEAT_MS`).
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30);

/// Default bound of one service's spool on disk.
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 256 << 20;
/// Default age after which spooled spans are dropped.
pub const DEFAULT_SPOOL_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);
/// Smallest accepted spool byte bound.
pub const MIN_SPOOL_MAX_BYTES: u64 = 16 << 10;

/// The disk spool (see [`crate::pipeline`]'s spool module docs): where batches wait while the
/// endpoint is down or slow, and from where they are replayed, also after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolSettings {
    /// Root folder; a tracer spools in `<dir>/<service.name>`.
    pub dir: PathBuf,
    /// Bound on disk, bytes: when a write would pass it, the oldest segments are dropped.
    pub max_bytes: u64,
    /// Spooled spans older than this are dropped instead of sent.
    pub max_age: Duration,
}

impl SpoolSettings {
    /// A spool under `dir` with the default bounds.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            max_bytes: DEFAULT_SPOOL_MAX_BYTES,
            max_age: DEFAULT_SPOOL_MAX_AGE,
        }
    }
}

/// Everything the pipeline needs, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineConfig {
    /// `service.name` of everything this tracer exports.
    pub service_name: String,
    /// Further resource attributes.
    pub resource_attributes: Vec<(String, String)>,
    /// Where spans go.
    pub target: ExportTarget,
    /// Also write every exported batch to this file (the demo uses it to read back).
    pub mirror_file: Option<PathBuf>,
    /// Headers sent with each OTLP export.
    pub otlp_headers: Vec<(String, String)>,
    /// Timeout of one OTLP export request.
    pub export_timeout: Duration,
    /// Batch settings.
    pub batch: BatchSettings,
    /// Which trace a stage joins; see [`crate::identity`].
    pub identity: IdentityMode,
    /// Heartbeat interval of open stages; `None` disables heartbeats.
    pub heartbeat_interval: Option<Duration>,
    /// Export a start record (`<event>.started`) for a stage still open after
    /// [`start_record_threshold`](Self::start_record_threshold).
    pub start_records: bool,
    /// How long a stage may stay open before its start record is exported; `None` means the
    /// heartbeat interval (or the default heartbeat interval, 30 s, when heartbeats are off).
    /// `Some(Duration::ZERO)` exports the start record the moment the stage starts.
    pub start_record_after: Option<Duration>,
    /// The disk spool; `None` (the default) keeps everything in memory.
    pub spool: Option<SpoolSettings>,
    /// `true`: a stage whose order id or user id breaks a rule fails to start. `false` (the
    /// default, lenient): it starts and the problem is recorded on its span and counted
    /// (see [`crate::StageBuilder::start`]).
    pub strict_ids: bool,
    /// How many attributes, events and links a span keeps (`OTEL_SPAN_*_LIMIT`,
    /// `OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`, `OTEL_LINK_ATTRIBUTE_COUNT_LIMIT`); the SDK's
    /// defaults (128 each) otherwise. Stage spans and the SDK tracer's spans (start records,
    /// heartbeats, `tracing` spans) apply the same limits.
    pub span_limits: SpanLimitSettings,
}

/// How many attributes, events and links a span keeps; what is over a limit is dropped and
/// counted on the span (`dropped_attributes_count`, ...). The defaults are the SDK's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanLimitSettings {
    /// `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`.
    pub attributes_per_span: u32,
    /// `OTEL_SPAN_EVENT_COUNT_LIMIT`.
    pub events_per_span: u32,
    /// `OTEL_SPAN_LINK_COUNT_LIMIT`.
    pub links_per_span: u32,
    /// `OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`.
    pub attributes_per_event: u32,
    /// `OTEL_LINK_ATTRIBUTE_COUNT_LIMIT`.
    pub attributes_per_link: u32,
}

impl Default for SpanLimitSettings {
    fn default() -> Self {
        let sdk = opentelemetry_sdk::trace::SpanLimits::default();
        Self {
            attributes_per_span: sdk.max_attributes_per_span,
            events_per_span: sdk.max_events_per_span,
            links_per_span: sdk.max_links_per_span,
            attributes_per_event: sdk.max_attributes_per_event,
            attributes_per_link: sdk.max_attributes_per_link,
        }
    }
}

impl From<SpanLimitSettings> for opentelemetry_sdk::trace::SpanLimits {
    fn from(l: SpanLimitSettings) -> Self {
        Self {
            max_attributes_per_span: l.attributes_per_span,
            max_events_per_span: l.events_per_span,
            max_links_per_span: l.links_per_span,
            max_attributes_per_event: l.attributes_per_event,
            max_attributes_per_link: l.attributes_per_link,
        }
    }
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            service_name: "unknown_service".into(),
            resource_attributes: Vec::new(),
            target: ExportTarget::File(PathBuf::from(DEFAULT_FILE)),
            mirror_file: None,
            otlp_headers: Vec::new(),
            export_timeout: Duration::from_secs(10),
            batch: BatchSettings::default(),
            identity: IdentityMode::default(),
            heartbeat_interval: Some(DEFAULT_HEARTBEAT_INTERVAL),
            start_records: true,
            start_record_after: None,
            spool: None,
            strict_ids: false,
            span_limits: SpanLimitSettings::default(),
        }
    }
}

fn parse_number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T> {
    value
        .trim()
        .parse()
        .map_err(|_| OrderTraceError::config(key, format!("{value:?} is not a whole number")))
}

/// Parses `k=v,k2=v2` with percent-decoding, as `OTEL_RESOURCE_ATTRIBUTES` and
/// `OTEL_EXPORTER_OTLP_HEADERS` are written.
fn parse_pairs(key: &str, value: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (k, v) = item
            .split_once('=')
            .ok_or_else(|| OrderTraceError::config(key, format!("{item:?} is not key=value")))?;
        let decode = |s: &str| -> Result<String> {
            let mut bytes = Vec::new();
            let raw = s.trim().as_bytes();
            let mut i = 0;
            while i < raw.len() {
                if raw[i] == b'%' {
                    let b = s
                        .trim()
                        .get(i + 1..i + 3)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .ok_or_else(|| {
                            OrderTraceError::config(key, format!("bad percent escape in {item:?}"))
                        })?;
                    bytes.push(b);
                    i += 3;
                } else {
                    bytes.push(raw[i]);
                    i += 1;
                }
            }
            String::from_utf8(bytes).map_err(|_| {
                OrderTraceError::config(key, format!("{item:?} is not UTF-8 once decoded"))
            })
        };
        out.push((decode(k)?, decode(v)?));
    }
    Ok(out)
}

fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        other => Err(OrderTraceError::config(
            key,
            format!("{other:?} is not true or false"),
        )),
    }
}

impl PipelineConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let either = |traces: &str, general: &str| {
            get(traces)
                .map(|v| (traces.to_string(), v))
                .or_else(|| get(general).map(|v| (general.to_string(), v)))
        };
        let mut cfg = Self::default();

        if let Some(v) = get("OTEL_RESOURCE_ATTRIBUTES") {
            for (k, v) in parse_pairs("OTEL_RESOURCE_ATTRIBUTES", &v)? {
                if k == "service.name" {
                    cfg.service_name = v;
                } else {
                    cfg.resource_attributes.push((k, v));
                }
            }
        }
        if let Some(v) = get("OTEL_SERVICE_NAME") {
            cfg.service_name = v.trim().to_string();
        }

        let protocol = match either(
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ) {
            Some((_, v)) => v.parse()?,
            None => OtlpProtocol::HttpProtobuf,
        };
        if let Some((_, v)) = either(
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "OTEL_EXPORTER_OTLP_HEADERS",
        ) {
            cfg.otlp_headers = parse_pairs("OTEL_EXPORTER_OTLP_HEADERS", &v)?;
        }
        if let Some((k, v)) = either(
            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TIMEOUT",
        ) {
            cfg.export_timeout = Duration::from_millis(parse_number(&k, &v)?);
        }
        let endpoint = if let Some(v) = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            Some(v.trim().to_string())
        } else {
            get("OTEL_EXPORTER_OTLP_ENDPOINT").map(|base| match protocol {
                // The general endpoint is a base URL; HTTP appends the signal path.
                OtlpProtocol::HttpProtobuf => {
                    format!("{}/v1/traces", base.trim().trim_end_matches('/'))
                }
                OtlpProtocol::Grpc => base.trim().to_string(),
            })
        };
        let exporter = get("OTEL_TRACES_EXPORTER").map(|v| v.trim().to_ascii_lowercase());
        cfg.target = match (exporter.as_deref(), endpoint) {
            (Some("none"), _) => ExportTarget::Discard,
            (Some(other), _) if other != "otlp" => {
                return Err(OrderTraceError::config(
                    "OTEL_TRACES_EXPORTER",
                    format!("{other:?} is not supported; use otlp or none"),
                ));
            }
            (_, Some(endpoint)) => {
                validate_endpoint(&endpoint)?;
                ExportTarget::Otlp { endpoint, protocol }
            }
            (_, None) => ExportTarget::File(PathBuf::from(
                get("ORDERTRACE_FILE").unwrap_or_else(|| DEFAULT_FILE.into()),
            )),
        };

        if let Some(v) = get("OTEL_BSP_SCHEDULE_DELAY") {
            cfg.batch.scheduled_delay =
                Duration::from_millis(parse_number("OTEL_BSP_SCHEDULE_DELAY", &v)?);
        }
        if let Some(v) = get("OTEL_BSP_MAX_QUEUE_SIZE") {
            cfg.batch.max_queue_size = parse_number("OTEL_BSP_MAX_QUEUE_SIZE", &v)?;
        }
        if let Some(v) = get("OTEL_BSP_MAX_EXPORT_BATCH_SIZE") {
            cfg.batch.max_export_batch_size = parse_number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", &v)?;
        }
        let limits = &mut cfg.span_limits;
        for (key, limit) in [
            (
                "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
                &mut limits.attributes_per_span,
            ),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", &mut limits.events_per_span),
            ("OTEL_SPAN_LINK_COUNT_LIMIT", &mut limits.links_per_span),
            (
                "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
                &mut limits.attributes_per_event,
            ),
            (
                "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
                &mut limits.attributes_per_link,
            ),
        ] {
            if let Some(v) = get(key) {
                *limit = parse_number(key, &v)?;
            }
        }
        if let Some(v) = get("ORDERTRACE_IDENTITY") {
            cfg.identity = v.parse()?;
        }
        if let Some(v) = get("ORDERTRACE_HEARTBEAT_MS") {
            let ms: u64 = parse_number("ORDERTRACE_HEARTBEAT_MS", &v)?;
            cfg.heartbeat_interval = (ms > 0).then(|| Duration::from_millis(ms));
        }
        if let Some(v) = get("ORDERTRACE_START_RECORDS") {
            cfg.start_records = parse_bool("ORDERTRACE_START_RECORDS", &v)?;
        }
        if let Some(v) = get("ORDERTRACE_START_RECORD_AFTER_MS") {
            let ms: u64 = parse_number("ORDERTRACE_START_RECORD_AFTER_MS", &v)?;
            cfg.start_record_after = Some(Duration::from_millis(ms));
        }
        if let Some(v) = get("ORDERTRACE_STRICT_IDS") {
            cfg.strict_ids = parse_bool("ORDERTRACE_STRICT_IDS", &v)?;
        }
        let max_bytes = get("ORDERTRACE_SPOOL_MAX_BYTES")
            .map(|v| parse_number::<u64>("ORDERTRACE_SPOOL_MAX_BYTES", &v))
            .transpose()?;
        let max_age = get("ORDERTRACE_SPOOL_MAX_AGE_SECS")
            .map(|v| parse_number::<u64>("ORDERTRACE_SPOOL_MAX_AGE_SECS", &v))
            .transpose()?;
        if let Some(dir) = get("ORDERTRACE_SPOOL_DIR") {
            let mut spool = SpoolSettings::new(dir.trim());
            if let Some(b) = max_bytes {
                spool.max_bytes = b;
            }
            if let Some(s) = max_age {
                spool.max_age = Duration::from_secs(s);
            }
            cfg.spool = Some(spool);
        }
        if get("OTEL_BSP_MAX_QUEUE_SIZE").is_none() {
            cfg.apply_spool_queue_default();
        }
        Ok(cfg)
    }

    /// With a spool and the queue at its default size, the queue gets the spool's default
    /// (65,536 spans); without one, a queue at the spool's default goes back to
    /// the in-memory default (2,048). A size set to anything else is left alone.
    pub fn apply_spool_queue_default(&mut self) {
        let q = &mut self.batch.max_queue_size;
        match (&self.spool, *q) {
            (Some(_), DEFAULT_MAX_QUEUE_SIZE) => *q = DEFAULT_SPOOL_QUEUE_SIZE,
            (None, DEFAULT_SPOOL_QUEUE_SIZE) => *q = DEFAULT_MAX_QUEUE_SIZE,
            _ => {}
        }
    }

    /// How long a stage stays open before its start record is exported, or `None` when start
    /// records are off. A stage that ends sooner is exported as its span alone; a hung stage
    /// shows within this time (plus a quarter of it, the open-stage thread's tick).
    pub fn start_record_threshold(&self) -> Option<Duration> {
        if !self.start_records {
            return None;
        }
        Some(
            self.start_record_after
                .or(self.heartbeat_interval)
                .unwrap_or(DEFAULT_HEARTBEAT_INTERVAL),
        )
    }

    /// Checks the combination of settings, whatever their source.
    pub fn validate(&self) -> Result<()> {
        if self.service_name.trim().is_empty() {
            return Err(OrderTraceError::config("service name", "it is empty"));
        }
        if self.batch.max_queue_size == 0 {
            return Err(OrderTraceError::config(
                "max queue size",
                "it must be at least 1",
            ));
        }
        if self.batch.max_export_batch_size == 0 {
            return Err(OrderTraceError::config(
                "max export batch size",
                "it must be at least 1",
            ));
        }
        if self.batch.max_export_batch_size > self.batch.max_queue_size {
            return Err(OrderTraceError::config(
                "max export batch size",
                format!(
                    "{} is larger than the queue ({})",
                    self.batch.max_export_batch_size, self.batch.max_queue_size
                ),
            ));
        }
        if let ExportTarget::Otlp { endpoint, .. } = &self.target {
            validate_endpoint(endpoint)?;
        }
        if let ExportTarget::File(p) = &self.target {
            if p.as_os_str().is_empty() {
                return Err(OrderTraceError::config("file", "the path is empty"));
            }
        }
        if let Some(spool) = &self.spool {
            if spool.dir.as_os_str().is_empty() {
                return Err(OrderTraceError::config(
                    "ORDERTRACE_SPOOL_DIR",
                    "the path is empty",
                ));
            }
            if spool.max_bytes < MIN_SPOOL_MAX_BYTES {
                return Err(OrderTraceError::config(
                    "ORDERTRACE_SPOOL_MAX_BYTES",
                    format!(
                        "{} bytes is below the smallest spool ({MIN_SPOOL_MAX_BYTES} bytes)",
                        spool.max_bytes
                    ),
                ));
            }
            if spool.max_age < Duration::from_secs(1) {
                return Err(OrderTraceError::config(
                    "ORDERTRACE_SPOOL_MAX_AGE_SECS",
                    "it must be at least 1 second",
                ));
            }
        }
        Ok(())
    }
}

fn validate_endpoint(endpoint: &str) -> Result<()> {
    let rest = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
        .ok_or_else(|| {
            OrderTraceError::config(
                "OTLP endpoint",
                format!(
                    "{} must start with http:// or https://",
                    crate::error::quoted_text(endpoint)
                ),
            )
        })?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(OrderTraceError::config(
            "OTLP endpoint",
            format!("{} has no host", crate::error::quoted_text(endpoint)),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<PipelineConfig> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        PipelineConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn empty_environment_gives_file_export_defaults() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.target, ExportTarget::File(PathBuf::from(DEFAULT_FILE)));
        assert_eq!(c.service_name, "unknown_service");
        assert_eq!(c.batch, BatchSettings::default());
        assert_eq!(c.identity, IdentityMode::OrderDerived);
        assert!(c.start_records);
        assert!(!c.strict_ids);
    }

    #[test]
    fn strict_ids_is_read_from_the_environment_and_rejects_non_booleans() {
        assert!(
            cfg(&[("ORDERTRACE_STRICT_IDS", "true")])
                .unwrap()
                .strict_ids
        );
        assert!(!cfg(&[("ORDERTRACE_STRICT_IDS", "0")]).unwrap().strict_ids);
        let e = cfg(&[("ORDERTRACE_STRICT_IDS", "sometimes")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid configuration ORDERTRACE_STRICT_IDS: \"sometimes\" is not true or false"
        );
    }

    #[test]
    fn a_spool_folder_raises_the_default_queue_size() {
        let c = cfg(&[("ORDERTRACE_SPOOL_DIR", "/var/spool/ot")]).unwrap();
        assert_eq!(c.batch.max_queue_size, DEFAULT_SPOOL_QUEUE_SIZE);
    }

    #[test]
    fn an_explicit_queue_size_is_kept_with_a_spool() {
        let c = cfg(&[
            ("ORDERTRACE_SPOOL_DIR", "/var/spool/ot"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "2048"),
        ])
        .unwrap();
        assert_eq!(c.batch.max_queue_size, 2048);
    }

    #[test]
    fn without_a_spool_the_queue_keeps_its_default() {
        let mut c = cfg(&[("ORDERTRACE_SPOOL_DIR", "/var/spool/ot")]).unwrap();
        c.spool = None;
        c.apply_spool_queue_default();
        assert_eq!(c.batch.max_queue_size, DEFAULT_MAX_QUEUE_SIZE);
        c.batch.max_queue_size = 100;
        c.spool = Some(SpoolSettings::new("/var/spool/ot"));
        c.apply_spool_queue_default();
        assert_eq!(c.batch.max_queue_size, 100);
    }

    #[test]
    fn general_endpoint_gets_signal_path_for_http() {
        let c = cfg(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/")]).unwrap();
        assert_eq!(
            c.target,
            ExportTarget::Otlp {
                endpoint: "http://127.0.0.1:4318/v1/traces".into(),
                protocol: OtlpProtocol::HttpProtobuf
            }
        );
    }

    #[test]
    fn traces_endpoint_is_used_as_is_and_wins() {
        let c = cfg(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4317"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ])
        .unwrap();
        assert_eq!(
            c.target,
            ExportTarget::Otlp {
                endpoint: "http://b:4317".into(),
                protocol: OtlpProtocol::Grpc
            }
        );
    }

    #[test]
    fn service_name_variable_beats_resource_attributes() {
        let c = cfg(&[
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=a,deployment.environment=prod%20eu",
            ),
            ("OTEL_SERVICE_NAME", "mes-api"),
        ])
        .unwrap();
        assert_eq!(c.service_name, "mes-api");
        assert_eq!(
            c.resource_attributes,
            [("deployment.environment".to_string(), "prod eu".to_string())]
        );
    }

    #[test]
    fn reads_the_five_span_limits() {
        let c = cfg(&[
            ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "10"),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", "11"),
            ("OTEL_SPAN_LINK_COUNT_LIMIT", "12"),
            ("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "13"),
            ("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", " 14 "),
        ])
        .unwrap();
        assert_eq!(
            c.span_limits,
            SpanLimitSettings {
                attributes_per_span: 10,
                events_per_span: 11,
                links_per_span: 12,
                attributes_per_event: 13,
                attributes_per_link: 14,
            }
        );
    }

    #[test]
    fn span_limits_default_to_the_sdks() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.span_limits, SpanLimitSettings::default());
        assert_eq!(c.span_limits.attributes_per_span, 128);
        assert_eq!(c.span_limits.attributes_per_link, 128);
    }

    #[test]
    fn a_span_limit_that_is_not_a_whole_number_names_its_variable() {
        let e = cfg(&[("OTEL_SPAN_EVENT_COUNT_LIMIT", "-1")]).unwrap_err();
        assert!(e.to_string().contains("OTEL_SPAN_EVENT_COUNT_LIMIT"), "{e}");
    }

    #[test]
    fn reads_headers_timeouts_and_batch_settings() {
        let c = cfg(&[
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=Bearer%20x, tenant=t1",
            ),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "10"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "5"),
            ("ORDERTRACE_HEARTBEAT_MS", "0"),
            ("ORDERTRACE_IDENTITY", "propagated"),
            ("ORDERTRACE_START_RECORDS", "false"),
        ])
        .unwrap();
        assert_eq!(
            c.otlp_headers[0],
            ("authorization".to_string(), "Bearer x".to_string())
        );
        assert_eq!(c.export_timeout, Duration::from_millis(2500));
        assert_eq!(c.batch.scheduled_delay, Duration::from_millis(100));
        assert_eq!(c.batch.max_queue_size, 10);
        assert_eq!(c.heartbeat_interval, None);
        assert_eq!(c.identity, IdentityMode::Propagated);
        assert!(!c.start_records);
    }

    #[test]
    fn traces_exporter_none_discards_and_other_names_are_rejected() {
        let c = cfg(&[
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
        ])
        .unwrap();
        assert_eq!(c.target, ExportTarget::Discard);
        let c = cfg(&[("OTEL_TRACES_EXPORTER", "otlp")]).unwrap();
        assert_eq!(c.target, ExportTarget::File(PathBuf::from(DEFAULT_FILE)));
        let err = cfg(&[("OTEL_TRACES_EXPORTER", "zipkin")]).unwrap_err();
        assert!(err.to_string().contains("OTEL_TRACES_EXPORTER"), "{err}");
    }

    #[test]
    fn rejects_unknown_protocol() {
        let e = cfg(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "udp")]).unwrap_err();
        assert!(
            e.to_string()
                .contains("\"udp\" is not one of grpc, http/protobuf"),
            "{e}"
        );
        assert!(cfg(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]).is_err());
    }

    #[test]
    fn rejects_non_numeric_numbers() {
        let e = cfg(&[("OTEL_BSP_MAX_QUEUE_SIZE", "lots")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid configuration OTEL_BSP_MAX_QUEUE_SIZE: \"lots\" is not a whole number"
        );
    }

    #[test]
    fn rejects_endpoint_without_scheme() {
        assert!(cfg(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4317")]).is_err());
    }

    #[test]
    fn rejects_malformed_pairs() {
        assert!(cfg(&[("OTEL_EXPORTER_OTLP_HEADERS", "novalue")]).is_err());
        assert!(cfg(&[("OTEL_RESOURCE_ATTRIBUTES", "k=%zz")]).is_err());
    }

    #[test]
    fn no_spool_unless_a_folder_is_set() {
        let c = cfg(&[("ORDERTRACE_SPOOL_MAX_BYTES", "1000000")]).unwrap();
        assert_eq!(c.spool, None);
    }

    #[test]
    fn reads_the_spool_folder_and_its_bounds() {
        let c = cfg(&[
            ("ORDERTRACE_SPOOL_DIR", "/var/spool/ordertrace"),
            ("ORDERTRACE_SPOOL_MAX_BYTES", "1048576"),
            ("ORDERTRACE_SPOOL_MAX_AGE_SECS", "3600"),
        ])
        .unwrap();
        assert_eq!(
            c.spool,
            Some(SpoolSettings {
                dir: PathBuf::from("/var/spool/ordertrace"),
                max_bytes: 1_048_576,
                max_age: Duration::from_secs(3600),
            })
        );
        let c = cfg(&[("ORDERTRACE_SPOOL_DIR", "spool")]).unwrap();
        assert_eq!(c.spool, Some(SpoolSettings::new("spool")));
        assert_eq!(DEFAULT_SPOOL_MAX_BYTES, 268_435_456);
    }

    #[test]
    fn rejects_a_spool_bound_that_is_not_a_number_or_too_small() {
        let e = cfg(&[
            ("ORDERTRACE_SPOOL_DIR", "spool"),
            ("ORDERTRACE_SPOOL_MAX_BYTES", "1GB"),
        ])
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid configuration ORDERTRACE_SPOOL_MAX_BYTES: \"1GB\" is not a whole number"
        );
        let c = cfg(&[
            ("ORDERTRACE_SPOOL_DIR", "spool"),
            ("ORDERTRACE_SPOOL_MAX_BYTES", "100"),
        ])
        .unwrap();
        let e = c.validate().unwrap_err();
        assert!(e.to_string().contains("below the smallest spool"), "{e}");
        let c = cfg(&[
            ("ORDERTRACE_SPOOL_DIR", "spool"),
            ("ORDERTRACE_SPOOL_MAX_AGE_SECS", "0"),
        ])
        .unwrap();
        assert!(c.validate().is_err());
    }

    #[test]
    fn start_record_threshold_defaults_to_the_heartbeat_interval() {
        let c = cfg(&[("ORDERTRACE_HEARTBEAT_MS", "1500")]).unwrap();
        assert_eq!(c.start_record_after, None);
        assert_eq!(
            c.start_record_threshold(),
            Some(Duration::from_millis(1500))
        );
    }

    #[test]
    fn start_record_threshold_without_heartbeats_is_the_default_interval() {
        let c = cfg(&[("ORDERTRACE_HEARTBEAT_MS", "0")]).unwrap();
        assert_eq!(c.start_record_threshold(), Some(DEFAULT_HEARTBEAT_INTERVAL));
    }

    #[test]
    fn start_record_threshold_is_read_and_zero_means_at_once() {
        let c = cfg(&[("ORDERTRACE_START_RECORD_AFTER_MS", "250")]).unwrap();
        assert_eq!(c.start_record_threshold(), Some(Duration::from_millis(250)));
        let c = cfg(&[("ORDERTRACE_START_RECORD_AFTER_MS", "0")]).unwrap();
        assert_eq!(c.start_record_threshold(), Some(Duration::ZERO));
    }

    #[test]
    fn start_record_threshold_is_none_when_start_records_are_off() {
        let c = cfg(&[
            ("ORDERTRACE_START_RECORDS", "false"),
            ("ORDERTRACE_START_RECORD_AFTER_MS", "250"),
        ])
        .unwrap();
        assert_eq!(c.start_record_threshold(), None);
    }

    #[test]
    fn rejects_a_start_record_threshold_that_is_not_a_number() {
        let e = cfg(&[("ORDERTRACE_START_RECORD_AFTER_MS", "soon")]).unwrap_err();
        assert!(
            e.to_string().contains("ORDERTRACE_START_RECORD_AFTER_MS"),
            "{e}"
        );
    }

    #[test]
    fn rejects_bad_bool() {
        assert!(cfg(&[("ORDERTRACE_START_RECORDS", "maybe")]).is_err());
    }

    #[test]
    fn validate_rejects_batch_larger_than_queue_and_zero_sizes() {
        let mut c = PipelineConfig::default();
        c.batch.max_export_batch_size = c.batch.max_queue_size + 1;
        assert!(c.validate().is_err());
        c.batch.max_export_batch_size = 0;
        assert!(c.validate().is_err());
        let c = PipelineConfig {
            service_name: " ".into(),
            ..Default::default()
        };
        assert!(c.validate().is_err());
    }
}
