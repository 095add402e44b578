// The avx2 path of HyperAttention: hyper_kernels_impl.inc with this file's -m flags
// (cpp/src/cpu/hyper/sources.cmake).
#define HA_ISA_NS avx2
#define HA_ISA_LEVEL 2
#include "cpu/hyper/hyper_kernels_impl.inc"
