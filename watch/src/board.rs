//! The order board: plain server-rendered HTML, readable without JavaScript, refreshing
//! itself. Orders needing attention first (state, stage, service, for how long, a link to
//! the trace in Jaeger's UI), then the orders in flight; one page per order with its
//! timeline. Every link carries the base path, so the board works behind a gateway.

use crate::order_state::{StateKind, human};
use crate::service::Shared;
use std::fmt::Write;

/// Seconds between refreshes of a page.
pub const REFRESH_SECONDS: u32 = 5;
/// Orders in flight (not alerting) listed below the alerting ones.
pub const IN_FLIGHT_SHOWN: usize = 100;
/// Alerting orders listed at most.
pub const ALERTING_SHOWN: usize = 500;

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a path segment (order ids may hold any printable character).
pub fn path_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse;width:100%;margin-bottom:1.5em}th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #ddd;font-size:14px}\
th{background:#f3f3f3}.st{font-weight:bold;border-radius:3px;padding:.1em .4em;color:#fff}\
.lost,.failed{background:#b00020}.status_mismatch{background:#8e24aa}.stuck_in_stage{background:#d84315}\
.stalled_between_stages{background:#ef6c00}.incomplete{background:#6d4c41}.unknown{background:#757575}\
.in_stage,.waiting{background:#1565c0}.completed{background:#2e7d32}.banner{background:#fff3cd;border:1px solid #e0b000;padding:.6em;margin:1em 0}\
.counts span{margin-right:1em}.detail{color:#555}";

fn page(shared: &Shared, title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">\
<title>{}</title><style>{STYLE}</style></head><body>\
<p><a href=\"{}/\">order board</a> · <a href=\"{}/metrics\">metrics</a> · <a href=\"{}/api/orders\">JSON</a></p>\n{body}</body></html>\n",
        esc(title),
        shared.base_path,
        shared.base_path,
        shared.base_path
    )
}

fn state_badge(s: StateKind) -> String {
    format!("<span class=\"st {0}\">{0}</span>", s.name())
}

fn trace_link(shared: &Shared, trace_id: &str) -> String {
    match shared.options.trace_link_base() {
        Some(base) => format!(
            "<a class=\"trace\" href=\"{}/trace/{trace_id}\">trace</a>",
            esc(&base)
        ),
        None => format!("<code>{trace_id}</code>"),
    }
}

fn source_banner(shared: &Shared, now_ms: u64) -> String {
    let h = shared.health();
    if shared.is_stale(now_ms) {
        format!(
            "<div class=\"banner\" id=\"stale\"><b>Source stale</b>: {} {} last answered {}; {}. Orders that looked fine are shown as <i>unknown</i>.</div>",
            esc(h.kind),
            esc(&h.target),
            h.last_success_ms.map_or("never".to_string(), |t| format!(
                "{} ago",
                human(now_ms.saturating_sub(t))
            )),
            esc(h.last_error.as_deref().unwrap_or("no successful read yet"))
        )
    } else {
        format!(
            "<p class=\"detail\">Source: {} {}, read {} ago.</p>",
            esc(h.kind),
            esc(&h.target),
            h.last_success_ms
                .map_or("never".to_string(), |t| human(now_ms.saturating_sub(t)))
        )
    }
}

/// `GET /`: the board.
pub fn index(shared: &Shared, now_ms: u64) -> String {
    let mut in_flight = 0usize;
    let survey = shared.survey(now_ms, |s| {
        if s.is_alerting() {
            return true;
        }
        if matches!(
            s,
            StateKind::InStage | StateKind::Waiting | StateKind::Unknown
        ) && in_flight < IN_FLIGHT_SHOWN
        {
            in_flight += 1;
            return true;
        }
        false
    });
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>Orders needing attention</h1>{}",
        source_banner(shared, now_ms)
    );
    b.push_str("<p class=\"counts\">");
    for s in StateKind::ALL {
        let _ = write!(b, "<span>{} {}</span>", state_badge(s), survey.count(s));
    }
    b.push_str("</p>\n");
    let (alerting, rest): (Vec<_>, Vec<_>) =
        survey.orders.iter().partition(|v| v.state.is_alerting());
    let table = |b: &mut String, rows: &[&crate::tracker::OrderView], id: &str| {
        let _ = writeln!(
            b,
            "<table id=\"{id}\"><tr><th>state</th><th>order</th><th>stage</th><th>service</th><th>for</th><th>what</th><th>trace</th></tr>"
        );
        for v in rows {
            let _ = writeln!(
                b,
                "<tr class=\"order\" data-order=\"{}\"><td>{}</td><td><a href=\"{}/orders/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td class=\"detail\">{}</td><td>{}</td></tr>",
                esc(&v.order_id),
                state_badge(v.state),
                shared.base_path,
                path_segment(&v.order_id),
                esc(&v.order_id),
                v.stage.name(),
                esc(&v.service),
                human(now_ms.saturating_sub(v.since_ms)),
                esc(&v.detail),
                trace_link(shared, &v.trace_id)
            );
        }
        b.push_str("</table>\n");
    };
    if alerting.is_empty() {
        b.push_str("<p id=\"all-clear\">Nothing needs attention.</p>\n");
    } else {
        table(
            &mut b,
            &alerting[..alerting.len().min(ALERTING_SHOWN)],
            "attention",
        );
    }
    let _ = write!(b, "<h2>In flight</h2>");
    table(&mut b, &rest, "in-flight");
    page(shared, "ordertrace watch: order board", &b)
}

/// `GET /orders/{id}`: one order; `None` when unknown.
pub fn order(shared: &Shared, now_ms: u64, order_id: &str) -> Option<String> {
    let cfg = shared.config();
    let stale = shared.is_stale(now_ms);
    let t = shared.tracker.lock().ok()?;
    let v = t.order(order_id, now_ms, &cfg, stale)?;
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>Order {}</h1>{}<p>{} at <b>{}</b> ({}) for {}: {}</p><p>Trace {} · CRM status: {}</p>",
        esc(order_id),
        source_banner(shared, now_ms),
        state_badge(v.state),
        v.stage.name(),
        esc(&v.service),
        human(now_ms.saturating_sub(v.since_ms)),
        esc(&v.detail),
        trace_link(shared, &v.trace_id),
        esc(t.crm_status(order_id).unwrap_or("none seen"))
    );
    if let Some(e) = t.last_error(order_id) {
        let _ = write!(b, "<p>Last error: <code>{}</code></p>", esc(e));
    }
    b.push_str("<table id=\"timeline\"><tr><th>#</th><th>stage</th><th>service</th><th>started</th><th>duration</th><th>result</th></tr>\n");
    for s in t.stages(order_id, now_ms) {
        let result = if s.open {
            format!(
                "still open, last sign of life {} ago",
                human(now_ms.saturating_sub(s.last_seen_ms))
            )
        } else if s.failed {
            "error".to_string()
        } else {
            "ok".to_string()
        };
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            s.stage.stage(),
            s.stage.name(),
            esc(&s.service),
            humantime::format_rfc3339_millis(
                std::time::UNIX_EPOCH + std::time::Duration::from_millis(s.start_ms)
            ),
            human(s.duration_ms),
            result
        );
    }
    b.push_str("</table>\n");
    Some(page(shared, &format!("order {order_id}"), &b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(path_segment("ORD-1/../x y"), "ORD-1%2F..%2Fx%20y");
    }
}
