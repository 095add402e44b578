// The NEON path of HyperAttention: hyper_kernels_impl.inc (cpp/src/cpu/hyper/sources.cmake).
// aarch64 only: HA_ISA_NEON selects simd_neon.inc; HA_ISA_LEVEL 1 keeps the x86 branches out.
#define HA_ISA_NS neon
#define HA_ISA_LEVEL 1
#define HA_ISA_NEON 1
#include "cpu/hyper/hyper_kernels_impl.inc"
