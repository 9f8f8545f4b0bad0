//! The embedded exporter: each batch becomes one line of OTLP/JSON (an
//! `ExportTraceServiceRequest`) appended to a local file. Needs no server; the demo, the tests
//! and the bridges' tests read spans back from it with [`crate::otlp_json`].

use crate::error::{OrderTraceError, Result};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// One open file shared by every tracer of the process that writes to the same path, so lines
/// from several services never interleave.
#[derive(Debug)]
struct SharedFile {
    path: PathBuf,
    file: Mutex<File>,
}

fn open_shared(path: &Path) -> Result<Arc<SharedFile>> {
    static OPEN: OnceLock<Mutex<HashMap<PathBuf, Weak<SharedFile>>>> = OnceLock::new();
    let file_err = |source| OrderTraceError::File {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(file_err)?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(file_err)?;
    // Key by the canonical path so "./a.jsonl" and "a.jsonl" share one writer.
    let key = path.canonicalize().map_err(file_err)?;
    let registry = OPEN.get_or_init(Default::default);
    let mut open = registry.lock().unwrap_or_else(|p| p.into_inner());
    open.retain(|_, w| w.strong_count() > 0);
    if let Some(existing) = open.get(&key).and_then(Weak::upgrade) {
        return Ok(existing);
    }
    let shared = Arc::new(SharedFile {
        path: key.clone(),
        file: Mutex::new(file),
    });
    open.insert(key, Arc::downgrade(&shared));
    Ok(shared)
}

/// Writes batches as OTLP/JSON lines.
#[derive(Debug)]
pub(crate) struct FileExporter {
    file: Arc<SharedFile>,
    resource: ResourceAttributesWithSchema,
}

impl FileExporter {
    /// Opens (creating parent folders) `path` for appending.
    pub(crate) fn open(path: &Path, resource: &Resource) -> Result<Self> {
        Ok(Self {
            file: open_shared(path)?,
            resource: resource.into(),
        })
    }

    /// Appends one line holding the whole batch.
    pub(crate) fn write(&self, batch: Vec<SpanData>) -> Result<()> {
        let request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(batch, &self.resource),
        };
        let mut line =
            serde_json::to_vec(&request).map_err(|e| OrderTraceError::Export(e.to_string()))?;
        line.push(b'\n');
        let mut file = self.file.file.lock().unwrap_or_else(|p| p.into_inner());
        file.write_all(&line)
            .and_then(|_| file.flush())
            .map_err(|source| OrderTraceError::File {
                path: self.file.path.clone(),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_reports_unwritable_path() {
        let err = FileExporter::open(
            Path::new("/proc/definitely/not/here.jsonl"),
            &Resource::builder_empty().build(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot use file /proc/definitely"),
            "{err}"
        );
    }

    #[test]
    fn same_path_shares_one_writer() {
        let dir = std::env::temp_dir().join(format!("ordertrace-fe-{}", std::process::id()));
        let path = dir.join("shared.jsonl");
        let r = Resource::builder_empty().build();
        let a = FileExporter::open(&path, &r).unwrap();
        let b = FileExporter::open(&dir.join(".").join("shared.jsonl"), &r).unwrap();
        assert!(Arc::ptr_eq(&a.file, &b.file));
        let _ = std::fs::remove_dir_all(dir);
    }
}
