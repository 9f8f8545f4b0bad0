using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace OrderTrace
{
    /// <summary>OTLP wire protocol.</summary>
    public enum OtlpProtocol
    {
        /// <summary>HTTP with protobuf bodies (port 4318, URL ending in /v1/traces).</summary>
        HttpProtobuf = 0,
        /// <summary>gRPC (port 4317).</summary>
        Grpc = 1,
    }

    /// <summary>Which trace a stage joins when an incoming context belongs to another trace.</summary>
    public enum TraceIdentity
    {
        /// <summary>The trace derived from the order id wins; a foreign context becomes a link (default).</summary>
        OrderDerived = 0,
        /// <summary>An incoming context is the parent, as in plain OpenTelemetry.</summary>
        Propagated = 1,
    }

    /// <summary>Settings of a tracer. Unset values come from the environment (OTEL_*, ORDERTRACE_*) or the defaults.</summary>
    public sealed class OrderTracerOptions
    {
        /// <summary>service.name, e.g. <c>mes-api</c>.</summary>
        public string ServiceName { get; set; }
        /// <summary>The embedded exporter's OTLP/JSON-lines file (used when no OTLP endpoint is set).</summary>
        public string File { get; set; }
        /// <summary>OTLP endpoint; setting it selects OTLP export.</summary>
        public string OtlpEndpoint { get; set; }
        /// <summary>OTLP protocol.</summary>
        public OtlpProtocol OtlpProtocol { get; set; }
        /// <summary>Export a start record for a stage still open after the threshold
        /// (ORDERTRACE_START_RECORD_AFTER_MS, default the heartbeat interval) (null: default, on).</summary>
        public bool? StartRecords { get; set; }
        /// <summary>
        /// How long a stage stays open before its start record is exported: a stage that ends
        /// sooner costs one span, a hung one still shows (zero: at once; null: ORDERTRACE_START_RECORD_AFTER_MS
        /// when the environment is read, else the heartbeat interval).
        /// </summary>
        public TimeSpan? StartRecordAfter { get; set; }
        /// <summary>Heartbeats of open stages (null: default 30 s; zero: off).</summary>
        public TimeSpan? HeartbeatInterval { get; set; }
        /// <summary>Trace identity (null: default, order-derived).</summary>
        public TraceIdentity? Identity { get; set; }
        /// <summary>Read the OTEL_* / ORDERTRACE_* environment first (default true).</summary>
        public bool ReadEnvironment { get; set; } = true;
        /// <summary>
        /// Root folder of the disk spool, where batches wait while the endpoint is down (the tracer
        /// spools in <c>&lt;dir&gt;/&lt;service.name&gt;</c>); null or empty: ORDERTRACE_SPOOL_DIR when the
        /// environment is read, else no spool.
        /// </summary>
        public string SpoolDir { get; set; }
        /// <summary>
        /// Strict ids: a stage whose order id or user id breaks a rule throws
        /// <see cref="OrderTraceException"/> (InvalidInput) instead of starting. Null (default):
        /// ORDERTRACE_STRICT_IDS when the environment is read, else false: the stage starts, the
        /// problem is on its span (<c>ordertrace.problem</c>) and counted
        /// (<see cref="PipelineCounters.IdsRejected"/>).
        /// </summary>
        public bool? StrictIds { get; set; }
    }

    /// <summary>
    /// Pipeline counters of a tracer. The layout is the C ABI's <c>OtCounters</c> (the core's
    /// <c>PipelineCounters</c>): the native side fills this struct directly, so a field is added
    /// here in the same place as in the core.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PipelineCounters
    {
        /// <summary>Spans started (stages, start records, heartbeats).</summary>
        public ulong SpansStarted;
        /// <summary>Spans the exporter accepted.</summary>
        public ulong SpansExported;
        /// <summary>Spans dropped, all reasons: the sum of the <c>SpansDropped*</c> fields.</summary>
        public ulong SpansDropped;
        /// <summary>Spans lost in failed exports.</summary>
        public ulong SpansFailed;
        /// <summary>Export calls that failed.</summary>
        public ulong FailedExports;
        /// <summary>Spans queued or being exported now.</summary>
        public ulong QueueDepth;
        /// <summary>Dropped because the in-memory queue was full.</summary>
        public ulong SpansDroppedQueueFull;
        /// <summary>Dropped because they ended after the tracer was shut down.</summary>
        public ulong SpansDroppedShutdown;
        /// <summary>Spans written to the spool (each batch once, when it is written).</summary>
        public ulong SpansSpooled;
        /// <summary>Spans exported from the spool, of this process or one before it.</summary>
        public ulong SpansReplayed;
        /// <summary>Dropped from the spool, oldest first, to stay within its byte bound.</summary>
        public ulong SpansDroppedSpoolFull;
        /// <summary>Dropped from the spool because they were older than its age bound.</summary>
        public ulong SpansDroppedSpoolExpired;
        /// <summary>Dropped because their spool record was torn or failed its checksum.</summary>
        public ulong SpansDroppedSpoolCorrupt;
        /// <summary>Dropped because writing them to the spool failed (disk full, I/O error).</summary>
        public ulong SpansDroppedSpoolWriteFailed;
        /// <summary>Spool records (or torn tails) found corrupt and skipped.</summary>
        public ulong SpoolCorruptRecords;
        /// <summary>Spool writes that failed.</summary>
        public ulong SpoolWriteErrors;
        /// <summary>Bytes of spool segments on disk now.</summary>
        public ulong SpoolBytes;
        /// <summary>Spans waiting in the spool now.</summary>
        public ulong SpoolSpans;
        /// <summary>Age of the oldest span waiting in the spool, ms (0 when it is empty).</summary>
        public ulong SpoolOldestAgeMs;
        /// <summary>Dropped because the collector rejected their batch as invalid (HTTP 400, gRPC InvalidArgument): sending it again cannot succeed.</summary>
        public ulong SpansDroppedRejected;
        /// <summary>
        /// Order ids and user ids a stage start refused: by default the stage started without them
        /// and with <c>ordertrace.problem</c> on its span; with strict ids the start threw.
        /// </summary>
        public ulong IdsRejected;
    }

    /// <summary>
    /// Records order stages and exports them. One per process, shared by all threads; dispose it
    /// at exit (it shuts the pipeline down, bounded in time).
    /// </summary>
    /// <example><code>
    /// using (var tracer = new OrderTracer(new OrderTracerOptions { ServiceName = "mes-api" }))
    /// using (var stage = tracer.StartStage(OrderEvent.PriceCalculated, "ORD-1", userId))
    /// {
    ///     stage.RecordPrice(249.90m, "EUR");
    /// }
    /// </code></example>
    public sealed class OrderTracer : IDisposable
    {
        private readonly TracerHandle handle;

        /// <summary>A tracer with these options.</summary>
        public OrderTracer(OrderTracerOptions options)
        {
            if (options == null) throw new ArgumentNullException("options");
            if (options.StartRecordAfter.HasValue && options.StartRecordAfter.Value < TimeSpan.Zero)
                throw new ArgumentOutOfRangeException("options", "StartRecordAfter must be zero or positive");
            using (var s = NativeStrings.Rent())
            {
                var config = new Native.OtTracerConfig
                {
                    ServiceName = s.Str(options.ServiceName),
                    File = s.Str(options.File),
                    OtlpEndpoint = s.Str(options.OtlpEndpoint),
                    OtlpProtocol = (int)options.OtlpProtocol,
                    StartRecords = options.StartRecords.HasValue ? (options.StartRecords.Value ? 1 : 0) : Native.Default,
                    HeartbeatMs = options.HeartbeatInterval.HasValue ? (long)options.HeartbeatInterval.Value.TotalMilliseconds : -1,
                    Identity = options.Identity.HasValue ? (int)options.Identity.Value : Native.Default,
                    ReadEnv = options.ReadEnvironment ? 1 : 0,
                    SpoolDir = s.Str(options.SpoolDir),
                    StrictIds = options.StrictIds.HasValue ? (options.StrictIds.Value ? 1 : 0) : Native.Default,
                    StartRecordAfterMs = options.StartRecordAfter.HasValue ? (long)options.StartRecordAfter.Value.TotalMilliseconds : -1,
                };
                TracerHandle h;
                IntPtr error;
                var status = Native.ot_tracer_new(ref config, out h, out error);
                Native.Check(status, error);
                handle = h;
            }
        }

        private OrderTracer(TracerHandle handle)
        {
            this.handle = handle;
        }

        /// <summary>A tracer configured entirely by the environment (OTEL_*, ORDERTRACE_*).</summary>
        public static OrderTracer FromEnvironment()
        {
            TracerHandle h;
            IntPtr error;
            Native.Check(Native.ot_tracer_from_env(out h, out error), error);
            return new OrderTracer(h);
        }

        internal TracerHandle Handle
        {
            get
            {
                if (handle.IsClosed) throw new ObjectDisposedException("OrderTracer");
                return handle;
            }
        }

        /// <summary>
        /// Starts a stage. Dispose the returned scope to end it (successfully unless
        /// <see cref="StageScope.Fail"/> was called). <paramref name="incomingHeaders"/> are the
        /// headers of the request or message that caused it (traceparent, tracestate, baggage).
        /// A bad or missing (null, empty) order id or user id throws only with
        /// <see cref="OrderTracerOptions.StrictIds"/>: by default the stage starts without it and
        /// records the problem, so the business code around it runs.
        /// </summary>
        public StageScope StartStage(OrderEvent orderEvent, string orderId, string userId = null,
            IDictionary<string, string> incomingHeaders = null, IDictionary<string, object> attributes = null,
            StageKind kind = StageKind.Internal)
        {
            return StartStageCore(orderEvent, orderId, userId, incomingHeaders == null ? null : Propagation.ToPairs(incomingHeaders),
                attributes, kind, null, null);
        }

        /// <summary>Starts an <c>order_status_changed</c> stage recording the change.</summary>
        public StageScope StartStatusChange(string orderId, string userId, string fromStatus, string toStatus,
            IDictionary<string, string> incomingHeaders = null)
        {
            if (fromStatus == null) throw new ArgumentNullException("fromStatus");
            if (toStatus == null) throw new ArgumentNullException("toStatus");
            return StartStageCore(OrderEvent.OrderStatusChanged, orderId, userId, Propagation.ToPairs(incomingHeaders), null,
                StageKind.Internal, fromStatus, toStatus);
        }

        internal unsafe StageScope StartStageCore(OrderEvent orderEvent, string orderId, string userId,
            KeyValuePair<string, byte[]>[] incoming, IDictionary<string, object> attributes, StageKind kind,
            string statusFrom, string statusTo)
        {
            // A null order id is a missing one: the core's id rules decide (by default the stage
            // starts without it and records the problem; with StrictIds it throws).
            using (var s = NativeStrings.Rent())
            {
                var start = s.StageStart();
                // The common stage has no attributes, headers or status strings: those are checked
                // here rather than in calls (Mono does not inline them; ~100 instructions a stage).
                var attrs = attributes == null || attributes.Count == 0 ? null : StageScope.ToNative(s, attributes);
                Native.OtHeader[] headers = null;
                if (incoming != null && incoming.Length > 0)
                {
                    headers = new Native.OtHeader[incoming.Length];
                    for (var i = 0; i < headers.Length; i++)
                    {
                        headers[i] = new Native.OtHeader { Key = s.Str(incoming[i].Key), Value = s.Bytes(incoming[i].Value) };
                    }
                }
                // Every field is written: the struct lives in the thread's native buffer, not zeroed.
                start->Event = NativeStrings.Event(orderEvent);
                start->OrderId = s.OrderId(orderId);
                start->UserId = s.UserId(userId);
                start->Attributes = attrs == null ? IntPtr.Zero : s.Array(attrs);
                start->AttributeCount = Native.Size(attrs == null ? 0 : attrs.Length);
                start->ParentHeaders = headers == null ? IntPtr.Zero : s.Array(headers);
                start->ParentHeaderCount = Native.Size(headers == null ? 0 : headers.Length);
                start->Kind = (int)kind;
                start->StatusFrom = statusFrom == null ? default(Native.OtStr) : s.Str(statusFrom);
                start->StatusTo = statusTo == null ? default(Native.OtStr) : s.Str(statusTo);
                IntPtr stage, error;
                var status = MonoDirectCalls.Enabled
                    ? MonoDirectCalls.Start(handle, (IntPtr)start, out stage, out error)
                    : Native.ot_stage_start(Handle, (IntPtr)start, out stage, out error);
                Native.Check(status, error);
                return new StageScope(stage, orderEvent, orderId ?? "");
            }
        }

        /// <summary>
        /// True when stages start and end through Mono's raw internal calls, without the P/Invoke
        /// transitions: under Mono, with ORDERTRACE_MONO_DIRECT_CALLS=1 in the environment (read once).
        /// </summary>
        public static bool UsesMonoDirectCalls { get { return MonoDirectCalls.Enabled; } }

        /// <summary>The pipeline counters now.</summary>
        public PipelineCounters Counters
        {
            get
            {
                PipelineCounters c;
                IntPtr error;
                Native.Check(Native.ot_tracer_counters(Handle, out c, out error), error);
                return c;
            }
        }

        /// <summary>Exports everything ended so far; throws <see cref="OrderTraceErrorCode.Timeout"/> after <paramref name="timeout"/>.</summary>
        public void Flush(TimeSpan timeout)
        {
            IntPtr error;
            Native.Check(Native.ot_tracer_flush(Handle, (ulong)timeout.TotalMilliseconds, out error), error);
        }

        /// <summary>Exports what is queued and stops the pipeline within <paramref name="timeout"/>; later stages fail.</summary>
        public void Shutdown(TimeSpan timeout)
        {
            IntPtr error;
            Native.Check(Native.ot_tracer_shutdown(Handle, (ulong)timeout.TotalMilliseconds, out error), error);
        }

        /// <summary>The canonical order-event schema as JSON.</summary>
        public static string SchemaJson()
        {
            IntPtr buffer;
            IntPtr error;
            Native.Check(Native.ot_schema_json(out buffer, out error), error);
            return Native.TakeBuffer(buffer);
        }

        /// <summary>Spans written by the embedded file exporter, as a JSON array of flat span objects.</summary>
        public static string ReadSpansJson(string path)
        {
            if (path == null) throw new ArgumentNullException("path");
            using (var s = NativeStrings.Rent())
            {
                IntPtr buffer;
                IntPtr error;
                Native.Check(Native.ot_read_spans_json(s.Str(path), out buffer, out error), error);
                return Native.TakeBuffer(buffer);
            }
        }

        /// <summary>
        /// Releases the native tracer; its pipeline exports what is queued and shuts down, bounded
        /// by the core's shutdown timeout (5 s), once the stages still open have ended. Call
        /// <see cref="Shutdown"/> first to choose the bound.
        /// </summary>
        public void Dispose()
        {
            handle.Dispose();
        }
    }
}
