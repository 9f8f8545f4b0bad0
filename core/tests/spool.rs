//! The disk spool seen from the caller, against a small OTLP/HTTP receiver that can be taken
//! down and brought back on the same port: spans wait on disk while it is down, arrive in
//! order and once each when it is back, also through a new tracer (the next process); a
//! healthy endpoint never makes the pipeline touch the disk; one folder, one tracer; a batch
//! the collector refuses as invalid (HTTP 400) is dropped and counted, not retried forever.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use ordertrace::{OrderEvent, OrderTracer, OtlpProtocol, PipelineCounters};
use prost::Message;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A minimal OTLP/HTTP receiver: records the `seq` attribute of every span it accepts, and
/// answers 400 Bad Request to a request holding the span whose `seq` is `poison`.
struct Receiver {
    port: u16,
    seqs: Arc<Mutex<Vec<i64>>>,
    up: Arc<AtomicBool>,
    poison: Arc<AtomicI64>,
}

impl Receiver {
    fn new() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        Self {
            port,
            seqs: Arc::default(),
            up: Arc::new(AtomicBool::new(false)),
            poison: Arc::new(AtomicI64::new(-1)),
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/v1/traces", self.port)
    }

    fn start(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        self.up.store(true, Ordering::SeqCst);
        let (up, seqs) = (Arc::clone(&self.up), Arc::clone(&self.seqs));
        let poison = Arc::clone(&self.poison);
        std::thread::spawn(move || {
            while up.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (up, seqs) = (Arc::clone(&up), Arc::clone(&seqs));
                        let poison = Arc::clone(&poison);
                        std::thread::spawn(move || serve(stream, &up, &seqs, &poison));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            // The listener is dropped here: connections are refused from now on.
        });
    }

    /// Refuses connections (and answers no more requests on open ones).
    fn stop(&self) {
        self.up.store(false, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(50));
    }

    fn seqs(&self) -> Vec<i64> {
        self.seqs.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, up: &AtomicBool, seqs: &Mutex<Vec<i64>>, poison: &AtomicI64) {
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) => return,
                Ok(_) => {}
                Err(_) if up.load(Ordering::SeqCst) => continue,
                Err(_) => return,
            }
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() || !up.load(Ordering::SeqCst) {
            return; // down: the request gets no answer
        }
        let request = ExportTraceServiceRequest::decode(&body[..]).unwrap();
        let mut batch = Vec::new();
        for span in request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
        {
            let seq = span.attributes.iter().find(|kv| kv.key == "seq");
            if let Some(any_value::Value::IntValue(i)) = seq
                .and_then(|kv| kv.value.as_ref())
                .and_then(|v| v.value.clone())
            {
                batch.push(i);
            }
        }
        let answer = if batch.contains(&poison.load(Ordering::SeqCst)) {
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"
        } else {
            seqs.lock().unwrap().extend(batch);
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n"
        };
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ordertrace-spool-it-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tracer(receiver: &Receiver, spool: &Path) -> OrderTracer {
    tracer_with_queue(receiver, spool, 100)
}

fn tracer_with_queue(receiver: &Receiver, spool: &Path, queue: usize) -> OrderTracer {
    OrderTracer::builder()
        .without_env()
        .service_name("crm-api")
        .otlp(receiver.endpoint(), OtlpProtocol::HttpProtobuf)
        .spool_dir(spool)
        .start_records(false)
        .heartbeat_interval(None)
        .scheduled_delay(Duration::from_millis(20))
        .max_export_batch_size(BATCH as usize)
        .max_queue_size(queue)
        .export_timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

fn emit(tracer: &OrderTracer, seqs: std::ops::Range<i64>) {
    for seq in seqs {
        tracer
            .stage(OrderEvent::OrderConfirmed, &format!("ORD-{seq}"))
            .attribute("seq", seq)
            .start()
            .unwrap()
            .end();
        // Under the queue bound: this test is about the spool, not about queue drops.
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn wait_for(tracer: &OrderTracer, what: &str, done: impl Fn(&PipelineCounters) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done(&tracer.counters()) {
        assert!(
            Instant::now() < deadline,
            "waited 20 s for {what}: {:?}",
            tracer.counters()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Batches of the test tracer (`max_export_batch_size`) and an upper bound of the spool
/// records replayed together (the pipeline's `REPLAY_IN_FLIGHT`, 1 at present): requests in
/// flight together may arrive in any order.
const BATCH: i64 = 10;
const IN_FLIGHT: i64 = 4;

/// Every seq of `want` arrived exactly once, in the order the spans ended, except that
/// spans of records replayed together may overtake each other: none arrives more than
/// `IN_FLIGHT` batches before a span that ended earlier.
fn assert_in_order_once(got: &[i64], want: std::ops::Range<i64>) {
    let mut sorted = got.to_vec();
    sorted.sort_unstable();
    assert_eq!(sorted, want.collect::<Vec<_>>(), "every span, once");
    let mut highest = got.first().copied().unwrap_or_default();
    for (i, seq) in got.iter().enumerate() {
        assert!(
            highest - seq < BATCH * IN_FLIGHT,
            "seq {seq} (position {i}) arrived after seq {highest}: out of order by more than the requests in flight"
        );
        highest = highest.max(*seq);
    }
}

fn segment_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("seg-"))
            })
            .count()
        })
        .unwrap_or(0)
}

#[test]
fn spans_wait_on_disk_while_the_endpoint_is_down_and_arrive_in_order_when_it_is_back() {
    let receiver = Receiver::new();
    let spool = TempDir::new("down");
    let tracer = tracer(&receiver, &spool.0);
    emit(&tracer, 0..200);
    wait_for(&tracer, "200 spooled spans", |c| c.spans_spooled == 200);
    let c = tracer.counters();
    assert_eq!((c.spans_exported, c.spans_dropped), (0, 0));
    assert_eq!(c.spool_spans, 200);
    assert!(c.spool_bytes > 0 && c.failed_exports > 0);
    assert_eq!(segment_files(&spool.0.join("crm-api")), 1);

    receiver.start();
    tracer.flush(Duration::from_secs(20)).unwrap();
    assert_in_order_once(&receiver.seqs(), 0..200);
    let c = tracer.counters();
    assert_eq!(
        (
            c.spans_exported,
            c.spans_replayed,
            c.spool_spans,
            c.spool_bytes
        ),
        (200, 200, 0, 0)
    );
    assert_eq!(segment_files(&spool.0.join("crm-api")), 0);
    tracer.shutdown(Duration::from_secs(5)).unwrap();
}

#[test]
fn a_healthy_endpoint_never_makes_the_pipeline_touch_the_disk() {
    let receiver = Receiver::new();
    receiver.start();
    let spool = TempDir::new("healthy");
    let tracer = tracer(&receiver, &spool.0);
    emit(&tracer, 0..300);
    tracer.flush(Duration::from_secs(20)).unwrap();
    let c = tracer.counters();
    assert_eq!(
        (c.spans_exported, c.spans_spooled, c.spool_bytes),
        (300, 0, 0)
    );
    assert_eq!(segment_files(&spool.0.join("crm-api")), 0);
    assert_eq!(receiver.seqs().len(), 300);
    tracer.shutdown(Duration::from_secs(5)).unwrap();
}

#[test]
fn a_new_tracer_replays_what_the_last_one_spooled_before_its_own_spans() {
    let receiver = Receiver::new();
    let spool = TempDir::new("restart");
    let first = tracer(&receiver, &spool.0);
    emit(&first, 0..50);
    // Shut down with the endpoint down: what is in memory goes to disk, nothing is lost.
    first.shutdown(Duration::from_secs(5)).unwrap();
    let c = first.counters();
    assert_eq!(
        (c.spans_spooled, c.spans_dropped, c.spans_exported),
        (50, 0, 0)
    );
    drop(first);

    receiver.start();
    let second = tracer(&receiver, &spool.0);
    assert_eq!(second.counters().spool_spans, 50);
    emit(&second, 50..80);
    second.flush(Duration::from_secs(20)).unwrap();
    assert_in_order_once(&receiver.seqs(), 0..80);
    let c = second.counters();
    assert_eq!(
        (c.spans_replayed, c.spans_exported, c.spool_spans),
        (50, 80, 0)
    );
    second.shutdown(Duration::from_secs(5)).unwrap();
}

#[test]
fn spans_spooled_during_an_outage_arrive_before_those_that_came_after() {
    let receiver = Receiver::new();
    receiver.start();
    let spool = TempDir::new("outage");
    let tracer = tracer(&receiver, &spool.0);
    emit(&tracer, 0..100);
    tracer.flush(Duration::from_secs(20)).unwrap();
    receiver.stop();
    emit(&tracer, 100..200);
    wait_for(&tracer, "spooling", |c| c.spans_spooled >= 100);
    receiver.start();
    emit(&tracer, 200..300);
    tracer.flush(Duration::from_secs(20)).unwrap();
    assert_in_order_once(&receiver.seqs(), 0..300);
    assert_eq!(tracer.counters().spans_dropped, 0);
}

#[test]
fn two_tracers_cannot_share_a_spool_folder() {
    let receiver = Receiver::new();
    let spool = TempDir::new("shared");
    let _first = tracer(&receiver, &spool.0);
    let err = OrderTracer::builder()
        .without_env()
        .service_name("crm-api")
        .otlp(receiver.endpoint(), OtlpProtocol::HttpProtobuf)
        .spool_dir(&spool.0)
        .build()
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("could not start the export pipeline: spool folder"),
        "{msg}"
    );
    assert!(msg.contains("is in use by another process (pid"), "{msg}");
}

#[test]
fn each_service_spools_in_its_own_folder() {
    let receiver = Receiver::new();
    let spool = TempDir::new("services");
    let crm = tracer(&receiver, &spool.0);
    let mes = OrderTracer::builder()
        .without_env()
        .service_name("mes-api")
        .otlp(receiver.endpoint(), OtlpProtocol::HttpProtobuf)
        .spool_dir(&spool.0)
        .build()
        .unwrap();
    assert_eq!(crm.spool_folder(), Some(spool.0.join("crm-api").as_path()));
    assert_eq!(mes.spool_folder(), Some(spool.0.join("mes-api").as_path()));
}

#[test]
fn a_spooled_batch_the_collector_rejects_is_dropped_and_counted_and_the_rest_flows() {
    let receiver = Receiver::new();
    let spool = TempDir::new("rejected-disk");
    let tracer = tracer(&receiver, &spool.0);
    emit(&tracer, 0..30);
    wait_for(&tracer, "30 spooled spans", |c| c.spans_spooled == 30);
    receiver.poison.store(15, Ordering::SeqCst);
    receiver.start();
    tracer.flush(Duration::from_secs(20)).unwrap();
    let mut got = receiver.seqs();
    got.sort_unstable();
    assert_eq!(got, (0..10).chain(20..30).collect::<Vec<_>>());
    let c = tracer.counters();
    assert_eq!(
        (
            c.spans_dropped_rejected,
            c.spans_dropped,
            c.spans_exported,
            c.spool_spans
        ),
        (10, 10, 20, 0)
    );
    let error = tracer.last_export_error().unwrap_or_default();
    assert!(
        error.contains("rejected a batch of 10 spans as invalid"),
        "{error}"
    );
    tracer.shutdown(Duration::from_secs(5)).unwrap();
}

#[test]
fn a_batch_the_collector_rejects_on_the_way_from_memory_is_not_spooled() {
    let receiver = Receiver::new();
    receiver.poison.store(5, Ordering::SeqCst);
    receiver.start();
    let spool = TempDir::new("rejected-memory");
    let tracer = tracer(&receiver, &spool.0);
    emit(&tracer, 0..30);
    tracer.flush(Duration::from_secs(20)).unwrap();
    let mut got = receiver.seqs();
    got.sort_unstable();
    assert_eq!(got, (10..30).collect::<Vec<_>>());
    let c = tracer.counters();
    assert_eq!(
        (c.spans_dropped_rejected, c.spans_spooled, c.spans_exported),
        (10, 0, 20)
    );
    tracer.shutdown(Duration::from_secs(5)).unwrap();
}

#[test]
fn an_endpoint_that_keeps_going_down_and_up_loses_no_span_and_repeats_none() {
    // Down 120 ms, up 250 ms, over and over while 3,000 spans end: exports fail mid-batch,
    // batches go back from memory to disk and are replayed while new ones arrive.
    let receiver = Arc::new(Receiver::new());
    receiver.start();
    let spool = TempDir::new("flapping");
    // A queue for every span: this test is about the spool and the retries, not queue drops.
    let tracer = tracer_with_queue(&receiver, &spool.0, 10_000);
    let flapping = Arc::new(AtomicBool::new(true));
    let flapper = {
        let (receiver, flapping) = (Arc::clone(&receiver), Arc::clone(&flapping));
        std::thread::spawn(move || {
            while flapping.load(Ordering::SeqCst) {
                receiver.stop();
                std::thread::sleep(Duration::from_millis(120));
                receiver.start();
                std::thread::sleep(Duration::from_millis(250));
            }
        })
    };
    for chunk in 0..30 {
        emit(&tracer, chunk * 100..(chunk + 1) * 100);
        std::thread::sleep(Duration::from_millis(60));
    }
    flapping.store(false, Ordering::SeqCst);
    flapper.join().unwrap();
    tracer.flush(Duration::from_secs(60)).unwrap();
    let c = tracer.counters();
    assert_eq!(c.spans_dropped, 0, "{c:?}");
    assert_in_order_once(&receiver.seqs(), 0..3000);
    tracer.shutdown(Duration::from_secs(5)).unwrap();
}
