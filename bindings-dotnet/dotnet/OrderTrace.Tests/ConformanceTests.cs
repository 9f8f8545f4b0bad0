using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace OrderTrace.Tests
{
    /// <summary>
    /// The shared conformance table, conformance/cases.json (W3C Trace Context Level 2, W3C Baggage, ordertrace's
    /// id rules), run through the C# API and the C ABI with the same expectations as the Rust runner
    /// (core/tests/conformance.rs) and the Java one (ConformanceTest.java): one line per specification statement
    /// with its level and section, every failing case named. Kind extract: Propagation.Extract and
    /// Propagation.Check; kinds order_id / user_id: OrderIds, and the baggage of a stage started with the order id;
    /// kind stage_start: a stage on a lenient tracer (span attributes, Counters.IdsRejected) and on a strict one.
    /// Header names are strings in .NET: a case's name_hex is decoded as UTF-8 (invalid bytes become U+FFFD);
    /// value_hex values go in as byte[], the way RabbitMQ delivers them.
    /// </summary>
    internal sealed class ConformanceTests : Fixture
    {
        private static Dictionary<string, object> table;

        /// <summary>The table: ORDERTRACE_CONFORMANCE_TABLE, or conformance/cases.json above the working directory.</summary>
        internal static Dictionary<string, object> Table()
        {
            if (table != null) return table;
            var path = Environment.GetEnvironmentVariable("ORDERTRACE_CONFORMANCE_TABLE");
            for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); path == null && dir != null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "conformance", "cases.json");
                if (System.IO.File.Exists(candidate)) path = candidate;
            }
            if (path == null) throw new AssertionFailed("conformance/cases.json not found; set ORDERTRACE_CONFORMANCE_TABLE");
            table = (Dictionary<string, object>)MiniJson.Parse(System.IO.File.ReadAllText(path, Encoding.UTF8));
            return table;
        }

        private static IEnumerable<Dictionary<string, object>> Items(string key)
        {
            return ((List<object>)Table()[key]).Cast<Dictionary<string, object>>();
        }

        [Test]
        public void EveryStatementHasCasesAndEveryCaseNamesAStatement()
        {
            var statements = Items("statements").Select(s => (string)s["id"]).OrderBy(x => x, StringComparer.Ordinal).ToList();
            var withCases = Items("cases").Select(c => (string)c["statement"]).Distinct().OrderBy(x => x, StringComparer.Ordinal).ToList();
            Assert.Equal(string.Join(",", statements), string.Join(",", withCases), "statements with cases");
            Assert.True(statements.Count >= 55, "statements: " + statements.Count);
        }

        [Test]
        public void EveryCaseOfEveryStatementHolds()
        {
            var failedStatements = new List<string>();
            int cases = 0;
            foreach (var st in Items("statements"))
            {
                var id = (string)st["id"];
                var failures = new List<string>();
                foreach (var c in Items("cases").Where(c => (string)c["statement"] == id))
                {
                    cases++;
                    try
                    {
                        Run(c, failures);
                    }
                    catch (Exception e)
                    {
                        failures.Add(c["name"] + ": " + e.GetType().Name + ": " + e.Message);
                    }
                }
                var title = st["level"] + " " + id + " (" + st["section"] + ")";
                if (failures.Count == 0)
                {
                    Console.WriteLine("       ok   " + title);
                }
                else
                {
                    Console.WriteLine("       FAIL " + title + "\n         " + string.Join("\n         ", failures));
                    failedStatements.Add(id);
                }
            }
            Console.WriteLine("       conformance: " + cases + " cases");
            Assert.True(failedStatements.Count == 0, "statements that do not hold: " + string.Join(", ", failedStatements));
        }

        private void Run(Dictionary<string, object> c, List<string> failures)
        {
            switch ((string)c["kind"])
            {
                case "extract": RunExtract(c, failures); break;
                case "order_id":
                case "user_id": RunId(c, failures); break;
                case "stage_start": RunStageStart(c, failures); break;
                default: throw new AssertionFailed("unknown kind " + c["kind"]);
            }
        }

        /// <summary>A value of the table: a string, or parts that are strings or [string, times].</summary>
        internal static string Text(object v)
        {
            var s = v as string;
            if (s != null) return s;
            var o = v as Dictionary<string, object>;
            if (o != null) return Text(o["value"]);
            var parts = v as List<object>;
            if (parts == null) throw new FormatException("bad value " + v);
            var sb = new StringBuilder();
            foreach (var part in parts)
            {
                var rep = part as List<object>;
                if (rep != null)
                {
                    var text = Text(rep[0]);
                    for (var i = 0; i < (int)(double)rep[1]; i++) sb.Append(text);
                }
                else
                {
                    sb.Append(Text(part));
                }
            }
            return sb.ToString();
        }

        private static string Expected(object v)
        {
            return v == null ? null : Text(v);
        }

        private static byte[] Hex(string s)
        {
            var bytes = new byte[s.Length / 2];
            for (var i = 0; i < bytes.Length; i++) bytes[i] = Convert.ToByte(s.Substring(2 * i, 2), 16);
            return bytes;
        }

        /// <summary>The header a problem line is about: "malformed &lt;header&gt; header: ..." or "&lt;header&gt;: ...".</summary>
        private static string ProblemHeader(string problem)
        {
            if (problem.StartsWith("malformed ", StringComparison.Ordinal))
                return problem.Substring("malformed ".Length).Split(' ')[0];
            return problem.Split(':')[0];
        }

        private static string Show(string s)
        {
            if (s == null) return "null";
            return s.Length > 120 ? s.Substring(0, 120) + "... (" + s.Length + " chars)" : s;
        }

        private static void RunExtract(Dictionary<string, object> c, List<string> failures)
        {
            var headers = ((List<object>)c["headers"]).Cast<Dictionary<string, object>>().Select(h =>
            {
                var name = h.ContainsKey("name") ? Text(h["name"]) : Encoding.UTF8.GetString(Hex((string)h["name_hex"]));
                object value = h.ContainsKey("value") ? (object)Text(h["value"]) : Hex((string)h["value_hex"]);
                return new KeyValuePair<string, object>(name, value);
            }).ToList();
            var incoming = Propagation.Extract(headers);
            string strict = null;
            try
            {
                Propagation.Check(headers);
            }
            catch (OrderTraceException e)
            {
                strict = e.Code == OrderTraceErrorCode.MalformedHeader && e.Message.StartsWith("malformed ", StringComparison.Ordinal)
                    ? ProblemHeader(e.Message)
                    : "not a header error: " + e.Message;
            }
            var outgoing = incoming.Headers;
            Func<string, string> header = name => outgoing.ContainsKey(name) ? outgoing[name] : null;
            foreach (var kv in (Dictionary<string, object>)c["expect"])
            {
                string got;
                switch (kv.Key)
                {
                    case "trace_id": got = incoming.TraceId; break;
                    case "parent_id": got = incoming.ParentId; break;
                    case "flags": got = header("traceparent") == null ? null : header("traceparent").Substring(53); break;
                    case "traceparent_version": got = header("traceparent") == null ? null : header("traceparent").Substring(0, 2); break;
                    case "traceparent":
                    case "tracestate":
                    case "baggage": got = header(kv.Key); break;
                    case "order_id": got = incoming.OrderId; break;
                    case "user_id": got = incoming.UserId; break;
                    case "strict_error": got = strict; break;
                    case "dropped":
                    case "problem_headers":
                    case "outgoing_names":
                    {
                        IEnumerable<string> names;
                        if (kv.Key == "dropped")
                            names = incoming.Problems.Where(p => !p.StartsWith("malformed ", StringComparison.Ordinal)).Select(ProblemHeader);
                        else if (kv.Key == "problem_headers")
                            names = incoming.Problems.Select(ProblemHeader);
                        else
                            names = outgoing.Keys;
                        var gotNames = string.Join(",", names.Distinct().OrderBy(x => x, StringComparer.Ordinal));
                        var wanted = string.Join(",", ((List<object>)kv.Value).Select(Text).OrderBy(x => x, StringComparer.Ordinal));
                        if (gotNames != wanted)
                            failures.Add(c["name"] + ": " + kv.Key + ": got [" + gotNames + "], expected [" + wanted + "] (problems: "
                                + string.Join(" | ", incoming.Problems) + ")");
                        continue;
                    }
                    default: throw new AssertionFailed("unknown expectation " + kv.Key);
                }
                var want = Expected(kv.Value);
                if (got != want) failures.Add(c["name"] + ": " + kv.Key + ": got " + Show(got) + ", expected " + Show(want));
            }
        }

        private int stageCases;

        private void RunStageStart(Dictionary<string, object> c, List<string> failures)
        {
            var input = (Dictionary<string, object>)c["input"];
            var orderId = Text(input["order_id"]);
            var userId = Expected(input["user_id"]);
            var n = ++stageCases;
            var lenientFile = Path.Combine(Path.GetDirectoryName(File), "lenient-" + n + ".jsonl");
            Dictionary<string, object> span = null;
            ulong idsRejected;
            using (var lenient = new OrderTracer(Options(lenientFile)))
            {
                try
                {
                    using (lenient.StartStage(OrderEvent.OrderConfirmed, orderId, userId)) { }
                }
                catch (OrderTraceException e)
                {
                    failures.Add(c["name"] + ": the lenient start failed: " + e.Message);
                }
                lenient.Flush(TimeSpan.FromSeconds(5));
                idsRejected = lenient.Counters.IdsRejected;
                var spans = (List<object>)MiniJson.Parse(OrderTracer.ReadSpansJson(lenientFile));
                if (spans.Count > 0) span = (Dictionary<string, object>)spans[spans.Count - 1];
            }
            string strictError = null;
            var strictOptions = Options(Path.Combine(Path.GetDirectoryName(File), "strict-" + n + ".jsonl"));
            strictOptions.StrictIds = true;
            using (var strict = new OrderTracer(strictOptions))
            {
                try
                {
                    using (strict.StartStage(OrderEvent.OrderConfirmed, orderId, userId)) { }
                }
                catch (OrderTraceException e)
                {
                    strictError = e.Message;
                }
            }
            foreach (var kv in (Dictionary<string, object>)c["expect"])
            {
                var want = kv.Value is double ? null : Expected(kv.Value);
                switch (kv.Key)
                {
                    case "id_rejected":
                    case "order_id":
                    case "user_id":
                    {
                        var attribute = kv.Key == "id_rejected" ? "ordertrace.id_rejected" : kv.Key == "order_id" ? "order.id" : "user.id";
                        var got = span == null ? null : Attr(span, attribute);
                        if (got != want) failures.Add(c["name"] + ": " + kv.Key + ": got " + Show(got) + ", expected " + Show(want));
                        break;
                    }
                    case "problem_contains":
                    {
                        var problem = span == null ? null : Attr(span, "ordertrace.problem");
                        if (problem == null || !problem.Contains(want))
                            failures.Add(c["name"] + ": problem " + Show(problem) + " does not contain " + want);
                        break;
                    }
                    case "ids_rejected":
                        if (idsRejected != (ulong)(double)kv.Value)
                            failures.Add(c["name"] + ": ids_rejected " + idsRejected + ", expected " + kv.Value);
                        break;
                    case "strict_error_contains":
                        if (want == null ? strictError != null : strictError == null || !strictError.Contains(want))
                            failures.Add(c["name"] + ": strict start: got " + Show(strictError) + ", expected an error containing " + Show(want));
                        break;
                    default: throw new AssertionFailed("unknown expectation " + kv.Key);
                }
            }
        }

        private void RunId(Dictionary<string, object> c, List<string> failures)
        {
            var input = Text(c["input"]);
            var order = (string)c["kind"] == "order_id";
            string normalized = null;
            OrderTraceException error = null;
            try
            {
                if (order) OrderIds.CheckOrderId(input);
                else normalized = OrderIds.NormalizeUserId(input);
            }
            catch (OrderTraceException e)
            {
                error = e;
            }
            foreach (var kv in (Dictionary<string, object>)c["expect"])
            {
                switch (kv.Key)
                {
                    case "valid":
                        if ((bool)kv.Value != (error == null))
                            failures.Add(c["name"] + ": valid: expected " + kv.Value + ", error " + (error == null ? "none" : error.Message));
                        break;
                    case "error_contains":
                        if (error == null || error.Code != OrderTraceErrorCode.InvalidInput || !error.Message.Contains(Text(kv.Value)))
                            failures.Add(c["name"] + ": error " + (error == null ? "none" : error.Code + " " + error.Message)
                                + " does not contain " + Text(kv.Value));
                        break;
                    case "normalized":
                        if (normalized != Expected(kv.Value))
                            failures.Add(c["name"] + ": normalized: got " + Show(normalized) + ", expected " + Show(Expected(kv.Value)));
                        break;
                    case "baggage":
                        using (var s = Tracer.StartStage(OrderEvent.OrderSubmitted, input))
                        {
                            var headers = s.Headers();
                            var got = headers.ContainsKey("baggage") ? headers["baggage"] : null;
                            if (got != Expected(kv.Value))
                                failures.Add(c["name"] + ": baggage: got " + Show(got) + ", expected " + Show(Expected(kv.Value)));
                        }
                        break;
                    default: throw new AssertionFailed("unknown expectation " + kv.Key);
                }
            }
        }
    }
}
