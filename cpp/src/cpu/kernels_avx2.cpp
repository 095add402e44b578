// The AVX2 path: every kernel instantiated on isa::Avx2, compiled with HA_FLAGS_AVX2.
#include "cpu/isa/isa_avx2.h"
#include "cpu/kern/table.h"

namespace ha::cpu::avx2 {
const Kernels& kernels() {
    static const Kernels k = kern::make_table<isa::Avx2>();
    return k;
}
}  // namespace ha::cpu::avx2
