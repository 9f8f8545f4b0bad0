//! One small record per order, updated span by span, and its assessment: completed, in a
//! stage, waiting, or one of the alerting states (stuck, stalled, lost, failed, incomplete,
//! status mismatch).
//!
//! A record holds one slot per lifecycle stage (the latest attempt: start, duration, last
//! sign of life, error flag), the CRM's latest status and the trace id: about 250 bytes, so a
//! million orders fit in a few hundred MiB. Which stages are missing is decided by the
//! core's [`ordertrace::timeline::missing_before`], the same rule `ordertrace timeline` uses.

use crate::config::{MesPosition, WatchConfig, mes_position_name};
use ordertrace::OrderEvent;
use ordertrace::timeline::missing_before;

const REACHED: u8 = 1;
const ENDED: u8 = 2;
const ERROR: u8 = 4;

/// The latest attempt of one stage of one order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageSlot {
    /// Start, Unix milliseconds.
    start_ms: u64,
    /// Low 32 bits of the stage span id (tells attempts and duplicates apart).
    span32: u32,
    /// Duration in ms once ended.
    dur_ms: u32,
    /// Last sign of life, ms after the start.
    seen_ms: u32,
    flags: u8,
    /// Interned service name.
    service: u8,
}

impl StageSlot {
    /// Whether any span of this stage was seen.
    pub fn reached(&self) -> bool {
        self.flags & REACHED != 0
    }
    /// Whether the stage span itself arrived (the stage ended).
    pub fn ended(&self) -> bool {
        self.flags & ENDED != 0
    }
    /// Whether the stage ended in error.
    pub fn failed(&self) -> bool {
        self.flags & ERROR != 0
    }
    /// Start, Unix ms.
    pub fn start_ms(&self) -> u64 {
        self.start_ms
    }
    /// End, Unix ms (only meaningful when ended).
    pub fn end_ms(&self) -> u64 {
        self.start_ms + u64::from(self.dur_ms)
    }
    /// Duration in ms (ended stages).
    pub fn duration_ms(&self) -> u64 {
        u64::from(self.dur_ms)
    }
    /// Last sign of life, Unix ms.
    pub fn last_seen_ms(&self) -> u64 {
        self.start_ms + u64::from(self.seen_ms)
    }
    /// Interned service id.
    pub fn service_id(&self) -> u8 {
        self.service
    }
}

/// What a span says about a stage.
#[derive(Debug, Clone, Copy)]
pub enum StageObservation {
    /// The stage span: the stage ended.
    Ended {
        /// Start, Unix ms.
        start_ms: u64,
        /// Duration, ms.
        dur_ms: u64,
        /// Ended in error.
        error: bool,
    },
    /// A start record or heartbeat: the stage is open.
    Open {
        /// When the stage started, Unix ms.
        start_ms: u64,
        /// When this record was written, Unix ms.
        at_ms: u64,
    },
}

/// What an observation changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// New information.
    Updated,
    /// The same stage span again.
    Duplicate,
    /// An older attempt, or a record of a stage already ended: nothing to change.
    Ignored,
}

/// The state kept for one order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderRecord {
    /// Trace id the order's latest stage was seen in.
    pub trace_id: u128,
    slots: [StageSlot; 8],
    /// Interned CRM status (`order.status.to`), 0 = none seen.
    status: u8,
    /// When that status was set, Unix ms.
    status_ms: u64,
}

fn clamp32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl OrderRecord {
    /// The slot of `stage`.
    pub fn slot(&self, stage: OrderEvent) -> &StageSlot {
        &self.slots[stage as usize]
    }

    /// Interned CRM status and when it was set.
    pub fn status(&self) -> Option<(u8, u64)> {
        (self.status != 0).then_some((self.status, self.status_ms))
    }

    /// Records a CRM status set at `at_ms`; the latest one wins.
    pub fn set_status(&mut self, status: u8, at_ms: u64) {
        if self.status == 0 || at_ms >= self.status_ms {
            self.status = status;
            self.status_ms = at_ms;
        }
    }

    /// Applies one observation of `stage` from the stage span `span_id` by `service`.
    pub fn observe(
        &mut self,
        stage: OrderEvent,
        span_id: u64,
        service: u8,
        what: StageObservation,
    ) -> Applied {
        let span32 = span_id as u32;
        let slot = &mut self.slots[stage as usize];
        let same_attempt = slot.reached() && slot.span32 == span32;
        match what {
            StageObservation::Ended {
                start_ms,
                dur_ms,
                error,
            } => {
                if same_attempt && slot.ended() {
                    return Applied::Duplicate;
                }
                if slot.reached() && !same_attempt && start_ms < slot.start_ms {
                    return Applied::Ignored;
                }
                *slot = StageSlot {
                    start_ms,
                    span32,
                    dur_ms: clamp32(dur_ms),
                    seen_ms: clamp32(dur_ms),
                    flags: REACHED | ENDED | if error { ERROR } else { 0 },
                    service,
                };
                Applied::Updated
            }
            StageObservation::Open { start_ms, at_ms } => {
                if same_attempt {
                    if slot.ended() {
                        return Applied::Ignored;
                    }
                    let start = slot.start_ms.min(start_ms);
                    let seen = slot.last_seen_ms().max(at_ms);
                    slot.start_ms = start;
                    slot.seen_ms = clamp32(seen.saturating_sub(start));
                    return Applied::Updated;
                }
                if slot.reached() && start_ms <= slot.start_ms {
                    return Applied::Ignored;
                }
                *slot = StageSlot {
                    start_ms,
                    span32,
                    dur_ms: 0,
                    seen_ms: clamp32(at_ms.saturating_sub(start_ms)),
                    flags: REACHED,
                    service,
                };
                Applied::Updated
            }
        }
    }

    /// Stages with a span, in lifecycle order.
    pub fn reached(&self) -> impl Iterator<Item = OrderEvent> + '_ {
        OrderEvent::ALL
            .into_iter()
            .filter(|e| self.slots[*e as usize].reached())
    }

    /// The furthest stage reached.
    pub fn furthest(&self) -> Option<OrderEvent> {
        self.reached().last()
    }

    /// Whether the order is done for good: shipped, not in error, no stage missing before.
    /// Such an order is `completed` at any time under any config (the assessment below
    /// returns early for it) until a new span changes its record, so a survey can count it
    /// without assessing it again.
    pub fn is_final(&self) -> bool {
        let shipped = self.slot(OrderEvent::OrderShipped);
        shipped.ended() && !shipped.failed() && missing_before(self.reached()).is_empty()
    }

    /// Where the MES is: the furthest MES stage reached.
    pub fn mes_position(&self) -> MesPosition {
        crate::config::MES_STAGES
            .into_iter()
            .rev()
            .find(|e| self.slots[*e as usize].reached())
    }

    /// The assessment at `now_ms` under `cfg`; `status_name` resolves the interned status.
    pub fn assess(
        &self,
        now_ms: u64,
        cfg: &WatchConfig,
        status_name: impl Fn(u8) -> Option<String>,
    ) -> Option<Assessment> {
        let furthest = self.furthest()?;
        let f = self.slot(furthest);
        let missing = missing_before(self.reached());
        let incomplete_since = f.start_ms + ms(cfg.incomplete_grace);
        let incomplete = !missing.is_empty() && now_ms >= incomplete_since;
        let since = |d: u64| now_ms.saturating_sub(d);
        let mut a = if furthest == OrderEvent::OrderShipped && f.ended() && !f.failed() {
            if incomplete {
                Assessment::new(
                    StateKind::Incomplete,
                    missing[0],
                    f.service,
                    incomplete_since,
                    format!(
                        "shipped, but no span of {} (skipped a system, or its spans were lost)",
                        names(&missing)
                    ),
                )
            } else {
                return Some(Assessment::new(
                    StateKind::Completed,
                    furthest,
                    f.service,
                    f.end_ms(),
                    "shipped".to_string(),
                ));
            }
        } else if !f.ended() {
            let silent = since(f.last_seen_ms());
            let open_for = since(f.start_ms);
            let stuck_after = ms(cfg.stuck_after(furthest));
            if silent > ms(cfg.lost_after) {
                Assessment::new(
                    StateKind::Lost,
                    furthest,
                    f.service,
                    f.last_seen_ms() + ms(cfg.lost_after),
                    format!(
                        "open for {}, no heartbeat for {} (lost after {}): the process likely died inside the stage",
                        human(open_for),
                        human(silent),
                        human(ms(cfg.lost_after))
                    ),
                )
            } else if open_for > stuck_after {
                Assessment::new(
                    StateKind::Stuck,
                    furthest,
                    f.service,
                    f.start_ms + stuck_after,
                    format!(
                        "inside {} for {} (threshold {}), last sign of life {} ago",
                        furthest.name(),
                        human(open_for),
                        human(stuck_after),
                        human(silent)
                    ),
                )
            } else {
                Assessment::new(
                    StateKind::InStage,
                    furthest,
                    f.service,
                    f.start_ms,
                    format!("inside {} for {}", furthest.name(), human(open_for)),
                )
            }
        } else if f.failed() {
            let window_end = f.end_ms() + ms(cfg.retry_window);
            if now_ms >= window_end {
                Assessment::new(
                    StateKind::Failed,
                    furthest,
                    f.service,
                    window_end,
                    format!(
                        "{} failed {} ago and no retry succeeded within {}",
                        furthest.name(),
                        human(since(f.end_ms())),
                        human(ms(cfg.retry_window))
                    ),
                )
            } else {
                Assessment::new(
                    StateKind::Waiting,
                    furthest,
                    f.service,
                    f.end_ms(),
                    format!(
                        "{} failed {} ago; waiting for a retry (window {})",
                        furthest.name(),
                        human(since(f.end_ms())),
                        human(ms(cfg.retry_window))
                    ),
                )
            }
        } else {
            // Ended without error and not the last stage (a shipped order returned above).
            let next = furthest.next().unwrap_or(furthest);
            let waited = since(f.end_ms());
            let threshold = ms(cfg.stalled_after(next));
            let service = ServiceRef::Expected(next);
            if waited > threshold {
                Assessment::with_service(
                    StateKind::Stalled,
                    next,
                    service,
                    f.end_ms() + threshold,
                    format!(
                        "{} ended {} ago and {} has not started (threshold {})",
                        furthest.name(),
                        human(waited),
                        next.name(),
                        human(threshold)
                    ),
                )
            } else {
                Assessment::with_service(
                    StateKind::Waiting,
                    next,
                    service,
                    f.end_ms(),
                    format!("waiting for {} for {}", next.name(), human(waited)),
                )
            }
        };
        if matches!(a.state, StateKind::Lost | StateKind::Failed) {
            return Some(a);
        }
        if let Some(m) = self.mismatch(now_ms, cfg, &status_name) {
            return Some(m);
        }
        if incomplete && !a.state.is_alerting() {
            a = Assessment::new(
                StateKind::Incomplete,
                missing[0],
                f.service,
                incomplete_since,
                format!(
                    "reached {} without any span of {} (its trace has a parent with no span behind it)",
                    furthest.name(),
                    names(&missing)
                ),
            );
        }
        Some(a)
    }

    fn mismatch(
        &self,
        now_ms: u64,
        cfg: &WatchConfig,
        status_name: &impl Fn(u8) -> Option<String>,
    ) -> Option<Assessment> {
        let (status_id, status_ms) = self.status()?;
        let status = status_name(status_id)?;
        let allowed = cfg.allowed_positions(&status)?;
        let mes = self.mes_position();
        if allowed.contains(&mes) {
            return None;
        }
        let mes_since = mes.map_or(0, |e| self.slot(e).start_ms);
        let since = status_ms.max(mes_since) + ms(cfg.status_grace);
        if now_ms < since {
            return None;
        }
        let crm = self.slot(OrderEvent::OrderStatusChanged);
        Some(Assessment::new(
            StateKind::StatusMismatch,
            mes.unwrap_or(OrderEvent::OrderStatusChanged),
            crm.service,
            since,
            format!(
                "CRM says {status:?} but the MES is at {} (allowed: {}) for more than {}",
                mes_position_name(mes),
                allowed
                    .iter()
                    .map(|p| mes_position_name(*p))
                    .collect::<Vec<_>>()
                    .join(", "),
                human(ms(cfg.status_grace))
            ),
        ))
    }
}

/// The state names used in /metrics, the API and the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StateKind {
    /// The process died inside a stage (heartbeats stopped).
    Lost,
    /// A stage failed and no retry succeeded within the window.
    Failed,
    /// The CRM's status and the MES disagree.
    StatusMismatch,
    /// Inside a stage longer than its threshold.
    Stuck,
    /// The next stage did not start within its threshold.
    Stalled,
    /// Stages missing before the last one seen.
    Incomplete,
    /// The source is stale: an order that looked fine cannot be called fine.
    Unknown,
    /// Inside a stage, within its threshold.
    InStage,
    /// Between stages (or waiting for a retry), within the threshold.
    Waiting,
    /// Shipped with every stage seen.
    Completed,
}

impl StateKind {
    /// Every state, most urgent first.
    pub const ALL: [StateKind; 10] = [
        Self::Lost,
        Self::Failed,
        Self::StatusMismatch,
        Self::Stuck,
        Self::Stalled,
        Self::Incomplete,
        Self::Unknown,
        Self::InStage,
        Self::Waiting,
        Self::Completed,
    ];

    /// The label value, e.g. `stuck_in_stage`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Lost => "lost",
            Self::Failed => "failed",
            Self::StatusMismatch => "status_mismatch",
            Self::Stuck => "stuck_in_stage",
            Self::Stalled => "stalled_between_stages",
            Self::Incomplete => "incomplete",
            Self::Unknown => "unknown",
            Self::InStage => "in_stage",
            Self::Waiting => "waiting",
            Self::Completed => "completed",
        }
    }

    /// Parses a label value.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether the state needs attention (alerts, exit code of `--once`).
    pub fn is_alerting(self) -> bool {
        self < Self::Unknown
    }
}

/// Which service an assessment points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceRef {
    /// The service that recorded the stage (interned).
    Seen(u8),
    /// No span yet: the service the schema expects to run this stage.
    Expected(OrderEvent),
}

/// An order's state at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// The state.
    pub state: StateKind,
    /// The stage concerned (the open one, the one waited for, the first missing one).
    pub stage: OrderEvent,
    /// The service concerned.
    pub service: ServiceRef,
    /// Since when the order is in this state, Unix ms (for alerting states: when the
    /// threshold was crossed).
    pub since_ms: u64,
    /// One sentence for people.
    pub detail: String,
}

impl Assessment {
    fn new(
        state: StateKind,
        stage: OrderEvent,
        service: u8,
        since_ms: u64,
        detail: String,
    ) -> Self {
        Self::with_service(state, stage, ServiceRef::Seen(service), since_ms, detail)
    }

    fn with_service(
        state: StateKind,
        stage: OrderEvent,
        service: ServiceRef,
        since_ms: u64,
        detail: String,
    ) -> Self {
        Assessment {
            state,
            stage,
            service,
            since_ms,
            detail,
        }
    }
}

fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn names(events: &[OrderEvent]) -> String {
    events
        .iter()
        .map(|e| e.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A duration in ms for people: `850ms`, `42s`, `3m12s`, `2h5m`.
pub fn human(ms: u64) -> String {
    let s = ms / 1000;
    if ms < 1000 {
        format!("{ms}ms")
    } else if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderEvent::*;
    use std::time::Duration;

    const MES: u8 = 3;

    fn cfg() -> WatchConfig {
        let mut c = WatchConfig::default();
        c.stuck.insert(PriceCalculated, Duration::from_secs(30));
        c.stalled.insert(OrderConfirmed, Duration::from_secs(60));
        c
    }

    fn ended(r: &mut OrderRecord, e: OrderEvent, id: u64, start_s: u64, dur_s: u64, error: bool) {
        r.observe(
            e,
            id,
            1,
            StageObservation::Ended {
                start_ms: start_s * 1000,
                dur_ms: dur_s * 1000,
                error,
            },
        );
    }

    fn open(r: &mut OrderRecord, e: OrderEvent, id: u64, start_s: u64, at_s: u64) {
        r.observe(
            e,
            id,
            MES,
            StageObservation::Open {
                start_ms: start_s * 1000,
                at_ms: at_s * 1000,
            },
        );
    }

    fn through(r: &mut OrderRecord, last: OrderEvent) {
        for (i, e) in OrderEvent::ALL.iter().enumerate() {
            if *e > last {
                break;
            }
            ended(r, *e, 100 + i as u64, i as u64, 1, false);
        }
    }

    fn assess(r: &OrderRecord, now_s: u64) -> Assessment {
        r.assess(now_s * 1000, &cfg(), |_| Some("in_production".into()))
            .unwrap()
    }

    #[test]
    fn all_stages_ended_is_completed() {
        let mut r = OrderRecord::default();
        through(&mut r, OrderShipped);
        assert_eq!(assess(&r, 1000).state, StateKind::Completed);
    }

    #[test]
    fn open_stage_past_its_threshold_is_stuck_since_the_crossing() {
        let mut r = OrderRecord::default();
        through(&mut r, OrderStatusChanged);
        open(&mut r, PriceCalculated, 7, 10, 40);
        let a = assess(&r, 45);
        assert_eq!(a.state, StateKind::Stuck);
        assert_eq!(a.stage, PriceCalculated);
        assert_eq!(a.since_ms, 40_000);
        assert_eq!(a.service, ServiceRef::Seen(MES));
    }

    #[test]
    fn open_stage_within_its_threshold_is_in_stage() {
        let mut r = OrderRecord::default();
        through(&mut r, OrderStatusChanged);
        open(&mut r, PriceCalculated, 7, 10, 20);
        assert_eq!(assess(&r, 25).state, StateKind::InStage);
    }

    #[test]
    fn open_stage_without_heartbeats_is_lost() {
        let mut r = OrderRecord::default();
        through(&mut r, OrderStatusChanged);
        open(&mut r, PriceCalculated, 7, 10, 10);
        let a = assess(&r, 10 + 91);
        assert_eq!(a.state, StateKind::Lost);
        assert_eq!(a.since_ms, 100_000);
    }

    #[test]
    fn heartbeat_keeps_an_open_stage_alive() {
        let mut r = OrderRecord::default();
        through(&mut r, OrderStatusChanged);
        open(&mut r, PriceCalculated, 7, 10, 10);
        open(&mut r, PriceCalculated, 7, 10, 95);
        assert_eq!(assess(&r, 101).state, StateKind::Stuck);
    }

    #[test]
    fn next_stage_not_started_within_threshold_is_stalled() {
        let mut r = OrderRecord::default();
        through(&mut r, ModelUploaded);
        let a = assess(&r, 2 + 61);
        assert_eq!(a.state, StateKind::Stalled);
        assert_eq!(a.stage, OrderConfirmed);
        assert_eq!(a.service, ServiceRef::Expected(OrderConfirmed));
        assert_eq!(assess(&r, 2 + 59).state, StateKind::Waiting);
    }

    #[test]
    fn failed_stage_is_failed_only_after_the_retry_window() {
        let mut r = OrderRecord::default();
        through(&mut r, OrderStatusChanged);
        ended(&mut r, PriceCalculated, 9, 10, 1, true);
        assert_eq!(assess(&r, 11 + 119).state, StateKind::Waiting);
        assert_eq!(assess(&r, 11 + 120).state, StateKind::Failed);
    }

    #[test]
    fn successful_retry_clears_a_failure() {
        let mut r = OrderRecord::default();
        through(&mut r, OrderStatusChanged);
        ended(&mut r, PriceCalculated, 9, 10, 1, true);
        ended(&mut r, PriceCalculated, 10, 20, 1, false);
        let a = assess(&r, 300);
        assert_ne!(a.state, StateKind::Failed);
        assert_eq!(a.stage, ManufacturingStarted);
    }

    #[test]
    fn late_span_of_an_older_attempt_does_not_replace_the_newer_one() {
        let mut r = OrderRecord::default();
        through(&mut r, OrderStatusChanged);
        ended(&mut r, PriceCalculated, 10, 20, 1, false);
        ended(&mut r, PriceCalculated, 9, 10, 1, true);
        assert!(!r.slot(PriceCalculated).failed());
    }

    #[test]
    fn same_stage_span_twice_is_a_duplicate() {
        let mut r = OrderRecord::default();
        let what = StageObservation::Ended {
            start_ms: 1,
            dur_ms: 2,
            error: false,
        };
        assert_eq!(r.observe(OrderSubmitted, 5, 1, what), Applied::Updated);
        assert_eq!(r.observe(OrderSubmitted, 5, 1, what), Applied::Duplicate);
    }

    #[test]
    fn start_record_after_its_stage_ended_changes_nothing() {
        let mut r = OrderRecord::default();
        ended(&mut r, OrderSubmitted, 5, 1, 2, false);
        let before = r.clone();
        open(&mut r, OrderSubmitted, 5, 1, 1);
        assert_eq!(r, before);
    }

    #[test]
    fn shipped_without_shop_stages_is_incomplete_after_the_grace() {
        let mut r = OrderRecord::default();
        for (i, e) in OrderEvent::ALL[2..].iter().enumerate() {
            ended(&mut r, *e, 50 + i as u64, 10 + i as u64, 1, false);
        }
        let a = assess(&r, 17 + 61);
        assert_eq!(a.state, StateKind::Incomplete);
        assert_eq!(a.stage, OrderSubmitted);
        assert!(
            a.detail.contains("order_submitted, model_uploaded"),
            "{}",
            a.detail
        );
        assert_eq!(assess(&r, 17 + 30).state, StateKind::Completed);
    }

    #[test]
    fn a_final_order_is_completed_at_any_time_under_any_config() {
        let mut r = OrderRecord::default();
        for (i, e) in OrderEvent::ALL.iter().enumerate() {
            ended(&mut r, *e, 50 + i as u64, 10 + i as u64, 1, false);
        }
        assert!(r.is_final());
        let tight = WatchConfig {
            incomplete_grace: Duration::from_millis(1),
            retry_window: Duration::from_millis(1),
            lost_after: Duration::from_millis(1),
            ..WatchConfig::default()
        };
        for cfg in [WatchConfig::default(), tight] {
            for now_s in [18, 100, 86_400, 30 * 86_400] {
                let a = r.assess(now_s * 1000, &cfg, |_| None).unwrap();
                assert_eq!(a.state, StateKind::Completed, "at {now_s}s");
            }
        }
    }

    #[test]
    fn shipped_with_a_missing_stage_or_in_error_is_not_final() {
        let mut missing = OrderRecord::default();
        for (i, e) in OrderEvent::ALL[2..].iter().enumerate() {
            ended(&mut missing, *e, 50 + i as u64, 10 + i as u64, 1, false);
        }
        assert!(!missing.is_final());
        let mut failed = OrderRecord::default();
        for (i, e) in OrderEvent::ALL.iter().enumerate() {
            let last = *e == OrderEvent::OrderShipped;
            ended(&mut failed, *e, 50 + i as u64, 10 + i as u64, 1, last);
        }
        assert!(!failed.is_final());
    }

    #[test]
    fn crm_in_production_without_mes_is_a_mismatch_after_the_grace() {
        let mut r = OrderRecord::default();
        through(&mut r, OrderConfirmed);
        open(&mut r, OrderStatusChanged, 4, 10, 10);
        open(&mut r, OrderStatusChanged, 4, 10, 125);
        r.set_status(1, 10_000);
        assert_eq!(assess(&r, 10 + 119).state, StateKind::InStage);
        let a = assess(&r, 10 + 121);
        assert_eq!(a.state, StateKind::StatusMismatch);
        assert!(a.detail.contains("\"in_production\""), "{}", a.detail);
        assert!(a.detail.contains("MES is at none"), "{}", a.detail);
    }

    #[test]
    fn crm_in_production_with_mes_pricing_is_no_mismatch() {
        let mut r = OrderRecord::default();
        through(&mut r, OrderStatusChanged);
        r.set_status(1, 3_000);
        open(&mut r, PriceCalculated, 7, 10, 1000);
        assert_eq!(assess(&r, 1001).state, StateKind::Stuck);
    }

    #[test]
    fn unknown_status_is_not_checked() {
        let mut r = OrderRecord::default();
        through(&mut r, OrderStatusChanged);
        r.set_status(2, 3_000);
        let a = r
            .assess(20_000, &cfg(), |_| Some("on_hold".into()))
            .unwrap();
        assert_eq!(a.state, StateKind::Waiting);
    }

    #[test]
    fn later_status_wins_over_an_earlier_one_arriving_late() {
        let mut r = OrderRecord::default();
        r.set_status(2, 50);
        r.set_status(1, 10);
        assert_eq!(r.status(), Some((2, 50)));
    }

    #[test]
    fn alerting_states_are_the_six_of_the_issue() {
        let alerting: Vec<&str> = StateKind::ALL
            .into_iter()
            .filter(|s| s.is_alerting())
            .map(StateKind::name)
            .collect();
        assert_eq!(
            alerting,
            [
                "lost",
                "failed",
                "status_mismatch",
                "stuck_in_stage",
                "stalled_between_stages",
                "incomplete"
            ]
        );
    }

    #[test]
    fn human_durations_read_naturally() {
        assert_eq!(human(850), "850ms");
        assert_eq!(human(42_000), "42s");
        assert_eq!(human(192_000), "3m12s");
        assert_eq!(human(7_500_000), "2h05m");
    }
}
