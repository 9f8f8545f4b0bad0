using System;
using System.Collections.Generic;
using System.Threading;

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
        /// <summary>Set in <see cref="state"/> once Dispose was called.</summary>
        private const int Disposed = int.MinValue;
        /// <summary><see cref="state"/> once the stage is freed: Disposed, no call in flight, and released (exactly once).</summary>
        private const int Released = int.MinValue | 0x40000000;

        /// <summary>The native stage; freed once, by <see cref="Release"/> or by the handle's finalizer.</summary>
        private readonly IntPtr stage;
        /// <summary>Frees the stage if this scope is never disposed; null once released.</summary>
        private StageHandle handle;
        /// <summary>
        /// Native calls in flight on this stage (from any thread), plus <see cref="Disposed"/>:
        /// what the SafeHandle's reference count did when it was passed to each call. The stage is
        /// freed when it is disposed and no call uses it, by whichever of Dispose and the last
        /// call comes last.
        /// </summary>
        private int state;

        internal StageScope(IntPtr stage, OrderEvent orderEvent, string orderId)
        {
            this.stage = stage;
            handle = StageHandle.Take(stage);
            Event = orderEvent;
            OrderId = orderId;
        }

        /// <summary>The event this stage records.</summary>
        public OrderEvent Event { get; private set; }

        /// <summary>The order.</summary>
        public string OrderId { get; private set; }

        /// <summary>The native stage for one call; pair with <see cref="Exit"/> in a finally.</summary>
        private IntPtr Enter()
        {
            if (Interlocked.Increment(ref state) < 0)
            {
                Exit();
                throw new ObjectDisposedException("StageScope");
            }
            return stage;
        }

        private void Exit()
        {
            if (Interlocked.Decrement(ref state) == Disposed && Interlocked.CompareExchange(ref state, Released, Disposed) == Disposed)
            {
                Release();
            }
        }

        /// <summary>Ends the stage if still open (successfully unless it failed) and releases it.</summary>
        public void Dispose()
        {
            while (true)
            {
                var s = Volatile.Read(ref state);
                if (s < 0) return;
                // No call in flight (the common case): release now. Otherwise the last call does.
                if (Interlocked.CompareExchange(ref state, s == 0 ? Released : s | Disposed, s) == s)
                {
                    if (s == 0) Release();
                    return;
                }
            }
        }

        /// <summary>
        /// Frees the native stage (ending it if open). The handle stops pointing at it first, so
        /// its finalizer cannot free it again, and goes back to the thread's pool.
        /// </summary>
        private void Release()
        {
            var h = handle;
            handle = null;
            StageHandle.Return(h);
            if (MonoDirectCalls.Enabled) MonoDirectCalls.Free(stage);
            else Native.ot_stage_free(stage);
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
            var p = Enter();
            try
            {
                Native.Check(Native.ot_stage_ids(p, trace, span, out error), error);
            }
            finally
            {
                Exit();
            }
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
                var p = Enter();
                try
                {
                    var a = ToNative(s, key, value);
                    IntPtr error;
                    Native.Check(Native.ot_stage_set_attribute(p, ref a, out error), error);
                }
                finally
                {
                    Exit();
                }
            }
        }

        /// <summary>Records the calculated price.</summary>
        public void RecordPrice(decimal amount, string currency)
        {
            if (currency == null) throw new ArgumentNullException("currency");
            using (var s = NativeStrings.Rent())
            {
                IntPtr error;
                var p = Enter();
                try
                {
                    Native.Check(Native.ot_stage_record_price(p, (double)amount, s.Str(currency), out error), error);
                }
                finally
                {
                    Exit();
                }
            }
        }

        /// <summary>Records an exception (its .NET type, message and stack trace) and keeps the stage open.</summary>
        public void RecordException(Exception exception)
        {
            SendException(exception, false);
        }

        /// <summary>Ends the stage as failed with this exception.</summary>
        public void Fail(Exception exception)
        {
            SendException(exception, true);
        }

        /// <summary>The exception's type, message and stack trace to the stage: recorded, or ending it when <paramref name="end"/>.</summary>
        private void SendException(Exception exception, bool end)
        {
            if (exception == null) throw new ArgumentNullException("exception");
            using (var s = NativeStrings.Rent())
            {
                IntPtr error;
                var p = Enter();
                try
                {
                    var type = s.Str(TypeOf(exception));
                    var message = s.Str(exception.Message);
                    var stacktrace = s.Str(exception.ToString());
                    Native.Check(end
                        ? Native.ot_stage_end_with_error(p, type, message, stacktrace, out error)
                        : Native.ot_stage_record_error(p, type, message, stacktrace, out error), error);
                }
                finally
                {
                    Exit();
                }
            }
        }

        /// <summary>Ends the stage successfully.</summary>
        public void Complete()
        {
            IntPtr error;
            var p = Enter();
            try
            {
                Native.Check(Native.ot_stage_end(p, out error), error);
            }
            finally
            {
                Exit();
            }
        }

        /// <summary>The headers to send on the next hop (traceparent, tracestate, baggage).</summary>
        public IDictionary<string, string> Headers()
        {
            IntPtr list;
            IntPtr error;
            var p = Enter();
            try
            {
                Native.Check(Native.ot_stage_inject(p, out list, out error), error);
            }
            finally
            {
                Exit();
            }
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var kv in Native.TakeHeaders(list)) headers[kv.Key] = kv.Value;
            return headers;
        }

        private static string TypeOf(Exception e)
        {
            return e.GetType().FullName ?? e.GetType().Name;
        }

    }
}
