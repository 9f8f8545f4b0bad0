//! Fetches an order's spans from Jaeger's HTTP query API (api/v3).
//!
//! First the order-derived trace (`GET /api/v3/traces/{id}`): every hop that kept the default
//! identity is there. If that trace does not exist (services configured with the `propagated`
//! identity), the recent traces of each service are searched and filtered on `order.id`:
//! Jaeger's HTTP api/v3 does not take attribute filters (only its gRPC API does), so the
//! filtering happens here.

use crate::cli_error::CliError;
use ordertrace::identity::order_trace_id;
use ordertrace::otlp_json::{self, RecordedSpan};
use ordertrace::schema::attr;
use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

/// Traces asked for per service when searching.
const SEARCH_LIMIT: usize = 1_000;

/// A Jaeger query endpoint.
pub struct Jaeger {
    base: String,
    client: Client,
}

impl Jaeger {
    /// `url` is the query service, e.g. `http://127.0.0.1:16686`.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, CliError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| CliError::BadInput(format!("--jaeger {url:?} is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(CliError::BadInput(format!(
                "--jaeger {url:?} must be an http:// or https:// URL with a host, e.g. http://127.0.0.1:16686"
            )));
        }
        let client = Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| CliError::Other(format!("cannot create an HTTP client: {e}")))?;
        Ok(Jaeger {
            base: url.trim_end_matches('/').to_string(),
            client,
        })
    }

    /// All spans of every trace holding a span of `order_id` (the timeline filters them).
    pub fn order_spans(
        &self,
        order_id: &str,
        lookback: Duration,
    ) -> Result<Vec<RecordedSpan>, CliError> {
        let trace_url = format!("{}/api/v3/traces/{}", self.base, order_trace_id(order_id));
        if let Some(doc) = self.get(&trace_url)? {
            let spans = parse(&doc, &trace_url)?;
            if has_order(&spans, order_id) {
                return Ok(spans);
            }
        }
        self.search(order_id, lookback)
    }

    fn search(&self, order_id: &str, lookback: Duration) -> Result<Vec<RecordedSpan>, CliError> {
        let now = SystemTime::now();
        let from = now.checked_sub(lookback).unwrap_or(SystemTime::UNIX_EPOCH);
        let mut found = Vec::new();
        let mut seen_traces = BTreeSet::new();
        for service in self.services()? {
            let mut url = reqwest::Url::parse(&format!("{}/api/v3/traces", self.base))
                .map_err(|e| CliError::BadInput(format!("bad Jaeger URL: {e}")))?;
            url.query_pairs_mut()
                .append_pair("query.service_name", &service)
                .append_pair(
                    "query.start_time_min",
                    &humantime::format_rfc3339_nanos(from).to_string(),
                )
                .append_pair(
                    "query.start_time_max",
                    &humantime::format_rfc3339_nanos(now).to_string(),
                )
                .append_pair("query.num_traces", &SEARCH_LIMIT.to_string());
            let Some(doc) = self.get(url.as_str())? else {
                continue;
            };
            let spans = parse(&doc, url.as_str())?;
            let traces: BTreeSet<String> = spans
                .iter()
                .filter(|s| s.attribute(attr::ORDER_ID) == Some(order_id))
                .map(|s| s.trace_id.clone())
                .collect();
            for s in spans {
                if traces.contains(&s.trace_id)
                    && !seen_traces.contains(&(s.trace_id.clone(), s.span_id.clone()))
                {
                    seen_traces.insert((s.trace_id.clone(), s.span_id.clone()));
                    found.push(s);
                }
            }
        }
        Ok(found)
    }

    fn services(&self) -> Result<Vec<String>, CliError> {
        let url = format!("{}/api/v3/services", self.base);
        let Some(doc) = self.get(&url)? else {
            // Every Jaeger query service answers this; a 404 means another server.
            return Err(CliError::Backend(format!(
                "{url} does not exist: is {} Jaeger's query port (16686), not its OTLP port?",
                self.base
            )));
        };
        let services = doc
            .get("services")
            .and_then(Value::as_array)
            .ok_or_else(|| CliError::Backend(format!("{url} answered without a services list")))?;
        Ok(services
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| *s != "jaeger")
            .map(str::to_string)
            .collect())
    }

    /// `Ok(None)` for 404 (api/v3 says "not found" that way), the JSON body for 200.
    fn get(&self, url: &str) -> Result<Option<Value>, CliError> {
        let response = self.client.get(url).send().map_err(|e| {
            CliError::Backend(format!(
                "cannot reach Jaeger at {}: {e} (is it running? scripts/start-jaeger starts it)",
                self.base
            ))
        })?;
        let status = response.status();
        let body = response
            .text()
            .map_err(|e| CliError::Backend(format!("reading the answer of {url}: {e}")))?;
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            let snippet: String = body.chars().take(300).collect();
            return Err(CliError::Backend(format!(
                "Jaeger answered {status} to {url}: {snippet}"
            )));
        }
        serde_json::from_str(&body).map(Some).map_err(|e| {
            CliError::Backend(format!(
                "Jaeger's answer to {url} is not JSON ({e}); is this the query port (16686)?"
            ))
        })
    }
}

fn parse(doc: &Value, url: &str) -> Result<Vec<RecordedSpan>, CliError> {
    otlp_json::parse_value(doc, url).map_err(|e| CliError::Backend(e.to_string()))
}

fn has_order(spans: &[RecordedSpan], order_id: &str) -> bool {
    spans
        .iter()
        .any(|s| s.attribute(attr::ORDER_ID) == Some(order_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    const TIMEOUT: Duration = Duration::from_secs(5);

    /// Answers every request on a loopback port with one fixed HTTP response.
    fn answering(status: &str, body: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten().take(8) {
                let mut stream = stream;
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(response.as_bytes());
            }
        });
        format!("http://{addr}")
    }

    #[test]
    fn rejects_urls_that_are_not_http() {
        for bad in ["127.0.0.1:16686", "ftp://host/", "not a url", ""] {
            let err = Jaeger::new(bad, TIMEOUT).err().expect(bad);
            assert_eq!(err.exit_code(), 2, "{bad}: {err}");
            assert!(err.to_string().contains("--jaeger"), "{err}");
        }
    }

    #[test]
    fn unreachable_jaeger_is_a_backend_error_naming_the_url() {
        // Bind then drop: nothing listens on this port any more.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let jaeger = Jaeger::new(&url, TIMEOUT).expect("client");
        let err = jaeger
            .order_spans("ORD-1", Duration::from_secs(60))
            .expect_err("nothing listens");
        assert_eq!(err.exit_code(), 4);
        assert!(err.to_string().contains(&url), "{err}");
    }

    #[test]
    fn server_error_is_reported_with_status_and_body() {
        let url = answering("500 Internal Server Error", r#"{"error":"storage down"}"#);
        let jaeger = Jaeger::new(&url, TIMEOUT).expect("client");
        let err = jaeger
            .order_spans("ORD-1", Duration::from_secs(60))
            .expect_err("500");
        assert_eq!(err.exit_code(), 4);
        assert!(err.to_string().contains("500"), "{err}");
        assert!(err.to_string().contains("storage down"), "{err}");
    }

    #[test]
    fn a_server_without_the_query_api_is_not_taken_for_an_empty_jaeger() {
        let url = answering("404 Not Found", "404 page not found");
        let jaeger = Jaeger::new(&url, TIMEOUT).expect("client");
        let err = jaeger
            .order_spans("ORD-1", Duration::from_secs(60))
            .expect_err("404 everywhere");
        assert_eq!(err.exit_code(), 4);
        assert!(err.to_string().contains("query port"), "{err}");
    }

    #[test]
    fn non_json_answer_hints_at_the_wrong_port() {
        let url = answering("200 OK", "<html>collector</html>");
        let jaeger = Jaeger::new(&url, TIMEOUT).expect("client");
        let err = jaeger
            .order_spans("ORD-1", Duration::from_secs(60))
            .expect_err("html");
        assert_eq!(err.exit_code(), 4);
        assert!(err.to_string().contains("not JSON"), "{err}");
    }
}
