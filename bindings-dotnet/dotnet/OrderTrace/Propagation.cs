using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace OrderTrace
{
    /// <summary>
    /// Trace context in and out of HTTP headers (<c>IDictionary&lt;string,string&gt;</c>) and RabbitMQ message
    /// headers (<c>IDictionary&lt;string,object&gt;</c>, whose values the .NET client delivers as byte[]).
    /// </summary>
    public static class Propagation
    {
        // The core's propagation headers (schema: propagation.headers; a test compares them).
        internal static readonly string[] Names = { "traceparent", "tracestate", "baggage" };

        /// <summary>Writes the stage's headers into an outgoing HTTP request's headers.</summary>
        public static void Inject(StageScope stage, IDictionary<string, string> headers)
        {
            if (stage == null) throw new ArgumentNullException("stage");
            if (headers == null) throw new ArgumentNullException("headers");
            foreach (var kv in stage.Headers()) headers[kv.Key] = kv.Value;
        }

        /// <summary>Writes the stage's headers into a RabbitMQ message's headers, as UTF-8 byte[] like the broker delivers them.</summary>
        public static void Inject(StageScope stage, IDictionary<string, object> headers)
        {
            if (stage == null) throw new ArgumentNullException("stage");
            if (headers == null) throw new ArgumentNullException("headers");
            foreach (var kv in stage.Headers()) headers[kv.Key] = Encoding.UTF8.GetBytes(kv.Value);
        }

        /// <summary>
        /// The propagation headers of a RabbitMQ message as HTTP-style strings, for
        /// <see cref="OrderTracer.StartStage"/>. byte[] values are UTF-8; others are converted with ToString().
        /// </summary>
        public static IDictionary<string, string> FromMessageHeaders(IDictionary<string, object> headers)
        {
            var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (headers == null) return result;
            foreach (var kv in headers)
            {
                if (!Names.Contains(kv.Key, StringComparer.OrdinalIgnoreCase) || kv.Value == null) continue;
                var bytes = kv.Value as byte[];
                result[kv.Key] = bytes != null ? Encoding.UTF8.GetString(bytes) : kv.Value.ToString();
            }
            return result;
        }

        /// <summary>
        /// Checks incoming headers strictly by the W3C rules; throws <see cref="OrderTraceException"/>
        /// (<see cref="OrderTraceErrorCode.MalformedHeader"/>) naming what is wrong. Starting a stage does not
        /// need this: it leaves malformed headers out and still joins the order's trace.
        /// </summary>
        public static void Check(IDictionary<string, string> headers)
        {
            var pairs = ToPairs(headers);
            using (var s = new NativeStrings())
            {
                var list = pairs.Select(p => new Native.OtHeader { Key = s.Str(p.Key), Value = s.Bytes(p.Value) }).ToArray();
                Native.Check(Native.ot_headers_check(list, (UIntPtr)list.Length));
            }
        }

        /// <summary>
        /// Checks a RabbitMQ message's propagation headers strictly, bytes as they arrived: invalid UTF-8 gives
        /// <see cref="OrderTraceErrorCode.InvalidUtf8"/>, a malformed value <see cref="OrderTraceErrorCode.MalformedHeader"/>.
        /// </summary>
        public static void Check(IDictionary<string, object> messageHeaders)
        {
            if (messageHeaders == null) return;
            using (var s = new NativeStrings())
            {
                var list = messageHeaders
                    .Where(kv => kv.Key != null && kv.Value != null && Names.Contains(kv.Key, StringComparer.OrdinalIgnoreCase))
                    .Select(kv => new Native.OtHeader
                    {
                        Key = s.Str(kv.Key),
                        Value = kv.Value is byte[] ? s.Bytes((byte[])kv.Value) : s.Str(kv.Value.ToString()),
                    })
                    .ToArray();
                Native.Check(Native.ot_headers_check(list, (UIntPtr)list.Length));
            }
        }

        internal static KeyValuePair<string, byte[]>[] ToPairs(IDictionary<string, string> headers)
        {
            if (headers == null) return new KeyValuePair<string, byte[]>[0];
            return headers
                .Where(kv => kv.Key != null && kv.Value != null && Names.Contains(kv.Key, StringComparer.OrdinalIgnoreCase))
                .Select(kv => new KeyValuePair<string, byte[]>(kv.Key, Encoding.UTF8.GetBytes(kv.Value)))
                .ToArray();
        }
    }
}
