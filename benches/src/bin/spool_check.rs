//! Counts, through Jaeger's api/v3, the spans `export_load` emitted for one run: every
//! `bench.seq` in `--from..--to` must be there exactly once, with a span id no other span has.
//! Fetches each order's trace (`GET /api/v3/traces/{order-derived id}`), as users read them
//! (Jaeger's adjusters applied), and with `--raw` also as stored (`raw_traces=true`), which
//! shows the copies a replay sent twice before Jaeger's deduplication.
//!
//! ```text
//! spool_check --jaeger http://127.0.0.1:16686 --run r1 --from 0 --to 600000 --stages-per-order 1000 --parallel 4
//! ```
//! Prints how long the count took and its rate, so a slow count can be narrowed (`--from`,
//! `--to`) or spread (`--parallel`).
//! Exit code 0: all there exactly once; 1: something missing or doubled; 2: bad input or
//! Jaeger unreachable.
//!
//! After a `kill -9`, the stages the process had not yet written to its spool are lost by
//! design: `--max-lost-tail N` accepts missing seqs only as one run at the end of the range,
//! at most N long (the in-memory window), and reports its length as `lost_tail`.

use clap::Parser;
use ordertrace::identity::order_trace_id;
use ordertrace::otlp_json;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

#[derive(Parser)]
struct Args {
    /// Jaeger query service.
    #[arg(long, default_value = "http://127.0.0.1:16686")]
    jaeger: String,
    /// The run id given to export_load.
    #[arg(long)]
    run: String,
    /// First `bench.seq` expected.
    #[arg(long, default_value_t = 0)]
    from: u64,
    /// One past the last `bench.seq` expected.
    #[arg(long)]
    to: u64,
    /// Stages per order, as given to export_load.
    #[arg(long, default_value_t = 8)]
    stages_per_order: u64,
    /// Also count the stored copies (`raw_traces=true`).
    #[arg(long)]
    raw: bool,
    /// Accept up to this many missing seqs, all at the end of the range (see above).
    #[arg(long)]
    max_lost_tail: Option<u64>,
    /// Missing seqs printed at most.
    #[arg(long, default_value_t = 20)]
    show: usize,
    /// Requests in flight: orders are fetched by this many threads, each taking every
    /// `parallel`-th order.
    #[arg(long, default_value_t = 4)]
    parallel: usize,
}

struct Count {
    /// Spans per seq.
    per_seq: BTreeMap<u64, u32>,
    /// Span ids seen, and how many spans carried an id seen before.
    ids: HashSet<String>,
    repeated_ids: u64,
}

/// Fetches every order of the range, `--parallel` requests at a time, and merges the counts.
fn fetch(client: &reqwest::blocking::Client, args: &Args, raw: bool) -> Result<Count, String> {
    let first_order = args.from / args.stages_per_order;
    let last_order = args.to.div_ceil(args.stages_per_order);
    let threads = args.parallel.max(1) as u64;
    let parts: Vec<Result<Count, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                scope.spawn(move || {
                    let orders = (first_order + k..last_order).step_by(threads as usize);
                    fetch_orders(client, args, raw, orders)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a fetch thread panicked".to_string()))
            })
            .collect()
    });
    let mut count = Count {
        per_seq: BTreeMap::new(),
        ids: HashSet::new(),
        repeated_ids: 0,
    };
    for part in parts {
        let part = part?;
        for (seq, n) in part.per_seq {
            *count.per_seq.entry(seq).or_default() += n;
        }
        count.repeated_ids += part.repeated_ids;
        for id in part.ids {
            if !count.ids.insert(id) {
                count.repeated_ids += 1;
            }
        }
    }
    Ok(count)
}

fn fetch_orders(
    client: &reqwest::blocking::Client,
    args: &Args,
    raw: bool,
    orders: impl Iterator<Item = u64>,
) -> Result<Count, String> {
    let mut count = Count {
        per_seq: BTreeMap::new(),
        ids: HashSet::new(),
        repeated_ids: 0,
    };
    for order in orders {
        let order_id = format!("ORD-{}-{order}", args.run);
        let url = format!(
            "{}/api/v3/traces/{}{}",
            args.jaeger.trim_end_matches('/'),
            order_trace_id(&order_id),
            if raw { "?raw_traces=true" } else { "" }
        );
        let response = client
            .get(&url)
            .send()
            .map_err(|e| format!("GET {url}: {e}"))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            continue; // the whole order is missing: counted below
        }
        if !response.status().is_success() {
            return Err(format!("GET {url}: {}", response.status()));
        }
        let text = response.text().map_err(|e| format!("GET {url}: {e}"))?;
        let spans = otlp_json::parse_document(&text, &url).map_err(|e| e.to_string())?;
        for span in spans {
            if span.attribute("bench.run") != Some(args.run.as_str()) {
                continue;
            }
            let Some(seq) = span
                .attribute("bench.seq")
                .and_then(|v| v.parse::<u64>().ok())
            else {
                continue;
            };
            *count.per_seq.entry(seq).or_default() += 1;
            if !count.ids.insert(span.span_id.clone()) {
                count.repeated_ids += 1;
            }
        }
    }
    Ok(count)
}

fn ranges(seqs: &[u64], show: usize) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < seqs.len() && out.len() < show {
        let start = seqs[i];
        let mut end = start;
        while i + 1 < seqs.len() && seqs[i + 1] == end + 1 {
            i += 1;
            end = seqs[i];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}..={end}")
        });
        i += 1;
    }
    out.join(", ")
}

fn main() {
    let args = Args::parse();
    if args.stages_per_order == 0 || args.from >= args.to {
        eprintln!("spool_check: --stages-per-order must be positive and --from below --to");
        std::process::exit(2);
    }
    let client = match reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("spool_check: HTTP client: {e}");
            std::process::exit(2);
        }
    };
    let began = std::time::Instant::now();
    let seen = match fetch(&client, &args, false) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("spool_check: {e}");
            std::process::exit(2);
        }
    };
    let count_secs = began.elapsed().as_secs_f64();
    let expected = args.to - args.from;
    let missing: Vec<u64> = (args.from..args.to)
        .filter(|s| !seen.per_seq.contains_key(s))
        .collect();
    let doubled: Vec<u64> = seen
        .per_seq
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(s, _)| *s)
        .collect();
    let outside = seen
        .per_seq
        .keys()
        .filter(|s| !(args.from..args.to).contains(*s))
        .count();
    println!(
        "run={} expected={} found={} missing={} more_than_once={} repeated_span_ids={} outside_range={} count_secs={:.1} spans_per_s={:.0} parallel={}",
        args.run,
        expected,
        expected - missing.len() as u64,
        missing.len(),
        doubled.len(),
        seen.repeated_ids,
        outside,
        count_secs,
        seen.per_seq.values().map(|n| f64::from(*n)).sum::<f64>() / count_secs.max(0.001),
        args.parallel
    );
    if !missing.is_empty() {
        println!("missing seqs: {}", ranges(&missing, args.show));
    }
    if !doubled.is_empty() {
        println!("seqs seen more than once: {}", ranges(&doubled, args.show));
    }
    if args.raw {
        match fetch(&client, &args, true) {
            Ok(raw) => {
                let stored: u64 = raw.per_seq.values().map(|n| u64::from(*n)).sum();
                println!(
                    "raw (as stored, before Jaeger's deduplication): spans={} copies_beyond_one={}",
                    stored,
                    stored - raw.per_seq.len() as u64
                );
            }
            Err(e) => {
                eprintln!("spool_check: raw count: {e}");
                std::process::exit(2);
            }
        }
    }
    let mut missing_is_failure = !missing.is_empty();
    if let Some(max) = args.max_lost_tail {
        let tail_start = args.to - missing.len() as u64;
        let is_tail = missing.iter().copied().eq(tail_start..args.to);
        println!(
            "lost_tail={} (allowed {max}; {})",
            missing.len(),
            if is_tail {
                "all at the end"
            } else {
                "NOT only at the end: gaps inside the range"
            }
        );
        missing_is_failure = !is_tail || missing.len() as u64 > max;
    }
    if missing_is_failure || !doubled.is_empty() || seen.repeated_ids > 0 {
        std::process::exit(1);
    }
}
