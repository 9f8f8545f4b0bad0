//! What parsing costs as incoming headers grow: extraction of `baggage`, `tracestate` and
//! `traceparent` values of 1 KiB, 64 KiB and 1 MiB, of 10,000 `baggage` header lines, and of
//! a carrier holding 10,000 unrelated headers. The cost must stay linear in the input with a
//! small constant (the limits are checked before anything grows with the input).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ordertrace::propagation;
use std::hint::black_box;
use std::time::Duration;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const SIZES: [(&str, usize); 3] = [("1KiB", 1 << 10), ("64KiB", 64 << 10), ("1MiB", 1 << 20)];

/// Valid-looking members (`k123=value`) repeated up to `size` bytes.
fn members(size: usize) -> String {
    let mut s = String::with_capacity(size + 32);
    let mut i = 0;
    while s.len() < size {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!("k{i}=v{i}"));
        i += 1;
    }
    s.truncate(size);
    s
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("hostile_input");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));
    for (label, size) in SIZES {
        group.throughput(Throughput::Bytes(size as u64));
        let carrier = vec![("baggage".to_string(), members(size))];
        group.bench_with_input(BenchmarkId::new("baggage", label), &carrier, |b, h| {
            b.iter(|| black_box(propagation::extract(black_box(h))))
        });
        let carrier = vec![
            ("traceparent".to_string(), TRACEPARENT.to_string()),
            ("tracestate".to_string(), members(size)),
        ];
        group.bench_with_input(BenchmarkId::new("tracestate", label), &carrier, |b, h| {
            b.iter(|| black_box(propagation::extract(black_box(h))))
        });
        let long_future = format!("cc{}-{}", &TRACEPARENT[2..], "x".repeat(size));
        let carrier = vec![("traceparent".to_string(), long_future)];
        group.bench_with_input(BenchmarkId::new("traceparent", label), &carrier, |b, h| {
            b.iter(|| black_box(propagation::extract(black_box(h))))
        });
    }
    let lines: Vec<(String, String)> = (0..10_000)
        .map(|i| ("baggage".to_string(), format!("k{i}=v{i}")))
        .collect();
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_with_input(
        BenchmarkId::new("baggage", "10000_lines"),
        &lines,
        |b, h| b.iter(|| black_box(propagation::extract(black_box(h)))),
    );
    let mut unrelated: Vec<(String, String)> = (0..10_000)
        .map(|i| (format!("x-header-{i}"), format!("value {i}")))
        .collect();
    unrelated.push(("traceparent".into(), TRACEPARENT.into()));
    unrelated.push(("baggage".into(), "order.id=ORD-1".into()));
    group.throughput(Throughput::Elements(unrelated.len() as u64));
    group.bench_with_input(
        BenchmarkId::new("unrelated_headers", "10000_lines"),
        &unrelated,
        |b, h| b.iter(|| black_box(propagation::extract(black_box(h)))),
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
