package io.ordertrace.spring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.opentelemetry.context.Scope;
import io.ordertrace.OrderEvent;
import io.ordertrace.OrderTraceException;
import io.ordertrace.OrderTracer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessageProperties;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.aop.AopAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpMethod;
import org.springframework.mock.http.client.MockClientHttpRequest;
import org.springframework.mock.http.client.MockClientHttpResponse;
import org.springframework.http.HttpStatus;
import java.net.URI;

class OrderTraceAutoConfigurationTest {
    static final String USER = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";
    // A caller's span in another trace than any order's.
    static final String CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    @TempDir
    Path dir;

    /** A service whose methods are order stages. */
    public static class Orders {
        public record Order(String id, String userId) {}

        private final AtomicReference<Map<String, String>> seenInside = new AtomicReference<>();

        /** The current headers inside the last confirm (read through the proxy, so a method). */
        public Map<String, String> seenInside() {
            return seenInside.get();
        }

        @OrderStage(event = OrderEvent.ORDER_CONFIRMED, orderId = "#order.id", userId = "#order.userId",
                kind = OrderStage.Kind.SERVER)
        public String confirm(Order order) {
            seenInside.set(OrderContext.currentHeaders());
            return "confirmed " + order.id();
        }

        @OrderStage(event = OrderEvent.ORDER_SHIPPED, orderId = "#orderId")
        public void ship(String orderId) {
            throw new IllegalStateException("no parcel service for " + orderId);
        }

        @OrderStage(event = OrderEvent.ORDER_SHIPPED, orderId = "#order.id")
        public void shipWithoutId(Order order) {}

        @OrderStage(event = OrderEvent.ORDER_SHIPPED, orderId = "#order.nosuchfield")
        public void shipBadExpression(Order order) {}
    }

    @Configuration(proxyBeanMethods = false)
    static class App {
        @Bean
        Orders orders() {
            return new Orders();
        }
    }

    ApplicationContextRunner runner() {
        return new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(AopAutoConfiguration.class, OrderTraceAutoConfiguration.class))
                .withUserConfiguration(App.class)
                .withPropertyValues("spring.application.name=crm-test", "ordertrace.file=" + file(),
                        "ordertrace.heartbeat=0s", "ordertrace.start-records=false");
    }

    String file() {
        return dir.resolve("spans.jsonl").toString();
    }

    List<JsonNode> spans(OrderTracer tracer) throws Exception {
        tracer.flush(Duration.ofSeconds(5));
        List<JsonNode> out = new ArrayList<>();
        new ObjectMapper().readTree(OrderTracer.readSpansJson(file())).forEach(out::add);
        return out;
    }

    static JsonNode one(List<JsonNode> spans, String name) {
        List<JsonNode> found = spans.stream().filter(s -> s.get("name").asText().equals(name)).toList();
        assertEquals(1, found.size(), "spans named " + name + ": " + spans);
        return found.get(0);
    }

    static String attr(JsonNode span, String key) {
        JsonNode v = span.get("attributes").get(key);
        return v == null ? null : v.asText();
    }

    @Test
    void orderStageMethodRecordsItsStageWithTheOrderIdOfItsArgument() {
        runner().run(context -> {
            Orders orders = context.getBean(Orders.class);
            assertEquals("confirmed ORD-S1", orders.confirm(new Orders.Order("ORD-S1", USER)));
            JsonNode span = one(spans(context.getBean(OrderTracer.class)), "order_confirmed");
            assertEquals("ORD-S1", attr(span, "order.id"));
            assertEquals(USER, attr(span, "user.id"));
            assertEquals("crm-test", span.get("service").asText());
        });
    }

    @Test
    void orderStageMethodRunsWithItsStageCurrent() {
        runner().run(context -> {
            Orders orders = context.getBean(Orders.class);
            orders.confirm(new Orders.Order("ORD-S2", USER));
            JsonNode span = one(spans(context.getBean(OrderTracer.class)), "order_confirmed");
            Map<String, String> inside = orders.seenInside();
            assertEquals("00-" + span.get("trace_id").asText() + "-" + span.get("span_id").asText() + "-01",
                    inside.get("traceparent"));
            assertTrue(inside.get("baggage").contains("order.id=ORD-S2"), inside.toString());
            assertTrue(OrderContext.currentHeaders().isEmpty(), "the stage is no longer current after the method");
        });
    }

    @Test
    void orderStageMethodThatThrowsEndsItsStageAsAnErrorAndRethrows() {
        runner().run(context -> {
            IllegalStateException thrown = assertThrows(IllegalStateException.class,
                    () -> context.getBean(Orders.class).ship("ORD-S3"));
            assertEquals("no parcel service for ORD-S3", thrown.getMessage());
            JsonNode span = one(spans(context.getBean(OrderTracer.class)), "order_shipped");
            assertEquals("error", span.get("status").asText());
            JsonNode exception = span.get("events").get(0).get("attributes");
            assertEquals("java.lang.IllegalStateException", exception.get("exception.type").asText());
        });
    }

    @Test
    void orderStageMethodRunsAndReturnsTheSameWithABadUserId() {
        runner().run(context -> {
            Orders orders = context.getBean(Orders.class);
            assertEquals("confirmed ORD-S7", orders.confirm(new Orders.Order("ORD-S7", "42")));
            OrderTracer tracer = context.getBean(OrderTracer.class);
            JsonNode span = one(spans(tracer), "order_confirmed");
            assertEquals("ORD-S7", attr(span, "order.id"));
            assertNull(attr(span, "user.id"));
            assertEquals("user.id", attr(span, "ordertrace.id_rejected"));
            assertEquals(1, tracer.counters().idsRejected());
        });
    }

    @Test
    void orderStageMethodThrowsTheSameBusinessExceptionWithAMissingOrderId() {
        runner().run(context -> {
            IllegalStateException thrown = assertThrows(IllegalStateException.class,
                    () -> context.getBean(Orders.class).ship(null));
            assertEquals("no parcel service for null", thrown.getMessage());
            JsonNode span = one(spans(context.getBean(OrderTracer.class)), "order_shipped");
            assertEquals("invalid order id: it is empty", attr(span, "ordertrace.problem"));
            assertEquals("error", span.get("status").asText());
        });
    }

    @Test
    void orderStageWhoseOrderIdIsNullStillRunsTheMethodAndRecordsTheProblem() {
        runner().run(context -> {
            context.getBean(Orders.class).shipWithoutId(new Orders.Order(null, USER));
            JsonNode span = one(spans(context.getBean(OrderTracer.class)), "order_shipped");
            assertNull(attr(span, "order.id"));
            assertEquals("order.id", attr(span, "ordertrace.id_rejected"));
        });
    }

    @Test
    void orderStageWithAnExpressionThatCannotBeEvaluatedStillRunsTheMethod() {
        runner().run(context -> {
            context.getBean(Orders.class).shipBadExpression(new Orders.Order("ORD-S4", USER));
            JsonNode span = one(spans(context.getBean(OrderTracer.class)), "order_shipped");
            assertEquals("invalid order id: it is empty", attr(span, "ordertrace.problem"));
        });
    }

    @Test
    void strictIdsPropertyMakesABadUserIdThrowBeforeTheMethodRuns() {
        runner().withPropertyValues("ordertrace.strict-ids=true").run(context -> {
            Orders orders = context.getBean(Orders.class);
            OrderTraceException thrown = assertThrows(OrderTraceException.class,
                    () -> orders.confirm(new Orders.Order("ORD-S8", "42")));
            assertEquals(OrderTraceException.INVALID_INPUT, thrown.code());
            assertNull(orders.seenInside(), "the method did not run");
            assertEquals(1, context.getBean(OrderTracer.class).counters().idsRejected());
        });
    }

    @Test
    void stageStartedInsideAnIncomingRequestIsItsChildUnderPropagatedIdentity() {
        runner().withPropertyValues("ordertrace.identity=propagated").run(context -> {
            OrderStages stages = context.getBean(OrderStages.class);
            try (Scope ignored = OrderContext.joinIncoming(Map.of("traceparent", CALLER,
                    "baggage", "order.id=ORD-S5,user.id=" + USER))) {
                stages.inStage(stages.stage(OrderEvent.ORDER_CONFIRMED, "ORD-S5"), stage -> null);
            }
            JsonNode span = one(spans(context.getBean(OrderTracer.class)), "order_confirmed");
            assertEquals("4bf92f3577b34da6a3ce929d0e0e4736", span.get("trace_id").asText());
            assertEquals("00f067aa0ba902b7", span.get("parent_span_id").asText());
            assertEquals(USER, attr(span, "user.id"), "user.id from the incoming baggage");
        });
    }

    @Test
    void stageInsideAForeignTraceKeepsTheOrdersTraceAndLinksTheCallerByDefault() {
        runner().run(context -> {
            OrderStages stages = context.getBean(OrderStages.class);
            try (Scope ignored = OrderContext.joinIncoming(Map.of("traceparent", CALLER))) {
                stages.inStage(stages.stage(OrderEvent.ORDER_CONFIRMED, "ORD-S6"), stage -> null);
            }
            JsonNode span = one(spans(context.getBean(OrderTracer.class)), "order_confirmed");
            assertFalse(span.get("trace_id").asText().equals("4bf92f3577b34da6a3ce929d0e0e4736"));
            assertEquals("00f067aa0ba902b7", span.get("links").get(0).get("span_id").asText());
        });
    }

    @Test
    void outgoingHttpInterceptorWritesTheCurrentStageIntoTheRequest() throws Exception {
        runner().run(context -> {
            OrderStages stages = context.getBean(OrderStages.class);
            MockClientHttpRequest request = new MockClientHttpRequest(HttpMethod.POST, URI.create("http://mes/price"));
            String[] stageTraceparent = new String[1];
            stages.inStage(stages.stage(OrderEvent.ORDER_STATUS_CHANGED, "ORD-S7").statusChange("confirmed", "pricing"),
                    stage -> {
                        stageTraceparent[0] = stage.headers().get("traceparent");
                        return new OutgoingHttpContextInterceptor().intercept(request, new byte[0],
                                (r, b) -> new MockClientHttpResponse(new byte[0], HttpStatus.OK));
                    });
            assertEquals(stageTraceparent[0], request.getHeaders().getFirst("traceparent"));
            assertTrue(request.getHeaders().getFirst("baggage").contains("order.id=ORD-S7"));
        });
    }

    @Test
    void outgoingHttpInterceptorWritesNothingOutsideAnyContext() throws Exception {
        MockClientHttpRequest request = new MockClientHttpRequest(HttpMethod.GET, URI.create("http://mes/health"));
        new OutgoingHttpContextInterceptor().intercept(request, new byte[0],
                (r, b) -> new MockClientHttpResponse(new byte[0], HttpStatus.OK));
        assertNull(request.getHeaders().getFirst("traceparent"));
        assertNull(request.getHeaders().getFirst("baggage"));
    }

    @Test
    void rabbitPublishWritesTheCurrentStageAsStringHeaders() {
        runner().run(context -> {
            OrderStages stages = context.getBean(OrderStages.class);
            Message message = new Message(new byte[0], new MessageProperties());
            String expected = stages.inStage(stages.stage(OrderEvent.MODEL_UPLOADED, "ORD-S8"), stage -> {
                RabbitContext.publishPostProcessor().postProcessMessage(message);
                return stage.headers().get("traceparent");
            });
            Object written = message.getMessageProperties().getHeaders().get("traceparent");
            assertEquals(expected, written);
            assertTrue(message.getMessageProperties().getHeaders().get("baggage").toString().contains("order.id=ORD-S8"));
        });
    }

    @Test
    void rabbitListenerAdviceMakesTheMessagesContextCurrentWhileTheListenerRuns() throws Throwable {
        MessageProperties properties = new MessageProperties();
        properties.setHeader("traceparent", CALLER.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        properties.setHeader("baggage", "order.id=ORD-S9");
        Message message = new Message(new byte[0], properties);
        AtomicReference<Map<String, String>> inside = new AtomicReference<>();
        org.aopalliance.intercept.MethodInvocation invocation = new FakeInvocation(new Object[] {null, message},
                () -> inside.set(OrderContext.currentHeaders()));
        RabbitContext.listenerAdvice().invoke(invocation);
        assertEquals(CALLER, inside.get().get("traceparent"));
        assertEquals("order.id=ORD-S9", inside.get().get("baggage"));
        assertTrue(OrderContext.currentHeaders().isEmpty(), "nothing current after the listener");
    }

    @Test
    void tracerIsClosedWhenTheContextShutsDown() {
        AtomicReference<OrderTracer> tracer = new AtomicReference<>();
        runner().run(context -> tracer.set(context.getBean(OrderTracer.class)));
        OrderTraceException closed = assertThrows(OrderTraceException.class, () -> tracer.get().counters());
        assertEquals(OrderTraceException.CLOSED, closed.code());
    }

    @Test
    void startersBeansAreAbsentWhenDisabled() {
        runner().withPropertyValues("ordertrace.enabled=false").run(context -> {
            assertFalse(context.containsBean("orderTracer"));
            assertEquals("confirmed ORD-S10", context.getBean(Orders.class).confirm(new Orders.Order("ORD-S10", USER)));
        });
    }

    @Test
    void badSettingsFailTheStartupWithTheLibrarysMessage() {
        runner().withPropertyValues("ordertrace.otlp-endpoint=not a url").run(context -> {
            assertTrue(context.getStartupFailure() != null, "the context must not start");
            Throwable cause = context.getStartupFailure();
            while (cause.getCause() != null && !(cause instanceof OrderTraceException)) {
                cause = cause.getCause();
            }
            assertTrue(cause instanceof OrderTraceException, String.valueOf(context.getStartupFailure()));
        });
    }

    /** A MethodInvocation over invokeListener(channel, message) that runs {@code body}. */
    record FakeInvocation(Object[] arguments, Runnable body) implements org.aopalliance.intercept.MethodInvocation {
        @Override
        public java.lang.reflect.Method getMethod() {
            try {
                return Runnable.class.getMethod("run");
            } catch (NoSuchMethodException e) {
                throw new AssertionError(e);
            }
        }

        @Override
        public Object[] getArguments() {
            return arguments;
        }

        @Override
        public Object proceed() {
            body.run();
            return null;
        }

        @Override
        public Object getThis() {
            return null;
        }

        @Override
        public java.lang.reflect.AccessibleObject getStaticPart() {
            return getMethod();
        }
    }
}
