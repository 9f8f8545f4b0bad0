package io.ordertrace;

import java.lang.ref.Cleaner;
import java.time.Duration;
import java.util.concurrent.locks.StampedLock;

/**
 * Records order stages and exports them (OTLP, or the embedded OTLP/JSON file). One per
 * service, shared by all threads. {@link #close()} shuts the pipeline down (bounded in time);
 * a tracer that is never closed is cleaned up when it becomes unreachable.
 *
 * <pre>{@code
 * try (OrderTracer tracer = OrderTracer.builder().serviceName("crm-api").build();
 *      StageSpan stage = tracer.stage(OrderEvent.ORDER_CONFIRMED, "ORD-1").userId(userId).start()) {
 *     stage.setAttribute("crm.channel", "web");
 * }
 * }</pre>
 */
public final class OrderTracer implements AutoCloseable {
    static final Cleaner CLEANER = Cleaner.create();

    private final NativeHandle release;
    private final Cleaner.Cleanable cleanable;
    // Stages start under the read lock; close takes the write lock, so no call uses a freed handle.
    // A StampedLock: its read lock is one compare-and-set each way, without the per-thread hold
    // counts of ReentrantReadWriteLock. It is not reentrant; nothing under it takes it again
    // (withHandle runs only native calls).
    private final StampedLock lock = new StampedLock();

    private OrderTracer(long handle) {
        // Freeing the native tracer shuts its pipeline down, bounded by the core's
        // DROP_SHUTDOWN_TIMEOUT, once its last open stage has ended too.
        this.release = new NativeHandle(handle, NativeBridge::tracerFree);
        this.cleanable = CLEANER.register(this, release);
    }

    /** A builder; unset settings come from the OTEL_* / ORDERTRACE_* environment or the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** A tracer configured entirely by the environment. */
    public static OrderTracer fromEnvironment() {
        return new OrderTracer(NativeBridge.tracerFromEnv());
    }

    /** Begins a stage of {@code orderId}; {@link StageBuilder#start()} starts it in one native call. */
    public StageBuilder stage(OrderEvent event, String orderId) {
        return new StageBuilder(this, event, orderId);
    }

    <T> T withHandle(java.util.function.LongFunction<T> f) {
        long stamp = lock.readLock();
        try {
            return f.apply(liveHandle());
        } finally {
            lock.unlockRead(stamp);
            // As in startCommon: `lock` is final, so its load may be hoisted above the call and
            // leave `this` unreachable (and the Cleaner free to run) while the native call runs.
            java.lang.ref.Reference.reachabilityFence(this);
        }
    }

    /** The native tracer's handle; CLOSED once the tracer is closed. Call under the read lock. */
    private long liveHandle() {
        long h = release.get();
        if (h == 0) {
            throw new OrderTraceException(OrderTraceException.CLOSED, "the tracer is closed");
        }
        return h;
    }

    /** Starts the common stage with the ids {@code ids} holds ({@link NativeBridge#stageStartAscii}). */
    long startCommon(int event, int kind, IdBuffer ids) {
        long stamp = lock.readLock();
        try {
            return NativeBridge.stageStartAscii(liveHandle(), event, kind, ids.address(), ids.orderLength(), ids.userLength());
        } finally {
            lock.unlockRead(stamp);
            ids.reachable();
            // The Cleaner frees the native tracer once this object is unreachable: not mid-call.
            java.lang.ref.Reference.reachabilityFence(this);
        }
    }

    /** Exports everything ended so far; throws (code TIMEOUT) after {@code timeout}. */
    public void flush(Duration timeout) {
        withHandle(h -> {
            NativeBridge.tracerFlush(h, timeout.toMillis());
            return null;
        });
    }

    /** Exports what is queued and stops the pipeline within {@code timeout}; later stages fail (code SHUT_DOWN). */
    public void shutdown(Duration timeout) {
        withHandle(h -> {
            NativeBridge.tracerShutdown(h, timeout.toMillis());
            return null;
        });
    }

    /** The pipeline counters now. */
    public PipelineCounters counters() {
        return withHandle(h -> {
            long[] c = NativeBridge.tracerCounters(h);
            return new PipelineCounters(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11],
                    c[12], c[13], c[14], c[15], c[16], c[17], c[18], c[19], c[20]);
        });
    }

    /** The canonical order-event schema as JSON. */
    public static String schemaJson() {
        return NativeBridge.schemaJson();
    }

    /** The spans in a file written by the embedded exporter, as a JSON array of flat span objects. */
    public static String readSpansJson(String path) {
        if (path == null) {
            throw new OrderTraceException(OrderTraceException.INVALID_INPUT, "path is null");
        }
        return NativeBridge.readSpansJson(path);
    }

    /**
     * Releases the native tracer; its pipeline exports what is queued and shuts down, bounded by
     * the core's shutdown timeout (5 s), once the stages still open have ended. Call
     * {@link #shutdown(Duration)} first to choose the bound. Calling it again does nothing.
     */
    @Override
    public void close() {
        long stamp = lock.writeLock();
        try {
            cleanable.clean();
        } finally {
            lock.unlockWrite(stamp);
        }
    }

    /** Settings of a tracer. */
    public static final class Builder {
        private String serviceName = "";
        private String file = "";
        private String otlpEndpoint = "";
        private int protocol = 0;
        private int startRecords = -1;
        private long heartbeatMillis = -1;
        private int identity = -1;
        private boolean readEnvironment = true;
        private String spoolDir = "";
        private int strictIds = -1;
        private long startRecordAfterMillis = -1;

        private Builder() {}

        /** {@code service.name}, e.g. crm-api. */
        public Builder serviceName(String name) {
            this.serviceName = name == null ? "" : name;
            return this;
        }

        /** The embedded exporter's OTLP/JSON-lines file (used when no OTLP endpoint is set). */
        public Builder file(String path) {
            this.file = path == null ? "" : path;
            return this;
        }

        /** Export over OTLP/HTTP (protobuf) to this URL, e.g. http://127.0.0.1:4318/v1/traces. */
        public Builder otlpHttp(String endpoint) {
            this.otlpEndpoint = endpoint == null ? "" : endpoint;
            this.protocol = 0;
            return this;
        }

        /** Export over OTLP/gRPC to this URL, e.g. http://127.0.0.1:4317. */
        public Builder otlpGrpc(String endpoint) {
            this.otlpEndpoint = endpoint == null ? "" : endpoint;
            this.protocol = 1;
            return this;
        }

        /** Whether a start record is exported for a stage still open after the threshold
         *  (ORDERTRACE_START_RECORD_AFTER_MS, default the heartbeat interval; default true). */
        public Builder startRecords(boolean enabled) {
            this.startRecords = enabled ? 1 : 0;
            return this;
        }

        /**
         * How long a stage stays open before its start record is exported (a stage that ends
         * sooner costs one span; a hung one still shows); zero exports it at once. Default:
         * ORDERTRACE_START_RECORD_AFTER_MS when the environment is read, else the heartbeat interval.
         */
        public Builder startRecordAfter(Duration threshold) {
            if (threshold == null || threshold.isNegative()) {
                throw new OrderTraceException(OrderTraceException.INVALID_INPUT, "the start record threshold must be zero or positive");
            }
            this.startRecordAfterMillis = threshold.toMillis();
            return this;
        }

        /** Heartbeat interval of open stages; zero turns heartbeats off. */
        public Builder heartbeat(Duration interval) {
            this.heartbeatMillis = interval.toMillis();
            return this;
        }

        /**
         * Let an incoming context (a traceparent, or the current OpenTelemetry span) be the parent,
         * instead of the default order-derived trace (where a foreign context becomes a link).
         */
        public Builder propagatedIdentity(boolean propagated) {
            this.identity = propagated ? 1 : 0;
            return this;
        }

        /**
         * Root folder of the disk spool, where batches wait while the endpoint is down (the tracer
         * spools in {@code <dir>/<service.name>}); null or empty: ORDERTRACE_SPOOL_DIR when the
         * environment is read, else no spool.
         */
        public Builder spoolDir(String dir) {
            this.spoolDir = dir == null ? "" : dir;
            return this;
        }

        /**
         * Strict ids: a stage whose order id or user id breaks a rule fails to start with
         * {@link OrderTraceException} (INVALID_INPUT). Default (false, or ORDERTRACE_STRICT_IDS when
         * the environment is read): the stage starts, the problem is recorded on its span
         * ({@code ordertrace.problem}) and counted ({@link PipelineCounters#idsRejected()}).
         */
        public Builder strictIds(boolean strict) {
            this.strictIds = strict ? 1 : 0;
            return this;
        }

        /** Whether to read OTEL_* / ORDERTRACE_* first (default true). */
        public Builder readEnvironment(boolean read) {
            this.readEnvironment = read;
            return this;
        }

        /** Starts the tracer; throws {@link OrderTraceException} (INVALID_CONFIG, FILE, PIPELINE_START) on bad settings. */
        public OrderTracer build() {
            return new OrderTracer(NativeBridge.tracerNew(serviceName, file, otlpEndpoint, protocol, startRecords,
                    heartbeatMillis, identity, readEnvironment, spoolDir, strictIds, startRecordAfterMillis));
        }
    }
}
