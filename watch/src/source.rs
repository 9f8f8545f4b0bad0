//! What the outputs need to know about the source: when it last answered, its errors.

use serde_json::{Value, json};

/// Health of the span source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceHealth {
    /// `jaeger` or `file`.
    pub kind: &'static str,
    /// The URL or path.
    pub target: String,
    /// Last successful read, Unix ms.
    pub last_success_ms: Option<u64>,
    /// The last error, cleared by a success.
    pub last_error: Option<String>,
    /// Failed reads since start.
    pub errors_total: u64,
    /// Reads since start.
    pub reads_total: u64,
    /// Spans read since start (before de-duplication and checks).
    pub spans_read: u64,
}

impl SourceHealth {
    /// A source not read yet.
    pub fn new(kind: &'static str, target: &str) -> Self {
        SourceHealth {
            kind,
            target: target.to_string(),
            ..Default::default()
        }
    }

    /// Whether the data is too old to call any order fine.
    pub fn is_stale(&self, now_ms: u64, stale_after_ms: u64) -> bool {
        match self.last_success_ms {
            None => true,
            Some(t) => now_ms.saturating_sub(t) > stale_after_ms,
        }
    }

    /// Records a successful read of `spans` spans.
    pub fn succeeded(&mut self, now_ms: u64, spans: u64) {
        self.reads_total += 1;
        self.spans_read += spans;
        self.last_success_ms = Some(now_ms);
        self.last_error = None;
    }

    /// Records a failed read.
    pub fn failed(&mut self, error: String) {
        self.reads_total += 1;
        self.errors_total += 1;
        self.last_error = Some(error);
    }

    /// As JSON for the API and `--once --json`.
    pub fn to_json(&self, now_ms: u64, stale_after_ms: u64) -> Value {
        json!({
            "kind": self.kind,
            "target": self.target,
            "up": !self.is_stale(now_ms, stale_after_ms),
            "last_success_unix_ms": self.last_success_ms,
            "age_ms": self.last_success_ms.map(|t| now_ms.saturating_sub(t)),
            "last_error": self.last_error,
            "errors_total": self.errors_total,
            "reads_total": self.reads_total,
            "spans_read": self.spans_read,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_read_source_is_stale() {
        assert!(SourceHealth::new("file", "x").is_stale(10, 1000));
    }

    #[test]
    fn source_is_stale_once_its_last_success_is_too_old() {
        let mut h = SourceHealth::new("jaeger", "http://x");
        h.succeeded(1000, 5);
        assert!(!h.is_stale(1500, 1000));
        h.failed("down".into());
        assert!(!h.is_stale(1900, 1000));
        assert!(h.is_stale(2001, 1000));
        assert_eq!(h.errors_total, 1);
        assert_eq!(h.last_error.as_deref(), Some("down"));
    }
}
