//! `/metrics` in Prometheus text format: orders per state and stage, one series per order in
//! an alerting state (capped, overflow counted), stage duration histograms, source
//! freshness, read errors and skipped input per reason.

use crate::order_state::StateKind;
use crate::service::Shared;
use crate::tracker::{DURATION_BUCKETS, SkipReason};
use ordertrace::OrderEvent;
use std::fmt::Write;
use std::sync::atomic::Ordering;

/// Escapes a label value.
pub fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Renders every metric at `now_ms`.
pub fn render(shared: &Shared, now_ms: u64) -> String {
    let cfg = shared.config();
    let survey = shared.survey(now_ms, StateKind::is_alerting);
    let health = shared.health();
    let stale = health.is_stale(now_ms, crate::millis(cfg.stale_after));
    let mut out = String::with_capacity(8192);
    let o = &mut out;

    let _ = writeln!(
        o,
        "# HELP ordertrace_watch_orders Orders tracked, per state and stage (stage: the open one, the one waited for, or the first missing one)."
    );
    let _ = writeln!(o, "# TYPE ordertrace_watch_orders gauge");
    for state in StateKind::ALL {
        for stage in OrderEvent::ALL {
            let n = survey.counts.get(&(state, stage)).copied().unwrap_or(0);
            let _ = writeln!(
                o,
                "ordertrace_watch_orders{{state=\"{}\",stage=\"{}\"}} {n}",
                state.name(),
                stage.name()
            );
        }
    }

    let _ = writeln!(
        o,
        "# HELP ordertrace_watch_order_alert One series per order in an alerting state (value: seconds since the threshold was crossed), most urgent first, capped by max_alert_series."
    );
    let _ = writeln!(o, "# TYPE ordertrace_watch_order_alert gauge");
    let cap = cfg.max_alert_series;
    for v in survey.orders.iter().take(cap) {
        let _ = writeln!(
            o,
            "ordertrace_watch_order_alert{{order_id=\"{}\",stage=\"{}\",service=\"{}\",reason=\"{}\",trace_id=\"{}\"}} {:.3}",
            label(&v.order_id),
            v.stage.name(),
            label(&v.service),
            v.state.name(),
            v.trace_id,
            now_ms.saturating_sub(v.since_ms) as f64 / 1000.0
        );
    }
    let _ = writeln!(
        o,
        "# HELP ordertrace_watch_order_alerts_overflow Orders in an alerting state left out of ordertrace_watch_order_alert by the cap."
    );
    let _ = writeln!(o, "# TYPE ordertrace_watch_order_alerts_overflow gauge");
    let _ = writeln!(
        o,
        "ordertrace_watch_order_alerts_overflow {}",
        survey.orders.len().saturating_sub(cap)
    );

    let (tracked, ingested, skipped, durations) = match shared.tracker.lock() {
        Ok(t) => (t.len(), t.ingested, t.skipped.clone(), t.durations.clone()),
        Err(_) => Default::default(),
    };
    let _ = writeln!(
        o,
        "# HELP ordertrace_watch_orders_tracked Orders in memory."
    );
    let _ = writeln!(o, "# TYPE ordertrace_watch_orders_tracked gauge");
    let _ = writeln!(o, "ordertrace_watch_orders_tracked {tracked}");
    let _ = writeln!(
        o,
        "# HELP ordertrace_watch_spans_ingested_total Spans applied to an order."
    );
    let _ = writeln!(o, "# TYPE ordertrace_watch_spans_ingested_total counter");
    let _ = writeln!(o, "ordertrace_watch_spans_ingested_total {ingested}");
    let _ = writeln!(
        o,
        "# HELP ordertrace_watch_spans_skipped_total Spans (or lines) skipped, per reason."
    );
    let _ = writeln!(o, "# TYPE ordertrace_watch_spans_skipped_total counter");
    for r in SkipReason::ALL {
        let _ = writeln!(
            o,
            "ordertrace_watch_spans_skipped_total{{reason=\"{}\"}} {}",
            r.name(),
            skipped.get(&r).copied().unwrap_or(0)
        );
    }

    let _ = writeln!(
        o,
        "# HELP ordertrace_watch_stage_duration_seconds Duration of ended stages."
    );
    let _ = writeln!(
        o,
        "# TYPE ordertrace_watch_stage_duration_seconds histogram"
    );
    for (stage, h) in &durations {
        let mut cumulative = 0;
        for (i, le) in DURATION_BUCKETS.iter().enumerate() {
            cumulative += h.buckets[i];
            let _ = writeln!(
                o,
                "ordertrace_watch_stage_duration_seconds_bucket{{stage=\"{}\",le=\"{le}\"}} {cumulative}",
                stage.name()
            );
        }
        let _ = writeln!(
            o,
            "ordertrace_watch_stage_duration_seconds_bucket{{stage=\"{}\",le=\"+Inf\"}} {}",
            stage.name(),
            h.count
        );
        let _ = writeln!(
            o,
            "ordertrace_watch_stage_duration_seconds_sum{{stage=\"{}\"}} {}",
            stage.name(),
            h.sum
        );
        let _ = writeln!(
            o,
            "ordertrace_watch_stage_duration_seconds_count{{stage=\"{}\"}} {}",
            stage.name(),
            h.count
        );
    }

    let src = format!(
        "source=\"{}\",target=\"{}\"",
        health.kind,
        label(&health.target)
    );
    let _ = writeln!(
        o,
        "# HELP ordertrace_watch_source_up 1 when the source answered within stale_after, else 0 (orders that looked fine are then reported unknown)."
    );
    let _ = writeln!(o, "# TYPE ordertrace_watch_source_up gauge");
    let _ = writeln!(
        o,
        "ordertrace_watch_source_up{{{src}}} {}",
        u8::from(!stale)
    );
    let _ = writeln!(
        o,
        "# HELP ordertrace_watch_source_last_success_timestamp_seconds Unix time of the last successful read (0: never)."
    );
    let _ = writeln!(
        o,
        "# TYPE ordertrace_watch_source_last_success_timestamp_seconds gauge"
    );
    let _ = writeln!(
        o,
        "ordertrace_watch_source_last_success_timestamp_seconds{{{src}}} {:.3}",
        health.last_success_ms.unwrap_or(0) as f64 / 1000.0
    );
    let _ = writeln!(
        o,
        "# HELP ordertrace_watch_source_reads_total Reads of the source (polls of Jaeger, reads of the file)."
    );
    let _ = writeln!(o, "# TYPE ordertrace_watch_source_reads_total counter");
    let _ = writeln!(
        o,
        "ordertrace_watch_source_reads_total{{{src}}} {}",
        health.reads_total
    );
    let _ = writeln!(
        o,
        "# HELP ordertrace_watch_poll_errors_total Failed reads of the source."
    );
    let _ = writeln!(o, "# TYPE ordertrace_watch_poll_errors_total counter");
    let _ = writeln!(
        o,
        "ordertrace_watch_poll_errors_total{{{src}}} {}",
        health.errors_total
    );
    let _ = writeln!(
        o,
        "# HELP ordertrace_watch_config_reloads_total Config reloads (SIGHUP, POST /api/reload), per result."
    );
    let _ = writeln!(o, "# TYPE ordertrace_watch_config_reloads_total counter");
    let _ = writeln!(
        o,
        "ordertrace_watch_config_reloads_total{{result=\"ok\"}} {}",
        shared.reloads_ok.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        o,
        "ordertrace_watch_config_reloads_total{{result=\"refused\"}} {}",
        shared.reloads_failed.load(Ordering::Relaxed)
    );
    out
}
