package io.ordertrace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** What crosses the JNI boundary when things go wrong: panics, JNI misuse, leaks, threads. */
class BoundaryTest extends Fixture {
    @Test
    void aPanicInTheNativeLibraryIsAnOrderTraceExceptionAndTheJvmCarriesOn() throws Exception {
        // Both ways a native method runs: straight on the JNIEnv (the common stage) and through
        // the jni crate's with_env.
        for (boolean direct : new boolean[] {true, false}) {
            OrderTraceException e = assertThrows(OrderTraceException.class, () -> NativeBridge.panicForTests(direct));
            assertEquals(OrderTraceException.PANIC, e.code());
            String path = direct ? "(direct)" : "(with_env)";
            assertTrue(e.getMessage().contains("deliberate panic for the boundary test " + path), e.getMessage());
        }
        tracer().stage(OrderEvent.ORDER_CONFIRMED, "ORD-1").start().close();
        assertEquals("order_confirmed", one(spans(), "order_confirmed").get("name").asText());
    }

    @Test
    void aNullStringReachingANativeMethodIsAnOrderTraceException() {
        OrderTraceException e = assertThrows(OrderTraceException.class, () -> NativeBridge.readSpansJson(null));
        assertEquals(OrderTraceException.NULL_POINTER, e.code());
        assertTrue(e.getMessage().contains("path"), e.getMessage());
    }

    @Test
    void aNullOrderIdReachingStageStartIsAMissingIdNotAnError() throws Exception {
        long stage = tracer().withHandle(
                t -> NativeBridge.stageStart(t, 0, null, 0, null, 0, 0, null, null, null, null, null, null, null, null));
        NativeBridge.stageEnd(stage);
        NativeBridge.stageFree(stage);
        assertEquals("invalid order id: it is empty", attr(one(spans(), "order_submitted"), "ordertrace.problem"));
    }

    @Test
    void aZeroTracerHandleIsAnOrderTraceExceptionNotACrash() {
        OrderTraceException e = assertThrows(OrderTraceException.class,
                () -> NativeBridge.stageStart(0, 0, "ORD-1", 5, null, 0, 0, null, null, null, null, null, null, null, null));
        assertEquals(OrderTraceException.NULL_POINTER, e.code());
        assertTrue(e.getMessage().contains("tracer"), e.getMessage());
    }

    @Test
    void aStringLengthBeyondTheStringIsInvalidInputNotAStage() {
        // StageBuilder passes each id's own length(); a wrong one must not read past the string.
        for (int[] lengths : new int[][] {{6, 0}, {5, 40}}) {
            OrderTraceException e = assertThrows(OrderTraceException.class, () -> tracer().withHandle(
                    t -> NativeBridge.stageStart(t, 0, "ORD-1", lengths[0], "1b4e28ba", lengths[1], 0, null, null, null,
                            null, null, null, null, null)));
            assertEquals(OrderTraceException.INVALID_INPUT, e.code());
            assertTrue(e.getMessage().contains("string length of " + (lengths[0] == 6 ? 6 : 40)), e.getMessage());
        }
        assertEquals(0, tracer().counters().spansStarted());
    }

    @Test
    void anEventIndexOutsideTheSchemaIsInvalidInputNamingIt() {
        OrderTraceException e = assertThrows(OrderTraceException.class, () -> tracer().withHandle(
                t -> NativeBridge.stageStart(t, 8, "ORD-1", 5, null, 0, 0, null, null, null, null, null, null, null, null)));
        assertEquals(OrderTraceException.INVALID_INPUT, e.code());
        assertTrue(e.getMessage().contains("event index 8"), e.getMessage());
    }

    @Test
    void attributeArraysShorterThanTheKeysAreAnOrderTraceException() {
        OrderTraceException e = assertThrows(OrderTraceException.class, () -> tracer().withHandle(
                t -> NativeBridge.stageStart(t, 2, "ORD-1", 5, null, 0, 0, null, null, new String[] {"crm.channel"}, new int[0],
                        new String[] {"web"}, new long[1], new double[1], null)));
        assertEquals(OrderTraceException.INVALID_INPUT, e.code());
    }

    private void startAndLeak(String orderId) {
        tracer().stage(OrderEvent.ORDER_CONFIRMED, orderId).attribute("crm.leaked", true).start();
    }

    private static boolean collectUntil(BooleanSupplier done) throws InterruptedException {
        for (int i = 0; i < 200; i++) {
            System.gc();
            Thread.sleep(25);
            if (done.getAsBoolean()) {
                return true;
            }
        }
        return false;
    }

    @Test
    void aLeakedStageIsEndedAndExportedByTheCleaner() throws Exception {
        startAndLeak("ORD-LEAK");
        boolean ended = collectUntil(() -> {
            tracer().flush(Duration.ofSeconds(5));
            return tracer().counters().spansExported() == 1;
        });
        assertTrue(ended, "the leaked stage was never ended");
        assertEquals("true", attr(one(spans(), "order_confirmed"), "crm.leaked"));
    }

    @Test
    void closedAndEndedStagesAreUnregisteredAndALeakedOneOnceCollected() throws Exception {
        int before = StageRelease.registered();
        for (int i = 0; i < 100; i++) {
            tracer().stage(OrderEvent.ORDER_CONFIRMED, "ORD-R" + i).start().close();
        }
        StageSpan ended = tracer().stage(OrderEvent.ORDER_CONFIRMED, "ORD-E").start();
        ended.end();
        assertEquals(before, StageRelease.registered(), "close() and end() unregister their stage");
        startAndLeak("ORD-R-LEAK");
        assertEquals(before + 1, StageRelease.registered(), "an open stage stays registered");
        assertTrue(collectUntil(() -> StageRelease.registered() == before), "the leaked stage was never released");
        ended.close();
        assertEquals(before, StageRelease.registered(), "closing after end() changes nothing");
    }

    @Test
    void manyOpenStagesOfOneThreadStayRegisteredUntilEachIsReleased() {
        int before = StageRelease.registered();
        java.util.List<StageSpan> open = new java.util.ArrayList<>();
        for (int i = 0; i < 300; i++) {
            StageSpan s = tracer().stage(OrderEvent.ORDER_CONFIRMED, "ORD-M" + i).start();
            if (i % 3 == 0) {
                open.add(s);
            } else {
                s.close();
            }
        }
        assertEquals(before + 100, StageRelease.registered());
        open.forEach(StageSpan::close);
        assertEquals(before, StageRelease.registered());
    }

    @Test
    void aStageLeakedByAThreadThatEndedIsStillEndedOnceCollected() throws Exception {
        int before = StageRelease.registered();
        Thread t = new Thread(() -> startAndLeak("ORD-T-LEAK"));
        t.start();
        t.join();
        assertEquals(before + 1, StageRelease.registered(), "the ended thread's open stage is still registered");
        assertTrue(collectUntil(() -> StageRelease.registered() == before), "the leaked stage was never released");
    }

    private void useAndLeakTracer(String file) {
        OrderTracer leaked = OrderTracer.builder().readEnvironment(false).serviceName("crm-api").file(file)
                .startRecords(false).heartbeat(Duration.ZERO).build();
        leaked.stage(OrderEvent.ORDER_SHIPPED, "ORD-LEAK").start().close();
    }

    @Test
    void aLeakedTracerIsShutDownByTheCleanerAndKeepsItsSpans() throws Exception {
        Path file = dir.resolve("leaked.jsonl");
        useAndLeakTracer(file.toString());
        boolean exported = collectUntil(() -> Files.exists(file) && OrderTracer.readSpansJson(file.toString()).contains("order_shipped"));
        assertTrue(exported, "the leaked tracer's span never reached its file");
        JsonNode spans = new ObjectMapper().readTree(OrderTracer.readSpansJson(file.toString()));
        assertEquals(1, spans.size());
    }

    private static Set<String> javaThreadNames() {
        return Thread.getAllStackTraces().keySet().stream().map(Thread::getName).collect(Collectors.toSet());
    }

    @Test
    void theNativeExportAndHeartbeatThreadsAreNeverAttachedToTheJvm() throws Exception {
        OrderTracer.Builder options = options().startRecords(true).heartbeat(Duration.ofMillis(10));
        Set<String> before = javaThreadNames();
        try (OrderTracer busy = options.build()) {
            StageSpan open = busy.stage(OrderEvent.MANUFACTURING_STARTED, "ORD-T").start();
            Thread.sleep(100); // heartbeats run on the native side meanwhile
            busy.flush(Duration.ofSeconds(5));
            assertTrue(busy.counters().spansExported() >= 1, "the native export thread ran: " + busy.counters());
            Set<String> during = javaThreadNames();
            during.removeAll(before);
            // ordertrace-stage-release: the Java thread freeing dropped stages (StageRelease).
            during.removeIf(name -> name.startsWith("Common-Cleaner") || name.startsWith("process reaper")
                    || name.equals("ordertrace-stage-release"));
            assertEquals(Set.of(), during, "threads the JVM sees beyond the test's own");
            open.close();
        }
    }
}
