//! How far one watch goes: ingest rate from the span file and from a real Jaeger, memory with
//! many orders tracked, and the time to survey them all (what every /metrics scrape costs).
//! Not a timed test: figures go to BENCHMARKS.md with the command.
//!
//! ```text
//! cargo bench -p ordertrace-watch --bench watch_scale -- file 200000
//! cargo bench -p ordertrace-watch --bench watch_scale -- memory 1000000
//! cargo bench -p ordertrace-watch --bench watch_scale -- jaeger 20000 http://127.0.0.1:16686 http://127.0.0.1:4318
//! ```

use ordertrace::OrderEvent;
use ordertrace::otlp_json::{RecordedSpan, SpanStatus};
use ordertrace_watch::file_source::FileFollower;
use ordertrace_watch::jaeger_source::{JaegerPoller, now_ms};
use ordertrace_watch::{Tracker, WatchConfig};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SPANS_PER_LINE: usize = 64;

fn services(e: OrderEvent) -> &'static str {
    e.component().service_name()
}

/// The spans of order `n`: all eight stages, one order in 20 stuck in price_calculated.
fn order_spans(
    n: usize,
    base_ms: u64,
) -> Vec<(OrderEvent, String, String, u64, u64, Option<String>)> {
    let trace = format!("{:032x}", 0x1000_0000_0000u128 + n as u128);
    let t0 = base_ms + (n as u64 % 600_000);
    let mut out = Vec::new();
    for (i, e) in OrderEvent::ALL.iter().enumerate() {
        let span = format!("{:016x}", ((n as u64) << 4) + i as u64 + 1);
        if n % 20 == 0 && *e == OrderEvent::PriceCalculated {
            // Open: a start record instead of the stage span.
            let rec = format!("{:016x}", ((n as u64) << 4) + 15);
            out.push((
                *e,
                trace.clone(),
                rec,
                t0 + i as u64 * 10,
                t0 + i as u64 * 10,
                Some(span),
            ));
            break;
        }
        out.push((
            *e,
            trace.clone(),
            span,
            t0 + i as u64 * 10,
            t0 + i as u64 * 10 + 5,
            None,
        ));
    }
    out
}

fn kv(k: &str, v: &str) -> Value {
    json!({"key": k, "value": {"stringValue": v}})
}

fn otlp_doc(orders: std::ops::Range<usize>, base_ms: u64) -> Vec<Value> {
    // One resourceSpans per service, as an exporter sends them.
    let mut by_service: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for n in orders {
        let id = format!("ORD-B{n:07}");
        for (e, trace, span, start, end, record) in order_spans(n, base_ms) {
            let mut attrs = vec![kv("order.id", &id), kv("order.event", e.name())];
            if let Some(stage) = &record {
                attrs.push(kv("ordertrace.record", "stage_start"));
                attrs.push(kv("ordertrace.stage_span_id", stage));
            }
            by_service.entry(services(e)).or_default().push(json!({
                "traceId": trace, "spanId": span, "name": e.name(),
                "startTimeUnixNano": (start * 1_000_000).to_string(),
                "endTimeUnixNano": (end * 1_000_000).to_string(),
                "attributes": attrs,
            }));
        }
    }
    by_service
        .into_iter()
        .map(|(svc, spans)| {
            json!({"resource": {"attributes": [kv("service.name", svc)]}, "scopeSpans": [{"spans": spans}]})
        })
        .collect()
}

/// CPU time of this process, seconds (the machine is shared: wall time alone says little).
fn cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid out-pointer to a timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A survey of every order (what a /metrics scrape costs), timed twice: the first after the
/// bulk ingest, the second as a later scrape.
fn survey_time(t: &mut Tracker, cfg: &WatchConfig) -> (Duration, u64) {
    let start = Instant::now();
    let s = t.survey(now_ms(), cfg, false, |s| s.is_alerting());
    let first = start.elapsed();
    let start = Instant::now();
    let again = t.survey(now_ms(), cfg, false, |s| s.is_alerting());
    let second = start.elapsed();
    assert_eq!(s.counts, again.counts, "two surveys in a row disagree");
    println!(
        "survey: {} orders, {} alerting; first {:.1} ms, next {:.1} ms",
        t.len(),
        s.alerting(),
        first.as_secs_f64() * 1000.0,
        second.as_secs_f64() * 1000.0
    );
    (first, s.alerting())
}

/// CPU seconds used so far by process `pid` (utime + stime from /proc), if readable.
fn process_cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks / hz)
}

fn file(orders: usize) {
    let cfg = WatchConfig::default();
    let base = now_ms() - 900_000;
    let path = std::env::temp_dir().join(format!(
        "ordertrace-watch-bench-{}.jsonl",
        std::process::id()
    ));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create bench file"));
    let per_line = SPANS_PER_LINE / 8;
    let mut n = 0;
    while n < orders {
        let end = (n + per_line).min(orders);
        writeln!(f, "{}", json!({"resourceSpans": otlp_doc(n..end, base)})).expect("write");
        n = end;
    }
    f.flush().expect("flush");
    drop(f);
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let mut t = Tracker::new();
    let start = Instant::now();
    let cpu = cpu_seconds();
    let spans = FileFollower::new(&path)
        .read_new(&mut t, now_ms(), &cfg)
        .expect("read");
    let took = start.elapsed();
    let cpu = cpu_seconds() - cpu;
    std::fs::remove_file(&path).ok();
    let (survey, alerting) = survey_time(&mut t, &cfg);
    println!(
        "file: {orders} orders, {spans} spans ({:.1} MiB) ingested in {:.2}s wall = {:.0} spans/s, {:.2}s CPU = {:.0} spans per CPU-second; {} tracked; survey of all orders {:.0} ms ({alerting} alerting)",
        bytes as f64 / 1048576.0,
        took.as_secs_f64(),
        spans as f64 / took.as_secs_f64(),
        cpu,
        spans as f64 / cpu,
        t.len(),
        survey.as_secs_f64() * 1000.0
    );
}

fn memory(orders: usize) {
    let cfg = WatchConfig::default();
    let base = now_ms() - 900_000;
    let before = rss_mib();
    let mut t = Tracker::new();
    let start = Instant::now();
    let mut spans = 0u64;
    for n in 0..orders {
        let id = format!("ORD-B{n:07}");
        for (e, trace, span, s, end, record) in order_spans(n, base) {
            let mut attributes = BTreeMap::new();
            attributes.insert("order.id".to_string(), id.clone());
            attributes.insert("order.event".to_string(), e.name().to_string());
            if let Some(stage) = record {
                attributes.insert("ordertrace.record".to_string(), "stage_start".to_string());
                attributes.insert("ordertrace.stage_span_id".to_string(), stage);
            }
            let rs = RecordedSpan {
                trace_id: trace,
                span_id: span,
                parent_span_id: None,
                name: e.name().to_string(),
                service_name: services(e).to_string(),
                kind: 1,
                start_unix_nanos: s * 1_000_000,
                end_unix_nanos: end * 1_000_000,
                attributes,
                events: vec![],
                links: vec![],
                status: SpanStatus::Unset,
                status_message: String::new(),
            };
            t.ingest(&rs, now_ms(), &cfg);
            spans += 1;
        }
    }
    let took = start.elapsed();
    let after = rss_mib();
    let (survey, alerting) = survey_time(&mut t, &cfg);
    println!(
        "memory: {} orders tracked ({spans} spans applied in {:.1}s); RSS {:.0} MiB before, {:.0} MiB after = {:.0} bytes per order; survey of all orders {:.0} ms ({alerting} alerting)",
        t.len(),
        took.as_secs_f64(),
        before,
        after,
        (after - before) * 1048576.0 / t.len().max(1) as f64,
        survey.as_secs_f64() * 1000.0
    );
}

fn jaeger(orders: usize, query: &str, otlp: &str) {
    let cfg = WatchConfig::default();
    let base = now_ms() - 300_000;
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let mut n = 0;
    while n < orders {
        let end = (n + 200).min(orders);
        let r = client
            .post(format!("{}/v1/traces", otlp.trim_end_matches('/')))
            .header("content-type", "application/json")
            .body(json!({"resourceSpans": otlp_doc(n..end, base)}).to_string())
            .send()
            .expect("OTLP export to Jaeger");
        assert!(
            r.status().is_success(),
            "Jaeger OTLP answered {}",
            r.status()
        );
        n = end;
    }
    std::thread::sleep(Duration::from_secs(2));
    let tracker = Mutex::new(Tracker::new());
    let mut poller = JaegerPoller::new(query, cfg.request_timeout).expect("poller");
    // ORDERTRACE_JAEGER_PID: also report the CPU Jaeger spent answering.
    let jaeger_pid = std::env::var("ORDERTRACE_JAEGER_PID").ok();
    let jaeger_cpu = jaeger_pid.as_deref().and_then(process_cpu_seconds);
    let start = Instant::now();
    let cpu = cpu_seconds();
    let r = poller.poll(&tracker, now_ms(), &cfg).expect("poll");
    let took = start.elapsed();
    let cpu = cpu_seconds() - cpu;
    if let (Some(pid), Some(before)) = (jaeger_pid.as_deref(), jaeger_cpu)
        && let Some(after) = process_cpu_seconds(pid)
    {
        println!(
            "jaeger process: {:.2}s CPU answering = {:.0} spans per Jaeger CPU-second; watch + Jaeger {:.0} spans per CPU-second",
            after - before,
            r.spans as f64 / (after - before),
            r.spans as f64 / (after - before + cpu)
        );
    }
    let t = tracker.lock().expect("lock");
    println!(
        "jaeger: {orders} orders exported; first poll (look-back backfill, {:?}) read {} spans of {} traces ({:.1} MiB; {} spans of traces already read and {} of other shards left unparsed) in {} requests in {:.2}s wall = {:.0} spans/s ({:.2}s CPU in the watch = {:.0} spans per CPU-second); {} orders tracked",
        poller.mode(),
        r.spans,
        r.traces,
        r.bytes as f64 / 1048576.0,
        r.already_read,
        r.other_shard,
        r.requests,
        took.as_secs_f64(),
        r.spans as f64 / took.as_secs_f64(),
        cpu,
        r.spans as f64 / cpu,
        t.len()
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let n = |i: usize, d: usize| args.get(i).and_then(|v| v.parse().ok()).unwrap_or(d);
    match args.first().map(String::as_str) {
        Some("file") => file(n(1, 200_000)),
        Some("memory") => memory(n(1, 1_000_000)),
        Some("jaeger") => jaeger(
            n(1, 20_000),
            args.get(2).map_or("http://127.0.0.1:16686", String::as_str),
            args.get(3).map_or("http://127.0.0.1:4318", String::as_str),
        ),
        _ => {
            file(100_000);
            memory(1_000_000);
        }
    }
}
