// The NEON path of the HSR inner loops (flags from HA_FLAGS_NEON, see sources.cmake).
// aarch64 only: HA_ISA_NEON selects simd_neon.inc; HA_ISA_LEVEL 1 keeps the x86 branches out.
#define HA_ISA_NS neon
#define HA_ISA_LEVEL 1
#define HA_ISA_NEON 1
#include "cpu/hsr/hsr_kernels_impl.inc"
