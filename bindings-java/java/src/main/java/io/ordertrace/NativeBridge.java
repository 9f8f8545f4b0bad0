package io.ordertrace;

import java.nio.charset.StandardCharsets;

/**
 * The native methods (Rust, ordertrace-jni). Arguments travel as frame-encoded byte arrays
 * ({@link Frames}); failures return 0 or a non-zero status, read with {@link #check}.
 */
final class NativeBridge {
    static {
        NativeLoader.load();
    }

    private NativeBridge() {}

    static native long tracerNew(byte[] config);
    static native long tracerFromEnv();
    static native int tracerFlush(long tracer, long timeoutMs);
    static native int tracerShutdown(long tracer, long timeoutMs);
    static native byte[] tracerCounters(long tracer);
    static native int tracerFree(long tracer);

    static native long stageStart(long tracer, byte[] encoded);
    static native int stageSetAttribute(long stage, byte[] encoded);
    static native int stageRecordPrice(long stage, double amount, byte[] currency);
    static native int stageRecordError(long stage, byte[] encoded);
    static native int stageEnd(long stage);
    static native int stageEndWithError(long stage, byte[] encoded);
    static native byte[] stageInject(long stage);
    static native byte[] stageIds(long stage);
    static native int stageFree(long stage);

    static native int headersCheck(byte[] encoded);
    static native byte[] schemaJson();
    static native byte[] readSpansJson(byte[] path);

    /** Panics inside the native library; only for the test proving a panic arrives as {@link OrderTraceException}. */
    static native int panicForTests();

    static native int lastErrorCode();
    static native byte[] lastError();

    /** Throws the last native error when {@code status} is not 0. */
    static void check(int status) {
        if (status != 0) {
            throw failure();
        }
    }

    /** Returns {@code handle}, or throws the last native error when it is 0. */
    static long checkHandle(long handle) {
        if (handle == 0) {
            throw failure();
        }
        return handle;
    }

    /** Returns {@code bytes}, or throws the last native error when null. */
    static byte[] checkBytes(byte[] bytes) {
        if (bytes == null) {
            throw failure();
        }
        return bytes;
    }

    static OrderTraceException failure() {
        byte[] message = lastError();
        return new OrderTraceException(lastErrorCode(),
                message == null ? "unknown error" : new String(message, StandardCharsets.UTF_8));
    }
}
