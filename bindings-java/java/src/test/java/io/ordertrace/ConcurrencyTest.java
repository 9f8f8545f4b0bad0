package io.ordertrace;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A smoke version of the stress run (bindings-java/stress/run): many stages from 8 threads. */
class ConcurrencyTest extends Fixture {
    static long[] run(OrderTracer tracer, int spans, int threads) throws InterruptedException {
        long[] rss = new long[11];
        rss[0] = Rss.kib();
        int perThread = spans / threads;
        java.util.concurrent.atomic.AtomicInteger done = new java.util.concurrent.atomic.AtomicInteger();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            final int thread = t;
            workers.add(new Thread(() -> {
                for (int i = 0; i < perThread; i++) {
                    try (StageSpan s = tracer.stage(OrderEvent.ORDER_CONFIRMED, "ORD-" + thread + "-" + (i / 8)).userId(USER)
                            .attribute("stress.seq", i).start()) {
                        // the stage's work
                    }
                    int n = done.incrementAndGet();
                    if (n % (spans / 10) == 0) {
                        rss[n / (spans / 10)] = Rss.kib();
                    }
                }
            }));
        }
        workers.forEach(Thread::start);
        for (Thread w : workers) {
            w.join();
        }
        return rss;
    }

    @Test
    void manyStagesFromEightThreadsAreAllAccountedFor() throws Exception {
        run(tracer(), 20_000, 8);
        tracer().flush(Duration.ofSeconds(30));
        PipelineCounters c = tracer().counters();
        assertEquals(20_000, c.spansStarted());
        assertEquals(20_000, c.spansExported() + c.spansDropped(), "every span exported or counted as dropped");
    }
}
