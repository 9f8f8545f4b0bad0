//! The one HTTP client of Jaeger's query API (api/v3) in the project: the watch polls through
//! it, `ordertrace timeline` reads one order through it. It knows the routes, the "404 means
//! nothing found" rule, the empty Jaeger's `{}` services answer and the error texts; what to
//! do with the answers is the caller's.

use crate::error::{Result, WatchError};
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A Jaeger query service.
pub struct JaegerClient {
    base: String,
    client: reqwest::blocking::Client,
}

/// A search by time window: spans starting in `[from_ms, to_ms]` (Unix ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Search<'a> {
    /// Only traces with a span of this service; `None` = every service (not every storage
    /// backend allows it: memory and badger do).
    pub service: Option<&'a str>,
    /// Window start, Unix ms.
    pub from_ms: u64,
    /// Window end, Unix ms.
    pub to_ms: u64,
    /// Traces asked for at most.
    pub limit: usize,
}

/// A search that did not succeed, kept apart from "cannot reach" so a caller can react to
/// what Jaeger said (e.g. a storage that wants a service name) or to a search too big to be
/// answered within the request timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// HTTP status; 0 when no answer came within the request timeout.
    pub status: u16,
    /// The start of the body, or what went wrong.
    pub body: String,
}

impl Refused {
    /// No answer within the request timeout (the search may be too big for it).
    pub fn timed_out(&self) -> bool {
        self.status == 0
    }
}

fn rfc3339(ms: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

impl JaegerClient {
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
        Ok(JaegerClient {
            base: url.trim_end_matches('/').to_string(),
            client,
        })
    }

    /// The query URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// The services Jaeger knows, without Jaeger's own. An empty Jaeger answers `{}`
    /// (protobuf's JSON mapping leaves out an empty list): no services, not an error.
    pub fn services(&self) -> Result<Vec<String>> {
        let url = format!("{}/api/v3/services", self.base);
        let Some(body) = self.get(&url)? else {
            // Every Jaeger query service answers this; a 404 means another server.
            return Err(WatchError::Source(format!(
                "{url} does not exist: is {} Jaeger's query port (16686), not its OTLP port?",
                self.base
            )));
        };
        let doc: Value = json(&body, &url)?;
        if !doc.is_object() {
            return Err(WatchError::Source(format!(
                "{url} answered without a services list"
            )));
        }
        Ok(doc
            .get("services")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|s| *s != "jaeger")
            .map(str::to_string)
            .collect())
    }

    /// One trace by id (hex), as Jaeger's OTLP/JSON body; `None` when Jaeger has no such trace.
    pub fn trace(&self, trace_id: &str) -> Result<Option<Vec<u8>>> {
        self.get(&self.trace_url(trace_id))
    }

    /// The URL [`JaegerClient::trace`] reads (for messages naming the source).
    pub fn trace_url(&self, trace_id: &str) -> String {
        format!("{}/api/v3/traces/{trace_id}", self.base)
    }

    /// The traces with a span in the window, whole and unadjusted (`raw_traces`: the watch
    /// needs the spans as sent, not Jaeger's clock-skew adjustments), as an OTLP/JSON body;
    /// `Ok(Ok(None))` when none matched, `Ok(Err(_))` when Jaeger refused the search.
    pub fn search(&self, q: &Search) -> Result<std::result::Result<Option<Vec<u8>>, Refused>> {
        let url = self.search_url(q)?;
        let answer = match self.get_raw(&url) {
            Err(Failed::TimedOut(e)) => {
                return Ok(Err(Refused {
                    status: 0,
                    body: format!("no answer within the request timeout: {e}"),
                }));
            }
            Err(Failed::Other(e)) => return Err(e),
            Ok(answer) => answer,
        };
        match answer {
            (404, _) => Ok(Ok(None)),
            (status, body) if (200..300).contains(&status) => Ok(Ok(Some(body))),
            (status, body) => Ok(Err(Refused {
                status,
                body: String::from_utf8_lossy(&body).chars().take(300).collect(),
            })),
        }
    }

    /// The URL of a search.
    pub fn search_url(&self, q: &Search) -> Result<String> {
        let mut url = reqwest::Url::parse(&format!("{}/api/v3/traces", self.base))
            .map_err(|e| WatchError::BadInput(format!("bad Jaeger URL: {e}")))?;
        {
            let mut pairs = url.query_pairs_mut();
            if let Some(service) = q.service {
                pairs.append_pair("query.service_name", service);
            }
            pairs
                .append_pair("query.start_time_min", &rfc3339(q.from_ms))
                .append_pair("query.start_time_max", &rfc3339(q.to_ms))
                .append_pair("query.num_traces", &q.limit.to_string())
                .append_pair("query.raw_traces", "true");
        }
        Ok(url.to_string())
    }

    /// `Ok(None)` for 404 (api/v3's "nothing found"), the body for a success; any other
    /// status is an error naming the status and the start of the body.
    pub fn get(&self, url: &str) -> Result<Option<Vec<u8>>> {
        match self.get_raw(url).map_err(Failed::into_error)? {
            (404, _) => Ok(None),
            (status, body) if (200..300).contains(&status) => Ok(Some(body)),
            (status, body) => {
                let snippet: String = String::from_utf8_lossy(&body).chars().take(300).collect();
                Err(WatchError::Source(format!(
                    "Jaeger answered {status} to {url}: {snippet}"
                )))
            }
        }
    }

    fn get_raw(&self, url: &str) -> std::result::Result<(u16, Vec<u8>), Failed> {
        let response = self.client.get(url).send().map_err(|e| {
            let message = format!(
                "cannot reach Jaeger at {}: {e} (is it running? scripts/start-jaeger starts it)",
                self.base
            );
            if e.is_timeout() {
                Failed::TimedOut(message)
            } else {
                Failed::Other(WatchError::Source(message))
            }
        })?;
        let status = response.status().as_u16();
        let body = response.bytes().map_err(|e| {
            let message = format!("reading the answer of {url}: {e}");
            if e.is_timeout() {
                Failed::TimedOut(message)
            } else {
                Failed::Other(WatchError::Source(message))
            }
        })?;
        Ok((status, body.to_vec()))
    }
}

/// Why a request got no answer.
enum Failed {
    /// Not within the request timeout.
    TimedOut(String),
    /// Anything else.
    Other(WatchError),
}

impl Failed {
    fn into_error(self) -> WatchError {
        match self {
            Failed::TimedOut(m) => WatchError::Source(m),
            Failed::Other(e) => e,
        }
    }
}

/// A body as JSON, or an error hinting at the wrong port.
pub fn json(body: &[u8], url: &str) -> Result<Value> {
    serde_json::from_slice(body).map_err(|e| {
        WatchError::Source(format!(
            "Jaeger's answer to {url} is not JSON ({e}); is this the query port (16686)?"
        ))
    })
}

/// Now, Unix ms.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
