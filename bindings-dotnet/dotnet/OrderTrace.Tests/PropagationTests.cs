using System;
using System.Collections.Generic;
using System.Text;

namespace OrderTrace.Tests
{
    internal sealed class PropagationTests : Fixture
    {
        [Test]
        public void HttpHeadersMakeTheNextStageAChild()
        {
            var request = new Dictionary<string, string>();
            string parentSpan;
            using (var status = Tracer.StartStatusChange("ORD-1", User, "confirmed", "pricing"))
            {
                Propagation.Inject(status, request);
                parentSpan = status.SpanId;
                Assert.Equal("00-" + status.TraceId + "-" + status.SpanId + "-01", request["traceparent"], "traceparent");
                Assert.True(request["baggage"].Contains("order.id=ORD-1"), "baggage carries the order: " + request["baggage"]);
            }
            using (Tracer.StartStage(OrderEvent.PriceCalculated, "ORD-1", null, request)) { }
            var price = One(Spans(), "price_calculated");
            Assert.Equal(parentSpan, (string)price["parent_span_id"], "parent");
            Assert.Equal(User, Attr(price, "user.id"), "user id from the baggage");
        }

        [Test]
        public void RabbitMqByteHeadersRoundTrip()
        {
            var message = new Dictionary<string, object> { { "x-retry", 3 } };
            string parentSpan;
            using (var uploaded = Tracer.StartStage(OrderEvent.ModelUploaded, "ORD-2", User))
            {
                Propagation.Inject(uploaded, message);
                parentSpan = uploaded.SpanId;
            }
            Assert.True(message["traceparent"] is byte[], "values are byte[] like the broker delivers");
            var incoming = Propagation.FromMessageHeaders(message);
            Assert.True(!incoming.ContainsKey("x-retry"), "only propagation headers are taken");
            using (Tracer.StartStage(OrderEvent.OrderConfirmed, "ORD-2", null, incoming, null, StageKind.Consumer)) { }
            var confirmed = One(Spans(), "order_confirmed");
            Assert.Equal(parentSpan, (string)confirmed["parent_span_id"], "parent across the queue");
        }

        [Test]
        public void AMalformedTraceparentIsReportedByCheckAndLeftOutByStages()
        {
            var bad = new Dictionary<string, string> { { "traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01" } };
            var e = Assert.Throws<OrderTraceException>(() => Propagation.Check(bad), "uppercase hex");
            Assert.Equal(OrderTraceErrorCode.MalformedHeader, e.Code, "code");
            Assert.True(e.Message.Contains("traceparent"), "message: " + e.Message);

            string withBad, without;
            using (var s = Tracer.StartStage(OrderEvent.OrderConfirmed, "ORD-3", null, bad)) withBad = s.TraceId;
            using (var s = Tracer.StartStage(OrderEvent.OrderConfirmed, "ORD-3")) without = s.TraceId;
            Assert.Equal(without, withBad, "the order's own trace, despite the bad header");
        }

        [Test]
        public void ATraceparentThatIsNotUtf8IsAMalformedHeader()
        {
            // Header values cross as bytes; a traceparent that is not UTF-8 cannot be a valid one.
            var message = new Dictionary<string, object> { { "traceparent", new byte[] { 0x30, 0x30, 0xff } } };
            var e = Assert.Throws<OrderTraceException>(() => Propagation.Check(message), "invalid UTF-8");
            Assert.Equal(OrderTraceErrorCode.MalformedHeader, e.Code, "code");
        }

        [Test]
        public void AnUnrelatedHeaderThatIsNotUtf8IsIgnored()
        {
            var message = new Dictionary<string, object>
            {
                { "x-bin", new byte[] { 0xff, 0xfe } },
                { "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
            };
            Propagation.Check(message);
            Assert.Equal("0af7651916cd43dd8448eb211c80319c", Propagation.FromMessageHeaders(message)["traceparent"].Substring(3, 32), "trace id kept");
        }

        [Test]
        public void NullArgumentsAreRejected()
        {
            Assert.Throws<ArgumentNullException>(() => Propagation.Inject(null, new Dictionary<string, string>()), "null stage");
            using (var s = Tracer.StartStage(OrderEvent.OrderConfirmed, "ORD-4"))
            {
                Assert.Throws<ArgumentNullException>(() => Propagation.Inject(s, (IDictionary<string, string>)null), "null headers");
            }
            Assert.Equal(0, Propagation.FromMessageHeaders(null).Count, "no headers, no context");
        }
    }
}
