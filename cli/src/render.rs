//! Prints an order's timeline: as text for a support engineer, or as JSON for scripts. One
//! renderer serves both `ordertrace demo` and `ordertrace timeline`.

use ordertrace::OrderEvent;
use ordertrace::timeline::{FinishedStage, OpenStage, OrderState, OrderTimeline, StageError};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

/// A duration the way people read it: `840µs`, `12.3ms`, `4.2s`, `3m05s`.
pub fn human_duration(d: Duration) -> String {
    let micros = d.as_micros();
    if micros < 1_000 {
        format!("{micros}µs")
    } else if micros < 1_000_000 {
        format!("{:.1}ms", micros as f64 / 1_000.0)
    } else if d.as_secs() < 60 {
        format!("{:.1}s", d.as_secs_f64())
    } else if d.as_secs() < 3_600 {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    } else {
        format!("{}h{:02}m", d.as_secs() / 3_600, (d.as_secs() % 3_600) / 60)
    }
}

/// Unix nanoseconds as RFC 3339 UTC with milliseconds.
pub fn timestamp(unix_nanos: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_nanos(unix_nanos)).to_string()
}

fn error_text(e: &StageError) -> String {
    let kind = if e.error_type.is_empty() {
        "error"
    } else {
        &e.error_type
    };
    let trace = if e.has_stacktrace {
        " (stack trace recorded)"
    } else {
        ""
    };
    format!("{kind}: {}{trace}", e.message)
}

/// One stage line: mark, stage number, event, service, start, duration, then the outcome.
fn stage_line(
    mark: &str,
    event: OrderEvent,
    service: &str,
    start_unix_nanos: u64,
    duration: Duration,
    outcome: &str,
) -> String {
    format!(
        "  {mark} {:<2} {:<24} {service:<8} {}  {:>9}{outcome}",
        event.stage(),
        event.name(),
        timestamp(start_unix_nanos),
        human_duration(duration)
    )
}

fn finished_line(s: &FinishedStage) -> String {
    let (mark, outcome) = match &s.error {
        None => ("ok ", String::new()),
        Some(e) => ("ERR", format!("  {}", error_text(e))),
    };
    stage_line(
        mark,
        s.event,
        &s.service,
        s.start_unix_nanos,
        s.duration,
        &outcome,
    )
}

fn open_line(o: &OpenStage) -> String {
    let outcome = format!("  still running ({} heartbeats)", o.heartbeats);
    stage_line(
        "...",
        o.event,
        &o.service,
        o.start_unix_nanos,
        o.open_for,
        &outcome,
    )
}

/// The one-line verdict: where the order is.
pub fn state_line(timeline: &OrderTimeline, now_unix_nanos: u64) -> String {
    match &timeline.state {
        OrderState::NotFound => format!(
            "state: not found (no span has order.id={})",
            timeline.order_id
        ),
        OrderState::Completed => "state: completed (order_shipped)".to_string(),
        OrderState::Incomplete { missing } => format!(
            "state: incomplete: order_shipped reached, but no span of {} (skipped a system, or its spans were lost)",
            missing
                .iter()
                .map(|e| e.name())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        OrderState::InsideStage { stage } => {
            let next = stage
                .event
                .next()
                .map_or("none (last stage)".to_string(), |n| n.name().to_string());
            format!(
                "state: inside {} ({}) for {}, last sign of life {} ago, {} heartbeats; next expected: {next}",
                stage.event.name(),
                stage.service,
                human_duration(stage.open_for),
                human_duration(Duration::from_nanos(
                    now_unix_nanos.saturating_sub(stage.last_seen_unix_nanos)
                )),
                stage.heartbeats
            )
        }
        OrderState::Failed { stage } => format!(
            "state: failed at {} ({}): {}",
            stage.event.name(),
            stage.service,
            stage.error.as_ref().map_or(String::new(), error_text)
        ),
        OrderState::WaitingFor {
            last,
            next,
            waiting,
        } => format!(
            "state: waiting for {} after {} ({}) for {}",
            next.name(),
            last.event.name(),
            last.service,
            human_duration(*waiting)
        ),
    }
}

/// The timeline as text: a header, one line per stage (ended or open), and the verdict.
pub fn text(timeline: &OrderTimeline, now_unix_nanos: u64) -> String {
    let mut out = String::new();
    let traces = if timeline.trace_ids.is_empty() {
        "-".to_string()
    } else {
        timeline.trace_ids.join(", ")
    };
    let _ = writeln!(out, "order {}  trace {traces}", timeline.order_id);
    let mut lines: Vec<(u64, String)> = timeline
        .finished
        .iter()
        .map(|s| (s.start_unix_nanos, finished_line(s)))
        .chain(
            timeline
                .open
                .iter()
                .map(|o| (o.start_unix_nanos, open_line(o))),
        )
        .collect();
    lines.sort_by_key(|(start, _)| *start);
    for (_, line) in lines {
        let _ = writeln!(out, "{line}");
    }
    if let Some(last) = timeline.last_stage_reached() {
        let _ = writeln!(
            out,
            "  last stage reached: {} ({}/8)",
            last.name(),
            last.stage()
        );
    }
    let _ = writeln!(out, "{}", state_line(timeline, now_unix_nanos));
    out
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

fn error_json(e: &Option<StageError>) -> Value {
    match e {
        None => Value::Null,
        Some(e) => json!({
            "type": e.error_type,
            "message": e.message,
            "has_stacktrace": e.has_stacktrace,
        }),
    }
}

/// The timeline as JSON (keys documented in the README's "timeline" section).
pub fn json(timeline: &OrderTimeline, now_unix_nanos: u64) -> Value {
    let finished: Vec<Value> = timeline
        .finished
        .iter()
        .map(|s| {
            json!({
                "event": s.event.name(),
                "stage": s.event.stage(),
                "service": s.service,
                "span_id": s.span_id,
                "start_unix_nanos": s.start_unix_nanos,
                "duration_ms": millis(s.duration),
                "error": error_json(&s.error),
            })
        })
        .collect();
    let open: Vec<Value> = timeline.open.iter().map(open_json).collect();
    let state = match &timeline.state {
        OrderState::NotFound => json!({ "kind": "not_found" }),
        OrderState::Completed => json!({ "kind": "completed", "event": "order_shipped" }),
        OrderState::Incomplete { missing } => json!({
            "kind": "incomplete",
            "event": "order_shipped",
            "missing": missing.iter().map(|e| e.name()).collect::<Vec<_>>(),
        }),
        OrderState::InsideStage { stage } => {
            let mut v = open_json(stage);
            v["kind"] = json!("inside_stage");
            v["next"] = json!(stage.event.next().map(|n| n.name()));
            v["since_last_seen_ms"] = json!(millis(Duration::from_nanos(
                now_unix_nanos.saturating_sub(stage.last_seen_unix_nanos)
            )));
            v
        }
        OrderState::Failed { stage } => json!({
            "kind": "failed",
            "event": stage.event.name(),
            "service": stage.service,
            "error": error_json(&stage.error),
        }),
        OrderState::WaitingFor {
            last,
            next,
            waiting,
        } => json!({
            "kind": "waiting_for",
            "event": last.event.name(),
            "service": last.service,
            "next": next.name(),
            "waiting_ms": millis(*waiting),
        }),
    };
    json!({
        "order_id": timeline.order_id,
        "trace_ids": timeline.trace_ids,
        "last_stage_reached": timeline.last_stage_reached().map(|e| e.name()),
        "finished": finished,
        "open": open,
        "state": state,
    })
}

fn open_json(o: &OpenStage) -> Value {
    json!({
        "event": o.event.name(),
        "stage": o.event.stage(),
        "service": o.service,
        "span_id": o.span_id,
        "start_unix_nanos": o.start_unix_nanos,
        "last_seen_unix_nanos": o.last_seen_unix_nanos,
        "open_for_ms": millis(o.open_for),
        "heartbeats": o.heartbeats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_010_000_000_000;

    fn finished(event: OrderEvent, error: Option<StageError>) -> FinishedStage {
        FinishedStage {
            event,
            service: event.component().service_name().to_string(),
            span_id: "00f067aa0ba902b7".into(),
            start_unix_nanos: NOW - 5_000_000_000,
            duration: Duration::from_millis(12),
            error,
        }
    }

    fn timeline(state: OrderState, finished: Vec<FinishedStage>) -> OrderTimeline {
        OrderTimeline {
            order_id: "ORD-1".into(),
            trace_ids: vec!["4bf92f3577b34da6a3ce929d0e0e4736".into()],
            finished,
            open: Vec::new(),
            state,
        }
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_micros(840)), "840µs");
        assert_eq!(human_duration(Duration::from_micros(12_340)), "12.3ms");
        assert_eq!(human_duration(Duration::from_millis(4_210)), "4.2s");
        assert_eq!(human_duration(Duration::from_secs(185)), "3m05s");
        assert_eq!(human_duration(Duration::from_secs(7_380)), "2h03m");
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(
            timestamp(1_700_000_000_123_000_000),
            "2023-11-14T22:13:20.123Z"
        );
    }

    #[test]
    fn inside_stage_names_the_stage_the_wait_and_the_next_stage() {
        let open = OpenStage {
            event: OrderEvent::PriceCalculated,
            service: "mes-api".into(),
            span_id: "00f067aa0ba902b7".into(),
            start_unix_nanos: NOW - 12_000_000_000,
            last_seen_unix_nanos: NOW - 1_000_000_000,
            heartbeats: 11,
            open_for: Duration::from_secs(12),
        };
        let mut t = timeline(
            OrderState::InsideStage {
                stage: open.clone(),
            },
            vec![],
        );
        t.open.push(open);
        let line = state_line(&t, NOW);
        assert_eq!(
            line,
            "state: inside price_calculated (mes-api) for 12.0s, last sign of life 1.0s ago, 11 heartbeats; next expected: manufacturing_started"
        );
        let text = text(&t, NOW);
        assert!(text.contains("still running (11 heartbeats)"), "{text}");
        let v = json(&t, NOW);
        assert_eq!(v["state"]["kind"], "inside_stage");
        assert_eq!(v["state"]["event"], "price_calculated");
        assert_eq!(v["state"]["next"], "manufacturing_started");
        assert_eq!(v["open"][0]["heartbeats"], 11);
    }

    #[test]
    fn failed_stage_shows_the_exception() {
        let error = StageError {
            error_type: "PriceCalculationException".into(),
            message: "no price rule".into(),
            has_stacktrace: true,
        };
        let stage = finished(OrderEvent::PriceCalculated, Some(error));
        let t = timeline(
            OrderState::Failed {
                stage: stage.clone(),
            },
            vec![stage],
        );
        let text = text(&t, NOW);
        assert!(text.contains("ERR 5  price_calculated"), "{text}");
        assert!(text.ends_with(
            "state: failed at price_calculated (mes-api): PriceCalculationException: no price rule (stack trace recorded)\n"
        ), "{text}");
        let v = json(&t, NOW);
        assert_eq!(v["state"]["kind"], "failed");
        assert_eq!(
            v["finished"][0]["error"]["type"],
            "PriceCalculationException"
        );
        assert_eq!(v["finished"][0]["error"]["has_stacktrace"], true);
    }

    #[test]
    fn waiting_order_names_the_next_stage_and_how_long() {
        let last = finished(OrderEvent::ModelUploaded, None);
        let state = OrderState::WaitingFor {
            last: last.clone(),
            next: OrderEvent::OrderConfirmed,
            waiting: Duration::from_millis(3_200),
        };
        let t = timeline(state, vec![last]);
        assert_eq!(
            state_line(&t, NOW),
            "state: waiting for order_confirmed after model_uploaded (shop-api) for 3.2s"
        );
        let v = json(&t, NOW);
        assert_eq!(v["state"]["kind"], "waiting_for");
        assert_eq!(v["state"]["next"], "order_confirmed");
        assert_eq!(v["last_stage_reached"], "model_uploaded");
    }

    #[test]
    fn completed_and_not_found_have_plain_verdicts() {
        let t = timeline(
            OrderState::Completed,
            vec![finished(OrderEvent::OrderShipped, None)],
        );
        assert_eq!(state_line(&t, NOW), "state: completed (order_shipped)");
        let mut t = timeline(OrderState::NotFound, vec![]);
        t.trace_ids.clear();
        assert!(text(&t, NOW).starts_with("order ORD-1  trace -\n"));
        assert_eq!(json(&t, NOW)["state"]["kind"], "not_found");
    }
}
