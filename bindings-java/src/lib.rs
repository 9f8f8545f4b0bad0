//! JNI bridge for the Java API (`io.ordertrace`, in `java/`).
//!
//! The Java side packs each call's strings into one `byte[]` of length-prefixed UTF-8 frames
//! ([`frames`]), so a stage starts with one native call however many attributes and headers it
//! carries, and no Java object is touched from Rust. The native functions ([`natives`]) unpack
//! the frames and call the C ABI of `ordertrace-ffi`: the same handles, status codes, error
//! messages and panic guard as the .NET bridge, one implementation for both. A JNI failure or
//! a panic in the bridge itself becomes `OrderTraceException` too ([`errors`]).
//!
//! Native threads: none is ever attached to the JVM. The export worker and heartbeat threads
//! are plain Rust threads that never call into Java.

pub mod errors;
pub mod frames;
mod natives;
