using System;
using System.Collections.Generic;

namespace OrderTrace.Tests
{
    internal sealed class StageTests : Fixture
    {
        [Test]
        public void AnAttributeWithoutAValueNamesABoundedPrefixOfAHugeKey()
        {
            var attributes = new Dictionary<string, object> { { new string('k', 1 << 20), null } };
            var e = Assert.Throws<ArgumentNullException>(
                () => Tracer.StartStage(OrderEvent.PriceCalculated, "ORD-1", null, null, attributes), "null value");
            Assert.True(e.Message.Length < 300, e.Message.Length + " chars");
            Assert.True(e.Message.Contains("(1048576 chars)"), e.Message.Substring(0, Math.Min(200, e.Message.Length)));
        }

        [Test]
        public void StrictIdsRejectBadOrderAndUserIdsReadably()
        {
            var options = Options(File + ".strict");
            options.StrictIds = true;
            using (var strict = new OrderTracer(options))
            {
                var missing = Assert.Throws<OrderTraceException>(() => strict.StartStage(OrderEvent.OrderConfirmed, null), "null order id");
                Assert.Equal("invalid order id: it is empty", missing.Message, "null is a missing id");
                var empty = Assert.Throws<OrderTraceException>(() => strict.StartStage(OrderEvent.OrderConfirmed, ""), "empty order id");
                Assert.Equal(OrderTraceErrorCode.InvalidInput, empty.Code, "empty code");
                var user = Assert.Throws<OrderTraceException>(() => strict.StartStage(OrderEvent.OrderConfirmed, "ORD-1", "bob"), "user id");
                Assert.Equal(OrderTraceErrorCode.InvalidInput, user.Code, "user code");
                Assert.True(user.Message.Contains("is not a UUID"), "message: " + user.Message);
                Assert.Equal(3UL, strict.Counters.IdsRejected, "rejected ids counted");
                Assert.Equal(0UL, strict.Counters.SpansStarted, "no stage started");
            }
        }

        [Test]
        public void IdsAndAttributesBeyondAsciiArriveAsSent()
        {
            // ASCII is copied char by char, the rest encoded as UTF-8 (NativeStrings.Str): a
            // letter beyond ASCII, a surrogate pair and an ASCII id after them must all arrive.
            var ids = new[] { "ORD-\u00dc-1", "ORD-\uD83D\uDE00-2", "ORD-3" };
            foreach (var id in ids)
            {
                var attributes = new Dictionary<string, object> { { "mes.note", "f\u00fcr " + id } };
                using (Tracer.StartStage(OrderEvent.PriceCalculated, id, null, null, attributes)) { }
            }
            var spans = Spans();
            Assert.Equal(ids.Length, spans.Count, "every stage exported");
            for (var i = 0; i < ids.Length; i++)
            {
                Assert.Equal(ids[i], Attr(spans[i], "order.id"), "order id " + i);
                Assert.Equal("f\u00fcr " + ids[i], Attr(spans[i], "mes.note"), "attribute " + i);
            }
        }

        [Test]
        public void StringsOfEveryLengthAndFirstNonAsciiPlaceArriveAsSent()
        {
            // NativeStrings.Str copies ASCII eight, then four chars a step, then char by char, and
            // encodes from the first char beyond ASCII; every length around a step and every place of
            // that char (in a step, in the tail, at either end), UTF-8 widths 1-4 and chars at
            // each width's edge must arrive unchanged.
            // One stage per group keeps each span well under the SDK's 128 attributes.
            var groups = new List<List<string>>();
            var ascii = new List<string>();
            for (var n = 1; n <= 21; n++) ascii.Add(new string('a', n - 1) + (char)('0' + n % 10));
            groups.Add(ascii);
            foreach (var wide in new[] { "\u007f", "\u0080", "\u00ff", "\u0100", "\u07ff", "\u0800", "\uffee", "\uD83D\uDE00" })
            {
                var group = new List<string>();
                for (var at = 0; at <= 17; at++) group.Add(new string('b', at) + wide + "-cd");
                groups.Add(group);
            }
            foreach (var group in groups)
            {
                var attributes = new Dictionary<string, object>();
                for (var i = 0; i < group.Count; i++) attributes.Add("t.v" + i, group[i]);
                using (Tracer.StartStage(OrderEvent.PriceCalculated, "ORD-1", null, null, attributes)) { }
            }
            var spans = Spans();
            Assert.Equal(groups.Count, spans.Count, "one span per group");
            for (var g = 0; g < groups.Count; g++)
            {
                for (var i = 0; i < groups[g].Count; i++) Assert.Equal(groups[g][i], Attr(spans[g], "t.v" + i), "group " + g + " value " + i);
            }
        }

        [Test]
        public void StringsBeyondThePerThreadBufferArriveAsSent()
        {
            // The per-thread native buffer holds 4,096 bytes: an ASCII value longer than that, a
            // non-ASCII one whose worst-case UTF-8 size is, and values after the buffer filled
            // up take their own pinned arrays and must arrive whole.
            var attributes = new Dictionary<string, object>
            {
                { "t.ascii", new string('x', 5000) },
                { "t.wide", new string('\u00e9', 1500) },
                { "t.fill", new string('y', 3900) },
                { "t.after", "after the buffer filled up" },
                { "t.after_wide", "f\u00fcr after" },
            };
            using (Tracer.StartStage(OrderEvent.PriceCalculated, "ORD-1", null, null, attributes)) { }
            var span = One(Spans(), "price_calculated");
            foreach (var kv in attributes) Assert.Equal((string)kv.Value, Attr(span, kv.Key), kv.Key);
        }

        [Test]
        public void ConcurrentThreadsEachSendTheirOwnStrings()
        {
            // Each thread encodes into its own native buffer (NativeStrings.Rent): stages started
            // at the same time on several threads must not see each other's ids or attributes.
            // Rounds with a flush between them keep the export queue (2,048) from dropping spans;
            // 400 spans in all, as the test's JSON reader slows down with more (4,000 took 90 s).
            const int threads = 4, perRound = 50, rounds = 2, perThread = perRound * rounds;
            for (var round = 0; round < rounds; round++)
            {
                var first = round * perRound;
                var workers = new List<System.Threading.Thread>();
                for (var t = 0; t < threads; t++)
                {
                    var thread = t;
                    workers.Add(new System.Threading.Thread(() =>
                    {
                        for (var i = first; i < first + perRound; i++)
                        {
                            var id = "ORD-T" + thread + "-" + i;
                            var attributes = new Dictionary<string, object> { { "t.echo", id + "/" + new string((char)('a' + thread), 40 + i % 9) } };
                            using (Tracer.StartStage(OrderEvent.PriceCalculated, id, User, null, attributes)) { }
                        }
                    }));
                }
                workers.ForEach(w => w.Start());
                workers.ForEach(w => w.Join());
                Tracer.Flush(TimeSpan.FromSeconds(30));
            }
            var spans = Spans();
            Assert.Equal(threads * perThread, spans.Count, "every stage exported");
            var seen = new HashSet<string>();
            foreach (var span in spans)
            {
                var id = Attr(span, "order.id");
                var thread = id[5] - '0';
                var i = int.Parse(id.Substring(7));
                Assert.Equal(id + "/" + new string((char)('a' + thread), 40 + i % 9), Attr(span, "t.echo"), "attribute of " + id);
                Assert.Equal(User, Attr(span, "user.id"), "user id of " + id);
                Assert.True(seen.Add(id), "one span per id: " + id);
            }
        }

        [Test]
        public void AnEventOutsideTheEnumIsRefusedBeforeTheNativeCall()
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => Tracer.StartStage((OrderEvent)99, "ORD-1"), "event 99");
            Assert.Throws<ArgumentOutOfRangeException>(() => Tracer.StartStage((OrderEvent)(-1), "ORD-1"), "event -1");
            using (Tracer.StartStage(OrderEvent.OrderShipped, "ORD-1")) { }
            Assert.Equal("order_shipped", (string)One(Spans(), "order_shipped")["name"], "the next stage on the thread is whole");
        }

        [Test]
        public void BadOrMissingIdsStartTheStageWithTheProblemRecorded()
        {
            using (Tracer.StartStage(OrderEvent.OrderConfirmed, "ORD-1", "bob")) { }
            using (var missing = Tracer.StartStage(OrderEvent.OrderConfirmed, null))
            {
                Assert.Equal(32, missing.TraceId.Length, "a stage exists without an order id");
            }
            Assert.Equal(2UL, Tracer.Counters.IdsRejected, "counted");
            var spans = Spans();
            Assert.Equal(2, spans.Count, "both stages exported");
            Assert.Equal("ORD-1", Attr(spans[0], "order.id"), "good order id kept");
            Assert.Equal(null, Attr(spans[0], "user.id"), "bad user id left out");
            Assert.Equal("invalid user id: \"bob\" is not a UUID (expected 8-4-4-4-12 hex digits)",
                Attr(spans[0], "ordertrace.problem"), "problem");
            Assert.Equal("user.id", Attr(spans[0], "ordertrace.id_rejected"), "which id");
            Assert.Equal(null, Attr(spans[1], "order.id"), "no order id");
            Assert.Equal("order.id", Attr(spans[1], "ordertrace.id_rejected"), "missing order id");
        }

        [Test]
        public void RefusedAttributesStillThrow()
        {
            var reserved = Assert.Throws<OrderTraceException>(() => Tracer.StartStage(OrderEvent.OrderConfirmed, "ORD-1", null, null,
                new Dictionary<string, object> { { "order.id", "ORD-2" } }), "reserved attribute");
            Assert.Equal(OrderTraceErrorCode.InvalidInput, reserved.Code, "reserved code");
            Assert.Equal(0, Spans().Count, "nothing exported for rejected stages");
        }

        [Test]
        public void AClosedStageRefusesFurtherUse()
        {
            var stage = Tracer.StartStage(OrderEvent.PriceCalculated, "ORD-1");
            stage.Complete();
            var e = Assert.Throws<OrderTraceException>(() => stage.RecordPrice(1m, "EUR"), "price after end");
            Assert.Equal(OrderTraceErrorCode.Closed, e.Code, "code");
            Assert.Throws<OrderTraceException>(() => stage.Complete(), "second end");
            Assert.Equal(32, stage.TraceId.Length, "ids stay readable after the end");
            stage.Dispose();
            stage.Dispose();
            Assert.Throws<ObjectDisposedException>(() => stage.SetAttribute("x.y", 1), "use after dispose");
            Assert.Equal(1, Spans().Count, "ended once");
        }

        [Test]
        public void FailRecordsTheDotnetExceptionTypeMessageAndStackTrace()
        {
            using (var stage = Tracer.StartStage(OrderEvent.ManufacturingStarted, "ORD-1"))
            {
                try
                {
                    ThrowMachineOffline();
                }
                catch (InvalidOperationException e)
                {
                    stage.Fail(e);
                }
            }
            var span = One(Spans(), "manufacturing_started");
            Assert.Equal("error", (string)span["status"], "status");
            var ex = ExceptionEvent(span);
            Assert.Equal("System.InvalidOperationException", (string)ex["exception.type"], "type");
            Assert.Equal("casting-2 is offline", (string)ex["exception.message"], "message");
            Assert.True(((string)ex["exception.stacktrace"]).Contains("ThrowMachineOffline"), "stack trace names the throwing method");
        }

        // Not inlined, so it shows in the stack trace the test looks for.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static void ThrowMachineOffline()
        {
            throw new InvalidOperationException("casting-2 is offline");
        }

        [Test]
        public void RecordExceptionKeepsTheStageOpen()
        {
            using (var stage = Tracer.StartStage(OrderEvent.PriceCalculated, "ORD-1"))
            {
                stage.RecordException(new TimeoutException("first try timed out"));
                stage.RecordPrice(99.5m, "EUR");
            }
            var span = One(Spans(), "price_calculated");
            Assert.Equal("System.TimeoutException", (string)ExceptionEvent(span)["exception.type"], "type");
            Assert.Equal("99.5", Attr(span, "order.price.amount"), "price after the error");
        }

        [Test]
        public void StatusChangeIsRecorded()
        {
            using (Tracer.StartStatusChange("ORD-1", User, "confirmed", "in_production")) { }
            var span = One(Spans(), "order_status_changed");
            Assert.Equal("confirmed", Attr(span, "order.status.from"), "from");
            Assert.Equal("in_production", Attr(span, "order.status.to"), "to");
            Assert.Throws<OrderTraceException>(() => Tracer.StartStatusChange("ORD-1", User, "", "x"), "empty status");
        }

        [Test]
        public void DisposingEndsTheStageWithItsDuration()
        {
            using (Tracer.StartStage(OrderEvent.OrderConfirmed, "ORD-1"))
            {
                System.Threading.Thread.Sleep(20);
            }
            var span = One(Spans(), "order_confirmed");
            var duration = (double)span["end_unix_nanos"] - (double)span["start_unix_nanos"];
            Assert.True(duration >= 20e6, "duration " + duration + " ns covers the work");
        }
    }
}
