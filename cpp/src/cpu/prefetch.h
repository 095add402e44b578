// Software prefetch hints, spelled once for every architecture. Macros, not inline functions:
// this header is included by the per-ISA objects, which must not define weak symbols (see
// check_isa_objects.cmake).
#pragma once

#if defined(__x86_64__)
#include <xmmintrin.h>
#define HA_PREFETCH_L1(p) _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0)
#define HA_PREFETCH_L2(p) _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T1)
// Data read once (a KV cache streamed by decode): to L1 without displacing what the caches hold.
#define HA_PREFETCH_STREAM(p) _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_NTA)
#else
// GCC's builtin maps locality 3 to PLDL1KEEP, 2 to PLDL2KEEP and 0 to PLDL1STRM on aarch64.
#define HA_PREFETCH_L1(p) __builtin_prefetch((p), 0, 3)
#define HA_PREFETCH_L2(p) __builtin_prefetch((p), 0, 2)
#define HA_PREFETCH_STREAM(p) __builtin_prefetch((p), 0, 0)
#endif
