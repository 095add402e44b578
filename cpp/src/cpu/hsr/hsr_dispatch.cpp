// Picks the HSR kernel table of the instruction-set path in use.
#include "cpu/cpu_backend.h"
#include "cpu/hsr/hsr_kernels.h"
#include "hyperattn.h"

namespace ha::cpu::hsr {

const Kernels& active() {
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

}  // namespace ha::cpu::hsr
