package io.ordertrace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.junit.jupiter.api.Test;

class StageSpanTest extends Fixture {
    @Test
    void aCallOnAClosedStageWithAHugeOrderIdHasABoundedMessage() {
        // Found by JniFuzzTest: the CLOSED message quoted the whole (here 1 MiB, rejected) order id.
        StageSpan s = tracer().stage(OrderEvent.ORDER_CONFIRMED, "O".repeat(1 << 20)).start();
        s.close();
        OrderTraceException e = assertThrows(OrderTraceException.class, s::traceId);
        assertEquals(OrderTraceException.CLOSED, e.code());
        assertTrue(e.getMessage().length() < 200, e.getMessage().length() + " chars");
        assertTrue(e.getMessage().contains("(1048576 chars)"), e.getMessage());
    }

    @Test
    void orderIdsBeyondAsciiAndAtTheLengthLimitArriveUnchanged() throws Exception {
        // The bridge reads short ASCII strings in place and everything else the general way:
        // a letter beyond ASCII, a character outside the BMP (a surrogate pair in Java) and the
        // longest allowed id must all reach the span exactly as Java had them.
        String[] ids = {"ORD-\u00dc-1", "ORD-\uD83D\uDE00-2", "ORD-" + "9".repeat(124)};
        for (String id : ids) {
            try (StageSpan s = tracer().stage(OrderEvent.ORDER_CONFIRMED, id).userId(USER).start()) {
                assertEquals(id, s.orderId());
            }
        }
        List<JsonNode> exported = spans();
        for (String id : ids) {
            assertEquals(1, exported.stream().filter(sp -> id.equals(attr(sp, "order.id"))).count(), id);
        }
        assertEquals(ids.length, exported.stream().filter(sp -> USER.equals(attr(sp, "user.id"))).count());
    }

    @Test
    void stageIsExportedWithOrderUserEventAndAttributes() throws Exception {
        try (StageSpan s = tracer().stage(OrderEvent.ORDER_CONFIRMED, "ORD-1").userId(USER).attribute("crm.channel", "web")
                .attribute("crm.items", 3).attribute("crm.rush", true).attribute("crm.weight", 2.5).start()) {
            s.setAttribute("crm.agent", "anna");
        }
        JsonNode span = one(spans(), "order_confirmed");
        assertEquals("ORD-1", attr(span, "order.id"));
        assertEquals(USER, attr(span, "user.id"));
        assertEquals("3", attr(span, "order.stage"));
        assertEquals("web", attr(span, "crm.channel"));
        assertEquals("3", attr(span, "crm.items"));
        assertEquals("true", attr(span, "crm.rush"));
        assertEquals("2.5", attr(span, "crm.weight"));
        assertEquals("anna", attr(span, "crm.agent"));
        assertEquals("crm-api", span.get("service").asText());
    }

    @Test
    void errorsAreRecordedWithTheJavaClassMessageAndStackTrace() throws Exception {
        try (StageSpan s = tracer().stage(OrderEvent.ORDER_SHIPPED, "ORD-2").start()) {
            try {
                carrierRejects();
            } catch (IllegalStateException e) {
                s.endWithError(e);
            }
        }
        JsonNode span = one(spans(), "order_shipped");
        assertEquals("error", span.get("status").asText());
        JsonNode e = exception(span);
        assertEquals("java.lang.IllegalStateException", e.get("exception.type").asText());
        assertEquals("carrier rejected the parcel", e.get("exception.message").asText());
        assertTrue(e.get("exception.stacktrace").asText().contains("carrierRejects"), e.toString());
    }

    private static void carrierRejects() {
        throw new IllegalStateException("carrier rejected the parcel");
    }

    @Test
    void recordErrorKeepsTheStageOpen() throws Exception {
        try (StageSpan s = tracer().stage(OrderEvent.ORDER_CONFIRMED, "ORD-3").start()) {
            s.recordError(new RuntimeException("first attempt failed"));
            s.setAttribute("crm.attempt", 2);
        }
        JsonNode span = one(spans(), "order_confirmed");
        assertEquals("java.lang.RuntimeException", exception(span).get("exception.type").asText());
        assertEquals("2", attr(span, "crm.attempt"));
    }

    @Test
    void closingTwiceIsHarmlessAndUseAfterCloseThrows() throws Exception {
        StageSpan s = tracer().stage(OrderEvent.ORDER_CONFIRMED, "ORD-4").start();
        s.end();
        s.close();
        s.close();
        OrderTraceException e = assertThrows(OrderTraceException.class, () -> s.setAttribute("x.y", 1));
        assertEquals(OrderTraceException.CLOSED, e.code());
        assertThrows(OrderTraceException.class, s::headers);
        assertEquals(OrderTraceException.CLOSED, assertThrows(OrderTraceException.class, s::end).code());
        assertEquals(1, spans().size(), "ended once");
        assertEquals("ORD-4", attr(spans().get(0), "order.id"));
    }

    @Test
    void badInputIsRejectedReadably() throws Exception {
        assertThrows(OrderTraceException.class, () -> tracer().stage(null, "ORD-5").start());
        assertThrows(OrderTraceException.class,
                () -> tracer().stage(OrderEvent.ORDER_CONFIRMED, "ORD-5").attribute("order.id", "x").start());
        assertThrows(OrderTraceException.class,
                () -> tracer().stage(OrderEvent.ORDER_CONFIRMED, "ORD-5").attribute("k.v", null).start());
        OrderTraceException status = assertThrows(OrderTraceException.class,
                () -> tracer().stage(OrderEvent.ORDER_STATUS_CHANGED, "ORD-5").statusChange("", "x").start());
        assertEquals(OrderTraceException.INVALID_INPUT, status.code());
        assertTrue(spans().isEmpty(), "nothing exported for rejected stages");
    }

    @Test
    void statusChangeAndPriceAreRecorded() throws Exception {
        try (StageSpan s = tracer().stage(OrderEvent.ORDER_STATUS_CHANGED, "ORD-6").statusChange("confirmed", "pricing").start()) {
            s.recordPrice(12.5, "EUR");
        }
        List<JsonNode> spans = spans();
        JsonNode span = one(spans, "order_status_changed");
        assertEquals("confirmed", attr(span, "order.status.from"));
        assertEquals("pricing", attr(span, "order.status.to"));
        assertEquals("12.5", attr(span, "order.price.amount"));
        assertNull(attr(span, "crm.nothing"));
    }
}
