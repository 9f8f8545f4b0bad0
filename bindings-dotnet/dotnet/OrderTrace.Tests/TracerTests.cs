using System;
using System.Collections.Generic;
using System.Linq;

namespace OrderTrace.Tests
{
    internal sealed class TracerTests : Fixture
    {
        [Test]
        public void MonoDirectCallsAreUsedExactlyWhenAskedFor()
        {
            // scripts/test-dotnet runs every test twice, the second time with the variable set:
            // then the direct calls must really be in use, not silently left out.
            var asked = Environment.GetEnvironmentVariable("ORDERTRACE_MONO_DIRECT_CALLS") == "1";
            var mono = Type.GetType("Mono.Runtime") != null;
            Assert.Equal(asked && mono, OrderTracer.UsesMonoDirectCalls, "direct calls in use");
            using (var stage = Tracer.StartStage(OrderEvent.PriceCalculated, "ORD-1", User)) { stage.SetAttribute("t.x", 1); }
            Assert.Equal("1", Attr(One(Spans(), "price_calculated"), "t.x"), "a stage through them");
        }

        [Test]
        public void StageIsExportedWithOrderUserEventAndAttributes()
        {
            var attributes = new Dictionary<string, object> { { "mes.workcenter", "casting-2" }, { "mes.retries", 2 }, { "mes.rush", true } };
            using (Tracer.StartStage(OrderEvent.ManufacturingStarted, "ORD-1", User, null, attributes)) { }
            var span = One(Spans(), "manufacturing_started");
            Assert.Equal("ORD-1", Attr(span, "order.id"), "order.id");
            Assert.Equal(User, Attr(span, "user.id"), "user.id");
            Assert.Equal("manufacturing_started", Attr(span, "order.event"), "order.event");
            Assert.Equal("6", Attr(span, "order.stage"), "order.stage");
            Assert.Equal("casting-2", Attr(span, "mes.workcenter"), "string attribute");
            Assert.Equal("2", Attr(span, "mes.retries"), "int attribute");
            Assert.Equal("true", Attr(span, "mes.rush"), "bool attribute");
            Assert.Equal("mes-api", (string)span["service"], "service.name");
            Assert.Equal("unset", (string)span["status"], "status");
        }

        [Test]
        public void CountersCountStartedAndExportedSpans()
        {
            for (var i = 0; i < 5; i++)
            {
                using (Tracer.StartStage(OrderEvent.OrderConfirmed, "ORD-" + i)) { }
            }
            Tracer.Flush(TimeSpan.FromSeconds(5));
            var c = Tracer.Counters;
            Assert.Equal(5UL, c.SpansStarted, "started");
            Assert.Equal(5UL, c.SpansExported, "exported");
            Assert.Equal(0UL, c.SpansDropped, "dropped");
        }

        [Test]
        public void StagesAfterShutdownAreRefused()
        {
            Tracer.Shutdown(TimeSpan.FromSeconds(5));
            Tracer.Shutdown(TimeSpan.FromSeconds(5));
            var e = Assert.Throws<OrderTraceException>(() => Tracer.StartStage(OrderEvent.OrderShipped, "ORD-1"), "stage after shutdown");
            Assert.Equal(OrderTraceErrorCode.ShutDown, e.Code, "code");
        }

        [Test]
        public void ADisposedTracerThrowsObjectDisposed()
        {
            var t = new OrderTracer(Options(File + ".2"));
            t.Dispose();
            t.Dispose();
            Assert.Throws<ObjectDisposedException>(() => t.StartStage(OrderEvent.OrderShipped, "ORD-1"), "stage on a disposed tracer");
            Assert.Throws<ObjectDisposedException>(() => t.Flush(TimeSpan.FromSeconds(1)), "flush on a disposed tracer");
        }

        [Test]
        public void BadConfigurationIsAnInvalidConfigError()
        {
            var options = Options(File + ".3");
            options.OtlpEndpoint = "collector:4318";
            var e = Assert.Throws<OrderTraceException>(() => new OrderTracer(options), "endpoint without scheme");
            Assert.Equal(OrderTraceErrorCode.InvalidConfig, e.Code, "code");
            Assert.True(e.Message.Contains("collector:4318"), "message names the endpoint: " + e.Message);
            Assert.Throws<ArgumentNullException>(() => new OrderTracer(null), "null options");
        }

        [Test]
        public void OrderEventEnumMatchesTheCoreSchema()
        {
            var schema = (Dictionary<string, object>)MiniJson.Parse(OrderTracer.SchemaJson());
            var names = ((List<object>)schema["events"]).Cast<Dictionary<string, object>>().Select(e => (string)e["name"]).ToList();
            var ours = OrderEvents.All().Select(e => e.WireName()).ToList();
            Assert.Equal(string.Join(",", names), string.Join(",", ours), "event names in lifecycle order");
        }

        [Test]
        public void ErrorCodeEnumMatchesTheCoreStatusTable()
        {
            var schema = (Dictionary<string, object>)MiniJson.Parse(OrderTracer.SchemaJson());
            var table = ((List<object>)schema["status_codes"]).Cast<Dictionary<string, object>>()
                .Where(r => (double)r["code"] != 0)
                .Select(r => (string)r["name"] + "=" + (int)(double)r["code"]);
            // InvalidUtf8 -> INVALID_UTF8: the table's SCREAMING_SNAKE_CASE spelling of each member.
            var ours = Enum.GetValues(typeof(OrderTraceErrorCode)).Cast<OrderTraceErrorCode>()
                .Select(c => System.Text.RegularExpressions.Regex.Replace(c.ToString(), "(?<=.)([A-Z])", "_$1").ToUpperInvariant()
                    + "=" + (int)c);
            Assert.Equal(string.Join(",", table.OrderBy(x => x)), string.Join(",", ours.OrderBy(x => x)),
                "OrderTraceErrorCode against the core's status table");
        }

        [Test]
        public void AQuickStageHasAStartRecordOnlyWhenTheThresholdIsZero()
        {
            Func<string, TimeSpan, List<string>> run = (name, threshold) =>
            {
                var options = Options(File + "." + name);
                options.StartRecords = true;
                options.StartRecordAfter = threshold;
                using (var tracer = new OrderTracer(options))
                {
                    tracer.StartStage(OrderEvent.PriceCalculated, "ORD-" + name, User).Dispose();
                    tracer.Shutdown(TimeSpan.FromSeconds(5));
                }
                return ((List<object>)MiniJson.Parse(OrderTracer.ReadSpansJson(File + "." + name)))
                    .Cast<Dictionary<string, object>>().Select(sp => (string)sp["name"]).OrderBy(n => n).ToList();
            };
            Assert.Equal("price_calculated,price_calculated.started", string.Join(",", run("at-once", TimeSpan.Zero)), "threshold zero");
            Assert.Equal("price_calculated", string.Join(",", run("deferred", TimeSpan.FromMinutes(5))), "quick stage, long threshold");
            var bad = Options(File + ".bad");
            bad.StartRecordAfter = TimeSpan.FromMilliseconds(-1);
            Assert.Throws<ArgumentOutOfRangeException>(() => new OrderTracer(bad), "negative threshold");
        }

        [Test]
        public void PipelineCountersMatchTheCoreCountersInLayoutOrder()
        {
            var schema = (Dictionary<string, object>)MiniJson.Parse(OrderTracer.SchemaJson());
            var core = ((List<object>)schema["pipeline_counters"]).Cast<string>();
            // Layout order (the native side fills the struct), each name in snake_case.
            var ours = typeof(PipelineCounters).GetFields()
                .OrderBy(f => (long)System.Runtime.InteropServices.Marshal.OffsetOf(typeof(PipelineCounters), f.Name))
                .Select(f => System.Text.RegularExpressions.Regex.Replace(f.Name, "(?<=.)([A-Z])", "_$1").ToLowerInvariant());
            Assert.Equal(string.Join(",", core), string.Join(",", ours), "PipelineCounters against the core's counters");
            Assert.Equal(core.Count() * 8, System.Runtime.InteropServices.Marshal.SizeOf(typeof(PipelineCounters)), "one ulong per counter");
        }

        [Test]
        public void HeaderFiltersPassExactlyTheCorePropagationHeaders()
        {
            var schema = (Dictionary<string, object>)MiniJson.Parse(OrderTracer.SchemaJson());
            var core = ((List<object>)((Dictionary<string, object>)schema["propagation"])["headers"]).Cast<string>().ToList();
            var message = new Dictionary<string, object> { { "x-other", "1" }, { "content-type", "text/plain" } };
            var request = new System.Collections.Specialized.NameValueCollection { { "x-other", "1" } };
            foreach (var name in core)
            {
                message[name.ToUpperInvariant()] = System.Text.Encoding.UTF8.GetBytes("v");
                request[name.ToUpperInvariant()] = "v";
            }
            var fromMessage = Propagation.FromMessageHeaders(message).Keys.Select(k => k.ToLowerInvariant()).OrderBy(k => k);
            var fromRequest = IncomingRequest.Headers(request).Keys.Select(k => k.ToLowerInvariant()).OrderBy(k => k);
            Assert.Equal(string.Join(",", core.OrderBy(k => k)), string.Join(",", fromMessage), "RabbitMQ header filter");
            Assert.Equal(string.Join(",", core.OrderBy(k => k)), string.Join(",", fromRequest), "HTTP header filter");
        }

        [Test]
        public void ReadingSpansOfAMissingFileIsAFileError()
        {
            var e = Assert.Throws<OrderTraceException>(() => OrderTracer.ReadSpansJson("/nonexistent/spans.jsonl"), "missing file");
            Assert.Equal(OrderTraceErrorCode.File, e.Code, "code");
        }
    }
}
