package io.ordertrace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class TracerTest extends Fixture {
    @Test
    void countersCountStartedAndExportedSpans() {
        for (int i = 0; i < 5; i++) {
            tracer().stage(OrderEvent.ORDER_CONFIRMED, "ORD-" + i).start().close();
        }
        tracer().flush(Duration.ofSeconds(5));
        PipelineCounters c = tracer().counters();
        assertEquals(5, c.spansStarted());
        assertEquals(5, c.spansExported());
        assertEquals(0, c.spansDropped());
    }

    @Test
    void stagesAfterShutdownAreRefused() {
        tracer().shutdown(Duration.ofSeconds(5));
        OrderTraceException e = assertThrows(OrderTraceException.class,
                () -> tracer().stage(OrderEvent.ORDER_SHIPPED, "ORD-1").start());
        assertEquals(OrderTraceException.SHUT_DOWN, e.code());
    }

    @Test
    void aClosedTracerRefusesEveryCallAndClosesOnce() {
        OrderTracer t = options().build();
        t.close();
        t.close();
        OrderTraceException e = assertThrows(OrderTraceException.class, () -> t.stage(OrderEvent.ORDER_SHIPPED, "ORD-1").start());
        assertEquals(OrderTraceException.CLOSED, e.code());
        assertThrows(OrderTraceException.class, () -> t.flush(Duration.ofSeconds(1)));
        assertThrows(OrderTraceException.class, t::counters);
    }

    @Test
    void aStageEndedAfterShutdownIsCountedAsDropped() {
        StageSpan open = tracer().stage(OrderEvent.MANUFACTURING_STARTED, "ORD-1").start();
        tracer().shutdown(Duration.ofSeconds(5));
        open.end();
        assertEquals(1, tracer().counters().spansDropped());
        assertEquals(OrderTraceException.CLOSED, assertThrows(OrderTraceException.class, open::traceId).code());
    }

    @Test
    void aStageOutlivingItsClosedTracerStillClosesCleanly() {
        OrderTracer t = options().build();
        StageSpan open = t.stage(OrderEvent.MANUFACTURING_STARTED, "ORD-1").start();
        t.close();
        open.close();
        open.close();
        assertEquals(OrderTraceException.CLOSED, assertThrows(OrderTraceException.class, open::headers).code());
    }

    @Test
    void badConfigurationNamesTheProblem() {
        OrderTraceException e = assertThrows(OrderTraceException.class,
                () -> OrderTracer.builder().readEnvironment(false).otlpHttp("collector:4318").build());
        assertEquals(OrderTraceException.INVALID_CONFIG, e.code());
        assertTrue(e.getMessage().contains("collector:4318"), e.getMessage());
    }

    @Test
    void orderEventEnumMatchesTheCoreSchema() throws Exception {
        JsonNode schema = new ObjectMapper().readTree(OrderTracer.schemaJson());
        List<String> names = new ArrayList<>();
        schema.get("events").forEach(e -> names.add(e.get("name").asText()));
        assertEquals(names, Arrays.stream(OrderEvent.values()).map(OrderEvent::wireName).toList());
    }

    @Test
    void exceptionCodesMatchTheCoreStatusTable() throws Exception {
        JsonNode schema = new ObjectMapper().readTree(OrderTracer.schemaJson());
        Map<String, Integer> table = new TreeMap<>();
        schema.get("status_codes").forEach(r -> {
            if (r.get("code").asInt() != 0) {
                table.put(r.get("name").asText(), r.get("code").asInt());
            }
        });
        Map<String, Integer> ours = new TreeMap<>();
        for (Field f : OrderTraceException.class.getDeclaredFields()) {
            int m = f.getModifiers();
            if (Modifier.isPublic(m) && Modifier.isStatic(m) && f.getType() == int.class) {
                ours.put(f.getName(), f.getInt(null));
            }
        }
        assertEquals(table, ours);
    }

    @Test
    void aQuickStageHasAStartRecordOnlyWhenTheThresholdIsZero() throws Exception {
        OrderTracer atOnce = options().startRecords(true).startRecordAfter(Duration.ZERO).build();
        atOnce.stage(OrderEvent.ORDER_CONFIRMED, "ORD-AT-ONCE").start().close();
        OrderTracer deferred = OrderTracer.builder().readEnvironment(false).serviceName("crm-api")
                .file(dir.resolve("deferred.jsonl").toString()).startRecords(true)
                .startRecordAfter(Duration.ofMinutes(5)).heartbeat(Duration.ZERO).build();
        deferred.stage(OrderEvent.ORDER_CONFIRMED, "ORD-DEFERRED").start().close();
        atOnce.shutdown(Duration.ofSeconds(5));
        deferred.shutdown(Duration.ofSeconds(5));
        List<String> atOnceNames = new ArrayList<>();
        new ObjectMapper().readTree(OrderTracer.readSpansJson(file())).forEach(n -> atOnceNames.add(n.get("name").asText()));
        List<String> deferredNames = new ArrayList<>();
        new ObjectMapper().readTree(OrderTracer.readSpansJson(dir.resolve("deferred.jsonl").toString()))
                .forEach(n -> deferredNames.add(n.get("name").asText()));
        assertEquals(List.of("order_confirmed", "order_confirmed.started"), atOnceNames.stream().sorted().toList());
        assertEquals(List.of("order_confirmed"), deferredNames);
        assertThrows(OrderTraceException.class, () -> options().startRecordAfter(Duration.ofMillis(-1)));
    }

    @Test
    void pipelineCountersMatchTheCoreCountersInOrder() throws Exception {
        JsonNode schema = new ObjectMapper().readTree(OrderTracer.schemaJson());
        List<String> core = new ArrayList<>();
        schema.get("pipeline_counters").forEach(n -> core.add(n.asText()));
        // spool_oldest_age_ms -> spoolOldestAgeMs: the record's components are the core's names.
        List<String> ours = Arrays.stream(PipelineCounters.class.getRecordComponents())
                .map(c -> c.getName().replaceAll("([A-Z])", "_$1").toLowerCase(java.util.Locale.ROOT))
                .toList();
        assertEquals(core, ours);
    }

    @Test
    void headerFilterPassesExactlyTheCorePropagationHeaders() throws Exception {
        JsonNode schema = new ObjectMapper().readTree(OrderTracer.schemaJson());
        List<String> core = new ArrayList<>();
        schema.get("propagation").get("headers").forEach(n -> core.add(n.asText()));
        Map<String, Object> message = new java.util.LinkedHashMap<>();
        message.put("x-other", "1");
        for (String name : core) {
            message.put(name.toUpperCase(java.util.Locale.ROOT), "v".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        List<String> passed = Propagation.fromMessage(message).keySet().stream()
                .map(k -> k.toLowerCase(java.util.Locale.ROOT)).sorted().toList();
        assertEquals(core.stream().sorted().toList(), passed);
    }

    @Test
    void readingAMissingSpanFileIsAFileError() {
        OrderTraceException e = assertThrows(OrderTraceException.class, () -> OrderTracer.readSpansJson("/nonexistent/x.jsonl"));
        assertEquals(OrderTraceException.FILE, e.code());
    }
}
