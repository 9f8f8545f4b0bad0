using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace OrderTrace
{
    /// <summary>Declarations of the ordertrace C ABI (ffi/include/ordertrace.h). Marshalling only.</summary>
    internal static class Native
    {
        internal const string Lib = "ordertrace_ffi";

        internal const int Ok = 0;
        internal const int Default = -1;
        internal const int AttrString = 0, AttrInt = 1, AttrDouble = 2, AttrBool = 3;

        [StructLayout(LayoutKind.Sequential)]
        internal struct OtStr
        {
            public IntPtr Ptr;
            public UIntPtr Len;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct OtHeader
        {
            public OtStr Key;
            public OtStr Value;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct OtAttribute
        {
            public OtStr Key;
            public int Kind;
            public OtStr StringValue;
            public long IntValue;
            public double DoubleValue;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct OtStageStart
        {
            public OtStr Event;
            public OtStr OrderId;
            public OtStr UserId;
            public IntPtr Attributes;
            public UIntPtr AttributeCount;
            public IntPtr ParentHeaders;
            public UIntPtr ParentHeaderCount;
            public int Kind;
            public OtStr StatusFrom;
            public OtStr StatusTo;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct OtTracerConfig
        {
            public OtStr ServiceName;
            public OtStr File;
            public OtStr OtlpEndpoint;
            public int OtlpProtocol;
            public int StartRecords;
            public long HeartbeatMs;
            public int Identity;
            public int ReadEnv;
            public OtStr SpoolDir;
            public int StrictIds;
            public long StartRecordAfterMs;
        }

        // Every fallible function takes a last `OtBuffer **error`: on failure a new buffer with the message
        // (taken and freed by Check), on success NULL (IntPtr.Zero, nothing to free).
        [DllImport(Lib)] internal static extern int ot_tracer_new(ref OtTracerConfig config, out TracerHandle tracer, out IntPtr error);
        [DllImport(Lib)] internal static extern int ot_tracer_from_env(out TracerHandle tracer, out IntPtr error);
        [DllImport(Lib)] internal static extern int ot_tracer_flush(TracerHandle tracer, ulong timeoutMs, out IntPtr error);
        [DllImport(Lib)] internal static extern int ot_tracer_shutdown(TracerHandle tracer, ulong timeoutMs, out IntPtr error);
        [DllImport(Lib)] internal static extern int ot_tracer_counters(TracerHandle tracer, out PipelineCounters counters, out IntPtr error);
        [DllImport(Lib)] internal static extern void ot_tracer_free(IntPtr tracer);

        [DllImport(Lib)] internal static extern int ot_stage_start(TracerHandle tracer, IntPtr start, out IntPtr stage, out IntPtr error);
        [DllImport(Lib)] internal static extern int ot_stage_set_attribute(IntPtr stage, ref OtAttribute attribute, out IntPtr error);
        [DllImport(Lib)] internal static extern int ot_stage_record_price(IntPtr stage, double amount, OtStr currency, out IntPtr error);
        [DllImport(Lib)] internal static extern int ot_stage_record_error(IntPtr stage, OtStr type, OtStr message, OtStr stacktrace, out IntPtr error);
        [DllImport(Lib)] internal static extern int ot_stage_end(IntPtr stage, out IntPtr error);
        [DllImport(Lib)] internal static extern int ot_stage_end_with_error(IntPtr stage, OtStr type, OtStr message, OtStr stacktrace, out IntPtr error);
        [DllImport(Lib)] internal static extern int ot_stage_inject(IntPtr stage, out IntPtr headers, out IntPtr error);
        [DllImport(Lib)] internal static extern int ot_stage_ids(IntPtr stage, byte[] traceId, byte[] spanId, out IntPtr error);
        [DllImport(Lib)] internal static extern void ot_stage_free(IntPtr stage);

        [DllImport(Lib)] internal static extern int ot_headers_check(OtHeader[] headers, UIntPtr count, out IntPtr error);
        [DllImport(Lib)] internal static extern int ot_headers_len(IntPtr headers, out UIntPtr count, out IntPtr error);
        [DllImport(Lib)] internal static extern int ot_headers_get(IntPtr headers, UIntPtr index, out OtStr key, out OtStr value, out IntPtr error);
        [DllImport(Lib)] internal static extern void ot_headers_free(IntPtr headers);
        [DllImport(Lib)] internal static extern int ot_headers_extract(OtHeader[] headers, UIntPtr count, out IntPtr forward, out IntPtr read, out IntPtr error);
        [DllImport(Lib)] internal static extern int ot_order_id_check(OtStr orderId, out IntPtr error);
        [DllImport(Lib)] internal static extern int ot_user_id_normalize(OtStr userId, out IntPtr buffer, out IntPtr error);

        [DllImport(Lib)] internal static extern int ot_schema_json(out IntPtr buffer, out IntPtr error);
        [DllImport(Lib)] internal static extern int ot_read_spans_json(OtStr path, out IntPtr buffer, out IntPtr error);
        [DllImport(Lib)] internal static extern int ot_buffer_str(IntPtr buffer, out OtStr text, out IntPtr error);
        [DllImport(Lib)] internal static extern void ot_buffer_free(IntPtr buffer);

        /// <summary>
        /// A length as <c>size_t</c>. <c>(UIntPtr)n</c> on an int goes through op_Explicit(ulong)
        /// and a 32-bit range check that Mono does not inline (about 45 instructions a length);
        /// lengths are never negative.
        /// </summary>
        internal static UIntPtr Size(int n)
        {
            return new UIntPtr((uint)n);
        }

        /// <summary>
        /// Throws the library's error for a failed status, with the message the call handed back in its
        /// <c>error</c> buffer (which is freed here). On success <paramref name="error"/> is IntPtr.Zero: nothing to do.
        /// </summary>
        internal static void Check(int status, IntPtr error)
        {
            if (status == Ok) return;
            throw new OrderTraceException((OrderTraceErrorCode)status, TakeMessage(error));
        }

        /// <summary>The text of a failed call's error buffer; frees it. Empty when the call handed none back.</summary>
        internal static string TakeMessage(IntPtr error)
        {
            if (error == IntPtr.Zero) return "";
            try
            {
                OtStr text;
                IntPtr unreadable;
                var status = ot_buffer_str(error, out text, out unreadable);
                if (status == Ok) return Read(text);
                ot_buffer_free(unreadable);
                return "(the error message could not be read: status " + status + ")";
            }
            finally
            {
                ot_buffer_free(error);
            }
        }

        /// <summary>Copies a native UTF-8 string (valid only until its owner is freed).</summary>
        internal static string Read(OtStr s)
        {
            var len = (int)s.Len;
            if (len == 0) return "";
            var bytes = new byte[len];
            Marshal.Copy(s.Ptr, bytes, 0, len);
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>Reads a native header list (name, value pairs in order) and frees it.</summary>
        internal static List<KeyValuePair<string, string>> TakeHeaders(IntPtr list)
        {
            try
            {
                UIntPtr count;
                IntPtr error;
                Check(ot_headers_len(list, out count, out error), error);
                var items = new List<KeyValuePair<string, string>>((int)count);
                for (ulong i = 0; i < (ulong)count; i++)
                {
                    OtStr k, v;
                    Check(ot_headers_get(list, (UIntPtr)i, out k, out v, out error), error);
                    items.Add(new KeyValuePair<string, string>(Read(k), Read(v)));
                }
                return items;
            }
            finally
            {
                ot_headers_free(list);
            }
        }

        /// <summary>Takes the text out of a native buffer and frees it.</summary>
        internal static string TakeBuffer(IntPtr buffer)
        {
            try
            {
                OtStr text;
                IntPtr error;
                Check(ot_buffer_str(buffer, out text, out error), error);
                return Read(text);
            }
            finally
            {
                ot_buffer_free(buffer);
            }
        }
    }
}
