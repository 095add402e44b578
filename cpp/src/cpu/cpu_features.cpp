#include "cpu/cpu_features.h"

#include <cstdint>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace ha::cpu {
namespace {

#if defined(__x86_64__)

// xgetbv without requiring -mxsave on this (baseline) translation unit.
uint64_t xgetbv0() {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t(hi) << 32) | lo;
}

CpuFeatures detect() {
    CpuFeatures f;
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    const bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28),
               f16c = c & (1u << 29);
    if (!osxsave || !avx) return f;
    const uint64_t xcr0 = xgetbv0();
    // The kernel must save XMM|YMM (bits 1,2) and, for AVX-512, opmask|ZMM_Hi256|Hi16_ZMM (5..7).
    const bool os_ymm = (xcr0 & 0x6) == 0x6;
    const bool os_zmm = os_ymm && (xcr0 & 0xE0) == 0xE0;
    if (__get_cpuid_max(0, nullptr) < 7) return f;
    __cpuid_count(7, 0, a, b, c, d);
    const bool avx2 = b & (1u << 5);
    const bool f512 = b & (1u << 16), dq = b & (1u << 17), bw = b & (1u << 30),
               vl = b & (1u << 31);
    // F16C has a CPUID bit of its own; the AVX2 kernels convert fp16 with it (every AVX2 CPU
    // made has it, but a hypervisor may mask it: then the machine runs the generic path).
    f.avx2_fma = os_ymm && avx2 && fma && f16c;
    f.avx512 = f.avx2_fma && os_zmm && f512 && dq && bw && vl;
    __cpuid_count(7, 1, a, b, c, d);
    f.avx512_bf16 = f.avx512 && (a & (1u << 5));
    return f;
}
#else
CpuFeatures detect() {
    CpuFeatures f;
#if defined(__aarch64__)
    // Advanced SIMD is mandatory for the aarch64 Linux ABI (the compiler's baseline uses it
    // too), so there is nothing to ask the kernel.
    f.neon = true;
#endif
    return f;
}
#endif

}  // namespace

const CpuFeatures& cpu_features() {
    static const CpuFeatures f = detect();
    return f;
}

}  // namespace ha::cpu
