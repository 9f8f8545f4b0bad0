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
        public StageHandle() : base(IntPtr.Zero, true) { }

        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        protected override bool ReleaseHandle()
        {
            Native.ot_stage_free(handle);
            return true;
        }
    }
}
