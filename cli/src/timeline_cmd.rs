//! `ordertrace timeline`: one order's lifecycle from Jaeger or from a span file.

use crate::cli_error::CliError;
use crate::jaeger::Jaeger;
use crate::render;
use ordertrace::pipeline::ExportTarget;
use ordertrace::timeline::{self, OrderState};
use ordertrace::{PipelineConfig, otlp_json};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where the spans come from.
pub enum Source {
    /// Jaeger's query API.
    Jaeger {
        /// Query URL.
        url: String,
        /// Search window when the order-derived trace is missing.
        lookback: Duration,
        /// Per-request timeout.
        timeout: Duration,
    },
    /// A span file; `None` = the configured one.
    File(Option<PathBuf>),
}

fn configured_file() -> Result<PathBuf, CliError> {
    match PipelineConfig::from_env()?.target {
        ExportTarget::File(path) => Ok(path),
        ExportTarget::Discard => Err(CliError::BadInput(
            "spans are discarded here (OTEL_TRACES_EXPORTER=none): use --jaeger URL or --file PATH"
                .to_string(),
        )),
        ExportTarget::Otlp { endpoint, .. } => Err(CliError::BadInput(format!(
            "spans go to OTLP ({endpoint}) here, not to a file: use --jaeger URL or --file PATH"
        ))),
    }
}

/// The order's timeline, rendered; `NotFound` when no span of it exists.
pub fn run(order_id: &str, source: &Source, json: bool) -> Result<String, CliError> {
    ordertrace::schema::validate_order_id(order_id)?;
    let (spans, place) = match source {
        Source::Jaeger {
            url,
            lookback,
            timeout,
        } => (
            Jaeger::new(url, *timeout)?.order_spans(order_id, *lookback)?,
            format!("Jaeger at {url}"),
        ),
        Source::File(file) => {
            let path = match file {
                Some(p) => p.clone(),
                None => configured_file()?,
            };
            if !path.is_file() {
                return Err(CliError::BadInput(format!(
                    "no span file at {} (the demo writes ordertrace-demo.jsonl; pass --file)",
                    path.display()
                )));
            }
            (otlp_json::read_file(&path)?, format!("{}", path.display()))
        }
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let t = timeline::build(order_id, &spans, now);
    if t.state == OrderState::NotFound {
        return Err(CliError::NotFound(format!(
            "order {order_id} not found in {place}: no span has order.id={order_id}"
        )));
    }
    Ok(if json {
        format!("{}\n", render::json(&t, now))
    } else {
        render::text(&t, now)
    })
}
