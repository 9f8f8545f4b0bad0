package io.ordertrace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The common stage's ids cross in the thread's {@link IdBuffer}: a buffer remembering the wrong
 * id, or another thread's, would put a wrong id on a span without any error, so these tests
 * compare every span's ids with what its stage was started with.
 */
class IdBufferTest extends Fixture {
    static final String USER2 = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";

    /** Starts and closes one stage per pair; the pairs' counts as "order|user" keys. */
    private Map<String, Integer> run(String[][] pairs) {
        Map<String, Integer> expected = new TreeMap<>();
        for (String[] p : pairs) {
            tracer().stage(OrderEvent.ORDER_CONFIRMED, p[0]).userId(p[1]).start().close();
            expected.merge(p[0] + "|" + p[2], 1, Integer::sum);
        }
        return expected;
    }

    private Map<String, Integer> exported() throws Exception {
        Map<String, Integer> seen = new TreeMap<>();
        for (JsonNode span : spans()) {
            String user = attr(span, "user.id");
            seen.merge(attr(span, "order.id") + "|" + (user == null ? "-" : user), 1, Integer::sum);
        }
        return seen;
    }

    @Test
    void idsChangingFromStageToStageOnOneThreadArriveUnchanged() throws Exception {
        String longest = "ORD-" + "7".repeat(IdBuffer.MAX - 4);
        // {order id, user id, the user id expected on the span ("-": none)}. The same strings, equal
        // copies, new ids, ids the buffer cannot hold (beyond ASCII, longer than MAX) between ones it
        // can, and the same ids again after those.
        String[][] pairs = {
            {"ORD-1", USER, USER},
            {"ORD-1", USER, USER},
            {new String("ORD-1"), new String(USER), USER},
            {"ORD-2", USER2, USER2},
            {"ORD-\u00dc-3", USER, USER},
            {"ORD-1", USER2, USER2},
            {"ORD-4", "\u00fc" + USER.substring(1), "-"},
            {"ORD-4", USER, USER},
            {"ORD-5", USER.repeat(4), "-"},
            {"ORD-5", "", "-"},
            {longest, USER2, USER2},
            {longest + "8", USER, USER},
            {"ORD-6", USER2, USER2},
        };
        Map<String, Integer> expected = run(pairs);
        Map<String, Integer> seen = exported();
        // The order id one char past the buffer is refused by the core's length rule (lenient:
        // the stage starts without it); so it arrives as a problem, not as another id.
        expected.remove(longest + "8|" + USER);
        seen.entrySet().removeIf(e -> e.getKey().startsWith("null|"));
        assertEquals(expected, seen);
    }

    @Test
    void eachThreadHoldsItsOwnIds() throws Exception {
        String[] users = {USER, USER2, "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"};
        int perThread = 300;
        OrderTracer tracer = tracer();
        CountDownLatch go = new CountDownLatch(1);
        AtomicReference<Throwable> failed = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < users.length; t++) {
            int id = t;
            threads.add(new Thread(() -> {
                try {
                    go.await();
                    for (int i = 0; i < perThread; i++) {
                        tracer.stage(OrderEvent.ORDER_CONFIRMED, "ORD-T" + id + "-" + (i % 3)).userId(users[id]).start()
                                .close();
                    }
                } catch (Throwable e) {
                    failed.compareAndSet(null, e);
                }
            }));
        }
        threads.forEach(Thread::start);
        go.countDown();
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(null, failed.get());
        List<JsonNode> spans = spans();
        assertEquals(users.length * perThread, spans.size());
        for (JsonNode span : spans) {
            String order = attr(span, "order.id");
            int thread = order.charAt(5) - '0';
            assertEquals(users[thread], attr(span, "user.id"), order);
        }
    }

    @Test
    void badLengthsInTheBufferAreInvalidInputAndBytesNotUtf8ABrokenId() throws Exception {
        ByteBuffer buffer = ByteBuffer.allocateDirect(2 * IdBuffer.MAX);
        long address = NativeBridge.bufferAddress(buffer);
        buffer.put(0, "ORD-1".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        for (int[] lengths : new int[][] {{-1, 0}, {IdBuffer.MAX + 1, 0}, {5, -1}, {5, IdBuffer.MAX + 1}}) {
            OrderTraceException e = assertThrows(OrderTraceException.class,
                    () -> tracer().withHandle(t -> NativeBridge.stageStartAscii(t, 2, 0, address, lengths[0], lengths[1])));
            assertEquals(OrderTraceException.INVALID_INPUT, e.code(), e.getMessage());
            assertTrue(e.getMessage().contains("length"), e.getMessage());
        }
        // Bytes that are not UTF-8 are an id breaking the rules, as from any other caller: by
        // default the stage starts without it and says why.
        buffer.put(IdBuffer.USER_AT, (byte) 0xc3);
        tracer().withHandle(t -> {
            NativeBridge.stageFree(NativeBridge.stageStartAscii(t, 0, 0, address, 5, 1));
            return null;
        });
        OrderTraceException noBuffer = assertThrows(OrderTraceException.class,
                () -> tracer().withHandle(t -> NativeBridge.stageStartAscii(t, 2, 0, 0, 5, 0)));
        assertEquals(OrderTraceException.NULL_POINTER, noBuffer.code());
        assertThrows(OrderTraceException.class, () -> NativeBridge.bufferAddress(ByteBuffer.allocate(8)));
        assertThrows(OrderTraceException.class, () -> NativeBridge.bufferAddress(null));
        java.lang.ref.Reference.reachabilityFence(buffer);
        // The same buffer with good input starts the stage it holds.
        tracer().withHandle(t -> {
            NativeBridge.stageFree(NativeBridge.stageStartAscii(t, 2, 0, address, 5, 0));
            return null;
        });
        List<JsonNode> spans = spans();
        assertEquals("ORD-1", attr(one(spans, "order_confirmed"), "order.id"));
        JsonNode notUtf8 = one(spans, "order_submitted");
        assertEquals("ORD-1", attr(notUtf8, "order.id"));
        assertEquals(null, attr(notUtf8, "user.id"));
        assertTrue(attr(notUtf8, "ordertrace.problem").contains("UTF-8"), attr(notUtf8, "ordertrace.problem"));
    }

    @Test
    void platformThreadsHoldIdsInABufferAndVirtualThreadsTakeTheGeneralPath() throws Exception {
        assertFalse(IdBuffer.isVirtual(Thread.currentThread()));
        assertSame(IdBuffer.current(), IdBuffer.current(), "one buffer per thread");
        java.lang.reflect.Method startVirtual;
        try {
            startVirtual = Thread.class.getMethod("startVirtualThread", Runnable.class);
        } catch (NoSuchMethodException e) {
            return; // before Java 21: no virtual threads
        }
        AtomicReference<Object> buffer = new AtomicReference<>("not run");
        OrderTracer tracer = tracer();
        Thread v = (Thread) startVirtual.invoke(null, (Runnable) () -> {
            buffer.set(IdBuffer.current());
            tracer.stage(OrderEvent.ORDER_CONFIRMED, "ORD-V").userId(USER).start().close();
        });
        v.join();
        assertEquals(null, buffer.get());
        JsonNode span = one(spans(), "order_confirmed");
        assertEquals("ORD-V", attr(span, "order.id"));
        assertEquals(USER, attr(span, "user.id"));
    }

    @Test
    void aStageClosedWhileAnotherThreadCallsItIsEndedAndFreedOnce() throws Exception {
        // close() is not synchronized with the other calls: a call in flight keeps the native stage
        // until it is done. Every call either works or is CLOSED, never a crash, and each stage is
        // exported once.
        int stages = 200;
        int before = StageRelease.registered();
        AtomicInteger unexpected = new AtomicInteger();
        for (int i = 0; i < stages; i++) {
            StageSpan s = tracer().stage(OrderEvent.ORDER_CONFIRMED, "ORD-" + i).userId(USER).start();
            CountDownLatch started = new CountDownLatch(1);
            Thread caller = new Thread(() -> {
                started.countDown();
                for (int k = 0; k < 50; k++) {
                    try {
                        s.setAttribute("crm.k", k);
                        s.traceId();
                    } catch (OrderTraceException e) {
                        if (e.code() != OrderTraceException.CLOSED) {
                            unexpected.incrementAndGet();
                        }
                    }
                }
            });
            caller.start();
            started.await();
            if (i % 2 == 0) {
                s.close();
            } else {
                s.endWithError(new IllegalStateException("closed mid-call"));
            }
            caller.join();
        }
        assertEquals(0, unexpected.get());
        assertEquals(before, StageRelease.registered(), "every stage was released");
        assertEquals(stages, spans().size());
    }
}
