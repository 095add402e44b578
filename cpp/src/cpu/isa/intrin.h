// The intrinsics headers of the target architecture, included once for every ISA header.
#pragma once

// GCC 12's AVX-512 headers self-initialise "undefined" vectors and then warn about it at every
// inlined use; the warning points into the header, so silencing it there hides nothing of ours.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif
#pragma GCC diagnostic pop

// Functions that execute vdpbf16ps carry this: the AVX-512 path must also run on AVX-512 CPUs
// without BF16, so the instruction set is enabled per function, never for a whole file.
#if defined(__x86_64__)
#define HA_TARGET_BF16 __attribute__((target("avx512bf16")))
#else
#define HA_TARGET_BF16
#endif
