//! Fetches an order's spans from Jaeger's HTTP query API (api/v3), through the watch's
//! client ([`ordertrace_watch::jaeger_client`], the project's one api/v3 client).
//!
//! First the order-derived trace (`GET /api/v3/traces/{id}`): every hop that kept the default
//! identity is there. If that trace does not exist (services configured with the `propagated`
//! identity), the recent traces of each service are searched and filtered on `order.id`:
//! Jaeger's HTTP api/v3 does not take attribute filters (only its gRPC API does), so the
//! filtering happens here. An empty Jaeger (no services) finds nothing: "not found", not an
//! error.

use crate::cli_error::CliError;
use ordertrace::identity::order_trace_id;
use ordertrace::otlp_json::{self, RecordedSpan};
use ordertrace::schema::attr;
use ordertrace_watch::jaeger_client::{self, JaegerClient, Search, now_ms};
use std::collections::BTreeSet;
use std::time::Duration;

/// Traces asked for per service when searching.
const SEARCH_LIMIT: usize = 1_000;

/// A Jaeger query endpoint.
pub struct Jaeger {
    client: JaegerClient,
}

impl Jaeger {
    /// `url` is the query service, e.g. `http://127.0.0.1:16686`.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, CliError> {
        Ok(Jaeger {
            client: JaegerClient::new(url, timeout)?,
        })
    }

    /// All spans of every trace holding a span of `order_id` (the timeline filters them).
    pub fn order_spans(
        &self,
        order_id: &str,
        lookback: Duration,
    ) -> Result<Vec<RecordedSpan>, CliError> {
        let trace_id = order_trace_id(order_id).to_string();
        if let Some(body) = self.client.trace(&trace_id)? {
            let spans = parse(&body, &self.client.trace_url(&trace_id))?;
            if has_order(&spans, order_id) {
                return Ok(spans);
            }
        }
        self.search(order_id, lookback)
    }

    fn search(&self, order_id: &str, lookback: Duration) -> Result<Vec<RecordedSpan>, CliError> {
        let to_ms = now_ms();
        let from_ms = to_ms.saturating_sub(ordertrace_watch::millis(lookback));
        let mut found = Vec::new();
        let mut seen_spans = BTreeSet::new();
        for service in self.client.services()? {
            let q = Search {
                service: Some(&service),
                from_ms,
                to_ms,
                limit: SEARCH_LIMIT,
            };
            let url = self.client.search_url(&q)?;
            let body = match self.client.search(&q)? {
                Ok(Some(body)) => body,
                Ok(None) => continue,
                Err(refused) => {
                    return Err(CliError::Backend(format!(
                        "Jaeger answered {} to {url}: {}",
                        refused.status, refused.body
                    )));
                }
            };
            let spans = parse(&body, &url)?;
            let traces: BTreeSet<String> = spans
                .iter()
                .filter(|s| s.attribute(attr::ORDER_ID) == Some(order_id))
                .map(|s| s.trace_id.clone())
                .collect();
            for s in spans {
                if traces.contains(&s.trace_id)
                    && seen_spans.insert((s.trace_id.clone(), s.span_id.clone()))
                {
                    found.push(s);
                }
            }
        }
        Ok(found)
    }
}

/// A Jaeger answer's spans; an unreadable answer is a backend error.
fn parse(body: &[u8], url: &str) -> Result<Vec<RecordedSpan>, CliError> {
    let doc = jaeger_client::json(body, url)?;
    otlp_json::parse_value(&doc, url).map_err(|e| CliError::Backend(e.to_string()))
}

fn has_order(spans: &[RecordedSpan], order_id: &str) -> bool {
    spans
        .iter()
        .any(|s| s.attribute(attr::ORDER_ID) == Some(order_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ordertrace_watch::fake_jaeger;
    use std::net::TcpListener;

    const TIMEOUT: Duration = Duration::from_secs(5);

    /// Answers every request with one fixed HTTP response.
    fn answering(status: &'static str, body: &'static str) -> String {
        fake_jaeger::serve(move |_| (status, body.to_string()))
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

    /// Answers `/api/v3/services` with `services` and everything else with 404.
    fn jaeger_with_services(services: &'static str) -> String {
        fake_jaeger::with_services("200 OK", services)
    }

    #[test]
    fn an_empty_jaeger_answering_an_empty_object_for_services_finds_no_spans() {
        // Jaeger's api/v3 answers `{}` when it has no services (protobuf JSON leaves out the
        // empty list): the order is not found, Jaeger is not broken.
        let jaeger = Jaeger::new(&jaeger_with_services("{}"), TIMEOUT).expect("client");
        let spans = jaeger
            .order_spans("ORD-1", Duration::from_secs(60))
            .expect("an empty Jaeger is not an error");
        assert!(spans.is_empty());
    }

    #[test]
    fn a_services_answer_that_is_not_an_object_is_a_backend_error() {
        let jaeger = Jaeger::new(&jaeger_with_services("[1,2]"), TIMEOUT).expect("client");
        let err = jaeger
            .order_spans("ORD-1", Duration::from_secs(60))
            .expect_err("not a services list");
        assert_eq!(err.exit_code(), 4);
        assert!(err.to_string().contains("without a services list"), "{err}");
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
