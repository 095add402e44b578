// The generic path of the HSR inner loops (flags from HA_FLAGS_GENERIC, see sources.cmake).
#define HA_ISA_NS generic
#define HA_ISA_LEVEL 1
#include "cpu/hsr/hsr_kernels_impl.inc"
