//! The spool on a real folder: order, restart, torn and corrupt records, bounds, the lock.

use super::*;
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
use std::sync::atomic::{AtomicUsize, Ordering};

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ordertrace-spool-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }

    fn files(&self, suffix: &str) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(suffix))
            .collect();
        v.sort();
        v
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const DAY: Duration = Duration::from_secs(86_400);

fn span(id: u64) -> SpanData {
    SpanData {
        span_context: SpanContext::new(
            TraceId::from(0xabcd_u128 << 64 | u128::from(id)),
            SpanId::from(id),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: "order_confirmed".into(),
        start_time: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        end_time: UNIX_EPOCH + Duration::from_secs(1_700_000_001),
        attributes: vec![KeyValue::new("order.id", format!("ORD-{id}"))],
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: InstrumentationScope::builder("ordertrace").build(),
    }
}

/// A batch of `n` spans whose ids start at `first`.
fn batch(first: u64, n: u64) -> Vec<SpanData> {
    (first..first + n).map(span).collect()
}

fn open(dir: &TempDir, max_bytes: u64, max_age: Duration) -> (Spool, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let spool = Spool::open(&dir.0, max_bytes, max_age, Arc::clone(&counters)).unwrap();
    (spool, counters)
}

fn ids(taken: &Taken) -> Vec<u64> {
    taken
        .spans
        .iter()
        .map(|s| u64::from_be_bytes(s.span_context.span_id().to_bytes()))
        .collect()
}

fn take(spool: &Spool) -> Taken {
    match spool.take() {
        Head::Record(t) => t,
        other => panic!("expected a record, got {other:?}"),
    }
}

fn snapshot(c: &Counters) -> crate::pipeline::PipelineCounters {
    c.snapshot(0, unix_ms_now())
}

#[test]
fn records_come_back_in_sequence_order_with_their_spans() {
    let dir = TempDir::new("order");
    let (spool, counters) = open(&dir, 1 << 20, DAY);
    spool.append(7, batch(70, 3)).1.unwrap();
    spool.append(5, batch(50, 2)).1.unwrap(); // a returned batch, written late
    spool.append(9, batch(90, 1)).1.unwrap();
    let first = take(&spool);
    assert_eq!((first.seq, ids(&first)), (5, vec![50, 51]));
    assert_eq!(
        spool.ack(5),
        Removed {
            own_spans: 2,
            spans: 2
        }
    );
    let second = take(&spool);
    assert_eq!((second.seq, ids(&second)), (7, vec![70, 71, 72]));
    let c = snapshot(&counters);
    assert_eq!((c.spans_spooled, c.spool_spans), (6, 4));
}

#[test]
fn a_failed_export_leaves_the_record_first_in_line() {
    let dir = TempDir::new("release");
    let (spool, _) = open(&dir, 1 << 20, DAY);
    spool.append(1, batch(1, 1)).1.unwrap();
    spool.append(2, batch(2, 1)).1.unwrap();
    assert_eq!(take(&spool).seq, 1);
    spool.release(1);
    assert_eq!(take(&spool).seq, 1);
}

#[test]
fn an_emptied_spool_leaves_no_segment_on_disk() {
    let dir = TempDir::new("empty");
    let (spool, counters) = open(&dir, 1 << 20, DAY);
    spool.append(1, batch(1, 4)).1.unwrap();
    assert_eq!(dir.files(".spool.tmp").len(), 1);
    spool.ack(take(&spool).seq);
    assert!(dir.files(".tmp").is_empty() && dir.files(".spool").is_empty());
    let c = snapshot(&counters);
    assert_eq!(
        (c.spool_bytes, c.spool_spans, c.spool_oldest_age_ms),
        (0, 0, 0)
    );
    assert!(matches!(spool.take(), Head::Empty));
}

#[test]
fn a_restart_replays_what_the_last_process_spooled_and_not_what_it_exported() {
    let dir = TempDir::new("restart");
    {
        let (spool, _) = open(&dir, 1 << 20, DAY);
        for seq in 1..=4 {
            spool.append(seq, batch(seq * 10, 2)).1.unwrap();
        }
        spool.ack(take(&spool).seq); // seq 1 reached the endpoint
        // No seal: the process dies here, its segment still a .tmp.
    }
    let (spool, counters) = open(&dir, 1 << 20, DAY);
    assert!(
        dir.files(".tmp").is_empty(),
        "the dead process's segment was completed"
    );
    assert_eq!(spool.first_free_seq(), 5);
    let mut seqs = Vec::new();
    while let Head::Record(t) = spool.take() {
        seqs.push(t.seq);
        assert_eq!(spool.ack(t.seq).own_spans, 0, "not this process's spans");
    }
    assert_eq!(seqs, [2, 3, 4]);
    assert_eq!(snapshot(&counters).spool_corrupt_records, 0);
}

#[test]
fn a_torn_write_is_counted_and_skipped_and_the_records_before_it_replayed() {
    let dir = TempDir::new("torn");
    {
        let (spool, _) = open(&dir, 1 << 20, DAY);
        spool.append(1, batch(1, 2)).1.unwrap();
        spool.append(2, batch(3, 5)).1.unwrap();
    }
    let seg = &dir.files(".spool.tmp")[0];
    let len = std::fs::metadata(seg).unwrap().len();
    let f = OpenOptions::new().write(true).open(seg).unwrap();
    f.set_len(len - 7).unwrap(); // killed in the middle of the second write
    drop(f);
    let (spool, counters) = open(&dir, 1 << 20, DAY);
    let c = snapshot(&counters);
    assert_eq!(
        (c.spool_corrupt_records, c.spans_dropped_spool_corrupt),
        (1, 5)
    );
    assert_eq!(c.spans_dropped, 5);
    let t = take(&spool);
    assert_eq!((t.seq, ids(&t)), (1, vec![1, 2]));
    spool.ack(1);
    assert!(matches!(spool.take(), Head::Empty));
}

#[test]
fn a_record_with_a_bad_checksum_is_counted_and_never_replayed() {
    let dir = TempDir::new("crc");
    {
        let (spool, _) = open(&dir, 1 << 20, DAY);
        spool.append(1, batch(1, 2)).1.unwrap();
        spool.append(2, batch(3, 3)).1.unwrap();
        spool.append(3, batch(6, 1)).1.unwrap();
        spool.seal();
    }
    let seg = &dir.files(".spool")[0];
    let mut bytes = std::fs::read(seg).unwrap();
    let second = record::scan(&bytes).records[1].1 as usize;
    bytes[second + HEADER_LEN + 4] ^= 0xff;
    std::fs::write(seg, &bytes).unwrap();
    let (spool, counters) = open(&dir, 1 << 20, DAY);
    let c = snapshot(&counters);
    assert_eq!(
        (c.spool_corrupt_records, c.spans_dropped_spool_corrupt),
        (1, 3)
    );
    let mut seqs = Vec::new();
    while let Head::Record(t) = spool.take() {
        seqs.push(t.seq);
        spool.ack(t.seq);
    }
    assert_eq!(seqs, [1, 3]);
}

#[test]
fn a_record_damaged_after_it_was_written_is_dropped_when_read() {
    let dir = TempDir::new("damaged");
    let (spool, counters) = open(&dir, 1 << 20, DAY);
    spool.append(1, batch(1, 4)).1.unwrap();
    let seg = dir.files(".spool.tmp")[0].clone();
    let mut bytes = std::fs::read(&seg).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&seg, &bytes).unwrap();
    assert_eq!(
        match spool.take() {
            Head::Unreadable(r) => r,
            other => panic!("{other:?}"),
        },
        Removed {
            own_spans: 4,
            spans: 4
        }
    );
    let c = snapshot(&counters);
    assert_eq!(
        (c.spool_corrupt_records, c.spans_dropped_spool_corrupt),
        (1, 4)
    );
}

#[test]
fn the_byte_bound_drops_the_oldest_segments_first_and_counts_them() {
    let dir = TempDir::new("full");
    let max = 64 << 10; // segments of 8 KiB
    let (spool, counters) = open(&dir, max, DAY);
    let mut dropped_own = 0;
    for seq in 1..=200 {
        let (removed, result) = spool.append(seq, batch(seq * 100, 10));
        result.unwrap();
        dropped_own += removed.own_spans;
    }
    let c = snapshot(&counters);
    assert!(c.spool_bytes <= max, "{} bytes on disk", c.spool_bytes);
    assert!(c.spans_dropped_spool_full > 0);
    assert_eq!(c.spans_dropped_spool_full, dropped_own);
    assert_eq!(c.spans_spooled, 2000);
    assert_eq!(c.spool_spans + c.spans_dropped_spool_full, 2000);
    // What is left is the newest, still in order.
    let t = take(&spool);
    let left = c.spool_spans / 10;
    assert_eq!(t.seq, 200 - left + 1);
    let on_disk: u64 = dir
        .files(".spool")
        .iter()
        .chain(dir.files(".spool.tmp").iter())
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert_eq!(on_disk, c.spool_bytes);
}

#[test]
fn the_byte_bound_never_drops_the_record_being_exported() {
    let dir = TempDir::new("inflight");
    let (spool, counters) = open(&dir, 16 << 10, DAY);
    spool.append(1, batch(1, 10)).1.unwrap();
    let t = take(&spool);
    for seq in 2..=100 {
        spool.append(seq, batch(seq * 100, 10)).1.unwrap();
    }
    assert!(snapshot(&counters).spans_dropped_spool_full > 0);
    assert_eq!(
        spool.ack(t.seq),
        Removed {
            own_spans: 10,
            spans: 10
        }
    );
}

#[test]
fn records_older_than_the_age_bound_are_dropped_and_counted() {
    let dir = TempDir::new("age");
    let (spool, counters) = open(&dir, 1 << 20, Duration::from_secs(60));
    spool.append(1, batch(1, 3)).1.unwrap();
    spool.append(2, batch(4, 2)).1.unwrap();
    assert_eq!(spool.drop_expired(unix_ms_now()), Removed::default());
    let later = unix_ms_now() + 61_000;
    assert_eq!(
        spool.drop_expired(later),
        Removed {
            own_spans: 5,
            spans: 5
        }
    );
    let c = snapshot(&counters);
    assert_eq!((c.spans_dropped_spool_expired, c.spool_spans), (5, 0));
    assert!(matches!(spool.take(), Head::Empty));
}

#[test]
fn the_oldest_age_counter_grows_while_spans_wait() {
    let dir = TempDir::new("oldest");
    let (spool, counters) = open(&dir, 1 << 20, DAY);
    spool.append(1, batch(1, 1)).1.unwrap();
    let age = counters
        .snapshot(0, unix_ms_now() + 5_000)
        .spool_oldest_age_ms;
    assert!((5_000..6_000).contains(&age), "{age}");
}

#[test]
fn a_second_spool_on_the_same_folder_is_refused_with_the_owner() {
    let dir = TempDir::new("lock");
    let (_first, _) = open(&dir, 1 << 20, DAY);
    let err = Spool::open(&dir.0, 1 << 20, DAY, Arc::new(Counters::default())).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "is in use by another process (pid {})",
            std::process::id()
        )),
        "{msg}"
    );
    assert!(msg.contains("ORDERTRACE_SPOOL_DIR"), "{msg}");
}

#[test]
fn the_lock_is_released_when_the_spool_closes() {
    let dir = TempDir::new("unlock");
    drop(open(&dir, 1 << 20, DAY));
    let (spool, _) = open(&dir, 1 << 20, DAY);
    assert!(spool.head_seq().is_none());
}

#[test]
fn a_file_that_is_not_a_segment_is_counted_not_replayed() {
    let dir = TempDir::new("foreign");
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::write(
        dir.0.join(format!("seg-{:020}.spool", 3)),
        b"this is not a spool segment",
    )
    .unwrap();
    let (spool, counters) = open(&dir, 1 << 20, DAY);
    assert_eq!(snapshot(&counters).spool_corrupt_records, 1);
    assert!(matches!(spool.take(), Head::Empty));
    assert!(
        dir.files(".spool").is_empty(),
        "the unreadable file was removed"
    );
}

#[test]
fn service_folders_are_safe_file_names() {
    let root = Path::new("/spool");
    assert_eq!(service_folder(root, "mes-api"), root.join("mes-api"));
    assert_eq!(service_folder(root, "a/../b c"), root.join("a_.._b_c"));
    assert_eq!(service_folder(root, ".."), root.join("_"));
    assert_eq!(service_folder(root, ""), root.join("_"));
}

#[test]
fn records_acknowledged_out_of_order_never_move_the_cursor_past_one_still_waiting() {
    let dir = TempDir::new("ack-order");
    {
        let (spool, _) = open(&dir, 1 << 20, DAY);
        for seq in 1..=3 {
            spool.append(seq, batch(seq * 10, 1)).1.unwrap();
        }
        let taken: Vec<u64> = (0..3).map(|_| take(&spool).seq).collect();
        assert_eq!(taken, vec![1, 2, 3], "three in flight at once");
        spool.ack(3);
        spool.ack(2);
        spool.release(1); // its export failed
        spool.close();
    }
    // The next process must still send 1 (and may resend 2 and 3: duplicates, not a loss).
    let (spool, _) = open(&dir, 1 << 20, DAY);
    let first = take(&spool);
    assert_eq!(first.seq, 1);
    spool.ack(1);
    spool.close();
    drop(spool);
    let (spool, _) = open(&dir, 1 << 20, DAY);
    let mut left = Vec::new();
    while let Head::Record(t) = spool.take() {
        left.push(t.seq);
        spool.ack(t.seq);
    }
    assert!(
        left.iter().all(|s| [2, 3].contains(s)),
        "only the resent 2 and 3 may come back, got {left:?}"
    );
}

#[test]
fn once_every_record_is_acknowledged_a_new_start_finds_nothing() {
    let dir = TempDir::new("ack-all");
    {
        let (spool, _) = open(&dir, 1 << 20, DAY);
        for seq in 1..=3 {
            spool.append(seq, batch(seq * 10, 1)).1.unwrap();
        }
        let taken: Vec<u64> = (0..3).map(|_| take(&spool).seq).collect();
        for seq in taken.into_iter().rev() {
            spool.ack(seq);
        }
        spool.close();
    }
    let (spool, _) = open(&dir, 1 << 20, DAY);
    assert!(matches!(spool.take(), Head::Empty));
}

#[test]
fn take_before_leaves_records_at_or_above_the_limit() {
    let dir = TempDir::new("limit");
    let (spool, _) = open(&dir, 1 << 20, DAY);
    spool.append(4, batch(40, 1)).1.unwrap();
    spool.append(6, batch(60, 1)).1.unwrap();
    assert!(matches!(spool.take_before(4), Head::Empty));
    match spool.take_before(5) {
        Head::Record(t) => assert_eq!(t.seq, 4),
        other => panic!("expected record 4, got {other:?}"),
    }
    assert!(
        matches!(spool.take_before(6), Head::Empty),
        "4 is in flight, 6 is at the limit"
    );
}

#[test]
fn a_rejected_record_is_removed_and_the_next_one_is_taken() {
    let dir = TempDir::new("reject");
    let (spool, counters) = open(&dir, 1 << 20, DAY);
    spool.append(1, batch(10, 2)).1.unwrap();
    spool.append(2, batch(20, 1)).1.unwrap();
    let first = take(&spool);
    assert_eq!(
        spool.reject(first.seq),
        Removed {
            own_spans: 2,
            spans: 2
        }
    );
    assert_eq!(take(&spool).seq, 2);
    assert_eq!(snapshot(&counters).spool_spans, 1);
}
