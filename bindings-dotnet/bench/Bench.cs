using System;
using System.Diagnostics;
using System.Linq;
using OrderTrace;

namespace OrderTrace.Bench
{
    /// <summary>
    /// Under Mono: ns per stage through P/Invoke, and the overhead MesInstrumentation.CalculatePrice
    /// adds over the bare call it wraps. Export goes nowhere (OTEL_TRACES_EXPORTER=none, set by
    /// benches/run-dotnet). Each figure is the median of 7 rounds. Usage: Bench.exe [n] [stages|mes|fresh-ids]
    /// </summary>
    internal static class Bench
    {
        private const string User = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";
        private static decimal sink;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static decimal CalculatePrice(string orderId)
        {
            return orderId.Length * 10.5m;
        }

        private static double NsPerOp(int n, Action op)
        {
            var rounds = new double[7];
            for (var r = 0; r < rounds.Length; r++)
            {
                var w = Stopwatch.StartNew();
                for (var i = 0; i < n; i++) op();
                w.Stop();
                rounds[r] = w.Elapsed.TotalMilliseconds * 1e6 / n;
            }
            return rounds.OrderBy(x => x).ElementAt(rounds.Length / 2);
        }

        private static int Main(string[] args)
        {
            if (Environment.GetEnvironmentVariable("OTEL_TRACES_EXPORTER") != "none")
            {
                Console.Error.WriteLine("run with OTEL_TRACES_EXPORTER=none (benches/run-dotnet)");
                return 2;
            }
            var n = args.Length > 0 ? int.Parse(args[0]) : 100000;
            // "stages" / "mes": n stages, or n MesInstrumentation.CalculatePrice calls, and nothing
            // else, for instruction counts (callgrind counts the same whatever the load; per stage
            // = the difference of two runs / the difference of their n). "fresh-ids": n stages
            // whose ids are equal strings but other objects each time (made before the loop), as
            // when every request parses its own: the C# side cannot reuse the last id's bytes.
            var only = args.Length > 1 ? args[1] : null;
            if (only != null && only != "stages" && only != "mes" && only != "fresh-ids")
            {
                Console.Error.WriteLine("usage: Bench.exe [n] [stages|mes|fresh-ids]");
                return 2;
            }
            using (var tracer = new OrderTracer(new OrderTracerOptions
            {
                ServiceName = "bench", StartRecords = false, HeartbeatInterval = TimeSpan.Zero,
            }))
            {
                var mes = new MesInstrumentation(tracer);
                if (only == "stages")
                {
                    for (var i = 0; i < n; i++)
                    {
                        using (tracer.StartStage(OrderEvent.PriceCalculated, "ORD-12345", User)) { }
                    }
                    Console.WriteLine("{0} stages, counters: started {1}", n, tracer.Counters.SpansStarted);
                    return 0;
                }
                if (only == "fresh-ids")
                {
                    var orders = Enumerable.Range(0, 1024).Select(i => new string("ORD-12345".ToCharArray())).ToArray();
                    var users = Enumerable.Range(0, 1024).Select(i => new string(User.ToCharArray())).ToArray();
                    for (var i = 0; i < n; i++)
                    {
                        using (tracer.StartStage(OrderEvent.PriceCalculated, orders[i & 1023], users[i & 1023])) { }
                    }
                    Console.WriteLine("{0} stages with fresh id strings, counters: started {1}", n, tracer.Counters.SpansStarted);
                    return 0;
                }
                if (only == "mes")
                {
                    for (var i = 0; i < n; i++)
                    {
                        sink += mes.CalculatePrice("ORD-12345", User, () => CalculatePrice("ORD-12345"), "EUR");
                    }
                    Console.WriteLine("{0} CalculatePrice calls, counters: started {1}", n, tracer.Counters.SpansStarted);
                    return 0;
                }
                // Warm up the JIT and the native side.
                NsPerOp(n / 10, () => { using (tracer.StartStage(OrderEvent.PriceCalculated, "ORD-12345", User)) { } });

                var stage = NsPerOp(n, () => { using (tracer.StartStage(OrderEvent.PriceCalculated, "ORD-12345", User)) { } });
                var bare = NsPerOp(n, () => { sink += CalculatePrice("ORD-12345"); });
                var wrapped = NsPerOp(n, () => { sink += mes.CalculatePrice("ORD-12345", User, () => CalculatePrice("ORD-12345"), "EUR"); });
                Console.WriteLine("stage through P/Invoke (start + end, user id): {0:F0} ns", stage);
                Console.WriteLine("bare CalculatePrice: {0:F0} ns", bare);
                Console.WriteLine("MesInstrumentation.CalculatePrice: {0:F0} ns (overhead {1:F0} ns over the bare call)", wrapped, wrapped - bare);
                var c = tracer.Counters;
                Console.WriteLine("counters: started {0}, exported {1}, dropped {2}", c.SpansStarted, c.SpansExported, c.SpansDropped);
            }
            return 0;
        }
    }
}
