package io.ordertrace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.ordertrace.otel.OpenTelemetryContext;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A service already running the OpenTelemetry Java SDK: ordertrace stages join its current span. */
class OpenTelemetryInteropTest extends Fixture {
    private final InMemorySpanExporter exporter = InMemorySpanExporter.create();
    private final SdkTracerProvider provider =
            SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(exporter)).build();
    private final Tracer otel = provider.get("spring-controller");

    @Test
    void underPropagatedIdentityAStageIsAChildOfTheCurrentOpenTelemetrySpan() throws Exception {
        OrderTracer propagated = options().propagatedIdentity(true).build();
        Span request = otel.spanBuilder("POST /orders/{id}/confirm").startSpan();
        try (Scope ignored = request.makeCurrent()) {
            propagated.stage(OrderEvent.ORDER_CONFIRMED, "ORD-1").parent(OpenTelemetryContext.current()).start().close();
        } finally {
            request.end();
        }
        propagated.close();
        JsonNode stage = one(spans(), "order_confirmed");
        assertEquals(request.getSpanContext().getTraceId(), stage.get("trace_id").asText());
        assertEquals(request.getSpanContext().getSpanId(), stage.get("parent_span_id").asText());
        assertEquals(1, exporter.getFinishedSpanItems().size(), "the SDK exported its own span");
        provider.close();
    }

    @Test
    void underOrderDerivedIdentityTheRequestSpanBecomesALink() throws Exception {
        Span request = otel.spanBuilder("POST /orders/{id}/confirm").startSpan();
        try (Scope ignored = request.makeCurrent()) {
            tracer().stage(OrderEvent.ORDER_CONFIRMED, "ORD-2").parent(OpenTelemetryContext.current()).start().close();
        } finally {
            request.end();
        }
        JsonNode stage = one(spans(), "order_confirmed");
        assertTrue(!stage.get("trace_id").asText().equals(request.getSpanContext().getTraceId()));
        assertEquals(request.getSpanContext().getSpanId(), stage.get("links").get(0).get("span_id").asText());
        provider.close();
    }

    @Test
    void withoutACurrentSpanThereIsNoParent() {
        assertTrue(OpenTelemetryContext.current().isEmpty());
    }

    @Test
    void aRemoteParentsTraceStateTravelsWithItsTraceparent() {
        SpanContext remote = SpanContext.createFromRemoteParent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7",
                TraceFlags.getSampled(), TraceState.builder().put("shop", "cart7").build());
        Map<String, String> headers = OpenTelemetryContext.of(Context.root().with(Span.wrap(remote)));
        assertEquals("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", headers.get("traceparent"));
        assertEquals("shop=cart7", headers.get("tracestate"));
    }
}
