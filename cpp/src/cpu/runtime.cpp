// Process-wide runtime settings: thread count and instruction-set path.
#include <atomic>

#include "cpu/cpu_backend.h"
#include "cpu/cpu_features.h"
#include "cpu/kernels.h"
#include "cpu/thread_pool.h"
#include "error.h"
#include "hyperattn.h"

namespace ha::cpu {
namespace {

int best_isa() {
    const CpuFeatures& f = cpu_features();
    if (f.avx512) return HA_CPU_ISA_AVX512;
    if (f.avx2_fma) return HA_CPU_ISA_AVX2;
    if (f.neon) return HA_CPU_ISA_NEON;
    return HA_CPU_ISA_GENERIC;
}

std::atomic<int> g_isa{0};  // 0 = not yet resolved

}  // namespace

int32_t set_num_threads(int32_t n) {
    if (n < 0) return fail(HA_ERR_INVALID_ARGUMENT, "n: thread count must be >= 0, got %d", n);
    if (n > 1024)
        return fail(HA_ERR_INVALID_ARGUMENT, "n: thread count must be at most 1024, got %d", n);
    pool_set_threads(n);
    return HA_OK;
}

int32_t get_num_threads() { return pool_threads(); }

int32_t set_isa(int32_t isa) {
    const CpuFeatures& f = cpu_features();
    switch (isa) {
        case HA_CPU_ISA_AUTO: g_isa.store(best_isa()); return HA_OK;
        case HA_CPU_ISA_GENERIC: break;
        case HA_CPU_ISA_AVX2:
            if (!f.avx2_fma) return fail(HA_ERR_UNSUPPORTED, "isa: this CPU lacks AVX2+FMA+F16C");
            break;
        case HA_CPU_ISA_AVX512:
            if (!f.avx512)
                return fail(HA_ERR_UNSUPPORTED, "isa: this CPU lacks AVX-512 F/BW/DQ/VL");
            break;
        case HA_CPU_ISA_NEON:
            if (!f.neon) return fail(HA_ERR_UNSUPPORTED, "isa: NEON is an aarch64 path; this CPU is not aarch64");
            break;
        default:
            return fail(HA_ERR_INVALID_ARGUMENT, "isa: unknown HA_CPU_ISA_* value %d", isa);
    }
    g_isa.store(isa);
    return HA_OK;
}

int32_t get_isa() {
    int isa = g_isa.load();
    if (isa == 0) {
        isa = best_isa();
        int expected = 0;
        if (!g_isa.compare_exchange_strong(expected, isa)) isa = expected;
    }
    return isa;
}

const Kernels& active_kernels() {
    switch (get_isa()) {
#if defined(__x86_64__)
        case HA_CPU_ISA_AVX512: return avx512::kernels();
        case HA_CPU_ISA_AVX2: return avx2::kernels();
#elif defined(__aarch64__)
        case HA_CPU_ISA_NEON: return neon::kernels();
#endif
        default: return generic::kernels();
    }
}

}  // namespace ha::cpu
