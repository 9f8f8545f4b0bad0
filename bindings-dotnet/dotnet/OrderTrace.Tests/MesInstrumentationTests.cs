using System;
using System.Collections.Generic;

namespace OrderTrace.Tests
{
    internal sealed class MesInstrumentationTests : Fixture
    {
        private sealed class PriceCalculationException : Exception
        {
            public PriceCalculationException(string message) : base(message) { }
        }

        private sealed class Quote
        {
            public decimal Total;
            public string Currency;
        }

        // Not inlined, so it shows in the stack trace the test looks for.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static decimal PriceOf(string alloy)
        {
            if (alloy == "unobtainium") throw new PriceCalculationException("no price rule for alloy 'unobtainium'");
            return 249.90m;
        }

        [Test]
        public void CalculatePriceReturnsTheResultAndRecordsPriceAndDuration()
        {
            var mes = new MesInstrumentation(Tracer);
            var price = mes.CalculatePrice("ORD-1", User, () =>
            {
                System.Threading.Thread.Sleep(15);
                return PriceOf("gold-750");
            }, "EUR");
            Assert.Equal(249.90m, price, "the MES's result, untouched");
            var span = One(Spans(), "price_calculated");
            Assert.Equal("249.9", Attr(span, "order.price.amount"), "amount");
            Assert.Equal("EUR", Attr(span, "order.price.currency"), "currency");
            Assert.Equal(User, Attr(span, "user.id"), "user");
            Assert.True((double)span["end_unix_nanos"] - (double)span["start_unix_nanos"] >= 15e6, "timed");
            Assert.Equal(2.0, (double)span["kind"], "server span");
        }

        [Test]
        public void CalculatePriceRethrowsTheSameExceptionWithItsStackTrace()
        {
            var mes = new MesInstrumentation(Tracer);
            PriceCalculationException thrown = null;
            var caught = Assert.Throws<PriceCalculationException>(() => mes.CalculatePrice("ORD-2", User, () =>
            {
                try
                {
                    return PriceOf("unobtainium");
                }
                catch (PriceCalculationException e)
                {
                    thrown = e;
                    throw;
                }
            }), "the MES exception comes through");
            Assert.True(ReferenceEquals(thrown, caught), "the same object");
            Assert.True(caught.StackTrace.Contains("PriceOf"), "original stack trace kept: " + caught.StackTrace);
            var span = One(Spans(), "price_calculated");
            Assert.Equal("error", (string)span["status"], "status");
            var ex = ExceptionEvent(span);
            Assert.Equal(typeof(PriceCalculationException).FullName, (string)ex["exception.type"], ".NET type");
            Assert.Equal("no price rule for alloy 'unobtainium'", (string)ex["exception.message"], "message");
            Assert.True(((string)ex["exception.stacktrace"]).Contains("PriceOf"), "stack trace recorded");
        }

        [Test]
        public void ARefusedPriceKeepsTheResultAndIsRecordedAsAProblem()
        {
            var mes = new MesInstrumentation(Tracer);
            var negative = mes.CalculatePrice("ORD-NEG", User, () => -5m, "EUR");
            var oddCurrency = mes.CalculatePrice("ORD-ODD", User, () => 5m, "euro");
            Assert.Equal(-5m, negative, "the MES's result, untouched");
            Assert.Equal(5m, oddCurrency, "the MES's result, untouched");
            var spans = Spans();
            var neg = spans.Find(s => Attr(s, "order.id") == "ORD-NEG");
            var odd = spans.Find(s => Attr(s, "order.id") == "ORD-ODD");
            Assert.True((Attr(neg, "ordertrace.problem") ?? "").Contains("not a non-negative number"), "problem: " + Attr(neg, "ordertrace.problem"));
            Assert.True((Attr(odd, "ordertrace.problem") ?? "").Contains("ISO 4217"), "problem: " + Attr(odd, "ordertrace.problem"));
            Assert.Equal(null, Attr(neg, "order.price.amount"), "no price recorded");
            Assert.Equal("unset", (string)neg["status"], "the stage did not fail");
            Assert.Equal("unset", (string)odd["status"], "the stage did not fail");
        }

        [Test]
        public void GenericCalculatePriceRecordsWhatThePriceSelectorGives()
        {
            var mes = new MesInstrumentation(Tracer);
            var quote = mes.CalculatePrice("ORD-3", User, () => new Quote { Total = 10m, Currency = "CHF" },
                q => new Price(q.Total, q.Currency));
            Assert.Equal("CHF", quote.Currency, "result");
            mes.CalculatePrice("ORD-4", User, () => new Quote(), q => (Price?)null);
            var spans = Spans();
            Assert.Equal("CHF", Attr(spans.Find(s => Attr(s, "order.id") == "ORD-3"), "order.price.currency"), "currency");
            Assert.Equal(null, Attr(spans.Find(s => Attr(s, "order.id") == "ORD-4"), "order.price.amount"), "no price given");
        }

        [Test]
        public void StartManufacturingRecordsAndRethrows()
        {
            var mes = new MesInstrumentation(Tracer);
            var started = false;
            mes.StartManufacturing("ORD-5", User, () => started = true);
            Assert.True(started, "the MES call ran");
            Assert.Throws<InvalidOperationException>(() => mes.StartManufacturing("ORD-6", User,
                () => { throw new InvalidOperationException("casting-2 is offline"); }), "rethrown");
            var spans = Spans();
            var failed = spans.Find(s => Attr(s, "order.id") == "ORD-6");
            Assert.Equal("System.InvalidOperationException", (string)ExceptionEvent(failed)["exception.type"], "type");
            Assert.Equal("unset", (string)spans.Find(s => Attr(s, "order.id") == "ORD-5")["status"], "success");
        }

        [Test]
        public void IncomingHeadersMakeTheMesCallAChildOfTheCrm()
        {
            var mes = new MesInstrumentation(Tracer);
            var request = new Dictionary<string, string>();
            string crmSpan;
            using (var crm = Tracer.StartStatusChange("ORD-7", User, "confirmed", "pricing"))
            {
                Propagation.Inject(crm, request);
                crmSpan = crm.SpanId;
            }
            mes.CalculatePrice("ORD-7", null, () => 5m, "EUR", request);
            Assert.Equal(crmSpan, (string)One(Spans(), "price_calculated")["parent_span_id"], "parent");
        }

        [Test]
        public void NullArgumentsAreRejected()
        {
            Assert.Throws<ArgumentNullException>(() => new MesInstrumentation(null), "tracer");
            var mes = new MesInstrumentation(Tracer);
            Assert.Throws<ArgumentNullException>(() => mes.StartManufacturing("ORD-1", User, null), "action");
            Assert.Throws<ArgumentNullException>(() => mes.CalculatePrice("ORD-1", User, null, "EUR"), "func");
        }

        private static readonly string[][] Ids =
        {
            new[] { "ORD-8", User }, new[] { "ORD-8", null }, new[] { "ORD-8", "42" }, new[] { "ORD-8", "12345" },
            new[] { "", User }, new string[] { null, null }, new[] { "ORD-8\r\nX-Evil: 1", "" },
        };

        [Test]
        public void CalculatePriceRunsAndReturnsTheSameWithGoodBadAndMissingIds()
        {
            var mes = new MesInstrumentation(Tracer);
            foreach (var id in Ids)
            {
                var ran = false;
                var price = mes.CalculatePrice(id[0], id[1], () => { ran = true; return PriceOf("gold-750"); }, "EUR");
                Assert.True(ran, "pricing ran for " + id[0] + " / " + id[1]);
                Assert.Equal(249.90m, price, "price for " + id[0] + " / " + id[1]);
            }
            // 42, 12345, the empty and the null order id, and the one with CR LF; an empty user id is none.
            Assert.Equal(5UL, Tracer.Counters.IdsRejected, "rejected ids counted");
            var spans = Spans();
            Assert.Equal(Ids.Length, spans.Count, "a stage for every call");
            Assert.Equal("user.id", Attr(spans[2], "ordertrace.id_rejected"), "X-User-Id 42");
            Assert.Equal("249.9", Attr(spans[2], "order.price.amount"), "price recorded on a stage with a problem");
        }

        [Test]
        public void CalculatePriceThrowsTheSameBusinessExceptionWithGoodBadAndMissingIds()
        {
            var mes = new MesInstrumentation(Tracer);
            foreach (var id in Ids)
            {
                var e = Assert.Throws<PriceCalculationException>(
                    () => mes.CalculatePrice(id[0], id[1], () => PriceOf("unobtainium"), "EUR"), "for " + id[0] + " / " + id[1]);
                Assert.Equal("no price rule for alloy 'unobtainium'", e.Message, "message");
            }
            foreach (var span in Spans())
            {
                Assert.Equal("error", (string)span["status"], "the stage failed with the business exception");
            }
        }

        [Test]
        public void StartManufacturingRunsWithBadAndMissingIds()
        {
            var mes = new MesInstrumentation(Tracer);
            var runs = 0;
            foreach (var id in Ids)
            {
                mes.StartManufacturing(id[0], id[1], () => runs++);
            }
            Assert.Equal(Ids.Length, runs, "manufacturing started every time");
        }

        [Test]
        public void StrictIdsMakeCalculatePriceThrowBeforePricingRuns()
        {
            var options = Options(File + ".strict");
            options.StrictIds = true;
            using (var strict = new OrderTracer(options))
            {
                var mes = new MesInstrumentation(strict);
                var ran = false;
                var e = Assert.Throws<OrderTraceException>(
                    () => mes.CalculatePrice("ORD-9", "42", () => { ran = true; return 1m; }, "EUR"), "strict");
                Assert.Equal(OrderTraceErrorCode.InvalidInput, e.Code, "code");
                Assert.True(!ran, "pricing did not run");
            }
        }
    }
}
