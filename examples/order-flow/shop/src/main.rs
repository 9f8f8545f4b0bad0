//! The shop of the order-flow example (Rust). `POST /orders` with
//! `{"order_id": "ORD-1", "user_id": "<uuid>", "drop_headers": false}`: the order is
//! submitted (`order_submitted`), its 3D model uploaded (`model_uploaded`), and it is published
//! to the RabbitMQ queue `orders.new` with the trace headers — or without them when
//! `drop_headers` is true (the CRM must still land in the same trace, by the order-derived
//! identity).
//!
//! Env: `SHOP_PORT` (default 18080), `AMQP_URL` (default amqp://guest:guest@127.0.0.1:5672/%2f),
//! and the `OTEL_*` / `ORDERTRACE_*` variables of the tracer.

use lapin::options::{BasicPublishOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use ordertrace::schema::attr;
use ordertrace::{OrderEvent, OrderTracer, SpanKind};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

const QUEUE: &str = "orders.new";

struct Shop {
    tracer: OrderTracer,
    channel: Channel,
}

fn bad_request(message: String) -> (u16, Value) {
    (400, json!({ "error": message }))
}

impl Shop {
    fn submit(&self, body: &str) -> (u16, Value) {
        let request: Value = match serde_json::from_str(body) {
            Ok(v) => v,
            Err(e) => return bad_request(format!("body is not JSON: {e}")),
        };
        let (Some(order_id), Some(user_id)) = (
            request.get("order_id").and_then(Value::as_str),
            request.get("user_id").and_then(Value::as_str),
        ) else {
            return bad_request("order_id and user_id are required".into());
        };
        let drop_headers = request
            .get("drop_headers")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        match self.run(order_id, user_id, drop_headers) {
            Ok(trace_id) => (202, json!({ "order_id": order_id, "trace_id": trace_id })),
            Err(e) => (e.0, json!({ "error": e.1 })),
        }
    }

    fn run(
        &self,
        order_id: &str,
        user_id: &str,
        drop_headers: bool,
    ) -> Result<String, (u16, String)> {
        let bad = |e: ordertrace::OrderTraceError| (400, e.to_string());
        let submitted = self
            .tracer
            .stage(OrderEvent::OrderSubmitted, order_id)
            .user_id(user_id)
            .kind(SpanKind::Server)
            .start()
            .map_err(bad)?;
        let trace_id = submitted.trace_id();
        let uploaded = self
            .tracer
            .stage(OrderEvent::ModelUploaded, order_id)
            .user_id(user_id)
            .parent(&submitted.headers())
            .attribute(attr::MODEL_FORMAT, "stl")
            .attribute(attr::MODEL_SIZE, 1_482_113_i64)
            .start()
            .map_err(bad)?;
        submitted.end();
        let mut headers: HashMap<String, Vec<u8>> = HashMap::new();
        if !drop_headers {
            uploaded.inject(&mut headers);
        }
        let mut table = FieldTable::default();
        for (k, v) in headers {
            table.insert(k.into(), AMQPValue::LongString(LongString::from(v)));
        }
        let body = json!({ "order_id": order_id, "user_id": user_id }).to_string();
        let published = async_global_executor::block_on(async {
            self.channel
                .basic_publish(
                    "",
                    QUEUE,
                    BasicPublishOptions::default(),
                    body.as_bytes(),
                    BasicProperties::default().with_headers(table),
                )
                .await?
                .await
        });
        match published {
            Ok(_) => {
                uploaded.end();
                Ok(trace_id)
            }
            Err(e) => {
                let error = ordertrace::ErrorInfo::from_error(&e);
                let _ = uploaded.end_with_error(&error);
                Err((503, format!("cannot publish to RabbitMQ: {e}")))
            }
        }
    }
}

fn connect(url: &str) -> Result<Channel, String> {
    async_global_executor::block_on(async {
        let conn = Connection::connect(url, ConnectionProperties::default())
            .await
            .map_err(|e| format!("cannot connect to RabbitMQ at {url}: {e}"))?;
        let channel = conn
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
        // The connection lives as long as the process.
        std::mem::forget(conn);
        Ok(channel)
    })
}

fn main() {
    let port = std::env::var("SHOP_PORT").unwrap_or_else(|_| "18080".into());
    let amqp = std::env::var("AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let tracer = match OrderTracer::builder().service_name("shop-api").build() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("shop: {e}");
            std::process::exit(1);
        }
    };
    let channel = match connect(&amqp) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("shop: {e}");
            std::process::exit(1);
        }
    };
    let server = match tiny_http::Server::http(format!("127.0.0.1:{port}")) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("shop: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("shop: listening on http://127.0.0.1:{port}, publishing to {QUEUE}");
    let shop = Shop { tracer, channel };
    for mut request in server.incoming_requests() {
        let (status, body) = match (request.method(), request.url()) {
            (tiny_http::Method::Post, "/orders") => {
                let mut body = String::new();
                match request.as_reader().read_to_string(&mut body) {
                    Ok(_) => shop.submit(&body),
                    Err(e) => bad_request(format!("cannot read the body: {e}")),
                }
            }
            (tiny_http::Method::Post, "/flush") => match shop.tracer.flush(Duration::from_secs(10))
            {
                Ok(()) => (200, json!({ "flushed": true })),
                Err(e) => (500, json!({ "error": e.to_string() })),
            },
            (tiny_http::Method::Get, "/health") => (200, json!({ "ok": true })),
            _ => (
                404,
                json!({ "error": "POST /orders, POST /flush, GET /health" }),
            ),
        };
        let response = tiny_http::Response::from_string(body.to_string())
            .with_status_code(status)
            .with_header(
                tiny_http::Header::from_bytes(&b"content-type"[..], &b"application/json"[..])
                    .expect("static header"),
            );
        let _ = request.respond(response);
    }
}
