package io.ordertrace.otel;

import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import java.util.LinkedHashMap;
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

    /** The current OpenTelemetry span as {@code traceparent} (and {@code tracestate}) headers; empty without a valid current span. */
    public static Map<String, String> current() {
        return of(Context.current());
    }

    /** The span of {@code context} as W3C headers, written by OpenTelemetry's own propagator; empty without a valid span. */
    public static Map<String, String> of(Context context) {
        Map<String, String> headers = new LinkedHashMap<>();
        if (context != null) {
            W3CTraceContextPropagator.getInstance().inject(context, headers, (carrier, key, value) -> carrier.put(key, value));
        }
        return headers;
    }
}
