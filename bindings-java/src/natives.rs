//! The native methods of `io.ordertrace.NativeBridge`. Each takes Java primitives as
//! primitives and strings as `String` (short ids read in place into stack buffers, no
//! intermediate encoding), calls the core's Rust API directly, and returns a value. The
//! common stage (start, end, free) runs straight on the `JNIEnv` ([`direct`]); everything else
//! through the `jni` crate's `with_env`. A failure is thrown
//! from here as `OrderTraceException(code, message)` with the code of the core's status table
//! ([`crate::errors`]), so Java never makes a second call to fetch an error. A stage is one
//! crossing to start it and one to end it; no global reference is created per stage.
//!
//! Handles are `Box` pointers handed to Java as `long`: an [`OrderTracer`] and a
//! [`StageSlot`] (shared with the C ABI, `ordertrace-bridge`). Java frees each exactly once.

use crate::errors::{NativeError, ThrowOrderTraceException};
use jni::objects::{JClass, JDoubleArray, JIntArray, JLongArray, JObjectArray, JString};
use jni::refs::Reference as _;
use jni::sys::{jboolean, jdouble, jint, jlong};
use jni::{Env, EnvUnowned};
use ordertrace::{AttributeValue, ErrorInfo, OrderEvent, OrderTracer, Stage, propagation};
use ordertrace_bridge::tracer_settings::TracerSettings;
use ordertrace_bridge::{BridgeError, SpareBox, StageSlot, span_kind};
use std::mem::MaybeUninit;
use std::time::Duration;

type Result<T> = std::result::Result<T, NativeError>;

/// Room for a string read in place: the longest order id (128 UTF-16 units) at the 3 bytes per
/// unit modified UTF-8 may take, plus the NUL HotSpot writes after them.
const SHORT_TEXT: usize = 3 * 128 + 1;

/// A Java string as Rust text, borrowed from `buf` when it can be; `None` for a Java null.
///
/// Why not only `GetStringUTFChars`: it allocates a copy in the JVM, the `jni` crate then
/// makes an owned `String`, and its release re-checks the thread's attachment: on a stage
/// start that was most of the bridge's own cost (BENCHMARKS.md, JNI profile). A short string
/// is copied into the caller's zeroed stack buffer with `GetStringUTFRegion` instead. Modified
/// UTF-8 never contains a zero byte (U+0000 is written as C0 80), so the first zero in the
/// buffer ends the copy, with no separate length call; when that length equals the string's
/// length in UTF-16 units, every char was ASCII, where modified UTF-8 and UTF-8 agree byte for
/// byte. Anything else takes the general path.
fn java_str<'b>(
    env: &Env<'_>,
    s: &JString<'_>,
    buf: &'b mut [u8; SHORT_TEXT],
) -> Result<Option<std::borrow::Cow<'b, str>>> {
    if s.is_null() {
        return Ok(None);
    }
    let raw = env.get_raw();
    let jstr = s.as_raw();
    // SAFETY: `raw` is this thread's live JNIEnv (we are inside a native method) and `jstr` a
    // live, non-null local reference; both functions are in every JVM since JNI 1.2.
    let units = unsafe { ((**raw).v1_1.GetStringLength)(raw, jstr) };
    if units == 0 {
        return Ok(Some(std::borrow::Cow::Borrowed("")));
    }
    if usize::try_from(units).is_ok_and(|n| n * 3 < SHORT_TEXT) {
        // SAFETY: as above; the region [0, units) is the whole string and takes at most
        // 3 × units bytes plus a NUL, which `buf` has.
        unsafe {
            ((**raw).v1_2.GetStringUTFRegion)(raw, jstr, 0, units, buf.as_mut_ptr().cast());
        }
        let n = buf.iter().position(|&b| b == 0).unwrap_or(SHORT_TEXT);
        if n == units as usize
            && let Ok(text) = std::str::from_utf8(&buf[..n])
        {
            return Ok(Some(std::borrow::Cow::Borrowed(text)));
        }
    }
    let chars = s.mutf8_chars(env)?;
    Ok(Some(std::borrow::Cow::Owned(chars.to_str().into_owned())))
}

/// The longest id the common path reads in place, in UTF-16 units (an order id has at most
/// 128 bytes; a longer one takes the general path, which reports it).
const SHORT_ID_UNITS: usize = 128;

/// Stack room to read one short id in place: its UTF-16 units, then their ASCII bytes.
struct ShortId {
    units: [MaybeUninit<u16>; SHORT_ID_UNITS],
    bytes: [MaybeUninit<u8>; SHORT_ID_UNITS],
}

impl ShortId {
    fn new() -> Self {
        Self {
            units: [MaybeUninit::uninit(); SHORT_ID_UNITS],
            bytes: [MaybeUninit::uninit(); SHORT_ID_UNITS],
        }
    }
}

/// A Java string of `units` UTF-16 units (its `length()`, passed by Java) as text borrowed from
/// `buf`, read with one JNI call and no `jni` crate book-keeping; `""` for a Java null.
/// `None` when it is not short ASCII text: the caller then takes the general path
/// ([`java_str`]), which handles every string.
///
/// Why `GetStringRegion` (UTF-16) and not `GetStringUTFRegion`: for the JVM's one-byte
/// (Latin-1) strings the first is a plain widening copy, while the second encodes char by
/// char (`UNICODE::as_utf8`, the larger part of reading the ids in `perf`); narrowing ASCII
/// units here is a vector loop.
///
/// Why the length comes from Java: `GetStringLength` is a JNI call with a VM transition of
/// its own, while Java has the length at hand. `NativeBridge` is package-private and
/// `StageBuilder.start` passes each string's own `length()`. A length beyond the string makes
/// the JVM throw `StringIndexOutOfBoundsException` and write nothing; the units were filled
/// with a non-ASCII value first, and a read that is not ASCII asks whether an exception is
/// pending: then it is cleared and reported as invalid input (no other JNI call runs with it).
///
/// # Safety
/// `raw` must be the `JNIEnv` of the native method running on this thread, and `s` one of its
/// arguments.
unsafe fn ascii_in_place<'b>(
    raw: *mut jni::sys::JNIEnv,
    s: &JString<'_>,
    units: jint,
    buf: &'b mut ShortId,
) -> Result<Option<&'b str>> {
    if s.is_null() || units == 0 {
        return Ok(Some(""));
    }
    let Some(n) = usize::try_from(units).ok().filter(|&n| n <= SHORT_ID_UNITS) else {
        return Ok(None);
    };
    buf.units[..n].fill(MaybeUninit::new(u16::MAX));
    // SAFETY: `raw` is this thread's live JNIEnv and `s` a live, non-null local reference (the
    // function's contract); the region [0, units) is n <= SHORT_ID_UNITS units, which `buf`
    // has. GetStringRegion is in every JVM since JNI 1.2.
    unsafe {
        ((**raw).v1_2.GetStringRegion)(raw, s.as_raw(), 0, units, buf.units.as_mut_ptr().cast());
    }
    // SAFETY: [0, n) was initialised by the fill above (the JVM only overwrites it).
    let read = unsafe { std::slice::from_raw_parts(buf.units.as_ptr().cast::<u16>(), n) };
    match ascii_text(read, &mut buf.bytes) {
        Some(text) => Ok(Some(text)),
        // SAFETY: as above; ExceptionCheck and ExceptionClear are allowed with an exception
        // pending.
        None if unsafe { ((**raw).v1_2.ExceptionCheck)(raw) } => {
            unsafe { ((**raw).v1_1.ExceptionClear)(raw) };
            Err(BridgeError::invalid(format!(
                "a string length of {units} was passed for a shorter string (NativeBridge.stageStart)"
            ))
            .into())
        }
        None => Ok(None),
    }
}

/// `units` as text written into `out` when every unit is ASCII; `None` otherwise.
fn ascii_text<'b>(units: &[u16], out: &'b mut [MaybeUninit<u8>]) -> Option<&'b str> {
    let out = out.get_mut(..units.len())?;
    // Without an early exit, so both loops run many units a step.
    if units.iter().fold(0u16, |acc, &u| acc | u) >= 0x80 {
        return None;
    }
    for (b, &u) in out.iter_mut().zip(units) {
        *b = MaybeUninit::new(u as u8);
    }
    // SAFETY: every byte of `out` was just written, each below 0x80: ASCII, so UTF-8.
    Some(unsafe {
        std::str::from_utf8_unchecked(std::slice::from_raw_parts(
            out.as_ptr().cast::<u8>(),
            out.len(),
        ))
    })
}

/// Runs a native method's common case straight on its `JNIEnv`, without the `jni` crate's
/// attach guard and `with_env` (the guard's thread-local book-keeping was about 9 % of a
/// stage in `perf`, BENCHMARKS.md "Issue 13: JNI binding (jni13)"). `common` answers
/// `Ok(Some(value))` when it handled the call and `Ok(None)` when the call needs the general
/// path, which runs through `with_env`. An error or a panic of `common` is thrown through the
/// same policy as every other native method ([`ThrowOrderTraceException`]), so Java sees the
/// same `OrderTraceException` either way.
fn direct<'caller, T: Default + 'caller>(
    unowned: &mut EnvUnowned<'caller>,
    common: impl FnOnce() -> Result<Option<T>>,
    general: impl FnOnce(&mut Env<'caller>) -> Result<T>,
) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(common)) {
        Ok(Ok(Some(value))) => value,
        Ok(Ok(None)) => unowned
            .with_env(general)
            .resolve::<ThrowOrderTraceException>(),
        Ok(Err(e)) => unowned
            .with_env(|_| -> Result<T> { Err(e) })
            .resolve::<ThrowOrderTraceException>(),
        // Re-raised inside `with_env`, whose guard catches it and throws it as PANIC.
        Err(payload) => unowned
            .with_env(|_| -> Result<T> { std::panic::resume_unwind(payload) })
            .resolve::<ThrowOrderTraceException>(),
    }
}

/// A Java string as owned Rust text; `None` for a Java null.
fn opt_string(env: &Env<'_>, s: &JString<'_>) -> Result<Option<String>> {
    let mut buf = [0u8; SHORT_TEXT];
    Ok(java_str(env, s, &mut buf)?.map(std::borrow::Cow::into_owned))
}

/// A Java string that must not be null; `what` names it in the error.
fn string(env: &Env<'_>, s: &JString<'_>, what: &str) -> Result<String> {
    opt_string(env, s)?.ok_or_else(|| BridgeError::null(what).into())
}

/// The strings of a `String[]` (null array: empty; null element: an error naming `what`).
fn strings(env: &mut Env<'_>, array: &JObjectArray<'_>, what: &str) -> Result<Vec<String>> {
    if array.is_null() {
        return Ok(Vec::new());
    }
    let n = array.len(env)?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let element = array.get_element(env, i)?;
        let s = env.cast_local::<JString>(element)?;
        out.push(string(env, &s, what)?);
        env.delete_local_ref(s);
    }
    Ok(out)
}

/// `[name, value, name, value, ...]` as pairs (Java sends them flat: one array, no objects).
/// An odd count is refused rather than the last name dropped unseen.
fn header_pairs(flat: Vec<String>) -> Result<Vec<(String, String)>> {
    if !flat.len().is_multiple_of(2) {
        return Err(BridgeError::invalid(format!(
            "headers come as name, value pairs; got {} strings",
            flat.len()
        ))
        .into());
    }
    let mut pairs = Vec::with_capacity(flat.len() / 2);
    let mut it = flat.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        pairs.push((k, v));
    }
    Ok(pairs)
}

/// Length of a primitive array, 0 for a Java null.
fn len_or_zero<T: jni::objects::TypeArray>(
    env: &Env<'_>,
    array: &jni::objects::JPrimitiveArray<'_, T>,
) -> Result<usize> {
    if array.is_null() {
        return Ok(0);
    }
    Ok(array.len(env)?)
}

/// A new `String[]` holding `items` in order.
fn string_array<'local>(env: &mut Env<'local>, items: &[&str]) -> Result<JObjectArray<'local>> {
    let n = i32::try_from(items.len())
        .map_err(|_| BridgeError::invalid("more strings than a Java array holds"))?;
    let array = env.new_object_array(
        n,
        jni::jni_str!("java/lang/String"),
        jni::objects::JObject::null(),
    )?;
    for (i, item) in items.iter().enumerate() {
        let s = env.new_string(item)?;
        array.set_element(env, i, &s)?;
        env.delete_local_ref(s);
    }
    Ok(array)
}

fn tracer_ref<'a>(handle: jlong) -> Result<&'a OrderTracer> {
    // SAFETY: a non-zero handle is a Box<OrderTracer> from tracerNew/tracerFromEnv that the
    // Java tracer keeps alive (read lock) for the duration of the call.
    unsafe { (handle as usize as *const OrderTracer).as_ref() }
        .ok_or_else(|| BridgeError::null("tracer").into())
}

fn stage_ref<'a>(handle: jlong) -> Result<&'a StageSlot> {
    // SAFETY: a non-zero handle is a Box<StageSlot> from stageStart that the Java stage
    // frees only once, after its last call.
    unsafe { (handle as usize as *const StageSlot).as_ref() }
        .ok_or_else(|| BridgeError::null("stage").into())
}

fn hand_out<T>(value: T) -> jlong {
    Box::into_raw(Box::new(value)) as usize as jlong
}

thread_local! {
    /// The last stage handle this thread freed, for its next start (see [`SpareBox`]).
    static SPARE_STAGE: SpareBox<StageSlot> = const { SpareBox::new() };
}

/// A stage's handle, in this thread's spare allocation if it has one; freed with
/// [`free_stage`].
fn hand_out_stage(stage: Stage) -> jlong {
    Box::into_raw(SpareBox::boxed(&SPARE_STAGE, StageSlot::new(stage))) as usize as jlong
}

/// Frees a handle made by [`hand_out_stage`] (ending its stage if open), keeping the
/// allocation as this thread's spare; 0 is ignored.
///
/// # Safety
/// `handle` must be 0 or from `hand_out_stage` and not freed before.
unsafe fn free_stage(handle: jlong) {
    // SAFETY: forwarded.
    unsafe { release_handle(handle, |s| SpareBox::recycle(&SPARE_STAGE, s)) }
}

/// Frees a handle made by [`hand_out`]; 0 is ignored.
///
/// # Safety
/// `handle` must be 0 or from `hand_out::<T>` and not freed before.
unsafe fn free<T>(handle: jlong) {
    // SAFETY: forwarded.
    unsafe { release_handle::<T>(handle, drop) }
}

/// Hands a handle made by [`hand_out`] or [`hand_out_stage`] back to `release` as its box
/// (which drops it or keeps the allocation); 0 is ignored.
///
/// # Safety
/// `handle` must be 0 or a `Box<T>` handed out and not freed before.
unsafe fn release_handle<T>(handle: jlong, release: impl FnOnce(Box<T>)) {
    let ptr = handle as usize as *mut T;
    if !ptr.is_null() {
        // SAFETY: see the function's contract.
        release(unsafe { Box::from_raw(ptr) });
    }
}

/// One extra attribute from the parallel arrays of `stageStart` / the typed setters.
/// Kinds: 0 string, 1 long, 2 double, 3 boolean (as 0/1 in the long).
fn attribute_value(
    kind: i32,
    text: Option<String>,
    long: i64,
    double: f64,
) -> Result<AttributeValue> {
    Ok(match kind {
        0 => AttributeValue::Str(text.unwrap_or_default()),
        1 => AttributeValue::Int(long),
        2 => AttributeValue::Float(double),
        3 => AttributeValue::Bool(long != 0),
        other => {
            return Err(BridgeError::invalid(format!("attribute kind {other} is not 0-3")).into());
        }
    })
}

fn event(index: jint) -> Result<OrderEvent> {
    // Java passes OrderEvent.ordinal(); its order is the schema's (tested on the Java side).
    usize::try_from(index)
        .ok()
        .and_then(|i| OrderEvent::ALL.get(i).copied())
        .ok_or_else(|| BridgeError::invalid(format!("event index {index} is not 0-7")).into())
}

fn timeout(ms: jlong) -> Duration {
    Duration::from_millis(ms.max(0) as u64)
}

macro_rules! native {
    ($name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty, |$env:ident| $body:block) => {
        #[unsafe(no_mangle)]
        #[allow(non_snake_case, unused_variables, unused_mut)]
        pub extern "system" fn $name<'caller>(
            mut unowned: EnvUnowned<'caller>,
            _class: JClass<'caller>,
            $($arg: $ty),*
        ) -> $ret {
            unowned
                .with_env(|$env| -> Result<$ret> { $body })
                .resolve::<ThrowOrderTraceException>()
        }
    };
}

native!(Java_io_ordertrace_NativeBridge_tracerNew(
    service_name: JString<'caller>, file: JString<'caller>, otlp_endpoint: JString<'caller>, protocol: jint,
    start_records: jint, heartbeat_ms: jlong, identity: jint, read_env: jboolean, spool_dir: JString<'caller>,
    strict_ids: jint, start_record_after_ms: jlong
) -> jlong, |env| {
    let service_name = opt_string(env, &service_name)?;
    let file = opt_string(env, &file)?;
    let otlp_endpoint = opt_string(env, &otlp_endpoint)?;
    let spool_dir = opt_string(env, &spool_dir)?;
    let settings = TracerSettings {
        read_env,
        service_name: service_name.as_deref(),
        file: file.as_deref(),
        otlp_endpoint: otlp_endpoint.as_deref(),
        protocol,
        spool_dir: spool_dir.as_deref(),
        start_records,
        start_record_after_ms,
        heartbeat_ms,
        identity,
        strict_ids,
    };
    Ok(hand_out(settings.build()?))
});

native!(Java_io_ordertrace_NativeBridge_tracerFromEnv() -> jlong, |env| {
    Ok(hand_out(OrderTracer::from_env().map_err(BridgeError::from)?))
});

native!(Java_io_ordertrace_NativeBridge_tracerFlush(tracer: jlong, timeout_ms: jlong) -> (), |env| {
    Ok(tracer_ref(tracer)?.flush(timeout(timeout_ms)).map_err(BridgeError::from)?)
});

native!(Java_io_ordertrace_NativeBridge_tracerShutdown(tracer: jlong, timeout_ms: jlong) -> (), |env| {
    Ok(tracer_ref(tracer)?.shutdown(timeout(timeout_ms)).map_err(BridgeError::from)?)
});

native!(Java_io_ordertrace_NativeBridge_tracerCounters(tracer: jlong) -> JLongArray<'caller>, |env| {
    // In the order of PipelineCounters::NAMES, the components of io.ordertrace.PipelineCounters
    // (checked by its test against the schema's pipeline_counters).
    let values = tracer_ref(tracer)?.counters().values().map(|n| n as i64);
    let array = env.new_long_array(values.len())?;
    array.set_region(env, 0, &values)?;
    Ok(array)
});

native!(Java_io_ordertrace_NativeBridge_tracerFree(tracer: jlong) -> (), |env| {
    // SAFETY: the Java tracer frees its handle once (Cleaner or close, whichever first).
    unsafe { free::<OrderTracer>(tracer) };
    Ok(())
});

/// `NativeBridge.stageStart`: one crossing per stage. The common stage (no status change, no
/// attributes, no parent headers, short ASCII ids) is started by [`start_common`] straight on
/// the `JNIEnv`; anything else by [`start_general`]. Both give the same span.
#[unsafe(no_mangle)]
#[allow(non_snake_case, clippy::too_many_arguments)]
pub extern "system" fn Java_io_ordertrace_NativeBridge_stageStart<'caller>(
    mut unowned: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    tracer: jlong,
    event_index: jint,
    order_id: JString<'caller>,
    order_id_length: jint,
    user_id: JString<'caller>,
    user_id_length: jint,
    kind: jint,
    status_from: JString<'caller>,
    status_to: JString<'caller>,
    attribute_keys: JObjectArray<'caller>,
    attribute_kinds: JIntArray<'caller>,
    attribute_strings: JObjectArray<'caller>,
    attribute_longs: JLongArray<'caller>,
    attribute_doubles: JDoubleArray<'caller>,
    parent_headers: JObjectArray<'caller>,
) -> jlong {
    let raw = unowned.as_raw();
    let common = status_from.is_null()
        && status_to.is_null()
        && attribute_keys.is_null()
        && parent_headers.is_null();
    direct(
        &mut unowned,
        || {
            if !common {
                return Ok(None);
            }
            // SAFETY: `raw` is this native method's JNIEnv and the strings its arguments.
            unsafe {
                start_common(
                    raw,
                    tracer,
                    event_index,
                    (&order_id, order_id_length),
                    (&user_id, user_id_length),
                    kind,
                )
            }
        },
        |env| {
            start_general(
                env,
                tracer,
                event_index,
                &order_id,
                &user_id,
                kind,
                [&status_from, &status_to],
                StartAttributes {
                    keys: &attribute_keys,
                    kinds: &attribute_kinds,
                    strings: &attribute_strings,
                    longs: &attribute_longs,
                    doubles: &attribute_doubles,
                },
                &parent_headers,
            )
        },
    )
}

/// The common stage start: order id and user id only, each short ASCII (`None` otherwise, for
/// [`start_general`]). A null order id is a missing one, as in the general path.
///
/// # Safety
/// As [`ascii_in_place`]: `raw` is the running native method's `JNIEnv`, the strings its
/// arguments with their `length()`.
unsafe fn start_common(
    raw: *mut jni::sys::JNIEnv,
    tracer: jlong,
    event_index: jint,
    (order_id, order_units): (&JString<'_>, jint),
    (user_id, user_units): (&JString<'_>, jint),
    kind: jint,
) -> Result<Option<jlong>> {
    let tracer = tracer_ref(tracer)?;
    let (mut order_buf, mut user_buf) = (ShortId::new(), ShortId::new());
    // SAFETY: the function's contract.
    let Some(order_id) = (unsafe { ascii_in_place(raw, order_id, order_units, &mut order_buf) })?
    else {
        return Ok(None);
    };
    // SAFETY: the function's contract.
    let Some(user_id) = (unsafe { ascii_in_place(raw, user_id, user_units, &mut user_buf) })?
    else {
        return Ok(None);
    };
    start_handed_out(
        tracer,
        event_index,
        kind,
        order_id.as_bytes(),
        user_id.as_bytes(),
    )
}

/// Starts the common stage (no attributes, status or headers; an empty `user_id` is none) and
/// hands out its slot: the part both common paths share once their ids are bytes.
fn start_handed_out(
    tracer: &OrderTracer,
    event_index: jint,
    kind: jint,
    order_id: &[u8],
    user_id: &[u8],
) -> Result<Option<jlong>> {
    let mut b = tracer
        .stage_bytes(event(event_index)?, order_id)
        .kind(span_kind(kind)?);
    if !user_id.is_empty() {
        b = b.user_id_bytes(user_id);
    }
    Ok(Some(hand_out_stage(b.start().map_err(BridgeError::from)?)))
}

/// Where the user id starts in a thread's id buffer (`IdBuffer.USER_AT`); the order id starts at
/// 0. Each part holds at most this many bytes (`IdBuffer.MAX`).
const ID_BUFFER_PART: usize = 128;

/// `length` bytes of the id buffer at `ids + at`.
///
/// Not checked here: the core looks a known id up by its bytes and checks only a new one for
/// UTF-8 ([`OrderTracer::stage_bytes`]); checking every id here as well cost about 4 % of a
/// stage in `perf` (BENCHMARKS.md, "Issue 13: JNI binding, second pass (jni14)").
///
/// # Safety
/// `ids` must be the address of a live id buffer (`IdBuffer.address()`, `2 × ID_BUFFER_PART`
/// bytes) that no other thread writes during the call.
unsafe fn buffered_id<'a>(ids: jlong, at: usize, length: jint, what: &str) -> Result<&'a [u8]> {
    let n = usize::try_from(length)
        .ok()
        .filter(|&n| n <= ID_BUFFER_PART)
        .ok_or_else(|| {
            BridgeError::invalid(format!(
                "{what} length {length} is not 0-{ID_BUFFER_PART} (NativeBridge.stageStartAscii)"
            ))
        })?;
    // SAFETY: [at, at + n) lies inside the buffer (at is 0 or ID_BUFFER_PART, n at most
    // ID_BUFFER_PART), which the function's contract says is live and not written meanwhile.
    Ok(unsafe { std::slice::from_raw_parts((ids as usize as *const u8).add(at), n) })
}

/// `NativeBridge.stageStartAscii`: the common stage with primitives only, the ids read as
/// bytes from the calling thread's id buffer (`io.ordertrace.IdBuffer`), so no JNI string call
/// (each a VM transition) runs; straight on the `JNIEnv` ([`direct`]).
#[unsafe(no_mangle)]
#[allow(non_snake_case)]
pub extern "system" fn Java_io_ordertrace_NativeBridge_stageStartAscii<'caller>(
    mut unowned: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    tracer: jlong,
    event_index: jint,
    kind: jint,
    ids: jlong,
    order_id_length: jint,
    user_id_length: jint,
) -> jlong {
    direct(
        &mut unowned,
        || {
            let tracer = tracer_ref(tracer)?;
            if ids == 0 {
                return Err(BridgeError::null("id buffer").into());
            }
            // SAFETY: NativeBridge is package-private; its only caller passes the address of the
            // calling thread's IdBuffer, which that thread keeps alive and does not write while
            // this call runs (OrderTracer.startCommon).
            let (order_id, user_id) = unsafe {
                (
                    buffered_id(ids, 0, order_id_length, "order id")?,
                    buffered_id(ids, ID_BUFFER_PART, user_id_length, "user id")?,
                )
            };
            start_handed_out(tracer, event_index, kind, order_id, user_id)
        },
        |_| Ok(0),
    )
}

/// `NativeBridge.bufferAddress`: a direct buffer's memory, asked once per id buffer.
#[unsafe(no_mangle)]
#[allow(non_snake_case)]
pub extern "system" fn Java_io_ordertrace_NativeBridge_bufferAddress<'caller>(
    mut unowned: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    buffer: jni::objects::JByteBuffer<'caller>,
) -> jlong {
    unowned
        .with_env(|env| -> Result<jlong> {
            if buffer.is_null() {
                return Err(BridgeError::null("buffer").into());
            }
            let address = env.get_direct_buffer_address(&buffer)?;
            Ok(address as usize as jlong)
        })
        .resolve::<ThrowOrderTraceException>()
}

/// The attribute arrays of `stageStart`, parallel (see `NativeBridge.stageStart`).
struct StartAttributes<'a, 'caller> {
    keys: &'a JObjectArray<'caller>,
    kinds: &'a JIntArray<'caller>,
    strings: &'a JObjectArray<'caller>,
    longs: &'a JLongArray<'caller>,
    doubles: &'a JDoubleArray<'caller>,
}

/// Any stage start: status change, attributes, parent headers, strings of any length and
/// content, through the `jni` crate.
#[allow(clippy::too_many_arguments)]
fn start_general(
    env: &mut Env<'_>,
    tracer: jlong,
    event_index: jint,
    order_id: &JString<'_>,
    user_id: &JString<'_>,
    kind: jint,
    [status_from, status_to]: [&JString<'_>; 2],
    attributes: StartAttributes<'_, '_>,
    parent_headers: &JObjectArray<'_>,
) -> Result<jlong> {
    let StartAttributes {
        keys: attribute_keys,
        kinds: attribute_kinds,
        strings: attribute_strings,
        longs: attribute_longs,
        doubles: attribute_doubles,
    } = attributes;
    let tracer = tracer_ref(tracer)?;
    // The strings are read into stack buffers (see `java_str`): no allocation for short ids.
    let (mut order_buf, mut user_buf) = ([0u8; SHORT_TEXT], [0u8; SHORT_TEXT]);
    // A null order id is a missing one: the core's id rules decide (lenient: the stage starts).
    let order_id = java_str(env, order_id, &mut order_buf)?.unwrap_or_default();
    let mut b = tracer
        .stage(event(event_index)?, &order_id)
        .kind(span_kind(kind)?);
    if let Some(user) = java_str(env, user_id, &mut user_buf)?.filter(|s| !s.is_empty()) {
        b = b.user_id(&user);
    }
    if !status_from.is_null() || !status_to.is_null() {
        let (mut from_buf, mut to_buf) = ([0u8; SHORT_TEXT], [0u8; SHORT_TEXT]);
        let from = java_str(env, status_from, &mut from_buf)?.filter(|s| !s.is_empty());
        let to = java_str(env, status_to, &mut to_buf)?.filter(|s| !s.is_empty());
        if from.is_some() || to.is_some() {
            // The core says which one is missing or malformed.
            b = b.status_change(from.as_deref().unwrap_or(""), to.as_deref().unwrap_or(""));
        }
    }
    if !attribute_keys.is_null() {
        let keys = strings(env, attribute_keys, "attribute key")?;
        let n = keys.len();
        let lengths = [
            len_or_zero(env, attribute_kinds)?,
            len_or_zero(env, attribute_longs)?,
            len_or_zero(env, attribute_doubles)?,
            if attribute_strings.is_null() {
                0
            } else {
                attribute_strings.len(env)?
            },
        ];
        if lengths.iter().any(|&l| l < n) {
            return Err(BridgeError::invalid(format!(
                "{n} attribute keys but only {lengths:?} kinds, longs, doubles, strings"
            ))
            .into());
        }
        let (mut kinds, mut longs, mut doubles) = (vec![0i32; n], vec![0i64; n], vec![0f64; n]);
        attribute_kinds.get_region(env, 0, &mut kinds)?;
        attribute_longs.get_region(env, 0, &mut longs)?;
        attribute_doubles.get_region(env, 0, &mut doubles)?;
        let mut texts = Vec::with_capacity(n);
        for i in 0..n {
            let element = attribute_strings.get_element(env, i)?;
            let s = env.cast_local::<JString>(element)?;
            texts.push(opt_string(env, &s)?);
            env.delete_local_ref(s);
        }
        for (i, (key, text)) in keys.iter().zip(texts).enumerate() {
            b = b.attribute(key, attribute_value(kinds[i], text, longs[i], doubles[i])?);
        }
    }
    if !parent_headers.is_null() {
        let pairs = header_pairs(strings(env, parent_headers, "header")?)?;
        if !pairs.is_empty() {
            b = b.parent(&propagation::extract(&pairs));
        }
    }
    Ok(hand_out_stage(b.start().map_err(BridgeError::from)?))
}

native!(Java_io_ordertrace_NativeBridge_stageSetAttribute(
    stage: jlong, key: JString<'caller>, kind: jint, text: JString<'caller>, long: jlong, double: jdouble
) -> (), |env| {
    let key = string(env, &key, "attribute key")?;
    let value = attribute_value(kind, opt_string(env, &text)?, long, double)?;
    Ok(stage_ref(stage)?.with_open(|s| Ok(s.set_attribute(&key, value)?))?)
});

native!(Java_io_ordertrace_NativeBridge_stageRecordPrice(stage: jlong, amount: jdouble, currency: JString<'caller>) -> (), |env| {
    let currency = string(env, &currency, "currency")?;
    Ok(stage_ref(stage)?.with_open(|s| Ok(s.record_price(amount, &currency)?))?)
});

fn error_info(
    env: &Env<'_>,
    error_type: &JString<'_>,
    message: &JString<'_>,
    stacktrace: &JString<'_>,
) -> Result<ErrorInfo> {
    let mut e = ErrorInfo::new(
        string(env, error_type, "error type")?,
        opt_string(env, message)?.unwrap_or_default(),
    );
    if let Some(st) = opt_string(env, stacktrace)?.filter(|s| !s.is_empty()) {
        e = e.with_stacktrace(st);
    }
    Ok(e)
}

native!(Java_io_ordertrace_NativeBridge_stageRecordError(
    stage: jlong, error_type: JString<'caller>, message: JString<'caller>, stacktrace: JString<'caller>
) -> (), |env| {
    let e = error_info(env, &error_type, &message, &stacktrace)?;
    Ok(stage_ref(stage)?.with_open(|s| Ok(s.record_error(&e)?))?)
});

/// `NativeBridge.stageEnd`, straight on the `JNIEnv` ([`direct`]): it reads nothing from Java.
#[unsafe(no_mangle)]
#[allow(non_snake_case)]
pub extern "system" fn Java_io_ordertrace_NativeBridge_stageEnd<'caller>(
    mut unowned: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    stage: jlong,
) {
    direct(
        &mut unowned,
        || {
            stage_ref(stage)?.end_open(Stage::end)?;
            Ok(Some(()))
        },
        |_| Ok(()),
    )
}

native!(Java_io_ordertrace_NativeBridge_stageEndWithError(
    stage: jlong, error_type: JString<'caller>, message: JString<'caller>, stacktrace: JString<'caller>
) -> (), |env| {
    stage_ref(stage)?.end_open(|s| match error_info(env, &error_type, &message, &stacktrace) {
        Ok(e) => Ok(s.end_with_error(&e).map_err(BridgeError::from)?),
        Err(bad) => {
            let _ = s.end_with_error(&ErrorInfo::new("error", "an unreadable error was reported"));
            Err(bad)
        }
    })?
});

native!(Java_io_ordertrace_NativeBridge_stageInject(stage: jlong) -> JObjectArray<'caller>, |env| {
    let list = stage_ref(stage)?.with_open(|s| {
        let mut list: Vec<(String, String)> = Vec::new();
        s.inject(&mut list);
        Ok(list)
    })?;
    let items: Vec<&str> = list.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]).collect();
    string_array(env, &items)
});

native!(Java_io_ordertrace_NativeBridge_stageIds(stage: jlong) -> JString<'caller>, |env| {
    let (trace, span) = stage_ref(stage)?.ids();
    Ok(env.new_string(format!("{trace}{span}"))?)
});

/// `NativeBridge.stageFree`, straight on the `JNIEnv` ([`direct`]): the end of every stage
/// closed with `close()` (dropping an open stage ends it).
#[unsafe(no_mangle)]
#[allow(non_snake_case)]
pub extern "system" fn Java_io_ordertrace_NativeBridge_stageFree<'caller>(
    mut unowned: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    stage: jlong,
) {
    direct(
        &mut unowned,
        || {
            // SAFETY: the Java stage frees its handle once.
            unsafe { free_stage(stage) };
            Ok(Some(()))
        },
        |_| Ok(()),
    )
}

native!(Java_io_ordertrace_NativeBridge_headersCheck(headers: JObjectArray<'caller>) -> (), |env| {
    let pairs = header_pairs(strings(env, &headers, "header")?)?;
    propagation::extract_strict(&pairs).map_err(BridgeError::from)?;
    Ok(())
});

// [number of forward pairs, forward name, value, ..., read key, value, ...]: the headers to send
// on unchanged, then what was read (ordertrace_bridge::incoming), in one array.
native!(Java_io_ordertrace_NativeBridge_headersExtract(headers: JObjectArray<'caller>) -> JObjectArray<'caller>, |env| {
    let pairs = header_pairs(strings(env, &headers, "header")?)?;
    let incoming = ordertrace_bridge::incoming(&pairs);
    let count = incoming.forward.len().to_string();
    let items: Vec<&str> = std::iter::once(count.as_str())
        .chain(incoming.forward.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]))
        .chain(incoming.read.iter().flat_map(|(k, v)| [*k, v.as_str()]))
        .collect();
    string_array(env, &items)
});

native!(Java_io_ordertrace_NativeBridge_orderIdCheck(order_id: JString<'caller>) -> (), |env| {
    let id = string(env, &order_id, "order id")?;
    ordertrace::schema::validate_order_id(&id).map_err(BridgeError::from)?;
    Ok(())
});

native!(Java_io_ordertrace_NativeBridge_userIdNormalize(user_id: JString<'caller>) -> JString<'caller>, |env| {
    let id = string(env, &user_id, "user id")?;
    let normalized = ordertrace::schema::normalize_user_id(&id).map_err(BridgeError::from)?;
    Ok(env.new_string(normalized)?)
});

native!(Java_io_ordertrace_NativeBridge_schemaJson() -> JString<'caller>, |env| {
    Ok(env.new_string(ordertrace::schema_json())?)
});

native!(Java_io_ordertrace_NativeBridge_readSpansJson(path: JString<'caller>) -> JString<'caller>, |env| {
    let path = string(env, &path, "path")?;
    Ok(env.new_string(ordertrace_bridge::spans_json(&path)?)?)
});

/// Lets the Java tests prove that a panic in the bridge arrives as `OrderTraceException` (code
/// PANIC) and leaves the JVM running, both from the common part of a [`direct`] method
/// (`in_direct`) and from the general path through `with_env`. Package-private on the Java
/// side; it changes no state.
#[unsafe(no_mangle)]
#[allow(non_snake_case)]
pub extern "system" fn Java_io_ordertrace_NativeBridge_panicForTests<'caller>(
    mut unowned: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    in_direct: jboolean,
) {
    direct(
        &mut unowned,
        || {
            if in_direct {
                panic!("deliberate panic for the boundary test (direct)")
            }
            Ok(None)
        },
        |_| panic!("deliberate panic for the boundary test (with_env)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_indexes_follow_the_schema_order_and_others_are_rejected() {
        assert_eq!(event(0).unwrap(), OrderEvent::OrderSubmitted);
        assert_eq!(event(7).unwrap(), OrderEvent::OrderShipped);
        for bad in [-1, 8] {
            match event(bad) {
                Err(NativeError::Bridge(e)) => {
                    assert_eq!(e.status, ordertrace::Status::InvalidInput)
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_odd_number_of_header_strings_is_invalid_input() {
        let flat = vec![
            "traceparent".to_string(),
            "x".to_string(),
            "baggage".to_string(),
        ];
        match header_pairs(flat) {
            Err(NativeError::Bridge(e)) => {
                assert_eq!(e.status, ordertrace::Status::InvalidInput);
                assert!(e.message.contains("got 3 strings"), "{}", e.message);
            }
            other => panic!("{other:?}"),
        }
        let pairs = header_pairs(vec!["a".into(), "b".into()]).ok();
        assert_eq!(pairs, Some(vec![("a".to_string(), "b".to_string())]));
    }

    #[test]
    fn attribute_kinds_map_to_typed_values() {
        assert_eq!(
            attribute_value(1, None, 3, 0.0).unwrap(),
            AttributeValue::Int(3)
        );
        assert_eq!(
            attribute_value(3, None, 1, 0.0).unwrap(),
            AttributeValue::Bool(true)
        );
        assert_eq!(
            attribute_value(0, Some("web".into()), 0, 0.0).unwrap(),
            AttributeValue::Str("web".into())
        );
        assert!(attribute_value(9, None, 0, 0.0).is_err());
    }

    fn ascii(units: &[u16]) -> Option<String> {
        let mut out = [MaybeUninit::uninit(); SHORT_ID_UNITS];
        ascii_text(units, &mut out).map(str::to_string)
    }

    #[test]
    fn ascii_text_narrows_ascii_units_unchanged() {
        let id: Vec<u16> = "ORD-1".encode_utf16().collect();
        assert_eq!(ascii(&id).as_deref(), Some("ORD-1"));
        assert_eq!(ascii(&[0x00, 0x7f]).as_deref(), Some("\u{0}\u{7f}"));
        assert_eq!(ascii(&[]).as_deref(), Some(""));
        let longest = vec![u16::from(b'7'); SHORT_ID_UNITS];
        assert_eq!(ascii(&longest).map(|s| s.len()), Some(SHORT_ID_UNITS));
    }

    #[test]
    fn ascii_text_refuses_any_unit_beyond_ascii_and_what_was_not_read() {
        // é, a Latin-1 char the JVM stores in one byte; a surrogate half; anything at 0x80+.
        assert_eq!(ascii(&[u16::from(b'A'), 0xe9]), None);
        assert_eq!(ascii(&[0xd83d, 0xde00]), None);
        assert_eq!(ascii(&[0x80]), None);
        // A failed read leaves the fill value.
        assert_eq!(ascii(&[u16::MAX; 4]), None);
        // More units than the output has room for.
        let mut small = [MaybeUninit::uninit(); 2];
        assert!(ascii_text(&[65, 66, 67], &mut small).is_none());
    }

    #[test]
    fn buffered_ids_are_read_from_their_part_of_the_buffer_within_its_bounds() {
        let mut buffer = [b'x'; 2 * ID_BUFFER_PART];
        buffer[..5].copy_from_slice(b"ORD-1");
        buffer[ID_BUFFER_PART..ID_BUFFER_PART + 3].copy_from_slice(b"abc");
        let ids = buffer.as_ptr() as usize as jlong;
        // SAFETY: `ids` is the address of a live buffer of 2 × ID_BUFFER_PART bytes.
        let read = |at, length| unsafe { buffered_id(ids, at, length, "order id") };
        assert_eq!(read(0, 5).unwrap(), b"ORD-1");
        assert_eq!(read(ID_BUFFER_PART, 3).unwrap(), b"abc");
        assert_eq!(read(ID_BUFFER_PART, 0).unwrap(), b"");
        assert_eq!(read(ID_BUFFER_PART, 128).unwrap().len(), ID_BUFFER_PART);
        for bad in [-1, 129, i32::MAX] {
            match read(0, bad) {
                Err(NativeError::Bridge(e)) => {
                    assert_eq!(e.status, ordertrace::Status::InvalidInput);
                    assert!(e.message.contains("order id length"), "{}", e.message);
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_zero_handle_is_a_null_pointer_error_not_a_crash() {
        match tracer_ref(0) {
            Err(NativeError::Bridge(e)) => assert_eq!(e.status, ordertrace::Status::NullPointer),
            other => panic!("{other:?}"),
        }
        match stage_ref(0) {
            Err(NativeError::Bridge(e)) => assert_eq!(e.status, ordertrace::Status::NullPointer),
            other => panic!("{other:?}"),
        }
    }
}
