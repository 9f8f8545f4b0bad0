//! [`OrderTracer`]: the entry point. Builds the pipeline, starts stages, flushes and shuts down.
//!
//! ```
//! use ordertrace::{OrderTracer, schema::OrderEvent};
//! use std::time::Duration;
//! let dir = std::env::temp_dir().join(format!("ordertrace-doc-tracer-{}", std::process::id()));
//! let tracer = OrderTracer::builder()
//!     .without_env()
//!     .service_name("shop-api")
//!     .file(dir.join("spans.jsonl"))
//!     .build()?;
//! tracer.stage(OrderEvent::OrderSubmitted, "ORD-1").start()?.end();
//! tracer.flush(Duration::from_secs(5))?;
//! // A stage that ends before the start-record threshold (the heartbeat interval) is one span.
//! assert_eq!(tracer.counters().spans_exported, 1);
//! tracer.shutdown(Duration::from_secs(5))?;
//! # std::fs::remove_dir_all(dir).ok();
//! # Ok::<(), ordertrace::OrderTraceError>(())
//! ```

use crate::error::{OrderTraceError, Result};
use crate::identity::IdentityMode;
use crate::open_stages::{Heartbeats, OpenStages, OpenTicket};
use crate::pipeline::{
    BatchProcessor, ExportTarget, OtlpProtocol, PipelineConfig, PipelineCounters, PipelineHandle,
    Queued, SpoolSettings, ordertrace_scope,
};
use crate::schema::OrderEvent;
use crate::stage_builder::StageBuilder;
use crate::stage_record::StageRecord;
use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long dropping the last handle of a tracer waits for queued spans to export.
pub const DROP_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

type Setting = Box<dyn FnOnce(&mut PipelineConfig) + Send>;

/// Builds an [`OrderTracer`]. Reads the `OTEL_*` and `ORDERTRACE_*` environment (see
/// [`PipelineConfig`]) unless [`without_env`](Self::without_env) is called; explicit settings
/// are applied afterwards and win.
#[must_use]
pub struct OrderTracerBuilder {
    read_env: bool,
    settings: Vec<Setting>,
}

impl OrderTracerBuilder {
    fn set(mut self, f: impl FnOnce(&mut PipelineConfig) + Send + 'static) -> Self {
        self.settings.push(Box::new(f));
        self
    }

    /// Ignore the environment; start from the defaults.
    pub fn without_env(mut self) -> Self {
        self.read_env = false;
        self
    }

    /// `service.name`: shop-api, crm-api, mes-api.
    pub fn service_name(self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.set(move |c| c.service_name = name)
    }

    /// A further resource attribute.
    pub fn resource_attribute(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let kv = (key.into(), value.into());
        self.set(move |c| c.resource_attributes.push(kv))
    }

    /// Export OTLP/JSON lines to this file (the embedded default).
    pub fn file(self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        self.set(move |c| c.target = ExportTarget::File(path))
    }

    /// Export OTLP to this endpoint (full URL; for HTTP include `/v1/traces`).
    pub fn otlp(self, endpoint: impl Into<String>, protocol: OtlpProtocol) -> Self {
        let endpoint = endpoint.into();
        self.set(move |c| c.target = ExportTarget::Otlp { endpoint, protocol })
    }

    /// Discard every span after counting it: export off, instrumentation kept
    /// (`OTEL_TRACES_EXPORTER=none`).
    pub fn discard(self) -> Self {
        self.set(|c| c.target = ExportTarget::Discard)
    }

    /// Also write every exported batch to this file.
    pub fn mirror_file(self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        self.set(move |c| c.mirror_file = Some(path))
    }

    /// Which trace a stage joins; see [`crate::identity`].
    pub fn identity(self, mode: IdentityMode) -> Self {
        self.set(move |c| c.identity = mode)
    }

    /// Heartbeat interval for open stages; `None` disables heartbeats.
    pub fn heartbeat_interval(self, interval: Option<Duration>) -> Self {
        self.set(move |c| c.heartbeat_interval = interval)
    }

    /// Whether a start record is exported for a stage still open after
    /// [`start_record_after`](Self::start_record_after) (default yes).
    pub fn start_records(self, enabled: bool) -> Self {
        self.set(move |c| c.start_records = enabled)
    }

    /// How long a stage may stay open before its start record is exported (default: the
    /// heartbeat interval). A stage that ends sooner is exported as its span alone;
    /// `Duration::ZERO` exports the start record the moment the stage starts.
    pub fn start_record_after(self, threshold: Duration) -> Self {
        self.set(move |c| c.start_record_after = Some(threshold))
    }

    /// `true`: a stage whose order id or user id breaks a rule fails to start
    /// (`ORDERTRACE_STRICT_IDS`). The default, `false`, starts it and records the problem.
    pub fn strict_ids(self, strict: bool) -> Self {
        self.set(move |c| c.strict_ids = strict)
    }

    /// How many attributes, events and links a span keeps (by default from
    /// `OTEL_SPAN_*_LIMIT` and friends, otherwise the SDK's 128 each).
    pub fn span_limits(self, limits: crate::pipeline::SpanLimitSettings) -> Self {
        self.set(move |c| c.span_limits = limits)
    }

    /// Time between batch exports.
    pub fn scheduled_delay(self, delay: Duration) -> Self {
        self.set(move |c| c.batch.scheduled_delay = delay)
    }

    /// Spans queued before new ones are dropped.
    pub fn max_queue_size(self, size: usize) -> Self {
        self.set(move |c| c.batch.max_queue_size = size)
    }

    /// Spans per export call.
    pub fn max_export_batch_size(self, size: usize) -> Self {
        self.set(move |c| c.batch.max_export_batch_size = size)
    }

    /// Timeout of one OTLP export request.
    pub fn export_timeout(self, timeout: Duration) -> Self {
        self.set(move |c| c.export_timeout = timeout)
    }

    /// Spool batches the endpoint cannot take to disk under `dir` (in `<dir>/<service.name>`),
    /// with the default bounds unless set; see [`SpoolSettings`]. A queue left at its default
    /// size becomes the spool's default (see [`PipelineConfig::apply_spool_queue_default`]).
    pub fn spool_dir(self, dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        self.set(move |c| {
            match &mut c.spool {
                Some(s) => s.dir = dir,
                None => c.spool = Some(SpoolSettings::new(dir)),
            }
            c.apply_spool_queue_default();
        })
    }

    /// Bound of the spool on disk, bytes (needs a spool folder, from here or the environment).
    pub fn spool_max_bytes(self, bytes: u64) -> Self {
        self.set(move |c| {
            if let Some(s) = &mut c.spool {
                s.max_bytes = bytes;
            }
        })
    }

    /// Age after which spooled spans are dropped (needs a spool folder).
    pub fn spool_max_age(self, age: Duration) -> Self {
        self.set(move |c| {
            if let Some(s) = &mut c.spool {
                s.max_age = age;
            }
        })
    }

    /// No disk spool, even if `ORDERTRACE_SPOOL_DIR` is set.
    pub fn without_spool(self) -> Self {
        self.set(|c| {
            c.spool = None;
            c.apply_spool_queue_default();
        })
    }

    /// The configuration this builder would use.
    pub fn resolve(self) -> Result<PipelineConfig> {
        let mut config = if self.read_env {
            PipelineConfig::from_env()?
        } else {
            PipelineConfig::default()
        };
        for s in self.settings {
            s(&mut config);
        }
        config.validate()?;
        Ok(config)
    }

    /// Starts the pipeline. Fails on invalid configuration or an exporter that cannot start.
    pub fn build(self) -> Result<OrderTracer> {
        OrderTracer::from_config(self.resolve()?)
    }
}

pub(crate) struct TracerInner {
    pub(crate) tracer: SdkTracer,
    pub(crate) config: PipelineConfig,
    pub(crate) open: Arc<OpenStages>,
    /// Owned so the provider lives as long as the tracer; never shut down before it (see
    /// `shutdown`).
    _provider: SdkTracerProvider,
    pipeline: Arc<PipelineHandle>,
    heartbeats: Mutex<Option<Heartbeats>>,
    shut_down: AtomicBool,
}

impl TracerInner {
    fn shutdown(&self, timeout: Duration) -> Result<()> {
        if self.shut_down.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        if let Some(mut h) = self
            .heartbeats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            h.stop();
        }
        // The provider itself stays up: a stage that ends after this still reaches our
        // processor, which counts it as dropped instead of losing it silently. New stages are
        // refused by `OrderTracer::inner`.
        self.pipeline.shutdown(timeout)
    }
}

impl Drop for TracerInner {
    fn drop(&mut self) {
        let _ = self.shutdown(DROP_SHUTDOWN_TIMEOUT);
    }
}

/// Records order stages and exports them. Cheap to clone; every clone is the same tracer.
/// The pipeline shuts down (bounded by [`DROP_SHUTDOWN_TIMEOUT`]) when the last clone and the
/// last stage are dropped, or explicitly with [`shutdown`](Self::shutdown).
#[derive(Clone)]
pub struct OrderTracer {
    inner: Arc<TracerInner>,
}

impl std::fmt::Debug for OrderTracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderTracer")
            .field("service_name", &self.inner.config.service_name)
            .finish()
    }
}

impl OrderTracer {
    /// A builder reading the environment; explicit settings win.
    pub fn builder() -> OrderTracerBuilder {
        OrderTracerBuilder {
            read_env: true,
            settings: Vec::new(),
        }
    }

    /// A tracer configured entirely from the environment.
    pub fn from_env() -> Result<Self> {
        Self::builder().build()
    }

    /// A tracer from a resolved configuration.
    pub fn from_config(config: PipelineConfig) -> Result<Self> {
        config.validate()?;
        let mut resource = Resource::builder_empty().with_service_name(config.service_name.clone());
        for (k, v) in &config.resource_attributes {
            resource = resource.with_attribute(KeyValue::new(k.clone(), v.clone()));
        }
        let resource = resource.build();
        let (processor, pipeline) = BatchProcessor::start(&config, resource.clone())?;
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(resource)
            // Every order is traced: sampling would break "one order, one trace".
            .with_sampler(Sampler::AlwaysOn)
            // The limits the stage records get too (the SDK alone would read only three of
            // the five variables, ignoring a bad value).
            .with_span_limits(config.span_limits.into())
            .build();
        // Stages do not go through this tracer (see `StageRecord`); their start records,
        // heartbeats and `tracing` spans do.
        let tracer = provider.tracer_with_scope(ordertrace_scope());
        let open = Arc::new(OpenStages::new(
            config.heartbeat_interval,
            config.start_record_threshold(),
        ));
        let heartbeats = match open.tick() {
            Some(tick) => Some(
                Heartbeats::start(tracer.clone(), Arc::clone(&open), tick).map_err(|e| {
                    OrderTraceError::PipelineStart(format!("open-stage (heartbeat) thread: {e}"))
                })?,
            ),
            None => None,
        };
        Ok(Self {
            inner: Arc::new(TracerInner {
                tracer,
                config,
                open,
                _provider: provider,
                pipeline,
                heartbeats: Mutex::new(heartbeats),
                shut_down: AtomicBool::new(false),
            }),
        })
    }

    /// Begins a stage for `event` of `order_id`; finish it with [`StageBuilder::start`].
    pub fn stage(&self, event: OrderEvent, order_id: &str) -> StageBuilder<'_> {
        StageBuilder::new(self, event, Ok(crate::stage_ids::shared_id(order_id)))
    }

    /// Like [`stage`](Self::stage) with the order id as bytes, for bridges handing over
    /// foreign strings: bytes that are not UTF-8 are an order id that breaks the rules
    /// (lenient mode: the stage starts without it, see [`crate::stage_ids`]).
    pub fn stage_bytes(&self, event: OrderEvent, order_id: &[u8]) -> StageBuilder<'_> {
        StageBuilder::new(self, event, crate::stage_ids::id_text("order id", order_id))
    }

    pub(crate) fn inner(&self) -> Result<&TracerInner> {
        if self.inner.shut_down.load(Ordering::Acquire) {
            return Err(OrderTraceError::ShutDown);
        }
        Ok(&self.inner)
    }

    pub(crate) fn count_ids_rejected(&self, n: usize) {
        self.inner.pipeline.count_ids_rejected(n);
    }

    pub(crate) fn count_started(&self) {
        self.inner.pipeline.count_started();
    }

    /// A stage has ended: it leaves the open-stage registry and its span is queued.
    pub(crate) fn stage_ended(&self, record: StageRecord, ticket: Option<OpenTicket>) {
        if let Some(t) = ticket {
            self.inner.open.closed(t);
        }
        self.inner.pipeline.enqueue(Queued::Stage(record));
    }

    /// The resolved configuration.
    pub fn config(&self) -> &PipelineConfig {
        &self.inner.config
    }

    /// Spans started, exported, spooled, replayed, dropped by reason, failed; queue depth and
    /// spool size.
    pub fn counters(&self) -> PipelineCounters {
        self.inner.pipeline.counters()
    }

    /// The folder this tracer spools in (`<spool dir>/<service.name>`), if spooling is on.
    pub fn spool_folder(&self) -> Option<&std::path::Path> {
        self.inner.pipeline.spool_dir()
    }

    /// Stages started and not yet ended.
    pub fn open_stages(&self) -> usize {
        self.inner.open.len()
    }

    /// The last export error, if any export failed.
    pub fn last_export_error(&self) -> Option<String> {
        self.inner.pipeline.last_error()
    }

    /// Exports everything ended before this call; fails after `timeout`.
    pub fn flush(&self, timeout: Duration) -> Result<()> {
        self.inner()?;
        self.inner.pipeline.flush(timeout)
    }

    /// Exports what is queued and stops the pipeline; later stages fail with
    /// [`OrderTraceError::ShutDown`]. Bounded by `timeout`; calling it again is a no-op.
    pub fn shutdown(&self, timeout: Duration) -> Result<()> {
        self.inner.shutdown(timeout)
    }

    /// A `tracing` layer that exports `tracing` spans through this tracer, so Rust services
    /// that already use `tracing` join the order's trace: give a span the stage as parent with
    /// `tracing_opentelemetry::OpenTelemetrySpanExt::set_parent(span, stage.context())`.
    pub fn tracing_layer<S>(&self) -> tracing_opentelemetry::OpenTelemetryLayer<S, SdkTracer>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        tracing_opentelemetry::layer().with_tracer(self.inner.tracer.clone())
    }
}
