//! The HTTP routes, answered from a watch over a span file (no socket needed: `route`).

mod common;

use common::{S, TempFile, line, now_ms};
use ordertrace_watch::server::route;
use ordertrace_watch::{Shared, SourceSpec, WatchOptions, service};
use std::sync::Arc;

fn watch(file: &TempFile, config: Option<std::path::PathBuf>, base: &str) -> Arc<Shared> {
    service::once(WatchOptions {
        source: SourceSpec::File(file.0.clone()),
        config_path: config,
        listen: "127.0.0.1:0".into(),
        base_path: base.into(),
        jaeger_ui_url: Some("/jaeger".into()),
        shard: None,
    })
    .unwrap()
}

/// ORD-STUCK inside price_calculated for 60 s (threshold 30 s), ORD-OK just submitted.
fn spans(file: &TempFile) {
    let now = now_ms();
    let mut open = S::stage(
        "ORD-STUCK",
        "price_calculated",
        "00000000000000c1",
        now - 60_000,
        now - 60_000,
    );
    open.record = Some(("stage_start", "00000000000000c0"));
    open.service = "mes-api";
    let mut beat = S::stage(
        "ORD-STUCK",
        "price_calculated",
        "00000000000000c2",
        now - 1_000,
        now - 1_000,
    );
    beat.record = Some(("heartbeat", "00000000000000c0"));
    let mut lines = String::new();
    for (i, e) in [
        "order_submitted",
        "model_uploaded",
        "order_confirmed",
        "order_status_changed",
    ]
    .iter()
    .enumerate()
    {
        let id = format!("00000000000000b{i}");
        let t = now - 70_000 + i as u64 * 100;
        lines.push_str(&line(&[S::stage("ORD-STUCK", e, &id, t, t + 50)]));
        lines.push('\n');
    }
    lines.push_str(&line(&[open, beat]));
    lines.push('\n');
    lines.push_str(&line(&[S::stage(
        "ORD-OK",
        "order_submitted",
        "00000000000000d1",
        now - 500,
        now - 400,
    )]));
    lines.push('\n');
    file.append(&lines);
}

#[test]
fn board_lists_the_stuck_order_first_with_links_under_the_base_path() {
    let file = TempFile::new("board");
    spans(&file);
    let w = watch(&file, None, "/board/");
    let a = route(&w, "GET", "/board/", now_ms());
    assert_eq!(a.status, 200);
    assert!(a.content_type.starts_with("text/html"));
    let attention = a.body.split("id=\"attention\"").nth(1).unwrap();
    let attention = attention.split("</table>").next().unwrap();
    assert!(attention.contains("data-order=\"ORD-STUCK\""));
    assert!(!attention.contains("ORD-OK"));
    assert!(attention.contains("href=\"/board/orders/ORD-STUCK\""));
    assert!(attention.contains("href=\"/jaeger/trace/4bf92f3577b34da6a3ce929d0e0e4736\""));
    assert!(a.body.contains("http-equiv=\"refresh\""));
    assert!(!a.body.contains("<script"));
}

#[test]
fn routes_outside_the_base_path_are_not_found() {
    let file = TempFile::new("base");
    spans(&file);
    let w = watch(&file, None, "/board");
    assert_eq!(route(&w, "GET", "/", now_ms()).status, 404);
    assert_eq!(route(&w, "GET", "/board/healthz", now_ms()).status, 200);
}

#[test]
fn api_filters_by_state_and_explains_an_unknown_state() {
    let file = TempFile::new("api");
    spans(&file);
    let w = watch(&file, None, "");
    let a = route(&w, "GET", "/api/orders?state=stuck_in_stage", now_ms());
    let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(v["total"], 1);
    assert_eq!(v["orders"][0]["order_id"], "ORD-STUCK");
    assert_eq!(v["orders"][0]["stage"], "price_calculated");
    assert_eq!(v["orders"][0]["service"], "mes-api");
    assert_eq!(v["counts"]["stuck_in_stage"], 1);
    let bad = route(&w, "GET", "/api/orders?state=sleepy", now_ms());
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("stuck_in_stage"), "{}", bad.body);
    assert_eq!(
        route(&w, "GET", "/api/orders?limit=0", now_ms()).status,
        400
    );
}

#[test]
fn one_order_has_its_timeline_and_unknown_or_malformed_ids_are_refused() {
    let file = TempFile::new("one");
    spans(&file);
    let w = watch(&file, None, "");
    let a = route(&w, "GET", "/api/orders/ORD-STUCK", now_ms());
    assert_eq!(a.status, 200);
    let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(v["stages"].as_array().unwrap().len(), 5);
    assert_eq!(v["stages"][4]["open"], true);
    assert_eq!(
        route(&w, "GET", "/api/orders/ORD-NOPE", now_ms()).status,
        404
    );
    assert_eq!(route(&w, "GET", "/api/orders/%ZZ", now_ms()).status, 400);
    assert_eq!(
        route(&w, "GET", "/api/orders/ORD%07X", now_ms()).status,
        400
    );
    let page = route(&w, "GET", "/orders/ORD-STUCK", now_ms());
    assert!(page.body.contains("id=\"timeline\""));
    assert!(page.body.contains("still open"));
}

#[test]
fn metrics_have_state_counts_per_order_alerts_and_skips() {
    let file = TempFile::new("metrics");
    spans(&file);
    file.append("garbage\n");
    let w = watch(&file, None, "");
    let m = route(&w, "GET", "/metrics", now_ms()).body;
    assert!(
        m.contains(
            "ordertrace_watch_orders{state=\"stuck_in_stage\",stage=\"price_calculated\"} 1"
        ),
        "{m}"
    );
    assert!(m.contains("ordertrace_watch_order_alert{order_id=\"ORD-STUCK\",stage=\"price_calculated\",service=\"mes-api\",reason=\"stuck_in_stage\""), "{m}");
    assert!(
        m.contains("ordertrace_watch_spans_skipped_total{reason=\"malformed_json\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("ordertrace_watch_order_alerts_overflow 0"),
        "{m}"
    );
    assert!(
        m.contains("ordertrace_watch_stage_duration_seconds_count{stage=\"order_submitted\"} 2"),
        "{m}"
    );
    assert!(
        m.contains("ordertrace_watch_source_up{source=\"file\""),
        "{m}"
    );
}

#[test]
fn alert_series_are_capped_and_the_overflow_counted() {
    let file = TempFile::new("cap");
    spans(&file);
    let cfg = TempFile::new("cap-toml");
    std::fs::write(&cfg.0, "[watch]\nmax_alert_series = 0\n").unwrap();
    let w = watch(&file, Some(cfg.0.clone()), "");
    let m = route(&w, "GET", "/metrics", now_ms()).body;
    assert!(!m.contains("ordertrace_watch_order_alert{"), "{m}");
    assert!(
        m.contains("ordertrace_watch_order_alerts_overflow 1"),
        "{m}"
    );
}

#[test]
fn reload_applies_a_good_config_and_refuses_a_bad_one() {
    let file = TempFile::new("reload");
    spans(&file);
    let cfg = TempFile::new("reload-toml");
    std::fs::write(&cfg.0, "[stuck]\nprice_calculated = \"30s\"\n").unwrap();
    let w = watch(&file, Some(cfg.0.clone()), "");
    std::fs::write(&cfg.0, "[stuck]\nprice_calculated = \"10m\"\n").unwrap();
    assert_eq!(route(&w, "POST", "/api/reload", now_ms()).status, 200);
    let v: serde_json::Value =
        serde_json::from_str(&route(&w, "GET", "/api/orders/ORD-STUCK", now_ms()).body).unwrap();
    assert_eq!(v["state"], "in_stage");
    std::fs::write(&cfg.0, "[stuck]\nprice_calculated = \"soon\"\n").unwrap();
    let refused = route(&w, "POST", "/api/reload", now_ms());
    assert_eq!(refused.status, 400);
    assert!(
        refused.body.contains("stuck.price_calculated"),
        "{}",
        refused.body
    );
    let v: serde_json::Value =
        serde_json::from_str(&route(&w, "GET", "/api/orders/ORD-STUCK", now_ms()).body).unwrap();
    assert_eq!(v["state"], "in_stage", "the old config is kept");
    assert!(
        route(&w, "GET", "/metrics", now_ms())
            .body
            .contains("ordertrace_watch_config_reloads_total{result=\"refused\"} 1")
    );
}

#[test]
fn writes_other_than_reload_are_refused() {
    let file = TempFile::new("write");
    spans(&file);
    let w = watch(&file, None, "");
    assert_eq!(
        route(&w, "DELETE", "/api/orders/ORD-OK", now_ms()).status,
        405
    );
    assert_eq!(route(&w, "POST", "/api/orders", now_ms()).status, 404);
}

#[test]
fn stale_source_is_shown_on_the_board_and_fine_orders_become_unknown() {
    let file = TempFile::new("stale");
    spans(&file);
    let w = watch(&file, None, "");
    let later = now_ms() + 120_000;
    let board = route(&w, "GET", "/", later).body;
    assert!(board.contains("id=\"stale\""));
    let v: serde_json::Value =
        serde_json::from_str(&route(&w, "GET", "/api/orders/ORD-OK", later).body).unwrap();
    assert_eq!(v["state"], "unknown");
    assert!(
        route(&w, "GET", "/healthz", later)
            .body
            .contains("\"source_up\":false")
    );
}
