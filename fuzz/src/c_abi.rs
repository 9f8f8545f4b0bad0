//! The `c-abi` target: the input is a little program of calls to the exported `extern "C"`
//! functions of `ordertrace-ffi`, made exactly as a C caller makes them — NULL pointers, a NULL
//! string with a length, invalid UTF-8, 64 KiB and 1 MiB strings, header lists with NULL
//! entries, unknown enum values, calls on a stage after it ended, ending it twice, tracers
//! created with bad configurations and used after shutdown, reads past the end of a list,
//! in any order.
//!
//! What the C contract leaves undefined is not called: a pointer to fewer bytes than the length
//! it comes with, and a handle used after its `*_free` (a freed pointer). Everything the ABI
//! promises is checked after every call:
//! - no call returns `PANIC`;
//! - a failed call hands back its message in `*error` (a new buffer, 1 to
//!   [`MAX_ERROR_MESSAGE`] bytes of UTF-8), a successful one writes NULL there (the slot holds
//!   garbage before each call, so a call that leaves it unwritten is caught); one call in four
//!   passes NULL for `error`, which every function must accept;
//! - a required NULL argument gives `NULL_POINTER`, a call on an ended stage `CLOSED`, a list
//!   index past the end `INVALID_INPUT`;
//! - `ot_headers_check` passes exactly when `ot_headers_extract` reports no malformed header,
//!   extraction hands out only `traceparent` / `tracestate` / `baggage` and the known keys,
//!   and what it forwards is extracted again unchanged;
//! - a normalised user id is 36 lowercase characters.
//!
//! Every handle a program made is freed at its end (once), so memory stays flat.

use crate::targets::Outcome;
use ordertrace::OrderEvent;
use ordertrace_ffi::{
    OtAttribute, OtBuffer, OtHeader, OtHeaders, OtStage, OtStageStart, OtStr, OtTracer,
    OtTracerConfig, Status, ot_buffer_free, ot_buffer_str, ot_headers_check, ot_headers_extract,
    ot_headers_free, ot_headers_get, ot_headers_len, ot_order_id_check, ot_stage_end,
    ot_stage_end_with_error, ot_stage_free, ot_stage_ids, ot_stage_inject, ot_stage_record,
    ot_stage_record_error, ot_stage_record_price, ot_stage_set_attribute, ot_stage_start,
    ot_status_name, ot_tracer_counters, ot_tracer_flush, ot_tracer_free, ot_tracer_new,
    ot_tracer_shutdown, ot_user_id_normalize,
};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::ptr::{null, null_mut};
use std::sync::OnceLock;

/// A header read back from a list the library handed out: name and value bytes.
type ByteHeader = (Vec<u8>, Vec<u8>);

/// Longest error message accepted: error messages quote a bounded prefix of the input.
pub const MAX_ERROR_MESSAGE: usize = 1024;

/// Most calls one input makes (longer programs are cut).
const MAX_CALLS: usize = 48;

/// An event name: one of the schema's, or (one pick in nine) a name it does not know.
fn event_name(pick: u8) -> &'static str {
    let all = OrderEvent::ALL;
    all.get(usize::from(pick) % (all.len() + 1))
        .map_or("order_lost", |e| e.name())
}

/// The tracer every program shares: exports to /dev/null, so a long run writes nothing.
fn shared_tracer() -> *const OtTracer {
    static TRACER: OnceLock<usize> = OnceLock::new();
    *TRACER.get_or_init(|| {
        let config = tracer_config("c-abi-fuzz", 0, -1, 0);
        let mut out = null_mut();
        let status = unsafe { ot_tracer_new(&config, &mut out, null_mut()) };
        assert_eq!(status, Status::Ok, "the fuzz tracer starts");
        out as usize
    }) as *const OtTracer
}

fn ot(s: &'static str) -> OtStr {
    OtStr {
        ptr: s.as_ptr(),
        len: s.len(),
    }
}

fn tracer_config(
    service: &'static str,
    start_records: i32,
    identity: i32,
    strict_ids: i32,
) -> OtTracerConfig {
    OtTracerConfig {
        service_name: ot(service),
        file: ot("/dev/null"),
        otlp_endpoint: OtStr {
            ptr: null(),
            len: 0,
        },
        otlp_protocol: 0,
        start_records,
        heartbeat_ms: 0,
        identity,
        read_env: 0,
        spool_dir: OtStr {
            ptr: null(),
            len: 0,
        },
        strict_ids,
        start_record_after_ms: -1,
    }
}

/// Reads the program: bytes, and byte strings in one of several shapes.
struct Program<'a> {
    input: &'a [u8],
    at: usize,
    /// Byte strings built for this program; they live until it ends (OtStr borrows them).
    owned: Vec<Vec<u8>>,
}

impl<'a> Program<'a> {
    fn byte(&mut self) -> u8 {
        let b = self.input.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    fn done(&self) -> bool {
        self.at >= self.input.len()
    }

    /// Up to 63 bytes of the input; rarely 64 KiB or 1 MiB made by repeating them.
    fn bytes(&mut self) -> Vec<u8> {
        let head = self.byte();
        let n = usize::from(head & 0x3f);
        let end = (self.at + n).min(self.input.len());
        let mut chunk = self.input[self.at.min(end)..end].to_vec();
        self.at = end;
        let huge = match head {
            0xff => 1 << 20,
            0xfe => 64 << 10,
            _ => 0,
        };
        if huge > 0 {
            if chunk.is_empty() {
                chunk.push(b'x');
            }
            chunk = chunk.repeat(huge / chunk.len() + 1);
            chunk.truncate(huge);
        }
        chunk
    }

    /// An `OtStr` as a caller may pass one: `{NULL, 0}`, `{NULL, n}` (an error), or bytes.
    /// The second value says whether it is `{NULL, n>0}`.
    fn str(&mut self) -> (OtStr, bool) {
        match self.byte() % 8 {
            0 => (
                OtStr {
                    ptr: null(),
                    len: 0,
                },
                false,
            ),
            1 => (
                OtStr {
                    ptr: null(),
                    len: 1 + usize::from(self.byte()),
                },
                true,
            ),
            2 => {
                // One of the names that mean something to the library.
                let pick = usize::from(self.byte());
                let words: [&'static str; 6] = [
                    "traceparent",
                    "tracestate",
                    "baggage",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                    "order.id=ORD-1,user.id=1b4e28ba-2fa1-11d2-883f-0016d3cca427",
                    "1B4E28BA-2FA1-11D2-883F-0016D3CCA427",
                ];
                (ot(words[pick % words.len()]), false)
            }
            _ => {
                let b = self.bytes();
                self.owned.push(b);
                let last = self.owned.last().map_or(&[][..], Vec::as_slice);
                (
                    OtStr {
                        ptr: if last.is_empty() {
                            null()
                        } else {
                            last.as_ptr()
                        },
                        len: last.len(),
                    },
                    false,
                )
            }
        }
    }

    /// A header list: (headers, count, any NULL-with-length string inside, list pointer NULL).
    fn headers(&mut self, keep: &mut Vec<Vec<OtHeader>>) -> (*const OtHeader, usize, bool, bool) {
        let n = usize::from(self.byte() % 6);
        let mut list = Vec::with_capacity(n);
        let mut null_string = false;
        for _ in 0..n {
            let (key, kn) = self.str();
            let (value, vn) = self.str();
            null_string |= kn || vn;
            list.push(OtHeader { key, value });
        }
        let null_list = n > 0 && self.byte().is_multiple_of(16);
        let ptr = if null_list { null() } else { list.as_ptr() };
        keep.push(list);
        (ptr, n, null_string, null_list)
    }
}

/// Status checks of one call; records its signature.
struct Calls {
    trail: Vec<(u8, i32)>,
    /// The `error` argument of the call being made points here (when it is not NULL).
    slot: *mut OtBuffer,
    /// Whether the call being made was given `slot` (or NULL).
    given: bool,
    /// The message of every failed call that was given `slot`, in order.
    messages: Vec<String>,
}

/// What `slot` holds before a call: not NULL and not a buffer, so a call that leaves
/// `*error` unwritten is caught (and never read or freed).
fn unwritten() -> *mut OtBuffer {
    std::ptr::NonNull::dangling().as_ptr()
}

impl Calls {
    fn new() -> Self {
        Calls {
            trail: Vec::new(),
            slot: null_mut(),
            given: false,
            messages: Vec::new(),
        }
    }

    /// The `error` argument of the next call: a slot to fill, or (one call in four) NULL,
    /// which every function must accept.
    fn error_out(&mut self) -> *mut *mut OtBuffer {
        if self.trail.len() % 4 == 3 {
            self.no_error()
        } else {
            self.error_slot()
        }
    }

    /// An `error` argument pointing at the slot, which holds garbage until the call writes it.
    fn error_slot(&mut self) -> *mut *mut OtBuffer {
        self.given = true;
        self.slot = unwritten();
        std::ptr::addr_of_mut!(self.slot)
    }

    /// A NULL `error` argument: the caller does not want the message.
    fn no_error(&mut self) -> *mut *mut OtBuffer {
        self.given = false;
        null_mut()
    }

    /// The message of the last failed call given the slot ("" when it had none).
    fn message(&self) -> &str {
        self.messages.last().map_or("", String::as_str)
    }

    /// Checks a call's status and its `*error` against the ABI's promises: success wrote
    /// NULL, failure a buffer with a message of 1 to [`MAX_ERROR_MESSAGE`] bytes of UTF-8.
    fn after(&mut self, op: u8, status: Status) -> Result<Status, String> {
        self.trail.push((op, status.code()));
        let given = std::mem::replace(&mut self.given, false);
        let error = std::mem::replace(&mut self.slot, null_mut());
        if given {
            if status == Status::Ok {
                if !error.is_null() {
                    return Err(format!("op {op}: Ok but *error is {error:?}, not NULL"));
                }
            } else {
                if error.is_null() || error == unwritten() {
                    return Err(format!(
                        "op {op}: {} left no message in *error ({error:?})",
                        status.name()
                    ));
                }
                let message = take_message(error)?;
                if message.is_empty() || message.len() > MAX_ERROR_MESSAGE {
                    return Err(format!(
                        "op {op}: {} with a message of {} bytes: {message:.200}",
                        status.name(),
                        message.len()
                    ));
                }
                self.messages.push(message);
            }
        }
        if status == Status::Panic {
            return Err(format!("op {op}: PANIC: {}", self.message()));
        }
        Ok(status)
    }

    fn expect(&mut self, op: u8, status: Status, want: Status, what: &str) -> Result<(), String> {
        let got = self.after(op, status)?;
        if got != want {
            return Err(format!(
                "op {op}: {what}: got {}, expected {} ({})",
                got.name(),
                want.name(),
                self.message()
            ));
        }
        Ok(())
    }
}

/// The text of an error buffer the library handed out (UTF-8, or the promise is broken);
/// frees it.
fn take_message(error: *mut OtBuffer) -> Result<String, String> {
    let mut text = OtStr {
        ptr: null(),
        len: 0,
    };
    let read = unsafe { ot_buffer_str(error, &mut text, null_mut()) };
    let bytes = if read == Status::Ok && !text.ptr.is_null() {
        unsafe { std::slice::from_raw_parts(text.ptr, text.len) }.to_vec()
    } else {
        Vec::new()
    };
    unsafe { ot_buffer_free(error) };
    if read != Status::Ok {
        return Err(format!("ot_buffer_str of an error buffer: {}", read.name()));
    }
    String::from_utf8(bytes).map_err(|e| format!("an error message is not UTF-8: {e}"))
}

/// Reads a list the library handed out, checking reads past its end; frees it.
fn take_list(calls: &mut Calls, list: *mut OtHeaders) -> Result<Vec<ByteHeader>, String> {
    let mut n = 0usize;
    let status = unsafe { ot_headers_len(list, &mut n, calls.error_out()) };
    calls.expect(100, status, Status::Ok, "ot_headers_len")?;
    let mut items = Vec::with_capacity(n);
    let empty = OtStr {
        ptr: null(),
        len: 0,
    };
    for i in 0..=n {
        let (mut k, mut v) = (empty, empty);
        let status = unsafe { ot_headers_get(list, i, &mut k, &mut v, calls.error_out()) };
        if i == n {
            calls.expect(
                101,
                status,
                Status::InvalidInput,
                "ot_headers_get past the end",
            )?;
        } else {
            calls.expect(101, status, Status::Ok, "ot_headers_get")?;
            let read = |s: OtStr| {
                if s.ptr.is_null() {
                    Vec::new()
                } else {
                    unsafe { std::slice::from_raw_parts(s.ptr, s.len) }.to_vec()
                }
            };
            items.push((read(k), read(v)));
        }
    }
    let status = unsafe { ot_headers_get(list, 0, null_mut(), null_mut(), calls.error_out()) };
    let want = if n == 0 {
        Status::InvalidInput
    } else {
        Status::NullPointer
    };
    calls.expect(102, status, want, "ot_headers_get without out pointers")?;
    unsafe { ot_headers_free(list) };
    Ok(items)
}

/// Extracts through the C ABI and checks what comes back; returns the forwarded headers.
fn extract(
    calls: &mut Calls,
    op: u8,
    headers: *const OtHeader,
    count: usize,
    expect_null: bool,
) -> Result<Option<Vec<ByteHeader>>, String> {
    let (mut forward, mut read) = (null_mut(), null_mut());
    let status =
        unsafe { ot_headers_extract(headers, count, &mut forward, &mut read, calls.error_out()) };
    if expect_null {
        calls.expect(
            op,
            status,
            Status::NullPointer,
            "extract with a NULL string",
        )?;
        return Ok(None);
    }
    calls.expect(op, status, Status::Ok, "ot_headers_extract")?;
    let forward = take_list(calls, forward)?;
    let read = take_list(calls, read)?;
    for (k, _) in &forward {
        if !matches!(k.as_slice(), b"traceparent" | b"tracestate" | b"baggage") {
            return Err(format!(
                "extract forwards a header named {:?}",
                String::from_utf8_lossy(k)
            ));
        }
    }
    let mut malformed = false;
    for (k, v) in &read {
        match k.as_slice() {
            b"trace_id" | b"parent_id" | b"order_id" | b"user_id" => {}
            b"problem" => malformed |= v.starts_with(b"malformed "),
            other => {
                return Err(format!(
                    "extract reads an unknown key {:?}",
                    String::from_utf8_lossy(other)
                ));
            }
        }
        if v.len() > MAX_ERROR_MESSAGE && k.as_slice() == b"problem" {
            return Err(format!("a problem line of {} bytes", v.len()));
        }
    }
    let status = unsafe { ot_headers_check(headers, count, calls.error_out()) };
    let status = calls.after(op, status)?;
    if (status == Status::Ok) == malformed {
        return Err(format!(
            "ot_headers_check says {} but extract reported malformed={malformed}",
            status.name()
        ));
    }
    Ok(Some(forward))
}

fn as_ot_headers(list: &[(Vec<u8>, Vec<u8>)]) -> Vec<OtHeader> {
    list.iter()
        .map(|(k, v)| OtHeader {
            key: OtStr {
                ptr: k.as_ptr(),
                len: k.len(),
            },
            value: OtStr {
                ptr: v.as_ptr(),
                len: v.len(),
            },
        })
        .collect()
}

fn attribute(p: &mut Program<'_>) -> (OtAttribute, bool) {
    let (key, kn) = p.str();
    let kind = match p.byte() % 6 {
        k @ 0..=3 => i32::from(k),
        4 => -1,
        _ => i32::from(p.byte()),
    };
    let (string_value, vn) = p.str();
    let int_value = i64::from(p.byte() as i8) << (p.byte() % 64);
    let double_value = match p.byte() % 5 {
        0 => f64::NAN,
        1 => f64::INFINITY,
        2 => -0.0,
        3 => f64::MAX,
        _ => f64::from(p.byte()) / 7.0,
    };
    (
        OtAttribute {
            key,
            kind,
            string_value,
            int_value,
            double_value,
        },
        kn || (kind == 0 && vn),
    )
}

struct Live {
    stage: *mut OtStage,
    ended: bool,
}

/// Runs one program of C ABI calls.
pub fn c_abi(input: &[u8]) -> Outcome {
    let calls = program(input)?;
    let mut h = DefaultHasher::new();
    calls.trail.hash(&mut h);
    Ok(h.finish())
}

/// Runs one program; the calls made (as (op, status code), and the messages of those that
/// failed), or the promise it broke.
fn program(input: &[u8]) -> Result<Calls, String> {
    let tracer = shared_tracer();
    let mut p = Program {
        input,
        at: 0,
        owned: Vec::new(),
    };
    let mut calls = Calls::new();
    let mut stages: Vec<Live> = Vec::new();
    let mut lists: Vec<Vec<OtHeader>> = Vec::new();
    let result = run(&mut p, &mut calls, tracer, &mut stages, &mut lists);
    for s in stages {
        unsafe { ot_stage_free(s.stage) };
    }
    result.map(|()| calls)
}

fn run(
    p: &mut Program<'_>,
    calls: &mut Calls,
    tracer: *const OtTracer,
    stages: &mut Vec<Live>,
    lists: &mut Vec<Vec<OtHeader>>,
) -> Result<(), String> {
    let mut n = 0;
    while !p.done() && n < MAX_CALLS {
        n += 1;
        let op = p.byte() % 20;
        // A live stage to call, when there is one (picked by the next byte).
        let pick = usize::from(p.byte());
        let stage_index = (!stages.is_empty()).then(|| pick % stages.len());
        match op {
            0 => {
                let (headers, count, null_string, null_list) = p.headers(lists);
                let status = unsafe { ot_headers_check(headers, count, calls.error_out()) };
                if null_list || null_string {
                    calls.expect(op, status, Status::NullPointer, "check with NULL")?;
                } else {
                    calls.after(op, status)?;
                }
            }
            1 => {
                let (headers, count, null_string, null_list) = p.headers(lists);
                if let Some(forward) = extract(calls, op, headers, count, null_string || null_list)?
                {
                    // What is forwarded is forwarded again unchanged.
                    let again = as_ot_headers(&forward);
                    let second = extract(calls, op, again.as_ptr(), again.len(), false)?;
                    if second.as_ref() != Some(&forward) {
                        return Err(format!(
                            "forwarded headers changed when extracted again: {forward:?} -> {second:?}"
                        ));
                    }
                }
            }
            2 | 3 => {
                let (event, en) = if p.byte().is_multiple_of(4) {
                    p.str()
                } else {
                    (ot(event_name(p.byte())), false)
                };
                let (order_id, on) = p.str();
                let (user_id, un) = p.str();
                let n_attr = usize::from(p.byte() % 4);
                let mut attributes = Vec::with_capacity(n_attr);
                let mut an = false;
                for _ in 0..n_attr {
                    let (a, null_len) = attribute(p);
                    an |= null_len;
                    attributes.push(a);
                }
                let (headers, count, hn, hl) = p.headers(lists);
                let (status_from, fnull) = p.str();
                let (status_to, tnull) = p.str();
                let kind = i32::from(p.byte() % 7) - 1;
                let null_attributes = n_attr > 0 && p.byte().is_multiple_of(16);
                let info = OtStageStart {
                    event,
                    order_id,
                    user_id,
                    attributes: if null_attributes {
                        null()
                    } else {
                        attributes.as_ptr()
                    },
                    attribute_count: n_attr,
                    parent_headers: headers,
                    parent_header_count: count,
                    kind,
                    status_from,
                    status_to,
                };
                let any_null =
                    en || on || un || an || hn || hl || fnull || tnull || null_attributes;
                if op == 2 {
                    let mut out = null_mut();
                    let status =
                        unsafe { ot_stage_start(tracer, &info, &mut out, calls.error_out()) };
                    let status = calls.after(op, status)?;
                    if status == Status::Ok {
                        if any_null {
                            return Err(
                                "a stage started with a NULL string of non-zero length".into()
                            );
                        }
                        stages.push(Live {
                            stage: out,
                            ended: false,
                        });
                        if stages.len() > 4 {
                            let old = stages.remove(0);
                            unsafe { ot_stage_free(old.stage) };
                        }
                    } else if !out.is_null() {
                        return Err(format!("{} but a stage was handed out", status.name()));
                    }
                    let status =
                        unsafe { ot_stage_start(tracer, &info, null_mut(), calls.error_out()) };
                    calls.expect(op, status, Status::NullPointer, "start without out")?;
                    let status =
                        unsafe { ot_stage_start(tracer, null(), &mut out, calls.error_out()) };
                    calls.expect(op, status, Status::NullPointer, "start without info")?;
                    let status =
                        unsafe { ot_stage_start(null(), &info, &mut out, calls.error_out()) };
                    calls.expect(op, status, Status::NullPointer, "start without tracer")?;
                } else {
                    let (error_type, _) = p.str();
                    let (message, _) = p.str();
                    let (stacktrace, _) = p.str();
                    let error = calls.error_out();
                    let status = unsafe {
                        ot_stage_record(tracer, &info, error_type, message, stacktrace, error)
                    };
                    calls.after(op, status)?;
                }
            }
            4 => {
                let (a, _) = attribute(p);
                stage_call(calls, op, stages, stage_index, |s, e| unsafe {
                    ot_stage_set_attribute(s, &a, e)
                })?;
                let status =
                    unsafe { ot_stage_set_attribute(first(stages), null(), calls.error_out()) };
                calls.expect(op, status, Status::NullPointer, "set_attribute without one")?;
            }
            5 => {
                let amount = f64::from(p.byte() as i8) * 10f64.powi(i32::from(p.byte() % 40));
                let (currency, _) = p.str();
                stage_call(calls, op, stages, stage_index, |s, e| unsafe {
                    ot_stage_record_price(s, amount, currency, e)
                })?;
            }
            6 => {
                let (t, _) = p.str();
                let (m, _) = p.str();
                let (st, _) = p.str();
                stage_call(calls, op, stages, stage_index, |s, e| unsafe {
                    ot_stage_record_error(s, t, m, st, e)
                })?;
            }
            7 | 8 => {
                let (t, _) = p.str();
                let (m, _) = p.str();
                let (st, _) = p.str();
                // Ending twice: the second end is CLOSED (the handle stays valid until freed).
                // An error that is refused still ends the stage (documented), so any status ends it.
                stage_call(calls, op, stages, stage_index, |s, e| unsafe {
                    if op == 7 {
                        ot_stage_end(s, e)
                    } else {
                        ot_stage_end_with_error(s, t, m, st, e)
                    }
                })?;
                if let Some(i) = stage_index {
                    stages[i].ended = true;
                }
            }
            9 => {
                let mut list = null_mut();
                stage_call(calls, op, stages, stage_index, |s, e| unsafe {
                    ot_stage_inject(s, &mut list, e)
                })?;
                if !list.is_null() {
                    let items = take_list(calls, list)?;
                    let again = as_ot_headers(&items);
                    extract(calls, op, again.as_ptr(), again.len(), false)?;
                }
                let status =
                    unsafe { ot_stage_inject(first(stages), null_mut(), calls.error_out()) };
                calls.expect(op, status, Status::NullPointer, "inject without out")?;
            }
            10 => {
                let (mut trace, mut span) = ([0u8; 32], [0u8; 16]);
                let stage = first(stages);
                let status = unsafe {
                    ot_stage_ids(
                        stage,
                        trace.as_mut_ptr(),
                        span.as_mut_ptr(),
                        calls.error_out(),
                    )
                };
                if stage.is_null() {
                    calls.expect(op, status, Status::NullPointer, "ids of NULL")?;
                } else {
                    calls.expect(op, status, Status::Ok, "ids (also after the end)")?;
                    if !trace.iter().chain(&span).all(u8::is_ascii_hexdigit) {
                        return Err(format!("ids are not hex: {trace:?} {span:?}"));
                    }
                }
                let status = unsafe {
                    ot_stage_ids(stage, null_mut(), span.as_mut_ptr(), calls.error_out())
                };
                calls.expect(op, status, Status::NullPointer, "ids without a buffer")?;
            }
            11 => {
                if let Some(i) = stage_index {
                    let s = stages.remove(i);
                    unsafe { ot_stage_free(s.stage) };
                }
                unsafe { ot_stage_free(null_mut()) };
            }
            12 => {
                let (id, null_len) = p.str();
                let status = unsafe { ot_order_id_check(id, calls.error_out()) };
                if null_len {
                    calls.expect(op, status, Status::NullPointer, "order id NULL")?;
                } else {
                    calls.after(op, status)?;
                }
            }
            13 => {
                let (id, null_len) = p.str();
                let mut buffer = null_mut();
                let status = unsafe { ot_user_id_normalize(id, &mut buffer, calls.error_out()) };
                let status = calls.after(op, status)?;
                if null_len && status != Status::NullPointer {
                    return Err(format!("user id NULL gave {}", status.name()));
                }
                if status == Status::Ok {
                    let mut text = OtStr {
                        ptr: null(),
                        len: 0,
                    };
                    let status = unsafe { ot_buffer_str(buffer, &mut text, calls.error_out()) };
                    calls.expect(op, status, Status::Ok, "buffer_str")?;
                    let normalized = unsafe { std::slice::from_raw_parts(text.ptr, text.len) };
                    if normalized.len() != 36
                        || normalized.iter().any(|b| {
                            !(b.is_ascii_digit() || (b'a'..=b'f').contains(b) || *b == b'-')
                        })
                    {
                        return Err(format!(
                            "normalised user id {:?}",
                            String::from_utf8_lossy(normalized)
                        ));
                    }
                    let status = unsafe { ot_buffer_str(buffer, null_mut(), calls.error_out()) };
                    calls.expect(op, status, Status::NullPointer, "buffer_str without out")?;
                    unsafe { ot_buffer_free(buffer) };
                } else if !buffer.is_null() {
                    return Err(format!("{} but a buffer was handed out", status.name()));
                }
                let status = unsafe { ot_buffer_str(null(), null_mut(), calls.error_out()) };
                calls.expect(op, status, Status::NullPointer, "buffer_str of NULL")?;
                unsafe { ot_buffer_free(null_mut()) };
            }
            14 => {
                // The same failed call with its message not wanted (NULL) and wanted: the same
                // status, and a message naming the argument; then a success writes NULL over
                // the garbage in the slot.
                let null_id = OtStr {
                    ptr: null(),
                    len: 3,
                };
                let status = unsafe { ot_order_id_check(null_id, calls.no_error()) };
                calls.expect(op, status, Status::NullPointer, "order id NULL, no message")?;
                let status = unsafe { ot_order_id_check(null_id, calls.error_slot()) };
                calls.expect(op, status, Status::NullPointer, "order id NULL")?;
                if calls.message() != "order id is a NULL pointer" {
                    return Err(format!("order id NULL: message {:?}", calls.message()));
                }
                let status = unsafe { ot_order_id_check(ot("ORD-1"), calls.error_slot()) };
                calls.expect(op, status, Status::Ok, "a plain order id")?;
            }
            15 => {
                let code = i32::from_le_bytes([p.byte(), p.byte(), p.byte(), p.byte()]);
                let name = ot_status_name(code);
                let name = unsafe { std::slice::from_raw_parts(name.ptr, name.len) };
                let want = Status::from_code(code).map_or("UNKNOWN_STATUS", Status::name);
                if name != want.as_bytes() {
                    return Err(format!("status name of {code}: {name:?}"));
                }
            }
            16 => {
                let status = unsafe { ot_tracer_counters(tracer, null_mut(), calls.error_out()) };
                calls.expect(op, status, Status::NullPointer, "counters without out")?;
                let status = unsafe { ot_tracer_flush(null(), 0, calls.error_out()) };
                calls.expect(op, status, Status::NullPointer, "flush of NULL")?;
                let status = unsafe { ot_headers_len(null(), null_mut(), calls.error_out()) };
                calls.expect(op, status, Status::NullPointer, "headers_len of NULL")?;
                unsafe { ot_headers_free(null_mut()) };
                unsafe { ot_tracer_free(null_mut()) };
            }
            17 if !p.byte().is_multiple_of(16) => {
                // Most of the time only the cheap refusal: a tracer with no configuration.
                let mut out = null_mut();
                let status = unsafe { ot_tracer_new(null(), &mut out, calls.error_out()) };
                calls.expect(op, status, Status::NullPointer, "tracer_new without config")?;
            }
            17 => {
                // A tracer from a configuration with bad values: refused, or made and then used
                // after shutdown (lenient or an error, never a crash), then freed once. Rare (one
                // op 17 in 16): making a tracer starts threads and waits for them.
                let start_records = [0, 1, -1, 2, i32::MIN][usize::from(p.byte()) % 5];
                let identity = [0, 1, -1, 7][usize::from(p.byte()) % 4];
                let strict_ids = [0, 1, -1, 3][usize::from(p.byte()) % 4];
                let mut config = tracer_config("c-abi-fuzz-2", start_records, identity, strict_ids);
                let (service, null_len) = p.str();
                config.service_name = service;
                let (endpoint, _) = p.str();
                // An endpoint only with a protocol that is refused: no exporter connects anywhere.
                if endpoint.len > 0 {
                    config.otlp_endpoint = endpoint;
                    config.otlp_protocol = 2 + i32::from(p.byte());
                }
                let mut out = null_mut();
                let status = unsafe { ot_tracer_new(&config, &mut out, calls.error_out()) };
                let status = calls.after(op, status)?;
                if null_len && status == Status::Ok {
                    return Err("a tracer made with a NULL service name of non-zero length".into());
                }
                if status == Status::Ok {
                    let status = unsafe { ot_tracer_shutdown(out, 1000, calls.error_out()) };
                    calls.after(op, status)?;
                    let status = unsafe { ot_tracer_shutdown(out, 1000, calls.error_out()) };
                    calls.after(op, status)?;
                    let info = OtStageStart {
                        event: ot("order_submitted"),
                        order_id: ot("ORD-1"),
                        user_id: OtStr {
                            ptr: null(),
                            len: 0,
                        },
                        attributes: null(),
                        attribute_count: 0,
                        parent_headers: null(),
                        parent_header_count: 0,
                        kind: 0,
                        status_from: OtStr {
                            ptr: null(),
                            len: 0,
                        },
                        status_to: OtStr {
                            ptr: null(),
                            len: 0,
                        },
                    };
                    let mut stage = null_mut();
                    let status =
                        unsafe { ot_stage_start(out, &info, &mut stage, calls.error_out()) };
                    calls.after(op, status)?;
                    if !stage.is_null() {
                        unsafe { ot_stage_end(stage, null_mut()) };
                        unsafe { ot_stage_free(stage) };
                    }
                    unsafe { ot_tracer_free(out) };
                } else if !out.is_null() {
                    return Err(format!("{} but a tracer was handed out", status.name()));
                }
                let status = unsafe { ot_tracer_new(null(), &mut out, calls.error_out()) };
                calls.expect(op, status, Status::NullPointer, "tracer_new without config")?;
            }
            _ => {
                // A header list with counts that do not match what is there: zero with a list,
                // a list of NULL with a count.
                let (headers, count, _, _) = p.headers(lists);
                let status = unsafe { ot_headers_check(headers, 0, calls.error_out()) };
                calls.expect(op, status, Status::Ok, "a count of 0 reads nothing")?;
                let status = unsafe { ot_headers_check(null(), count.max(1), calls.error_out()) };
                calls.expect(op, status, Status::NullPointer, "NULL list with a count")?;
                let (mut f, mut r) = (null_mut(), null_mut());
                let status =
                    unsafe { ot_headers_extract(null(), 1, &mut f, &mut r, calls.error_out()) };
                calls.expect(op, status, Status::NullPointer, "extract of a NULL list")?;
            }
        }
    }
    Ok(())
}

fn first(stages: &[Live]) -> *const OtStage {
    stages.first().map_or(null(), |s| s.stage)
}

/// Calls `f` on the picked stage (or NULL when there is none) and checks the status: NULL
/// gives NULL_POINTER, an ended stage CLOSED (or an argument error). `f` gets the stage and
/// the `error` argument. Returns the index when the call succeeded.
fn stage_call(
    calls: &mut Calls,
    op: u8,
    stages: &[Live],
    index: Option<usize>,
    f: impl FnOnce(*const OtStage, *mut *mut OtBuffer) -> Status,
) -> Result<Option<usize>, String> {
    let (stage, ended) = index.map_or((null(), false), |i| (stages[i].stage, stages[i].ended));
    let error = calls.error_out();
    let status = calls.after(op, f(stage, error))?;
    // Arguments may be refused before the handle is looked at, so the promise is "an error",
    // and NULL_POINTER / CLOSED unless an argument was refused first.
    let argument_refused = matches!(
        status,
        Status::InvalidUtf8 | Status::InvalidInput | Status::NullPointer
    );
    if stage.is_null() && status != Status::NullPointer && !argument_refused {
        return Err(format!("op {op} on a NULL stage gave {}", status.name()));
    }
    if ended && status != Status::Closed && !argument_refused {
        return Err(format!("op {op} on an ended stage gave {}", status.name()));
    }
    Ok(index.filter(|_| status == Status::Ok))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: i32 = 0;

    /// op 2: start `order_submitted` for `order` (no user, attributes, headers or status).
    fn start(order: &[u8]) -> Vec<u8> {
        let mut p = vec![2, 0, 1, 0, 3, order.len() as u8];
        p.extend_from_slice(order);
        p.extend_from_slice(&[0, 0, 0, 0, 0, 1]);
        p
    }

    #[test]
    fn ending_a_stage_twice_gives_closed_the_second_time() {
        let mut p = start(b"ORD-1");
        p.extend_from_slice(&[7, 0, 0, 0, 0, 7, 0, 0, 0, 0]);
        let trail = program(&p).expect("no broken promise").trail;
        let ends: Vec<i32> = trail
            .iter()
            .filter(|(op, _)| *op == 7)
            .map(|t| t.1)
            .collect();
        assert_eq!(trail[0], (2, OK), "{trail:?}");
        assert_eq!(ends, [OK, Status::Closed.code()], "{trail:?}");
    }

    #[test]
    fn an_order_id_that_is_not_utf8_still_starts_a_stage_on_the_lenient_tracer() {
        // The shared tracer has lenient ids (the default): the bad id is recorded on the span.
        let trail = program(&start(b"OR\xffD"))
            .expect("no broken promise")
            .trail;
        assert_eq!(trail[0], (2, OK), "{trail:?}");
    }

    #[test]
    fn a_null_string_with_a_length_is_refused_with_null_pointer() {
        // op 12: ot_order_id_check of {NULL, 5}.
        let trail = program(&[12, 0, 1, 4]).expect("no broken promise").trail;
        assert_eq!(trail, [(12, Status::NullPointer.code())]);
    }

    #[test]
    fn a_one_mib_order_id_is_refused_by_its_length_with_a_short_message() {
        // op 12 with a string of mode 3 and head 0xff: 1 MiB made by repeating its bytes.
        let calls = program(&[12, 0, 3, 0xff, b'x']).expect("no broken promise");
        assert_eq!(calls.trail, [(12, Status::InvalidInput.code())]);
        let message = calls.message();
        assert!(message.starts_with("invalid order id: "), "{message:.200}");
        assert!(
            message.len() <= MAX_ERROR_MESSAGE,
            "{} bytes",
            message.len()
        );
    }

    #[test]
    fn extracting_forwards_and_reads_each_list_to_its_end() {
        // op 1: one header, traceparent (word 0) = a valid traceparent (word 3).
        let trail = program(&[1, 0, 1, 2, 0, 2, 3, 1])
            .expect("no broken promise")
            .trail;
        assert_eq!(trail[0], (1, OK), "{trail:?}");
        assert!(
            trail.contains(&(101, Status::InvalidInput.code())),
            "the read past the end: {trail:?}"
        );
    }

    #[test]
    fn op_14_gives_the_same_status_without_and_with_an_error_slot() {
        let calls = program(&[14, 0]).expect("no broken promise");
        let null = Status::NullPointer.code();
        assert_eq!(calls.trail, [(14, null), (14, null), (14, OK)]);
        assert_eq!(calls.messages, ["order id is a NULL pointer"]);
    }

    #[test]
    fn every_fourth_call_passes_a_null_error_pointer() {
        // Five op-12 checks of {NULL, n}: all NULL_POINTER, and a message for every call but
        // the fourth, which was given NULL.
        let calls = program(&[12, 0, 1, 4].repeat(5)).expect("no broken promise");
        assert_eq!(calls.trail.len(), 5);
        assert_eq!(calls.messages.len(), 4, "{:?}", calls.messages);
    }

    #[test]
    fn the_checker_refuses_a_failure_that_left_error_unwritten() {
        let mut calls = Calls::new();
        calls.error_slot();
        let broken = calls.after(12, Status::InvalidInput).unwrap_err();
        assert!(broken.contains("left no message"), "{broken}");
    }

    #[test]
    fn the_checker_refuses_a_success_that_left_error_unwritten() {
        let mut calls = Calls::new();
        calls.error_slot();
        let broken = calls.after(12, Status::Ok).unwrap_err();
        assert!(broken.contains("not NULL"), "{broken}");
    }
}
