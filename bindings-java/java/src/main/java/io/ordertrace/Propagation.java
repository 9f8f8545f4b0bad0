package io.ordertrace;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Trace context in and out of HTTP headers ({@code Map<String,String>}) and RabbitMQ message
 * headers ({@code Map<String,Object>}, whose values arrive as byte[] or as the client's
 * LongString, a CharSequence-like type; anything else is read with toString()).
 */
public final class Propagation {
    private Propagation() {}

    /** The core's propagation headers (schema: propagation.headers; a test compares them). */
    static final List<String> HEADERS = List.of("traceparent", "tracestate", "baggage");

    static boolean isPropagationHeader(String name) {
        for (String h : HEADERS) {
            if (h.equalsIgnoreCase(name)) {
                return true;
            }
        }
        return false;
    }

    /** Writes the stage's headers into an outgoing HTTP request's headers. */
    public static void inject(StageSpan stage, Map<String, String> headers) {
        if (stage == null || headers == null) {
            throw new OrderTraceException(OrderTraceException.INVALID_INPUT, "stage and headers are required");
        }
        headers.putAll(stage.headers());
    }

    /** Writes the stage's headers into a RabbitMQ message's headers, as UTF-8 byte[]. */
    public static void injectMessage(StageSpan stage, Map<String, Object> headers) {
        if (stage == null || headers == null) {
            throw new OrderTraceException(OrderTraceException.INVALID_INPUT, "stage and headers are required");
        }
        for (Map.Entry<String, String> h : stage.headers().entrySet()) {
            headers.put(h.getKey(), h.getValue().getBytes(StandardCharsets.UTF_8));
        }
    }

    /** A RabbitMQ message's propagation headers as strings, for {@link StageBuilder#parent}. */
    public static Map<String, String> fromMessage(Map<String, Object> headers) {
        Map<String, String> out = new LinkedHashMap<>();
        if (headers == null) {
            return out;
        }
        for (Map.Entry<String, Object> h : headers.entrySet()) {
            if (h.getKey() == null || h.getValue() == null || !isPropagationHeader(h.getKey())) {
                continue;
            }
            Object v = h.getValue();
            out.put(h.getKey(), v instanceof byte[] bytes ? new String(bytes, StandardCharsets.UTF_8) : v.toString());
        }
        return out;
    }

    /**
     * Checks incoming headers strictly by the W3C rules; throws {@link OrderTraceException} (MALFORMED_HEADER)
     * naming what is wrong. Starting a stage does not need it: malformed headers are left out and
     * the stage still joins the order's trace.
     */
    public static void check(Map<String, String> headers) {
        if (headers == null) {
            return;
        }
        String[] flat = flatten(headers);
        NativeBridge.headersCheck(flat == null ? new String[0] : flat);
    }

    /** The propagation headers of {@code headers} as name, value, name, value, ...; null when there are none. */
    static String[] flatten(Map<String, String> headers) {
        if (headers == null || headers.isEmpty()) {
            return null;
        }
        java.util.List<String> flat = new java.util.ArrayList<>(6);
        for (Map.Entry<String, String> h : headers.entrySet()) {
            if (h.getKey() != null && h.getValue() != null && isPropagationHeader(h.getKey())) {
                flat.add(h.getKey());
                flat.add(h.getValue());
            }
        }
        return flat.isEmpty() ? null : flat.toArray(new String[0]);
    }
}
