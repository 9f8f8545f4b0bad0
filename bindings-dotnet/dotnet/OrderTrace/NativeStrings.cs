using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace OrderTrace
{
    /// <summary>
    /// The strings and arrays one native call needs, valid for the length of the call and
    /// released together when it returns. Strings cross as UTF-8 with explicit lengths,
    /// encoded straight into the calling thread's native buffer: allocated once per thread
    /// (not per string, not per call) and outside the managed heap, so it needs no pinning.
    /// A string that does not fit gets its own pinned array; raw bytes and struct arrays
    /// (blittable) are pinned where they are, not copied.
    /// </summary>
    /// <example><code>
    /// using (var s = NativeStrings.Rent())
    /// {
    ///     Native.Check(Native.ot_order_id_check(s.Str(orderId), out error), error);
    /// }
    /// </code></example>
    internal sealed unsafe class NativeStrings : IDisposable
    {
        /// <summary>Size of the per-thread UTF-8 buffer: a stage's ids, event and a few
        /// attributes fit many times over.</summary>
        private const int ArenaSize = 4096;

        /// <summary>
        /// Bytes at the end of the buffer for each remembered id (<see cref="OrderId"/>,
        /// <see cref="UserId"/>): an order id or user id up to this long in UTF-8 is kept between calls.
        /// </summary>
        private const int IdSlotSize = 128;
        private const int OrderIdSlot = ArenaSize - 2 * IdSlotSize;
        private const int UserIdSlot = ArenaSize - IdSlotSize;
        /// <summary>End of the part of the buffer a call's strings use (the id slots follow it).</summary>
        private const int CallLimit = OrderIdSlot;

        /// <summary>The calling thread's instance while no call of this thread uses it.</summary>
        [ThreadStatic] private static NativeStrings idle;

        /// <summary>The native buffer; freed by the finalizer once the thread that used it is gone.</summary>
        private readonly byte* arena;
        private int used;
        /// <summary>Where the strings being written must end: <see cref="CallLimit"/>, or an id slot's end while it is written.</summary>
        private int limit = CallLimit;
        /// <summary>
        /// The last order id and user id sent from this thread, and their bytes in the id slots;
        /// <see cref="NotKept"/> after one that did not fit (its bytes were pinned for one call).
        /// </summary>
        private object lastOrderId, lastUserId;
        private static readonly object NotKept = new object();
        private Native.OtStr lastOrderIdStr, lastUserIdStr;
        /// <summary>Pins beyond the buffer (long strings, raw bytes, struct arrays); most calls have none.</summary>
        private List<GCHandle> pins;

        private NativeStrings()
        {
            arena = (byte*)Marshal.AllocHGlobal(ArenaSize);
        }

        /// <summary>
        /// The calling thread's instance (made on the thread's first call); Dispose hands it back.
        /// A nested call on the same thread finds none idle and gets its own.
        /// </summary>
        internal static NativeStrings Rent()
        {
            var s = idle;
            if (s == null) return new NativeStrings();
            idle = null;
            return s;
        }

        /// <summary>The event's wire name, UTF-8 in process-lifetime native memory (no copy per call).</summary>
        internal static Native.OtStr Event(OrderEvent orderEvent)
        {
            var i = (int)orderEvent;
            if (i < 0 || i >= EventNames.Length) throw new ArgumentOutOfRangeException("orderEvent", orderEvent, "not an order event");
            return EventNames[i];
        }

        /// <summary>Encoded once, on first use, and never freed (eight short strings for the process).</summary>
        private static readonly Native.OtStr[] EventNames = EncodeEventNames();

        private static Native.OtStr[] EncodeEventNames()
        {
            var events = OrderEvents.All();
            var names = new Native.OtStr[events.Length];
            foreach (var e in events)
            {
                var bytes = Encoding.UTF8.GetBytes(e.WireName());
                var p = Marshal.AllocHGlobal(bytes.Length);
                Marshal.Copy(bytes, 0, p, bytes.Length);
                names[(int)e] = new Native.OtStr { Ptr = p, Len = Native.Size(bytes.Length) };
            }
            return names;
        }

        /// <summary>The bits that are set in four UTF-16 chars read as one ulong when any is beyond ASCII.</summary>
        private const ulong NonAscii = 0xFF80FF80FF80FF80UL;

        /// <summary>
        /// Narrowing four ASCII chars read as one ulong (16 bits each, high byte zero) to four
        /// bytes: <c>w = (w | w &gt;&gt; 8) &amp; Pairs</c> puts them in two 16-bit pairs, <c>w | w &gt;&gt; 16</c>
        /// joins the pairs in the low 32 bits. Written out in Str: Mono does not inline a helper here.
        /// </summary>
        private const ulong Pairs = 0x0000FFFF0000FFFFUL;

        internal Native.OtStr Str(string value)
        {
            var s = default(Native.OtStr);
            if (value == null) return s;
            var length = value.Length;
            if (length == 0) return s;
            var room = limit - used;
            var dst = arena + used;
            if (length <= room)
            {
                // ASCII (ids, statuses, most attributes) is copied char by char: under Mono the
                // UTF8Encoding calls were a third of a stage (BENCHMARKS.md). The first char
                // beyond ASCII sends the string the general way.
                fixed (char* src = value)
                {
                    var i = 0;
                    // Eight, then four chars a step while none has a bit above 0x7F (Mono's JIT
                    // does not vectorise: a char a step was about 26 instructions per char).
                    while (i + 8 <= length)
                    {
                        var lo = *(ulong*)(src + i);
                        var hi = *(ulong*)(src + i + 4);
                        if (((lo | hi) & NonAscii) != 0) break;
                        lo = (lo | (lo >> 8)) & Pairs;
                        hi = (hi | (hi >> 8)) & Pairs;
                        *(ulong*)(dst + i) = ((lo | (lo >> 16)) & 0xFFFFFFFFUL) | ((hi | (hi >> 16)) << 32);
                        i += 8;
                    }
                    if (i + 4 <= length)
                    {
                        var w = *(ulong*)(src + i);
                        if ((w & NonAscii) == 0)
                        {
                            w = (w | (w >> 8)) & Pairs;
                            *(uint*)(dst + i) = (uint)(w | (w >> 16));
                            i += 4;
                        }
                    }
                    while (i < length)
                    {
                        var c = src[i];
                        if (c >= 0x80) break;
                        dst[i] = (byte)c;
                        i++;
                    }
                    if (i == length)
                    {
                        s.Ptr = (IntPtr)dst;
                        s.Len = Native.Size(length);
                        used += length;
                        return s;
                    }
                    // The UTF-8 length is at most 3 bytes per UTF-16 unit: check room without a count pass.
                    if (length * 3 <= room)
                    {
                        var n = Encoding.UTF8.GetBytes(src, length, dst, room);
                        s.Ptr = (IntPtr)dst;
                        s.Len = Native.Size(n);
                        used += n;
                        return s;
                    }
                }
            }
            var bytes = Encoding.UTF8.GetBytes(value);
            s.Ptr = Pin(bytes);
            s.Len = Native.Size(bytes.Length);
            return s;
        }

        /// <summary>
        /// An order id as <see cref="Str"/> sends it. The thread's last order id string is
        /// remembered with its bytes: the same string object (reference, not content: a string
        /// cannot change) is not encoded again, as when a request's stages pass on the order id
        /// they were given. Another string costs one compare more than Str.
        /// </summary>
        internal Native.OtStr OrderId(string value)
        {
            if ((object)value != lastOrderId) lastOrderIdStr = Remember(value, OrderIdSlot, out lastOrderId);
            return lastOrderIdStr;
        }

        /// <summary>A user id, remembered as <see cref="OrderId"/> remembers an order id.</summary>
        internal Native.OtStr UserId(string value)
        {
            if ((object)value != lastUserId) lastUserIdStr = Remember(value, UserIdSlot, out lastUserId);
            return lastUserIdStr;
        }

        /// <summary>
        /// <paramref name="value"/> encoded into the id slot at <paramref name="start"/>, where it
        /// stays valid after the call; <paramref name="remembered"/> is the string to compare the
        /// next one with: <paramref name="value"/>, or <see cref="NotKept"/> when it did not fit
        /// and was pinned for this call only.
        /// </summary>
        private Native.OtStr Remember(string value, int start, out object remembered)
        {
            var callUsed = used;
            used = start;
            limit = start + IdSlotSize;
            var s = Str(value);
            used = callUsed;
            limit = CallLimit;
            var p = (byte*)s.Ptr;
            var kept = p == null || (p >= arena + start && p < arena + start + IdSlotSize);
            remembered = kept ? value : NotKept;
            return s;
        }

        /// <summary>
        /// Room for one <see cref="Native.OtStageStart"/> in the thread's native buffer, valid until
        /// Dispose. Call it first, while the buffer is empty: the struct is written in place
        /// field by field, with none of the managed struct's zeroing and copying.
        /// </summary>
        internal Native.OtStageStart* StageStart()
        {
            // The buffer is 16-byte aligned; keep the struct on an 8-byte boundary.
            var offset = (used + 7) & ~7;
            if (offset + sizeof(Native.OtStageStart) > CallLimit)
                throw new InvalidOperationException("NativeStrings.StageStart: call it before the strings");
            used = offset + sizeof(Native.OtStageStart);
            return (Native.OtStageStart*)(arena + offset);
        }

        /// <summary>Raw bytes as they are (for headers that arrive as byte[], and for tests of invalid UTF-8).</summary>
        internal Native.OtStr Bytes(byte[] bytes)
        {
            var s = default(Native.OtStr);
            if (bytes == null || bytes.Length == 0) return s;
            s.Ptr = Pin(bytes);
            s.Len = Native.Size(bytes.Length);
            return s;
        }

        /// <summary>A pointer to the first of <paramref name="items"/> (blittable structs), pinned until Dispose.</summary>
        internal IntPtr Array<T>(T[] items) where T : struct
        {
            if (items == null || items.Length == 0) return IntPtr.Zero;
            return Pin(items);
        }

        private IntPtr Pin(object array)
        {
            var h = GCHandle.Alloc(array, GCHandleType.Pinned);
            if (pins == null) pins = new List<GCHandle>(4);
            pins.Add(h);
            return h.AddrOfPinnedObject();
        }

        /// <summary>Releases this call's pins and hands the buffer back to the thread for its next call.</summary>
        public void Dispose()
        {
            if (pins != null)
            {
                foreach (var h in pins) h.Free();
                pins = null;
            }
            used = 0;
            limit = CallLimit;
            idle = this;
        }

        /// <summary>
        /// Frees the native buffer once no thread can use it any more (its thread has ended, or
        /// a nested call's instance was dropped). At process exit the runtime may finalize objects
        /// that are still reachable, while another thread could be inside a call: the buffer is
        /// left to the operating system then.
        /// </summary>
        ~NativeStrings()
        {
            if (Environment.HasShutdownStarted) return;
            Marshal.FreeHGlobal((IntPtr)arena);
        }
    }
}
