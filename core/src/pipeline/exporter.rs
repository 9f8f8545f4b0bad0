//! The exporters a pipeline can drive: the embedded file exporter or OTLP (gRPC or
//! HTTP/protobuf) through `opentelemetry-otlp`, optionally mirrored to a file. Built and used
//! only on the pipeline's worker thread, inside its own single-threaded Tokio runtime, so the
//! callers' threads never need a runtime.

use super::config::{ExportTarget, OtlpProtocol, PipelineConfig};
use super::file_exporter::FileExporter;
use crate::error::{OrderTraceError, Result};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanExporter as _};
use std::time::Duration;

#[derive(Debug)]
enum Primary {
    Discard,
    File(FileExporter),
    Otlp(Box<opentelemetry_otlp::SpanExporter>),
}

/// Where the worker sends batches.
#[derive(Debug)]
pub(crate) struct SpanSink {
    primary: Primary,
    mirror: Option<FileExporter>,
    export_timeout: Duration,
}

impl SpanSink {
    /// Builds the sink; must run inside the worker's Tokio runtime (tonic needs one).
    pub(crate) fn build(config: &PipelineConfig, resource: &Resource) -> Result<Self> {
        let primary = match &config.target {
            ExportTarget::Discard => Primary::Discard,
            ExportTarget::File(path) => Primary::File(FileExporter::open(path, resource)?),
            ExportTarget::Otlp { endpoint, protocol } => Primary::Otlp(Box::new(build_otlp(
                endpoint,
                *protocol,
                &config.otlp_headers,
                config.export_timeout,
                resource,
            )?)),
        };
        let mirror = match &config.mirror_file {
            Some(path) => Some(FileExporter::open(path, resource)?),
            None => None,
        };
        Ok(Self {
            primary,
            mirror,
            export_timeout: config.export_timeout,
        })
    }

    /// Exports one batch; the mirror is best effort and does not change the result.
    pub(crate) fn export(
        &self,
        runtime: &tokio::runtime::Runtime,
        batch: Vec<SpanData>,
    ) -> Result<()> {
        if let Some(mirror) = &self.mirror {
            // A broken mirror must not cost the primary export; it is a debugging copy.
            let _ = mirror.write(batch.clone());
        }
        match &self.primary {
            Primary::Discard => Ok(()),
            Primary::File(f) => f.write(batch),
            Primary::Otlp(exporter) => {
                // The timer must be created inside the runtime, hence inside the async block.
                let bounded = async {
                    tokio::time::timeout(self.export_timeout, exporter.export(batch)).await
                };
                match runtime.block_on(bounded) {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(OrderTraceError::Export(e.to_string())),
                    Err(_) => Err(OrderTraceError::Export(format!(
                        "no answer from the collector within {} ms",
                        self.export_timeout.as_millis()
                    ))),
                }
            }
        }
    }

    /// Exports several batches with their requests in flight at the same time (OTLP; the file
    /// and discard targets take them one after the other); one result per batch, in order.
    pub(crate) fn export_all(
        &self,
        runtime: &tokio::runtime::Runtime,
        batches: Vec<Vec<SpanData>>,
    ) -> Vec<Result<()>> {
        let Primary::Otlp(exporter) = &self.primary else {
            return batches
                .into_iter()
                .map(|b| self.export(runtime, b))
                .collect();
        };
        if let Some(mirror) = &self.mirror {
            for batch in &batches {
                let _ = mirror.write(batch.clone());
            }
        }
        let timeout_ms = self.export_timeout.as_millis();
        let all = async {
            futures_util::future::join_all(batches.into_iter().map(|batch| async move {
                match tokio::time::timeout(self.export_timeout, exporter.export(batch)).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(OrderTraceError::Export(e.to_string())),
                    Err(_) => Err(OrderTraceError::Export(format!(
                        "no answer from the collector within {timeout_ms} ms"
                    ))),
                }
            }))
            .await
        };
        runtime.block_on(all)
    }

    pub(crate) fn shutdown(&self, timeout: Duration) {
        if let Primary::Otlp(exporter) = &self.primary {
            let _ = exporter.shutdown_with_timeout(timeout);
        }
    }
}

/// Why the collector refused a batch for good, if an export error says so: HTTP 400 Bad
/// Request or gRPC `InvalidArgument` ("invalid", the OTLP specification's non-retryable answers
/// about the data), or HTTP 413 Payload Too Large ("too large": the same bytes would be refused
/// again). Sending such a batch again can never succeed. Other failures (unreachable,
/// timeouts, 429/5xx, and also 401/403, which a configuration fix cures) are retried.
///
/// `opentelemetry-otlp` reports only a message, so this reads its wording:
/// "HTTP export failed with status code: 400" and
/// "... export failed with gRPC code: InvalidArgument". It does not report an OTLP
/// `partial_success` (spans the collector accepted the request but did not keep): 0.33 only
/// logs it (`HttpTraceClient.PartialSuccess`, warn level) and returns success.
pub(crate) fn permanent_rejection(error: &OrderTraceError) -> Option<&'static str> {
    let OrderTraceError::Export(message) = error else {
        return None;
    };
    let http_code: Option<String> = message
        .split("status code: ")
        .nth(1)
        .map(|rest| rest.chars().take_while(char::is_ascii_digit).collect());
    let grpc_invalid = message
        .split("gRPC code: ")
        .nth(1)
        .is_some_and(|rest| rest.starts_with("InvalidArgument"));
    match http_code.as_deref() {
        Some("400") => Some("as invalid"),
        Some("413") => Some("as too large"),
        _ if grpc_invalid => Some("as invalid"),
        _ => None,
    }
}

/// Whether the collector refused the batch for good ([`permanent_rejection`]).
pub(crate) fn rejected_permanently(error: &OrderTraceError) -> bool {
    permanent_rejection(error).is_some()
}

fn build_otlp(
    endpoint: &str,
    protocol: OtlpProtocol,
    headers: &[(String, String)],
    timeout: Duration,
    resource: &Resource,
) -> Result<opentelemetry_otlp::SpanExporter> {
    let built = match protocol {
        OtlpProtocol::Grpc => {
            let mut map = http::HeaderMap::new();
            for (k, v) in headers {
                let name = http::header::HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
                    OrderTraceError::config(
                        "OTEL_EXPORTER_OTLP_HEADERS",
                        format!("{k:?} is not a valid header name"),
                    )
                })?;
                let value = http::HeaderValue::from_str(v).map_err(|_| {
                    OrderTraceError::config(
                        "OTEL_EXPORTER_OTLP_HEADERS",
                        format!("value of {k:?} is not a valid header value"),
                    )
                })?;
                map.append(name, value);
            }
            opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .with_timeout(timeout)
                .with_metadata(
                    opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(map),
                )
                .build()
        }
        OtlpProtocol::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(endpoint)
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_timeout(timeout)
            .with_headers(headers.iter().cloned().collect())
            .build(),
    };
    let mut exporter = built.map_err(|e| {
        OrderTraceError::PipelineStart(format!("OTLP exporter for {endpoint}: {e}"))
    })?;
    exporter.set_resource(resource);
    Ok(exporter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export_error(message: &str) -> OrderTraceError {
        OrderTraceError::Export(message.to_string())
    }

    #[test]
    fn http_400_is_a_permanent_rejection() {
        assert!(rejected_permanently(&export_error(
            "HTTP export failed with status code: 400"
        )));
    }

    #[test]
    fn grpc_invalid_argument_is_a_permanent_rejection() {
        assert!(rejected_permanently(&export_error(
            "TonicTracesClient export failed with gRPC code: InvalidArgument"
        )));
    }

    #[test]
    fn http_413_payload_too_large_is_a_permanent_rejection() {
        let e = export_error("HTTP export failed with status code: 413");
        assert!(rejected_permanently(&e));
        assert_eq!(permanent_rejection(&e), Some("as too large"));
    }

    #[test]
    fn http_400_is_rejected_as_invalid() {
        let e = export_error("HTTP export failed with status code: 400");
        assert_eq!(permanent_rejection(&e), Some("as invalid"));
    }

    #[test]
    fn unavailable_endpoints_and_retryable_codes_are_not_rejections() {
        for message in [
            "HTTP export failed: network error",
            "HTTP export failed with status code: 503",
            "HTTP export failed with status code: 429",
            "HTTP export failed with status code: 401",
            "HTTP export failed with status code: 4000",
            "HTTP export failed with status code: 4130",
            "TonicTracesClient export failed with gRPC code: Unavailable",
            "no answer from the collector within 10000 ms",
        ] {
            assert!(!rejected_permanently(&export_error(message)), "{message}");
        }
    }

    #[test]
    fn only_export_errors_are_rejections() {
        assert!(!rejected_permanently(&OrderTraceError::ShutDown));
    }
}
