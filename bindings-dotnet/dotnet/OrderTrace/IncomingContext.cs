using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;

namespace OrderTrace
{
    /// <summary>
    /// What arrived with a request or message, read by the core exactly as starting a stage reads it (see
    /// <see cref="Propagation.Extract(IEnumerable{KeyValuePair{string, string}})"/>): the caller's trace id and
    /// span id, the order id and user id from baggage (only ones a stage would accept), what was wrong or left
    /// out, and the headers a hop without a stage of its own sends on unchanged.
    /// </summary>
    public sealed class IncomingContext
    {
        internal IncomingContext(List<KeyValuePair<string, string>> forward, List<KeyValuePair<string, string>> read)
        {
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var kv in forward) headers[kv.Key] = kv.Value;
            Headers = new ReadOnlyDictionary<string, string>(headers);
            var problems = new List<string>();
            foreach (var kv in read)
            {
                switch (kv.Key)
                {
                    case "trace_id": TraceId = kv.Value; break;
                    case "parent_id": ParentId = kv.Value; break;
                    case "order_id": OrderId = kv.Value; break;
                    case "user_id": UserId = kv.Value; break;
                    case "problem": problems.Add(kv.Value); break;
                    default:
                        throw new OrderTraceException(OrderTraceErrorCode.NativeLibrary,
                            "the native library sent an unknown field " + kv.Key + "; assembly and library do not match");
                }
            }
            Problems = problems.AsReadOnly();
        }

        /// <summary>The caller's trace id (32 lowercase hex characters); null when no valid traceparent arrived.</summary>
        public string TraceId { get; private set; }

        /// <summary>The caller's span id (16 lowercase hex characters); null when no valid traceparent arrived.</summary>
        public string ParentId { get; private set; }

        /// <summary>The order id from incoming baggage, when a stage would accept it; otherwise null.</summary>
        public string OrderId { get; private set; }

        /// <summary>The user id from incoming baggage, when a stage would accept it; otherwise null.</summary>
        public string UserId { get; private set; }

        /// <summary>One line per thing that was malformed or dropped over a limit, in the order found.</summary>
        public IList<string> Problems { get; private set; }

        /// <summary>traceparent, tracestate and baggage as they would be sent on unchanged (a header that was ignored is absent).</summary>
        public IDictionary<string, string> Headers { get; private set; }
    }
}
