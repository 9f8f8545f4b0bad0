using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace OrderTrace.Tests
{
    /// <summary>A tracer writing to its own temporary file, and the spans read back from it.</summary>
    internal class Fixture : IDisposable
    {
        public const string User = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";

        private readonly string dir;
        protected readonly string File;
        protected readonly OrderTracer Tracer;

        public Fixture()
        {
            dir = Path.Combine(Path.GetTempPath(), "ordertrace-cs-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            File = Path.Combine(dir, "spans.jsonl");
            Tracer = new OrderTracer(Options(File));
        }

        protected static OrderTracerOptions Options(string file)
        {
            return new OrderTracerOptions
            {
                ServiceName = "mes-api",
                File = file,
                ReadEnvironment = false,
                StartRecords = false,
                HeartbeatInterval = TimeSpan.Zero,
            };
        }

        /// <summary>Shuts the tracer down and reads back every span it exported.</summary>
        protected List<Dictionary<string, object>> Spans()
        {
            Tracer.Shutdown(TimeSpan.FromSeconds(5));
            var parsed = (List<object>)MiniJson.Parse(OrderTracer.ReadSpansJson(File));
            return parsed.Cast<Dictionary<string, object>>().ToList();
        }

        protected static Dictionary<string, object> One(List<Dictionary<string, object>> spans, string name)
        {
            var found = spans.Where(s => (string)s["name"] == name).ToList();
            Assert.Equal(1, found.Count, "spans named " + name);
            return found[0];
        }

        protected static string Attr(Dictionary<string, object> span, string key)
        {
            var attrs = (Dictionary<string, object>)span["attributes"];
            object v;
            return attrs.TryGetValue(key, out v) ? (string)v : null;
        }

        protected static Dictionary<string, object> ExceptionEvent(Dictionary<string, object> span)
        {
            var events = (List<object>)span["events"];
            var e = events.Cast<Dictionary<string, object>>().FirstOrDefault(x => (string)x["name"] == "exception");
            Assert.True(e != null, "span " + span["name"] + " has an exception event");
            return (Dictionary<string, object>)e["attributes"];
        }

        public void Dispose()
        {
            Tracer.Dispose();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}
