using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace OrderTrace
{
    /// <summary>
    /// The strings and arrays one native call needs, pinned for the length of the call and
    /// released together when it returns. Strings cross as UTF-8 with explicit lengths,
    /// encoded straight into a per-thread byte buffer that is pinned once per call (no
    /// unmanaged allocation per string); a string that does not fit gets its own pinned
    /// array. Struct arrays (blittable) are pinned where they are, not copied.
    /// </summary>
    internal sealed class NativeStrings : IDisposable
    {
        /// <summary>Size of the per-thread UTF-8 buffer: a stage's ids, event and a few
        /// attributes fit many times over.</summary>
        private const int ArenaSize = 4096;

        /// <summary>The calling thread's buffer while no call of this thread uses it.</summary>
        [ThreadStatic] private static byte[] idleArena;

        private byte[] arena;
        private GCHandle arenaPin;
        private IntPtr arenaBase;
        private int used;
        /// <summary>Pins beyond the buffer (long strings, raw bytes, struct arrays); most calls have none.</summary>
        private List<GCHandle> pins;

        internal NativeStrings()
        {
            // A nested call on the same thread finds no idle buffer and takes a new one.
            arena = idleArena ?? new byte[ArenaSize];
            idleArena = null;
            arenaPin = GCHandle.Alloc(arena, GCHandleType.Pinned);
            arenaBase = arenaPin.AddrOfPinnedObject();
        }

        internal Native.OtStr Str(string value)
        {
            var s = new Native.OtStr { Ptr = IntPtr.Zero, Len = UIntPtr.Zero };
            if (string.IsNullOrEmpty(value)) return s;
            // ASCII (ids, event names, statuses) is copied char by char: under Mono the
            // UTF8Encoding calls were a third of a stage (2,729 -> ~1,860 ns without them,
            // BENCHMARKS.md). The first char beyond ASCII sends the string the general way.
            var length = value.Length;
            if (length <= arena.Length - used)
            {
                var i = 0;
                while (i < length && value[i] < 0x80)
                {
                    arena[used + i] = (byte)value[i];
                    i++;
                }
                if (i == length)
                {
                    s.Ptr = arenaBase + used;
                    s.Len = (UIntPtr)length;
                    used += length;
                    return s;
                }
            }
            // The UTF-8 length is at most 3 bytes per UTF-16 unit: check room without a count pass.
            if (value.Length * 3 <= arena.Length - used)
            {
                var n = Encoding.UTF8.GetBytes(value, 0, value.Length, arena, used);
                s.Ptr = arenaBase + used;
                s.Len = (UIntPtr)n;
                used += n;
                return s;
            }
            var bytes = Encoding.UTF8.GetBytes(value);
            s.Ptr = Pin(bytes);
            s.Len = (UIntPtr)bytes.Length;
            return s;
        }

        /// <summary>Raw bytes as they are (for headers that arrive as byte[], and for tests of invalid UTF-8).</summary>
        internal Native.OtStr Bytes(byte[] bytes)
        {
            var s = new Native.OtStr { Ptr = IntPtr.Zero, Len = UIntPtr.Zero };
            if (bytes == null || bytes.Length == 0) return s;
            s.Ptr = Pin(bytes);
            s.Len = (UIntPtr)bytes.Length;
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

        public void Dispose()
        {
            if (pins != null)
            {
                foreach (var h in pins) h.Free();
                pins = null;
            }
            if (arena == null) return;
            arenaPin.Free();
            used = 0;
            // Hand the buffer back to the thread for its next call.
            idleArena = arena;
            arena = null;
        }
    }
}
