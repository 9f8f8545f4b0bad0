package io.ordertrace;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/** Collects a stage's inputs; {@link #start()} validates and starts it in one native call. */
public final class StageBuilder {
    private final OrderTracer tracer;
    private final OrderEvent event;
    private final String orderId;
    private String userId = "";
    private int kind = 0;
    private String statusFrom;
    private String statusTo;
    // Made on the first attribute: the common stage has none.
    private List<StageSpan.Attribute> attributes;
    private Map<String, String> parentHeaders = Collections.emptyMap();

    StageBuilder(OrderTracer tracer, OrderEvent event, String orderId) {
        this.tracer = tracer;
        this.event = event;
        this.orderId = orderId;
    }

    /**
     * The ordering user's id (a UUID). One that is not a UUID does not fail {@link #start()} unless
     * the tracer has strict ids: the stage starts without it and records the problem.
     */
    public StageBuilder userId(String userId) {
        this.userId = userId == null ? "" : userId;
        return this;
    }

    /** An extra attribute: String, integral number, floating point number, Boolean, or anything else as its toString(). */
    public StageBuilder attribute(String key, Object value) {
        StageSpan.Attribute a = StageSpan.encodeAttribute(key, value);
        if (attributes == null) {
            attributes = new ArrayList<>();
        }
        attributes.add(a);
        return this;
    }

    /** {@code order.status.from} and {@code order.status.to}, for {@code order_status_changed}. */
    public StageBuilder statusChange(String from, String to) {
        // Null when empty: the native side treats both alike, and all-null is its fast path.
        this.statusFrom = from == null || from.isEmpty() ? null : from;
        this.statusTo = to == null || to.isEmpty() ? null : to;
        return this;
    }

    /** The incoming request's or message's headers (traceparent, tracestate, baggage; others are ignored). */
    public StageBuilder parent(Map<String, String> headers) {
        this.parentHeaders = headers == null ? Collections.emptyMap() : headers;
        return this;
    }

    /** Span kind: handling a request. */
    public StageBuilder server() {
        this.kind = 1;
        return this;
    }

    /** Span kind: making a request. */
    public StageBuilder client() {
        this.kind = 2;
        return this;
    }

    /** Span kind: publishing a message. */
    public StageBuilder producer() {
        this.kind = 3;
        return this;
    }

    /** Span kind: processing a message. */
    public StageBuilder consumer() {
        this.kind = 4;
        return this;
    }

    /**
     * Starts the stage; throws {@link OrderTraceException} for a null event, a refused attribute or
     * status, or a closed tracer. A bad or missing (null, empty) order id or user id throws only
     * with {@link OrderTracer.Builder#strictIds(boolean)}: by default the stage starts, the problem
     * is on its span ({@code ordertrace.problem}, {@code ordertrace.id_rejected}) and counted
     * ({@link PipelineCounters#idsRejected()}), so the business code around it runs.
     */
    public StageSpan start() {
        if (event == null) {
            throw new OrderTraceException(OrderTraceException.INVALID_INPUT, "event is null");
        }
        String[] headers = Propagation.flatten(parentHeaders);
        String order = orderId == null ? "" : orderId;
        if (attributes == null && statusFrom == null && statusTo == null && headers == null) {
            // The common stage: short ASCII ids cross as bytes in this thread's buffer, the rest
            // as primitives, in one call without any JNI string call.
            IdBuffer ids = IdBuffer.current();
            if (ids != null && orderId != null && ids.hold(orderId, userId)) {
                long stage = tracer.startCommon(event.ordinal(), kind, ids);
                return new StageSpan(stage, event, order);
            }
        }
        // Otherwise only primitives and strings cross, in one call. Attributes go as parallel
        // arrays, numbers as numbers.
        int n = attributes == null ? 0 : attributes.size();
        String[] keys = n == 0 ? null : new String[n];
        int[] kinds = n == 0 ? null : new int[n];
        String[] texts = n == 0 ? null : new String[n];
        long[] numbers = n == 0 ? null : new long[n];
        double[] reals = n == 0 ? null : new double[n];
        for (int i = 0; i < n; i++) {
            StageSpan.Attribute a = attributes.get(i);
            keys[i] = a.key();
            kinds[i] = a.kind();
            texts[i] = a.text();
            numbers[i] = a.number();
            reals[i] = a.real();
        }
        int orderIdLength = orderId == null ? 0 : orderId.length();
        long stage = tracer.withHandle(t -> NativeBridge.stageStart(t, event.ordinal(), orderId, orderIdLength, userId,
                userId.length(), kind, statusFrom, statusTo, keys, kinds, texts, numbers, reals, headers));
        return new StageSpan(stage, event, order);
    }
}
