package io.ordertrace;

/**
 * An error reported by ordertrace, with a code and a message meant for people. Native errors and
 * panics arrive as this exception, never as a JVM crash. The codes are the core's one status
 * table ({@code status_codes} in {@link OrderTracer#schemaJson()}, {@code OtStatus} in C)
 * without its OK entry; a test checks these constants against it.
 */
public class OrderTraceException extends RuntimeException {
    /** Caller input rejected (order id, user id, attribute, status). */
    public static final int INVALID_INPUT = 1;
    /** Not one of the eight canonical events. */
    public static final int UNKNOWN_EVENT = 2;
    /** A propagation header is malformed. */
    public static final int MALFORMED_HEADER = 3;
    /** Invalid pipeline configuration. */
    public static final int INVALID_CONFIG = 4;
    /** The export pipeline could not start. */
    public static final int PIPELINE_START = 5;
    /** Flush or shutdown did not finish in time. */
    public static final int TIMEOUT = 6;
    /** An export failed. */
    public static final int EXPORT = 7;
    /** The tracer has been shut down. */
    public static final int SHUT_DOWN = 8;
    /** An OTLP/JSON document could not be read. */
    public static final int OTLP_JSON = 9;
    /** A file could not be read or written. */
    public static final int FILE = 10;
    /** A required argument was missing. */
    public static final int NULL_POINTER = 20;
    /** A string was not valid UTF-8. */
    public static final int INVALID_UTF8 = 21;
    /** The stage has ended, or the tracer is closed. */
    public static final int CLOSED = 22;
    /** A bug inside ordertrace (a Rust panic caught at the boundary). */
    public static final int PANIC = 23;
    /** The native library could not be loaded. */
    public static final int NATIVE_LIBRARY = 100;

    private static final long serialVersionUID = 1L;

    private final int code;

    /** Creates the exception. */
    public OrderTraceException(int code, String message) {
        super(message);
        this.code = code;
    }

    /**
     * Caller input for a message: at most 48 characters, quoted, with its length when cut (as the
     * core quotes input, so a 1 MiB argument never becomes a 1 MiB message).
     */
    static String quoted(String input) {
        if (input.length() <= 48) {
            return '"' + input + '"';
        }
        return '"' + input.substring(0, 48) + "\"... (" + input.length() + " chars)";
    }

    /** What kind of failure this is (one of the constants of this class). */
    public int code() {
        return code;
    }
}
