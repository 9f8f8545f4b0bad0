package io.ordertrace.jmh;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.ordertrace.OrderEvent;
import io.ordertrace.OrderTracer;
import io.ordertrace.PipelineCounters;
import io.ordertrace.StageSpan;
import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One stage (start + end, 4 attributes: order.id, user.id, order.event, order.stage) through the
 * JNI bridge, and the same span through the OpenTelemetry Java SDK, in the same JVM. Both export
 * nowhere: ordertrace with OTEL_TRACES_EXPORTER=none (set by benches/run-jmh), the SDK with a
 * batch processor and an exporter that does nothing. Both queues hold {@link #QUEUE} spans
 * (ordertrace's through OTEL_BSP_MAX_QUEUE_SIZE, also set by benches/run-jmh): a side that
 * drops spans when its worker falls behind would look cheaper than it is, so the teardown
 * prints what each side dropped.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class StageBenchmark {
    static final String USER = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";
    static final AttributeKey<String> ORDER_ID = AttributeKey.stringKey("order.id");
    static final AttributeKey<String> USER_ID = AttributeKey.stringKey("user.id");
    static final AttributeKey<String> EVENT = AttributeKey.stringKey("order.event");
    static final AttributeKey<Long> STAGE = AttributeKey.longKey("order.stage");
    /** Queue size of both sides. */
    static final int QUEUE = 1 << 20;

    OrderTracer ordertrace;
    SdkTracerProvider provider;
    NoopExporter exporter;
    long otelStarted;
    Tracer otel;
    String orderId = "ORD-12345";

    /** An exporter that accepts everything, counts it and does nothing else. */
    static final class NoopExporter implements SpanExporter {
        final java.util.concurrent.atomic.AtomicLong exported = new java.util.concurrent.atomic.AtomicLong();

        @Override
        public CompletableResultCode export(Collection<SpanData> spans) {
            exported.addAndGet(spans.size());
            return CompletableResultCode.ofSuccess();
        }

        @Override
        public CompletableResultCode flush() {
            return CompletableResultCode.ofSuccess();
        }

        @Override
        public CompletableResultCode shutdown() {
            return CompletableResultCode.ofSuccess();
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        if (!"none".equals(System.getenv("OTEL_TRACES_EXPORTER"))
                || !String.valueOf(QUEUE).equals(System.getenv("OTEL_BSP_MAX_QUEUE_SIZE"))) {
            throw new IllegalStateException("run with OTEL_TRACES_EXPORTER=none OTEL_BSP_MAX_QUEUE_SIZE=" + QUEUE
                    + " (benches/run-jmh) so ordertrace exports nowhere and queues as much as the SDK");
        }
        ordertrace = OrderTracer.builder().serviceName("bench").startRecords(false).heartbeat(Duration.ZERO).build();
        exporter = new NoopExporter();
        provider = SdkTracerProvider.builder()
                .addSpanProcessor(BatchSpanProcessor.builder(exporter).setMaxQueueSize(QUEUE).build()).build();
        otel = provider.get("bench");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        ordertrace.flush(Duration.ofSeconds(60));
        PipelineCounters c = ordertrace.counters();
        if (c.spansStarted() > 0) {
            System.out.println("ordertrace: " + c.spansStarted() + " stages, " + c.spansDropped() + " dropped (" + c + ")");
        }
        provider.forceFlush().join(60, TimeUnit.SECONDS);
        if (otelStarted > 0) {
            // The SDK does not count its drops; what it started and did not export was dropped.
            System.out.println("OpenTelemetry SDK: " + otelStarted + " spans, " + (otelStarted - exporter.exported.get()) + " dropped");
        }
        ordertrace.close();
        provider.close();
    }

    @Benchmark
    public void ordertraceStageThroughJni() {
        try (StageSpan s = ordertrace.stage(OrderEvent.ORDER_CONFIRMED, orderId).userId(USER).start()) {
            // the stage's work
        }
    }

    @Benchmark
    public void openTelemetrySdkSpan() {
        otelStarted++;
        Span span = otel.spanBuilder("order_confirmed").setAttribute(ORDER_ID, orderId).setAttribute(USER_ID, USER)
                .setAttribute(EVENT, "order_confirmed").setAttribute(STAGE, 3L).startSpan();
        span.end();
    }
}
