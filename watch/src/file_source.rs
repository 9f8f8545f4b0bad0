//! Follows the embedded exporter's OTLP/JSON-lines file as it grows: reads only what was
//! appended since the last read, keeps a line still being written for the next read, and
//! starts over when the file is truncated or replaced.

use crate::config::WatchConfig;
use crate::error::{Result, WatchError};
use crate::otlp_scan;
use crate::tracker::{SkipReason, Tracker};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// A reader of one span file.
#[derive(Debug)]
pub struct FileFollower {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
    line: u64,
}

impl FileFollower {
    /// Follows `path` from its beginning.
    pub fn new(path: &Path) -> Self {
        FileFollower {
            path: path.to_path_buf(),
            offset: 0,
            partial: Vec::new(),
            line: 0,
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads what was appended and applies it; returns the spans read.
    pub fn read_new(
        &mut self,
        tracker: &mut Tracker,
        now_ms: u64,
        cfg: &WatchConfig,
    ) -> Result<u64> {
        let io = |source| WatchError::File {
            path: self.path.clone(),
            source,
        };
        let mut file = std::fs::File::open(&self.path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len < self.offset {
            // Truncated or replaced (the demo truncates it): read it again from the start.
            self.offset = 0;
            self.partial.clear();
            self.line = 0;
        }
        file.seek(SeekFrom::Start(self.offset)).map_err(io)?;
        let mut buf = Vec::with_capacity((len - self.offset) as usize);
        file.read_to_end(&mut buf).map_err(io)?;
        self.offset += buf.len() as u64;
        let mut spans = 0;
        let mut rest: &[u8] = &buf;
        while let Some(nl) = rest.iter().position(|b| *b == b'\n') {
            let (line, after) = rest.split_at(nl);
            rest = &after[1..];
            if self.partial.is_empty() {
                spans += self.apply_line(line, tracker, now_ms, cfg);
            } else {
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(line);
                spans += self.apply_line(&whole, tracker, now_ms, cfg);
            }
        }
        self.partial.extend_from_slice(rest);
        Ok(spans)
    }

    /// Ends a one-shot read: a last line without its newline is read if it is whole JSON,
    /// else counted as malformed (a truncated file).
    pub fn finish(&mut self, tracker: &mut Tracker, now_ms: u64, cfg: &WatchConfig) -> u64 {
        let rest = std::mem::take(&mut self.partial);
        if rest.iter().all(u8::is_ascii_whitespace) {
            return 0;
        }
        self.apply_line(&rest, tracker, now_ms, cfg)
    }

    fn apply_line(
        &mut self,
        line: &[u8],
        tracker: &mut Tracker,
        now_ms: u64,
        cfg: &WatchConfig,
    ) -> u64 {
        self.line += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            return 0;
        }
        // The fast reader (no JSON tree; another shard's traces skipped by id unparsed).
        match otlp_scan::scan(line, tracker.shard, |_| false) {
            Ok(read) => {
                tracker.count_skipped(SkipReason::MalformedSpan, read.skipped.len() as u64);
                tracker.count_skipped(SkipReason::OtherShard, read.other_shard);
                for s in &read.spans {
                    tracker.ingest(s, now_ms, cfg);
                }
                read.spans.len() as u64 + read.other_shard
            }
            Err(_) => {
                tracker.count_skipped(SkipReason::MalformedJson, 1);
                0
            }
        }
    }
}
