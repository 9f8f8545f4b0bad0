//! Export under load, into a real OTLP receiver (Jaeger): stages at a fixed rate for a fixed
//! time from one process, printing every second what the pipeline did, and at the end the
//! caller's latency per stage (p50, p99, max), the counters and the peak RSS.
//!
//! `benches/run-export-load` drives it: a sustained run per rate, and a run during which
//! Jaeger is stopped and started again (with and without the disk spool, and with a `kill -9`
//! of this process during the outage); `scripts/test-spool` runs a short outage and kill test.
//!
//! Every stage carries `bench.run` (the run id) and `bench.seq` (its position, from
//! `--first-seq`), so `spool_check` can count through Jaeger's api/v3 that each one arrived
//! exactly once. Orders hold `--stages-per-order` stages each (one trace per order).
//!
//! ```text
//! export_load --endpoint http://127.0.0.1:4318/v1/traces --rate 5000 --seconds 60
//! export_load --rate 20000 --seconds 120 --spool-dir /tmp/spool --outage 30:90 --run r1
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
    /// Spool to this folder while the endpoint is down (off by default).
    #[arg(long)]
    spool_dir: Option<std::path::PathBuf>,
    /// Bound of the spool, bytes (default: the library's).
    #[arg(long)]
    spool_max_bytes: Option<u64>,
    /// Run id, the `bench.run` attribute and the order ids' prefix.
    #[arg(long, default_value = "load")]
    run: String,
    /// `bench.seq` of the first stage (a restarted process continues the sequence).
    #[arg(long, default_value_t = 0)]
    first_seq: u64,
    /// Stages per order (each order is one trace).
    #[arg(long, default_value_t = 8)]
    stages_per_order: u64,
    /// Milliseconds between progress lines.
    #[arg(long, default_value_t = 1000)]
    progress_ms: u64,
    /// `FROM:TO` seconds of the run during which the endpoint is down (set by the script that
    /// stops it): caller latency is reported separately for stages in and out of it.
    #[arg(long)]
    outage: Option<String>,
    /// In-memory queue bound (`OTEL_BSP_MAX_QUEUE_SIZE`); default: the library's (2048; 65536 with a spool).
    #[arg(long)]
    max_queue_size: Option<usize>,
    /// Bound on the final flush, seconds (replaying a long outage takes a while).
    #[arg(long, default_value_t = 30)]
    flush_secs: u64,
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

/// The event of a stage: an order opens with `order_submitted` (its root span, whose id is
/// derived from the order id, so it must occur once per order); the rest cycle through the
/// other seven events.
fn event_index(seq: u64, stages_per_order: u64) -> usize {
    match seq % stages_per_order {
        0 => 0,
        k => (1 + (k - 1) % 7) as usize,
    }
}

fn parse_outage(s: &str) -> Result<(Duration, Duration), String> {
    let (from, to) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?} is not FROM:TO (seconds)"))?;
    let secs = |v: &str| {
        v.trim()
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| format!("{v:?} is not a whole number of seconds"))
    };
    let (from, to) = (secs(from)?, secs(to)?);
    if from >= to {
        return Err(format!("{s:?}: FROM must be before TO"));
    }
    Ok((from, to))
}

/// One CSV line of counters; flushed at once, so a `kill -9` leaves the last one readable.
fn progress(tracer: &OrderTracer, at: Duration, stages: u64) {
    use std::io::Write as _;
    let c = tracer.counters();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{:.1},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
        at.as_secs_f64(),
        stages,
        c.spans_exported,
        c.spans_dropped,
        c.spans_failed,
        c.failed_exports,
        c.queue_depth,
        peak_rss_kib(),
        c.spans_spooled,
        c.spans_replayed,
        c.spool_bytes,
        c.spool_spans,
        c.spool_oldest_age_ms,
        c.spans_dropped_queue_full,
        c.spans_dropped_spool_full
            + c.spans_dropped_spool_expired
            + c.spans_dropped_spool_corrupt
            + c.spans_dropped_spool_write_failed
    );
    let _ = out.flush();
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
    if args.rate == 0 || args.seconds == 0 || args.stages_per_order == 0 || args.progress_ms == 0 {
        eprintln!(
            "export_load: --rate, --seconds, --stages-per-order and --progress-ms must be positive"
        );
        std::process::exit(2);
    }
    let outage = match args.outage.as_deref().map(parse_outage) {
        None => None,
        Some(Ok(w)) => Some(w),
        Some(Err(e)) => {
            eprintln!("export_load: --outage {e}");
            std::process::exit(2);
        }
    };
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
    if let Some(dir) = &args.spool_dir {
        builder = builder.spool_dir(dir);
        if let Some(bytes) = args.spool_max_bytes {
            builder = builder.spool_max_bytes(bytes);
        }
    }
    // After the spool: an explicit size wins over the spool's larger default.
    if let Some(size) = args.max_queue_size {
        builder = builder.max_queue_size(size);
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
    let mut outage_latencies: Vec<u32> = Vec::new();
    let began = Instant::now();
    let report_every = Duration::from_millis(args.progress_ms);
    let mut next_report = report_every;
    let c = tracer.counters();
    println!(
        "# start run={} first_seq={} spool_spans_found={} spool_bytes_found={}",
        args.run, args.first_seq, c.spool_spans, c.spool_bytes
    );
    println!(
        "second,stages,exported,dropped,failed_spans,failed_exports,queue_depth,peak_rss_kib,\
         spooled,replayed,spool_bytes,spool_spans,spool_oldest_age_ms,dropped_queue_full,dropped_spool"
    );
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
        let seq = args.first_seq + i;
        let order = format!("ORD-{}-{}", args.run, seq / args.stages_per_order);
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
            .stage(
                OrderEvent::ALL[event_index(seq, args.stages_per_order)],
                &order,
            )
            .user_id("1b4e28ba-2fa1-11d2-883f-0016d3cca427")
            .attribute("bench.seq", seq as i64)
            .attribute("bench.run", args.run.clone())
            .start();
        if let Ok(stage) = stage {
            stage.end();
        }
        let took = t0.elapsed().as_nanos().min(u32::MAX as u128) as u32;
        let in_outage = outage.is_some_and(|(from, to)| due >= from && due < to);
        if in_outage {
            outage_latencies.push(took);
        } else {
            latencies.push(took);
        }
        if began.elapsed() >= next_report {
            progress(&tracer, next_report, i + 1);
            next_report += report_every;
        }
    }
    progress(&tracer, began.elapsed(), total);
    let produced_in = began.elapsed();
    let flush_began = Instant::now();
    let flushed = tracer.flush(Duration::from_secs(args.flush_secs));
    let flush_took = flush_began.elapsed();
    let c = tracer.counters();
    latencies.sort_unstable();
    outage_latencies.sort_unstable();
    if outage.is_some() {
        println!(
            "# outage caller_ns p50={} p99={} p999={} max={} (stages={}); outside it p50={} p99={} p999={} (stages={})",
            percentile(&outage_latencies, 0.50),
            percentile(&outage_latencies, 0.99),
            percentile(&outage_latencies, 0.999),
            outage_latencies.last().copied().unwrap_or(0),
            outage_latencies.len(),
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99),
            percentile(&latencies, 0.999),
            latencies.len()
        );
        latencies.extend_from_slice(&outage_latencies);
        latencies.sort_unstable();
    }
    if args.spool_dir.is_some() {
        println!(
            "# spool spooled={} replayed={} dropped_full={} dropped_expired={} dropped_corrupt={} \
             corrupt_records={} write_errors={} left_spans={} left_bytes={} final_flush_s={:.1}",
            c.spans_spooled,
            c.spans_replayed,
            c.spans_dropped_spool_full,
            c.spans_dropped_spool_expired,
            c.spans_dropped_spool_corrupt,
            c.spool_corrupt_records,
            c.spool_write_errors,
            c.spool_spans,
            c.spool_bytes,
            flush_took.as_secs_f64()
        );
    }
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
