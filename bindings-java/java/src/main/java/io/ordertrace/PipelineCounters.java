package io.ordertrace;

/**
 * A snapshot of a tracer's pipeline counters (the core's {@code PipelineCounters}). Every span
 * ends up counted once as exported, dropped (with its reason) or failed; until then it is in
 * memory ({@code queueDepth}) or on disk ({@code spoolSpans}).
 *
 * @param spansStarted spans started (stages, start records, heartbeats)
 * @param spansExported spans the exporter accepted (including those replayed from the spool)
 * @param spansDropped spans dropped, all reasons: the sum of the {@code spansDropped*} fields
 * @param spansFailed spans lost in failed exports (only without a spool: with one they are spooled)
 * @param failedExports export calls that failed
 * @param queueDepth spans queued or being exported now
 * @param spansDroppedQueueFull dropped because the in-memory queue was full
 * @param spansDroppedShutdown dropped because they ended after the tracer was shut down
 * @param spansSpooled spans written to the spool
 * @param spansReplayed spans exported from the spool, of this process or one before it
 * @param spansDroppedSpoolFull dropped from the spool, oldest first, to stay within its byte bound
 * @param spansDroppedSpoolExpired dropped from the spool because they were older than its age bound
 * @param spansDroppedSpoolCorrupt dropped because their spool record was torn or failed its checksum
 * @param spansDroppedSpoolWriteFailed dropped because writing them to the spool failed
 * @param spoolCorruptRecords spool records (or torn tails) found corrupt and skipped
 * @param spoolWriteErrors spool writes that failed
 * @param spoolBytes bytes of spool segments on disk now
 * @param spoolSpans spans waiting in the spool now
 * @param spoolOldestAgeMs age of the oldest span waiting in the spool, ms (0 when it is empty)
 * @param spansDroppedRejected dropped because the collector rejected their batch as invalid
 *     (HTTP 400, gRPC InvalidArgument): sending it again cannot succeed
 * @param idsRejected order ids and user ids a stage start refused (by default the stage started
 *     without them, with {@code ordertrace.problem} on its span; with strict ids the start threw)
 */
public record PipelineCounters(long spansStarted, long spansExported, long spansDropped, long spansFailed,
        long failedExports, long queueDepth, long spansDroppedQueueFull, long spansDroppedShutdown,
        long spansSpooled, long spansReplayed, long spansDroppedSpoolFull, long spansDroppedSpoolExpired,
        long spansDroppedSpoolCorrupt, long spansDroppedSpoolWriteFailed, long spoolCorruptRecords,
        long spoolWriteErrors, long spoolBytes, long spoolSpans, long spoolOldestAgeMs,
        long spansDroppedRejected, long idsRejected) {}
