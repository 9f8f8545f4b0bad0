//! Stages per second from several threads at once, export discarded: how far the shared parts
//! of a tracer (open-stage registry, export queue) let threads run in parallel.
//!
//! ```text
//! OTEL_TRACES_EXPORTER=none threads --threads 8 --stages 2000000 [--records default|off|at-start]
//! ```
//! Each thread runs `--stages / --threads` stages (start + end, with a user id). The tracer is
//! built from the environment (so `OTEL_TRACES_EXPORTER=none` discards) with a queue sized by
//! `--queue` (default: the library's default). Prints stages/s over the wall time of the
//! stages and the pipeline's counters; a drop is reported, never hidden, and the exit code is 1
//! when any span was dropped.

use clap::Parser;
use ordertrace::{OrderEvent, OrderTracer};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Threads making stages at the same time.
    #[arg(long, default_value_t = 8)]
    threads: usize,
    /// Stages in all (split evenly over the threads).
    #[arg(long, default_value_t = 2_000_000)]
    stages: u64,
    /// Start records: `default` (the library's: only for a stage still open after the
    /// threshold, so one span per quick stage), `off`, or `at-start` (threshold zero: two
    /// spans per stage).
    #[arg(long, value_enum, default_value_t = Records::Default)]
    records: Records,
    /// In-memory export queue size; unset keeps the library's default.
    #[arg(long)]
    queue: Option<usize>,
    /// Instead of ordertrace, the same span (4 attributes, ids as owned strings) made with
    /// the OpenTelemetry Rust SDK and its BatchSpanProcessor (queue `--queue`, default 2,048)
    /// with an exporter that discards: the like-for-like side of a CPU-time comparison
    /// (`perf stat -e task-clock`). The SDK does not count its drops: with `--queue` at least
    /// `--stages` none can happen.
    #[arg(long)]
    raw_sdk: bool,
}

/// The `--raw-sdk` run: stages/s of plain SDK spans from the threads.
fn raw_sdk(args: &Args) {
    use opentelemetry::KeyValue;
    use opentelemetry::trace::{Span as _, SpanKind, Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
    let provider = SdkTracerProvider::builder()
        .with_span_processor(
            BatchSpanProcessor::builder(ordertrace_benches::DiscardExporter)
                .with_batch_config(
                    BatchConfigBuilder::default()
                        .with_max_queue_size(args.queue.unwrap_or(2048))
                        .build(),
                )
                .build(),
        )
        .build();
    let per_thread = args.stages / args.threads as u64;
    let barrier = Arc::new(Barrier::new(args.threads + 1));
    let handles: Vec<_> = (0..args.threads)
        .map(|t| {
            let tracer = provider.tracer("bench-threads");
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let orders: Vec<String> = (0..16).map(|i| format!("ORD-{t}-{i}")).collect();
                barrier.wait();
                for n in 0..per_thread {
                    let mut span = tracer
                        .span_builder("order_confirmed")
                        .with_kind(SpanKind::Internal)
                        .with_attributes([
                            KeyValue::new("order.id", orders[(n % 16) as usize].clone()),
                            KeyValue::new("user.id", USER.to_string()),
                            KeyValue::new("order.event", "order_confirmed"),
                            KeyValue::new("order.stage", 3_i64),
                        ])
                        .start(&tracer);
                    span.end();
                }
            })
        })
        .collect();
    barrier.wait();
    let started = Instant::now();
    for h in handles {
        let _ = h.join();
    }
    let elapsed = started.elapsed();
    let total = per_thread * args.threads as u64;
    let _ = provider.force_flush();
    println!(
        "threads={} stages={} raw_sdk elapsed={:.3}s stages_per_s={:.0}",
        args.threads,
        total,
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
    );
    let _ = provider.shutdown();
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Records {
    Default,
    Off,
    AtStart,
}

const USER: &str = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";

fn main() {
    let args = Args::parse();
    if args.threads == 0 || args.stages == 0 {
        eprintln!("threads: --threads and --stages must be at least 1");
        std::process::exit(2);
    }
    if args.raw_sdk {
        raw_sdk(&args);
        return;
    }
    let mut builder = OrderTracer::builder().service_name("bench-threads");
    builder = match args.records {
        Records::Default => builder,
        Records::Off => builder.start_records(false),
        Records::AtStart => builder.start_record_after(Duration::ZERO),
    };
    if let Some(q) = args.queue {
        builder = builder.max_queue_size(q);
    }
    let tracer = match builder.build() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("threads: building the tracer failed: {e}");
            std::process::exit(2);
        }
    };
    let per_thread = args.stages / args.threads as u64;
    let barrier = Arc::new(Barrier::new(args.threads + 1));
    let handles: Vec<_> = (0..args.threads)
        .map(|t| {
            let tracer = tracer.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                // A handful of orders per thread, as a service sees several orders at once.
                let orders: Vec<String> = (0..16).map(|i| format!("ORD-{t}-{i}")).collect();
                barrier.wait();
                let mut errors = 0u64;
                for n in 0..per_thread {
                    match tracer
                        .stage(OrderEvent::OrderConfirmed, &orders[(n % 16) as usize])
                        .user_id(USER)
                        .start()
                    {
                        Ok(s) => s.end(),
                        Err(_) => errors += 1,
                    }
                }
                errors
            })
        })
        .collect();
    barrier.wait();
    let started = Instant::now();
    let errors: u64 = handles
        .into_iter()
        .map(|h| h.join().unwrap_or(u64::MAX))
        .sum();
    let elapsed = started.elapsed();
    let total = per_thread * args.threads as u64;
    let _ = tracer.flush(Duration::from_secs(30));
    let c = tracer.counters();
    println!(
        "threads={} stages={} records={:?} elapsed={:.3}s stages_per_s={:.0} errors={} spans_started={} spans_exported={} spans_dropped={}",
        args.threads,
        total,
        args.records,
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        errors,
        c.spans_started,
        c.spans_exported,
        c.spans_dropped
    );
    let _ = tracer.shutdown(Duration::from_secs(10));
    if c.spans_dropped > 0 || errors > 0 {
        eprintln!(
            "threads: {} span(s) dropped, {} stage error(s): the figure is not drop-free",
            c.spans_dropped, errors
        );
        std::process::exit(1);
    }
}
