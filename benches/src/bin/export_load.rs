//! Export under load, into a real OTLP receiver (Jaeger): stages at a fixed rate for a fixed
//! time from one process, printing every second what the pipeline did, and at the end the
//! caller's latency per stage (p50, p99, max), the counters and the peak RSS.
//!
//! `benches/run-export-load` drives it: a sustained run per rate, and a run during which
//! Jaeger is stopped and started again.
//!
//! ```text
//! export_load --endpoint http://127.0.0.1:4318/v1/traces --rate 5000 --seconds 60
//! ```

use clap::Parser;
use ordertrace::{OrderEvent, OrderTracer, OtlpProtocol};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// OTLP endpoint (HTTP: full URL with /v1/traces; gRPC: http://host:4317).
    #[arg(long, default_value = "http://127.0.0.1:4318/v1/traces")]
    endpoint: String,
    /// `http` or `grpc`.
    #[arg(long, default_value = "http")]
    protocol: String,
    /// Stages per second (each stage is one span; start records are off).
    #[arg(long, default_value_t = 5_000)]
    rate: u64,
    /// Duration of the run.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Export start records too (two spans per stage).
    #[arg(long)]
    start_records: bool,
    /// Discard instead of exporting (OTEL_TRACES_EXPORTER=none): the caller's cost without
    /// any receiver, for comparison.
    #[arg(long)]
    discard: bool,
    /// Wait for each stage's slot by sleeping instead of spinning. Sleeping lets the core go
    /// cold between stages, so each stage then pays cache and scheduler misses that belong to
    /// the harness, not the library; spinning (default) keeps the caller's core busy.
    #[arg(long)]
    sleep_pacing: bool,
    /// Make each stage's span with the raw OpenTelemetry SDK (batch processor, discarding
    /// exporter) instead of ordertrace: the same harness's figure for the SDK alone.
    #[arg(long)]
    raw_sdk: bool,
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at]
}

fn main() {
    let args = Args::parse();
    let protocol = match args.protocol.as_str() {
        "http" => OtlpProtocol::HttpProtobuf,
        "grpc" => OtlpProtocol::Grpc,
        other => {
            eprintln!("export_load: --protocol must be http or grpc, not {other:?}");
            std::process::exit(2);
        }
    };
    if args.rate == 0 || args.seconds == 0 {
        eprintln!("export_load: --rate and --seconds must be positive");
        std::process::exit(2);
    }
    // Default batch settings: the figure is what a service gets out of the box.
    let mut builder = OrderTracer::builder()
        .without_env()
        .service_name("export-load")
        .otlp(args.endpoint.clone(), protocol)
        .start_records(args.start_records)
        .heartbeat_interval(None);
    if args.discard {
        builder = builder.discard();
    }
    let tracer = match builder.build() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("export_load: {e}");
            std::process::exit(1);
        }
    };
    let raw_provider = args.raw_sdk.then(|| {
        opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_span_processor(
                opentelemetry_sdk::trace::BatchSpanProcessor::builder(
                    ordertrace_benches::DiscardExporter,
                )
                .build(),
            )
            .build()
    });
    let raw = raw_provider.as_ref().map(|p| {
        use opentelemetry::trace::TracerProvider as _;
        p.tracer("export-load")
    });
    let total = args.rate * args.seconds;
    let interval = Duration::from_nanos(1_000_000_000 / args.rate);
    let mut latencies: Vec<u32> = Vec::with_capacity(total as usize);
    let began = Instant::now();
    let mut next_report = Duration::from_secs(1);
    println!("second,stages,exported,dropped,failed_spans,failed_exports,queue_depth,peak_rss_kib");
    for i in 0..total {
        // Open loop: each stage has its slot; a late caller catches up, it does not slow down.
        let due = interval * i as u32;
        if args.sleep_pacing {
            let elapsed = began.elapsed();
            if due > elapsed {
                std::thread::sleep(due - elapsed);
            }
        } else {
            while began.elapsed() < due {
                std::hint::spin_loop();
            }
        }
        let order = format!("ORD-{}", i / 8);
        if let Some(raw) = &raw {
            use opentelemetry::trace::{Span as _, Tracer as _};
            let t0 = Instant::now();
            let mut span = raw
                .span_builder(OrderEvent::ALL[(i % 8) as usize].name())
                .with_attributes([
                    opentelemetry::KeyValue::new("order.id", order.clone()),
                    opentelemetry::KeyValue::new("user.id", "1b4e28ba-2fa1-11d2-883f-0016d3cca427"),
                    opentelemetry::KeyValue::new("order.stage", (i % 8) as i64),
                    opentelemetry::KeyValue::new("bench.seq", i as i64),
                ])
                .start(raw);
            span.end();
            latencies.push(t0.elapsed().as_nanos().min(u32::MAX as u128) as u32);
            continue;
        }
        let t0 = Instant::now();
        let stage = tracer
            .stage(OrderEvent::ALL[(i % 8) as usize], &order)
            .user_id("1b4e28ba-2fa1-11d2-883f-0016d3cca427")
            .attribute("bench.seq", i as i64)
            .start();
        if let Ok(stage) = stage {
            stage.end();
        }
        latencies.push(t0.elapsed().as_nanos().min(u32::MAX as u128) as u32);
        if began.elapsed() >= next_report {
            let c = tracer.counters();
            println!(
                "{},{},{},{},{},{},{},{}",
                next_report.as_secs(),
                i + 1,
                c.spans_exported,
                c.spans_dropped,
                c.spans_failed,
                c.failed_exports,
                c.queue_depth,
                peak_rss_kib()
            );
            next_report += Duration::from_secs(1);
        }
    }
    let produced_in = began.elapsed();
    let flushed = tracer.flush(Duration::from_secs(30));
    let c = tracer.counters();
    latencies.sort_unstable();
    println!(
        "# stages={} in {:.1}s ({:.0}/s) exported={} dropped={} failed_spans={} failed_exports={} flush={} \
         caller_ns p50={} p99={} p999={} max={} peak_rss_kib={}",
        total,
        produced_in.as_secs_f64(),
        total as f64 / produced_in.as_secs_f64(),
        c.spans_exported,
        c.spans_dropped,
        c.spans_failed,
        c.failed_exports,
        if flushed.is_ok() { "ok" } else { "timeout" },
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 0.999),
        latencies.last().copied().unwrap_or(0),
        peak_rss_kib()
    );
    let _ = tracer.shutdown(Duration::from_secs(10));
}
