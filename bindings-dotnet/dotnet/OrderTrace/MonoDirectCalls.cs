using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OrderTrace
{
    /// <summary>
    /// Opt-in, Mono only (ORDERTRACE_MONO_DIRECT_CALLS=1): <c>ot_stage_start</c> and
    /// <c>ot_stage_free</c> registered with Mono as raw internal calls
    /// (<c>mono_dangerous_add_raw_internal_call</c>), which Mono calls without its P/Invoke
    /// wrapper's switch of the thread to GC-safe mode and back (~900 of a stage's ~4,100
    /// instructions under the default hybrid suspend; BENCHMARKS.md, issue 13). What
    /// .NET's <c>SuppressGCTransition</c> does, for the two calls of every stage only. While
    /// one of them runs, a garbage collection suspends the thread with a signal, as Mono's
    /// preemptive suspend does for all native code; both are short and do not call back into
    /// the runtime. Anything missing (another runtime, an old Mono, the library not found among
    /// those already loaded) leaves the ordinary P/Invoke calls in place.
    /// </summary>
    internal static unsafe class MonoDirectCalls
    {
        /// <summary>The environment variable that turns them on ("1").</summary>
        internal const string Variable = "ORDERTRACE_MONO_DIRECT_CALLS";

        /// <summary>True when the two calls were registered and <see cref="Start"/> and <see cref="Free"/> may be used.</summary>
        internal static readonly bool Enabled = Register();

        private const int RtldNow = 2, RtldNoload = 4;

        [DllImport("__Internal")] private static extern void mono_dangerous_add_raw_internal_call(string name, IntPtr method);
        [DllImport("libdl.so.2")] private static extern IntPtr dlopen(string file, int mode);
        [DllImport("libdl.so.2")] private static extern IntPtr dlsym(IntPtr handle, string name);

        private static bool Register()
        {
            if (Environment.GetEnvironmentVariable(Variable) != "1" || Type.GetType("Mono.Runtime") == null) return false;
            try
            {
                // The library as P/Invoke loaded it (a call that does nothing makes sure it is
                // loaded), never a second copy, whose functions would not know this one's handles.
                Native.ot_buffer_free(IntPtr.Zero);
                // By the name the loader was given: the bare file name (found on LD_LIBRARY_PATH),
                // or the path beside the assembly.
                var file = "lib" + Native.Lib + ".so";
                var lib = dlopen(file, RtldNow | RtldNoload);
                if (lib == IntPtr.Zero)
                {
                    var dir = System.IO.Path.GetDirectoryName(typeof(MonoDirectCalls).Assembly.Location);
                    if (!string.IsNullOrEmpty(dir)) lib = dlopen(System.IO.Path.Combine(dir, file), RtldNow | RtldNoload);
                }
                if (lib == IntPtr.Zero) return false;
                var start = dlsym(lib, "ot_stage_start");
                var free = dlsym(lib, "ot_stage_free");
                if (start == IntPtr.Zero || free == IntPtr.Zero) return false;
                mono_dangerous_add_raw_internal_call("OrderTrace.MonoDirectCalls::ot_stage_start", start);
                mono_dangerous_add_raw_internal_call("OrderTrace.MonoDirectCalls::ot_stage_free", free);
                return true;
            }
            catch (Exception e)
            {
                if (e is DllNotFoundException || e is EntryPointNotFoundException) return false;
                throw;
            }
        }

        [MethodImpl(MethodImplOptions.InternalCall)] private static extern int ot_stage_start(IntPtr tracer, IntPtr start, IntPtr* stage, IntPtr* error);
        [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ot_stage_free(IntPtr stage);

        // Kept out of line: a method that calls an internal call is only compiled once it runs,
        // so nothing resolves them unless Enabled.

        /// <summary><c>ot_stage_start</c> as a raw internal call; only when <see cref="Enabled"/>.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        internal static int Start(TracerHandle tracer, IntPtr start, out IntPtr stage, out IntPtr error)
        {
            // The reference the marshaller holds for a SafeHandle parameter.
            var added = false;
            try
            {
                tracer.DangerousAddRef(ref added);
                IntPtr s, e;
                var status = ot_stage_start(tracer.DangerousGetHandle(), start, &s, &e);
                stage = s;
                error = e;
                return status;
            }
            finally
            {
                if (added) tracer.DangerousRelease();
            }
        }

        /// <summary><c>ot_stage_free</c> as a raw internal call; only when <see cref="Enabled"/>.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        internal static void Free(IntPtr stage)
        {
            ot_stage_free(stage);
        }
    }
}
