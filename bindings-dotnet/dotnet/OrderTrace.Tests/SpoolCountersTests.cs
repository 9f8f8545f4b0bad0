using System;
using System.IO;

namespace OrderTrace.Tests
{
    /// <summary>The core's spool counters, read through the C ABI, with an OTLP endpoint that refuses.</summary>
    internal sealed class SpoolCountersTests : IDisposable
    {
        /// <summary>A port of the counters helper's range (28000-28099) on which nothing listens.</summary>
        private const string Refused = "http://127.0.0.1:28003/v1/traces";

        private readonly string dir = Path.Combine(Path.GetTempPath(), "ordertrace-cs-spool-" + Guid.NewGuid().ToString("N"));

        private static OrderTracerOptions RefusedOptions(string spoolDir)
        {
            return new OrderTracerOptions
            {
                ServiceName = "mes-api",
                OtlpEndpoint = Refused,
                SpoolDir = spoolDir,
                ReadEnvironment = false,
                StartRecords = false,
                HeartbeatInterval = TimeSpan.Zero,
            };
        }

        private static PipelineCounters CountersAfterEnding(OrderTracer tracer, int n)
        {
            for (var i = 0; i < n; i++)
            {
                using (tracer.StartStage(OrderEvent.OrderConfirmed, "ORD-" + i)) { }
            }
            // With a spool, what the endpoint refused waits on disk (a flush would wait for the endpoint).
            tracer.Shutdown(TimeSpan.FromSeconds(5));
            return tracer.Counters;
        }

        [Test]
        public void ATracerWithASpoolFolderReportsTheSpansItSpooled()
        {
            using (var tracer = new OrderTracer(RefusedOptions(dir)))
            {
                var c = CountersAfterEnding(tracer, 5);
                Assert.Equal(5UL, c.SpansSpooled, "spooled");
                Assert.Equal(5UL, c.SpoolSpans, "spans in the spool");
                Assert.True(c.SpoolBytes > 0, "spool bytes > 0");
                Assert.True(c.FailedExports > 0, "failed exports > 0");
                Assert.Equal(0UL, c.SpansExported, "exported");
                Assert.Equal(0UL, c.SpansDropped, "dropped");
                Assert.Equal(0UL, c.SpansReplayed, "replayed");
                Assert.True(Directory.Exists(Path.Combine(dir, "mes-api")), "the service's spool folder exists");
            }
        }

        [Test]
        public void WithoutASpoolFolderTheSpoolCountersStayZero()
        {
            using (var tracer = new OrderTracer(RefusedOptions(null)))
            {
                var c = CountersAfterEnding(tracer, 5);
                Assert.Equal(5UL, c.SpansFailed, "failed");
                Assert.Equal(0UL, c.SpansSpooled, "spooled");
                Assert.Equal(0UL, c.SpoolSpans, "spans in the spool");
                Assert.Equal(0UL, c.SpoolBytes, "spool bytes");
                Assert.Equal(0UL, c.SpoolOldestAgeMs, "oldest age");
            }
        }

        public void Dispose()
        {
            try { Directory.Delete(dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
