package io.ordertrace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** A bad or missing order id or user id never breaks the business call, unless strict ids are asked for. */
class LenientIdsTest extends Fixture {
    /** The business call, wrapped in a stage the way a service wraps it. */
    private <T> T traced(String orderId, String userId, Supplier<T> business) {
        try (StageSpan s = tracer().stage(OrderEvent.PRICE_CALCULATED, orderId).userId(userId).start()) {
            return business.get();
        }
    }

    @Test
    void businessResultIsTheSameWithGoodBadAndMissingIds() throws Exception {
        String[][] ids = {{"ORD-1", USER}, {"ORD-1", null}, {"ORD-1", "42"}, {"ORD-1", "12345"}, {"", USER},
                {null, null}, {"ORD-1\r\nX-Evil: 1", "bob"}};
        for (String[] id : ids) {
            assertEquals(1249.5, traced(id[0], id[1], () -> 1249.5), id[0] + " / " + id[1]);
        }
        assertEquals(ids.length, spans().size());
        assertEquals(6, tracer().counters().idsRejected());
    }

    @Test
    void businessExceptionIsTheSameWithGoodBadAndMissingIds() {
        for (String[] id : new String[][] {{"ORD-1", USER}, {"ORD-1", "42"}, {null, null}}) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> traced(id[0], id[1], () -> { throw new IllegalStateException("pricing failed"); }));
            assertEquals("pricing failed", e.getMessage());
        }
    }

    @Test
    void nonUuidUserIdIsRecordedAsAProblemOnTheSpan() throws Exception {
        try (StageSpan s = tracer().stage(OrderEvent.ORDER_CONFIRMED, "ORD-5").userId("42").start()) {
            assertTrue(s.headers().get("baggage").equals("order.id=ORD-5"), s.headers().toString());
        }
        JsonNode span = one(spans(), "order_confirmed");
        assertEquals("ORD-5", attr(span, "order.id"));
        assertNull(attr(span, "user.id"));
        assertEquals("invalid user id: \"42\" is not a UUID (expected 8-4-4-4-12 hex digits)",
                attr(span, "ordertrace.problem"));
        assertEquals("user.id", attr(span, "ordertrace.id_rejected"));
        assertEquals(1, tracer().counters().idsRejected());
    }

    @Test
    void missingOrderIdStartsAStageInItsOwnTraceWithTheProblem() throws Exception {
        String first;
        String second;
        try (StageSpan a = tracer().stage(OrderEvent.ORDER_CONFIRMED, null).start();
                StageSpan b = tracer().stage(OrderEvent.ORDER_CONFIRMED, "").start()) {
            first = a.traceId();
            second = b.traceId();
        }
        assertNotEquals(first, second);
        List<JsonNode> spans = spans();
        assertEquals(2, spans.size());
        assertNull(attr(spans.get(0), "order.id"));
        assertEquals("invalid order id: it is empty", attr(spans.get(0), "ordertrace.problem"));
        assertEquals("order.id", attr(spans.get(0), "ordertrace.id_rejected"));
    }

    @Test
    void withoutAProblemThereIsNoProblemAttribute() throws Exception {
        tracer().stage(OrderEvent.ORDER_CONFIRMED, "ORD-6").userId(USER).start().close();
        JsonNode span = one(spans(), "order_confirmed");
        assertNull(attr(span, "ordertrace.problem"));
        assertEquals(0, tracer().counters().idsRejected());
    }

    @Test
    void strictIdsThrowAndStillCount() throws Exception {
        try (OrderTracer strict = options().strictIds(true).build()) {
            OrderTraceException user = assertThrows(OrderTraceException.class,
                    () -> strict.stage(OrderEvent.ORDER_CONFIRMED, "ORD-5").userId("bob").start());
            assertEquals(OrderTraceException.INVALID_INPUT, user.code());
            assertTrue(user.getMessage().contains("is not a UUID"), user.getMessage());
            OrderTraceException nullId = assertThrows(OrderTraceException.class,
                    () -> strict.stage(OrderEvent.ORDER_CONFIRMED, null).start());
            assertEquals("invalid order id: it is empty", nullId.getMessage());
            assertEquals(2, strict.counters().idsRejected());
            assertEquals(0, strict.counters().spansStarted());
        }
    }
}
