package io.ordertrace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The shared conformance table, {@code conformance/cases.json} (W3C Trace Context Level 2, W3C
 * Baggage, ordertrace's id rules), run through the Java API and JNI: one container per
 * specification statement, named after it with its level and section, and one dynamic test per
 * case. The Rust runner ({@code core/tests/conformance.rs}) and the C# runner read the same table
 * and check the same expectations, so the three bindings behave alike.
 *
 * <p>Kind {@code extract}: {@link Propagation#extract} for what was read and the headers sent on,
 * {@link Propagation#check} for the strict error. Kinds {@code order_id} / {@code user_id}:
 * {@link OrderIds}, and the outgoing baggage of a stage started with the order id. Kind
 * {@code stage_start}: a stage started on a lenient tracer (the span's attributes, the
 * {@code idsRejected} counter) and on one with {@code strictIds(true)} (its error).
 *
 * <p>Java header names are strings: a case's {@code name_hex} is decoded as UTF-8 (invalid bytes
 * become U+FFFD), as any Java carrier would; {@code value_hex} values go in as {@code byte[]}, the
 * way RabbitMQ delivers them.
 */
class ConformanceTest extends Fixture {
    static final Path TABLE = Path.of("..", "..", "conformance", "cases.json");

    static JsonNode table() throws Exception {
        return new ObjectMapper().readTree(Files.readString(TABLE, StandardCharsets.UTF_8));
    }

    @TestFactory
    Stream<DynamicNode> conformance() throws Exception {
        JsonNode table = table();
        List<DynamicNode> statements = new ArrayList<>();
        for (JsonNode st : table.get("statements")) {
            String id = st.get("id").asText();
            List<DynamicNode> cases = new ArrayList<>();
            for (JsonNode c : table.get("cases")) {
                if (c.get("statement").asText().equals(id)) {
                    cases.add(DynamicTest.dynamicTest(c.get("name").asText(), () -> run(c)));
                }
            }
            String name = st.get("level").asText() + " " + id + " (" + st.get("section").asText() + ")";
            statements.add(DynamicContainer.dynamicContainer(name, cases.stream()));
        }
        return statements.stream();
    }

    @Test
    void everyStatementHasCasesAndEveryCaseNamesAStatement() throws Exception {
        JsonNode table = table();
        Set<String> statements = new TreeSet<>();
        table.get("statements").forEach(s -> statements.add(s.get("id").asText()));
        Set<String> withCases = new TreeSet<>();
        table.get("cases").forEach(c -> withCases.add(c.get("statement").asText()));
        assertEquals(statements, withCases);
        assertTrue(statements.size() >= 55, "statements: " + statements.size());
    }

    void run(JsonNode c) throws Exception {
        switch (c.get("kind").asText()) {
            case "extract" -> runExtract(c);
            case "order_id", "user_id" -> runId(c);
            case "stage_start" -> runStageStart(c);
            default -> fail("unknown kind " + c.get("kind") + " in case " + c.get("name"));
        }
    }

    /** A tracer writing to its own file in the test's directory, with lenient or strict ids. */
    OrderTracer stageTracer(String file, boolean strict) {
        return options().file(dir.resolve(file).toString()).strictIds(strict).build();
    }

    static int stageCases;

    void runStageStart(JsonNode c) throws Exception {
        JsonNode input = c.get("input");
        String orderId = text(input.get("order_id"));
        String userId = expected(input.get("user_id"));
        String file = "lenient-" + (++stageCases) + ".jsonl";
        List<String> failures = new ArrayList<>();
        JsonNode span = null;
        long idsRejected;
        try (OrderTracer lenient = stageTracer(file, false)) {
            try {
                lenient.stage(OrderEvent.ORDER_CONFIRMED, orderId).userId(userId).start().close();
            } catch (OrderTraceException e) {
                failures.add("the lenient start failed: " + e.getMessage());
            }
            lenient.flush(java.time.Duration.ofSeconds(5));
            idsRejected = lenient.counters().idsRejected();
            JsonNode spans = new ObjectMapper().readTree(OrderTracer.readSpansJson(dir.resolve(file).toString()));
            if (spans.size() > 0) {
                span = spans.get(spans.size() - 1);
            }
        }
        String strictError = null;
        try (OrderTracer strict = stageTracer("strict-" + stageCases + ".jsonl", true)) {
            strict.stage(OrderEvent.ORDER_CONFIRMED, orderId).userId(userId).start().close();
        } catch (OrderTraceException e) {
            strictError = e.getMessage();
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = c.get("expect").fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode want = e.getValue();
            String key = e.getKey();
            switch (key) {
                case "id_rejected", "order_id", "user_id" -> {
                    String attribute = switch (key) {
                        case "id_rejected" -> "ordertrace.id_rejected";
                        case "order_id" -> "order.id";
                        default -> "user.id";
                    };
                    String got = span == null ? null : attr(span, attribute);
                    if (!Objects.equals(got, expected(want))) {
                        failures.add(key + ": got " + got + ", expected " + expected(want));
                    }
                }
                case "problem_contains" -> {
                    String problem = span == null ? null : attr(span, "ordertrace.problem");
                    if (problem == null || !problem.contains(text(want))) {
                        failures.add("problem " + problem + " does not contain " + text(want));
                    }
                }
                case "ids_rejected" -> {
                    if (idsRejected != want.asLong()) {
                        failures.add("ids_rejected " + idsRejected + ", expected " + want.asLong());
                    }
                }
                case "strict_error_contains" -> {
                    String w = expected(want);
                    boolean ok = w == null ? strictError == null : strictError != null && strictError.contains(w);
                    if (!ok) {
                        failures.add("strict start: got " + strictError + ", expected an error containing " + w);
                    }
                }
                default -> fail("unknown expectation " + key + " in case " + c.get("name"));
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    /** A value of the table: a string, or parts that are strings or [string, times]. */
    static String text(JsonNode v) {
        if (v.isTextual()) {
            return v.asText();
        }
        if (v.isObject()) {
            return text(v.get("value"));
        }
        if (v.isArray()) {
            StringBuilder out = new StringBuilder();
            for (JsonNode part : v) {
                if (part.isArray()) {
                    out.append(text(part.get(0)).repeat(part.get(1).asInt()));
                } else {
                    out.append(text(part));
                }
            }
            return out.toString();
        }
        throw new IllegalArgumentException("bad value " + v);
    }

    static String expected(JsonNode v) {
        return v.isNull() ? null : text(v);
    }

    static byte[] hex(String s) {
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }

    /** The case's headers: one list of lines per name as written (lines keep their order). */
    static Map<String, List<Object>> headers(JsonNode c) {
        Map<String, List<Object>> headers = new LinkedHashMap<>();
        for (JsonNode h : c.get("headers")) {
            String name = h.has("name") ? text(h.get("name"))
                    : new String(hex(h.get("name_hex").asText()), StandardCharsets.UTF_8);
            Object value = h.has("value") ? text(h.get("value")) : hex(h.get("value_hex").asText());
            headers.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
        }
        return headers;
    }

    /** The header a problem line is about: "malformed <header> header: ..." or "<header>: ...". */
    static String problemHeader(String problem) {
        if (problem.startsWith("malformed ")) {
            return problem.substring("malformed ".length()).split(" ", 2)[0];
        }
        return problem.split(":", 2)[0];
    }

    static String strictError(Map<String, List<Object>> headers) {
        try {
            Propagation.check(headers);
            return null;
        } catch (OrderTraceException e) {
            if (e.code() != OrderTraceException.MALFORMED_HEADER || !e.getMessage().startsWith("malformed ")) {
                return "not a header error: " + e.getMessage();
            }
            return problemHeader(e.getMessage());
        }
    }

    static String show(String s) {
        return s != null && s.length() > 120 ? s.substring(0, 120) + "... (" + s.length() + " chars)" : s;
    }

    void runExtract(JsonNode c) {
        Map<String, List<Object>> headers = headers(c);
        IncomingContext in = Propagation.extract(headers);
        Map<String, String> out = in.headers();
        List<String> failures = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = c.get("expect").fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = e.getKey();
            JsonNode want = e.getValue();
            String got;
            switch (key) {
                case "trace_id" -> got = in.traceId();
                case "parent_id" -> got = in.parentId();
                case "flags" -> got = out.containsKey("traceparent") ? out.get("traceparent").substring(53) : null;
                case "traceparent_version" -> got = out.containsKey("traceparent")
                        ? out.get("traceparent").substring(0, 2) : null;
                case "traceparent", "tracestate", "baggage" -> got = out.get(key);
                case "order_id" -> got = in.orderId();
                case "user_id" -> got = in.userId();
                case "strict_error" -> got = strictError(headers);
                case "dropped", "problem_headers", "outgoing_names" -> {
                    Set<String> names = new TreeSet<>();
                    switch (key) {
                        case "dropped" -> in.problems().stream().filter(p -> !p.startsWith("malformed "))
                                .forEach(p -> names.add(problemHeader(p)));
                        case "problem_headers" -> in.problems().forEach(p -> names.add(problemHeader(p)));
                        default -> names.addAll(out.keySet());
                    }
                    Set<String> wanted = new TreeSet<>();
                    want.forEach(w -> wanted.add(text(w)));
                    if (!names.equals(wanted)) {
                        failures.add(key + ": got " + names + ", expected " + wanted + " (problems " + in.problems() + ")");
                    }
                    continue;
                }
                default -> {
                    fail("unknown expectation " + key + " in case " + c.get("name"));
                    return;
                }
            }
            String wanted = expected(want);
            if (!Objects.equals(got, wanted)) {
                failures.add(key + ": got " + show(got) + ", expected " + show(wanted));
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    void runId(JsonNode c) {
        String input = text(c.get("input"));
        boolean order = c.get("kind").asText().equals("order_id");
        String normalized = null;
        OrderTraceException error = null;
        try {
            if (order) {
                OrderIds.checkOrderId(input);
            } else {
                normalized = OrderIds.normalizeUserId(input);
            }
        } catch (OrderTraceException e) {
            error = e;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = c.get("expect").fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode want = e.getValue();
            switch (e.getKey()) {
                case "valid" -> assertEquals(want.asBoolean(), error == null,
                        "valid; error: " + (error == null ? "none" : error.getMessage()));
                case "error_contains" -> {
                    assertFalse(error == null, "expected an error containing " + text(want));
                    assertEquals(OrderTraceException.INVALID_INPUT, error.code(), error.getMessage());
                    assertTrue(error.getMessage().contains(text(want)),
                            "error " + error.getMessage() + " does not contain " + text(want));
                }
                case "normalized" -> assertEquals(expected(want), normalized);
                case "baggage" -> {
                    try (StageSpan s = tracer().stage(OrderEvent.ORDER_SUBMITTED, input).start()) {
                        assertEquals(expected(want), s.headers().get("baggage"));
                    }
                }
                default -> fail("unknown expectation " + e.getKey() + " in case " + c.get("name"));
            }
        }
    }
}
