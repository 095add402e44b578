// The AVX-512 path: every kernel instantiated on isa::Avx512, compiled with HA_FLAGS_AVX512.
#include "cpu/isa/isa_avx512.h"
#include "cpu/kern/table.h"

namespace ha::cpu::avx512 {
const Kernels& kernels() {
    static const Kernels k = kern::make_table<isa::Avx512>();
    return k;
}
}  // namespace ha::cpu::avx512
