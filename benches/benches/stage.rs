//! A stage span (start + end, 4 attributes) through ordertrace versus the same span made
//! directly with the OpenTelemetry Rust SDK, in the same run. Both use a batch processor whose
//! export does no I/O (ordertrace: its file exporter writing to /dev/null; SDK: its
//! BatchSpanProcessor with an exporter that discards), so the figure is the caller's cost.
//!
//! Neither side may drop spans while it is measured (a median taken while spans are dropped
//! flatters the side that drops): each timed batch of iterations is followed by an untimed
//! flush on both sides, so the queue starts empty every batch. Drops are counted and reported
//! at the end, never a panic.

use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, SpanKind, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider};
use ordertrace::{OrderEvent, OrderTracer};
use ordertrace_benches::DiscardExporter;
use std::hint::black_box;
use std::time::{Duration, Instant};

const USER: &str = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";

/// The three ordertrace configurations measured: the default (start record only for a stage
/// still open after the threshold, heartbeats on: a quick stage is one span, plus its entry
/// in the open-stage registry), start records and heartbeats off (no registry), and the old
/// behaviour of a start record exported at every start (threshold zero: two spans a stage).
#[derive(Clone, Copy)]
enum Records {
    Default,
    Off,
    AtStart,
}

fn ordertrace_tracer(records: Records) -> OrderTracer {
    let b = OrderTracer::builder()
        .without_env()
        .service_name("bench")
        .discard()
        // Large enough that a 1-2 s measurement never fills it: drops would flatter the figure.
        .max_queue_size(1 << 20);
    let b = match records {
        Records::Default => b,
        Records::Off => b.start_records(false).heartbeat_interval(None),
        Records::AtStart => b.start_record_after(Duration::ZERO),
    };
    b.build().expect("tracer")
}

fn stage(c: &mut Criterion) {
    let mut group = c.benchmark_group("stage_start_end_4_attributes");
    group.measurement_time(Duration::from_secs(4));

    let provider = SdkTracerProvider::builder()
        .with_span_processor(
            BatchSpanProcessor::builder(DiscardExporter)
                .with_batch_config(
                    opentelemetry_sdk::trace::BatchConfigBuilder::default()
                        .with_max_queue_size(1 << 20)
                        .build(),
                )
                .build(),
        )
        .build();
    let raw = provider.tracer("bench");
    group.bench_function("otel_sdk_span", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            for _ in 0..iters {
                let mut span = raw
                    .span_builder("order_confirmed")
                    .with_kind(SpanKind::Internal)
                    // Owned values, as a service has them: the ids come from the request.
                    .with_attributes([
                        KeyValue::new("order.id", black_box("ORD-12345").to_string()),
                        KeyValue::new("user.id", black_box(USER).to_string()),
                        KeyValue::new("order.event", "order_confirmed"),
                        KeyValue::new("order.stage", 3_i64),
                    ])
                    .start(&raw);
                span.end();
                black_box(&span);
            }
            let elapsed = started.elapsed();
            // Drain, untimed, as ordertrace does below.
            let _ = provider.force_flush();
            elapsed
        })
    });

    let tracers = [
        ("ordertrace_stage", ordertrace_tracer(Records::Default)),
        (
            "ordertrace_stage_records_off",
            ordertrace_tracer(Records::Off),
        ),
        (
            "ordertrace_stage_start_record_at_start",
            ordertrace_tracer(Records::AtStart),
        ),
    ];
    for &(name, ref t) in &tracers {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let started = Instant::now();
                for _ in 0..iters {
                    let s = t
                        .stage(OrderEvent::OrderConfirmed, "ORD-12345")
                        .user_id(USER)
                        .start()
                        .expect("stage");
                    s.end();
                }
                let elapsed = started.elapsed();
                if let Err(e) = t.flush(Duration::from_secs(60)) {
                    eprintln!("{name}: draining between batches failed: {e}");
                }
                elapsed
            })
        });
    }
    group.finish();
    for &(name, ref t) in &tracers {
        let c = t.counters();
        if c.spans_dropped > 0 {
            eprintln!(
                "WARNING {name}: {} span(s) dropped during the run; its figure is not comparable ({c:?})",
                c.spans_dropped
            );
        }
    }
    let _ = provider.shutdown();
}

criterion_group!(benches, stage);
criterion_main!(benches);
