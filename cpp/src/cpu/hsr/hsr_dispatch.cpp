// HSR's section of the kernel table of the instruction-set path in use.
#include "cpu/hsr/hsr_kernels.h"
#include "cpu/kernels.h"

namespace ha::cpu::hsr {

const Kernels& active() { return active_kernels().hsr; }

}  // namespace ha::cpu::hsr
