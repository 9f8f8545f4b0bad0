//! The disk spool: where batches wait, in order, while the OTLP endpoint is down or slower than
//! the services, and from where they are replayed when it answers again, also by the next
//! process after a crash. Off unless a folder is configured (`ORDERTRACE_SPOOL_DIR`).
//!
//! # How it is used
//! The pipeline's spool writer thread takes every batch off the callers' queue. While the
//! exporter keeps up and the spool is empty, batches go to the exporter in memory and nothing
//! touches the disk. When an export fails, or the exporter falls behind by more than a queue's
//! worth, batches are written here instead. The exporter always sends the batch with the lowest
//! sequence number next, from memory or from here, so export order is the order spans ended.
//! The callers never wait for the disk: they only ever touch the in-memory queue.
//!
//! # Folder
//! `<ORDERTRACE_SPOOL_DIR>/<service.name>/` (characters other than `A-Za-z0-9._-` become `_`):
//!
//! | file | what |
//! |---|---|
//! | `LOCK` | held with an exclusive `flock` by the process using the folder; holds its pid |
//! | `seg-<20 digits>.spool.tmp` | the segment being written |
//! | `seg-<20 digits>.spool` | a complete segment (renamed from `.tmp` after an `fdatasync`) |
//! | `ACKED` | a record sequence number at or below which every record was exported (8 bytes LE + CRC32 LE) |
//!
//! # Segment format
//! A segment starts with the 8 bytes `OTSPOOL1`, then records. A record is a 36-byte header
//! and its payload, written with one `write`; all integers little-endian:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `OTRC` |
//! | 4 | 4 | payload length |
//! | 8 | 8 | sequence number (export order, increasing across restarts) |
//! | 16 | 8 | written at, Unix milliseconds (for the age bound) |
//! | 24 | 4 | spans in the payload |
//! | 28 | 4 | CRC32 (IEEE) of the payload |
//! | 32 | 4 | CRC32 of bytes 0..32 |
//! | 36 | n | payload: an OTLP `ExportTraceServiceRequest`, protobuf, without the resource |
//!
//! On start the folder is read back: a `.tmp` left by a process that died (even by `kill -9`:
//! the kernel keeps what was written) is read up to its last whole record, then renamed. A torn
//! tail or a record whose checksum fails is counted (`spool_corrupt_records`, and its spans in
//! `spans_dropped_spool_corrupt` when its header is intact) and skipped, never replayed.
//! Records at or below `ACKED` were exported already and are skipped.
//!
//! # Bounds
//! By bytes (`ORDERTRACE_SPOOL_MAX_BYTES`, default 256 MiB): before a write that would pass the
//! bound, the oldest segments go, counted in `spans_dropped_spool_full`; the bound holds to
//! within one segment (1/8 of it, at most 16 MiB), which may stay while its record is being
//! exported. By age (`ORDERTRACE_SPOOL_MAX_AGE_SECS`, default 86400): records older than that
//! are dropped before they would be sent, counted in `spans_dropped_spool_expired`.
//!
//! # What a `kill -9` loses
//! The pipeline puts a batch in memory for the exporter only while nothing waits here, and
//! before it writes a batch here it writes every older batch that is only in memory (including
//! a copy of the one being sent, removed again if the collector takes it). So every record here
//! is older than anything only in memory, and a `kill -9` loses a tail: the spans in memory at
//! that moment (the pipeline's `queue_depth`), all newer than the last completed write.
//!
//! # Duplicates
//! Replay may keep several records in flight at once (the pipeline's `REPLAY_IN_FLIGHT`, 1 at
//! present); they may be accepted out of order, and `ACKED` moves only over a contiguous run of
//! accepted records.
//! A record is removed, and `ACKED` moved past it, only after the endpoint accepted it. A crash
//! between the two, or an export whose answer timed out after the collector stored it, sends
//! that one batch again on replay. The replayed spans are byte for byte the ones sent before,
//! and Jaeger's query service removes spans identical to another one of the same trace (its
//! `DeduplicateSpans` adjuster), so a reader of api/v3 sees each span once;
//! `?raw_traces=true` shows the stored copies.

mod codec;
mod lock;
mod record;

use super::counters::Counters;
use crate::error::{OrderTraceError, Result};
use lock::FolderLock;
use opentelemetry_sdk::trace::SpanData;
use record::{HEADER_LEN, RecordHeader, SEGMENT_MAGIC};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub(crate) use codec::decode;

/// Largest segment file.
const MAX_SEGMENT_BYTES: u64 = 16 << 20;
/// Smallest segment file (tiny bounds in tests).
const MIN_SEGMENT_BYTES: u64 = 4 << 10;

/// Milliseconds since the Unix epoch.
pub(crate) fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The folder of one service's spool under the configured root.
pub(crate) fn service_folder(root: &Path, service_name: &str) -> PathBuf {
    let safe: String = service_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = if safe.is_empty() || safe.chars().all(|c| c == '.') {
        "_".to_string()
    } else {
        safe
    };
    root.join(safe)
}

#[derive(Debug)]
struct Segment {
    bytes: u64,
    live: usize,
    sealed: bool,
}

#[derive(Debug, Clone, Copy)]
struct RecordRef {
    segment: u64,
    offset: u64,
    header: RecordHeader,
    /// Written by this process (counts for its flush).
    own: bool,
}

#[derive(Debug)]
struct Writing {
    id: u64,
    file: File,
}

#[derive(Debug)]
struct State {
    segments: BTreeMap<u64, Segment>,
    records: BTreeMap<u64, RecordRef>,
    writing: Option<Writing>,
    next_segment: u64,
    /// Records taken for export and not yet acknowledged, rejected or released.
    in_flight: BTreeSet<u64>,
    /// Highest sequence number acknowledged (or rejected) by this process.
    max_acked: u64,
    /// The value last written to `ACKED`.
    cursor: u64,
    acked: File,
    total_bytes: u64,
    total_spans: u64,
}

/// What a removal did, for the pipeline's flush accounting.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Removed {
    /// Spans written by this process among those removed.
    pub(crate) own_spans: u64,
    /// All spans removed.
    pub(crate) spans: u64,
}

impl Removed {
    fn add(&mut self, r: &RecordRef) {
        self.spans += u64::from(r.header.spans);
        if r.own {
            self.own_spans += u64::from(r.header.spans);
        }
    }
}

/// A batch encoded as a spool record (header and payload in one buffer), ready to be written;
/// encoding takes no lock, so it runs while the exporter reads the spool.
#[derive(Debug)]
pub(crate) struct Encoded {
    seq: u64,
    spans: u32,
    bytes: Vec<u8>,
    /// A copy of a batch being sent from memory at the same time: a failed write is not
    /// counted here (the pipeline settles it with the export's outcome).
    copy_of_sent: bool,
}

impl Encoded {
    /// Encodes `batch` as record `seq`, written now (for the age bound).
    pub(crate) fn new(seq: u64, batch: Vec<SpanData>) -> Self {
        let spans = batch.len() as u32;
        let mut bytes = vec![0u8; HEADER_LEN];
        codec::encode_into(batch, &mut bytes);
        record::fill_header(&mut bytes, seq, unix_ms_now(), spans);
        Self {
            seq,
            spans,
            bytes,
            copy_of_sent: false,
        }
    }

    /// Encodes a copy of `batch`, which is being sent from memory at the same time.
    pub(crate) fn copy_of_sent(seq: u64, batch: Vec<SpanData>) -> Self {
        Self {
            copy_of_sent: true,
            ..Self::new(seq, batch)
        }
    }

    /// Whether this is a copy of a batch being sent from memory.
    pub(crate) fn is_copy_of_sent(&self) -> bool {
        self.copy_of_sent
    }

    /// The record's sequence number.
    pub(crate) fn seq(&self) -> u64 {
        self.seq
    }

    /// Spans in the record.
    pub(crate) fn spans(&self) -> usize {
        self.spans as usize
    }
}

/// A record taken for export.
#[derive(Debug)]
pub(crate) struct Taken {
    pub(crate) seq: u64,
    pub(crate) spans: Vec<SpanData>,
}

/// What [`Spool::take`] found at the head.
#[derive(Debug)]
pub(crate) enum Head {
    /// Nothing spooled.
    Empty,
    /// The oldest record, read and decoded.
    Record(Taken),
    /// The oldest record could not be read back; it was removed and counted.
    Unreadable(Removed),
}

/// An open, locked spool folder.
#[derive(Debug)]
pub(crate) struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    max_age: Duration,
    segment_bytes: u64,
    counters: Arc<Counters>,
    state: Mutex<State>,
    /// The first sequence number not used by any record seen or acknowledged.
    first_free_seq: u64,
    /// Sequence number of the oldest record (`u64::MAX`: none), readable without the lock, so
    /// the pipeline never waits for the disk while it holds the callers' queue.
    head: std::sync::atomic::AtomicU64,
    /// Held until [`Spool::close`] (or the drop), so the next tracer can open the folder as
    /// soon as this one has shut down.
    folder_lock: Mutex<Option<FolderLock>>,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> OrderTraceError + '_ {
    move |source| OrderTraceError::File {
        path: path.to_path_buf(),
        source,
    }
}

fn segment_path(dir: &Path, id: u64, sealed: bool) -> PathBuf {
    dir.join(format!(
        "seg-{id:020}.spool{}",
        if sealed { "" } else { ".tmp" }
    ))
}

fn parse_segment_name(name: &str) -> Option<(u64, bool)> {
    let rest = name.strip_prefix("seg-")?;
    let (digits, sealed) = match rest.strip_suffix(".spool.tmp") {
        Some(d) => (d, false),
        None => (rest.strip_suffix(".spool")?, true),
    };
    if digits.len() != 20 {
        return None;
    }
    Some((digits.parse().ok()?, sealed))
}

fn read_acked(file: &mut File) -> u64 {
    let mut b = [0u8; 12];
    if file.seek(SeekFrom::Start(0)).is_err() || file.read_exact(&mut b).is_err() {
        return 0;
    }
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&b[..8]);
    let mut crc = [0u8; 4];
    crc.copy_from_slice(&b[8..]);
    if crc32fast::hash(&seq) == u32::from_le_bytes(crc) {
        u64::from_le_bytes(seq)
    } else {
        0 // torn: replay from the start of what is there; duplicates, never a loss
    }
}

impl Spool {
    /// Opens (creating) and locks `dir`, and reads back what an earlier process left.
    pub(crate) fn open(
        dir: &Path,
        max_bytes: u64,
        max_age: Duration,
        counters: Arc<Counters>,
    ) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let lock = FolderLock::acquire(dir)?;
        let acked_path = dir.join("ACKED");
        let mut acked = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&acked_path)
            .map_err(io_err(&acked_path))?;
        let acked_seq = read_acked(&mut acked);

        let mut found: Vec<(u64, bool)> = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
            let entry = entry.map_err(io_err(dir))?;
            if let Some(seg) = entry.file_name().to_str().and_then(parse_segment_name) {
                found.push(seg);
            }
        }
        found.sort_unstable();
        let mut state = State {
            segments: BTreeMap::new(),
            records: BTreeMap::new(),
            writing: None,
            next_segment: found.last().map_or(1, |(id, _)| id + 1),
            in_flight: BTreeSet::new(),
            max_acked: acked_seq,
            cursor: acked_seq,
            acked,
            total_bytes: 0,
            total_spans: 0,
        };
        let mut max_seq = acked_seq;
        for (id, sealed) in found {
            let path = segment_path(dir, id, sealed);
            let bytes = std::fs::read(&path).map_err(io_err(&path))?;
            let scan = record::scan(&bytes);
            Counters::add(
                &counters.spool_corrupt_records,
                scan.corrupt_records as usize,
            );
            Counters::add(&counters.dropped_spool_corrupt, scan.corrupt_spans as usize);
            let mut live = 0;
            for (header, offset) in scan.records {
                max_seq = max_seq.max(header.seq);
                if header.seq <= acked_seq {
                    continue; // exported before the last process stopped
                }
                live += 1;
                state.total_spans += u64::from(header.spans);
                state.records.insert(
                    header.seq,
                    RecordRef {
                        segment: id,
                        offset,
                        header,
                        own: false,
                    },
                );
            }
            if live == 0 {
                std::fs::remove_file(&path).map_err(io_err(&path))?;
                continue;
            }
            if !sealed {
                // A segment the last process did not finish: complete from now on.
                let done = segment_path(dir, id, true);
                std::fs::rename(&path, &done).map_err(io_err(&path))?;
            }
            state.total_bytes += bytes.len() as u64;
            state.segments.insert(
                id,
                Segment {
                    bytes: bytes.len() as u64,
                    live,
                    sealed: true,
                },
            );
        }
        let spool = Self {
            dir: dir.to_path_buf(),
            max_bytes,
            max_age,
            segment_bytes: (max_bytes / 8).clamp(MIN_SEGMENT_BYTES, MAX_SEGMENT_BYTES),
            counters,
            state: Mutex::new(state),
            first_free_seq: max_seq + 1,
            head: std::sync::atomic::AtomicU64::new(u64::MAX),
            folder_lock: Mutex::new(Some(lock)),
        };
        spool.publish(&spool.lock());
        Ok(spool)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The folder in use.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The first sequence number this process may use.
    pub(crate) fn first_free_seq(&self) -> u64 {
        self.first_free_seq
    }

    /// Sequence number of the oldest record waiting; never waits for the disk.
    pub(crate) fn head_seq(&self) -> Option<u64> {
        match self.head.load(Relaxed) {
            u64::MAX => None,
            seq => Some(seq),
        }
    }

    fn publish(&self, s: &State) {
        self.head.store(
            s.records.keys().next().copied().unwrap_or(u64::MAX),
            Relaxed,
        );
        self.counters.spool_bytes.store(s.total_bytes, Relaxed);
        self.counters.spool_spans.store(s.total_spans, Relaxed);
        let oldest = s.records.values().next().map_or(0, |r| r.header.written_ms);
        self.counters.spool_oldest_written_ms.store(oldest, Relaxed);
    }

    /// Removes a record from the index; deletes its segment once nothing in it is left.
    fn remove(&self, s: &mut State, seq: u64) -> Option<RecordRef> {
        let r = s.records.remove(&seq)?;
        s.total_spans -= u64::from(r.header.spans);
        let empty = match s.segments.get_mut(&r.segment) {
            Some(seg) => {
                seg.live -= 1;
                seg.live == 0
            }
            None => false,
        };
        if empty {
            self.delete_segment(s, r.segment);
        }
        Some(r)
    }

    fn delete_segment(&self, s: &mut State, id: u64) {
        if let Some(seg) = s.segments.remove(&id) {
            s.total_bytes -= seg.bytes;
            if s.writing.as_ref().is_some_and(|w| w.id == id) {
                s.writing = None;
            }
            // Already gone is fine; anything else leaves a file the next start cleans up.
            let _ = std::fs::remove_file(segment_path(&self.dir, id, seg.sealed));
        }
    }

    /// Drops whole oldest segments (not the records being exported) until `incoming` bytes fit.
    fn make_room(&self, s: &mut State, incoming: u64) -> Removed {
        let mut removed = Removed::default();
        while s.total_bytes + incoming > self.max_bytes {
            let victim = s.segments.iter().find(|(id, seg)| {
                let in_flight = s
                    .in_flight
                    .iter()
                    .filter(|f| s.records.get(f).is_some_and(|r| r.segment == **id))
                    .count();
                seg.live > in_flight
            });
            let Some((&id, _)) = victim else { break };
            let seqs: Vec<u64> = s
                .records
                .iter()
                .filter(|(seq, r)| r.segment == id && !s.in_flight.contains(seq))
                .map(|(seq, _)| *seq)
                .collect();
            if s.writing.as_ref().is_some_and(|w| w.id == id) {
                self.seal_current(s);
            }
            for seq in seqs {
                if let Some(r) = self.remove(s, seq) {
                    removed.add(&r);
                }
            }
        }
        Counters::add(&self.counters.dropped_spool_full, removed.spans as usize);
        removed
    }

    fn seal_current(&self, s: &mut State) {
        let Some(w) = s.writing.take() else { return };
        let _ = w.file.sync_data();
        let from = segment_path(&self.dir, w.id, false);
        let to = segment_path(&self.dir, w.id, true);
        if std::fs::rename(&from, &to).is_ok() {
            if let Some(seg) = s.segments.get_mut(&w.id) {
                seg.sealed = true;
            }
        }
    }

    /// Appends a batch as record `seq`. On a write error the batch is lost and counted; the
    /// error is returned so the pipeline can report it.
    #[cfg(test)]
    pub(crate) fn append(&self, seq: u64, batch: Vec<SpanData>) -> (Removed, Result<()>) {
        let (removed, mut results) = self.append_all(vec![Encoded::new(seq, batch)]);
        (removed, results.pop().unwrap_or(Ok(())))
    }

    /// Appends several encoded records under one lock (the writer's step); one result per
    /// record, in order. Records whose write failed are lost and counted.
    pub(crate) fn append_all(&self, records: Vec<Encoded>) -> (Removed, Vec<Result<()>>) {
        let mut removed = Removed::default();
        let mut results = Vec::with_capacity(records.len());
        let mut s = self.lock();
        for rec in records {
            let r = self.make_room(&mut s, rec.bytes.len() as u64);
            removed.spans += r.spans;
            removed.own_spans += r.own_spans;
            let result = self.write(&mut s, rec.seq, rec.spans, &rec.bytes);
            match &result {
                Ok(()) => Counters::add(&self.counters.spooled, rec.spans as usize),
                Err(_) if rec.copy_of_sent => {}
                Err(_) => {
                    Counters::add(
                        &self.counters.dropped_spool_write_failed,
                        rec.spans as usize,
                    );
                    Counters::add(&self.counters.spool_write_errors, 1);
                    removed.spans += u64::from(rec.spans);
                    removed.own_spans += u64::from(rec.spans);
                }
            }
            results.push(result);
        }
        self.publish(&s);
        (removed, results)
    }

    fn write(&self, s: &mut State, seq: u64, spans: u32, rec: &[u8]) -> Result<()> {
        if s.writing.as_ref().is_some_and(|w| {
            s.segments
                .get(&w.id)
                .is_some_and(|g| g.bytes >= self.segment_bytes)
        }) {
            self.seal_current(s);
        }
        if s.writing.is_none() {
            let id = s.next_segment;
            s.next_segment += 1;
            let path = segment_path(&self.dir, id, false);
            let mut file = OpenOptions::new()
                .create_new(true)
                .write(true)
                .open(&path)
                .map_err(io_err(&path))?;
            file.write_all(SEGMENT_MAGIC).map_err(io_err(&path))?;
            s.total_bytes += SEGMENT_MAGIC.len() as u64;
            s.segments.insert(
                id,
                Segment {
                    bytes: SEGMENT_MAGIC.len() as u64,
                    live: 0,
                    sealed: false,
                },
            );
            s.writing = Some(Writing { id, file });
        }
        let Some(w) = s.writing.as_mut() else {
            return Err(OrderTraceError::Export("no spool segment open".into()));
        };
        let id = w.id;
        let path = segment_path(&self.dir, id, false);
        let Some(seg) = s.segments.get_mut(&id) else {
            return Err(OrderTraceError::Export("spool segment lost".into()));
        };
        let offset = seg.bytes;
        if let Err(e) = w.file.write_all(rec) {
            // A partial write leaves a torn tail: start a new segment for what follows.
            seg.bytes += rec.len() as u64; // upper bound of what is on disk now
            s.total_bytes += rec.len() as u64;
            if seg.live == 0 {
                self.delete_segment(s, id);
            } else {
                self.seal_current(s);
            }
            return Err(io_err(&path)(e));
        }
        seg.bytes += rec.len() as u64;
        seg.live += 1;
        s.total_bytes += rec.len() as u64;
        s.total_spans += u64::from(spans);
        let header = record::parse_header(rec).ok_or_else(|| {
            OrderTraceError::Export("spool record header did not parse back".into())
        })?;
        s.records.insert(
            seq,
            RecordRef {
                segment: id,
                offset,
                header,
                own: true,
            },
        );
        Ok(())
    }

    /// Drops records older than the age bound (not the one being exported).
    pub(crate) fn drop_expired(&self, now_ms: u64) -> Removed {
        let limit = now_ms.saturating_sub(self.max_age.as_millis() as u64);
        let mut s = self.lock();
        let expired: Vec<u64> = s
            .records
            .iter()
            .filter(|(seq, r)| r.header.written_ms < limit && !s.in_flight.contains(seq))
            .map(|(seq, _)| *seq)
            .collect();
        let mut removed = Removed::default();
        for seq in expired {
            if let Some(r) = self.remove(&mut s, seq) {
                removed.add(&r);
            }
        }
        Counters::add(&self.counters.dropped_spool_expired, removed.spans as usize);
        self.publish(&s);
        removed
    }

    /// Reads the oldest record not in flight for export and marks it in flight (never dropped
    /// while there).
    #[cfg(test)]
    pub(crate) fn take(&self) -> Head {
        self.take_before(u64::MAX)
    }

    /// Reads the oldest record not in flight, if its sequence number is below `limit`, and
    /// marks it in flight (never dropped while there). Several may be in flight; decoding
    /// happens outside the lock, so the writer is not held up by it.
    pub(crate) fn take_before(&self, limit: u64) -> Head {
        let (seq, payload) = {
            let mut s = self.lock();
            let Some((&seq, &r)) = s.records.iter().find(|(seq, _)| !s.in_flight.contains(seq))
            else {
                return Head::Empty;
            };
            if seq >= limit {
                return Head::Empty;
            }
            let Some(seg) = s.segments.get(&r.segment) else {
                return Head::Empty;
            };
            let path = segment_path(&self.dir, r.segment, seg.sealed);
            let read = (|| -> std::io::Result<Vec<u8>> {
                let mut f = File::open(&path)?;
                f.seek(SeekFrom::Start(r.offset + HEADER_LEN as u64))?;
                let mut payload = vec![0u8; r.header.payload_len as usize];
                f.read_exact(&mut payload)?;
                Ok(payload)
            })();
            match read {
                Ok(payload) if record::payload_matches(&r.header, &payload) => {
                    s.in_flight.insert(seq);
                    (seq, Some(payload))
                }
                _ => (seq, None),
            }
        };
        if let Some(spans) = payload.and_then(|p| decode(&p).ok()) {
            return Head::Record(Taken { seq, spans });
        }
        // Changed on disk since it was written or read back: never send garbage.
        let mut s = self.lock();
        s.in_flight.remove(&seq);
        let mut removed = Removed::default();
        if let Some(r) = self.remove(&mut s, seq) {
            removed.add(&r);
        }
        Counters::add(&self.counters.spool_corrupt_records, 1);
        Counters::add(&self.counters.dropped_spool_corrupt, removed.spans as usize);
        self.publish(&s);
        Head::Unreadable(removed)
    }

    /// The record taken was accepted by the endpoint: remove it and persist the cursor.
    ///
    /// With several records in flight they may be acknowledged out of order; `ACKED` only
    /// moves over a contiguous run: it never passes a record still in the spool (in flight or
    /// released after a failure), so a restart skips nothing that was not exported.
    pub(crate) fn ack(&self, seq: u64) -> Removed {
        let mut s = self.lock();
        s.in_flight.remove(&seq);
        let mut removed = Removed::default();
        if let Some(r) = self.remove(&mut s, seq) {
            removed.add(&r);
        }
        s.max_acked = s.max_acked.max(seq);
        let first_waiting = s.records.keys().next().copied().unwrap_or(u64::MAX);
        let cursor = s.max_acked.min(first_waiting.saturating_sub(1));
        if cursor > s.cursor {
            s.cursor = cursor;
            let mut b = [0u8; 12];
            b[..8].copy_from_slice(&cursor.to_le_bytes());
            b[8..].copy_from_slice(&crc32fast::hash(&cursor.to_le_bytes()).to_le_bytes());
            // Best effort: a lost cursor means batches sent twice on the next start, not a loss.
            let _ = s
                .acked
                .seek(SeekFrom::Start(0))
                .and_then(|_| s.acked.write_all(&b));
        }
        self.publish(&s);
        removed
    }

    /// The record taken was refused by the collector as invalid (it can never be sent): it is
    /// removed like an acknowledged one; the caller counts its spans as rejected.
    pub(crate) fn reject(&self, seq: u64) -> Removed {
        self.ack(seq)
    }

    /// The record taken could not be exported; it stays in line, first unless an older one
    /// was released too.
    pub(crate) fn release(&self, seq: u64) {
        self.lock().in_flight.remove(&seq);
    }

    /// Completes the segment being written, so the next start finds it whole.
    pub(crate) fn seal(&self) {
        let mut s = self.lock();
        self.seal_current(&mut s);
    }

    /// Seals and releases the folder: the pipeline is done with it.
    pub(crate) fn close(&self) {
        self.seal();
        self.folder_lock
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
    }
}

#[cfg(test)]
mod tests;
