//! The shop of the order-flow example (Rust, the ordertrace core used directly).
//!
//! - `POST /orders` with `{"order_id": "ORD-1", "user_id": "<uuid>"}`: the order is submitted
//!   (`order_submitted`, the root of the order's trace). The answer carries the `traceparent`
//!   and `baggage` a client sends with its next request for this order.
//! - `POST /orders/{id}/model?user=<uuid>&format=stl` with the model's bytes as the body: the
//!   3D model is uploaded (`model_uploaded`, child of the request's `traceparent`, or of the
//!   order's root when the request has none) and the order is published to the RabbitMQ queue
//!   `orders.new` with the trace headers. `&drop_headers=true` publishes it without them: the
//!   CRM must still land in the same trace, through the order-derived identity.
//! - `POST /flush` exports what is buffered; `GET /health`.
//!
//! Env: `SHOP_PORT` (default 18080), `AMQP_URL` (default amqp://guest:guest@127.0.0.1:5672/%2f),
//! and the `OTEL_*` / `ORDERTRACE_*` variables of the tracer.

use lapin::options::{BasicPublishOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use ordertrace::propagation;
use ordertrace::schema::attr;
use ordertrace::{ErrorInfo, OrderEvent, OrderTracer, SpanKind};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Read;
use std::time::Duration;

/// The queue the CRM consumes.
const QUEUE: &str = "orders.new";
/// The largest model accepted (bytes).
const MAX_MODEL_BYTES: u64 = 64 * 1024 * 1024;

/// An HTTP answer: status and JSON body.
struct Reply {
    status: u16,
    body: Value,
}

impl Reply {
    fn ok(status: u16, body: Value) -> Self {
        Reply { status, body }
    }

    fn error(status: u16, message: impl Into<String>) -> Self {
        Reply {
            status,
            body: json!({ "error": message.into() }),
        }
    }
}

/// What a request brings: its headers (names lowercased), query parameters and body.
struct Request {
    headers: HashMap<String, String>,
    query: HashMap<String, String>,
    body: Vec<u8>,
}

struct Shop {
    tracer: OrderTracer,
    channel: Channel,
    // Kept open for the life of the shop; the channel lives on it.
    _connection: Connection,
}

impl Shop {
    /// `POST /orders`: the order's first stage.
    fn submit(&self, request: &Request) -> Reply {
        let fields: Value = match serde_json::from_slice(&request.body) {
            Ok(v) => v,
            Err(e) => return Reply::error(400, format!("body is not JSON: {e}")),
        };
        let (Some(order_id), Some(user_id)) = (
            fields.get("order_id").and_then(Value::as_str),
            fields.get("user_id").and_then(Value::as_str),
        ) else {
            return Reply::error(400, "order_id and user_id are required");
        };
        let submitted = match self
            .tracer
            .stage(OrderEvent::OrderSubmitted, order_id)
            .user_id(user_id)
            .parent(&propagation::extract(&request.headers))
            .kind(SpanKind::Server)
            .start()
        {
            Ok(stage) => stage,
            Err(e) => return Reply::error(400, e.to_string()),
        };
        let mut next_hop: HashMap<String, String> = HashMap::new();
        submitted.inject(&mut next_hop);
        let trace_id = submitted.trace_id();
        submitted.end();
        Reply::ok(
            201,
            json!({
                "order_id": order_id,
                "trace_id": trace_id,
                "traceparent": next_hop.get("traceparent"),
                "baggage": next_hop.get("baggage"),
            }),
        )
    }

    /// `POST /orders/{id}/model`: the model's stage, then the order goes to the CRM's queue.
    fn upload_model(&self, order_id: &str, request: &Request) -> Reply {
        let incoming = propagation::extract(&request.headers);
        let user_id = request
            .query
            .get("user")
            .map(String::as_str)
            .or_else(|| incoming.user_id());
        let Some(user_id) = user_id.map(str::to_string) else {
            return Reply::error(400, "user is required (?user=... or baggage user.id)");
        };
        let format = request.query.get("format").map_or("stl", String::as_str);
        let drop_headers = request.query.get("drop_headers").map(String::as_str) == Some("true");
        let size = i64::try_from(request.body.len()).unwrap_or(i64::MAX);
        let uploaded = match self
            .tracer
            .stage(OrderEvent::ModelUploaded, order_id)
            .user_id(&user_id)
            .parent(&incoming)
            .kind(SpanKind::Producer)
            .attribute(attr::MODEL_FORMAT, format)
            .attribute(attr::MODEL_SIZE, size)
            .attribute(attr::MESSAGING_SYSTEM, "rabbitmq")
            .attribute(attr::MESSAGING_DESTINATION, QUEUE)
            .attribute(attr::MESSAGING_OPERATION, "send")
            .start()
        {
            Ok(stage) => stage,
            Err(e) => return Reply::error(400, e.to_string()),
        };
        let trace_id = uploaded.trace_id();
        let mut headers: HashMap<String, Vec<u8>> = HashMap::new();
        if !drop_headers {
            uploaded.inject(&mut headers);
        }
        let body = json!({ "order_id": order_id, "user_id": user_id }).to_string();
        match self.publish(body.as_bytes(), headers) {
            Ok(()) => {
                uploaded.end();
                Reply::ok(
                    202,
                    json!({
                        "order_id": order_id,
                        "trace_id": trace_id,
                        "queue": QUEUE,
                        "headers_sent": !drop_headers,
                    }),
                )
            }
            Err(e) => {
                let message = format!("cannot publish to RabbitMQ queue {QUEUE}: {e}");
                let _ = uploaded.end_with_error(&ErrorInfo::new("lapin::Error", message.clone()));
                Reply::error(503, message)
            }
        }
    }

    /// Publishes one persistent message; AMQP header values are long strings (bytes).
    fn publish(&self, body: &[u8], headers: HashMap<String, Vec<u8>>) -> Result<(), lapin::Error> {
        let mut table = FieldTable::default();
        for (name, value) in headers {
            table.insert(name.into(), AMQPValue::LongString(LongString::from(value)));
        }
        let properties = BasicProperties::default()
            .with_headers(table)
            .with_content_type("application/json".into())
            .with_delivery_mode(2);
        async_global_executor::block_on(async {
            self.channel
                .basic_publish("", QUEUE, BasicPublishOptions::default(), body, properties)
                .await?
                .await
                .map(|_| ())
        })
    }

    fn route(&self, method: &tiny_http::Method, path: &str, request: &Request) -> Reply {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (method, segments.as_slice()) {
            (tiny_http::Method::Post, ["orders"]) => self.submit(request),
            (tiny_http::Method::Post, ["orders", order_id, "model"]) => {
                self.upload_model(&percent_decode(order_id), request)
            }
            (tiny_http::Method::Post, ["flush"]) => {
                match self.tracer.flush(Duration::from_secs(10)) {
                    Ok(()) => Reply::ok(200, json!({ "flushed": true })),
                    Err(e) => Reply::error(500, e.to_string()),
                }
            }
            (tiny_http::Method::Get, ["health"]) => Reply::ok(200, json!({ "ok": true })),
            _ => Reply::error(
                404,
                "POST /orders, POST /orders/{id}/model?user=..., POST /flush, GET /health",
            ),
        }
    }
}

/// `%XX` and `+` decoding of a URL component; malformed escapes are kept as they are.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_query(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(pair), String::new()),
        })
        .collect()
}

fn read_request(request: &mut tiny_http::Request) -> Result<(String, Request), String> {
    let (path, query) = match request.url().split_once('?') {
        Some((p, q)) => (p.to_string(), parse_query(q)),
        None => (request.url().to_string(), HashMap::new()),
    };
    let headers = request
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_ascii_lowercase(),
                h.value.to_string(),
            )
        })
        .collect();
    let mut body = Vec::new();
    request
        .as_reader()
        .take(MAX_MODEL_BYTES + 1)
        .read_to_end(&mut body)
        .map_err(|e| format!("cannot read the body: {e}"))?;
    if body.len() as u64 > MAX_MODEL_BYTES {
        return Err(format!("body larger than {MAX_MODEL_BYTES} bytes"));
    }
    Ok((
        path,
        Request {
            headers,
            query,
            body,
        },
    ))
}

fn connect(url: &str) -> Result<(Connection, Channel), String> {
    async_global_executor::block_on(async {
        let connection = Connection::connect(url, ConnectionProperties::default())
            .await
            .map_err(|e| format!("cannot connect to RabbitMQ at {url}: {e}"))?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| format!("cannot open a channel: {e}"))?;
        channel
            .queue_declare(
                QUEUE,
                QueueDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| format!("cannot declare queue {QUEUE}: {e}"))?;
        Ok((connection, channel))
    })
}

fn run() -> Result<(), String> {
    let port = std::env::var("SHOP_PORT").unwrap_or_else(|_| "18080".into());
    let amqp = std::env::var("AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let tracer = OrderTracer::builder()
        .service_name("shop-api")
        .build()
        .map_err(|e| e.to_string())?;
    let (connection, channel) = connect(&amqp)?;
    let server = tiny_http::Server::http(format!("127.0.0.1:{port}"))
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let json_type = tiny_http::Header::from_bytes(&b"content-type"[..], &b"application/json"[..])
        .map_err(|()| "bad content-type header".to_string())?;
    eprintln!("shop: listening on http://127.0.0.1:{port}, publishing to {QUEUE}");
    let shop = Shop {
        tracer,
        channel,
        _connection: connection,
    };
    for mut request in server.incoming_requests() {
        let reply = match read_request(&mut request) {
            Ok((path, parsed)) => shop.route(request.method(), &path, &parsed),
            Err(e) => Reply::error(400, e),
        };
        let response = tiny_http::Response::from_string(reply.body.to_string())
            .with_status_code(reply.status)
            .with_header(json_type.clone());
        if let Err(e) = request.respond(response) {
            eprintln!("shop: cannot answer a request: {e}");
        }
    }
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("shop: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decode_reads_escapes_and_plus() {
        assert_eq!(percent_decode("ORD%2D1+a"), "ORD-1 a");
    }

    #[test]
    fn percent_decode_keeps_malformed_escapes() {
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz1"), "%zz1");
    }

    #[test]
    fn parse_query_splits_pairs_and_flags() {
        let q = parse_query("user=u%201&drop_headers=true&flag");
        assert_eq!(q.get("user").map(String::as_str), Some("u 1"));
        assert_eq!(q.get("drop_headers").map(String::as_str), Some("true"));
        assert_eq!(q.get("flag").map(String::as_str), Some(""));
    }
}
