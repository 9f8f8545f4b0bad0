using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace OrderTrace
{
    /// <summary>
    /// Unmanaged copies of the strings and arrays one native call needs, freed together when
    /// the call returns. Strings cross as UTF-8 with explicit lengths.
    /// </summary>
    internal sealed class NativeStrings : IDisposable
    {
        private readonly List<IntPtr> allocations = new List<IntPtr>();

        internal Native.OtStr Str(string value)
        {
            var s = new Native.OtStr { Ptr = IntPtr.Zero, Len = UIntPtr.Zero };
            if (string.IsNullOrEmpty(value)) return s;
            var bytes = Encoding.UTF8.GetBytes(value);
            s.Ptr = Copy(bytes);
            s.Len = (UIntPtr)bytes.Length;
            return s;
        }

        /// <summary>Raw bytes as they are (for headers that arrive as byte[], and for tests of invalid UTF-8).</summary>
        internal Native.OtStr Bytes(byte[] bytes)
        {
            var s = new Native.OtStr { Ptr = IntPtr.Zero, Len = UIntPtr.Zero };
            if (bytes == null || bytes.Length == 0) return s;
            s.Ptr = Copy(bytes);
            s.Len = (UIntPtr)bytes.Length;
            return s;
        }

        internal IntPtr Array<T>(T[] items) where T : struct
        {
            if (items == null || items.Length == 0) return IntPtr.Zero;
            var size = Marshal.SizeOf(typeof(T));
            var block = Marshal.AllocHGlobal(size * items.Length);
            allocations.Add(block);
            for (var i = 0; i < items.Length; i++)
            {
                Marshal.StructureToPtr(items[i], block + i * size, false);
            }
            return block;
        }

        private IntPtr Copy(byte[] bytes)
        {
            var p = Marshal.AllocHGlobal(bytes.Length);
            allocations.Add(p);
            Marshal.Copy(bytes, 0, p, bytes.Length);
            return p;
        }

        public void Dispose()
        {
            foreach (var p in allocations) Marshal.FreeHGlobal(p);
            allocations.Clear();
        }
    }
}
