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
        public static void Check(IEnumerable<KeyValuePair<string, string>> headers)
        {
            var pairs = ToPairs(headers);
            using (var s = NativeStrings.Rent())
            {
                var list = pairs.Select(p => new Native.OtHeader { Key = s.Str(p.Key), Value = s.Bytes(p.Value) }).ToArray();
                IntPtr error;
                Native.Check(Native.ot_headers_check(list, (UIntPtr)list.Length, out error), error);
            }
        }

        /// <summary>
        /// Checks a RabbitMQ message's propagation headers strictly, bytes as they arrived: invalid UTF-8 gives
        /// <see cref="OrderTraceErrorCode.InvalidUtf8"/>, a malformed value <see cref="OrderTraceErrorCode.MalformedHeader"/>.
        /// </summary>
        public static void Check(IEnumerable<KeyValuePair<string, object>> messageHeaders)
        {
            using (var s = NativeStrings.Rent())
            {
                var list = MessageHeaders(s, messageHeaders);
                IntPtr error;
                Native.Check(Native.ot_headers_check(list, (UIntPtr)list.Length, out error), error);
            }
        }

        /// <summary>
        /// Reads incoming headers exactly as starting a stage does: malformed parts are left out and listed in
        /// <see cref="IncomingContext.Problems"/>; nothing throws for a bad header value. A name may appear more
        /// than once (a header that arrived on several lines, in order). Only traceparent, tracestate and baggage
        /// are looked at.
        /// </summary>
        public static IncomingContext Extract(IEnumerable<KeyValuePair<string, string>> headers)
        {
            var pairs = ToPairs(headers);
            using (var s = NativeStrings.Rent())
            {
                var list = pairs.Select(p => new Native.OtHeader { Key = s.Str(p.Key), Value = s.Bytes(p.Value) }).ToArray();
                return ExtractNative(list);
            }
        }

        /// <summary>
        /// Like <see cref="Extract(IEnumerable{KeyValuePair{string, string}})"/> for RabbitMQ message headers:
        /// byte[] values are read as the bytes that arrived (not decoded first), others with ToString().
        /// </summary>
        public static IncomingContext Extract(IEnumerable<KeyValuePair<string, object>> messageHeaders)
        {
            using (var s = NativeStrings.Rent())
            {
                return ExtractNative(MessageHeaders(s, messageHeaders));
            }
        }

        private static IncomingContext ExtractNative(Native.OtHeader[] list)
        {
            IntPtr forward, read;
            IntPtr error;
            Native.Check(Native.ot_headers_extract(list, (UIntPtr)list.Length, out forward, out read, out error), error);
            var forwardItems = Native.TakeHeaders(forward);
            return new IncomingContext(forwardItems, Native.TakeHeaders(read));
        }

        private static Native.OtHeader[] MessageHeaders(NativeStrings s, IEnumerable<KeyValuePair<string, object>> headers)
        {
            if (headers == null) return new Native.OtHeader[0];
            return headers
                .Where(kv => kv.Key != null && kv.Value != null && Names.Contains(kv.Key, StringComparer.OrdinalIgnoreCase))
                .Select(kv => new Native.OtHeader
                {
                    Key = s.Str(kv.Key),
                    Value = kv.Value is byte[] ? s.Bytes((byte[])kv.Value) : s.Str(kv.Value.ToString()),
                })
                .ToArray();
        }

        private static readonly KeyValuePair<string, byte[]>[] NoPairs = new KeyValuePair<string, byte[]>[0];

        internal static KeyValuePair<string, byte[]>[] ToPairs(IEnumerable<KeyValuePair<string, string>> headers)
        {
            if (headers == null) return NoPairs;
            return headers
                .Where(kv => kv.Key != null && kv.Value != null && Names.Contains(kv.Key, StringComparer.OrdinalIgnoreCase))
                .Select(kv => new KeyValuePair<string, byte[]>(kv.Key, Encoding.UTF8.GetBytes(kv.Value)))
                .ToArray();
        }
    }
}
