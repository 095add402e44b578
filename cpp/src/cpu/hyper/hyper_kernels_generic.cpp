// The generic path of HyperAttention: hyper_kernels_impl.inc with this file's -m flags
// (cpp/src/cpu/hyper/sources.cmake).
#define HA_ISA_NS generic
#define HA_ISA_LEVEL 1
#include "cpu/hyper/hyper_kernels_impl.inc"
