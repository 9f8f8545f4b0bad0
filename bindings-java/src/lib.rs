//! JNI bridge for the Java API (`io.ordertrace`, in `java/`).
//!
//! The native functions (module `natives`) take Java primitives and strings as they are and
//! call the core's Rust API directly: a stage starts in one crossing and ends in one. What this
//! bridge shares with the C ABI (error conversion to the status table, the panic guard, the stage
//! behind a handle) is in `ordertrace-bridge`; neither bridge calls the other. Failures are
//! thrown from native code as `OrderTraceException` ([`errors`]).
//!
//! Native threads: none is ever attached to the JVM. The export worker and heartbeat threads
//! are plain Rust threads that never call into Java.

pub mod errors;
mod natives;
