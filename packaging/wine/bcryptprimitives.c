/* TEST FIXTURE, never shipped: a stand-in for Windows' bcryptprimitives.dll, which Debian's
 * Wine 8 lacks. Rust's standard library (1.78+) imports ProcessPrng from it to seed HashMap
 * keys, so without it the Windows build of the ordertrace DLL cannot even load under Wine.
 * Real Windows (10 and later) has the real DLL; this one only exists so the C test can run
 * against the cross-built DLL here. Built by scripts/package-native with mingw.
 *
 * ProcessPrng fills the buffer from RtlGenRandom (advapi32's SystemFunction036), which Wine
 * implements over the host's random source; it returns TRUE like the real one (which never
 * fails). RtlGenRandom takes a ULONG length, so large requests are filled in pieces. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x7fffffffu ? 0x7fffffffu : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
