package io.ordertrace;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A running stage. {@link #close()} ends it (successfully unless {@link #endWithError} was
 * called) and releases it; closing twice does nothing; other calls after the end throw
 * {@link OrderTraceException} with code CLOSED. A span that is never closed is ended when it
 * becomes unreachable.
 */
public final class StageSpan implements AutoCloseable {
    private final StageRelease release;
    private final OrderEvent event;
    private final String orderId;

    StageSpan(long handle, OrderEvent event, String orderId) {
        this.release = new StageRelease(this, handle);
        this.event = event;
        this.orderId = orderId;
    }

    /** The event this stage records. */
    public OrderEvent event() {
        return event;
    }

    /** The order. */
    public String orderId() {
        return orderId;
    }

    /**
     * The handle for one call, which must be followed by {@code release.done()} (in a finally);
     * throws CLOSED once the stage is closed. While the call runs, a close on another thread only
     * marks the stage: the call's {@code done()} frees it.
     */
    private long use() {
        long h = release.use();
        if (h == 0) {
            throw closedError();
        }
        return h;
    }

    private OrderTraceException closedError() {
        return new OrderTraceException(OrderTraceException.CLOSED, "the " + event.wireName() + " stage of " + (orderId == null ? "no order" : OrderTraceException.quoted(orderId)) + " is closed");
    }

    /** One attribute as the native side takes it: kind 0 string, 1 long, 2 double, 3 boolean (0/1 in number). */
    record Attribute(String key, int kind, String text, long number, double real) {}

    static Attribute encodeAttribute(String key, Object value) {
        if (key == null) {
            throw new OrderTraceException(OrderTraceException.INVALID_INPUT, "attribute key is null");
        }
        if (value == null) {
            throw new OrderTraceException(OrderTraceException.INVALID_INPUT, "attribute " + OrderTraceException.quoted(key) + " has a null value");
        }
        if (value instanceof Boolean b) {
            return new Attribute(key, 3, null, b ? 1 : 0, 0);
        }
        if (value instanceof Long || value instanceof Integer || value instanceof Short || value instanceof Byte) {
            return new Attribute(key, 1, null, ((Number) value).longValue(), 0);
        }
        if (value instanceof Double || value instanceof Float) {
            return new Attribute(key, 2, null, 0, ((Number) value).doubleValue());
        }
        return new Attribute(key, 0, value.toString(), 0, 0);
    }

    /** Sets an attribute on the open stage. */
    public void setAttribute(String key, Object value) {
        Attribute a = encodeAttribute(key, value);
        long h = use();
        try {
            NativeBridge.stageSetAttribute(h, a.key(), a.kind(), a.text(), a.number(), a.real());
        } finally {
            release.done();
        }
    }

    /** Records the calculated price ({@code order.price.amount}, {@code order.price.currency}). */
    public void recordPrice(double amount, String currency) {
        if (currency == null) {
            throw new OrderTraceException(OrderTraceException.INVALID_INPUT, "currency is null");
        }
        long h = use();
        try {
            NativeBridge.stageRecordPrice(h, amount, currency);
        } finally {
            release.done();
        }
    }

    private static String[] describe(Throwable error) {
        if (error == null) {
            throw new OrderTraceException(OrderTraceException.INVALID_INPUT, "error is null");
        }
        StringWriter trace = new StringWriter();
        error.printStackTrace(new PrintWriter(trace));
        String message = error.getMessage() == null ? "" : error.getMessage();
        return new String[] {error.getClass().getName(), message, trace.toString()};
    }

    /** Records an error (exception event with the Java class, message and stack trace; status Error) and keeps the stage open. */
    public void recordError(Throwable error) {
        String[] e = describe(error);
        long h = use();
        try {
            NativeBridge.stageRecordError(h, e[0], e[1], e[2]);
        } finally {
            release.done();
        }
    }

    /** Ends the stage as failed with this error, and releases it. */
    public void endWithError(Throwable error) {
        String[] e = describe(error);
        long h = use();
        try {
            NativeBridge.stageEndWithError(h, e[0], e[1], e[2]);
        } finally {
            // Closed first, so this call's done() is the one that frees it.
            release.release();
            release.done();
        }
    }

    /** Ends the stage successfully, and releases it. */
    public void end() {
        // Freeing an open stage ends it, exactly as stageEnd does: one crossing instead of two.
        if (!release.release()) {
            throw closedError();
        }
    }

    /** The headers to send on the next hop: traceparent, tracestate, baggage. */
    public Map<String, String> headers() {
        String[] f;
        long h = use();
        try {
            f = NativeBridge.stageInject(h);
        } finally {
            release.done();
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 0; i + 1 < f.length; i += 2) {
            headers.put(f[i], f[i + 1]);
        }
        return headers;
    }

    private String ids() {
        long h = use();
        try {
            return NativeBridge.stageIds(h);
        } finally {
            release.done();
        }
    }

    /** Trace id, 32 hex characters. */
    public String traceId() {
        return ids().substring(0, 32);
    }

    /** This stage's span id, 16 hex characters. */
    public String spanId() {
        return ids().substring(32);
    }

    /**
     * Ends the stage if open (successfully) and releases it. Calling it again does nothing. Safe
     * on any thread, also while another runs a call on the stage (the stage is freed when that
     * call is done).
     */
    @Override
    public void close() {
        release.release();
    }
}
