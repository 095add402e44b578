// The avx2 path of the HSR inner loops (flags from HA_FLAGS_AVX2, see sources.cmake).
#define HA_ISA_NS avx2
#define HA_ISA_LEVEL 2
#include "cpu/hsr/hsr_kernels_impl.inc"
