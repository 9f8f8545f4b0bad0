//! What the C ABI (`ordertrace-ffi`) and the JNI bridge (`ordertrace-jni`) both need, written
//! once: a failure on its way to another language ([`BridgeError`], with its entry in the
//! core's [`Status`] table), the panic guard ([`catch`]), UTF-8 views of foreign bytes
//! ([`utf8`]), the stage a handle owns ([`StageSlot`]) and a thread's spare allocation for it
//! ([`SpareBox`]), incoming headers laid out for a
//! crossing ([`incoming`]), a tracer's settings ([`tracer_settings`]). Neither bridge calls the other; both
//! call the core's Rust API through this crate.
//!
//! ```
//! use ordertrace_bridge::{BridgeError, catch, utf8};
//! use ordertrace::Status;
//! let e = catch(|| utf8(&[0xff], "order id")).unwrap_err();
//! assert_eq!(e.status, Status::InvalidUtf8);
//! let p = catch::<()>(|| panic!("boom")).unwrap_err();
//! assert_eq!(p.status, Status::Panic);
//! assert!(p.message.contains("boom"));
//! ```

#[cfg(feature = "native-allocator")]
mod allocator;
mod error;
mod incoming;
mod span_kind;
mod spans_json;
mod spare_box;
mod stage_slot;
mod text;
pub mod tracer_settings;

pub use error::{BridgeError, catch};
pub use incoming::{
    Incoming, READ_ORDER_ID, READ_PARENT_ID, READ_PROBLEM, READ_TRACE_ID, READ_USER_ID, incoming,
};
pub use ordertrace::Status;
pub use span_kind::span_kind;
pub use spans_json::spans_json;
pub use spare_box::SpareBox;
pub use stage_slot::StageSlot;
pub use text::{opt_utf8, utf8};
