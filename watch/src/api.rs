//! The JSON API (`/api/orders`, `/api/orders/{id}`) and the `--once` report, text and JSON.

use crate::order_state::{StateKind, human};
use crate::service::Shared;
use crate::tracker::{OrderView, StageView, Survey};
use serde_json::{Value, json};

/// Default and largest number of orders listed by `/api/orders`.
pub const LIST_LIMIT: usize = 1000;

/// An order view as JSON; `trace_url` is added when trace links are configured.
pub fn order_json(v: &OrderView, now_ms: u64, trace_base: Option<&str>) -> Value {
    json!({
        "order_id": v.order_id,
        "state": v.state.name(),
        "alerting": v.state.is_alerting(),
        "stage": v.stage.name(),
        "service": v.service,
        "since_unix_ms": v.since_ms,
        "for_ms": now_ms.saturating_sub(v.since_ms),
        "detail": v.detail,
        "trace_id": v.trace_id,
        "trace_url": trace_base.map(|b| format!("{b}/trace/{}", v.trace_id)),
    })
}

fn stage_json(s: &StageView) -> Value {
    json!({
        "stage": s.stage.name(),
        "service": s.service,
        "start_unix_ms": s.start_ms,
        "duration_ms": s.duration_ms,
        "open": s.open,
        "failed": s.failed,
        "last_seen_unix_ms": s.last_seen_ms,
    })
}

fn counts_json(survey: &Survey) -> Value {
    let mut by_state = serde_json::Map::new();
    for s in StateKind::ALL {
        by_state.insert(s.name().to_string(), json!(survey.count(s)));
    }
    Value::Object(by_state)
}

/// `GET /api/orders[?state=...&limit=...]`: orders, most urgent first.
pub fn list(shared: &Shared, now_ms: u64, state: Option<StateKind>, limit: usize) -> Value {
    let survey = shared.survey(now_ms, |s| state.is_none_or(|want| want == s));
    let trace_base = shared.options.trace_link_base();
    let cfg = shared.config();
    json!({
        "source": shared.health().to_json(now_ms, crate::millis(cfg.stale_after)),
        "counts": counts_json(&survey),
        "total": survey.orders.len(),
        "orders": survey.orders.iter().take(limit).map(|v| order_json(v, now_ms, trace_base.as_deref())).collect::<Vec<_>>(),
    })
}

/// `GET /api/orders/{id}`: one order's state and timeline; `None` when unknown.
pub fn one(shared: &Shared, now_ms: u64, order_id: &str) -> Option<Value> {
    let cfg = shared.config();
    let stale = shared.is_stale(now_ms);
    let t = shared.tracker.lock().ok()?;
    let view = t.order(order_id, now_ms, &cfg, stale)?;
    let trace_base = shared.options.trace_link_base();
    let mut v = order_json(&view, now_ms, trace_base.as_deref());
    v["stale"] = json!(stale);
    v["crm_status"] = json!(t.crm_status(order_id));
    v["last_error"] = json!(t.last_error(order_id));
    v["stages"] = json!(
        t.stages(order_id, now_ms)
            .iter()
            .map(stage_json)
            .collect::<Vec<_>>()
    );
    Some(v)
}

/// The `--once --json` document: source, counts, every order needing attention.
pub fn once_json(shared: &Shared, now_ms: u64) -> Value {
    let survey = shared.survey(now_ms, StateKind::is_alerting);
    let cfg = shared.config();
    let trace_base = shared.options.trace_link_base();
    let skipped: serde_json::Map<String, Value> = shared
        .tracker
        .lock()
        .map(|t| {
            t.skipped
                .iter()
                .map(|(r, n)| (r.name().to_string(), json!(n)))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "needs_attention": survey.alerting(),
        "stale": shared.is_stale(now_ms),
        "source": shared.health().to_json(now_ms, crate::millis(cfg.stale_after)),
        "counts": counts_json(&survey),
        "skipped": skipped,
        "orders": survey.orders.iter().map(|v| order_json(v, now_ms, trace_base.as_deref())).collect::<Vec<_>>(),
    })
}

/// The `--once` text report.
pub fn once_text(shared: &Shared, now_ms: u64) -> String {
    let survey = shared.survey(now_ms, StateKind::is_alerting);
    let health = shared.health();
    let mut out = String::new();
    let total: u64 = survey.counts.values().sum();
    out.push_str(&format!(
        "ordertrace watch: {total} orders from {} {}\n",
        health.kind, health.target
    ));
    let counts: Vec<String> = StateKind::ALL
        .iter()
        .filter(|s| survey.count(**s) > 0)
        .map(|s| format!("{} {}", survey.count(*s), s.name()))
        .collect();
    out.push_str(&format!("  {}\n", counts.join(", ")));
    if let Ok(t) = shared.tracker.lock() {
        let skipped: Vec<String> = t
            .skipped
            .iter()
            .filter(|(r, _)| **r != crate::tracker::SkipReason::NotAStage)
            .map(|(r, n)| format!("{n} {}", r.name()))
            .collect();
        if !skipped.is_empty() {
            out.push_str(&format!("  skipped input: {}\n", skipped.join(", ")));
        }
    }
    if shared.is_stale(now_ms) {
        out.push_str(&format!(
            "  SOURCE STALE: {} (no order can be called fine)\n",
            health.last_error.as_deref().unwrap_or("no successful read")
        ));
    }
    if survey.orders.is_empty() {
        out.push_str("nothing needs attention\n");
    } else {
        out.push_str(&format!("{} orders need attention:\n", survey.orders.len()));
        for v in &survey.orders {
            out.push_str(&format!(
                "  {:<22} {:<24} {:<24} {:<9} for {:>7}  {}\n",
                v.state.name(),
                v.order_id,
                v.stage.name(),
                v.service,
                human(now_ms.saturating_sub(v.since_ms)),
                v.detail
            ));
        }
    }
    out
}
