//! # ordertrace
//!
//! Order tracing for a workshop's services: every order is one OpenTelemetry trace, from
//! `order_submitted` to `order_shipped`, across the Shop API, the CRM, the MES and RabbitMQ.
//!
//! - [`schema`]: the eight canonical events, attribute keys, input validation, `schema_json()`.
//! - [`status`]: the one status table (code and name of every error) all bridges share.
//! - [`propagation`]: W3C Trace Context and Baggage over HTTP and RabbitMQ headers.
//! - [`identity`]: the order-derived trace identity for hops that lost their headers.
//! - [`OrderTracer`] / [`Stage`]: stage spans with errors, start records and heartbeats.
//! - [`pipeline`]: OTLP (gRPC, HTTP) or the embedded OTLP/JSON file, the disk spool that keeps
//!   spans while the endpoint is down, counters, flush, shutdown.
//! - [`otlp_json`] and [`timeline`]: read spans back and answer "where is this order stuck?".
//!
//! ```
//! use ordertrace::{OrderTracer, schema::OrderEvent};
//! use std::collections::HashMap;
//! let dir = std::env::temp_dir().join(format!("ordertrace-doc-lib-{}", std::process::id()));
//! let shop = OrderTracer::builder().without_env().service_name("shop-api").file(dir.join("s.jsonl")).build()?;
//! let submitted = shop.stage(OrderEvent::OrderSubmitted, "ORD-5678").start()?;
//! let mut message_headers: HashMap<String, Vec<u8>> = HashMap::new(); // a RabbitMQ message
//! submitted.inject(&mut message_headers);
//! submitted.end();
//!
//! // In the CRM, on receipt:
//! let incoming = ordertrace::propagation::extract(&message_headers);
//! let confirmed = shop.stage(OrderEvent::OrderConfirmed, "ORD-5678").parent(&incoming).start()?;
//! assert_eq!(confirmed.trace_id(), ordertrace::identity::order_trace_id("ORD-5678").to_string());
//! confirmed.end();
//! shop.shutdown(std::time::Duration::from_secs(5))?;
//! # std::fs::remove_dir_all(dir).ok();
//! # Ok::<(), ordertrace::OrderTraceError>(())
//! ```

#![warn(missing_docs)]

mod attribute;
pub mod error;
mod error_info;
pub mod identity;
mod open_stages;
pub mod otlp_json;
pub mod pipeline;
pub mod propagation;
pub mod schema;
mod stage;
mod stage_builder;
pub mod stage_ids;
mod stage_record;
pub mod status;
pub mod timeline;
mod tracer;

pub use attribute::AttributeValue;
pub use error::{OrderTraceError, Result};
pub use error_info::{ErrorInfo, MAX_ERROR_TYPE_LEN};
pub use identity::IdentityMode;
pub use opentelemetry::trace::SpanKind;
pub use pipeline::{OtlpProtocol, PipelineConfig, PipelineCounters, SpoolSettings};
pub use schema::{OrderEvent, schema_json};
pub use stage::Stage;
pub use stage_builder::StageBuilder;
pub use status::Status;
pub use tracer::{DROP_SHUTDOWN_TIMEOUT, OrderTracer, OrderTracerBuilder};
