//! Inject and extract of traceparent + baggage, over an HTTP header map and over RabbitMQ-style
//! byte headers.

use criterion::{Criterion, criterion_group, criterion_main};
use ordertrace::propagation::{self, TraceHeaders};
use std::collections::HashMap;
use std::hint::black_box;

fn incoming() -> HashMap<String, String> {
    let mut h = HashMap::new();
    h.insert(
        "traceparent".to_string(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string(),
    );
    h.insert(
        "baggage".to_string(),
        "order.id=ORD-12345,user.id=1b4e28ba-2fa1-11d2-883f-0016d3cca427".to_string(),
    );
    h
}

fn propagation_bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("propagation");
    let strings = incoming();
    group.bench_function("extract_string_map", |b| {
        b.iter(|| black_box(propagation::extract(black_box(&strings))))
    });
    let bytes: HashMap<String, Vec<u8>> = strings
        .iter()
        .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
        .collect();
    group.bench_function("extract_rabbitmq_bytes", |b| {
        b.iter(|| black_box(propagation::extract(black_box(&bytes))))
    });
    let headers: TraceHeaders = propagation::extract(&strings);
    group.bench_function("inject_http_header_map", |b| {
        b.iter(|| {
            let mut map = http::HeaderMap::new();
            propagation::inject(black_box(&headers), &mut map);
            black_box(map)
        })
    });
    group.bench_function("inject_rabbitmq_bytes", |b| {
        b.iter(|| {
            let mut map: HashMap<String, Vec<u8>> = HashMap::new();
            propagation::inject(black_box(&headers), &mut map);
            black_box(map)
        })
    });
    group.finish();
}

criterion_group!(benches, propagation_bench);
criterion_main!(benches);
