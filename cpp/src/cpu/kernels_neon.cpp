// The NEON path: kernels_impl.inc compiled with this file's flags (see CMakeLists.txt).
// aarch64 only: HA_ISA_NEON selects simd_neon.inc; HA_ISA_LEVEL 1 keeps the x86 branches out.
#define HA_ISA_NS neon
#define HA_ISA_LEVEL 1
#define HA_ISA_NEON 1
#include "cpu/kernels_impl.inc"
