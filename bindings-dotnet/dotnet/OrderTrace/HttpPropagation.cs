using System;
using System.Collections.Generic;
using System.Collections.Specialized;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace OrderTrace
{
    /// <summary>
    /// The stage whose context outgoing <see cref="HttpClient"/> calls carry (through
    /// <see cref="OrderTraceHandler"/>), flowing with async calls like any <see cref="AsyncLocal{T}"/>.
    /// <code>
    /// using (var stage = tracer.StartStage(OrderEvent.PriceCalculated, orderId, userId, incoming))
    /// using (OrderContext.Enter(stage))
    /// {
    ///     await client.PostAsync(url, content);   // carries traceparent and baggage
    /// }
    /// </code>
    /// </summary>
    public static class OrderContext
    {
        private static readonly AsyncLocal<StageScope> current = new AsyncLocal<StageScope>();

        /// <summary>The current stage, or null.</summary>
        public static StageScope Current
        {
            get { return current.Value; }
        }

        /// <summary>Makes <paramref name="stage"/> current until the returned value is disposed (then the previous one is again).</summary>
        public static IDisposable Enter(StageScope stage)
        {
            if (stage == null) throw new ArgumentNullException("stage");
            var previous = current.Value;
            current.Value = stage;
            return new Restore(previous);
        }

        private sealed class Restore : IDisposable
        {
            private readonly StageScope previous;
            private int disposed;

            public Restore(StageScope previous)
            {
                this.previous = previous;
            }

            public void Dispose()
            {
                if (Interlocked.Exchange(ref disposed, 1) == 0) current.Value = previous;
            }
        }
    }

    /// <summary>
    /// A <see cref="DelegatingHandler"/> for <see cref="HttpClient"/> that writes the order's context
    /// (<c>traceparent</c>, <c>tracestate</c>, <c>baggage</c>) into every outgoing request: the stage
    /// set on the request with <see cref="ForStage"/>, else <see cref="OrderContext.Current"/>. Headers
    /// of the same names already on the request are replaced; a request outside any stage is sent as it is.
    /// <code>
    /// var client = new HttpClient(new OrderTraceHandler(new HttpClientHandler()));
    /// </code>
    /// </summary>
    public sealed class OrderTraceHandler : DelegatingHandler
    {
        /// <summary>The request property naming the stage a request belongs to.</summary>
        public const string StageProperty = "OrderTrace.Stage";

        /// <summary>A handler in front of <see cref="HttpClientHandler"/>.</summary>
        public OrderTraceHandler() : base(new HttpClientHandler()) { }

        /// <summary>A handler in front of <paramref name="inner"/>.</summary>
        public OrderTraceHandler(HttpMessageHandler inner) : base(inner) { }

        /// <summary>Ties <paramref name="request"/> to <paramref name="stage"/>, whatever stage is current when it is sent.</summary>
        public static HttpRequestMessage ForStage(HttpRequestMessage request, StageScope stage)
        {
            if (request == null) throw new ArgumentNullException("request");
            if (stage == null) throw new ArgumentNullException("stage");
            request.Properties[StageProperty] = stage;
            return request;
        }

        /// <summary>Writes the stage's headers, then sends.</summary>
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request == null) throw new ArgumentNullException("request");
            object tied;
            var stage = request.Properties.TryGetValue(StageProperty, out tied) ? tied as StageScope : OrderContext.Current;
            if (stage != null)
            {
                foreach (var header in stage.Headers())
                {
                    request.Headers.Remove(header.Key);
                    request.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
            }
            return base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>
    /// The order's context of an incoming HTTP request (<see cref="HttpListenerRequest"/>, or any
    /// <see cref="NameValueCollection"/> of headers), for <see cref="OrderTracer.StartStage"/>:
    /// <code>
    /// var request = listenerContext.Request;
    /// using (var stage = tracer.StartStage(OrderEvent.PriceCalculated, orderId, null,
    ///            IncomingRequest.Headers(request), null, StageKind.Server)) { ... }
    /// </code>
    /// </summary>
    public static class IncomingRequest
    {
        /// <summary>The request's <c>traceparent</c>, <c>tracestate</c> and <c>baggage</c> headers (names case-insensitive); others are left out.</summary>
        public static IDictionary<string, string> Headers(HttpListenerRequest request)
        {
            if (request == null) throw new ArgumentNullException("request");
            return Headers(request.Headers);
        }

        /// <summary>The propagation headers of a header collection; repeated headers are joined with commas, as HTTP allows.</summary>
        public static IDictionary<string, string> Headers(NameValueCollection headers)
        {
            if (headers == null) throw new ArgumentNullException("headers");
            var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var name in Propagation.Names)
            {
                var value = headers[name];
                if (value != null) result[name] = value;
            }
            return result;
        }
    }
}
