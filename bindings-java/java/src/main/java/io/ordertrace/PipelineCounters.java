package io.ordertrace;

/**
 * A snapshot of a tracer's pipeline counters.
 *
 * @param spansStarted spans started (stages, start records, heartbeats)
 * @param spansExported spans the exporter accepted
 * @param spansDropped spans dropped because the queue was full or the tracer shut down
 * @param spansFailed spans lost in failed exports
 * @param failedExports export calls that failed
 * @param queueDepth spans queued or being exported now
 */
public record PipelineCounters(long spansStarted, long spansExported, long spansDropped, long spansFailed,
        long failedExports, long queueDepth) {}
