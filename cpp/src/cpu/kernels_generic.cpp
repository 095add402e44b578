// The generic path: kernels_impl.inc compiled with this file's -m flags (see CMakeLists.txt).
#define HA_ISA_NS generic
#define HA_ISA_LEVEL 1
#include "cpu/kernels_impl.inc"
