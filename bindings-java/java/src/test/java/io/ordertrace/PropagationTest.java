package io.ordertrace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PropagationTest extends Fixture {
    /** Like the RabbitMQ client's LongString: a CharSequence that is not a String. */
    record LongStringLike(String value) implements CharSequence {
        public int length() { return value.length(); }
        public char charAt(int i) { return value.charAt(i); }
        public CharSequence subSequence(int a, int b) { return value.subSequence(a, b); }
        @Override public String toString() { return value; }
    }

    @Test
    void httpHeadersMakeTheNextStageAChild() throws Exception {
        Map<String, String> request = new HashMap<>();
        String parent;
        try (StageSpan s = tracer().stage(OrderEvent.ORDER_STATUS_CHANGED, "ORD-1").userId(USER)
                .statusChange("confirmed", "pricing").client().start()) {
            Propagation.inject(s, request);
            parent = s.spanId();
            assertEquals("00-" + s.traceId() + "-" + s.spanId() + "-01", request.get("traceparent"));
            assertTrue(request.get("baggage").contains("order.id=ORD-1"), request.toString());
        }
        tracer().stage(OrderEvent.PRICE_CALCULATED, "ORD-1").parent(request).server().start().close();
        JsonNode price = one(spans(), "price_calculated");
        assertEquals(parent, price.get("parent_span_id").asText());
        assertEquals(USER, attr(price, "user.id"), "user id from the baggage");
    }

    @Test
    void rabbitMqHeadersWithBytesOrCharSequencesRoundTrip() throws Exception {
        Map<String, Object> message = new HashMap<>();
        message.put("x-retries", 3);
        String parent;
        try (StageSpan s = tracer().stage(OrderEvent.MODEL_UPLOADED, "ORD-2").userId(USER).producer().start()) {
            Propagation.injectMessage(s, message);
            parent = s.spanId();
        }
        assertTrue(message.get("traceparent") instanceof byte[]);
        // As the RabbitMQ client delivers it: a LongString, not a String.
        message.put("traceparent", new LongStringLike(new String((byte[]) message.get("traceparent"), StandardCharsets.UTF_8)));
        Map<String, String> incoming = Propagation.fromMessage(message);
        assertFalse(incoming.containsKey("x-retries"));
        tracer().stage(OrderEvent.ORDER_CONFIRMED, "ORD-2").parent(incoming).consumer().start().close();
        assertEquals(parent, one(spans(), "order_confirmed").get("parent_span_id").asText());
    }

    @Test
    void aMalformedTraceparentIsReportedByCheckAndLeftOutByStages() {
        Map<String, String> bad = Map.of("traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01");
        OrderTraceException e = assertThrows(OrderTraceException.class, () -> Propagation.check(bad));
        assertEquals(OrderTraceException.MALFORMED_HEADER, e.code());
        assertTrue(e.getMessage().contains("traceparent"), e.getMessage());
        String withBad;
        String without;
        try (StageSpan s = tracer().stage(OrderEvent.ORDER_CONFIRMED, "ORD-3").parent(bad).start()) {
            withBad = s.traceId();
        }
        try (StageSpan s = tracer().stage(OrderEvent.ORDER_CONFIRMED, "ORD-3").start()) {
            without = s.traceId();
        }
        assertEquals(without, withBad, "the order's own trace despite the bad header");
    }

    @Test
    void nullArgumentsAreRejected() {
        assertThrows(OrderTraceException.class, () -> Propagation.inject(null, new HashMap<>()));
        assertTrue(Propagation.fromMessage(null).isEmpty());
        Propagation.check(null);
    }
}
