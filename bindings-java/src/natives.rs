//! The native methods of `io.ordertrace.NativeBridge`. Each unpacks its frames, calls the C
//! ABI and returns its status (or a handle, 0 on failure); the Java side turns failures into
//! `OrderTraceException` with `lastErrorCode()` and `lastError()`. `with_env` wraps every call
//! in `catch_unwind` and [`ThrowOrderTraceException`] turns a panic or JNI error into that
//! exception too; the C ABI guards its own calls as well, so no panic reaches the JVM.

use crate::errors::ThrowOrderTraceException;
use crate::frames::{self, FrameError};
use jni::objects::{JByteArray, JClass};
use jni::sys::{jdouble, jint, jlong};
use jni::{Env, EnvUnowned};
use ordertrace_ffi::*;
use std::cell::{Cell, RefCell};

thread_local! {
    static LAST_CODE: Cell<i32> = const { Cell::new(0) };
    /// A failure found here, before the C ABI was called (it has its own message).
    static LOCAL_MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn record(status: Status) -> i32 {
    let code = status.code();
    LAST_CODE.with(|c| c.set(code));
    LOCAL_MESSAGE.with(|m| *m.borrow_mut() = None);
    code
}

fn fail_here(status: Status, message: String) -> i32 {
    let code = status.code();
    LAST_CODE.with(|c| c.set(code));
    LOCAL_MESSAGE.with(|m| *m.borrow_mut() = Some(message));
    code
}

fn frame_failure(e: FrameError) -> i32 {
    fail_here(
        Status::InvalidInput,
        format!("malformed call from Java: {}", e.0),
    )
}

fn ot(bytes: &[u8]) -> OtStr {
    OtStr {
        ptr: bytes.as_ptr(),
        len: bytes.len(),
    }
}

fn text(bytes: &[u8], what: &str) -> Result<String, i32> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| fail_here(Status::InvalidUtf8, format!("{what} is not valid UTF-8")))
}

fn number<T: std::str::FromStr>(bytes: &[u8], what: &str) -> Result<T, i32> {
    let t = text(bytes, what)?;
    t.parse().map_err(|_| {
        fail_here(
            Status::InvalidInput,
            format!("{what} {t:?} is not a number"),
        )
    })
}

/// A handle from Java: 0 is "none".
fn handle<T>(h: jlong) -> *mut T {
    h as usize as *mut T
}

/// Fields of an attribute as the Java side sends them: key, kind, value as text.
fn attribute(fields: &[&[u8]]) -> Result<OtAttribute, i32> {
    let [key, kind, value] = fields else {
        return Err(fail_here(
            Status::InvalidInput,
            "an attribute needs key, kind and value".into(),
        ));
    };
    let kind: i32 = number(kind, "attribute kind")?;
    let mut a = OtAttribute {
        key: ot(key),
        kind,
        string_value: ot(b""),
        int_value: 0,
        double_value: 0.0,
    };
    match kind {
        OT_ATTR_STRING => a.string_value = ot(value),
        OT_ATTR_INT => a.int_value = number(value, "integer attribute")?,
        OT_ATTR_DOUBLE => a.double_value = number(value, "double attribute")?,
        OT_ATTR_BOOL => a.int_value = i64::from(value == b"true"),
        _ => {} // the C ABI names the bad kind
    }
    Ok(a)
}

fn headers(fields: &[&[u8]]) -> Result<Vec<OtHeader>, i32> {
    if !fields.len().is_multiple_of(2) {
        return Err(fail_here(
            Status::InvalidInput,
            "headers come in name/value pairs".into(),
        ));
    }
    Ok(fields
        .chunks(2)
        .map(|kv| OtHeader {
            key: ot(kv[0]),
            value: ot(kv[1]),
        })
        .collect())
}

fn tracer_new(config: &[u8]) -> jlong {
    let fields = match frames::split(config) {
        Ok(f) => f,
        Err(e) => {
            frame_failure(e);
            return 0;
        }
    };
    let [
        service,
        file,
        endpoint,
        protocol,
        start_records,
        heartbeat_ms,
        identity,
        read_env,
    ] = fields[..]
    else {
        fail_here(
            Status::InvalidInput,
            "tracer configuration needs 8 fields".into(),
        );
        return 0;
    };
    let parsed = (|| -> Result<OtTracerConfig, i32> {
        Ok(OtTracerConfig {
            service_name: ot(service),
            file: ot(file),
            otlp_endpoint: ot(endpoint),
            otlp_protocol: number(protocol, "protocol")?,
            start_records: number(start_records, "start records")?,
            heartbeat_ms: number(heartbeat_ms, "heartbeat")?,
            identity: number(identity, "identity")?,
            read_env: number(read_env, "read env")?,
        })
    })();
    let Ok(config) = parsed else { return 0 };
    let mut out = std::ptr::null_mut();
    // SAFETY: the config's strings borrow `fields`, alive for the call; `out` is writable.
    record(unsafe { ot_tracer_new(&config, &mut out) });
    out as usize as jlong
}

fn stage_start(tracer: jlong, encoded: &[u8]) -> jlong {
    let fields = match frames::split(encoded) {
        Ok(f) => f,
        Err(e) => {
            frame_failure(e);
            return 0;
        }
    };
    let built = (|| -> Result<(OtStageStart, Vec<OtAttribute>, Vec<OtHeader>), i32> {
        let [event, order, user, kind, from, to, count, rest @ ..] = &fields[..] else {
            return Err(fail_here(
                Status::InvalidInput,
                "a stage needs 7 leading fields".into(),
            ));
        };
        let count: usize = number(count, "attribute count")?;
        if rest.len() < count * 3 {
            return Err(fail_here(
                Status::InvalidInput,
                "fewer attribute fields than announced".into(),
            ));
        }
        let attributes = rest[..count * 3]
            .chunks(3)
            .map(attribute)
            .collect::<Result<Vec<_>, _>>()?;
        let headers = headers(&rest[count * 3..])?;
        let start = OtStageStart {
            event: ot(event),
            order_id: ot(order),
            user_id: ot(user),
            attributes: attributes.as_ptr(),
            attribute_count: attributes.len(),
            parent_headers: headers.as_ptr(),
            parent_header_count: headers.len(),
            kind: number(kind, "span kind")?,
            status_from: ot(from),
            status_to: ot(to),
        };
        Ok((start, attributes, headers))
    })();
    let Ok((start, _attributes, _headers)) = built else {
        return 0;
    };
    let mut out = std::ptr::null_mut();
    // SAFETY: `tracer` is a live handle owned by the Java tracer; `start` borrows `fields`,
    // `_attributes` and `_headers`, all alive for the call.
    record(unsafe { ot_stage_start(handle(tracer), &start, &mut out) });
    out as usize as jlong
}

/// Reads the text of a buffer the C ABI handed out, and frees it.
fn take_buffer(buffer: *mut OtBuffer) -> Option<Vec<u8>> {
    let mut s = ot(b"");
    // SAFETY: `buffer` is live until freed below.
    let status = unsafe { ot_buffer_str(buffer, &mut s) };
    let bytes = (status == Status::Ok).then(|| {
        // SAFETY: the C ABI's string is valid until the buffer is freed.
        unsafe { std::slice::from_raw_parts(s.ptr, s.len) }.to_vec()
    });
    // SAFETY: freed once.
    unsafe { ot_buffer_free(buffer) };
    bytes
}

fn bytes_out<'local>(
    env: &mut Env<'local>,
    bytes: Option<Vec<u8>>,
) -> jni::errors::Result<JByteArray<'local>> {
    match bytes {
        Some(b) => env.byte_array_from_slice(&b),
        None => Ok(JByteArray::default()),
    }
}

macro_rules! native {
    ($name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty, |$env:ident| $body:block) => {
        #[unsafe(no_mangle)]
        #[allow(non_snake_case)]
        pub extern "system" fn $name<'caller>(
            mut unowned: EnvUnowned<'caller>,
            _class: JClass<'caller>,
            $($arg: $ty),*
        ) -> $ret {
            unowned
                .with_env(|$env| -> jni::errors::Result<$ret> { $body })
                .resolve::<ThrowOrderTraceException>()
        }
    };
}

native!(Java_io_ordertrace_NativeBridge_tracerNew(config: JByteArray<'caller>) -> jlong, |env| {
    let bytes = env.convert_byte_array(&config)?;
    Ok(tracer_new(&bytes))
});

native!(Java_io_ordertrace_NativeBridge_tracerFromEnv() -> jlong, |_env| {
    let mut out = std::ptr::null_mut();
    // SAFETY: `out` is writable.
    record(unsafe { ot_tracer_from_env(&mut out) });
    Ok(out as usize as jlong)
});

native!(Java_io_ordertrace_NativeBridge_tracerFlush(tracer: jlong, timeout_ms: jlong) -> jint, |_env| {
    // SAFETY: a live handle from the Java tracer.
    Ok(record(unsafe { ot_tracer_flush(handle(tracer), timeout_ms.max(0) as u64) }))
});

native!(Java_io_ordertrace_NativeBridge_tracerShutdown(tracer: jlong, timeout_ms: jlong) -> jint, |_env| {
    // SAFETY: a live handle from the Java tracer.
    Ok(record(unsafe { ot_tracer_shutdown(handle(tracer), timeout_ms.max(0) as u64) }))
});

native!(Java_io_ordertrace_NativeBridge_tracerCounters(tracer: jlong) -> JByteArray<'caller>, |env| {
    let mut c = OtCounters::default();
    // SAFETY: a live handle from the Java tracer; `c` writable.
    let status = record(unsafe { ot_tracer_counters(handle(tracer), &mut c) });
    let out = (status == Status::Ok.code()).then(|| {
        let mut buf = Vec::new();
        for n in [c.spans_started, c.spans_exported, c.spans_dropped, c.spans_failed, c.failed_exports, c.queue_depth] {
            frames::push(&mut buf, n.to_string().as_bytes());
        }
        buf
    });
    bytes_out(env, out)
});

native!(Java_io_ordertrace_NativeBridge_tracerFree(tracer: jlong) -> jint, |_env| {
    // SAFETY: the Java tracer frees its handle once (Cleaner or close, whichever first).
    unsafe { ot_tracer_free(handle(tracer)) };
    Ok(Status::Ok.code())
});

native!(Java_io_ordertrace_NativeBridge_stageStart(tracer: jlong, encoded: JByteArray<'caller>) -> jlong, |env| {
    let bytes = env.convert_byte_array(&encoded)?;
    Ok(stage_start(tracer, &bytes))
});

native!(Java_io_ordertrace_NativeBridge_stageSetAttribute(stage: jlong, encoded: JByteArray<'caller>) -> jint, |env| {
    let bytes = env.convert_byte_array(&encoded)?;
    let fields = match frames::split(&bytes) {
        Ok(f) => f,
        Err(e) => return Ok(frame_failure(e)),
    };
    Ok(match attribute(&fields) {
        // SAFETY: a live stage handle; the attribute borrows `bytes`.
        Ok(a) => record(unsafe { ot_stage_set_attribute(handle(stage), &a) }),
        Err(code) => code,
    })
});

native!(Java_io_ordertrace_NativeBridge_stageRecordPrice(stage: jlong, amount: jdouble, currency: JByteArray<'caller>) -> jint, |env| {
    let currency = env.convert_byte_array(&currency)?;
    // SAFETY: a live stage handle; `currency` alive for the call.
    Ok(record(unsafe { ot_stage_record_price(handle(stage), amount, ot(&currency)) }))
});

fn with_error(
    stage: jlong,
    bytes: &[u8],
    f: unsafe extern "C" fn(*const OtStage, OtStr, OtStr, OtStr) -> Status,
) -> i32 {
    match frames::split(bytes) {
        Ok(fields) => match fields[..] {
            // SAFETY: a live stage handle; the strings borrow `bytes`.
            [t, m, s] => record(unsafe { f(handle(stage), ot(t), ot(m), ot(s)) }),
            _ => fail_here(
                Status::InvalidInput,
                "an error needs type, message and stack trace".into(),
            ),
        },
        Err(e) => frame_failure(e),
    }
}

native!(Java_io_ordertrace_NativeBridge_stageRecordError(stage: jlong, encoded: JByteArray<'caller>) -> jint, |env| {
    let bytes = env.convert_byte_array(&encoded)?;
    Ok(with_error(stage, &bytes, ot_stage_record_error))
});

native!(Java_io_ordertrace_NativeBridge_stageEndWithError(stage: jlong, encoded: JByteArray<'caller>) -> jint, |env| {
    let bytes = env.convert_byte_array(&encoded)?;
    Ok(with_error(stage, &bytes, ot_stage_end_with_error))
});

native!(Java_io_ordertrace_NativeBridge_stageEnd(stage: jlong) -> jint, |_env| {
    // SAFETY: a live stage handle.
    Ok(record(unsafe { ot_stage_end(handle(stage)) }))
});

native!(Java_io_ordertrace_NativeBridge_stageInject(stage: jlong) -> JByteArray<'caller>, |env| {
    let mut list = std::ptr::null_mut();
    // SAFETY: a live stage handle; `list` writable.
    let status = record(unsafe { ot_stage_inject(handle(stage), &mut list) });
    let mut out = None;
    if status == Status::Ok.code() {
        let mut n = 0usize;
        let mut buf = Vec::new();
        // SAFETY: `list` is live until freed below; the strings it hands out too.
        unsafe {
            ot_headers_len(list, &mut n);
            for i in 0..n {
                let (mut k, mut v) = (ot(b""), ot(b""));
                if ot_headers_get(list, i, &mut k, &mut v) == Status::Ok {
                    frames::push(&mut buf, std::slice::from_raw_parts(k.ptr, k.len));
                    frames::push(&mut buf, std::slice::from_raw_parts(v.ptr, v.len));
                }
            }
            ot_headers_free(list);
        }
        out = Some(buf);
    }
    bytes_out(env, out)
});

native!(Java_io_ordertrace_NativeBridge_stageIds(stage: jlong) -> JByteArray<'caller>, |env| {
    let mut ids = [0u8; 48];
    let (trace, span) = ids.split_at_mut(32);
    // SAFETY: a live stage handle; 32 and 16 writable bytes.
    let status = record(unsafe { ot_stage_ids(handle(stage), trace.as_mut_ptr(), span.as_mut_ptr()) });
    bytes_out(env, (status == Status::Ok.code()).then(|| ids.to_vec()))
});

native!(Java_io_ordertrace_NativeBridge_stageFree(stage: jlong) -> jint, |_env| {
    // SAFETY: the Java stage frees its handle once.
    unsafe { ot_stage_free(handle(stage)) };
    Ok(Status::Ok.code())
});

native!(Java_io_ordertrace_NativeBridge_headersCheck(encoded: JByteArray<'caller>) -> jint, |env| {
    let bytes = env.convert_byte_array(&encoded)?;
    let fields = match frames::split(&bytes) {
        Ok(f) => f,
        Err(e) => return Ok(frame_failure(e)),
    };
    Ok(match headers(&fields) {
        // SAFETY: the headers borrow `bytes`.
        Ok(list) => record(unsafe { ot_headers_check(list.as_ptr(), list.len()) }),
        Err(code) => code,
    })
});

native!(Java_io_ordertrace_NativeBridge_schemaJson() -> JByteArray<'caller>, |env| {
    let mut buffer = std::ptr::null_mut();
    // SAFETY: `buffer` writable.
    let status = record(unsafe { ot_schema_json(&mut buffer) });
    bytes_out(env, if status == Status::Ok.code() { take_buffer(buffer) } else { None })
});

native!(Java_io_ordertrace_NativeBridge_readSpansJson(path: JByteArray<'caller>) -> JByteArray<'caller>, |env| {
    let path = env.convert_byte_array(&path)?;
    let mut buffer = std::ptr::null_mut();
    // SAFETY: `path` alive for the call; `buffer` writable.
    let status = record(unsafe { ot_read_spans_json(ot(&path), &mut buffer) });
    bytes_out(env, if status == Status::Ok.code() { take_buffer(buffer) } else { None })
});

// Lets the Java tests prove that a panic in the bridge arrives as OrderTraceException (code
// PANIC) and leaves the JVM running. Package-private on the Java side; it changes no state.
native!(Java_io_ordertrace_NativeBridge_panicForTests() -> jint, |_env| {
    panic!("deliberate panic for the boundary test")
});

native!(Java_io_ordertrace_NativeBridge_lastErrorCode() -> jint, |_env| {
    Ok(LAST_CODE.with(Cell::get))
});

native!(Java_io_ordertrace_NativeBridge_lastError() -> JByteArray<'caller>, |env| {
    let local = LOCAL_MESSAGE.with(|m| m.borrow().clone());
    let message = match local {
        Some(m) => m.into_bytes(),
        None => {
            // SAFETY: NULL asks for the length; then a buffer of that length.
            let n = unsafe { ot_last_error_message(std::ptr::null_mut(), 0) };
            let mut buf = vec![0u8; n];
            unsafe { ot_last_error_message(buf.as_mut_ptr(), n) };
            buf
        }
    };
    bytes_out(env, Some(message))
});

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(fields: &[&str]) -> Vec<u8> {
        let mut buf = Vec::new();
        for f in fields {
            frames::push(&mut buf, f.as_bytes());
        }
        buf
    }

    #[test]
    fn a_stage_starts_from_one_frame_buffer_with_attributes_and_headers() {
        let dir = std::env::temp_dir().join(format!("ot-jni-{}", std::process::id()));
        let file = dir.join("s.jsonl");
        let path = file.to_str().unwrap();
        let t = tracer_new(&encode(&["crm-api", path, "", "0", "0", "0", "-1", "0"]));
        assert_ne!(t, 0);
        let s = stage_start(
            t,
            &encode(&[
                "order_confirmed",
                "ORD-1",
                "",
                "4",
                "",
                "",
                "2",
                "crm.channel",
                "0",
                "web",
                "crm.items",
                "1",
                "3",
                "baggage",
                "user.id=1b4e28ba-2fa1-11d2-883f-0016d3cca427",
            ]),
        );
        assert_ne!(s, 0, "{:?}", LOCAL_MESSAGE.with(|m| m.borrow().clone()));
        unsafe {
            assert_eq!(ot_stage_end(handle(s)), Status::Ok);
            ot_stage_free(handle(s));
            assert_eq!(ot_tracer_shutdown(handle(t), 5000), Status::Ok);
            ot_tracer_free(handle(t));
        }
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains("crm.channel") && text.contains("1b4e28ba"),
            "{text}"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn malformed_frames_fail_with_a_message_instead_of_a_handle() {
        assert_eq!(stage_start(0, &[0, 0, 0, 7]), 0);
        assert_eq!(LAST_CODE.with(Cell::get), Status::InvalidInput.code());
        assert_eq!(stage_start(0, &encode(&["order_confirmed", "ORD-1"])), 0);
        assert!(
            LOCAL_MESSAGE
                .with(|m| m.borrow().clone())
                .unwrap()
                .contains("7 leading fields")
        );
        let bad_count = encode(&["order_confirmed", "ORD-1", "", "0", "", "", "x"]);
        assert_eq!(stage_start(0, &bad_count), 0);
        assert!(
            LOCAL_MESSAGE
                .with(|m| m.borrow().clone())
                .unwrap()
                .contains("not a number")
        );
    }
}
