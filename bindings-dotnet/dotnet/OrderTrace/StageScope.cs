using System;
using System.Collections.Generic;

namespace OrderTrace
{
    /// <summary>What a stage's span stands for.</summary>
    public enum StageKind
    {
        /// <summary>Work inside the service.</summary>
        Internal = 0,
        /// <summary>Handling an incoming request.</summary>
        Server = 1,
        /// <summary>Making an outgoing request.</summary>
        Client = 2,
        /// <summary>Publishing a message.</summary>
        Producer = 3,
        /// <summary>Processing a message.</summary>
        Consumer = 4,
    }

    /// <summary>
    /// A running stage. Dispose ends it: successfully, or as failed after <see cref="Fail"/>.
    /// Calls after it ended throw <see cref="OrderTraceException"/> with code <see cref="OrderTraceErrorCode.Closed"/>.
    /// </summary>
    public sealed class StageScope : IDisposable
    {
        private readonly StageHandle handle;

        internal StageScope(StageHandle handle, OrderEvent orderEvent, string orderId)
        {
            this.handle = handle;
            Event = orderEvent;
            OrderId = orderId;
        }

        /// <summary>The event this stage records.</summary>
        public OrderEvent Event { get; private set; }

        /// <summary>The order.</summary>
        public string OrderId { get; private set; }

        private StageHandle Handle
        {
            get
            {
                if (handle.IsClosed) throw new ObjectDisposedException("StageScope");
                return handle;
            }
        }

        /// <summary>Trace id, 32 hex characters.</summary>
        public string TraceId { get { return Ids()[0]; } }

        /// <summary>Span id of this stage, 16 hex characters.</summary>
        public string SpanId { get { return Ids()[1]; } }

        private string[] Ids()
        {
            var trace = new byte[32];
            var span = new byte[16];
            IntPtr error;
            Native.Check(Native.ot_stage_ids(Handle, trace, span, out error), error);
            return new[] { System.Text.Encoding.ASCII.GetString(trace), System.Text.Encoding.ASCII.GetString(span) };
        }

        private static readonly Native.OtAttribute[] NoAttributes = new Native.OtAttribute[0];

        internal static Native.OtAttribute[] ToNative(NativeStrings s, IDictionary<string, object> attributes)
        {
            if (attributes == null || attributes.Count == 0) return NoAttributes;
            var list = new List<Native.OtAttribute>();
            foreach (var kv in attributes)
            {
                list.Add(ToNative(s, kv.Key, kv.Value));
            }
            return list.ToArray();
        }

        internal static Native.OtAttribute ToNative(NativeStrings s, string key, object value)
        {
            if (key == null) throw new ArgumentNullException("key");
            var a = new Native.OtAttribute { Key = s.Str(key) };
            if (value is bool)
            {
                a.Kind = Native.AttrBool;
                a.IntValue = (bool)value ? 1 : 0;
            }
            else if (value is int || value is long || value is short || value is byte)
            {
                a.Kind = Native.AttrInt;
                a.IntValue = Convert.ToInt64(value);
            }
            else if (value is double || value is float || value is decimal)
            {
                a.Kind = Native.AttrDouble;
                a.DoubleValue = Convert.ToDouble(value);
            }
            else
            {
                if (value == null) throw new ArgumentNullException("value", "attribute " + OrderTraceException.Quoted(key) + " has no value");
                a.Kind = Native.AttrString;
                a.StringValue = s.Str(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
            }
            return a;
        }

        /// <summary>Sets an attribute (string, integer, floating point or bool value).</summary>
        public void SetAttribute(string key, object value)
        {
            using (var s = NativeStrings.Rent())
            {
                var a = ToNative(s, key, value);
                IntPtr error;
                Native.Check(Native.ot_stage_set_attribute(Handle, ref a, out error), error);
            }
        }

        /// <summary>Records the calculated price.</summary>
        public void RecordPrice(decimal amount, string currency)
        {
            if (currency == null) throw new ArgumentNullException("currency");
            using (var s = NativeStrings.Rent())
            {
                IntPtr error;
                Native.Check(Native.ot_stage_record_price(Handle, (double)amount, s.Str(currency), out error), error);
            }
        }

        /// <summary>Records an exception (its .NET type, message and stack trace) and keeps the stage open.</summary>
        public void RecordException(Exception exception)
        {
            if (exception == null) throw new ArgumentNullException("exception");
            using (var s = NativeStrings.Rent())
            {
                IntPtr error;
                Native.Check(Native.ot_stage_record_error(Handle, s.Str(TypeOf(exception)), s.Str(exception.Message),
                    s.Str(exception.ToString()), out error), error);
            }
        }

        /// <summary>Ends the stage as failed with this exception.</summary>
        public void Fail(Exception exception)
        {
            if (exception == null) throw new ArgumentNullException("exception");
            using (var s = NativeStrings.Rent())
            {
                IntPtr error;
                Native.Check(Native.ot_stage_end_with_error(Handle, s.Str(TypeOf(exception)), s.Str(exception.Message),
                    s.Str(exception.ToString()), out error), error);
            }
        }

        /// <summary>Ends the stage successfully.</summary>
        public void Complete()
        {
            IntPtr error;
            Native.Check(Native.ot_stage_end(Handle, out error), error);
        }

        /// <summary>The headers to send on the next hop (traceparent, tracestate, baggage).</summary>
        public IDictionary<string, string> Headers()
        {
            IntPtr list;
            IntPtr error;
            Native.Check(Native.ot_stage_inject(Handle, out list, out error), error);
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var kv in Native.TakeHeaders(list)) headers[kv.Key] = kv.Value;
            return headers;
        }

        private static string TypeOf(Exception e)
        {
            return e.GetType().FullName ?? e.GetType().Name;
        }

        /// <summary>Ends the stage if still open (successfully unless it failed) and releases it.</summary>
        public void Dispose()
        {
            handle.Dispose();
        }
    }
}
