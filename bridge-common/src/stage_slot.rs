//! The stage behind a foreign handle: open until it ends, after which its ids stay readable
//! and every other call is a [`Status::Closed`](ordertrace::Status::Closed) error.
//!
//! Why not `Mutex<Option<Stage>>`: a handle is almost always used by one thread, start, end,
//! free, and the mutex with its poison checks, the `Option` and the stage moved out of it were
//! about a fifth of a C ABI round trip's extra cost (BENCHMARKS.md, issue 13). One atomic
//! state byte guards the stage instead; two threads using one handle at the same moment still
//! take turns.

use crate::error::BridgeError;
use opentelemetry::trace::{SpanId, TraceId};
use ordertrace::Stage;
use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU8, Ordering};

/// The stage is there and nobody is using it.
const OPEN: u8 = 0;
/// One call is using the stage; another waits its turn.
const BUSY: u8 = 1;
/// The stage was taken out to end; the slot holds only its ids.
const ENDED: u8 = 2;

/// A started stage owned by a handle of another language. Thread-safe.
pub struct StageSlot {
    state: AtomicU8,
    /// Initialised while `state` is `OPEN` or `BUSY`; moved out when it becomes `ENDED`.
    stage: UnsafeCell<MaybeUninit<Stage>>,
    // Kept raw: formatting them on every start would cost more than the rest of the call.
    trace_id: TraceId,
    span_id: SpanId,
}

// SAFETY: the stage is reached only by the one caller that moved `state` from OPEN to BUSY
// (or through `&mut self`), as a `Mutex<Stage>` would allow; `Stage` is `Send`.
unsafe impl Sync for StageSlot {}
const _: () = {
    const fn stage_is_send<T: Send>() {}
    stage_is_send::<Stage>();
};

impl std::fmt::Debug for StageSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StageSlot")
            .field("open", &(self.state.load(Ordering::Relaxed) != ENDED))
            .field("trace_id", &self.trace_id)
            .field("span_id", &self.span_id)
            .finish()
    }
}

/// Puts the state back to `OPEN` when the call using the stage returns or unwinds, so a
/// panic inside one call does not lock the handle for the next.
struct Reopen<'a>(&'a AtomicU8);

impl Drop for Reopen<'_> {
    fn drop(&mut self) {
        self.0.store(OPEN, Ordering::Release);
    }
}

impl StageSlot {
    /// Takes ownership of an open stage.
    pub fn new(stage: Stage) -> Self {
        let (trace_id, span_id) = stage.ids();
        Self {
            state: AtomicU8::new(OPEN),
            stage: UnsafeCell::new(MaybeUninit::new(stage)),
            trace_id,
            span_id,
        }
    }

    /// Trace and span id; readable after the stage ended.
    pub fn ids(&self) -> (TraceId, SpanId) {
        (self.trace_id, self.span_id)
    }

    /// Moves the state from `OPEN` to `BUSY`, waiting while another call is using the stage;
    /// a closed error once it has ended.
    fn claim(&self) -> Result<(), BridgeError> {
        let mut spins = 0u32;
        loop {
            match self
                .state
                .compare_exchange_weak(OPEN, BUSY, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(ENDED) => return Err(BridgeError::closed("the stage")),
                // BUSY, or a spurious failure: the other call is short (an attribute, a price).
                Err(_) => {
                    spins += 1;
                    if spins < 64 {
                        std::hint::spin_loop();
                    } else {
                        std::thread::yield_now();
                    }
                }
            }
        }
    }

    /// Runs `f` on the stage while it is open.
    pub fn with_open<T>(
        &self,
        f: impl FnOnce(&mut Stage) -> Result<T, BridgeError>,
    ) -> Result<T, BridgeError> {
        self.claim()?;
        let _reopen = Reopen(&self.state);
        // SAFETY: this call moved the state to BUSY, so the stage is initialised and no other
        // call touches it until `_reopen` puts the state back.
        f(unsafe { (*self.stage.get()).assume_init_mut() })
    }

    /// Takes the open stage out and hands it to `end` (which ends it); the slot is closed
    /// afterwards. A closed error, `end` not called, if it had ended already.
    pub fn end_open<T>(&self, end: impl FnOnce(Stage) -> T) -> Result<T, BridgeError> {
        self.claim()?;
        // SAFETY: this call moved the state to BUSY, so the stage is initialised and ours;
        // ENDED, stored before `end` can unwind, says it has been moved out, so it is never
        // read or dropped again.
        let stage = unsafe { (*self.stage.get()).assume_init_read() };
        self.state.store(ENDED, Ordering::Release);
        Ok(end(stage))
    }
}

impl Drop for StageSlot {
    fn drop(&mut self) {
        // Freed while open: the stage ends as a dropped Rust stage does.
        if *self.state.get_mut() != ENDED {
            // SAFETY: not ENDED, so the stage is still in the slot; `&mut self` excludes
            // every other call.
            unsafe { self.stage.get_mut().assume_init_drop() };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ordertrace::{OrderEvent, OrderTracer, Status};
    use std::sync::Arc;

    fn tracer() -> OrderTracer {
        OrderTracer::builder()
            .without_env()
            .service_name("slot-test")
            .discard()
            .start_records(false)
            .heartbeat_interval(None)
            .build()
            .expect("tracer")
    }

    /// Stages ended so far: their spans reached the (discarding) exporter.
    fn ended(tracer: &OrderTracer) -> u64 {
        tracer
            .flush(std::time::Duration::from_secs(10))
            .expect("flush");
        tracer.counters().spans_exported
    }

    fn slot(tracer: &OrderTracer) -> StageSlot {
        StageSlot::new(
            tracer
                .stage(OrderEvent::PriceCalculated, "ORD-1")
                .start()
                .expect("stage"),
        )
    }

    #[test]
    fn an_open_stage_is_usable_until_it_is_taken_out() {
        let t = tracer();
        let s = slot(&t);
        s.with_open(|st| Ok(st.set_attribute("mes.workcenter", "WC-1")?))
            .expect("open");
        s.end_open(Stage::end).expect("taken");
        let e = s.with_open(|_| Ok(())).expect_err("closed");
        assert_eq!(e.status, Status::Closed);
        let again = s.end_open(|_| panic!("not called on an ended stage"));
        assert_eq!(again.expect_err("closed").status, Status::Closed);
        assert_eq!(ended(&t), 1);
    }

    #[test]
    fn ids_stay_readable_after_the_end() {
        let t = tracer();
        let s = slot(&t);
        let before = s.ids();
        s.end_open(Stage::end).expect("taken");
        assert_eq!(s.ids(), before);
        assert_ne!(before.0, TraceId::INVALID);
    }

    #[test]
    fn a_slot_dropped_open_ends_its_stage_once() {
        let t = tracer();
        drop(slot(&t));
        let s = slot(&t);
        s.end_open(Stage::end).expect("taken");
        drop(s);
        assert_eq!(ended(&t), 2);
    }

    #[test]
    fn a_panic_inside_a_call_leaves_the_slot_usable() {
        let t = tracer();
        let s = slot(&t);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _: Result<(), BridgeError> = s.with_open(|_| panic!("inside the slot"));
        }));
        assert!(caught.is_err());
        s.with_open(|st| Ok(st.set_attribute("after", 1i64)?))
            .expect("usable after the panic");
        s.end_open(Stage::end).expect("taken");
    }

    #[test]
    fn threads_sharing_a_handle_take_turns_and_only_one_ends_it() {
        let t = tracer();
        let s = Arc::new(slot(&t));
        let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let all_done = Arc::new(std::sync::Barrier::new(4));
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let s = Arc::clone(&s);
                let counter = Arc::clone(&counter);
                let all_done = Arc::clone(&all_done);
                std::thread::spawn(move || {
                    for _ in 0..2_000 {
                        s.with_open(|_| {
                            // A non-atomic read-modify-write: lost updates if two calls
                            // were inside at once.
                            let v = counter.load(Ordering::Relaxed);
                            std::hint::spin_loop();
                            counter.store(v + 1, Ordering::Relaxed);
                            Ok(())
                        })
                        .expect("open");
                    }
                    // Then all race to end it.
                    all_done.wait();
                    s.end_open(Stage::end).is_ok()
                })
            })
            .collect();
        let winners: usize = workers
            .into_iter()
            .map(|w| usize::from(w.join().expect("worker")))
            .sum();
        assert_eq!(counter.load(Ordering::Relaxed), 8_000);
        assert_eq!(winners, 1, "exactly one end_open wins");
        assert_eq!(ended(&t), 1);
    }
}
