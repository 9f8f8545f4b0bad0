package io.ordertrace;

/**
 * The native methods (Rust, ordertrace-jni), calling the ordertrace core directly. Primitives
 * cross as primitives and strings as {@code String}; a failure is thrown from native code as
 * {@link OrderTraceException} with the core's status code, so no call needs a second one to
 * fetch its error.
 */
final class NativeBridge {
    static {
        NativeLoader.load();
    }

    private NativeBridge() {}

    static native long tracerNew(String serviceName, String file, String otlpEndpoint, int protocol, int startRecords,
            long heartbeatMillis, int identity, boolean readEnvironment, String spoolDir, int strictIds,
            long startRecordAfterMillis);
    static native long tracerFromEnv();
    static native void tracerFlush(long tracer, long timeoutMs);
    static native void tracerShutdown(long tracer, long timeoutMs);
    /** The fields of {@link PipelineCounters}, in the order of its constructor. */
    static native long[] tracerCounters(long tracer);
    static native void tracerFree(long tracer);

    /**
     * Starts a stage in one crossing. {@code event} is {@link OrderEvent#ordinal()} (the schema's
     * order); the attribute arrays are parallel (null when there are none: kinds 0 string, 1 long,
     * 2 double, 3 boolean as 0/1 in the long); {@code parentHeaders} is name, value, name, value, ...
     * {@code orderIdLength} and {@code userIdLength} are the strings' own {@link String#length()}
     * (0 for null): the native side reads short ASCII ids with one JNI call each, without asking
     * the JVM for the length. Status, attributes and headers are null when there are none, so the
     * common stage takes the native fast path.
     */
    static native long stageStart(long tracer, int event, String orderId, int orderIdLength, String userId,
            int userIdLength, int kind, String statusFrom, String statusTo, String[] attributeKeys, int[] attributeKinds, String[] attributeStrings,
            long[] attributeLongs, double[] attributeDoubles, String[] parentHeaders);
    /**
     * Starts the common stage (no status, attributes or parent headers) in one crossing with
     * primitives only: the ids are read as ASCII bytes from native memory at {@code ids}, the
     * order id ({@code orderIdLength} bytes) at 0, the user id ({@code userIdLength} bytes, 0 for
     * none) at {@link IdBuffer#USER_AT}. {@code ids} must be {@link IdBuffer#address()} of the
     * calling thread's buffer, holding those ids ({@link IdBuffer#hold}); a length beyond
     * {@link IdBuffer#MAX} is refused (INVALID_INPUT), bytes that are not UTF-8 are an id breaking
     * the rules (as from any caller: by default the stage starts without it).
     */
    static native long stageStartAscii(long tracer, int event, int kind, long ids, int orderIdLength, int userIdLength);
    /** The native address of a direct buffer's memory; OrderTraceException for a null or heap buffer. */
    static native long bufferAddress(java.nio.ByteBuffer buffer);
    static native void stageSetAttribute(long stage, String key, int kind, String text, long number, double real);
    static native void stageRecordPrice(long stage, double amount, String currency);
    static native void stageRecordError(long stage, String type, String message, String stacktrace);
    /** Ends the stage and keeps the handle (its ids stay readable); {@link StageSpan#end()} frees instead, which ends it too. */
    static native void stageEnd(long stage);
    static native void stageEndWithError(long stage, String type, String message, String stacktrace);
    /** name, value, name, value, ... */
    static native String[] stageInject(long stage);
    /** trace id (32 hex characters) followed by span id (16). */
    static native String stageIds(long stage);
    static native void stageFree(long stage);

    static native void headersCheck(String[] headers);
    /** Lenient extraction: [number of forward pairs, name, value, ..., read key, value, ...] (see {@link IncomingContext}). */
    static native String[] headersExtract(String[] headers);
    static native void orderIdCheck(String orderId);
    static native String userIdNormalize(String userId);
    static native String schemaJson();
    static native String readSpansJson(String path);

    /** Panics inside the native library; only for the test proving a panic arrives as {@link OrderTraceException}. */
    static native void panicForTests(boolean inDirectPath);
}
