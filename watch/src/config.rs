//! The watch's thresholds, windows and the CRM-status mapping: one TOML file, every key
//! optional, defaults from the schema's stages, checked at start-up (and on reload) with
//! errors that name the key.
//!
//! ```
//! let cfg = ordertrace_watch::WatchConfig::from_toml_str(r#"
//!     [stuck]
//!     price_calculated = "45s"
//!     [status]
//!     on_hold = ["none", "price_calculated"]
//! "#, "example.toml").unwrap();
//! assert_eq!(cfg.stuck_after(ordertrace::OrderEvent::PriceCalculated).as_secs(), 45);
//! ```

use crate::error::{Result, WatchError};
use ordertrace::OrderEvent;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Where the MES is for an order: `None` before any MES stage, else the furthest MES stage
/// started. What a CRM status allows is a set of these.
pub type MesPosition = Option<OrderEvent>;

/// The MES stages, in lifecycle order (the positions a status can allow besides "none").
pub const MES_STAGES: [OrderEvent; 3] = [
    OrderEvent::PriceCalculated,
    OrderEvent::ManufacturingStarted,
    OrderEvent::ManufacturingCompleted,
];

/// The watch's configuration (see `deploy/watch/watch.toml` for every key with its default).
#[derive(Debug, Clone, PartialEq)]
pub struct WatchConfig {
    /// How often the source is read (Jaeger poll, file check).
    pub poll_interval: Duration,
    /// How far back Jaeger is read at start, so a restart rebuilds the same state.
    pub lookback: Duration,
    /// Each Jaeger poll re-reads this much before the previous one's end (late spans).
    pub overlap: Duration,
    /// Timeout of one request to Jaeger.
    pub request_timeout: Duration,
    /// The source counts as stale (down) when its last successful read is older than this.
    pub stale_after: Duration,
    /// Spans starting later than now + this are skipped (clock skew, garbage).
    pub max_future_skew: Duration,
    /// Spans starting earlier than now - this are skipped (far past).
    pub max_span_age: Duration,
    /// At most this many per-order alert series on /metrics; the rest are counted.
    pub max_alert_series: usize,
    /// A failed stage counts as failed only if nothing succeeded within this window.
    pub retry_window: Duration,
    /// An open stage with no start record or heartbeat for this long is lost.
    pub lost_after: Duration,
    /// Missing earlier stages are reported after this grace (late spans arrive).
    pub incomplete_grace: Duration,
    /// CRM status and MES may disagree this long before it is a mismatch.
    pub status_grace: Duration,
    /// Longest time inside each stage.
    pub stuck: BTreeMap<OrderEvent, Duration>,
    /// Longest wait for each stage after the previous one ended.
    pub stalled: BTreeMap<OrderEvent, Duration>,
    /// CRM status (`order.status.to`) -> MES positions consistent with it. A status not
    /// listed is not checked.
    pub status: BTreeMap<String, Vec<MesPosition>>,
}

impl Default for WatchConfig {
    fn default() -> Self {
        use OrderEvent::*;
        let stuck = [
            (OrderSubmitted, 30),
            (ModelUploaded, 120),
            (OrderConfirmed, 300),
            (OrderStatusChanged, 300),
            (PriceCalculated, 30),
            (ManufacturingStarted, 120),
            (ManufacturingCompleted, 3600),
            (OrderShipped, 300),
        ];
        let stalled = [
            (ModelUploaded, 600),
            (OrderConfirmed, 60),
            (OrderStatusChanged, 300),
            (PriceCalculated, 120),
            (ManufacturingStarted, 300),
            (ManufacturingCompleted, 300),
            (OrderShipped, 3600),
        ];
        let status = [
            ("confirmed", vec![None, Some(PriceCalculated)]),
            (
                "in_production",
                vec![
                    Some(PriceCalculated),
                    Some(ManufacturingStarted),
                    Some(ManufacturingCompleted),
                ],
            ),
            (
                "cancelled",
                vec![None, Some(PriceCalculated), Some(ManufacturingCompleted)],
            ),
            ("shipped", vec![Some(ManufacturingCompleted)]),
        ];
        WatchConfig {
            poll_interval: Duration::from_secs(5),
            lookback: Duration::from_secs(3600),
            overlap: Duration::from_secs(30),
            request_timeout: Duration::from_secs(10),
            stale_after: Duration::from_secs(30),
            max_future_skew: Duration::from_secs(300),
            max_span_age: Duration::from_secs(30 * 24 * 3600),
            max_alert_series: 500,
            retry_window: Duration::from_secs(120),
            lost_after: Duration::from_secs(90),
            incomplete_grace: Duration::from_secs(60),
            status_grace: Duration::from_secs(120),
            stuck: stuck
                .into_iter()
                .map(|(e, s)| (e, Duration::from_secs(s)))
                .collect(),
            stalled: stalled
                .into_iter()
                .map(|(e, s)| (e, Duration::from_secs(s)))
                .collect(),
            status: status
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    watch: RawWatch,
    #[serde(default)]
    stuck: BTreeMap<String, String>,
    #[serde(default)]
    stalled: BTreeMap<String, String>,
    #[serde(default)]
    status: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWatch {
    poll_interval: Option<String>,
    lookback: Option<String>,
    overlap: Option<String>,
    request_timeout: Option<String>,
    stale_after: Option<String>,
    max_future_skew: Option<String>,
    max_span_age: Option<String>,
    max_alert_series: Option<i64>,
    retry_window: Option<String>,
    lost_after: Option<String>,
    incomplete_grace: Option<String>,
    status_grace: Option<String>,
}

impl WatchConfig {
    /// Reads and checks a TOML file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| WatchError::Config {
            path: path.display().to_string(),
            reason: format!("cannot read it: {e}"),
        })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// Parses and checks TOML text; `name` is used in error messages.
    pub fn from_toml_str(text: &str, name: &str) -> Result<Self> {
        let err = |reason: String| WatchError::Config {
            path: name.to_string(),
            reason,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let mut cfg = WatchConfig::default();
        let w = raw.watch;
        let fields: [(&str, Option<String>, &mut Duration); 11] = [
            (
                "watch.poll_interval",
                w.poll_interval,
                &mut cfg.poll_interval,
            ),
            ("watch.lookback", w.lookback, &mut cfg.lookback),
            ("watch.overlap", w.overlap, &mut cfg.overlap),
            (
                "watch.request_timeout",
                w.request_timeout,
                &mut cfg.request_timeout,
            ),
            ("watch.stale_after", w.stale_after, &mut cfg.stale_after),
            (
                "watch.max_future_skew",
                w.max_future_skew,
                &mut cfg.max_future_skew,
            ),
            ("watch.max_span_age", w.max_span_age, &mut cfg.max_span_age),
            ("watch.retry_window", w.retry_window, &mut cfg.retry_window),
            ("watch.lost_after", w.lost_after, &mut cfg.lost_after),
            (
                "watch.incomplete_grace",
                w.incomplete_grace,
                &mut cfg.incomplete_grace,
            ),
            ("watch.status_grace", w.status_grace, &mut cfg.status_grace),
        ];
        for (key, value, slot) in fields {
            if let Some(v) = value {
                *slot = duration(key, &v).map_err(err)?;
            }
        }
        if let Some(n) = w.max_alert_series {
            cfg.max_alert_series = usize::try_from(n)
                .map_err(|_| err(format!("watch.max_alert_series: {n} must be 0 or more")))?;
        }
        if raw.stalled.contains_key(OrderEvent::OrderSubmitted.name()) {
            return Err(err(
                "stalled.order_submitted: the first stage has no stage before it to wait after"
                    .into(),
            ));
        }
        for (table, raw_map, target) in [
            ("stuck", raw.stuck, &mut cfg.stuck),
            ("stalled", raw.stalled, &mut cfg.stalled),
        ] {
            for (stage, v) in raw_map {
                let event: OrderEvent = stage.parse().map_err(|_| {
                    err(format!(
                        "{table}.{stage}: unknown stage; stages are {}",
                        OrderEvent::names().join(", ")
                    ))
                })?;
                target.insert(
                    event,
                    duration(&format!("{table}.{stage}"), &v).map_err(err)?,
                );
            }
        }
        for (status, positions) in raw.status {
            ordertrace::schema::validate_status("status", &status)
                .map_err(|e| err(format!("status.{status}: {e}")))?;
            let mut parsed = Vec::new();
            for p in positions {
                parsed.push(mes_position(&p).ok_or_else(|| {
                    err(format!(
                        "status.{status}: {p:?} is not a MES position; use \"none\" or one of {}",
                        MES_STAGES.map(|e| e.name()).join(", ")
                    ))
                })?);
            }
            if parsed.is_empty() {
                return Err(err(format!(
                    "status.{status}: an empty list would make every order with this status a mismatch; list the MES positions it allows"
                )));
            }
            cfg.status.insert(status, parsed);
        }
        cfg.check().map_err(err)?;
        Ok(cfg)
    }

    fn check(&self) -> std::result::Result<(), String> {
        let positive = [
            ("watch.poll_interval", self.poll_interval),
            ("watch.request_timeout", self.request_timeout),
            ("watch.stale_after", self.stale_after),
            ("watch.lost_after", self.lost_after),
        ];
        for (key, d) in positive {
            if d.is_zero() {
                return Err(format!("{key} must be more than 0"));
            }
        }
        if self.stale_after < self.poll_interval {
            return Err(format!(
                "watch.stale_after ({}) is shorter than watch.poll_interval ({}): the source would always look stale",
                humantime::format_duration(self.stale_after),
                humantime::format_duration(self.poll_interval)
            ));
        }
        if self.overlap >= self.lookback && !self.lookback.is_zero() {
            return Err("watch.overlap must be shorter than watch.lookback".into());
        }
        Ok(())
    }

    /// Longest time inside `stage`.
    pub fn stuck_after(&self, stage: OrderEvent) -> Duration {
        self.stuck
            .get(&stage)
            .copied()
            .unwrap_or(Duration::from_secs(300))
    }

    /// Longest wait for `stage` after the previous one ended.
    pub fn stalled_after(&self, stage: OrderEvent) -> Duration {
        self.stalled
            .get(&stage)
            .copied()
            .unwrap_or(Duration::from_secs(600))
    }

    /// The MES positions `status` allows, `None` when the status is not checked.
    pub fn allowed_positions(&self, status: &str) -> Option<&[MesPosition]> {
        self.status.get(status).map(Vec::as_slice)
    }
}

/// `"none"` or a MES stage name.
pub fn mes_position(text: &str) -> Option<MesPosition> {
    if text == "none" {
        return Some(None);
    }
    let event: OrderEvent = text.parse().ok()?;
    MES_STAGES.contains(&event).then_some(Some(event))
}

/// The name of a MES position (`none` or the stage).
pub fn mes_position_name(p: MesPosition) -> &'static str {
    p.map_or("none", OrderEvent::name)
}

fn duration(key: &str, value: &str) -> std::result::Result<Duration, String> {
    humantime::parse_duration(value.trim())
        .map_err(|e| format!("{key}: {value:?} is not a duration like 30s, 5m or 1h ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> std::result::Result<WatchConfig, String> {
        WatchConfig::from_toml_str(text, "t.toml").map_err(|e| e.to_string())
    }

    #[test]
    fn empty_file_gives_the_defaults() {
        assert_eq!(parse("").unwrap(), WatchConfig::default());
    }

    #[test]
    fn stage_thresholds_override_the_defaults() {
        let c = parse("[stuck]\nprice_calculated = \"5s\"\n[stalled]\norder_confirmed = \"2m\"")
            .unwrap();
        assert_eq!(
            c.stuck_after(OrderEvent::PriceCalculated),
            Duration::from_secs(5)
        );
        assert_eq!(
            c.stalled_after(OrderEvent::OrderConfirmed),
            Duration::from_secs(120)
        );
        assert_eq!(
            c.stuck_after(OrderEvent::OrderShipped),
            Duration::from_secs(300)
        );
    }

    #[test]
    fn unknown_stage_is_named_with_the_valid_ones() {
        let e = parse("[stuck]\npricing = \"5s\"").unwrap_err();
        assert!(e.contains("stuck.pricing: unknown stage"), "{e}");
        assert!(e.contains("price_calculated"), "{e}");
    }

    #[test]
    fn bad_duration_names_the_key() {
        let e = parse("[watch]\npoll_interval = \"fast\"").unwrap_err();
        assert!(e.contains("watch.poll_interval"), "{e}");
        assert!(e.contains("not a duration"), "{e}");
    }

    #[test]
    fn unknown_key_is_rejected() {
        let e = parse("[watch]\npol_interval = \"5s\"").unwrap_err();
        assert!(e.contains("pol_interval"), "{e}");
    }

    #[test]
    fn zero_poll_interval_is_rejected() {
        let e = parse("[watch]\npoll_interval = \"0s\"").unwrap_err();
        assert!(e.contains("watch.poll_interval must be more than 0"), "{e}");
    }

    #[test]
    fn stale_after_shorter_than_poll_interval_is_rejected() {
        let e = parse("[watch]\npoll_interval = \"10s\"\nstale_after = \"5s\"").unwrap_err();
        assert!(e.contains("always look stale"), "{e}");
    }

    #[test]
    fn negative_series_cap_is_rejected() {
        let e = parse("[watch]\nmax_alert_series = -1").unwrap_err();
        assert!(e.contains("max_alert_series"), "{e}");
    }

    #[test]
    fn status_mapping_accepts_none_and_mes_stages_only() {
        let c = parse("[status]\non_hold = [\"none\", \"price_calculated\"]").unwrap();
        assert_eq!(
            c.allowed_positions("on_hold"),
            Some(&[None, Some(OrderEvent::PriceCalculated)][..])
        );
        let e = parse("[status]\non_hold = [\"order_shipped\"]").unwrap_err();
        assert!(e.contains("not a MES position"), "{e}");
        let e = parse("[status]\non_hold = []").unwrap_err();
        assert!(e.contains("empty list"), "{e}");
    }

    #[test]
    fn stalled_before_the_first_stage_is_rejected() {
        let e = parse("[stalled]\norder_submitted = \"1m\"").unwrap_err();
        assert!(e.contains("first stage"), "{e}");
    }

    #[test]
    fn default_mapping_matches_the_example_crm() {
        let c = WatchConfig::default();
        let in_production = c.allowed_positions("in_production").unwrap();
        assert!(!in_production.contains(&None));
        assert!(c.allowed_positions("confirmed").unwrap().contains(&None));
    }
}

#[cfg(test)]
mod shipped_file_tests {
    use super::*;

    #[test]
    fn the_documented_config_file_equals_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/watch/watch.toml");
        assert_eq!(
            WatchConfig::from_file(&path).unwrap(),
            WatchConfig::default()
        );
    }
}
