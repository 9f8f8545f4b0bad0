//! How a failure inside a native method reaches Java: it is thrown from native code as
//! `io.ordertrace.OrderTraceException(code, message)`, with the code of the core's status
//! table ([`ordertrace::Status`]). A failure of the core or the bridge ([`BridgeError`]) keeps
//! its status; a JNI failure (a null array, say) is `INVALID_INPUT`; a panic is caught by
//! `with_env` and becomes `PANIC`. Java never asks for the error in a second call.

use jni::errors::ErrorPolicy;
use jni::objects::{JThrowable, JValue};
use jni::{Env, jni_sig, jni_str};
use ordertrace::Status;
use ordertrace_bridge::BridgeError;

/// The error of a native method's body: from the core or bridge, or from JNI itself.
#[derive(Debug, thiserror::Error)]
pub enum NativeError {
    /// Refused by the core or the bridge; carries its status.
    #[error("{0}")]
    Bridge(#[from] BridgeError),
    /// A JNI call failed (or a Java exception is already pending).
    #[error("{}", jni_failure_message(.0))]
    Jni(#[from] jni::errors::Error),
}

impl From<ordertrace::OrderTraceError> for NativeError {
    fn from(e: ordertrace::OrderTraceError) -> Self {
        Self::Bridge(e.into())
    }
}

/// Error policy of every native method: throw `OrderTraceException(code, message)` and return
/// the type's default (0 or null), which the Java side never reads because the call threw.
#[derive(Debug, Default)]
pub struct ThrowOrderTraceException;

impl<T: Default> ErrorPolicy<T, NativeError> for ThrowOrderTraceException {
    type Captures<'unowned_env_local: 'native_method, 'native_method> = ();

    fn on_error<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _captures: &mut Self::Captures<'unowned_env_local, 'native_method>,
        err: NativeError,
    ) -> jni::errors::Result<T> {
        // A Java exception already pending (thrown by a JNI call) is the better report.
        if !env.exception_check() {
            let (status, message) = match err {
                NativeError::Bridge(e) => (e.status, e.message),
                NativeError::Jni(e) => (Status::InvalidInput, jni_failure_message(&e)),
            };
            throw(env, status, &message);
        }
        Ok(T::default())
    }

    fn on_panic<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _captures: &mut Self::Captures<'unowned_env_local, 'native_method>,
        payload: Box<dyn std::any::Any + Send + 'static>,
    ) -> jni::errors::Result<T> {
        let report = BridgeError::panic(payload.as_ref());
        // A payload whose destructor panics must not unwind from here.
        std::mem::forget(payload);
        if env.exception_check() {
            env.exception_clear();
        }
        throw(env, report.status, &report.message);
        Ok(T::default())
    }
}

/// The message for a JNI-level failure of a call from Java.
pub fn jni_failure_message(err: &dyn std::error::Error) -> String {
    format!("the native call failed in the JNI bridge: {err}")
}

/// Throws `OrderTraceException(code, message)`. If that object cannot be made, whatever Java
/// exception stopped it (an `OutOfMemoryError`, say) stays pending; failing even that, a
/// `RuntimeException` with the message. Either way the call returns to Java with an exception.
fn throw(env: &mut Env<'_>, status: Status, message: &str) {
    // `Env::throw` reports success as `Err(JavaException)`: an exception is now pending.
    let _ = (|| -> jni::errors::Result<()> {
        let text = env.new_string(message)?;
        let exception = env.new_object(
            jni_str!("io/ordertrace/OrderTraceException"),
            jni_sig!("(ILjava/lang/String;)V"),
            &[JValue::Int(status.code()), JValue::from(&text)],
        )?;
        let exception = env.cast_local::<JThrowable>(exception)?;
        env.throw(exception)
    })();
    if !env.exception_check() {
        let _ = env.throw(message.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jni_failures_say_where_they_happened() {
        let err = jni::errors::Error::NullPtr("convert_byte_array array argument");
        let message = jni_failure_message(&err);
        assert_eq!(
            message,
            "the native call failed in the JNI bridge: Null pointer in convert_byte_array array argument"
        );
    }

    #[test]
    fn core_errors_keep_their_status_on_the_way_to_java() {
        let core = ordertrace::schema::validate_order_id("").unwrap_err();
        match NativeError::from(core) {
            NativeError::Bridge(e) => assert_eq!(e.status, Status::InvalidInput),
            other => panic!("{other:?}"),
        }
    }
}
