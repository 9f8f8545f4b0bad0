package io.ordertrace.spring;

import io.opentelemetry.api.baggage.Baggage;
import io.opentelemetry.api.baggage.propagation.W3CBaggagePropagator;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.ordertrace.StageSpan;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The order's trace context of the current thread. It lives in OpenTelemetry's {@link Context}
 * (the API alone: no SDK is needed), so that one place serves both setups:
 *
 * <ul>
 *   <li>with the OpenTelemetry Java agent, the agent's current span (its HTTP server span, its
 *       RabbitMQ process span) is what {@link #currentHeaders()} returns, so a stage becomes its
 *       child; a stage made current with {@link #enter(StageSpan)} is in turn the parent of the
 *       agent's client and publish spans;</li>
 *   <li>without the agent, the incoming request's or message's headers are made current by the
 *       starter's servlet filter and listener advice ({@link #joinIncoming(Map)}), and stages and
 *       outgoing calls read them here.</li>
 * </ul>
 *
 * Only W3C Trace Context ({@code traceparent}, {@code tracestate}) and W3C Baggage
 * ({@code baggage}: {@code order.id}, {@code user.id}) are read and written.
 */
public final class OrderContext {
    private static final TextMapPropagator W3C = TextMapPropagator.composite(
            W3CTraceContextPropagator.getInstance(), W3CBaggagePropagator.getInstance());

    private static final TextMapGetter<Map<String, String>> GETTER = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Map<String, String> carrier) {
            return carrier.keySet();
        }

        @Override
        public String get(Map<String, String> carrier, String key) {
            if (carrier == null) {
                return null;
            }
            String value = carrier.get(key);
            if (value != null) {
                return value;
            }
            for (Map.Entry<String, String> e : carrier.entrySet()) {
                if (e.getKey() != null && e.getKey().equalsIgnoreCase(key)) {
                    return e.getValue();
                }
            }
            return null;
        }
    };

    private OrderContext() {}

    /**
     * The current context as W3C headers ({@code traceparent}, {@code tracestate},
     * {@code baggage}): the parent of a stage started now, and what an outgoing call or message
     * carries. Empty when nothing is current.
     */
    public static Map<String, String> currentHeaders() {
        Map<String, String> headers = new LinkedHashMap<>();
        W3C.inject(Context.current(), headers, Map::put);
        return headers;
    }

    /**
     * Makes an incoming request's or message's headers the current context, for the time of the
     * returned scope. A span already current (the agent's server or consumer span, which the
     * agent built from the same headers) is kept, and so is baggage already current: the agent
     * is never overridden.
     */
    public static Scope joinIncoming(Map<String, String> headers) {
        Context current = Context.current();
        Context joined = current;
        if (!Span.fromContext(current).getSpanContext().isValid()) {
            joined = W3CTraceContextPropagator.getInstance().extract(joined, headers, GETTER);
        }
        if (Baggage.fromContext(current).isEmpty()) {
            joined = W3CBaggagePropagator.getInstance().extract(joined, headers, GETTER);
        }
        return joined == current ? Scope.noop() : joined.makeCurrent();
    }

    /**
     * Makes a stage the current context until the scope closes: it is the parent of everything
     * started inside (the agent's spans included), and its baggage (order.id, user.id) goes
     * along with every outgoing call and message.
     */
    public static Scope enter(StageSpan stage) {
        return W3C.extract(Context.current(), stage.headers(), GETTER).makeCurrent();
    }
}
