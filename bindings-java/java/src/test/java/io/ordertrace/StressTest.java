package io.ordertrace;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** 1,000,000 stage spans from 8 threads; RSS at each tenth. Run by bindings-java/stress/run, not by the default build. */
@Tag("stress")
class StressTest extends Fixture {
    @Test
    void aMillionStagesFromEightThreads() throws Exception {
        int spans = Integer.getInteger("stress.spans", 1_000_000);
        long start = System.nanoTime();
        long[] rss = ConcurrencyTest.run(tracer(), spans, 8);
        double seconds = (System.nanoTime() - start) / 1e9;
        tracer().flush(Duration.ofSeconds(60));
        PipelineCounters c = tracer().counters();
        System.out.printf("stress: %d stages on 8 threads in %.1f s (%.0f stages/s, %.0f ns each)%n", spans, seconds,
                spans / seconds, seconds * 1e9 / spans);
        System.out.println("stress: RSS KiB at each tenth: " + Arrays.toString(rss));
        System.out.println("stress: " + c);
        assertEquals(spans, c.spansStarted());
    }
}
