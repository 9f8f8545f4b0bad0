using System;

namespace OrderTrace
{
    /// <summary>
    /// Why a call into ordertrace failed: the status table of the core (<c>status_codes</c> in
    /// <see cref="OrderTracer.SchemaJson"/>, <c>OtStatus</c> in C), without its OK entry. A test
    /// checks this enum against that table, so a code cannot be missing here.
    /// </summary>
    public enum OrderTraceErrorCode
    {
        /// <summary>Caller input rejected (order id, user id, attribute, status).</summary>
        InvalidInput = 1,
        /// <summary>Not one of the eight canonical events.</summary>
        UnknownEvent = 2,
        /// <summary>A propagation header is malformed.</summary>
        MalformedHeader = 3,
        /// <summary>Invalid pipeline configuration.</summary>
        InvalidConfig = 4,
        /// <summary>The export pipeline could not start.</summary>
        PipelineStart = 5,
        /// <summary>Flush or shutdown did not finish in time.</summary>
        Timeout = 6,
        /// <summary>An export failed.</summary>
        Export = 7,
        /// <summary>The tracer has been shut down.</summary>
        ShutDown = 8,
        /// <summary>An OTLP/JSON document could not be read.</summary>
        OtlpJson = 9,
        /// <summary>A file could not be read or written.</summary>
        File = 10,
        /// <summary>A required argument was missing.</summary>
        NullPointer = 20,
        /// <summary>A string was not valid UTF-8.</summary>
        InvalidUtf8 = 21,
        /// <summary>The stage has already ended.</summary>
        Closed = 22,
        /// <summary>A bug inside ordertrace (a Rust panic, caught at the boundary).</summary>
        Panic = 23,
        /// <summary>The native library could not be loaded.</summary>
        NativeLibrary = 100,
    }

    /// <summary>An error reported by ordertrace, with its code and a message meant for people.</summary>
    public sealed class OrderTraceException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public OrderTraceException(OrderTraceErrorCode code, string message) : base(message)
        {
            Code = code;
        }

        /// <summary>What kind of failure this is.</summary>
        public OrderTraceErrorCode Code { get; private set; }

        /// <summary>
        /// Caller input for a message: at most 48 characters, quoted, with its length when cut (as the core
        /// quotes input, so a 1 MiB argument never becomes a 1 MiB message).
        /// </summary>
        internal static string Quoted(string input)
        {
            if (input == null) return "null";
            if (input.Length <= 48) return "\"" + input + "\"";
            return "\"" + input.Substring(0, 48) + "\"... (" + input.Length + " chars)";
        }
    }
}
