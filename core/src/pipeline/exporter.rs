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

    pub(crate) fn shutdown(&self, timeout: Duration) {
        if let Primary::Otlp(exporter) = &self.primary {
            let _ = exporter.shutdown_with_timeout(timeout);
        }
    }
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
