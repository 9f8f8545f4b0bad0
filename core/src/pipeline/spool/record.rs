//! The bytes of a segment: its magic, then records, each with its length and checksums. Pure
//! functions over byte slices, so every way a file can be broken is tested without a disk.

/// The first 8 bytes of every segment file.
pub(crate) const SEGMENT_MAGIC: &[u8; 8] = b"OTSPOOL1";
/// The first 4 bytes of every record.
const RECORD_MAGIC: [u8; 4] = *b"OTRC";
/// Bytes before a record's payload.
pub(crate) const HEADER_LEN: usize = 36;

/// What a record's header says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordHeader {
    /// Position of the batch in the order of export.
    pub(crate) seq: u64,
    /// When it was written, Unix milliseconds (the age bound reads it).
    pub(crate) written_ms: u64,
    /// Spans in the payload.
    pub(crate) spans: u32,
    /// Length of the payload.
    pub(crate) payload_len: u32,
    /// CRC32 of the payload.
    pub(crate) payload_crc: u32,
}

impl RecordHeader {
    /// Header plus payload.
    pub(crate) fn total_len(&self) -> u64 {
        HEADER_LEN as u64 + u64::from(self.payload_len)
    }
}

/// One record as written: header then payload, in one buffer so it is one `write`.
#[cfg(test)]
pub(crate) fn encode(seq: u64, written_ms: u64, spans: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; HEADER_LEN];
    out.extend_from_slice(payload);
    fill_header(&mut out, seq, written_ms, spans);
    out
}

/// Writes the header into the first [`HEADER_LEN`] bytes of `rec`, whose payload follows
/// them; the payload is encoded in place, so it is never copied behind a header. `rec` must
/// be at least `HEADER_LEN` long.
pub(crate) fn fill_header(rec: &mut [u8], seq: u64, written_ms: u64, spans: u32) {
    let (head, payload) = rec.split_at_mut(HEADER_LEN);
    head[0..4].copy_from_slice(&RECORD_MAGIC);
    head[4..8].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    head[8..16].copy_from_slice(&seq.to_le_bytes());
    head[16..24].copy_from_slice(&written_ms.to_le_bytes());
    head[24..28].copy_from_slice(&spans.to_le_bytes());
    head[28..32].copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
    let header_crc = crc32fast::hash(&head[..32]);
    head[32..36].copy_from_slice(&header_crc.to_le_bytes());
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Parses a header; `None` if the magic or its checksum is wrong (or it is too short).
pub(crate) fn parse_header(b: &[u8]) -> Option<RecordHeader> {
    if b.len() < HEADER_LEN || b[..4] != RECORD_MAGIC {
        return None;
    }
    if crc32fast::hash(&b[..HEADER_LEN - 4]) != le_u32(b, HEADER_LEN - 4) {
        return None;
    }
    Some(RecordHeader {
        payload_len: le_u32(b, 4),
        seq: le_u64(b, 8),
        written_ms: le_u64(b, 16),
        spans: le_u32(b, 24),
        payload_crc: le_u32(b, 28),
    })
}

/// Whether `payload` is the one `header` describes.
pub(crate) fn payload_matches(header: &RecordHeader, payload: &[u8]) -> bool {
    payload.len() == header.payload_len as usize && crc32fast::hash(payload) == header.payload_crc
}

/// What reading a whole segment found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct SegmentScan {
    /// Good records with their offsets, in file order.
    pub(crate) records: Vec<(RecordHeader, u64)>,
    /// Records (or unreadable tails) skipped: torn, bad checksum, not ours.
    pub(crate) corrupt_records: u64,
    /// Spans in skipped records whose header was intact (a torn header's count is unknown).
    pub(crate) corrupt_spans: u64,
}

/// Reads a segment's bytes: good records are kept; a record whose payload fails its checksum
/// is skipped and reading goes on; a torn or unreadable header ends the segment (nothing after
/// it can be trusted to be a record boundary). Never fails, never returns garbage.
pub(crate) fn scan(bytes: &[u8]) -> SegmentScan {
    let mut scan = SegmentScan::default();
    if bytes.is_empty() {
        return scan; // created, never written
    }
    if bytes.len() < SEGMENT_MAGIC.len() || &bytes[..SEGMENT_MAGIC.len()] != SEGMENT_MAGIC {
        scan.corrupt_records = 1;
        return scan;
    }
    let mut off = SEGMENT_MAGIC.len();
    while off < bytes.len() {
        let Some(header) = parse_header(&bytes[off..]) else {
            scan.corrupt_records += 1; // torn or garbled header: the rest is unreadable
            break;
        };
        let end = off as u64 + header.total_len();
        if end > bytes.len() as u64 {
            scan.corrupt_records += 1; // torn tail: the write did not finish
            scan.corrupt_spans += u64::from(header.spans);
            break;
        }
        let payload = &bytes[off + HEADER_LEN..end as usize];
        if payload_matches(&header, payload) {
            scan.records.push((header, off as u64));
        } else {
            scan.corrupt_records += 1;
            scan.corrupt_spans += u64::from(header.spans);
        }
        off = end as usize;
    }
    scan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(records: &[(u64, &[u8])]) -> Vec<u8> {
        let mut out = SEGMENT_MAGIC.to_vec();
        for (seq, payload) in records {
            out.extend(encode(*seq, 1_000 + seq, 10 + *seq as u32, payload));
        }
        out
    }

    #[test]
    fn scan_reads_back_every_record_in_order() {
        let bytes = segment(&[(1, b"first"), (2, b"second"), (3, b"")]);
        let scan = scan(&bytes);
        let seqs: Vec<u64> = scan.records.iter().map(|(h, _)| h.seq).collect();
        assert_eq!(seqs, [1, 2, 3]);
        assert_eq!(scan.records[1].0.spans, 12);
        assert_eq!(scan.records[1].0.written_ms, 1_002);
        assert_eq!(scan.records[0].1, SEGMENT_MAGIC.len() as u64);
        assert_eq!(scan.corrupt_records, 0);
    }

    #[test]
    fn scan_skips_a_torn_tail_and_counts_its_spans() {
        let mut bytes = segment(&[(1, b"first"), (2, b"second-record")]);
        bytes.truncate(bytes.len() - 3); // the last write stopped short
        let scan = scan(&bytes);
        assert_eq!(scan.records.len(), 1);
        assert_eq!(scan.records[0].0.seq, 1);
        assert_eq!((scan.corrupt_records, scan.corrupt_spans), (1, 12));
    }

    #[test]
    fn scan_skips_a_torn_header_without_knowing_its_spans() {
        let mut bytes = segment(&[(1, b"first"), (2, b"second")]);
        let second = bytes.len() - (HEADER_LEN + 6);
        bytes.truncate(second + 10);
        let scan = scan(&bytes);
        assert_eq!(scan.records.len(), 1);
        assert_eq!((scan.corrupt_records, scan.corrupt_spans), (1, 0));
    }

    #[test]
    fn scan_skips_a_record_with_a_bad_payload_checksum_and_reads_on() {
        let mut bytes = segment(&[(1, b"first"), (2, b"second"), (3, b"third")]);
        let second_payload = SEGMENT_MAGIC.len() + HEADER_LEN + 5 + HEADER_LEN;
        bytes[second_payload] ^= 0x40;
        let scan = scan(&bytes);
        let seqs: Vec<u64> = scan.records.iter().map(|(h, _)| h.seq).collect();
        assert_eq!(seqs, [1, 3]);
        assert_eq!((scan.corrupt_records, scan.corrupt_spans), (1, 12));
    }

    #[test]
    fn scan_stops_at_a_header_with_a_bad_checksum() {
        let mut bytes = segment(&[(1, b"first"), (2, b"second"), (3, b"third")]);
        let second_header = SEGMENT_MAGIC.len() + HEADER_LEN + 5;
        bytes[second_header + 9] ^= 0x01; // inside the seq field
        let scan = scan(&bytes);
        assert_eq!(scan.records.len(), 1);
        assert_eq!(scan.corrupt_records, 1);
    }

    #[test]
    fn scan_rejects_a_file_that_is_not_a_segment() {
        let scan = scan(b"{\"resourceSpans\":[]}\n");
        assert!(scan.records.is_empty());
        assert_eq!(scan.corrupt_records, 1);
    }

    #[test]
    fn scan_of_an_empty_file_finds_nothing_wrong() {
        assert_eq!(scan(b""), SegmentScan::default());
        assert_eq!(scan(SEGMENT_MAGIC), SegmentScan::default());
    }

    #[test]
    fn parse_header_refuses_another_magic() {
        let mut rec = encode(5, 6, 7, b"x");
        rec[0] = b'X';
        assert_eq!(parse_header(&rec), None);
        rec[0] = b'O';
        assert_eq!(parse_header(&rec).map(|h| h.seq), Some(5));
    }
}
