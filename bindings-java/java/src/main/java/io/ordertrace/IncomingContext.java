package io.ordertrace;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What arrived with a request or message, read by the core exactly as starting a stage reads it
 * (see {@link Propagation#extract}): the caller's trace id and span id, the order id and user id
 * from baggage (only ones a stage would accept), what was wrong or left out, and the
 * headers to send on unchanged by a hop that forwards without a stage of its own.
 */
public final class IncomingContext {
    private final Map<String, String> forward;
    private final String traceId;
    private final String parentId;
    private final String orderId;
    private final String userId;
    private final List<String> problems;

    private IncomingContext(Map<String, String> forward, String traceId, String parentId, String orderId,
            String userId, List<String> problems) {
        this.forward = Collections.unmodifiableMap(forward);
        this.traceId = traceId;
        this.parentId = parentId;
        this.orderId = orderId;
        this.userId = userId;
        this.problems = Collections.unmodifiableList(problems);
    }

    /** Unpacks the native answer: [number of forward pairs, name, value, ..., key, value, ...]. */
    static IncomingContext fromNative(String[] flat) {
        int pairs = Integer.parseInt(flat[0]);
        Map<String, String> forward = new LinkedHashMap<>();
        int i = 1;
        for (; i < 1 + 2 * pairs; i += 2) {
            forward.put(flat[i], flat[i + 1]);
        }
        String traceId = null, parentId = null, orderId = null, userId = null;
        List<String> problems = new ArrayList<>();
        for (; i + 1 < flat.length; i += 2) {
            switch (flat[i]) {
                case "trace_id" -> traceId = flat[i + 1];
                case "parent_id" -> parentId = flat[i + 1];
                case "order_id" -> orderId = flat[i + 1];
                case "user_id" -> userId = flat[i + 1];
                case "problem" -> problems.add(flat[i + 1]);
                default -> throw new OrderTraceException(OrderTraceException.NATIVE_LIBRARY,
                        "the native library sent an unknown field " + flat[i] + "; jar and library do not match");
            }
        }
        return new IncomingContext(forward, traceId, parentId, orderId, userId, problems);
    }

    /** The caller's trace id (32 lowercase hex characters); null when no valid traceparent arrived. */
    public String traceId() {
        return traceId;
    }

    /** The caller's span id (16 lowercase hex characters); null when no valid traceparent arrived. */
    public String parentId() {
        return parentId;
    }

    /** The order id from incoming baggage, when a stage would accept it; otherwise null. */
    public String orderId() {
        return orderId;
    }

    /** The user id from incoming baggage, when a stage would accept it; otherwise null. */
    public String userId() {
        return userId;
    }

    /** One line per thing that was malformed or dropped over a limit, in the order found (empty when none). */
    public List<String> problems() {
        return problems;
    }

    /**
     * {@code traceparent}, {@code tracestate} and {@code baggage} as they would be sent on unchanged
     * (lowercase names, in that order; a header that was ignored is absent).
     */
    public Map<String, String> headers() {
        return forward;
    }

    @Override
    public String toString() {
        return "IncomingContext" + forward + (problems.isEmpty() ? "" : " problems=" + problems);
    }
}
