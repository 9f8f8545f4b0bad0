//! "Where is this order stuck?": turns an order's spans (from the file exporter or from
//! Jaeger) into its lifecycle — stages reached, stages open right now, and what it waits for.
//!
//! A stage is *open* when its start record (or a heartbeat) was exported but the stage span
//! itself was not: the call is still running, or the process died inside it.
//!
//! An order that reached its last stage with earlier stages missing (it entered the CRM
//! without ever passing the shop: its trace has a parent id with no span behind it) is
//! [`OrderState::Incomplete`], not completed; [`missing_before`] is the one rule for that,
//! shared with `ordertrace watch`.

use crate::otlp_json::RecordedSpan;
use crate::schema::{OrderEvent, RECORD_HEARTBEAT, RECORD_STAGE_START, attr};
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

/// An error recorded on a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageError {
    /// `exception.type`.
    pub error_type: String,
    /// `exception.message`.
    pub message: String,
    /// Whether a stack trace was recorded.
    pub has_stacktrace: bool,
}

/// A stage that ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedStage {
    /// The event.
    pub event: OrderEvent,
    /// Service that recorded it.
    pub service: String,
    /// Stage span id.
    pub span_id: String,
    /// Start, Unix nanoseconds.
    pub start_unix_nanos: u64,
    /// How long it took.
    pub duration: Duration,
    /// The error, if the stage failed.
    pub error: Option<StageError>,
}

/// A stage that started and has not ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenStage {
    /// The event.
    pub event: OrderEvent,
    /// Service that started it.
    pub service: String,
    /// Stage span id.
    pub span_id: String,
    /// Start, Unix nanoseconds.
    pub start_unix_nanos: u64,
    /// Last sign of life (start record or heartbeat), Unix nanoseconds.
    pub last_seen_unix_nanos: u64,
    /// Heartbeats seen.
    pub heartbeats: usize,
    /// Time since it started.
    pub open_for: Duration,
}

/// Where the order is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderState {
    /// No stage of this order was found.
    NotFound,
    /// `order_shipped` ended without error and every earlier stage left a span.
    Completed,
    /// `order_shipped` ended, but earlier stages left no span at all (the order skipped a
    /// system, or its spans were lost): not a completed order.
    Incomplete {
        /// The stages before the last one reached that have no span, in lifecycle order.
        missing: Vec<OrderEvent>,
    },
    /// A stage is running (or hung) now.
    InsideStage {
        /// The open stage (the latest one if several are open).
        stage: OpenStage,
    },
    /// The last stage reached failed and nothing came after it.
    Failed {
        /// The failed stage.
        stage: FinishedStage,
    },
    /// The last stage ended; the next has not started.
    WaitingFor {
        /// The last stage reached.
        last: FinishedStage,
        /// The stage expected next.
        next: OrderEvent,
        /// Time since the last stage ended.
        waiting: Duration,
    },
}

/// An order's lifecycle as far as the spans tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderTimeline {
    /// The order.
    pub order_id: String,
    /// Trace ids its spans were found in (one, unless identities were mixed).
    pub trace_ids: Vec<String>,
    /// Ended stages, by start time.
    pub finished: Vec<FinishedStage>,
    /// Open stages, by start time.
    pub open: Vec<OpenStage>,
    /// Where the order is.
    pub state: OrderState,
}

impl OrderTimeline {
    /// The furthest stage in the lifecycle the order reached (ended or open).
    pub fn last_stage_reached(&self) -> Option<OrderEvent> {
        self.finished
            .iter()
            .map(|s| s.event)
            .chain(self.open.iter().map(|s| s.event))
            .max()
    }
}

fn nanos_between(from: u64, to: u64) -> Duration {
    Duration::from_nanos(to.saturating_sub(from))
}

fn stage_error(span: &RecordedSpan) -> Option<StageError> {
    if !span.is_error() {
        return None;
    }
    Some(match span.exception() {
        Some(e) => StageError {
            error_type: e
                .attributes
                .get(attr::EXCEPTION_TYPE)
                .cloned()
                .unwrap_or_default(),
            message: e
                .attributes
                .get(attr::EXCEPTION_MESSAGE)
                .cloned()
                .unwrap_or_default(),
            has_stacktrace: e.attributes.contains_key(attr::EXCEPTION_STACKTRACE),
        },
        None => StageError {
            error_type: String::new(),
            message: span.status_message.clone(),
            has_stacktrace: false,
        },
    })
}

/// Builds the timeline of `order_id` from any set of spans; `now_unix_nanos` is the moment
/// waiting times are measured to.
pub fn build(order_id: &str, spans: &[RecordedSpan], now_unix_nanos: u64) -> OrderTimeline {
    let mine: Vec<&RecordedSpan> = spans
        .iter()
        .filter(|s| s.attribute(attr::ORDER_ID) == Some(order_id))
        .collect();
    let mut trace_ids: Vec<String> = mine.iter().map(|s| s.trace_id.clone()).collect();
    trace_ids.sort();
    trace_ids.dedup();

    let event_of = |s: &RecordedSpan| {
        s.attribute(attr::ORDER_EVENT)
            .and_then(|e| e.parse::<OrderEvent>().ok())
    };
    let mut finished: Vec<FinishedStage> = mine
        .iter()
        .filter(|s| s.attribute(attr::RECORD).is_none())
        .filter_map(|s| {
            let event = event_of(s)?;
            Some(FinishedStage {
                event,
                service: s.service_name.clone(),
                span_id: s.span_id.clone(),
                start_unix_nanos: s.start_unix_nanos,
                duration: Duration::from_nanos(s.duration_nanos()),
                error: stage_error(s),
            })
        })
        .collect();
    finished.sort_by_key(|s| (s.start_unix_nanos, s.event));
    let ended: HashSet<&str> = finished.iter().map(|s| s.span_id.as_str()).collect();

    // Start records and heartbeats of stages whose span has not arrived.
    let mut open_by_span: BTreeMap<String, OpenStage> = BTreeMap::new();
    for s in &mine {
        let record = s.attribute(attr::RECORD);
        if record != Some(RECORD_STAGE_START) && record != Some(RECORD_HEARTBEAT) {
            continue;
        }
        let (Some(event), Some(stage_span)) = (event_of(s), s.attribute(attr::STAGE_SPAN_ID))
        else {
            continue;
        };
        if ended.contains(stage_span) {
            continue;
        }
        let open_ms: u64 = s
            .attribute(attr::OPEN_FOR_MS)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let entry = open_by_span
            .entry(stage_span.to_string())
            .or_insert_with(|| OpenStage {
                event,
                service: s.service_name.clone(),
                span_id: stage_span.to_string(),
                start_unix_nanos: u64::MAX,
                last_seen_unix_nanos: 0,
                heartbeats: 0,
                open_for: Duration::ZERO,
            });
        let started = if record == Some(RECORD_STAGE_START) {
            s.start_unix_nanos
        } else {
            entry.heartbeats += 1;
            s.start_unix_nanos.saturating_sub(open_ms * 1_000_000)
        };
        entry.start_unix_nanos = entry.start_unix_nanos.min(started);
        entry.last_seen_unix_nanos = entry.last_seen_unix_nanos.max(s.start_unix_nanos);
    }
    let mut open: Vec<OpenStage> = open_by_span
        .into_values()
        .map(|mut o| {
            o.open_for = nanos_between(o.start_unix_nanos, now_unix_nanos);
            o
        })
        .collect();
    open.sort_by_key(|o| (o.start_unix_nanos, o.event));

    let shipped = finished
        .iter()
        .any(|s| s.event == OrderEvent::OrderShipped && s.error.is_none());
    // The furthest ended stage; among equals, the latest attempt.
    let last = finished
        .iter()
        .max_by_key(|s| (s.event, s.start_unix_nanos))
        .cloned();
    let reached = finished
        .iter()
        .map(|s| s.event)
        .chain(open.iter().map(|s| s.event));
    let missing = missing_before(reached);
    let state = if shipped && !missing.is_empty() {
        OrderState::Incomplete { missing }
    } else if shipped {
        OrderState::Completed
    } else if let Some(stage) = open
        .iter()
        .max_by_key(|o| (o.event, o.start_unix_nanos))
        .cloned()
    {
        OrderState::InsideStage { stage }
    } else {
        match last {
            None => OrderState::NotFound,
            Some(last) if last.error.is_some() => OrderState::Failed { stage: last },
            Some(last) => {
                let ended_at = last.start_unix_nanos + last.duration.as_nanos() as u64;
                match last.event.next() {
                    Some(next) => OrderState::WaitingFor {
                        waiting: nanos_between(ended_at, now_unix_nanos),
                        next,
                        last,
                    },
                    None if missing.is_empty() => OrderState::Completed,
                    None => OrderState::Incomplete { missing },
                }
            }
        }
    };
    OrderTimeline {
        order_id: order_id.to_string(),
        trace_ids,
        finished,
        open,
        state,
    }
}

/// The stages before the furthest one in `reached` that are not in `reached`, in lifecycle
/// order: what an order skipped (or lost) on its way. Empty when nothing is missing.
///
/// ```
/// use ordertrace::schema::OrderEvent::*;
/// use ordertrace::timeline::missing_before;
/// assert_eq!(missing_before([OrderConfirmed, OrderStatusChanged]), [OrderSubmitted, ModelUploaded]);
/// assert!(missing_before([OrderSubmitted, ModelUploaded]).is_empty());
/// ```
pub fn missing_before(reached: impl IntoIterator<Item = OrderEvent>) -> Vec<OrderEvent> {
    let mut seen = [false; OrderEvent::ALL.len()];
    let mut furthest: Option<OrderEvent> = None;
    for event in reached {
        seen[event as usize] = true;
        furthest = furthest.max(Some(event));
    }
    let Some(furthest) = furthest else {
        return Vec::new();
    };
    OrderEvent::ALL
        .iter()
        .take_while(|e| **e < furthest)
        .filter(|e| !seen[**e as usize])
        .copied()
        .collect()
}

/// Order ids found in a set of spans, in order of first appearance.
pub fn order_ids(spans: &[RecordedSpan]) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut first: Vec<(u64, String)> = Vec::new();
    for s in spans {
        if let Some(id) = s.attribute(attr::ORDER_ID) {
            if seen.insert(id.to_string()) {
                first.push((s.start_unix_nanos, id.to_string()));
            }
        } else {
            continue;
        }
        if let Some(entry) = first
            .iter_mut()
            .find(|(_, i)| Some(i.as_str()) == s.attribute(attr::ORDER_ID))
        {
            entry.0 = entry.0.min(s.start_unix_nanos);
        }
    }
    first.sort();
    first.into_iter().map(|(_, id)| id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp_json::SpanStatus;

    const MS: u64 = 1_000_000;

    fn span(
        name: &str,
        event: OrderEvent,
        start_ms: u64,
        end_ms: u64,
        record: Option<(&str, &str)>,
    ) -> RecordedSpan {
        let mut attributes = BTreeMap::new();
        attributes.insert(attr::ORDER_ID.to_string(), "ORD-1".to_string());
        attributes.insert(attr::ORDER_EVENT.to_string(), event.name().to_string());
        if let Some((kind, stage)) = record {
            attributes.insert(attr::RECORD.to_string(), kind.to_string());
            attributes.insert(attr::STAGE_SPAN_ID.to_string(), stage.to_string());
        }
        RecordedSpan {
            trace_id: "t".into(),
            span_id: format!("{name}-{start_ms}"),
            parent_span_id: None,
            name: name.into(),
            service_name: event.component().service_name().into(),
            kind: 1,
            start_unix_nanos: start_ms * MS,
            end_unix_nanos: end_ms * MS,
            attributes,
            events: vec![],
            links: vec![],
            status: SpanStatus::Unset,
            status_message: String::new(),
        }
    }

    fn stage(event: OrderEvent, start_ms: u64, end_ms: u64) -> RecordedSpan {
        span(event.name(), event, start_ms, end_ms, None)
    }

    #[test]
    fn unknown_order_is_not_found() {
        let t = build(
            "ORD-404",
            &[stage(OrderEvent::OrderSubmitted, 0, 1)],
            10 * MS,
        );
        assert_eq!(t.state, OrderState::NotFound);
        assert!(t.finished.is_empty());
    }

    #[test]
    fn shipped_order_is_completed() {
        let spans: Vec<RecordedSpan> = OrderEvent::ALL
            .iter()
            .enumerate()
            .map(|(i, e)| stage(*e, i as u64 * 10, i as u64 * 10 + 5))
            .collect();
        let t = build("ORD-1", &spans, 1000 * MS);
        assert_eq!(t.state, OrderState::Completed);
        assert_eq!(t.finished.len(), 8);
        assert_eq!(t.last_stage_reached(), Some(OrderEvent::OrderShipped));
    }

    #[test]
    fn shipped_order_without_shop_stages_is_incomplete_not_completed() {
        let spans: Vec<RecordedSpan> = OrderEvent::ALL[2..]
            .iter()
            .enumerate()
            .map(|(i, e)| stage(*e, i as u64 * 10, i as u64 * 10 + 5))
            .collect();
        let t = build("ORD-1", &spans, 1000 * MS);
        assert_eq!(
            t.state,
            OrderState::Incomplete {
                missing: vec![OrderEvent::OrderSubmitted, OrderEvent::ModelUploaded]
            }
        );
    }

    #[test]
    fn missing_before_ignores_stages_after_the_furthest_one() {
        assert_eq!(
            missing_before([OrderEvent::OrderSubmitted, OrderEvent::OrderConfirmed]),
            [OrderEvent::ModelUploaded]
        );
        assert!(missing_before([]).is_empty());
    }

    #[test]
    fn order_between_stages_waits_for_the_next_one() {
        let spans = [
            stage(OrderEvent::OrderSubmitted, 0, 10),
            stage(OrderEvent::ModelUploaded, 10, 30),
        ];
        let t = build("ORD-1", &spans, 1030 * MS);
        match t.state {
            OrderState::WaitingFor {
                last,
                next,
                waiting,
            } => {
                assert_eq!(last.event, OrderEvent::ModelUploaded);
                assert_eq!(next, OrderEvent::OrderConfirmed);
                assert_eq!(waiting, Duration::from_secs(1));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn start_record_without_stage_span_is_an_open_stage() {
        let spans = [
            stage(OrderEvent::OrderStatusChanged, 0, 10),
            span(
                "price_calculated.started",
                OrderEvent::PriceCalculated,
                20,
                20,
                Some((RECORD_STAGE_START, "s5")),
            ),
            span(
                "price_calculated.heartbeat",
                OrderEvent::PriceCalculated,
                520,
                520,
                Some((RECORD_HEARTBEAT, "s5")),
            ),
        ];
        let t = build("ORD-1", &spans, 1020 * MS);
        let OrderState::InsideStage { stage } = t.state else {
            panic!("{:?}", t.state)
        };
        assert_eq!(stage.event, OrderEvent::PriceCalculated);
        assert_eq!(stage.service, "mes-api");
        assert_eq!(stage.open_for, Duration::from_secs(1));
        assert_eq!(stage.heartbeats, 1);
        assert_eq!(stage.last_seen_unix_nanos, 520 * MS);
    }

    #[test]
    fn start_record_of_an_ended_stage_is_not_open() {
        let mut s = stage(OrderEvent::PriceCalculated, 20, 40);
        s.span_id = "s5".into();
        let spans = [
            s,
            span(
                "price_calculated.started",
                OrderEvent::PriceCalculated,
                20,
                20,
                Some((RECORD_STAGE_START, "s5")),
            ),
        ];
        let t = build("ORD-1", &spans, 100 * MS);
        assert!(t.open.is_empty());
        assert!(matches!(
            t.state,
            OrderState::WaitingFor {
                next: OrderEvent::ManufacturingStarted,
                ..
            }
        ));
    }

    #[test]
    fn failed_last_stage_is_failed_with_its_exception() {
        let mut failed = stage(OrderEvent::PriceCalculated, 20, 40);
        failed.status = SpanStatus::Error;
        let mut ev = BTreeMap::new();
        ev.insert(
            attr::EXCEPTION_TYPE.to_string(),
            "PricingException".to_string(),
        );
        ev.insert(
            attr::EXCEPTION_MESSAGE.to_string(),
            "no price for platinum".to_string(),
        );
        ev.insert(
            attr::EXCEPTION_STACKTRACE.to_string(),
            "at Mes.CalculatePrice()".to_string(),
        );
        failed.events.push(crate::otlp_json::RecordedEvent {
            name: "exception".into(),
            time_unix_nanos: 0,
            attributes: ev,
        });
        let t = build(
            "ORD-1",
            &[stage(OrderEvent::OrderSubmitted, 0, 10), failed],
            100 * MS,
        );
        let OrderState::Failed { stage } = t.state else {
            panic!()
        };
        let err = stage.error.unwrap();
        assert_eq!(err.error_type, "PricingException");
        assert!(err.has_stacktrace);
    }

    #[test]
    fn order_ids_are_listed_once_in_first_seen_order() {
        let mut a = stage(OrderEvent::OrderSubmitted, 5, 6);
        a.attributes.insert(attr::ORDER_ID.into(), "ORD-B".into());
        let mut b = stage(OrderEvent::OrderSubmitted, 1, 2);
        b.attributes.insert(attr::ORDER_ID.into(), "ORD-A".into());
        let c = a.clone();
        assert_eq!(order_ids(&[a, b, c]), ["ORD-A", "ORD-B"]);
    }
}
