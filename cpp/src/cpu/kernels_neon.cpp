// The aarch64 Advanced SIMD path: every kernel instantiated on isa::Neon (HA_FLAGS_NEON).
#include "cpu/isa/isa_neon.h"
#include "cpu/kern/table.h"

namespace ha::cpu::neon {
const Kernels& kernels() {
    static const Kernels k = kern::make_table<isa::Neon>();
    return k;
}
}  // namespace ha::cpu::neon
