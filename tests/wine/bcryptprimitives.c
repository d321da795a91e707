/*
 * Test harness only: a stand-in for Windows' bcryptprimitives.dll, for the
 * wine that Debian ships (8), which lacks ProcessPrng. Rust's standard
 * library (since 1.78) and uv.exe import ProcessPrng for their random
 * numbers; this one asks advapi32's RtlGenRandom (SystemFunction036),
 * which wine has. Built by tests/common/wine.rs with mingw-w64 and put in
 * the test wine prefix's system32; never shipped.
 */
#include <windows.h>

/* RtlGenRandom: exported by advapi32 under this name only. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    /* RtlGenRandom takes a ULONG: fill a large buffer in pieces. */
    while (length > 0) {
        ULONG piece = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, piece)) {
            return FALSE;
        }
        data += piece;
        length -= piece;
    }
    return TRUE;
}
