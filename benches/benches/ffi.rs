//! One C ABI round trip (start + end + free of a stage, marshalling strings and a handle; and
//! `ot_stage_record`, start + end in one call) versus the Rust call it wraps, on the same
//! tracer configuration (export discarded).
//! The C ABI is called through its `extern "C"` functions, as a C or P/Invoke caller does,
//! minus the dynamic-library call itself.
//!
//! Both tracers queue 1,048,576 spans and every timed batch is followed by an untimed flush,
//! as in the stage bench: a side whose queue fills drops spans, which is cheaper than
//! exporting them and would flatter it. Drops are printed at the end.

use criterion::{Criterion, criterion_group, criterion_main};
use ordertrace::{OrderEvent, OrderTracer};
use ordertrace_ffi::*;
use std::time::{Duration, Instant};

const USER: &str = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";

fn s(text: &'static str) -> OtStr {
    OtStr {
        ptr: text.as_ptr(),
        len: text.len(),
    }
}

fn ffi(c: &mut Criterion) {
    let mut group = c.benchmark_group("c_abi_stage");
    group.measurement_time(Duration::from_secs(4));

    let tracer = OrderTracer::builder()
        .without_env()
        .service_name("bench")
        .discard()
        .start_records(false)
        .heartbeat_interval(None)
        .max_queue_size(1 << 20)
        .build()
        .expect("tracer");
    group.bench_function("rust_call", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            for _ in 0..iters {
                tracer
                    .stage(OrderEvent::PriceCalculated, "ORD-12345")
                    .user_id(USER)
                    .start()
                    .expect("stage")
                    .end();
            }
            let elapsed = started.elapsed();
            // Drain, untimed, as the C ABI side does below.
            if let Err(e) = tracer.flush(Duration::from_secs(60)) {
                eprintln!("rust_call: draining between batches failed: {e}");
            }
            elapsed
        })
    });

    // The C ABI's tracer discards too (OTEL_TRACES_EXPORTER=none) and queues as much as the
    // Rust one (OTEL_BSP_MAX_QUEUE_SIZE), both read from the environment.
    // SAFETY: set before any other thread of this process reads the environment.
    unsafe {
        std::env::set_var("OTEL_TRACES_EXPORTER", "none");
        std::env::set_var("OTEL_BSP_MAX_QUEUE_SIZE", "1048576");
    }
    let config = OtTracerConfig {
        service_name: s("bench"),
        file: s(""),
        otlp_endpoint: s(""),
        otlp_protocol: OT_PROTOCOL_HTTP_PROTOBUF,
        start_records: 0,
        heartbeat_ms: 0,
        identity: OT_DEFAULT,
        read_env: 1,
        spool_dir: s(""),
        strict_ids: OT_DEFAULT,
        start_record_after_ms: -1,
    };
    let mut handle = std::ptr::null_mut();
    // SAFETY: valid config and out pointer.
    assert_eq!(
        unsafe { ot_tracer_new(&config, &mut handle, std::ptr::null_mut()) },
        Status::Ok
    );
    let start = OtStageStart {
        event: s("price_calculated"),
        order_id: s("ORD-12345"),
        user_id: s(USER),
        attributes: std::ptr::null(),
        attribute_count: 0,
        parent_headers: std::ptr::null(),
        parent_header_count: 0,
        kind: OT_KIND_INTERNAL,
        status_from: s(""),
        status_to: s(""),
    };
    // Each call is given an error slot, as the C# binding does (`out IntPtr error`): on
    // success the library writes NULL there, nothing is allocated.
    let mut error = std::ptr::null_mut();
    let drain = |error: &mut *mut OtBuffer| {
        // SAFETY: live tracer handle, writable error slot.
        let status = unsafe { ot_tracer_flush(handle, 60_000, error) };
        if status != Status::Ok {
            eprintln!("C ABI: draining between batches failed: {status:?}");
        }
    };
    group.bench_function("c_abi_round_trip", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            for _ in 0..iters {
                let mut stage = std::ptr::null_mut();
                // SAFETY: live tracer handle, valid start info and out pointers; the stage
                // handle is freed once.
                unsafe {
                    assert_eq!(
                        ot_stage_start(handle, &start, &mut stage, &mut error),
                        Status::Ok
                    );
                    assert_eq!(ot_stage_end(stage, &mut error), Status::Ok);
                    ot_stage_free(stage);
                }
            }
            let elapsed = started.elapsed();
            drain(&mut error);
            elapsed
        })
    });
    let empty = s("");
    group.bench_function("c_abi_stage_record", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            for _ in 0..iters {
                // SAFETY: live tracer handle, valid start info, empty error strings (no error).
                let status =
                    unsafe { ot_stage_record(handle, &start, empty, empty, empty, &mut error) };
                assert_eq!(status, Status::Ok);
            }
            let elapsed = started.elapsed();
            drain(&mut error);
            elapsed
        })
    });
    group.finish();
    let rust_dropped = tracer.counters().spans_dropped;
    let mut c = std::mem::MaybeUninit::<ordertrace::PipelineCounters>::zeroed();
    // SAFETY: live tracer handle, writable counters and error slot.
    let status = unsafe { ot_tracer_counters(handle, c.as_mut_ptr(), &mut error) };
    // SAFETY: zero-initialised (all fields are integers), filled by the call when it succeeds.
    let c_dropped = unsafe { c.assume_init() }.spans_dropped;
    if status != Status::Ok || rust_dropped > 0 || c_dropped > 0 {
        eprintln!(
            "WARNING: spans dropped during the run (Rust {rust_dropped}, C ABI {c_dropped}, \
             counters status {status:?}); the figures are not comparable"
        );
    }
    // SAFETY: freed once.
    unsafe { ot_tracer_free(handle) };
}

criterion_group!(benches, ffi);
criterion_main!(benches);
