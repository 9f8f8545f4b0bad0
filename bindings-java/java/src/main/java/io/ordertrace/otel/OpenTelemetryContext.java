package io.ordertrace.otel;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import java.util.Map;

/**
 * Interop with the OpenTelemetry Java API (agent or SDK): the current span as parent headers,
 * so a stage started inside an instrumented request becomes its child. Needs
 * io.opentelemetry:opentelemetry-api on the class path, and a tracer built with
 * {@code propagatedIdentity(true)} (under the default order-derived identity the request's
 * trace becomes a span link of the order's trace).
 *
 * <pre>{@code
 * tracer.stage(OrderEvent.ORDER_CONFIRMED, orderId).parent(OpenTelemetryContext.current()).start();
 * }</pre>
 */
public final class OpenTelemetryContext {
    private OpenTelemetryContext() {}

    /** The current OpenTelemetry span as a {@code traceparent} header; empty when there is no valid current span. */
    public static Map<String, String> current() {
        SpanContext c = Span.current().getSpanContext();
        if (!c.isValid()) {
            return Map.of();
        }
        String flags = c.isSampled() ? "01" : "00";
        String traceparent = "00-" + c.getTraceId() + "-" + c.getSpanId() + "-" + flags;
        String state = c.getTraceState().isEmpty() ? null : encodeState(c);
        return state == null ? Map.of("traceparent", traceparent) : Map.of("traceparent", traceparent, "tracestate", state);
    }

    private static String encodeState(SpanContext c) {
        StringBuilder sb = new StringBuilder();
        c.getTraceState().forEach((k, v) -> {
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(k).append('=').append(v);
        });
        return sb.toString();
    }
}
