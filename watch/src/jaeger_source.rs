//! Reads Jaeger's HTTP api/v3 incrementally: each poll asks every service for the traces
//! with a span starting in `[previous end - overlap, now]` (the first poll reaches back the
//! look-back window, so a restart rebuilds the same state), de-duplicates by span id, and
//! re-reads by trace id the few orders still open whose trace no longer shows up in the
//! window (a long stage's span starts before the window it ends in). No full rescans.
//!
//! Jaeger v2's HTTP `GET /api/v3/traces` takes no attribute filter, hence the search by
//! service and time window. A window returning `num_traces` traces is split in two.

use crate::config::WatchConfig;
use crate::error::{Result, WatchError};
use crate::tracker::{SkipReason, Tracker};
use ordertrace::otlp_json::{self, RecordedSpan};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Traces asked for per search.
pub const SEARCH_LIMIT: usize = 1000;
/// Open orders re-read by trace id per poll at most.
pub const REFETCH_PER_POLL: usize = 200;
/// Smallest window split when a search hits the limit.
const MIN_WINDOW_MS: u64 = 1000;

/// An incremental reader of one Jaeger query service.
pub struct JaegerPoller {
    base: String,
    client: reqwest::blocking::Client,
    window_end_ms: Option<u64>,
    refetch_cursor: usize,
}

/// What one poll read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollResult {
    /// Spans received (before de-duplication).
    pub spans: u64,
    /// HTTP requests made.
    pub requests: u64,
}

fn rfc3339(ms: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

impl JaegerPoller {
    /// `url` is the query service, e.g. `http://127.0.0.1:16686`.
    pub fn new(url: &str, timeout: Duration) -> Result<Self> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| WatchError::BadInput(format!("--jaeger {url:?} is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(WatchError::BadInput(format!(
                "--jaeger {url:?} must be an http:// or https:// URL with a host, e.g. http://127.0.0.1:16686"
            )));
        }
        let client = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| WatchError::Source(format!("cannot create an HTTP client: {e}")))?;
        Ok(JaegerPoller {
            base: url.trim_end_matches('/').to_string(),
            client,
            window_end_ms: None,
            refetch_cursor: 0,
        })
    }

    /// The query URL.
    pub fn url(&self) -> &str {
        &self.base
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
        let mut batches: Vec<Value> = Vec::new();
        for service in self.services(&mut result)? {
            self.search(&service, from, now_ms, &mut batches, &mut result, 0)?;
        }
        let mut seen_traces = BTreeSet::new();
        let mut spans: Vec<RecordedSpan> = Vec::new();
        let mut malformed = 0u64;
        for doc in &batches {
            match otlp_json::parse_value_lenient(doc, &self.base) {
                Ok(read) => {
                    malformed += read.skipped.len() as u64;
                    seen_traces.extend(read.spans.iter().map(|s| s.trace_id.clone()));
                    spans.extend(read.spans);
                }
                Err(_) => malformed += 1,
            }
        }
        // Orders still open whose trace did not show up: re-read them by id, a few per poll.
        let open: Vec<String> = {
            let t = tracker.lock().map_err(|_| poisoned())?;
            t.open_trace_ids()
        };
        let missing: Vec<&String> = open.iter().filter(|t| !seen_traces.contains(*t)).collect();
        if !missing.is_empty() {
            let start = self.refetch_cursor % missing.len();
            for trace in missing
                .iter()
                .cycle()
                .skip(start)
                .take(REFETCH_PER_POLL.min(missing.len()))
            {
                let url = format!("{}/api/v3/traces/{trace}", self.base);
                result.requests += 1;
                if let Some(doc) = self.get(&url)? {
                    match otlp_json::parse_value_lenient(&doc, &url) {
                        Ok(read) => spans.extend(read.spans),
                        Err(_) => malformed += 1,
                    }
                }
            }
            self.refetch_cursor = start + REFETCH_PER_POLL;
        }
        result.spans = spans.len() as u64;
        let mut t = tracker.lock().map_err(|_| poisoned())?;
        t.count_skipped(SkipReason::MalformedSpan, malformed);
        for s in &spans {
            t.ingest(s, now_ms, cfg);
        }
        drop(t);
        self.window_end_ms = Some(now_ms);
        Ok(result)
    }

    fn search(
        &self,
        service: &str,
        from_ms: u64,
        to_ms: u64,
        out: &mut Vec<Value>,
        result: &mut PollResult,
        depth: u32,
    ) -> Result<()> {
        let mut url = reqwest::Url::parse(&format!("{}/api/v3/traces", self.base))
            .map_err(|e| WatchError::BadInput(format!("bad Jaeger URL: {e}")))?;
        url.query_pairs_mut()
            .append_pair("query.service_name", service)
            .append_pair("query.start_time_min", &rfc3339(from_ms))
            .append_pair("query.start_time_max", &rfc3339(to_ms))
            .append_pair("query.num_traces", &SEARCH_LIMIT.to_string());
        result.requests += 1;
        let Some(doc) = self.get(url.as_str())? else {
            return Ok(());
        };
        let traces = count_traces(&doc);
        if traces >= SEARCH_LIMIT && to_ms - from_ms > MIN_WINDOW_MS && depth < 16 {
            // The answer may be cut at the limit: ask for each half instead.
            let mid = from_ms + (to_ms - from_ms) / 2;
            self.search(service, from_ms, mid, out, result, depth + 1)?;
            return self.search(service, mid, to_ms, out, result, depth + 1);
        }
        out.push(doc);
        Ok(())
    }

    fn services(&self, result: &mut PollResult) -> Result<Vec<String>> {
        let url = format!("{}/api/v3/services", self.base);
        result.requests += 1;
        let Some(doc) = self.get(&url)? else {
            return Err(WatchError::Source(format!(
                "{url} does not exist: is {} Jaeger's query port (16686), not its OTLP port?",
                self.base
            )));
        };
        if !doc.is_object() {
            return Err(WatchError::Source(format!(
                "{url} answered without a services list"
            )));
        }
        // An empty Jaeger answers `{}`: protobuf's JSON mapping leaves out empty lists.
        let services = doc
            .get("services")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(services
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| *s != "jaeger")
            .map(str::to_string)
            .collect())
    }

    /// `Ok(None)` for 404 (api/v3's "nothing found"), the JSON body for 200.
    fn get(&self, url: &str) -> Result<Option<Value>> {
        let response = self.client.get(url).send().map_err(|e| {
            WatchError::Source(format!(
                "cannot reach Jaeger at {}: {e} (is it running? scripts/start-jaeger starts it)",
                self.base
            ))
        })?;
        let status = response.status();
        let body = response
            .bytes()
            .map_err(|e| WatchError::Source(format!("reading the answer of {url}: {e}")))?;
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            let snippet: String = String::from_utf8_lossy(&body).chars().take(300).collect();
            return Err(WatchError::Source(format!(
                "Jaeger answered {status} to {url}: {snippet}"
            )));
        }
        serde_json::from_slice(&body).map(Some).map_err(|e| {
            WatchError::Source(format!(
                "Jaeger's answer to {url} is not JSON ({e}); is this the query port (16686)?"
            ))
        })
    }
}

fn poisoned() -> WatchError {
    WatchError::Source("the order table's lock was poisoned by a panic".into())
}

/// Distinct trace ids in an api/v3 answer.
fn count_traces(doc: &Value) -> usize {
    let doc = doc.get("result").unwrap_or(doc);
    let mut ids = BTreeSet::new();
    for rs in doc
        .get("resourceSpans")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for ss in rs
            .get("scopeSpans")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for s in ss
                .get("spans")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(t) = s.get("traceId").and_then(Value::as_str) {
                    ids.insert(t);
                }
            }
        }
    }
    ids.len()
}

/// Now, Unix ms.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// Answers every request on a loopback port with `body` for `/api/v3/services` and 404
    /// for anything else.
    fn jaeger_answering(services_status: &'static str, services_body: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten().take(16) {
                let mut buf = [0u8; 4096];
                let n = stream.read(&mut buf).unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]);
                let (status, body) = if request.starts_with("GET /api/v3/services ") {
                    (services_status, services_body)
                } else {
                    ("404 Not Found", "{}")
                };
                let _ = stream.write_all(
                    format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                );
            }
        });
        format!("http://{addr}")
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

    #[test]
    fn trace_count_reads_distinct_trace_ids() {
        let doc: Value = serde_json::from_str(
            r#"{"result":{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"a"},{"traceId":"a"},{"traceId":"b"}]}]}]}}"#,
        )
        .unwrap();
        assert_eq!(count_traces(&doc), 2);
    }
}
