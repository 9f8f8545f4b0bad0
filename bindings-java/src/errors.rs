//! How a failure inside a native method reaches Java when it cannot be reported as a status:
//! a JNI error (for instance a null array passed to a native method) or a panic in this
//! bridge becomes an `io.ordertrace.OrderTraceException` with the C ABI's code
//! (`INVALID_INPUT` or `PANIC` of the status table) and a readable message, instead of the
//! `java.lang.RuntimeException` of the `jni` crate's default policy. Failures of the core
//! itself travel as status codes (see [`crate::natives`]); the Java side throws for them.
//!
//! Every native method resolves its outcome through [`ThrowOrderTraceException`], so no panic
//! unwinds into the JVM.

use jni::errors::ErrorPolicy;
use jni::objects::{JThrowable, JValue};
use jni::{Env, jni_sig, jni_str};
use ordertrace::Status;

/// Error policy of every native method: throw `OrderTraceException(code, message)` and return
/// the type's default (0 or null), which the Java side never reads because the call threw.
#[derive(Debug, Default)]
pub struct ThrowOrderTraceException;

impl<T: Default, E: std::error::Error> ErrorPolicy<T, E> for ThrowOrderTraceException {
    type Captures<'unowned_env_local: 'native_method, 'native_method> = ();

    fn on_error<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _captures: &mut Self::Captures<'unowned_env_local, 'native_method>,
        err: E,
    ) -> jni::errors::Result<T> {
        if !env.exception_check() {
            throw(env, Status::InvalidInput.code(), &jni_failure_message(&err));
        }
        Ok(T::default())
    }

    fn on_panic<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _captures: &mut Self::Captures<'unowned_env_local, 'native_method>,
        payload: Box<dyn std::any::Any + Send + 'static>,
    ) -> jni::errors::Result<T> {
        let message = panic_report(payload.as_ref());
        // A payload whose destructor panics must not unwind from here.
        std::mem::forget(payload);
        if env.exception_check() {
            env.exception_clear();
        }
        throw(env, Status::Panic.code(), &message);
        Ok(T::default())
    }
}

/// The message for a JNI-level failure of a call from Java.
pub fn jni_failure_message(err: &dyn std::error::Error) -> String {
    format!("the native call failed in the JNI bridge: {err}")
}

/// The message for a panic caught at the boundary.
pub fn panic_report(payload: &(dyn std::any::Any + Send)) -> String {
    format!(
        "ordertrace panicked (a bug, please report it): {}",
        ordertrace::error::panic_message(payload)
    )
}

/// Throws `OrderTraceException(code, message)`. If that object cannot be made, whatever Java
/// exception stopped it (an `OutOfMemoryError`, say) stays pending; failing even that, a
/// `RuntimeException` with the message. Either way the call returns to Java with an exception.
fn throw(env: &mut Env<'_>, code: i32, message: &str) {
    // `Env::throw` reports success as `Err(JavaException)`: an exception is now pending.
    let _ = (|| -> jni::errors::Result<()> {
        let text = env.new_string(message)?;
        let exception = env.new_object(
            jni_str!("io/ordertrace/OrderTraceException"),
            jni_sig!("(ILjava/lang/String;)V"),
            &[JValue::Int(code), JValue::from(&text)],
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
    fn panic_reports_name_the_panic_and_call_it_a_bug() {
        let caught = std::panic::catch_unwind(|| panic!("frame 3 out of range")).unwrap_err();
        let report = panic_report(caught.as_ref());
        assert_eq!(
            report,
            "ordertrace panicked (a bug, please report it): frame 3 out of range"
        );
    }

    #[test]
    fn jni_failures_say_where_they_happened() {
        let err = jni::errors::Error::NullPtr("convert_byte_array array argument");
        let message = jni_failure_message(&err);
        assert_eq!(
            message,
            "the native call failed in the JNI bridge: Null pointer in convert_byte_array array argument"
        );
    }
}
