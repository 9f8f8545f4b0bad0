using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;

namespace OrderTrace.Tests
{
    /// <summary>
    /// Many stage spans from several threads through P/Invoke: no crash, and RSS that stays flat.
    /// <c>OrderTrace.Tests.exe --stress [spans] [threads]</c> (default 1,000,000 spans, 8 threads).
    /// </summary>
    internal static class Stress
    {
        internal static long RssKib()
        {
            foreach (var line in File.ReadAllLines("/proc/self/status"))
            {
                if (line.StartsWith("VmRSS:")) return long.Parse(line.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries)[1]);
            }
            return -1;
        }

        /// <summary>Runs <paramref name="spans"/> stages on <paramref name="threads"/> threads; returns RSS samples (KiB) at each tenth.</summary>
        internal static long[] Stages(OrderTracer tracer, int spans, int threads)
        {
            var samples = new long[11];
            samples[0] = RssKib();
            var done = 0;
            var perThread = spans / threads;
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
            {
                for (var i = 0; i < perThread; i++)
                {
                    using (var stage = tracer.StartStage(OrderEvent.PriceCalculated, "ORD-" + t + "-" + (i / 8), Fixture.User))
                    {
                        stage.SetAttribute("stress.seq", i);
                    }
                    var n = Interlocked.Increment(ref done);
                    if (n % (spans / 10) == 0) samples[n / (spans / 10)] = RssKib();
                }
            })).ToList();
            workers.ForEach(w => w.Start());
            workers.ForEach(w => w.Join());
            return samples;
        }

        internal static int Run(string[] args)
        {
            var spans = args.Length > 0 ? int.Parse(args[0]) : 1000000;
            var threads = args.Length > 1 ? int.Parse(args[1]) : 8;
            var file = Path.Combine(Path.GetTempPath(), "ordertrace-cs-stress.jsonl");
            using (var tracer = new OrderTracer(new OrderTracerOptions
            {
                ServiceName = "mes-api",
                File = file,
                ReadEnvironment = false,
                StartRecords = false,
                HeartbeatInterval = TimeSpan.Zero,
            }))
            {
                var watch = Stopwatch.StartNew();
                var samples = Stages(tracer, spans, threads);
                watch.Stop();
                tracer.Flush(TimeSpan.FromSeconds(60));
                var c = tracer.Counters;
                Console.WriteLine("stress: " + spans + " stages on " + threads + " threads in " + watch.Elapsed.TotalSeconds.ToString("F1") + " s ("
                    + (spans / watch.Elapsed.TotalSeconds).ToString("F0") + " stages/s, " + (watch.Elapsed.TotalMilliseconds * 1e6 / spans).ToString("F0") + " ns each)");
                Console.WriteLine("stress: RSS KiB at each tenth: " + string.Join(" ", samples));
                Console.WriteLine("stress: started " + c.SpansStarted + ", exported " + c.SpansExported + ", dropped " + c.SpansDropped + ", failed " + c.SpansFailed);
            }
            File.Delete(file);
            return 0;
        }
    }

    internal sealed class StressTests : Fixture
    {
        [Test]
        public void ManyStagesFromSeveralThreadsAreAllCounted()
        {
            var samples = Stress.Stages(Tracer, 20000, 4);
            Tracer.Flush(TimeSpan.FromSeconds(30));
            var c = Tracer.Counters;
            Assert.Equal(20000UL, c.SpansStarted, "started");
            Assert.Equal(20000UL, c.SpansExported + c.SpansDropped, "every span exported or counted as dropped");
            Assert.True(samples.All(s => s > 0), "RSS sampled");
        }
    }
}
