//! Every order's record, fed span by span: bad input counted per reason and skipped,
//! duplicates recognised, stage durations gathered; and the views the outputs read.

use crate::config::WatchConfig;
use crate::order_state::{
    Applied, Assessment, OrderRecord, ServiceRef, StageObservation, StateKind,
};
use ordertrace::OrderEvent;
use ordertrace::otlp_json::RecordedSpan;
use ordertrace::schema::{RECORD_HEARTBEAT, RECORD_STAGE_START, attr, validate_order_id};
use std::collections::{BTreeMap, HashMap};

/// Why a span was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    /// A line of the file (or an answer) is not JSON, or is cut off.
    MalformedJson,
    /// A span without valid trace or span id.
    MalformedSpan,
    /// No `order.id`.
    NoOrderId,
    /// `order.id` breaks the schema's rules (empty, too long, control characters).
    MalformedOrderId,
    /// An `order.id` but no `order.event`: not a stage (an HTTP or messaging span).
    NotAStage,
    /// `order.event` is not one of the schema's eight events.
    UnknownEvent,
    /// `ordertrace.record` with an unknown value, or a record without a valid stage span id.
    MalformedRecord,
    /// The order belongs to another watch (`--shard k/n`).
    OtherShard,
    /// Starts later than now + the allowed clock skew.
    FutureTimestamp,
    /// Starts earlier than now - the maximum span age.
    TooOld,
    /// Ends before it starts.
    EndBeforeStart,
    /// The same span again (Jaeger windows overlap; files can repeat lines).
    Duplicate,
}

impl SkipReason {
    /// Every reason.
    pub const ALL: [SkipReason; 12] = [
        Self::MalformedJson,
        Self::MalformedSpan,
        Self::NoOrderId,
        Self::MalformedOrderId,
        Self::OtherShard,
        Self::NotAStage,
        Self::UnknownEvent,
        Self::MalformedRecord,
        Self::FutureTimestamp,
        Self::TooOld,
        Self::EndBeforeStart,
        Self::Duplicate,
    ];

    /// The label value.
    pub fn name(self) -> &'static str {
        match self {
            Self::MalformedJson => "malformed_json",
            Self::MalformedSpan => "malformed_span",
            Self::NoOrderId => "no_order_id",
            Self::MalformedOrderId => "malformed_order_id",
            Self::OtherShard => "other_shard",
            Self::NotAStage => "not_a_stage",
            Self::UnknownEvent => "unknown_event",
            Self::MalformedRecord => "malformed_record",
            Self::FutureTimestamp => "future_timestamp",
            Self::TooOld => "too_old",
            Self::EndBeforeStart => "end_before_start",
            Self::Duplicate => "duplicate",
        }
    }
}

/// Small string table: ids fit in a byte, 0 means "none"; past 254 entries every new string
/// shares the last id, shown as `other`.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    names: Vec<String>,
    ids: HashMap<String, u8>,
}

impl Interner {
    const OTHER: u8 = 255;

    /// The id of `name`, adding it if new.
    pub fn intern(&mut self, name: &str) -> u8 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        if self.names.len() >= usize::from(Self::OTHER - 1) {
            return Self::OTHER;
        }
        self.names.push(name.to_string());
        let id = self.names.len() as u8;
        self.ids.insert(name.to_string(), id);
        id
    }

    /// The name of `id`.
    pub fn name(&self, id: u8) -> Option<&str> {
        match id {
            0 => None,
            Self::OTHER => Some("other"),
            n => self.names.get(usize::from(n) - 1).map(String::as_str),
        }
    }
}

/// Upper bounds of the stage duration histogram, seconds.
pub const DURATION_BUCKETS: [f64; 12] = [
    0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];

/// A Prometheus histogram of one stage's durations.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct DurationHistogram {
    /// Count per bucket of [`DURATION_BUCKETS`] (not cumulative).
    pub buckets: [u64; 12],
    /// Observations.
    pub count: u64,
    /// Sum, seconds.
    pub sum: f64,
}

impl DurationHistogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(i) = DURATION_BUCKETS.iter().position(|b| seconds <= *b) {
            self.buckets[i] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }
}

/// One order as the outputs show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderView {
    /// The order.
    pub order_id: String,
    /// Its trace (hex).
    pub trace_id: String,
    /// The state (already `unknown` for an order that looked fine on stale data).
    pub state: StateKind,
    /// The stage concerned.
    pub stage: OrderEvent,
    /// The service concerned.
    pub service: String,
    /// Since when, Unix ms.
    pub since_ms: u64,
    /// One sentence.
    pub detail: String,
}

/// One stage of one order, for the order page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageView {
    /// The stage.
    pub stage: OrderEvent,
    /// Who recorded it.
    pub service: String,
    /// Start, Unix ms.
    pub start_ms: u64,
    /// Duration (ended) or time open so far.
    pub duration_ms: u64,
    /// Still open.
    pub open: bool,
    /// Ended in error.
    pub failed: bool,
    /// Last sign of life, Unix ms.
    pub last_seen_ms: u64,
}

/// Every order's record and the ingest counters.
#[derive(Debug, Default)]
pub struct Tracker {
    /// Order id -> index into `records` (a small map entry; the records sit in one vector,
    /// so a million orders cost one growth of each, not a map of 250-byte entries).
    orders: HashMap<Box<str>, u32>,
    records: Vec<OrderRecord>,
    services: Interner,
    statuses: Interner,
    /// Start records and heartbeats seen recently (span id -> when), for de-duplication.
    recent_records: HashMap<u64, u64>,
    records_since_prune: usize,
    /// Last error text of an order's failed stage.
    errors: HashMap<Box<str>, String>,
    /// Orders a survey must assess: every order not known to be final (see
    /// [`OrderRecord::is_final`]), plus entries of orders that became final since the last
    /// survey or compaction (dropped then). A final order is only counted, so a survey of a
    /// million mostly completed orders costs the open ones.
    active: Vec<(Box<str>, u32)>,
    /// Per record: [`Listing`].
    listing: Vec<Listing>,
    /// Final orders (their listing is `FinalListed` or `FinalUnlisted`).
    finals: u64,
    /// Spans applied.
    pub ingested: u64,
    /// Spans skipped, per reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    /// Ended stage durations, per stage.
    pub durations: BTreeMap<OrderEvent, DurationHistogram>,
    /// This watch's share of the orders, if several watches split them.
    pub shard: Option<Shard>,
}

/// Where a record stands for the survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listing {
    /// Not final, in `active`.
    Active,
    /// Final, still in `active` (dropped at the next survey or compaction).
    FinalListed,
    /// Final, not in `active`.
    FinalUnlisted,
}

/// A share of the orders: watch `index` of `count` keeps the spans whose trace id is `index`
/// modulo `count`. With the default identity an order's trace id is derived from (a hash
/// of) its order id, so each order belongs to exactly one watch, and a reader can skip
/// another shard's trace by its id before parsing any span of it. (With the `propagated`
/// identity an order still lives in one trace, the one its first hop started.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based.
    pub index: u32,
    /// Watches in all.
    pub count: u32,
}

impl Shard {
    /// Parses `k/n` (0 <= k < n).
    pub fn parse(text: &str) -> Option<Shard> {
        let (k, n) = text.split_once('/')?;
        let (index, count) = (k.trim().parse().ok()?, n.trim().parse().ok()?);
        (count > 0 && index < count).then_some(Shard { index, count })
    }

    /// Whether this share holds `order_id`'s order-derived trace.
    pub fn owns(&self, order_id: &str) -> bool {
        let t = u128::from_be_bytes(ordertrace::identity::order_trace_id(order_id).to_bytes());
        self.owns_trace_number(t)
    }

    /// Whether this share holds the trace `trace_id` (32 hex digits); an id that is not
    /// hex is nobody's.
    pub fn owns_trace(&self, trace_id: &str) -> bool {
        u128::from_str_radix(trace_id, 16).is_ok_and(|t| self.owns_trace_number(t))
    }

    fn owns_trace_number(&self, trace: u128) -> bool {
        trace % u128::from(self.count) == u128::from(self.index)
    }
}

fn hex_u64(s: &str) -> Option<u64> {
    (s.len() == 16).then(|| u64::from_str_radix(s, 16).ok())?
}

fn ms(nanos: u64) -> u64 {
    nanos / 1_000_000
}

impl Tracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Orders tracked.
    pub fn len(&self) -> usize {
        self.orders.len()
    }

    /// Whether no order is tracked.
    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }

    /// Counts `n` skipped inputs (for reasons found before a span exists, like bad JSON).
    pub fn count_skipped(&mut self, reason: SkipReason, n: u64) {
        if n > 0 {
            *self.skipped.entry(reason).or_default() += n;
        }
    }

    /// Applies one span read at `now_ms`; a span that cannot be used is counted and skipped.
    pub fn ingest(&mut self, span: &RecordedSpan, now_ms: u64, cfg: &WatchConfig) {
        match self.apply(span, now_ms, cfg) {
            Ok(()) => self.ingested += 1,
            Err(reason) => self.count_skipped(reason, 1),
        }
    }

    fn apply(
        &mut self,
        span: &RecordedSpan,
        now_ms: u64,
        cfg: &WatchConfig,
    ) -> Result<(), SkipReason> {
        let order_id = span
            .attribute(attr::ORDER_ID)
            .ok_or(SkipReason::NoOrderId)?;
        validate_order_id(order_id).map_err(|_| SkipReason::MalformedOrderId)?;
        if let Some(shard) = self.shard
            && !shard.owns_trace(&span.trace_id)
        {
            return Err(SkipReason::OtherShard);
        }
        let event: OrderEvent = span
            .attribute(attr::ORDER_EVENT)
            .ok_or(SkipReason::NotAStage)?
            .parse()
            .map_err(|_| SkipReason::UnknownEvent)?;
        let start_ms = ms(span.start_unix_nanos);
        let end_ms = ms(span.end_unix_nanos);
        if start_ms > now_ms.saturating_add(crate::millis(cfg.max_future_skew)) {
            return Err(SkipReason::FutureTimestamp);
        }
        if start_ms < now_ms.saturating_sub(crate::millis(cfg.max_span_age)) {
            return Err(SkipReason::TooOld);
        }
        if end_ms < start_ms {
            return Err(SkipReason::EndBeforeStart);
        }
        let (stage_span, observation) = match span.attribute(attr::RECORD) {
            None => (
                hex_u64(&span.span_id).ok_or(SkipReason::MalformedSpan)?,
                StageObservation::Ended {
                    start_ms,
                    dur_ms: end_ms - start_ms,
                    error: span.is_error(),
                },
            ),
            Some(kind) if kind == RECORD_STAGE_START || kind == RECORD_HEARTBEAT => {
                let stage_span = span
                    .attribute(attr::STAGE_SPAN_ID)
                    .and_then(hex_u64)
                    .ok_or(SkipReason::MalformedRecord)?;
                let own = hex_u64(&span.span_id).ok_or(SkipReason::MalformedSpan)?;
                if self.recent_records.insert(own, start_ms).is_some() {
                    return Err(SkipReason::Duplicate);
                }
                self.prune_records(cfg);
                let started = if kind == RECORD_STAGE_START {
                    start_ms
                } else {
                    let open_for: u64 = span
                        .attribute(attr::OPEN_FOR_MS)
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    start_ms.saturating_sub(open_for)
                };
                (
                    stage_span,
                    StageObservation::Open {
                        start_ms: started,
                        at_ms: start_ms,
                    },
                )
            }
            Some(_) => return Err(SkipReason::MalformedRecord),
        };
        let service = self.services.intern(&span.service_name);
        let status = (event == OrderEvent::OrderStatusChanged)
            .then(|| span.attribute(attr::ORDER_STATUS_TO))
            .flatten()
            .map(|s| self.statuses.intern(s));
        let index = match self.orders.get(order_id) {
            Some(i) => *i as usize,
            None => {
                let i = self.records.len();
                self.records.push(OrderRecord::default());
                self.orders.insert(order_id.into(), i as u32);
                self.listing.push(Listing::Active);
                self.active.push((order_id.into(), i as u32));
                i
            }
        };
        let record = &mut self.records[index];
        let applied = record.observe(event, stage_span, service, observation);
        if applied == Applied::Duplicate {
            return Err(SkipReason::Duplicate);
        }
        if applied == Applied::Updated {
            if let Ok(t) = u128::from_str_radix(&span.trace_id, 16) {
                record.trace_id = t;
            }
            let is_final = record.is_final();
            self.relist(order_id, index, is_final);
            let record = &mut self.records[index];
            if let Some(s) = status {
                record.set_status(s, start_ms);
            }
            if let StageObservation::Ended { dur_ms, error, .. } = observation {
                self.durations
                    .entry(event)
                    .or_default()
                    .observe(dur_ms as f64 / 1000.0);
                if error {
                    let text = span
                        .exception()
                        .map(|e| {
                            format!(
                                "{}: {}",
                                e.attributes
                                    .get(attr::EXCEPTION_TYPE)
                                    .map_or("error", String::as_str),
                                e.attributes
                                    .get(attr::EXCEPTION_MESSAGE)
                                    .map_or("", String::as_str)
                            )
                        })
                        .unwrap_or_else(|| span.status_message.clone());
                    let text: String = text.chars().take(500).collect();
                    self.errors.insert(order_id.into(), text);
                }
            }
        }
        Ok(())
    }

    /// Keeps `listing`/`active`/`finals` in step with whether record `index` is final.
    fn relist(&mut self, order_id: &str, index: usize, is_final: bool) {
        match (self.listing[index], is_final) {
            (Listing::Active, true) => {
                self.listing[index] = Listing::FinalListed;
                self.finals += 1;
            }
            (Listing::FinalListed, false) => {
                self.listing[index] = Listing::Active;
                self.finals -= 1;
            }
            (Listing::FinalUnlisted, false) => {
                self.listing[index] = Listing::Active;
                self.finals -= 1;
                self.active.push((order_id.into(), index as u32));
            }
            _ => {}
        }
        // Entries of final orders pile up during a bulk read: drop them once they are half.
        let live = self.records.len() - self.finals as usize;
        if self.active.len() > 2 * live + 1024 {
            self.compact_active();
        }
    }

    fn compact_active(&mut self) {
        let listing = &mut self.listing;
        self.active.retain(|(_, i)| {
            let l = &mut listing[*i as usize];
            if *l == Listing::FinalListed {
                *l = Listing::FinalUnlisted;
                false
            } else {
                true
            }
        });
    }

    /// Forgets records older than the de-duplication horizon (every 4096 inserts).
    fn prune_records(&mut self, cfg: &WatchConfig) {
        self.records_since_prune += 1;
        if self.records_since_prune < 4096 {
            return;
        }
        self.records_since_prune = 0;
        let newest = self.recent_records.values().copied().max().unwrap_or(0);
        let horizon = crate::millis(cfg.overlap + cfg.poll_interval) * 4 + 600_000;
        self.recent_records.retain(|_, at| *at + horizon >= newest);
    }

    fn service_name(&self, service: ServiceRef) -> String {
        match service {
            ServiceRef::Seen(id) => self.services.name(id).unwrap_or("unknown").to_string(),
            ServiceRef::Expected(e) => e.component().service_name().to_string(),
        }
    }

    fn assess_record(&self, r: &OrderRecord, now_ms: u64, cfg: &WatchConfig) -> Option<Assessment> {
        r.assess(now_ms, cfg, |id| self.statuses.name(id).map(str::to_string))
    }

    fn view(&self, id: &str, a: Assessment, r: &OrderRecord, stale: bool) -> OrderView {
        let state = if stale && !a.state.is_alerting() {
            StateKind::Unknown
        } else {
            a.state
        };
        let detail = if state == StateKind::Unknown {
            format!("source stale: last known {} ({})", a.state.name(), a.detail)
        } else {
            a.detail
        };
        OrderView {
            order_id: id.to_string(),
            trace_id: format!("{:032x}", r.trace_id),
            state,
            stage: a.stage,
            service: self.service_name(a.service),
            since_ms: a.since_ms,
            detail,
        }
    }

    /// One order's view, `None` if unknown.
    pub fn order(
        &self,
        id: &str,
        now_ms: u64,
        cfg: &WatchConfig,
        stale: bool,
    ) -> Option<OrderView> {
        let r = self.record(id)?;
        let a = self.assess_record(r, now_ms, cfg)?;
        Some(self.view(id, a, r, stale))
    }

    /// One order's stages (ended and open), in lifecycle order.
    pub fn stages(&self, id: &str, now_ms: u64) -> Vec<StageView> {
        let Some(r) = self.record(id) else {
            return Vec::new();
        };
        r.reached()
            .map(|e| {
                let s = r.slot(e);
                StageView {
                    stage: e,
                    service: self.service_name(ServiceRef::Seen(s.service_id())),
                    start_ms: s.start_ms(),
                    duration_ms: if s.ended() {
                        s.duration_ms()
                    } else {
                        now_ms.saturating_sub(s.start_ms())
                    },
                    open: !s.ended(),
                    failed: s.failed(),
                    last_seen_ms: s.last_seen_ms(),
                }
            })
            .collect()
    }

    fn record(&self, id: &str) -> Option<&OrderRecord> {
        self.orders.get(id).map(|i| &self.records[*i as usize])
    }

    /// Trace ids (hex) of orders with a stage still open and not shipped: the ones whose
    /// stage spans may end outside any later search window.
    pub fn open_trace_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .records
            .iter()
            .filter(|r| {
                let shipped = r.slot(OrderEvent::OrderShipped);
                (shipped.failed() || !shipped.ended()) && r.reached().any(|e| !r.slot(e).ended())
            })
            .map(|r| format!("{:032x}", r.trace_id))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// The last recorded error of an order's failed stage.
    pub fn last_error(&self, id: &str) -> Option<&str> {
        self.errors.get(id).map(String::as_str)
    }

    /// The CRM's latest status of an order.
    pub fn crm_status(&self, id: &str) -> Option<&str> {
        let (s, _) = self.record(id)?.status()?;
        self.statuses.name(s)
    }

    /// Every order's state, counted per (state, stage), and the views of the orders for which
    /// `keep` says yes. Final orders (completed for good) are counted without being assessed
    /// unless their views are wanted (`keep(Completed)`, or the source is stale and they
    /// read `unknown`): the cost is that of the orders still open.
    pub fn survey(
        &mut self,
        now_ms: u64,
        cfg: &WatchConfig,
        stale: bool,
        mut keep: impl FnMut(StateKind) -> bool,
    ) -> Survey {
        self.compact_active();
        let mut survey = Survey::default();
        let tally = |id: &str,
                     r: &OrderRecord,
                     survey: &mut Survey,
                     keep: &mut dyn FnMut(StateKind) -> bool| {
            let Some(a) = self.assess_record(r, now_ms, cfg) else {
                return;
            };
            let state = if stale && !a.state.is_alerting() {
                StateKind::Unknown
            } else {
                a.state
            };
            *survey.counts.entry((state, a.stage)).or_default() += 1;
            if keep(state) {
                survey.orders.push(self.view(id, a, r, stale));
            }
        };
        for (id, index) in &self.active {
            tally(id, &self.records[*index as usize], &mut survey, &mut keep);
        }
        if self.finals > 0 {
            if stale || keep(StateKind::Completed) {
                for (id, index) in &self.orders {
                    if self.listing[*index as usize] != Listing::Active {
                        tally(id, &self.records[*index as usize], &mut survey, &mut keep);
                    }
                }
            } else {
                *survey
                    .counts
                    .entry((StateKind::Completed, OrderEvent::OrderShipped))
                    .or_default() += self.finals;
            }
        }
        survey.orders.sort_by(|a, b| {
            (a.state, a.since_ms, &a.order_id).cmp(&(b.state, b.since_ms, &b.order_id))
        });
        survey
    }
}

/// The result of [`Tracker::survey`].
#[derive(Debug, Default, Clone)]
pub struct Survey {
    /// Orders per (state, stage).
    pub counts: BTreeMap<(StateKind, OrderEvent), u64>,
    /// The kept orders, most urgent state first, then longest in it.
    pub orders: Vec<OrderView>,
}

impl Survey {
    /// Orders in `state`.
    pub fn count(&self, state: StateKind) -> u64 {
        self.counts
            .iter()
            .filter(|((s, _), _)| *s == state)
            .map(|(_, n)| n)
            .sum()
    }

    /// Orders in an alerting state.
    pub fn alerting(&self) -> u64 {
        self.counts
            .iter()
            .filter(|((s, _), _)| s.is_alerting())
            .map(|(_, n)| n)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ordertrace::otlp_json::SpanStatus;

    const NOW_MS: u64 = 1_800_000_000_000;

    fn span(
        order: Option<&str>,
        event: Option<&str>,
        span_id: &str,
        start_ms: u64,
    ) -> RecordedSpan {
        let mut attributes = BTreeMap::new();
        if let Some(o) = order {
            attributes.insert(attr::ORDER_ID.to_string(), o.to_string());
        }
        if let Some(e) = event {
            attributes.insert(attr::ORDER_EVENT.to_string(), e.to_string());
        }
        RecordedSpan {
            trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
            span_id: span_id.into(),
            parent_span_id: None,
            name: event.unwrap_or("x").into(),
            service_name: "shop-api".into(),
            kind: 1,
            start_unix_nanos: start_ms * 1_000_000,
            end_unix_nanos: (start_ms + 5) * 1_000_000,
            attributes,
            events: vec![],
            links: vec![],
            status: SpanStatus::Unset,
            status_message: String::new(),
        }
    }

    fn ingest(t: &mut Tracker, s: &RecordedSpan) {
        t.ingest(s, NOW_MS, &WatchConfig::default());
    }

    fn skipped(t: &Tracker, r: SkipReason) -> u64 {
        t.skipped.get(&r).copied().unwrap_or(0)
    }

    const SPAN: &str = "00f067aa0ba902b7";

    #[test]
    fn span_without_order_id_is_skipped_and_counted() {
        let mut t = Tracker::new();
        ingest(&mut t, &span(None, Some("order_submitted"), SPAN, NOW_MS));
        assert_eq!(skipped(&t, SkipReason::NoOrderId), 1);
        assert!(t.is_empty());
    }

    #[test]
    fn unknown_event_name_is_skipped_and_counted() {
        let mut t = Tracker::new();
        ingest(
            &mut t,
            &span(Some("ORD-1"), Some("order_teleported"), SPAN, NOW_MS),
        );
        assert_eq!(skipped(&t, SkipReason::UnknownEvent), 1);
        assert!(t.is_empty());
    }

    #[test]
    fn span_with_order_id_but_no_event_is_not_a_stage() {
        let mut t = Tracker::new();
        ingest(&mut t, &span(Some("ORD-1"), None, SPAN, NOW_MS));
        assert_eq!(skipped(&t, SkipReason::NotAStage), 1);
    }

    #[test]
    fn malformed_order_id_is_skipped() {
        let mut t = Tracker::new();
        ingest(
            &mut t,
            &span(Some("ORD\u{7}1"), Some("order_submitted"), SPAN, NOW_MS),
        );
        ingest(
            &mut t,
            &span(Some(""), Some("order_submitted"), SPAN, NOW_MS),
        );
        assert_eq!(skipped(&t, SkipReason::MalformedOrderId), 2);
    }

    #[test]
    fn future_and_far_past_timestamps_are_skipped() {
        let mut t = Tracker::new();
        ingest(
            &mut t,
            &span(
                Some("ORD-1"),
                Some("order_submitted"),
                SPAN,
                NOW_MS + 3_600_000,
            ),
        );
        ingest(
            &mut t,
            &span(Some("ORD-1"), Some("order_submitted"), SPAN, 1_000),
        );
        assert_eq!(skipped(&t, SkipReason::FutureTimestamp), 1);
        assert_eq!(skipped(&t, SkipReason::TooOld), 1);
        assert!(t.is_empty());
    }

    #[test]
    fn the_same_stage_span_twice_is_counted_as_duplicate_once() {
        let mut t = Tracker::new();
        let s = span(Some("ORD-1"), Some("order_submitted"), SPAN, NOW_MS);
        ingest(&mut t, &s);
        ingest(&mut t, &s);
        assert_eq!(t.ingested, 1);
        assert_eq!(skipped(&t, SkipReason::Duplicate), 1);
        assert_eq!(t.durations[&OrderEvent::OrderSubmitted].count, 1);
    }

    #[test]
    fn the_same_heartbeat_twice_is_a_duplicate() {
        let mut t = Tracker::new();
        let mut hb = span(Some("ORD-1"), Some("price_calculated"), SPAN, NOW_MS);
        hb.attributes
            .insert(attr::RECORD.into(), RECORD_HEARTBEAT.into());
        hb.attributes
            .insert(attr::STAGE_SPAN_ID.into(), "1111111111111111".into());
        ingest(&mut t, &hb);
        ingest(&mut t, &hb);
        assert_eq!(skipped(&t, SkipReason::Duplicate), 1);
    }

    #[test]
    fn record_without_stage_span_id_is_malformed() {
        let mut t = Tracker::new();
        let mut r = span(Some("ORD-1"), Some("price_calculated"), SPAN, NOW_MS);
        r.attributes
            .insert(attr::RECORD.into(), RECORD_STAGE_START.into());
        ingest(&mut t, &r);
        r.attributes.insert(attr::RECORD.into(), "gossip".into());
        ingest(&mut t, &r);
        assert_eq!(skipped(&t, SkipReason::MalformedRecord), 2);
    }

    #[test]
    fn bad_spans_do_not_change_another_orders_state() {
        let cfg = WatchConfig::default();
        let mut t = Tracker::new();
        ingest(
            &mut t,
            &span(
                Some("ORD-GOOD"),
                Some("order_submitted"),
                SPAN,
                NOW_MS - 1000,
            ),
        );
        let before = t.order("ORD-GOOD", NOW_MS, &cfg, false);
        ingest(
            &mut t,
            &span(
                Some("ORD-GOOD"),
                Some("order_teleported"),
                "1111111111111112",
                NOW_MS,
            ),
        );
        ingest(
            &mut t,
            &span(None, Some("order_shipped"), "1111111111111113", NOW_MS),
        );
        ingest(
            &mut t,
            &span(
                Some("ORD-GOOD"),
                Some("order_shipped"),
                "1111111111111114",
                NOW_MS + 86_400_000,
            ),
        );
        assert_eq!(t.order("ORD-GOOD", NOW_MS, &cfg, false), before);
    }

    #[test]
    fn stale_source_turns_fine_orders_into_unknown_but_keeps_alerts() {
        let cfg = WatchConfig::default();
        let mut t = Tracker::new();
        ingest(
            &mut t,
            &span(Some("ORD-OK"), Some("order_submitted"), SPAN, NOW_MS - 1000),
        );
        ingest(
            &mut t,
            &span(
                Some("ORD-STALL"),
                Some("order_submitted"),
                "1111111111111115",
                NOW_MS - 1000,
            ),
        );
        ingest(
            &mut t,
            &span(
                Some("ORD-STALL"),
                Some("model_uploaded"),
                "1111111111111116",
                NOW_MS - 900_000,
            ),
        );
        let later = NOW_MS + 700_000;
        assert_eq!(
            t.order("ORD-OK", NOW_MS, &cfg, true).unwrap().state,
            StateKind::Unknown
        );
        assert_eq!(
            t.order("ORD-STALL", later, &cfg, true).unwrap().state,
            StateKind::Stalled
        );
        let survey = t.survey(NOW_MS, &cfg, true, |_| true);
        assert_eq!(survey.count(StateKind::Waiting), 0);
        assert_eq!(survey.count(StateKind::Unknown), 1);
        assert_eq!(survey.count(StateKind::Stalled), 1);
    }

    /// Every stage of `order` ended, 10 ms apart, ending `ends_ms_ago` before NOW_MS.
    fn complete_order(t: &mut Tracker, order: &str, n: u64, ends_ms_ago: u64) {
        for (i, e) in OrderEvent::ALL.iter().enumerate() {
            let id = format!("{:016x}", (n << 8) + i as u64 + 1);
            let start = NOW_MS - ends_ms_ago - 100 + i as u64 * 10;
            ingest(t, &span(Some(order), Some(e.name()), &id, start));
        }
    }

    /// Counts per state, assessing every order one by one (what a survey must agree with).
    fn assessed_counts(
        t: &Tracker,
        ids: &[&str],
        now: u64,
        stale: bool,
    ) -> BTreeMap<StateKind, u64> {
        let mut counts = BTreeMap::new();
        for id in ids {
            let v = t.order(id, now, &WatchConfig::default(), stale).unwrap();
            *counts.entry(v.state).or_default() += 1;
        }
        counts
    }

    fn survey_counts(s: &Survey) -> BTreeMap<StateKind, u64> {
        let mut counts = BTreeMap::new();
        for ((state, _), n) in &s.counts {
            *counts.entry(*state).or_default() += n;
        }
        counts
    }

    #[test]
    fn a_survey_counts_final_orders_without_listing_them_and_agrees_with_each_assessment() {
        let cfg = WatchConfig::default();
        let mut t = Tracker::new();
        for n in 0..5 {
            complete_order(&mut t, &format!("ORD-DONE-{n}"), n, 1000);
        }
        ingest(
            &mut t,
            &span(
                Some("ORD-OPEN"),
                Some("order_submitted"),
                "00000000000ff001",
                NOW_MS - 1000,
            ),
        );
        assert_eq!(t.finals, 5);
        let ids: Vec<String> = (0..5).map(|n| format!("ORD-DONE-{n}")).collect();
        let mut all: Vec<&str> = ids.iter().map(String::as_str).collect();
        all.push("ORD-OPEN");
        for stale in [false, true] {
            let survey = t.survey(NOW_MS, &cfg, stale, StateKind::is_alerting);
            assert_eq!(
                survey_counts(&survey),
                assessed_counts(&t, &all, NOW_MS, stale),
                "stale {stale}"
            );
        }
        let survey = t.survey(NOW_MS, &cfg, false, StateKind::is_alerting);
        assert_eq!(survey.count(StateKind::Completed), 5);
        assert!(survey.orders.is_empty());
        // Asked for, the final orders are listed with their views.
        let survey = t.survey(NOW_MS, &cfg, false, |s| s == StateKind::Completed);
        assert_eq!(survey.orders.len(), 5);
        assert!(
            survey
                .orders
                .iter()
                .all(|v| v.state == StateKind::Completed)
        );
    }

    #[test]
    fn a_final_order_that_gets_a_new_failed_attempt_is_assessed_again() {
        let cfg = WatchConfig::default();
        let mut t = Tracker::new();
        complete_order(&mut t, "ORD-RETRY", 1, 3_600_000);
        let _ = t.survey(NOW_MS, &cfg, false, StateKind::is_alerting);
        assert_eq!(t.finals, 1);
        let mut again = span(
            Some("ORD-RETRY"),
            Some("order_shipped"),
            "00000000000ee001",
            NOW_MS - 1_800_000,
        );
        again.status = SpanStatus::Error;
        ingest(&mut t, &again);
        assert_eq!(t.finals, 0);
        let survey = t.survey(NOW_MS, &cfg, false, |_| true);
        let state = t.order("ORD-RETRY", NOW_MS, &cfg, false).unwrap().state;
        assert_ne!(state, StateKind::Completed);
        assert_eq!(survey.count(state), 1);
        assert_eq!(survey.count(StateKind::Completed), 0);
        assert_eq!(survey.orders.len(), 1);
    }

    #[test]
    fn entries_of_final_orders_are_dropped_from_the_survey_list_as_they_pile_up() {
        let mut t = Tracker::new();
        for n in 0..3000 {
            complete_order(&mut t, &format!("ORD-BULK-{n}"), n, 1000);
        }
        assert_eq!(t.finals, 3000);
        assert!(t.active.len() <= 1024, "{}", t.active.len());
        let _ = t.survey(
            NOW_MS,
            &WatchConfig::default(),
            false,
            StateKind::is_alerting,
        );
        assert!(t.active.is_empty());
    }

    #[test]
    fn shards_split_the_orders_without_overlap() {
        let shards: Vec<Shard> = (0..3)
            .map(|k| Shard::parse(&format!("{k}/3")).unwrap())
            .collect();
        for n in 0..300 {
            let id = format!("ORD-{n}");
            assert_eq!(shards.iter().filter(|s| s.owns(&id)).count(), 1, "{id}");
        }
        assert!((0..300).any(|n| shards[0].owns(&format!("ORD-{n}"))));
    }

    #[test]
    fn shard_text_must_be_k_of_n() {
        assert_eq!(Shard::parse("1/4"), Some(Shard { index: 1, count: 4 }));
        for bad in ["4/4", "1/0", "x/2", "3", ""] {
            assert_eq!(Shard::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn spans_of_another_shard_are_skipped() {
        let mut t = Tracker::new();
        let id = (0..100)
            .map(|n| format!("ORD-{n}"))
            .find(|id| !Shard { index: 0, count: 2 }.owns(id))
            .unwrap();
        t.shard = Shard::parse("0/2");
        let mut s = span(Some(&id), Some("order_submitted"), SPAN, NOW_MS);
        s.trace_id = derived_trace(&id);
        ingest(&mut t, &s);
        assert_eq!(skipped(&t, SkipReason::OtherShard), 1);
        assert!(t.is_empty());
    }

    fn derived_trace(order_id: &str) -> String {
        let t = ordertrace::identity::order_trace_id(order_id).to_bytes();
        format!("{:032x}", u128::from_be_bytes(t))
    }

    #[test]
    fn a_shard_owns_an_orders_derived_trace_exactly_when_it_owns_the_order() {
        for k in 0..3 {
            let shard = Shard { index: k, count: 3 };
            for n in 0..100 {
                let id = format!("ORD-{n}");
                assert_eq!(
                    shard.owns_trace(&derived_trace(&id)),
                    shard.owns(&id),
                    "{id}"
                );
            }
        }
    }

    #[test]
    fn a_trace_id_that_is_not_hex_belongs_to_no_shard() {
        for k in 0..2 {
            let shard = Shard { index: k, count: 2 };
            assert!(!shard.owns_trace("not-a-trace-id"));
            assert!(!shard.owns_trace(""));
        }
    }

    #[test]
    fn the_shard_of_a_span_is_its_trace_ids_not_its_order_ids() {
        // An order of shard 1 by its id, in a trace of shard 0 (a propagated identity): the
        // watch of shard 0 keeps it, since a reader skips traces by id before any parsing.
        let id = (0..100)
            .map(|n| format!("ORD-{n}"))
            .find(|id| !Shard { index: 0, count: 2 }.owns(id))
            .unwrap();
        let trace = (1u128..100)
            .map(|n| format!("{n:032x}"))
            .find(|t| Shard { index: 0, count: 2 }.owns_trace(t))
            .unwrap();
        let mut t = Tracker::new();
        t.shard = Shard::parse("0/2");
        let mut s = span(Some(&id), Some("order_submitted"), SPAN, NOW_MS);
        s.trace_id = trace;
        ingest(&mut t, &s);
        assert_eq!(skipped(&t, SkipReason::OtherShard), 0);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn interner_caps_at_254_names_and_calls_the_rest_other() {
        let mut i = Interner::default();
        for n in 0..300 {
            i.intern(&format!("s{n}"));
        }
        assert_eq!(i.name(1), Some("s0"));
        let id = i.intern("s299");
        assert_eq!(i.name(id), Some("other"));
        assert_eq!(i.name(0), None);
    }
}
