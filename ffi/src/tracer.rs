//! Tracer handles: create from explicit configuration or the environment, flush, shut down,
//! read counters, free.

use crate::buffer::OtBuffer;
use crate::error::{Status, guard, hand_out};
use crate::strings::OtStr;
use ordertrace::{OrderTracer, PipelineCounters};
use ordertrace_bridge::BridgeError;
use ordertrace_bridge::tracer_settings::TracerSettings;
use std::time::Duration;

/// OTLP over HTTP/protobuf.
pub const OT_PROTOCOL_HTTP_PROTOBUF: i32 = 0;
/// OTLP over gRPC.
pub const OT_PROTOCOL_GRPC: i32 = 1;
/// Keep the default (or the environment's value) for a tri-state setting.
pub const OT_DEFAULT: i32 = -1;
/// Identity: the order-derived trace wins (default).
pub const OT_IDENTITY_ORDER_DERIVED: i32 = 0;
/// Identity: an incoming context wins.
pub const OT_IDENTITY_PROPAGATED: i32 = 1;

/// How to build a tracer. Empty strings and [`OT_DEFAULT`] mean "not set"; set values win
/// over the environment when `read_env` is 1.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct OtTracerConfig {
    /// `service.name`, e.g. `mes-api`.
    pub service_name: OtStr,
    /// Embedded exporter's OTLP/JSON-lines file.
    pub file: OtStr,
    /// OTLP endpoint (full URL; for HTTP including `/v1/traces`); selects OTLP export.
    pub otlp_endpoint: OtStr,
    /// [`OT_PROTOCOL_HTTP_PROTOBUF`] or [`OT_PROTOCOL_GRPC`].
    pub otlp_protocol: i32,
    /// 1 on, 0 off, [`OT_DEFAULT`].
    pub start_records: i32,
    /// Heartbeat interval in ms; 0 off; negative: default.
    pub heartbeat_ms: i64,
    /// [`OT_IDENTITY_ORDER_DERIVED`], [`OT_IDENTITY_PROPAGATED`] or [`OT_DEFAULT`].
    pub identity: i32,
    /// 1: start from the `OTEL_*` / `ORDERTRACE_*` environment; 0: from the defaults.
    pub read_env: i32,
    /// Root folder of the disk spool (the tracer spools in `<dir>/<service.name>`); empty:
    /// the environment's `ORDERTRACE_SPOOL_DIR` when `read_env` is 1, else no spool.
    pub spool_dir: OtStr,
    /// 1: a stage whose order id or user id breaks a rule fails to start (`OT_STATUS_INVALID_INPUT`);
    /// 0: lenient, it starts and the problem is recorded on its span and counted in
    /// `ids_rejected`; [`OT_DEFAULT`]: the environment's `ORDERTRACE_STRICT_IDS`, else lenient.
    pub strict_ids: i32,
    /// How long a stage stays open before its start record is exported, ms (a stage that ends
    /// sooner costs one span); 0: at once; negative: the environment's
    /// `ORDERTRACE_START_RECORD_AFTER_MS`, else the heartbeat interval. Zero-initialised
    /// configs get 0, the old behaviour: set -1 for the default.
    pub start_record_after_ms: i64,
}

/// A tracer. Thread-safe: one handle serves every thread of the process.
#[derive(Debug)]
pub struct OtTracer {
    pub(crate) tracer: OrderTracer,
}

fn build(config: &OtTracerConfig) -> Result<OrderTracer, BridgeError> {
    // SAFETY (all as_opt_str calls): the caller promises readable strings in the config.
    let (service_name, file, otlp_endpoint, spool_dir) = unsafe {
        (
            config.service_name.as_opt_str("service_name")?,
            config.file.as_opt_str("file")?,
            config.otlp_endpoint.as_opt_str("otlp_endpoint")?,
            config.spool_dir.as_opt_str("spool_dir")?,
        )
    };
    TracerSettings {
        read_env: config.read_env != 0,
        service_name,
        file,
        otlp_endpoint,
        protocol: config.otlp_protocol,
        spool_dir,
        start_records: config.start_records,
        start_record_after_ms: config.start_record_after_ms,
        heartbeat_ms: config.heartbeat_ms,
        identity: config.identity,
        strict_ids: config.strict_ids,
    }
    .build()
}

/// Creates a tracer from `config`; `*out` receives the handle.
///
/// # Safety
/// `config` must point to a readable config whose strings are readable; `out` writable;
/// `error` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_tracer_new(
    config: *const OtTracerConfig,
    out: *mut *mut OtTracer,
    error: *mut *mut OtBuffer,
) -> Status {
    // SAFETY (all derefs): see the function's contract.
    guard(unsafe { error.as_mut() }, || {
        let config = unsafe { config.as_ref() }.ok_or_else(|| BridgeError::null("config"))?;
        hand_out(
            OtTracer {
                tracer: build(config)?,
            },
            out,
        )
    })
}

/// Creates a tracer configured entirely by the environment (`OTEL_*`, `ORDERTRACE_*`).
///
/// # Safety
/// `out` must be writable; `error` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_tracer_from_env(
    out: *mut *mut OtTracer,
    error: *mut *mut OtBuffer,
) -> Status {
    // SAFETY: see the function's contract.
    guard(unsafe { error.as_mut() }, || {
        hand_out(
            OtTracer {
                tracer: OrderTracer::from_env()?,
            },
            out,
        )
    })
}

/// The tracer behind a handle.
///
/// # Safety
/// `tracer` must be NULL or a live handle from this library.
pub(crate) unsafe fn tracer_ref<'a>(
    tracer: *const OtTracer,
) -> Result<&'a OrderTracer, BridgeError> {
    // SAFETY: see the function's contract.
    unsafe { tracer.as_ref() }
        .map(|t| &t.tracer)
        .ok_or_else(|| BridgeError::null("tracer"))
}

/// Exports everything ended so far; `Status::Timeout` after `timeout_ms`.
///
/// # Safety
/// `tracer` must be a live handle; `error` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_tracer_flush(
    tracer: *const OtTracer,
    timeout_ms: u64,
    error: *mut *mut OtBuffer,
) -> Status {
    // SAFETY (all derefs): see the function's contract.
    guard(unsafe { error.as_mut() }, || {
        Ok(unsafe { tracer_ref(tracer) }?.flush(Duration::from_millis(timeout_ms))?)
    })
}

/// Exports what is queued and stops the pipeline, within `timeout_ms`; later stages fail
/// with `Status::ShutDown`. Calling it again is harmless.
///
/// # Safety
/// `tracer` must be a live handle; `error` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_tracer_shutdown(
    tracer: *const OtTracer,
    timeout_ms: u64,
    error: *mut *mut OtBuffer,
) -> Status {
    // SAFETY (all derefs): see the function's contract.
    guard(unsafe { error.as_mut() }, || {
        Ok(unsafe { tracer_ref(tracer) }?.shutdown(Duration::from_millis(timeout_ms))?)
    })
}

/// Reads the pipeline counters into `*out` (`OtCounters` in the header: the core's
/// `PipelineCounters`, `repr(C)`).
///
/// # Safety
/// `tracer` must be a live handle; `out` writable; `error` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_tracer_counters(
    tracer: *const OtTracer,
    out: *mut PipelineCounters,
    error: *mut *mut OtBuffer,
) -> Status {
    // SAFETY (all derefs): see the function's contract.
    guard(unsafe { error.as_mut() }, || {
        let c = unsafe { tracer_ref(tracer) }?.counters();
        let slot = unsafe { out.as_mut() }.ok_or_else(|| BridgeError::null("out"))?;
        *slot = c;
        Ok(())
    })
}

/// Releases the handle. The pipeline shuts down (bounded) once no stage of it is open; call
/// [`ot_tracer_shutdown`] first to choose the timeout. NULL is ignored.
///
/// # Safety
/// `tracer` must be NULL or a live handle, not used again afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_tracer_free(tracer: *mut OtTracer) {
    // SAFETY: forwarded; the handle was made by Box::into_raw.
    unsafe { crate::error::free_handle(tracer) }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::strings::ot;
    use std::ptr::null_mut;

    #[test]
    fn the_header_constants_are_the_bridges_encoding() {
        use ordertrace_bridge::tracer_settings as settings;
        // Literals for cbindgen, which cannot evaluate a path; checked here instead.
        assert_eq!(OT_PROTOCOL_HTTP_PROTOBUF, settings::PROTOCOL_HTTP_PROTOBUF);
        assert_eq!(OT_PROTOCOL_GRPC, settings::PROTOCOL_GRPC);
        assert_eq!(OT_DEFAULT, settings::DEFAULT);
        assert_eq!(OT_IDENTITY_ORDER_DERIVED, settings::IDENTITY_ORDER_DERIVED);
        assert_eq!(OT_IDENTITY_PROPAGATED, settings::IDENTITY_PROPAGATED);
    }

    pub(crate) fn file_config(file: &str) -> OtTracerConfig {
        OtTracerConfig {
            service_name: ot("mes-api"),
            file: ot(file),
            otlp_endpoint: ot(""),
            otlp_protocol: OT_PROTOCOL_HTTP_PROTOBUF,
            start_records: 0,
            heartbeat_ms: 0,
            identity: OT_DEFAULT,
            read_env: 0,
            spool_dir: ot(""),
            strict_ids: OT_DEFAULT,
            start_record_after_ms: -1,
        }
    }

    #[test]
    fn a_service_name_with_a_nul_character_makes_a_tracer_not_a_panic() {
        // Found by the c-abi fuzz target: the export thread's name held the NUL and
        // std::thread::Builder panicked (PANIC status).
        let mut config = file_config("/dev/null");
        config.service_name = ot("mes\0api");
        let mut tracer = std::ptr::null_mut();
        assert_eq!(
            unsafe { ot_tracer_new(&config, &mut tracer, null_mut()) },
            Status::Ok
        );
        assert_eq!(
            unsafe { ot_tracer_shutdown(tracer, 1000, null_mut()) },
            Status::Ok
        );
        unsafe { ot_tracer_free(tracer) };
    }

    #[test]
    fn builds_flushes_counts_and_frees() {
        let dir = std::env::temp_dir().join(format!("ot-ffi-tracer-{}", std::process::id()));
        let file = dir.join("s.jsonl");
        let path = file.to_str().unwrap().to_string();
        let config = file_config(&path);
        let mut t = std::ptr::null_mut();
        assert_eq!(
            unsafe { ot_tracer_new(&config, &mut t, null_mut()) },
            Status::Ok
        );
        assert_eq!(unsafe { ot_tracer_flush(t, 1000, null_mut()) }, Status::Ok);
        let mut c = PipelineCounters::default();
        assert_eq!(
            unsafe { ot_tracer_counters(t, &mut c, null_mut()) },
            Status::Ok
        );
        assert_eq!(c.spans_started, 0);
        assert_eq!(
            unsafe { ot_tracer_shutdown(t, 1000, null_mut()) },
            Status::Ok
        );
        assert_eq!(
            unsafe { ot_tracer_shutdown(t, 1000, null_mut()) },
            Status::Ok
        );
        unsafe { ot_tracer_free(t) };
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A tracer exporting to a port nothing listens on (the counters helper's port range).
    fn refused_otlp_config(spool_dir: &str) -> OtTracerConfig {
        let mut config = file_config("");
        config.otlp_endpoint = ot("http://127.0.0.1:28001/v1/traces");
        config.spool_dir = ot(spool_dir);
        config
    }

    /// Ends `n` stages, shuts the tracer down (with a spool, what the endpoint refused waits
    /// on disk; a flush would wait for the endpoint) and reads the counters.
    fn counters_after_ending(t: *mut OtTracer, n: usize) -> PipelineCounters {
        // SAFETY: `t` is a live handle made by ot_tracer_new in the calling test.
        let tracer = unsafe { tracer_ref(t) }.unwrap();
        for i in 0..n {
            tracer
                .stage(ordertrace::OrderEvent::OrderConfirmed, &format!("ORD-{i}"))
                .start()
                .unwrap()
                .end();
        }
        assert_eq!(
            unsafe { ot_tracer_shutdown(t, 5000, null_mut()) },
            Status::Ok
        );
        let mut c = PipelineCounters::default();
        assert_eq!(
            unsafe { ot_tracer_counters(t, &mut c, null_mut()) },
            Status::Ok
        );
        c
    }

    #[test]
    fn counters_report_spans_spooled_while_the_endpoint_refuses() {
        let dir = std::env::temp_dir().join(format!("ot-ffi-spool-{}", std::process::id()));
        let config = refused_otlp_config(dir.to_str().unwrap());
        let mut t = std::ptr::null_mut();
        assert_eq!(
            unsafe { ot_tracer_new(&config, &mut t, null_mut()) },
            Status::Ok
        );
        let c = counters_after_ending(t, 5);
        assert_eq!(c.spans_spooled, 5);
        assert_eq!(c.spool_spans, 5);
        assert!(c.spool_bytes > 0, "spool_bytes is 0: {c:?}");
        assert_eq!(
            (c.spans_exported, c.spans_dropped, c.spans_failed),
            (0, 0, 0)
        );
        assert!(c.failed_exports > 0, "no failed export counted: {c:?}");
        assert!(dir.join("mes-api").is_dir());
        unsafe { ot_tracer_free(t) };
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn spool_counters_stay_zero_without_a_spool_folder() {
        let config = refused_otlp_config("");
        let mut t = std::ptr::null_mut();
        assert_eq!(
            unsafe { ot_tracer_new(&config, &mut t, null_mut()) },
            Status::Ok
        );
        let c = counters_after_ending(t, 5);
        assert_eq!(c.spans_failed, 5);
        assert_eq!(
            (
                c.spans_spooled,
                c.spool_spans,
                c.spool_bytes,
                c.spool_oldest_age_ms
            ),
            (0, 0, 0, 0)
        );
        unsafe { ot_tracer_free(t) };
    }

    #[test]
    fn out_of_range_settings_are_config_errors() {
        let mut config = file_config("/tmp/x.jsonl");
        config.otlp_endpoint = ot("http://127.0.0.1:4318/v1/traces");
        config.otlp_protocol = 7;
        let (mut t, mut error) = (null_mut(), null_mut());
        assert_eq!(
            unsafe { ot_tracer_new(&config, &mut t, &mut error) },
            Status::InvalidConfig
        );
        let message = crate::buffer::tests::take_text(error);
        assert!(message.contains('7'), "names the protocol: {message}");
        let mut config = file_config("/tmp/x.jsonl");
        config.identity = 5;
        assert_eq!(
            unsafe { ot_tracer_new(&config, &mut t, null_mut()) },
            Status::InvalidConfig
        );
        assert!(t.is_null());
    }

    #[test]
    fn null_handles_are_errors() {
        let mut error = null_mut();
        assert_eq!(
            unsafe { ot_tracer_flush(std::ptr::null(), 10, &mut error) },
            Status::NullPointer
        );
        assert_eq!(
            crate::buffer::tests::take_text(error),
            "tracer is a NULL pointer"
        );
        assert_eq!(
            unsafe { ot_tracer_new(std::ptr::null(), null_mut(), &mut error) },
            Status::NullPointer
        );
        assert_eq!(
            crate::buffer::tests::take_text(error),
            "config is a NULL pointer"
        );
        unsafe { ot_tracer_free(std::ptr::null_mut()) };
    }
}
