//! The export pipeline seen from the caller: counters, drops when the queue is full, failed
//! exports against an endpoint that refuses or hangs, bounded flush and shutdown, and
//! `tracing` spans joining the order trace.

mod common;

use common::{SECOND, TempFile, builder, one};
use ordertrace::{OrderEvent, OrderTraceError, OrderTracer, OtlpProtocol};
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// A port nothing listens on.
fn refused_endpoint() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    format!("http://127.0.0.1:{port}/v1/traces")
}

/// A listener that accepts connections and never answers: an OTLP receiver that hangs.
fn hanging_endpoint() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    (listener, format!("http://{addr}/v1/traces"))
}

fn stages(tracer: &OrderTracer, n: usize) {
    for i in 0..n {
        tracer
            .stage(OrderEvent::OrderConfirmed, &format!("ORD-{i}"))
            .start()
            .expect("start")
            .end();
    }
}

#[test]
fn counters_count_started_and_exported_spans() {
    let file = TempFile::new("counters");
    let tracer = builder("crm-api", &file)
        .start_records(false)
        .build()
        .unwrap();
    stages(&tracer, 10);
    tracer.flush(SECOND).unwrap();
    let c = tracer.counters();
    assert_eq!(c.spans_started, 10);
    assert_eq!(c.spans_exported, 10);
    assert_eq!(
        (
            c.spans_dropped,
            c.spans_failed,
            c.failed_exports,
            c.queue_depth
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(file.spans().len(), 10);
}

#[test]
fn start_records_count_as_spans_too() {
    let file = TempFile::new("records");
    let tracer = builder("crm-api", &file)
        .start_record_after(Duration::ZERO)
        .build()
        .unwrap();
    stages(&tracer, 3);
    tracer.flush(SECOND).unwrap();
    assert_eq!(tracer.counters().spans_exported, 6);
}

#[test]
fn quick_stages_with_default_start_records_cost_one_span_each() {
    let file = TempFile::new("quick-records");
    let tracer = builder("crm-api", &file).build().unwrap();
    assert!(tracer.config().start_records);
    stages(&tracer, 3);
    tracer.flush(SECOND).unwrap();
    assert_eq!(tracer.counters().spans_started, 3);
    assert_eq!(tracer.counters().spans_exported, 3);
}

#[test]
fn a_refused_otlp_endpoint_counts_failed_exports_and_keeps_the_error() {
    for protocol in [OtlpProtocol::HttpProtobuf, OtlpProtocol::Grpc] {
        let endpoint = refused_endpoint();
        let endpoint = match protocol {
            OtlpProtocol::Grpc => endpoint.trim_end_matches("/v1/traces").to_string(),
            _ => endpoint,
        };
        let tracer = OrderTracer::builder()
            .without_env()
            .service_name("crm-api")
            .otlp(endpoint.clone(), protocol)
            .start_records(false)
            .heartbeat_interval(None)
            .export_timeout(Duration::from_secs(2))
            .build()
            .expect("an unreachable endpoint is not a build error");
        stages(&tracer, 5);
        tracer.flush(Duration::from_secs(10)).unwrap();
        let c = tracer.counters();
        assert_eq!(c.spans_started, 5, "{protocol:?}");
        assert_eq!(c.spans_exported, 0, "{protocol:?}");
        assert_eq!(c.spans_failed, 5, "{protocol:?}");
        assert!(c.failed_exports >= 1, "{protocol:?}");
        assert!(tracer.last_export_error().is_some(), "{protocol:?}");
        tracer.shutdown(SECOND).unwrap();
    }
}

#[test]
fn a_mirror_file_keeps_the_spans_an_unreachable_otlp_endpoint_lost() {
    let file = TempFile::new("mirror");
    let tracer = OrderTracer::builder()
        .without_env()
        .service_name("crm-api")
        .otlp(refused_endpoint(), OtlpProtocol::HttpProtobuf)
        .mirror_file(file.0.clone())
        .start_records(false)
        .heartbeat_interval(None)
        .build()
        .unwrap();
    stages(&tracer, 3);
    tracer.shutdown(Duration::from_secs(10)).unwrap();
    assert_eq!(file.spans().len(), 3);
    assert_eq!(tracer.counters().spans_failed, 3);
}

#[test]
fn a_hanging_endpoint_never_blocks_the_caller_and_a_full_queue_drops_counted_spans() {
    let (_listener, endpoint) = hanging_endpoint();
    let tracer = OrderTracer::builder()
        .without_env()
        .service_name("mes-api")
        .otlp(endpoint, OtlpProtocol::HttpProtobuf)
        .start_records(false)
        .heartbeat_interval(None)
        .max_queue_size(8)
        .max_export_batch_size(4)
        .export_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let began = Instant::now();
    stages(&tracer, 200);
    let took = began.elapsed();
    // The exporter is stuck for 5 s per batch; a caller that waited for it would take that long.
    assert!(took < Duration::from_secs(3), "200 stages took {took:?}");

    let c = tracer.counters();
    assert_eq!(c.spans_started, 200);
    assert!(c.spans_dropped >= 200 - 8 - 4, "{c:?}");
    assert!(c.queue_depth <= 8, "{c:?}");

    match tracer.flush(Duration::from_millis(200)) {
        Err(OrderTraceError::Timeout {
            operation, pending, ..
        }) => {
            assert_eq!(operation, "flush");
            assert!(pending > 0);
        }
        other => panic!("expected a flush timeout, got {other:?}"),
    }
    let began = Instant::now();
    let shutdown = tracer.shutdown(Duration::from_millis(300));
    assert!(
        matches!(
            shutdown,
            Err(OrderTraceError::Timeout {
                operation: "shutdown",
                ..
            })
        ),
        "{shutdown:?}"
    );
    assert!(began.elapsed() < Duration::from_secs(2));
}

#[test]
fn shutdown_exports_what_is_queued_and_then_refuses_new_stages() {
    let file = TempFile::new("shutdown");
    let tracer = builder("crm-api", &file)
        .start_records(false)
        .scheduled_delay(Duration::from_secs(60))
        .build()
        .unwrap();
    stages(&tracer, 5);
    tracer.shutdown(SECOND).unwrap();
    assert_eq!(file.spans().len(), 5);

    // Idempotent.
    tracer.shutdown(SECOND).unwrap();
    let err = tracer
        .stage(OrderEvent::OrderShipped, "ORD-1")
        .start()
        .unwrap_err();
    assert!(matches!(err, OrderTraceError::ShutDown), "{err}");
    assert!(matches!(
        tracer.flush(SECOND),
        Err(OrderTraceError::ShutDown)
    ));
}

#[test]
fn a_stage_ending_after_shutdown_is_counted_as_dropped() {
    let file = TempFile::new("late");
    let tracer = builder("crm-api", &file)
        .start_records(false)
        .build()
        .unwrap();
    let late = tracer
        .stage(OrderEvent::OrderShipped, "ORD-1")
        .start()
        .unwrap();
    tracer.shutdown(SECOND).unwrap();
    late.end();
    let c = tracer.counters();
    assert_eq!(c.spans_exported, 0);
    assert_eq!(c.spans_dropped, 1, "{c:?}");
}

#[test]
fn build_fails_readably_for_a_file_that_cannot_be_written() {
    // A path under a regular file can be neither created nor written.
    let blocker = TempFile::new("blocker");
    std::fs::write(&blocker.0, "a file, not a directory").unwrap();
    let path = blocker.0.join("spans.jsonl");
    let err = OrderTracer::builder()
        .without_env()
        .file(path.clone())
        .build()
        .unwrap_err();
    assert_eq!(err.code(), 10, "{err}");
    assert!(err.to_string().contains(path.to_str().unwrap()), "{err}");
}

#[test]
fn build_rejects_a_batch_larger_than_the_queue() {
    let err = OrderTracer::builder()
        .without_env()
        .max_queue_size(4)
        .max_export_batch_size(8)
        .build()
        .unwrap_err();
    assert_eq!(err.code(), 4, "{err}");
}

#[test]
fn tracing_spans_join_the_order_trace_under_the_stage() {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    use tracing_subscriber::layer::SubscriberExt;

    let file = TempFile::new("tracing");
    let tracer = builder("shop-api", &file)
        .start_records(false)
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(tracer.tracing_layer());
    let stage = tracer
        .stage(OrderEvent::ModelUploaded, "ORD-8")
        .start()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("store_model_file");
        let _ = span.set_parent(stage.context());
        let _entered = span.enter();
    });
    let stage_id = stage.span_id();
    stage.end();
    tracer.shutdown(SECOND).unwrap();
    let spans = file.spans();
    let child = one(&spans, "store_model_file");
    assert_eq!(
        child.trace_id,
        ordertrace::identity::order_trace_id("ORD-8").to_string()
    );
    assert_eq!(child.parent_span_id.as_deref(), Some(stage_id.as_str()));
}
