using System;
using System.Runtime.InteropServices;

namespace OrderTrace
{
    /// <summary>A native tracer; released exactly once, even if the owner forgets to dispose.</summary>
    internal sealed class TracerHandle : SafeHandle
    {
        public TracerHandle() : base(IntPtr.Zero, true) { }

        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        protected override bool ReleaseHandle()
        {
            Native.ot_tracer_free(handle);
            return true;
        }
    }

    /// <summary>
    /// The finalizer guard of one native stage at a time. A <see cref="StageScope"/> that is
    /// disposed frees its stage itself, sets this handle back to invalid and hands it to its
    /// thread's pool (<see cref="Take"/>, <see cref="Return"/>), so the next stage of the thread
    /// reuses it: Mono registers every new finalizable object with the GC and
    /// <c>Dispose</c> unregisters it (<c>GC.SuppressFinalize</c>), about 1,050 instructions a
    /// stage (BENCHMARKS.md, issue 13). A scope that is never disposed keeps its handle out of
    /// the pool; when both become unreachable the finalizer frees (and so ends) the stage. An
    /// invalid handle in a pool releases nothing.
    /// </summary>
    internal sealed class StageHandle : SafeHandle
    {
        /// <summary>Handles kept per thread: enough for stages nested this deep.</summary>
        internal const int PoolSize = 8;

        /// <summary>The top of the calling thread's pool (a stack linked through <see cref="next"/>).</summary>
        [ThreadStatic] private static StageHandle pooled;
        private StageHandle next;
        /// <summary>Handles in the pool from this one down.</summary>
        private int depth;

        private StageHandle() : base(IntPtr.Zero, true) { }

        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        /// <summary>
        /// A handle that owns <paramref name="stage"/> (a pointer the library just handed out):
        /// the top of the thread's pool, or a new one when the pool is empty.
        /// </summary>
        internal static StageHandle Take(IntPtr stage)
        {
            var h = pooled;
            if (h != null)
            {
                pooled = h.next;
                h.next = null;
            }
            else
            {
                h = new StageHandle();
            }
            h.SetHandle(stage);
            return h;
        }

        /// <summary>
        /// Gives up ownership without freeing: the caller frees the stage it read before (the
        /// handle no longer points at it, so no finalizer can free it again) and the handle goes
        /// to the calling thread's pool (dropped when the pool is full; it owns nothing).
        /// </summary>
        internal static void Return(StageHandle h)
        {
            h.SetHandle(IntPtr.Zero);
            var top = pooled;
            var depth = top == null ? 1 : top.depth + 1;
            if (depth > PoolSize) return;
            h.depth = depth;
            h.next = top;
            pooled = h;
        }

        protected override bool ReleaseHandle()
        {
            Native.ot_stage_free(handle);
            return true;
        }
    }
}
