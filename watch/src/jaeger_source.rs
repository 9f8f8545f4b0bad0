//! Reads Jaeger's HTTP api/v3 incrementally: each poll asks for the traces with a span
//! starting in `[previous end - overlap, now]` (the first poll reaches back the look-back
//! window, so a restart rebuilds the same state), de-duplicates by span id, and re-reads by
//! trace id the few orders still open whose trace no longer shows up in the window (a long
//! stage's span starts before the window it ends in). No full rescans.
//!
//! How it asks, cheapest first:
//! - one search over every service (`query.service_name` left out; the memory and badger
//!   storages allow it): each trace comes back once. A storage that refuses it (it wants a
//!   service name) is searched per service instead, and a trace already read in this poll is
//!   skipped before its spans are parsed (Jaeger answers whole traces, so the same trace comes
//!   back once per service);
//! - `raw_traces`: Jaeger skips its clock-skew and de-duplication adjusters;
//! - up to `SEARCH_LIMIT` traces per answer; a window answering the limit is searched in
//!   slices, newest first, sized to what the previous slice answered (see `search`);
//! - [`IN_FLIGHT`] searches at a time: the next slice is asked before the previous answer is
//!   parsed, so Jaeger builds it while the watch parses (the answers are still parsed in
//!   slice order, and nothing reaches the tracker before every slice of the poll is read);
//! - the answer is read by [`crate::otlp_scan`] (no JSON tree), and with `--shard k/n` the
//!   spans of another shard's traces are skipped by trace id before they are parsed.

use crate::config::WatchConfig;
use crate::error::{Result, WatchError};
use crate::jaeger_client::{JaegerClient, Refused, Search};
use crate::otlp_scan;
use crate::tracker::{Shard, SkipReason, Tracker};
use ordertrace::otlp_json::RecordedSpan;
use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::thread::ScopedJoinHandle;
use std::time::Duration;

pub use crate::jaeger_client::now_ms;

/// Traces asked for per search: Jaeger's own default `max_traces` of its in-memory storage, so
/// a backfill of up to 100,000 orders is one answer (each re-asked slice costs Jaeger the whole
/// answer again: with 20,000, 50,000 orders took 9 requests and re-sent 316,212 spans).
pub const SEARCH_LIMIT: usize = 100_000;
/// The least traces asked for per search when halving it (see `search_slice`).
const MIN_LIMIT: usize = 500;
/// Open orders re-read by trace id per poll at most.
pub const REFETCH_PER_POLL: usize = 200;
/// Smallest window split when a search hits the limit.
const MIN_WINDOW_MS: u64 = 1000;
/// Search requests in flight at once (Jaeger answers them on its own threads while the watch
/// parses the previous answer).
pub const IN_FLIGHT: usize = 2;

/// How the storage lets itself be searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMode {
    /// One search over every service.
    AllServices,
    /// One search per service (the storage wants a service name).
    PerService,
}

/// An incremental reader of one Jaeger query service.
pub struct JaegerPoller {
    client: JaegerClient,
    window_end_ms: Option<u64>,
    refetch_cursor: usize,
    mode: SearchMode,
    /// Traces asked for per search: [`SEARCH_LIMIT`], halved while the storage refuses it.
    limit: usize,
}

/// What one poll read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollResult {
    /// Spans parsed and handed to the tracker (before de-duplication by span id).
    pub spans: u64,
    /// Spans in the answers left unparsed because their trace is another shard's.
    pub other_shard: u64,
    /// Spans in the answers left unparsed because their trace was read earlier in this poll.
    pub already_read: u64,
    /// Distinct traces received.
    pub traces: u64,
    /// HTTP requests made.
    pub requests: u64,
    /// Bytes of the answers.
    pub bytes: u64,
}

/// What one search answered: its distinct traces, and the earliest and latest span start in
/// it (Unix ms).
type Answered = (usize, Option<(u64, u64)>);

/// The spans read so far in one poll.
struct PollSpans {
    spans: Vec<RecordedSpan>,
    /// Traces read in this poll (their spans are in `spans`, or were another shard's).
    traces: HashSet<String>,
    shard: Option<Shard>,
    malformed: u64,
}

impl PollSpans {
    /// Reads one answer: spans of traces already read in this poll and of another shard's
    /// traces are skipped unparsed.
    /// Returns the distinct traces in the answer and the earliest and latest span start in
    /// it (Unix ms).
    fn read(&mut self, body: &[u8], result: &mut PollResult) -> Answered {
        result.bytes += body.len() as u64;
        let traces = &self.traces;
        match otlp_scan::scan(body, self.shard, |t| traces.contains(t)) {
            Ok(read) => {
                self.malformed += read.skipped.len() as u64;
                result.other_shard += read.other_shard;
                result.already_read += read.already_read;
                let answered = read.traces.len();
                self.traces.extend(read.traces);
                self.spans.extend(read.spans);
                let starts = read.starts.map(|(a, b)| (a / 1_000_000, b / 1_000_000));
                (answered, starts)
            }
            Err(_) => {
                self.malformed += 1;
                (0, None)
            }
        }
    }
}

impl JaegerPoller {
    /// `url` is the query service, e.g. `http://127.0.0.1:16686`.
    pub fn new(url: &str, timeout: Duration) -> Result<Self> {
        Ok(JaegerPoller {
            client: JaegerClient::new(url, timeout)?,
            window_end_ms: None,
            refetch_cursor: 0,
            mode: SearchMode::AllServices,
            limit: SEARCH_LIMIT,
        })
    }

    /// The query URL.
    pub fn url(&self) -> &str {
        self.client.url()
    }

    /// How the last poll searched.
    pub fn mode(&self) -> SearchMode {
        self.mode
    }

    /// One poll up to `now_ms`, applied to `tracker`. On error nothing moves on: the next
    /// poll covers the same window again.
    pub fn poll(
        &mut self,
        tracker: &Mutex<Tracker>,
        now_ms: u64,
        cfg: &WatchConfig,
    ) -> Result<PollResult> {
        let overlap = crate::millis(cfg.overlap);
        let from = match self.window_end_ms {
            Some(end) => end.saturating_sub(overlap),
            None => now_ms.saturating_sub(crate::millis(cfg.lookback)),
        };
        let mut result = PollResult::default();
        let (open, shard) = {
            let t = tracker.lock().map_err(|_| poisoned())?;
            (t.open_trace_ids(), t.shard)
        };
        let mut read = PollSpans {
            spans: Vec::new(),
            traces: HashSet::new(),
            shard,
            malformed: 0,
        };
        // An empty Jaeger has nothing to search (and says so through its services list).
        result.requests += 1;
        let services = self.client.services()?;
        if !services.is_empty() {
            if self.mode == SearchMode::AllServices
                && !self.search(None, from, now_ms, &mut read, &mut result)?
            {
                self.mode = SearchMode::PerService;
            }
            if self.mode == SearchMode::PerService {
                for service in &services {
                    if !self.search(Some(service), from, now_ms, &mut read, &mut result)? {
                        return Err(WatchError::Source(format!(
                            "Jaeger at {} refused the search of service {service:?}",
                            self.url()
                        )));
                    }
                }
            }
        }
        result.traces = read.traces.len() as u64;
        // Orders still open whose trace did not show up: re-read them by id, a few per poll.
        let missing: Vec<&String> = open.iter().filter(|t| !read.traces.contains(*t)).collect();
        if !missing.is_empty() {
            let start = self.refetch_cursor % missing.len();
            for trace in missing
                .iter()
                .cycle()
                .skip(start)
                .take(REFETCH_PER_POLL.min(missing.len()))
            {
                result.requests += 1;
                if let Some(body) = self.client.trace(trace)? {
                    read.read(&body, &mut result);
                }
            }
            self.refetch_cursor = start + REFETCH_PER_POLL;
        }
        result.spans = read.spans.len() as u64;
        let mut t = tracker.lock().map_err(|_| poisoned())?;
        t.count_skipped(SkipReason::MalformedSpan, read.malformed);
        t.count_skipped(SkipReason::OtherShard, result.other_shard);
        for s in &read.spans {
            t.ingest(s, now_ms, cfg);
        }
        drop(t);
        self.window_end_ms = Some(now_ms);
        Ok(result)
    }

    /// Searches `[from_ms, to_ms]` newest first in slices, [`IN_FLIGHT`] requests at a time:
    /// Jaeger builds the next answers while this thread parses the previous one. The answers
    /// are parsed in slice order (newest first), whatever order they arrive in.
    ///
    /// The first slice is the whole window (one request for a normal poll). A slice answering
    /// the limit may be cut: it is asked again in narrower slices (see [`split`]; its traces
    /// are skipped unparsed the second time), before any older slice is parsed. A slice answering less than a quarter of the
    /// limit makes the slices planned after it twice as long. The next older slice is asked
    /// before the current answer is parsed, so it is planned with the length known then.
    /// `Ok(false)`: the storage refused a search over every service. On any error the
    /// requests still in flight are waited for and their answers dropped.
    fn search(
        &mut self,
        service: Option<&str>,
        from_ms: u64,
        to_ms: u64,
        read: &mut PollSpans,
        result: &mut PollResult,
    ) -> Result<bool> {
        let client = &self.client;
        let limit = &mut self.limit;
        std::thread::scope(|scope| {
            let mut slots: VecDeque<Slot<'_>> = VecDeque::new();
            // Everything in [cursor, to_ms] is parsed or planned.
            let mut cursor = to_ms;
            let mut len = to_ms.saturating_sub(from_ms);
            let mut planned_any = false;
            loop {
                while slots.len() < IN_FLIGHT && (cursor > from_ms || !planned_any) {
                    let start = cursor.saturating_sub(len).max(from_ms);
                    slots.push_back(Slot::planned(start, cursor));
                    cursor = start;
                    planned_any = true;
                }
                for slot in slots.iter_mut().take(IN_FLIGHT) {
                    if slot.fetch.is_none() {
                        slot.limit = *limit;
                        let q = Search {
                            service,
                            from_ms: slot.from_ms,
                            to_ms: slot.to_ms,
                            limit: slot.limit,
                        };
                        slot.fetch = Some(scope.spawn(move || client.search(&q)));
                    }
                }
                let Some(mut slot) = slots.pop_front() else {
                    return Ok(true);
                };
                let fetched = match slot.fetch.take().map(|h| h.join()) {
                    Some(Ok(fetched)) => fetched?,
                    _ => {
                        return Err(WatchError::Source(format!(
                            "the request to Jaeger at {} for a search failed inside the watch (a panic)",
                            client.url()
                        )));
                    }
                };
                result.requests += 1;
                let answered = match fetched {
                    Ok(Some(body)) => {
                        let (answered, starts) = read.read(&body, result);
                        let width = slot.to_ms - slot.from_ms;
                        if answered >= slot.limit && width > MIN_WINDOW_MS {
                            // The answer may be cut at the limit: ask again in narrower
                            // slices, newest first, before anything older.
                            let pieces = split(slot.from_ms, slot.to_ms, starts);
                            // Oldest pushed first, so the newest ends up in front.
                            for (from, to) in pieces {
                                slots.push_front(Slot::planned(from, to));
                            }
                            continue;
                        }
                        answered
                    }
                    Ok(None) => 0,
                    Err(refused)
                        if (refused.timed_out() || refused.body.contains("search depth"))
                            && slot.limit > MIN_LIMIT =>
                    {
                        // Too many traces for the storage or the timeout: ask this slice
                        // again with half the limit (once, however many answers said so).
                        if slot.limit == *limit {
                            *limit = (*limit / 2).max(MIN_LIMIT);
                        }
                        slots.push_front(Slot::planned(slot.from_ms, slot.to_ms));
                        continue;
                    }
                    Err(refused) if service.is_none() && refused.body.contains("service") => {
                        return Ok(false);
                    }
                    Err(refused) => {
                        let q = Search {
                            service,
                            from_ms: slot.from_ms,
                            to_ms: slot.to_ms,
                            limit: slot.limit,
                        };
                        return Err(WatchError::Source(format!(
                            "Jaeger answered {} to {}: {}",
                            refused.status,
                            client.search_url(&q)?,
                            refused.body
                        )));
                    }
                };
                if answered < *limit / 4 {
                    len = len.saturating_mul(2);
                }
            }
        })
    }
}

/// The narrower slices, oldest first, that a slice `[from, to]` answering the limit is asked
/// again in. `starts`: the earliest and latest span start in its answer. The answer holds (at
/// most) the limit's worth of traces in `[a, b]`: that part is asked in two halves, the time
/// after `b` and the time before `a` in one slice each (a storage answering newest first, like
/// Jaeger's memory storage, leaves nothing after `b` and the rest before `a`; one that
/// answers in another order is still read whole, a slice answering the limit is split again).
/// Without `starts`, or when that gives fewer than two slices, the slice is split in quarters.
fn split(from: u64, to: u64, starts: Option<(u64, u64)>) -> Vec<(u64, u64)> {
    let mut cuts = vec![from];
    if let Some((a, b)) = starts {
        let (a, b) = (a.clamp(from, to), b.clamp(from, to));
        cuts.extend([a, a + (b - a) / 2, b, to]);
    }
    cuts.push(to);
    cuts.dedup();
    if cuts.len() < 3 {
        let quarter = (to - from) / 4;
        cuts = vec![
            from,
            from + quarter,
            from + 2 * quarter,
            from + 3 * quarter,
            to,
        ];
        cuts.dedup();
    }
    cuts.windows(2).map(|w| (w[0], w[1])).collect()
}

/// One slice of a search: planned, or asked (its request runs on its own thread).
struct Slot<'s> {
    from_ms: u64,
    to_ms: u64,
    /// The limit it was asked with.
    limit: usize,
    fetch: Option<ScopedJoinHandle<'s, Fetched>>,
}

/// What a search request gave (see [`JaegerClient::search`]).
type Fetched = Result<std::result::Result<Option<Vec<u8>>, Refused>>;

impl Slot<'_> {
    fn planned(from_ms: u64, to_ms: u64) -> Self {
        Slot {
            from_ms,
            to_ms,
            limit: 0,
            fetch: None,
        }
    }
}

fn poisoned() -> WatchError {
    WatchError::Source("the order table's lock was poisoned by a panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_jaeger::{serve as fake_jaeger, with_services as jaeger_answering};

    /// A query parameter of a request line, decoded.
    fn param(line: &str, key: &str) -> Option<String> {
        let url = reqwest::Url::parse(&format!(
            "http://x{}",
            line.split_whitespace().nth(1).unwrap_or("/")
        ))
        .ok()?;
        url.query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }

    const SERVICES: &str = r#"{"services":["shop-api","crm-api","jaeger"]}"#;

    /// An api/v3 answer: one `order_submitted` span per (trace id, order id, start ms).
    fn answer(traces: &[(u128, &str, u64)]) -> String {
        let spans: Vec<String> = traces
            .iter()
            .enumerate()
            .map(|(i, (trace, order, start))| {
                format!(
                    r#"{{"traceId":"{trace:032x}","spanId":"{:016x}","name":"order_submitted","startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":[{{"key":"order.id","value":{{"stringValue":"{order}"}}}},{{"key":"order.event","value":{{"stringValue":"order_submitted"}}}}]}}"#,
                    i + 1,
                    start * 1_000_000,
                    (start + 5) * 1_000_000
                )
            })
            .collect();
        format!(
            r#"{{"result":{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"shop-api"}}}}]}},"scopeSpans":[{{"spans":[{}]}}]}}]}}}}"#,
            spans.join(",")
        )
    }

    #[test]
    fn one_search_over_every_service_reads_each_trace_once() {
        let now = now_ms();
        let url = fake_jaeger(move |line| {
            if line.contains("/api/v3/services") {
                ("200 OK", SERVICES.into())
            } else if param(line, "query.service_name").is_some() {
                (
                    "500 Internal Server Error",
                    "per-service search not expected".into(),
                )
            } else {
                assert_eq!(param(line, "query.raw_traces").as_deref(), Some("true"));
                (
                    "200 OK",
                    answer(&[(1, "ORD-1", now - 1000), (2, "ORD-2", now - 500)]),
                )
            }
        });
        let mut p = JaegerPoller::new(&url, Duration::from_secs(5)).unwrap();
        let tracker = Mutex::new(Tracker::new());
        let r = p.poll(&tracker, now, &WatchConfig::default()).unwrap();
        assert_eq!((r.requests, r.spans, r.traces), (2, 2, 2));
        assert_eq!(p.mode(), SearchMode::AllServices);
        assert_eq!(tracker.lock().unwrap().len(), 2);
    }

    #[test]
    fn a_storage_that_wants_a_service_name_is_searched_per_service_and_each_trace_parsed_once() {
        let now = now_ms();
        let url = fake_jaeger(move |line| {
            if line.contains("/api/v3/services") {
                return ("200 OK", SERVICES.into());
            }
            match param(line, "query.service_name").as_deref() {
                None => (
                    "500 Internal Server Error",
                    r#"{"error":{"message":"service name must be set"}}"#.into(),
                ),
                // Jaeger answers whole traces: trace 1 comes back for both services.
                Some("shop-api") => (
                    "200 OK",
                    answer(&[(1, "ORD-1", now - 1000), (2, "ORD-2", now - 500)]),
                ),
                Some("crm-api") => ("200 OK", answer(&[(1, "ORD-1", now - 1000)])),
                Some(other) => panic!("searched {other}"),
            }
        });
        let mut p = JaegerPoller::new(&url, Duration::from_secs(5)).unwrap();
        let tracker = Mutex::new(Tracker::new());
        let r = p.poll(&tracker, now, &WatchConfig::default()).unwrap();
        assert_eq!(p.mode(), SearchMode::PerService);
        assert_eq!((r.spans, r.already_read, r.traces), (2, 1, 2));
        assert_eq!(tracker.lock().unwrap().len(), 2);
    }

    #[test]
    fn with_a_shard_another_shards_traces_are_skipped_unparsed_and_counted() {
        let now = now_ms();
        let url = fake_jaeger(move |line| {
            if line.contains("/api/v3/services") {
                ("200 OK", SERVICES.into())
            } else {
                (
                    "200 OK",
                    answer(&[(4, "ORD-4", now - 1000), (7, "ORD-7", now - 500)]),
                )
            }
        });
        let mut p = JaegerPoller::new(&url, Duration::from_secs(5)).unwrap();
        let tracker = Mutex::new(Tracker::new());
        tracker.lock().unwrap().shard = Shard::parse("0/2");
        let r = p.poll(&tracker, now, &WatchConfig::default()).unwrap();
        assert_eq!((r.spans, r.other_shard), (1, 1));
        let t = tracker.lock().unwrap();
        assert_eq!(t.skipped.get(&SkipReason::OtherShard), Some(&1));
        assert!(
            t.order("ORD-4", now, &WatchConfig::default(), false)
                .is_some()
        );
        assert!(
            t.order("ORD-7", now, &WatchConfig::default(), false)
                .is_none()
        );
    }

    #[test]
    fn a_storage_with_a_smaller_search_limit_is_asked_again_with_half() {
        let now = now_ms();
        let url = fake_jaeger(move |line| {
            if line.contains("/api/v3/services") {
                return ("200 OK", SERVICES.into());
            }
            let limit: usize = param(line, "query.num_traces").unwrap().parse().unwrap();
            if limit > 5000 {
                (
                    "500 Internal Server Error",
                    r#"{"error":{"message":"search depth must be greater than 0 and less than max traces"}}"#.into(),
                )
            } else {
                ("200 OK", answer(&[(1, "ORD-1", now - 1000)]))
            }
        });
        let mut p = JaegerPoller::new(&url, Duration::from_secs(5)).unwrap();
        let tracker = Mutex::new(Tracker::new());
        let r = p.poll(&tracker, now, &WatchConfig::default()).unwrap();
        assert_eq!(r.spans, 1);
        assert_eq!(p.limit, halved_to_at_most(5000));
    }

    /// The limit after halving SEARCH_LIMIT until it is at most `bound`.
    fn halved_to_at_most(bound: usize) -> usize {
        let mut limit = SEARCH_LIMIT;
        while limit > bound {
            limit /= 2;
        }
        limit
    }

    #[test]
    fn a_search_not_answered_within_the_timeout_is_asked_again_with_half_the_limit() {
        let now = now_ms();
        let url = fake_jaeger(move |line| {
            if line.contains("/api/v3/services") {
                return ("200 OK", SERVICES.into());
            }
            let limit: usize = param(line, "query.num_traces").unwrap().parse().unwrap();
            if limit > 5000 {
                // Too big to answer within the client's timeout.
                std::thread::sleep(Duration::from_millis(1500));
            }
            ("200 OK", answer(&[(1, "ORD-1", now - 1000)]))
        });
        let mut p = JaegerPoller::new(&url, Duration::from_millis(500)).unwrap();
        let tracker = Mutex::new(Tracker::new());
        let r = p.poll(&tracker, now, &WatchConfig::default()).unwrap();
        assert_eq!(r.spans, 1);
        assert_eq!(p.limit, halved_to_at_most(5000));
    }

    #[test]
    fn a_window_answering_the_limit_is_read_in_narrower_slices_without_losing_a_trace() {
        let now = now_ms();
        let minute = 60_000;
        let all = [
            (1u128, "ORD-1", now - 50 * minute),
            (2, "ORD-2", now - 20 * minute),
            (3, "ORD-3", now - minute),
        ];
        let url = fake_jaeger(move |line| {
            if line.contains("/api/v3/services") {
                return ("200 OK", SERVICES.into());
            }
            let ms = |k: &str| {
                let t = humantime::parse_rfc3339(&param(line, k).unwrap()).unwrap();
                t.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
            };
            let (from, to) = (ms("query.start_time_min"), ms("query.start_time_max"));
            let limit: usize = param(line, "query.num_traces").unwrap().parse().unwrap();
            // Newest first, cut at the limit, as Jaeger's memory storage answers.
            let hits: Vec<_> = all
                .iter()
                .rev()
                .filter(|(_, _, start)| (from..=to).contains(start))
                .take(limit)
                .copied()
                .collect();
            if hits.is_empty() {
                (
                    "404 Not Found",
                    r#"{"error":{"message":"No traces found"}}"#.into(),
                )
            } else {
                ("200 OK", answer(&hits))
            }
        });
        let mut p = JaegerPoller::new(&url, Duration::from_secs(5)).unwrap();
        p.limit = 2;
        let tracker = Mutex::new(Tracker::new());
        let r = p.poll(&tracker, now, &WatchConfig::default()).unwrap();
        assert_eq!(tracker.lock().unwrap().len(), 3);
        assert_eq!(r.traces, 3);
        assert!(r.requests > 2, "{r:?}");
    }

    /// A fake Jaeger holding one trace per second over the last `n` seconds before `now`,
    /// answering searches newest first cut at the limit after `delay`, counting the requests
    /// that run at the same time; `fail_from..fail_to` (Unix ms): a search whose window
    /// overlaps it answers 500.
    struct SlicedJaeger {
        url: String,
        most_at_once: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }

    fn sliced_jaeger(
        now: u64,
        n: u64,
        delay: Duration,
        fail: std::sync::Arc<std::sync::Mutex<Option<(u64, u64)>>>,
    ) -> SlicedJaeger {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let running = std::sync::Arc::new(AtomicUsize::new(0));
        let most_at_once = std::sync::Arc::new(AtomicUsize::new(0));
        let most = std::sync::Arc::clone(&most_at_once);
        let url = fake_jaeger(move |line| {
            if line.contains("/api/v3/services") {
                return ("200 OK", SERVICES.into());
            }
            let now_running = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now_running, Ordering::SeqCst);
            std::thread::sleep(delay);
            running.fetch_sub(1, Ordering::SeqCst);
            let ms = |k: &str| {
                let t = humantime::parse_rfc3339(&param(line, k).unwrap()).unwrap();
                t.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
            };
            let (from, to) = (ms("query.start_time_min"), ms("query.start_time_max"));
            if let Some((a, b)) = *fail.lock().unwrap()
                && from <= b
                && a <= to
            {
                return (
                    "500 Internal Server Error",
                    r#"{"error":{"message":"storage hiccup"}}"#.into(),
                );
            }
            let limit: usize = param(line, "query.num_traces").unwrap().parse().unwrap();
            let orders: Vec<(u128, String, u64)> = (1..=n)
                .map(|i| (i as u128, format!("ORD-{i}"), now - i * 1000))
                .filter(|(_, _, start)| (from..=to).contains(start))
                .take(limit)
                .collect();
            if orders.is_empty() {
                return (
                    "404 Not Found",
                    r#"{"error":{"message":"No traces found"}}"#.into(),
                );
            }
            let hits: Vec<(u128, &str, u64)> = orders
                .iter()
                .map(|(t, o, s)| (*t, o.as_str(), *s))
                .collect();
            ("200 OK", answer(&hits))
        });
        SlicedJaeger { url, most_at_once }
    }

    #[test]
    fn slices_asked_two_at_a_time_are_all_ingested_once() {
        let now = now_ms();
        let jaeger = sliced_jaeger(
            now,
            40,
            Duration::from_millis(100),
            std::sync::Arc::new(std::sync::Mutex::new(None)),
        );
        let mut p = JaegerPoller::new(&jaeger.url, Duration::from_secs(5)).unwrap();
        // 40 traces, 8 per answer: the window is read in many slices.
        p.limit = 8;
        let tracker = Mutex::new(Tracker::new());
        let cfg = WatchConfig::default();
        let r = p.poll(&tracker, now, &cfg).unwrap();
        assert_eq!(tracker.lock().unwrap().len(), 40);
        assert_eq!(r.traces, 40);
        assert_eq!(r.spans, 40, "each trace parsed once: {r:?}");
        assert!(r.requests > 3, "{r:?}");
        assert_eq!(
            jaeger
                .most_at_once
                .load(std::sync::atomic::Ordering::SeqCst),
            IN_FLIGHT
        );
        for i in 1..=40 {
            assert!(
                tracker
                    .lock()
                    .unwrap()
                    .order(&format!("ORD-{i}"), now, &cfg, false)
                    .is_some(),
                "ORD-{i} missing"
            );
        }
    }

    #[test]
    fn an_error_in_one_of_the_concurrent_slices_advances_nothing() {
        let now = now_ms();
        // The slice holding the traces 25 to 30 seconds old answers 500.
        let fail = std::sync::Arc::new(std::sync::Mutex::new(Some((now - 30_000, now - 25_000))));
        let jaeger = sliced_jaeger(
            now,
            40,
            Duration::from_millis(20),
            std::sync::Arc::clone(&fail),
        );
        let mut p = JaegerPoller::new(&jaeger.url, Duration::from_secs(5)).unwrap();
        p.limit = 8;
        let tracker = Mutex::new(Tracker::new());
        let cfg = WatchConfig::default();
        let e = p.poll(&tracker, now, &cfg).unwrap_err().to_string();
        assert!(e.contains("500") && e.contains("storage hiccup"), "{e}");
        // Nothing read in the slices that did answer reached the tracker, and the window
        // did not move on.
        assert_eq!(tracker.lock().unwrap().len(), 0);
        assert_eq!(p.window_end_ms, None);
        // Jaeger recovers: the next poll reads the same look-back window, every trace once.
        *fail.lock().unwrap() = None;
        let r = p.poll(&tracker, now + 1000, &cfg).unwrap();
        assert_eq!(tracker.lock().unwrap().len(), 40);
        assert_eq!(r.spans, 40, "{r:?}");
        assert_eq!(p.window_end_ms, Some(now + 1000));
    }

    #[test]
    fn a_full_slice_is_split_around_the_time_its_answer_covered() {
        // Answer spread over [600, 800] of [0, 1000]: after it, its two halves, before it.
        assert_eq!(
            split(0, 1000, Some((600, 800))),
            vec![(0, 600), (600, 700), (700, 800), (800, 1000)]
        );
        // Starts outside the slice are clamped to it; an answer covering it all is halved.
        assert_eq!(split(0, 1000, Some((0, 5000))), vec![(0, 500), (500, 1000)]);
    }

    #[test]
    fn a_full_slice_without_spread_is_split_in_quarters() {
        let quarters = vec![(0, 250), (250, 500), (500, 750), (750, 1000)];
        assert_eq!(split(0, 1000, None), quarters);
        // Every span at the slice's start: one piece would be the slice again.
        assert_eq!(split(0, 1000, Some((0, 0))), quarters);
    }

    #[test]
    fn an_empty_jaeger_is_a_successful_poll_with_no_spans() {
        let url = jaeger_answering("200 OK", "{}");
        let mut p = JaegerPoller::new(&url, Duration::from_secs(5)).unwrap();
        let tracker = Mutex::new(Tracker::new());
        let r = p.poll(&tracker, now_ms(), &WatchConfig::default()).unwrap();
        assert_eq!(r.spans, 0);
        assert_eq!(r.requests, 1);
    }

    #[test]
    fn a_jaeger_error_fails_the_poll_naming_status_and_body() {
        let url = jaeger_answering("500 Internal Server Error", r#"{"error":"storage down"}"#);
        let mut p = JaegerPoller::new(&url, Duration::from_secs(5)).unwrap();
        let e = p
            .poll(
                &Mutex::new(Tracker::new()),
                now_ms(),
                &WatchConfig::default(),
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("500") && e.contains("storage down"), "{e}");
    }

    #[test]
    fn a_services_answer_that_is_not_an_object_is_an_error() {
        let url = jaeger_answering("200 OK", "[1,2]");
        let mut p = JaegerPoller::new(&url, Duration::from_secs(5)).unwrap();
        let e = p
            .poll(
                &Mutex::new(Tracker::new()),
                now_ms(),
                &WatchConfig::default(),
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("without a services list"), "{e}");
    }

    #[test]
    fn urls_that_are_not_http_are_refused() {
        for bad in ["127.0.0.1:16686", "ftp://x/", ""] {
            assert!(
                JaegerPoller::new(bad, Duration::from_secs(1)).is_err(),
                "{bad}"
            );
        }
    }
}
