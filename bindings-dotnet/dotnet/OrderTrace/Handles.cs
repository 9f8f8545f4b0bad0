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

    /// <summary>A native stage; freeing it ends the stage if it is still open.</summary>
    internal sealed class StageHandle : SafeHandle
    {
        /// <summary>
        /// Takes ownership of a stage pointer the library just handed out. The start call
        /// returns a plain pointer rather than letting the marshaller build the SafeHandle
        /// (<c>out StageHandle</c>): Mono creates that one through reflection, which cost about
        /// 340 ns of a 3,066 ns stage (BENCHMARKS.md, issue 13).
        /// </summary>
        internal StageHandle(IntPtr stage) : base(IntPtr.Zero, true)
        {
            SetHandle(stage);
        }

        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        protected override bool ReleaseHandle()
        {
            Native.ot_stage_free(handle);
            return true;
        }
    }
}
