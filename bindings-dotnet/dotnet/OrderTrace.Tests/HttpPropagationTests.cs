using System;
using System.Collections.Generic;
using System.Collections.Specialized;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace OrderTrace.Tests
{
    internal sealed class HttpPropagationTests : Fixture
    {
        /// <summary>An inner handler that keeps the request it was given and answers 200.</summary>
        private sealed class Capture : HttpMessageHandler
        {
            public HttpRequestMessage Request;

            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                Request = request;
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK));
            }
        }

        private static string Header(HttpRequestMessage request, string name)
        {
            IEnumerable<string> values;
            return request.Headers.TryGetValues(name, out values) ? string.Join(",", values) : null;
        }

        [Test]
        public void HandlerWritesTheCurrentStageIntoTheRequest()
        {
            var capture = new Capture();
            using (var client = new HttpClient(new OrderTraceHandler(capture)))
            using (var stage = Tracer.StartStatusChange("ORD-H1", User, "confirmed", "pricing"))
            {
                using (OrderContext.Enter(stage))
                {
                    client.GetAsync("http://mes.invalid/price").Wait();
                }
                Assert.Equal("00-" + stage.TraceId + "-" + stage.SpanId + "-01", Header(capture.Request, "traceparent"), "traceparent");
                Assert.True(Header(capture.Request, "baggage").Contains("order.id=ORD-H1"), "baggage: " + Header(capture.Request, "baggage"));
            }
        }

        [Test]
        public void HandlerOutsideAnyStageSendsTheRequestUntouched()
        {
            var capture = new Capture();
            using (var client = new HttpClient(new OrderTraceHandler(capture)))
            {
                client.GetAsync("http://mes.invalid/health").Wait();
            }
            Assert.Equal(null, Header(capture.Request, "traceparent"), "traceparent");
            Assert.Equal(null, Header(capture.Request, "baggage"), "baggage");
            Assert.True(OrderContext.Current == null, "nothing current");
        }

        [Test]
        public void HandlerReplacesAStaleTraceparentAndPrefersTheRequestsOwnStage()
        {
            var capture = new Capture();
            using (var client = new HttpClient(new OrderTraceHandler(capture)))
            using (var ambient = Tracer.StartStage(OrderEvent.OrderConfirmed, "ORD-H2", User))
            using (var own = Tracer.StartStage(OrderEvent.OrderShipped, "ORD-H3", User))
            using (OrderContext.Enter(ambient))
            {
                var request = new HttpRequestMessage(HttpMethod.Post, "http://crm.invalid/shipped");
                request.Headers.TryAddWithoutValidation("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
                client.SendAsync(OrderTraceHandler.ForStage(request, own)).Wait();
                Assert.Equal("00-" + own.TraceId + "-" + own.SpanId + "-01", Header(capture.Request, "traceparent"), "one traceparent, the request's stage's");
            }
        }

        [Test]
        public void EnterRestoresThePreviousStage()
        {
            using (var outer = Tracer.StartStage(OrderEvent.OrderConfirmed, "ORD-H4", User))
            using (var inner = Tracer.StartStage(OrderEvent.OrderShipped, "ORD-H4", User))
            {
                using (OrderContext.Enter(outer))
                {
                    using (OrderContext.Enter(inner)) Assert.True(OrderContext.Current == inner, "inner current");
                    Assert.True(OrderContext.Current == outer, "outer current again");
                }
                Assert.True(OrderContext.Current == null, "nothing current after both");
                Assert.Throws<ArgumentNullException>(() => OrderContext.Enter(null), "null stage");
            }
        }

        [Test]
        public void IncomingHeadersKeepOnlyPropagationHeadersWhateverTheirCase()
        {
            var headers = new NameValueCollection
            {
                { "TraceParent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
                { "baggage", "order.id=ORD-H5" },
                { "authorization", "Bearer secret" },
            };
            var extracted = IncomingRequest.Headers(headers);
            Assert.Equal(2, extracted.Count, "traceparent and baggage only");
            Assert.Equal("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", extracted["traceparent"], "traceparent");
            Assert.Throws<ArgumentNullException>(() => IncomingRequest.Headers((NameValueCollection)null), "null headers");
            Assert.Throws<ArgumentNullException>(() => IncomingRequest.Headers((HttpListenerRequest)null), "null request");
        }

        [Test]
        public void ServiceBehindHttpListenerJoinsTheCallersStage()
        {
            int port;
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var listener = new HttpListener();
            listener.Prefixes.Add("http://127.0.0.1:" + port + "/");
            listener.Start();
            try
            {
                var served = Task.Run(() =>
                {
                    var context = listener.GetContext();
                    using (Tracer.StartStage(OrderEvent.PriceCalculated, "ORD-H6", null, IncomingRequest.Headers(context.Request), null,
                        StageKind.Server)) { }
                    context.Response.StatusCode = 200;
                    context.Response.Close();
                });
                string caller;
                using (var client = new HttpClient(new OrderTraceHandler()))
                using (var stage = Tracer.StartStatusChange("ORD-H6", User, "confirmed", "pricing"))
                using (OrderContext.Enter(stage))
                {
                    caller = stage.SpanId;
                    var response = client.PostAsync("http://127.0.0.1:" + port + "/price", new StringContent("")).Result;
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode, "status");
                }
                Assert.True(served.Wait(TimeSpan.FromSeconds(10)), "the listener answered");
                var price = One(Spans(), "price_calculated");
                Assert.Equal(caller, (string)price["parent_span_id"], "the callee's stage is a child of the caller's");
                Assert.Equal(User, Attr(price, "user.id"), "user.id from the baggage");
            }
            finally
            {
                listener.Close();
            }
        }
    }
}
