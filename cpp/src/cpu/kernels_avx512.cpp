// The avx512 path: kernels_impl.inc compiled with this file's -m flags (see CMakeLists.txt).
#define HA_ISA_NS avx512
#define HA_ISA_LEVEL 3
#include "cpu/kernels_impl.inc"
