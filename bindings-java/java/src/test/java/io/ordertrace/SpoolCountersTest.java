package io.ordertrace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The spool counters of the core, read through JNI, with an OTLP endpoint that refuses. */
class SpoolCountersTest {
    /** A port of the counters helper's range (28000-28099) on which nothing listens. */
    static final String REFUSED = "http://127.0.0.1:28002/v1/traces";

    @TempDir
    Path dir;

    static OrderTracer.Builder refused() {
        return OrderTracer.builder().readEnvironment(false).serviceName("crm-api").otlpHttp(REFUSED)
                .startRecords(false).heartbeat(Duration.ZERO);
    }

    static PipelineCounters countersAfterEnding(OrderTracer tracer, int n) {
        for (int i = 0; i < n; i++) {
            tracer.stage(OrderEvent.ORDER_CONFIRMED, "ORD-" + i).start().close();
        }
        // With a spool, what the endpoint refused waits on disk (a flush would wait for the endpoint).
        tracer.shutdown(Duration.ofSeconds(5));
        return tracer.counters();
    }

    @Test
    void aTracerWithASpoolFolderReportsTheSpansItSpooled() {
        try (OrderTracer tracer = refused().spoolDir(dir.toString()).build()) {
            PipelineCounters c = countersAfterEnding(tracer, 5);
            assertEquals(5, c.spansSpooled(), c.toString());
            assertEquals(5, c.spoolSpans(), c.toString());
            assertTrue(c.spoolBytes() > 0, c.toString());
            assertTrue(c.failedExports() > 0, c.toString());
            assertEquals(0, c.spansExported());
            assertEquals(0, c.spansDropped());
            assertEquals(0, c.spansReplayed());
            assertTrue(Files.isDirectory(dir.resolve("crm-api")));
        }
    }

    @Test
    void withoutASpoolFolderTheSpoolCountersStayZero() {
        try (OrderTracer tracer = refused().build()) {
            PipelineCounters c = countersAfterEnding(tracer, 5);
            assertEquals(5, c.spansFailed(), c.toString());
            assertEquals(0, c.spansSpooled());
            assertEquals(0, c.spoolSpans());
            assertEquals(0, c.spoolBytes());
            assertEquals(0, c.spoolOldestAgeMs());
        }
    }
}
