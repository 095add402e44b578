// The avx512 path of the HSR inner loops (flags from HA_FLAGS_AVX512, see sources.cmake).
#define HA_ISA_NS avx512
#define HA_ISA_LEVEL 3
#include "cpu/hsr/hsr_kernels_impl.inc"
