package io.ordertrace;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/** A tracer writing to its own temporary file, and the spans read back from it. */
abstract class Fixture {
    static final String USER = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";

    @TempDir
    Path dir;

    private OrderTracer tracer;

    String file() {
        return dir.resolve("spans.jsonl").toString();
    }

    OrderTracer.Builder options() {
        return OrderTracer.builder().readEnvironment(false).serviceName("crm-api").file(file()).startRecords(false)
                .heartbeat(Duration.ZERO);
    }

    OrderTracer tracer() {
        if (tracer == null) {
            tracer = options().build();
        }
        return tracer;
    }

    /** Shuts the tracer down and reads back what it exported. */
    List<JsonNode> spans() throws Exception {
        tracer().shutdown(Duration.ofSeconds(5));
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

    static JsonNode exception(JsonNode span) {
        for (JsonNode e : span.get("events")) {
            if (e.get("name").asText().equals("exception")) {
                return e.get("attributes");
            }
        }
        throw new AssertionError("no exception event on " + span);
    }

    @AfterEach
    void closeTracer() {
        if (tracer != null) {
            tracer.close();
        }
    }
}
