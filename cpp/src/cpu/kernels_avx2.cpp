// The avx2 path: kernels_impl.inc compiled with this file's -m flags (see CMakeLists.txt).
#define HA_ISA_NS avx2
#define HA_ISA_LEVEL 2
#include "cpu/kernels_impl.inc"
