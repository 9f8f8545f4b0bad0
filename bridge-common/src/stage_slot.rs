//! The stage behind a foreign handle: open until it ends, after which its ids stay readable
//! and every other call is a [`Status::Closed`](ordertrace::Status::Closed) error.

use crate::error::BridgeError;
use opentelemetry::trace::{SpanId, TraceId};
use ordertrace::Stage;
use std::sync::Mutex;

/// A started stage owned by a handle of another language. Thread-safe.
#[derive(Debug)]
pub struct StageSlot {
    stage: Mutex<Option<Stage>>,
    // Kept raw: formatting them on every start would cost more than the rest of the call.
    trace_id: TraceId,
    span_id: SpanId,
}

impl StageSlot {
    /// Takes ownership of an open stage.
    pub fn new(stage: Stage) -> Self {
        let (trace_id, span_id) = stage.ids();
        Self {
            stage: Mutex::new(Some(stage)),
            trace_id,
            span_id,
        }
    }

    /// Trace and span id; readable after the stage ended.
    pub fn ids(&self) -> (TraceId, SpanId) {
        (self.trace_id, self.span_id)
    }

    /// Runs `f` on the stage while it is open.
    pub fn with_open<T>(
        &self,
        f: impl FnOnce(&mut Stage) -> Result<T, BridgeError>,
    ) -> Result<T, BridgeError> {
        let mut guard = self.stage.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_mut() {
            Some(stage) => f(stage),
            None => Err(BridgeError::closed("the stage")),
        }
    }

    /// Takes the open stage out, to end it; the slot is closed afterwards.
    pub fn take_open(&self) -> Result<Stage, BridgeError> {
        let mut guard = self.stage.lock().unwrap_or_else(|p| p.into_inner());
        guard.take().ok_or_else(|| BridgeError::closed("the stage"))
    }
}
