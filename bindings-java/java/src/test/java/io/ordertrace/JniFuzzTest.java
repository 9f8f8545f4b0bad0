package io.ordertrace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Fuzzes the JNI entry points (the native methods of {@link NativeBridge}) through the public API
 * and, for what the API never sends (null array elements, arrays of the wrong length, an odd
 * header array, zero handles), through the natives directly: nulls, 1 MiB+ strings, malformed
 * strings (NUL, lone surrogates, CR LF, bidi overrides, non-BMP), wrong array lengths, stages and
 * tracers used after close, in a random order from a seed. Every call must return or throw an
 * exception the API documents ({@link OrderTraceException} with a code of the status table, never
 * PANIC, with a bounded message; {@code IllegalArgumentException} nowhere); the JVM must carry on.
 * Beyond that, what the natives answer is checked: extraction forwards only our three headers and
 * re-extracts them unchanged, {@link Propagation#check} passes exactly when extraction reports no
 * malformed header, a normalised user id is a lowercase UUID.
 *
 * <p>Short by default (a few seconds, part of the java suite). The long run (figures in
 * BENCHMARKS.md): {@code -Dordertrace.jnifuzz.iterations=1000000 -Dordertrace.jnifuzz.seed=N}.
 * Freed handles are not passed: a freed pointer is undefined behaviour by the native contract,
 * and the public API never passes one (its handles are released once, then read as 0).
 */
class JniFuzzTest extends Fixture {
    static final int MAX_MESSAGE = 1024;
    static final Set<Integer> DOCUMENTED = Set.of(OrderTraceException.INVALID_INPUT, OrderTraceException.UNKNOWN_EVENT,
            OrderTraceException.MALFORMED_HEADER, OrderTraceException.INVALID_CONFIG, OrderTraceException.NULL_POINTER,
            OrderTraceException.INVALID_UTF8, OrderTraceException.CLOSED, OrderTraceException.SHUT_DOWN,
            OrderTraceException.TIMEOUT);

    static final String TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    static final String[] SEEDS = {
        TP, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "ff-" + TP.substring(3), "01-" + TP.substring(3) + "-x",
        "foo=1,bar=2", "t@v=1, k=  v ", "order.id=ORD-1,user.id=1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        "order.id=ORD-1%2B2;p=1", "k=%+A", "ORD-5678", "1B4E28BA-2FA1-11D2-883F-0016D3CCA427", "", " ", "traceparent",
        "tracestate", "baggage", "TraceParent", "BAGGAGE", "x-other", "EUR",
    };
    static final String[] SPICE = {
        "\u0000", "\r\n", "\uD800", "\uDC00", "\u202E", "\u2066", "\uFFFD", "\uD83D\uDE00", ",", ";", "=", "%", "-", " ", "\t",
        "\u00FC", "0", "f", "Z",
    };

    final Random random;
    final long seed;
    int calls;

    JniFuzzTest() {
        seed = Long.getLong("ordertrace.jnifuzz.seed", 1L);
        random = new Random(seed);
    }

    String text() {
        int pick = random.nextInt(1000);
        if (pick < 30) {
            return null;
        }
        if (pick < 34) {
            // 1 MiB and a little more, of one seed or spice.
            String unit = random.nextBoolean() ? SEEDS[random.nextInt(SEEDS.length)] : SPICE[random.nextInt(SPICE.length)];
            if (unit.isEmpty()) {
                unit = "x";
            }
            return unit.repeat((1 << 20) / unit.length() + 1 + random.nextInt(3));
        }
        StringBuilder s = new StringBuilder(SEEDS[random.nextInt(SEEDS.length)]);
        int mutations = random.nextInt(4);
        for (int i = 0; i < mutations; i++) {
            int at = s.length() == 0 ? 0 : random.nextInt(s.length() + 1);
            switch (random.nextInt(4)) {
                case 0 -> s.insert(at, SPICE[random.nextInt(SPICE.length)]);
                case 1 -> {
                    if (at < s.length()) {
                        s.deleteCharAt(at);
                    }
                }
                case 2 -> s.insert(at, (char) random.nextInt(0x10000));
                default -> s.insert(at, SEEDS[random.nextInt(SEEDS.length)]);
            }
        }
        return s.toString();
    }

    String name() {
        String[] names = {"traceparent", "tracestate", "baggage", "TRACEPARENT", "Baggage", "x-bin"};
        return random.nextInt(10) == 0 ? text() : names[random.nextInt(names.length)];
    }

    Object value() {
        String t = text();
        return switch (random.nextInt(6)) {
            case 0 -> t == null ? null : t.getBytes(StandardCharsets.UTF_8);
            case 1 -> {
                byte[] bytes = new byte[random.nextInt(8)];
                random.nextBytes(bytes);
                yield bytes;
            }
            case 2 -> {
                List<Object> lines = new ArrayList<>();
                for (int i = random.nextInt(4); i > 0; i--) {
                    lines.add(random.nextBoolean() ? text() : value());
                }
                yield lines;
            }
            case 3 -> new StringBuilder(t == null ? "" : t);
            default -> t;
        };
    }

    Map<String, Object> headers() {
        Map<String, Object> h = new LinkedHashMap<>();
        for (int i = random.nextInt(5); i > 0; i--) {
            h.put(name(), value());
        }
        return random.nextInt(30) == 0 ? null : h;
    }

    Map<String, String> stringHeaders() {
        Map<String, String> h = new LinkedHashMap<>();
        for (int i = random.nextInt(4); i > 0; i--) {
            h.put(name(), text());
        }
        return h;
    }

    /** Runs one call; a thrown OrderTraceException must be documented and its message bounded. */
    boolean call(String what, Runnable r) {
        calls++;
        try {
            r.run();
            return true;
        } catch (OrderTraceException e) {
            if (!DOCUMENTED.contains(e.code())) {
                fail(what + ": code " + e.code() + " (seed " + seed + ", call " + calls + "): " + e.getMessage());
            }
            String m = e.getMessage();
            if (m == null || m.isEmpty() || m.length() > MAX_MESSAGE) {
                fail(what + ": message of " + (m == null ? "null" : m.length() + " chars") + " (seed " + seed + "): "
                        + (m == null ? "" : m.substring(0, Math.min(200, m.length()))));
            }
            return false;
        }
    }

    void extractAndCheck() {
        Map<String, Object> h = headers();
        IncomingContext[] in = new IncomingContext[1];
        assertTrue(call("extract", () -> in[0] = Propagation.extract(h)), "extract never throws for header values");
        for (String name : in[0].headers().keySet()) {
            assertTrue(Set.of("traceparent", "tracestate", "baggage").contains(name), "forwarded " + name);
        }
        boolean malformed = in[0].problems().stream().anyMatch(p -> p.startsWith("malformed "));
        boolean passes = call("check", () -> Propagation.check(h));
        assertEquals(!malformed, passes, "check agrees with extract's problems " + in[0].problems());
        IncomingContext again = Propagation.extract(in[0].headers());
        assertEquals(in[0].headers(), again.headers(), "what is forwarded is read again unchanged");
        for (String p : in[0].problems()) {
            assertTrue(p.length() <= MAX_MESSAGE, "a problem line of " + p.length() + " chars");
        }
    }

    void ids() {
        String id = text();
        call("checkOrderId", () -> OrderIds.checkOrderId(id));
        call("normalizeUserId", () -> {
            String n = OrderIds.normalizeUserId(id);
            assertTrue(n.matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "normalised " + n);
        });
    }

    Object attributeValue() {
        return switch (random.nextInt(6)) {
            case 0 -> random.nextLong();
            case 1 -> random.nextBoolean() ? Double.NaN : random.nextDouble();
            case 2 -> random.nextBoolean();
            case 3 -> null;
            default -> text();
        };
    }

    void stage(OrderTracer tracer) {
        OrderEvent event = OrderEvent.values()[random.nextInt(OrderEvent.values().length)];
        String orderId = text();
        StageSpan[] s = new StageSpan[1];
        boolean started = call("start", () -> {
            StageBuilder b = tracer.stage(event, orderId);
            if (random.nextBoolean()) {
                b.userId(text());
            }
            for (int i = random.nextInt(3); i > 0; i--) {
                b.attribute(text(), attributeValue());
            }
            if (random.nextInt(4) == 0) {
                b.statusChange(text(), text());
            }
            if (random.nextBoolean()) {
                b.parent(stringHeaders());
            }
            s[0] = b.start();
        });
        if (!started) {
            return;
        }
        try (StageSpan stage = s[0]) {
            boolean ended = false;
            for (int i = random.nextInt(8); i > 0; i--) {
                boolean open = !ended;
                int op = random.nextInt(8);
                boolean ok = switch (op) {
                    case 0 -> call("setAttribute", () -> stage.setAttribute(text(), attributeValue()));
                    case 1 -> call("recordPrice", () -> stage.recordPrice(random.nextGaussian() * 1e6, text()));
                    case 2 -> call("recordError", () -> stage.recordError(new IllegalStateException(text())));
                    case 3 -> call("headers", () -> Propagation.extract(stage.headers()));
                    case 4 -> call("traceId", () -> assertEquals(32, stage.traceId().length()));
                    case 5 -> {
                        ended = true;
                        yield call("endWithError", () -> stage.endWithError(new RuntimeException(text())));
                    }
                    case 6 -> {
                        ended = true;
                        yield call("end", stage::end);
                    }
                    default -> {
                        ended = true;
                        stage.close();
                        stage.close();
                        yield true;
                    }
                };
                // close() is documented to do nothing when called again; every other call is CLOSED.
                if (!open && ok && op != 7) {
                    fail("a call on a closed stage succeeded (seed " + seed + ")");
                }
            }
        }
    }

    private final java.nio.ByteBuffer ids = java.nio.ByteBuffer.allocateDirect(2 * IdBuffer.MAX);
    private final long idsAddress = NativeBridge.bufferAddress(ids);

    /** What the public API never sends: wrong array lengths, null elements, odd header arrays, zero handles. */
    void natives(OrderTracer tracer) {
        int n = 1 + random.nextInt(3);
        String[] keys = new String[n];
        for (int i = 0; i < n; i++) {
            keys[i] = random.nextInt(5) == 0 ? null : "k" + i;
        }
        int[] kinds = new int[random.nextInt(n + 1)];
        for (int i = 0; i < kinds.length; i++) {
            kinds[i] = random.nextInt(6) - 1;
        }
        String[] strings = new String[random.nextInt(n + 1)];
        long[] longs = random.nextBoolean() ? null : new long[random.nextInt(n + 1)];
        double[] doubles = new double[random.nextInt(n + 1)];
        String[] parent = new String[random.nextInt(5)];
        for (int i = 0; i < parent.length; i++) {
            parent[i] = random.nextInt(6) == 0 ? null : (i % 2 == 0 ? name() : text());
        }
        int event = random.nextInt(12) - 2;
        int kind = random.nextInt(8) - 2;
        // Ids of every shape, with their own length() as StageBuilder passes it: short ASCII ones
        // take the native fast path when there are no attributes and headers, the rest the general one.
        String order = random.nextBoolean() ? "ORD-N" : text();
        String user = random.nextBoolean() ? null : text();
        int orderLength = order == null ? 0 : order.length();
        int userLength = user == null ? 0 : user.length();
        call("stageStart", () -> tracer.withHandle(t -> {
            long stage = NativeBridge.stageStart(t, event, order, orderLength, user, userLength, kind, null, null, keys,
                    kinds, strings, longs, doubles, parent);
            NativeBridge.stageFree(stage);
            return null;
        }));
        // The common start reads its ids from a thread's id buffer by address: any lengths and
        // any bytes there (the address itself is the package's own, never the caller's).
        for (int i = 0; i < ids.capacity(); i++) {
            ids.put(i, random.nextInt(4) == 0 ? (byte) random.nextInt(256) : (byte) ('0' + random.nextInt(75)));
        }
        int asciiOrder = random.nextInt(IdBuffer.MAX + 8) - 4;
        int asciiUser = random.nextInt(IdBuffer.MAX + 8) - 4;
        call("stageStartAscii", () -> tracer.withHandle(t -> {
            NativeBridge.stageFree(NativeBridge.stageStartAscii(t, event, kind, idsAddress, asciiOrder, asciiUser));
            return null;
        }));
        call("headersCheck", () -> NativeBridge.headersCheck(parent));
        call("headersExtract", () -> IncomingContext.fromNative(NativeBridge.headersExtract(parent)));
        for (Runnable zero : List.<Runnable>of(
                () -> NativeBridge.stageSetAttribute(0, "k", 0, "v", 0, 0),
                () -> NativeBridge.stageRecordPrice(0, 1, "EUR"),
                () -> NativeBridge.stageEnd(0),
                () -> NativeBridge.stageStartAscii(0, 0, 0, idsAddress, 1, 0),
                () -> NativeBridge.stageInject(0),
                () -> NativeBridge.stageIds(0),
                () -> NativeBridge.tracerCounters(0),
                () -> NativeBridge.tracerFlush(0, 0))) {
            boolean ok = call("zero handle", zero);
            assertTrue(!ok, "a call with handle 0 succeeded");
        }
        NativeBridge.stageFree(0);
        NativeBridge.tracerFree(0);
    }

    void closedTracer() {
        OrderTracer closed = options().file("/dev/null").build();
        closed.close();
        closed.close();
        boolean ok = call("stage on a closed tracer", () -> closed.stage(OrderEvent.ORDER_SHIPPED, "ORD-1").start());
        assertTrue(!ok, "a stage started on a closed tracer");
        assertTrue(!call("counters of a closed tracer", closed::counters), "counters of a closed tracer");
    }

    @Test
    void nativeMethodsTakeHostileInputWithDocumentedExceptionsOnly() throws Exception {
        int iterations = Integer.getInteger("ordertrace.jnifuzz.iterations", 2000);
        long rssBefore = Rss.kib();
        long started = System.nanoTime();
        // Spans of the fuzzing (some with 1 MiB attributes) go to /dev/null; the fixture's tracer
        // checks at the end that the library still works.
        OrderTracer tracer = options().file("/dev/null").build();
        for (int i = 0; i < iterations; i++) {
            switch (random.nextInt(10)) {
                case 0, 1, 2 -> extractAndCheck();
                case 3, 4 -> ids();
                case 5, 6, 7 -> stage(tracer);
                case 8 -> natives(tracer);
                default -> {
                    if (random.nextInt(50) == 0) {
                        closedTracer();
                    } else {
                        extractAndCheck();
                    }
                }
            }
            if (iterations >= 10_000 && i > 0 && i % (iterations / 10) == 0) {
                tracer.flush(java.time.Duration.ofSeconds(30));
                System.out.printf("[jni-fuzz] %d iterations, %d calls, %.0f s, RSS %d KiB%n", i, calls,
                        (System.nanoTime() - started) / 1e9, Rss.kib());
            }
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        tracer.shutdown(java.time.Duration.ofSeconds(30));
        tracer.close();
        // The JVM is alive and the library still works after everything above.
        tracer().stage(OrderEvent.ORDER_SHIPPED, "ORD-AFTER").start().close();
        List<JsonNode> spans = spans();
        assertTrue(spans.stream().anyMatch(s -> "ORD-AFTER".equals(attr(s, "order.id"))), "the tracer carried on");
        System.out.printf("[jni-fuzz] seed %d: %d iterations, %d calls, 0 undocumented exceptions, %.1f s, "
                + "RSS %d KiB -> %d KiB%n", seed, iterations, calls, seconds, rssBefore, Rss.kib());
    }
}
